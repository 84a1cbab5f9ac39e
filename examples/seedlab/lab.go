package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/dualstack/dualstack/addrselect"
)

// scenario is one replayable case of the study.
type scenario struct {
	name, title string
	run         func(ctx context.Context) (Result, error)
}

// scenarios in the order of the study's findings.
var scenarios = []scenario{
	{"round-robin", "DNS round robin defeated by rule 9", roundRobin},
	{"private-ula", "private IPv4 against native IPv6 and ULA", privateULA},
	{"tunnels", "tunnels (6to4, Teredo, encapsulating interfaces) against native paths", tunnels},
	{"relay-bounce", "an IPv4-only relay and a bounce to an IPv6-only domain", relayBounce},
	{"mx-routing", "a message passed between MX hosts of different families", mxRouting},
	{"clients", "clients without fallback and first-answer resolvers", clients},
	{"privacy", "temporary (privacy) against public source addresses", privacy},
	{"nat64", "the IPv6-only relay then and now: NAT64 and DNS64", nat64Relay},
}

// The study's advice, shared by the scenarios.
const (
	adviceDualStack  = "dual-stack every MTA, primary and backup MX alike (RFC 3974)"
	adviceAAAA       = "be careful announcing AAAA for submission, POP3 and IMAP: only where the service answers over IPv6 as well as over IPv4"
	adviceTransition = "never publish an AAAA record that points at a transition mechanism (6to4 2002::/16, Teredo 2001::/32)"
	advicePrivacy    = "watch privacy addresses: servers and MTAs should send from their stable, published address"
	adviceMonitor    = "monitor both families: a broken IPv6 path hides behind a working IPv4 one until a client has no fallback"
	adviceRule9      = "for load-balanced names use a round-robin-safe rule 9 (addrselect.Rule9OnLink) or shuffle on purpose; do not count on DNS rotation alone"
	adviceTable      = "keep the RFC 6724 policy table (or the rfc6724-update draft's); do not revert to RFC 3484 precedences"
	adviceFallback   = "clients must try every address, of both families (RFC 8305 Happy Eyeballs): addrselect.Dialer"
)

// mustHost describes a host with addrselect.ParseHost. The descriptions
// are built-in constants, so a parse error is a bug of this program.
func mustHost(desc string, sel *addrselect.Selector) *addrselect.Host {
	h, err := addrselect.ParseHost(desc)
	if err != nil {
		panic(fmt.Sprintf("built-in host %q: %v", desc, err))
	}
	h.Selector = sel
	return h
}

// addrs parses address literals of the built-in data.
func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// profile is a selector with the name the output shows.
type profile struct {
	name string
	sel  *addrselect.Selector
}

// explain says why the first of sorted goes before the runner-up: the
// deciding rule and the reason of Selector.Explain.
//
// Two wordings of Explain are replaced for the stack profiles: a tie
// between two addresses of one family is described as such (Explain
// speaks of different families), and rule 9 names the stack's own way of
// counting prefixes instead of the RFC variant.
func explain(p profile, sorted []addrselect.Destination) (rule, reason string) {
	if len(sorted) < 2 {
		return "", "only one address"
	}
	d := p.sel.Explain(sorted[0], sorted[1])
	reason = d.Reason
	switch {
	case d.Rule == addrselect.Dst10 || d.Rule == addrselect.RuleNone:
		reason = fmt.Sprintf("no rule prefers %s or %s: the input (DNS) order is kept", sorted[0].Addr, sorted[1].Addr)
		if note := tieNotes[p.name]; note != "" {
			reason += " (" + note + ")"
		}
	case d.Rule == addrselect.Dst9 && rule9Notes[p.name] != "":
		reason = strings.Replace(reason, "rule 9 variant rfc", rule9Notes[p.name], 1)
	}
	return d.Rule.String(), reason
}

// Notes on how the stack profiles apply rule 9.
var (
	tieNotes = map[string]string{
		"glibc":           "glibc applies rule 9 to IPv4 only inside the source's subnet",
		"go":              "Go applies rule 9 to IPv6 only",
		"rfc6724+on-link": "rule 9 on-link variant: only on-link beats off-link",
	}
	rule9Notes = map[string]string{
		"rfc3484": "RFC 3484 counts all bits",
		"glibc":   "glibc counts all 128 bits",
		"go":      "Go counts at most 64 bits",
	}
)

// addrList formats destinations as their addresses.
func addrList(ds []addrselect.Destination) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Addr.String()
	}
	return out
}

// traceLines formats a Selector.Trace.
func traceLines(sel *addrselect.Selector, ds []addrselect.Destination) []string {
	var out []string
	for _, d := range sel.Trace(ds) {
		out = append(out, d.String())
	}
	return out
}

// srcOf names the source of a destination, or "no source".
func srcOf(d addrselect.Destination) string {
	if !d.Source.IsValid() {
		return "no source"
	}
	return "from " + d.Source.Addr.String()
}

// orderLine formats a sorted list with the sources: "a (from s), b (from t)".
func orderLine(ds []addrselect.Destination) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Addr.String() + " (" + srcOf(d) + ")"
	}
	return strings.Join(parts, ", ")
}
