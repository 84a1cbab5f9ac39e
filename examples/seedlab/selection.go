package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
	"github.com/dualstack/dualstack/policytable"
)

// Scenario 1. The study's servers published several A and AAAA records
// for one name (and MX hosts of equal preference) to spread the load.
// The DNS server rotated the answers, but the clients' stacks reordered
// them by RFC 3484 rule 9 (longest matching prefix with the source), so
// every client of one site connected to the same address.

// The round-robin name imap.example.com: two A and two AAAA records, which
// the DNS server rotates (query k gets the list rotated by k).
var (
	rrA    = addrs("198.51.100.25", "203.0.113.25")
	rrAAAA = addrs("2001:db8:8000::25", "2001:db8:100::25")
)

// The clients: four hosts of one office network, as most of a server's
// clients on one site are, each with an IPv4 address in 192.0.2.0/24 and
// an IPv6 address in 2001:db8:1::/64.
var rrClients = []string{
	"192.0.2.11/24, 2001:db8:1::11/64; route v4 default; route v6 default",
	"192.0.2.12/24, 2001:db8:1::12/64; route v4 default; route v6 default",
	"192.0.2.13/24, 2001:db8:1::13/64; route v4 default; route v6 default",
	"192.0.2.14/24, 2001:db8:1::14/64; route v4 default; route v6 default",
}

// rrProfiles are the stacks compared: the RFCs, the real resolvers, and
// RFC 6724 with the round-robin-safe rule 9 variant.
func rrProfiles() []profile {
	return []profile{
		{"rfc3484", addrselect.RFC3484()},
		{"rfc6724", addrselect.RFC6724()},
		{"glibc", addrselect.Glibc()},
		{"go", addrselect.GoNet()},
		{"rfc6724+on-link", addrselect.RFC6724(addrselect.WithRule9(addrselect.Rule9OnLink))},
	}
}

// rotate returns as rotated left by k, as a round-robin DNS server
// answers query k.
func rotate(as []netip.Addr, k int) []netip.Addr {
	k %= len(as)
	return append(slices.Clone(as[k:]), as[:k]...)
}

func roundRobin(ctx context.Context) (Result, error) {
	r := Result{
		Study: "several A/AAAA records (or MX hosts of equal preference) are meant to spread clients over servers; " +
			"RFC 3484 rule 9 (longest matching prefix) made every client of a site pick the same address.",
		Consequence: "one server takes the load of a whole site while the others idle; when it fails, every client " +
			"of the site fails at once (and retries the same address first).",
		Advice: []string{adviceRule9, adviceMonitor},
	}
	for _, fam := range []struct {
		label string
		set   []netip.Addr
	}{{"A (IPv4)", rrA}, {"AAAA (IPv6)", rrAAAA}} {
		for _, p := range rrProfiles() {
			st, err := rrStep(ctx, fam.label, fam.set, p)
			if err != nil {
				return r, err
			}
			r.Steps = append(r.Steps, st)
		}
	}
	st, err := equalMX(ctx)
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, st)
	return r, nil
}

// rrStep replays the round robin of one record set for every client under
// one profile. Order holds the first pick of each client.
func rrStep(ctx context.Context, label string, set []netip.Addr, p profile) (Step, error) {
	st := Step{Title: fmt.Sprintf("%s round robin of imap.example.com, %d clients, %s", label, len(rrClients), p.name)}
	count := map[netip.Addr]int{}
	for i, desc := range rrClients {
		host := mustHost(desc, nil)
		answer := rotate(set, i)
		sorted, err := p.sel.Sort(ctx, answer, host)
		if err != nil {
			return st, err
		}
		count[sorted[0].Addr]++
		st.Order = append(st.Order, sorted[0].Addr.String())
		st.Details = append(st.Details, fmt.Sprintf("client %s: DNS says %s -> tries %s first",
			sorted[0].Source.Addr, joinAddrs(answer), sorted[0].Addr))
		if i == 0 {
			// The deciding rule between the two candidates, for the
			// first client.
			st.Rule, st.Reason = explain(p, sorted)
			st.Trace = traceLines(p.sel, sorted)
		}
	}
	var tally []string
	for _, a := range set {
		tally = append(tally, fmt.Sprintf("%s x%d", a, count[a]))
	}
	if len(count) == 1 {
		st.Decision = fmt.Sprintf("every client tries %s first: round robin defeated (%s)", st.Order[0], strings.Join(tally, ", "))
	} else {
		st.Decision = fmt.Sprintf("first picks follow the DNS rotation: load spread (%s)", strings.Join(tally, ", "))
	}
	return st, nil
}

func joinAddrs(as []netip.Addr) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// equalMX shows that mxorder, unlike rule 9, spreads equal-preference MX
// hosts: RFC 5321 section 5.1 asks for the shuffle, seeded here so the
// output is reproducible. Order holds the first host per seed.
func equalMX(ctx context.Context) (Step, error) {
	dns := mxordertest.New().
		MX("example.com", 10, "mx1.example.com").
		MX("example.com", 10, "mx2.example.com").
		Host("mx1.example.com", "198.51.100.25").
		Host("mx2.example.com", "203.0.113.25")
	st := Step{Title: "two MX hosts of preference 10 for example.com, eight deliveries (seeds 1-8), mxorder"}
	count := map[string]int{}
	for seed := uint64(1); seed <= 8; seed++ {
		p := mxorder.Planner{Resolver: dns, Families: mxorder.IPv4, Seeded: true, Seed: seed}
		plan, err := p.Plan(ctx, "example.com")
		if err != nil {
			return st, err
		}
		h := plan.Hosts[0].Name
		count[h]++
		st.Order = append(st.Order, h)
	}
	st.Decision = fmt.Sprintf("equal preferences are shuffled per delivery (RFC 5321 section 5.1): mx1 first %d times, mx2 first %d times",
		count["mx1.example.com"], count["mx2.example.com"])
	st.Reason = "mxorder randomises each run of equal preference before addrselect orders addresses inside a host, so rule 9 never merges MX hosts"
	st.Details = []string{"first host per seed: " + strings.Join(st.Order, " ")}
	return st, nil
}

// selStep sorts answer (in DNS order) for the described host under one
// profile. Order holds the sorted addresses.
func selStep(ctx context.Context, title, hostDesc string, answer []netip.Addr, p profile) (Step, error) {
	st := Step{Title: title + ", " + p.name}
	sorted, err := p.sel.Sort(ctx, answer, mustHost(hostDesc, nil))
	if err != nil {
		return st, err
	}
	st.Order = addrList(sorted)
	st.Decision = fmt.Sprintf("tries %s first (%s)", sorted[0].Addr, srcOf(sorted[0]))
	st.Rule, st.Reason = explain(p, sorted)
	st.Details = []string{"order: " + orderLine(sorted)}
	st.Trace = traceLines(p.sel, sorted)
	return st, nil
}

// selCase is one host and one DNS answer, sorted under several profiles.
type selCase struct {
	title    string
	host     string
	answer   []netip.Addr
	profiles []profile
}

func (c selCase) steps(ctx context.Context) ([]Step, error) {
	var out []Step
	for _, p := range c.profiles {
		st, err := selStep(ctx, c.title, c.host, c.answer, p)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Scenario 2. RFC 3484 gave the private IPv4 ranges site-local scope and
// IPv4 the lowest precedence, and had no row for unique local addresses;
// RFC 6724 made private IPv4 global and put ULAs below IPv4;
// draft-ietf-6man-rfc6724-update puts ULAs above IPv4 and known-local
// ULAs (the host's own /48) above global IPv6.

const (
	// An office host behind NAT with native IPv6 and an internal ULA.
	officeHost = "2001:db8:2::5/64, fd12:3456:789a:2::5/64, 10.1.2.5/24; route v4 default; route v6 default"
	// A host behind NAT whose network numbers IPv6 with a ULA only (the
	// router still announces a default route).
	ulaOnlyHost = "fd12:3456:789a:2::6/64, 10.1.2.6/24; route v4 default; route v6 default"
)

var (
	// mx.example.net, a dual-stack server on the Internet.
	internetMX = addrs("198.51.100.25", "2001:db8:5::25")
	// mail.corp.example.com, the intranet server: ULA and private IPv4.
	intranetMail = addrs("10.1.1.25", "fd12:3456:789a:1::25")
)

func privateULA(ctx context.Context) (Result, error) {
	r := Result{
		Study: "RFC 3484 did not treat private IPv4 as a peer of native IPv6 (site-local scope, precedence 10) and knew no ULAs, " +
			"so hosts picked badly between private IPv4, native IPv6 and ULA.",
		Consequence: "a ULA-only host under RFC 3484 sends Internet mail from an unroutable ULA source and waits for a timeout; " +
			"under RFC 6724 intranet traffic never uses the ULA network it was built for.",
		Advice: []string{adviceTable, adviceMonitor, adviceDualStack},
	}
	known, err := knownLocalTable()
	if err != nil {
		return r, err
	}
	cases := []selCase{
		{"Internet MX from an office host (private IPv4 behind NAT, native IPv6)", officeHost, internetMX,
			[]profile{{"rfc3484", addrselect.RFC3484()}, {"rfc6724", addrselect.RFC6724()}}},
		{"Internet MX from a host with private IPv4 and ULA-only IPv6", ulaOnlyHost, internetMX,
			[]profile{{"rfc3484", addrselect.RFC3484()}, {"rfc6724", addrselect.RFC6724()}, {"glibc", addrselect.Glibc()}}},
		{"intranet mail server (ULA and private IPv4) from the office host", officeHost, intranetMail,
			[]profile{
				{"rfc3484", addrselect.RFC3484()},
				{"rfc6724", addrselect.RFC6724()},
				{"draft-update", addrselect.RFC6724(addrselect.WithTable(policytable.Draft6724Update()))},
				{"draft-update+known-local", addrselect.RFC6724(addrselect.WithTable(known))},
			}},
	}
	for _, c := range cases {
		steps, err := c.steps(ctx)
		if err != nil {
			return r, err
		}
		r.Steps = append(r.Steps, steps...)
	}
	return r, nil
}

// knownLocalTable is the draft's table with the office's own ULA /48
// marked known-local (draft-ietf-6man-rfc6724-update section 3.3).
func knownLocalTable() (*policytable.Table, error) {
	p, ok := policytable.KnownLocalPrefix(netip.MustParseAddr("fd12:3456:789a:2::5"))
	if !ok {
		return nil, fmt.Errorf("fd12:3456:789a:2::5 is not a ULA")
	}
	return policytable.Draft6724Update().AddKnownLocal(p)
}

// Scenario 3. Transition mechanisms. The study's Windows clients gave
// tunnel interfaces the same metric as native links, and hosts with a
// 6to4 or Teredo address used it instead of working IPv4. RFC 6724 gives
// 6to4 (2002::/16) and Teredo (2001::/32) their own labels and low
// precedence, and rule 7 prefers native transport over encapsulating
// interfaces.

const (
	// A host behind NAT with a 6to4 address (RFC 6724 section 10.7).
	sixToFourHost = "2002:c633:6401::2/48 tunnel dev tun6to4, 10.1.2.3/24 dev eth0; route v4 default; route v6 default dev tun6to4"
	// A host behind NAT with a Teredo address.
	teredoHost = "2001:0:4136:e378:8000:63bf:3fff:fdd2/32 tunnel dev teredo, 10.1.2.4/24 dev eth0; route v4 default; route v6 default dev teredo"
	// A host with native IPv6 on eth0 and a configured tunnel (a tunnel
	// broker) routing 2001:db8:ff00::/40.
	tunnelHost = "2001:db8:1::5/64 dev eth0, 2001:db8:ff00::2/64 tunnel dev tb0, 192.0.2.5/24 dev eth0; " +
		"route v4 default dev eth0; route v6 default dev eth0; route 2001:db8:ff00::/40 dev tb0"
	// A dual-stack host with native connectivity.
	nativeHost = "2001:db8:1::7/64, 192.0.2.7/24; route v4 default; route v6 default"
)

var (
	// relay.example.net: one address behind the tunnel, one native; DNS
	// lists the tunnelled one first.
	tunnelAnswer = addrs("2001:db8:ff00:1::25", "2001:db8:2::25")
	// mx.example.org publishes a 6to4 AAAA (the 6to4 form of its IPv4
	// address 203.0.113.25) and a Teredo AAAA besides its A record.
	transitionMX = addrs("2002:cb00:7119::25", "2001:0:4136:e378:8000:63bf:3fff:fdd3", "203.0.113.25")
)

func tunnels(ctx context.Context) (Result, error) {
	r := Result{
		Study: "Windows gave tunnels the same metric as native links; hosts with 6to4 or Teredo addresses used those relays " +
			"instead of working IPv4, and servers published AAAA records that pointed at transition mechanisms.",
		Consequence: "mail and logins go through distant, unreliable public relays (or fail when UDP is blocked), " +
			"and every client that follows a transition AAAA inherits the server's tunnel problems.",
		Advice: []string{adviceTransition, adviceTable, adviceMonitor},
	}
	rfc := []profile{{"rfc3484", addrselect.RFC3484()}, {"rfc6724", addrselect.RFC6724()}}
	cases := []selCase{
		{"dual-stack MX from a 6to4 host behind NAT", sixToFourHost, internetMX, rfc},
		{"dual-stack MX from a Teredo host behind NAT", teredoHost, internetMX, rfc},
		{"relay with a tunnelled and a native AAAA, from a host with a tunnel interface", tunnelHost, tunnelAnswer,
			[]profile{{"rfc6724", addrselect.RFC6724()}, {"go", addrselect.GoNet()}}},
		{"MX publishing 6to4 and Teredo AAAA records, from a native dual-stack host", nativeHost, transitionMX, rfc},
	}
	for _, c := range cases {
		steps, err := c.steps(ctx)
		if err != nil {
			return r, err
		}
		r.Steps = append(r.Steps, steps...)
	}

	// The audit of that MX set.
	mx := []*net.MX{{Host: "mx.example.org.", Pref: 10}}
	rep, err := mxorder.Check("example.org", mx, map[string]mxorder.HostAddrs{"mx.example.org": {Addrs: transitionMX}})
	if err != nil {
		return r, err
	}
	st := Step{Title: "audit of example.org (mxorder.Check)"}
	for _, f := range rep.Findings {
		if f.Code == mxorder.CodeDocumentation {
			continue // the scenario's own documentation addresses
		}
		st.Findings = append(st.Findings, findingKey(f))
		st.Details = append(st.Details, f.String())
	}
	st.Decision = fmt.Sprintf("%d transition-address findings: never publish an AAAA that points at 6to4 or Teredo", count(rep, mxorder.CodeTransition))
	r.Steps = append(r.Steps, st)
	return r, nil
}

// findingKey is "code host addr" for the tests and -json.
func findingKey(f mxorder.AuditFinding) string {
	k := string(f.Code)
	if f.Host != "" {
		k += " " + f.Host
	}
	if f.Addr.IsValid() {
		k += " " + f.Addr.String()
	}
	return k
}

func count(rep *mxorder.Report, c mxorder.Code) int {
	n := 0
	for _, f := range rep.Findings {
		if f.Code == c {
			n++
		}
	}
	return n
}

// Scenario 7. Privacy addresses (RFC 4941, now RFC 8981): source rule 7
// prefers temporary addresses by default (RFC 6724), public ones under
// RFC 3484 and with IPV6_PREFER_SRC_PUBLIC (RFC 5014).

// A dual-stack MTA with its stable address and a temporary one.
const privacyHost = "2001:db8:1::25/64, 2001:db8:1:0:d5e3:7953:13eb:22e8/64 temporary, 192.0.2.25/24; route v4 default; route v6 default"

func privacy(ctx context.Context) (Result, error) {
	r := Result{
		Study: "hosts with privacy extensions sent from temporary addresses; an MTA doing so has no reverse DNS, " +
			"no SPF match and a new address every day.",
		Consequence: "mail sent from a temporary address is rejected or greylisted by receivers that check reverse DNS, " +
			"SPF or allow-lists; a client, on the other hand, wants the temporary address for privacy.",
		Advice: []string{advicePrivacy, adviceMonitor},
	}
	dst := netip.MustParseAddr("2001:db8:5::25") // the recipient's MX
	for _, p := range []profile{
		{"client (rfc6724)", addrselect.RFC6724()},
		{"mta (rfc6724, prefer public)", addrselect.RFC6724(addrselect.WithPreferPublic(true))},
		{"rfc3484", addrselect.RFC3484()},
	} {
		host := mustHost(privacyHost, p.sel)
		src, err := host.Source(ctx, dst)
		if err != nil {
			return r, err
		}
		st := Step{Title: "source for the recipient's MX " + dst.String() + ", " + p.name}
		st.Order = []string{src.Addr.String()}
		kind := "public"
		if src.Temporary {
			kind = "temporary"
		}
		st.Decision = fmt.Sprintf("sends from %s (%s)", src.Addr, kind)
		// Explain the choice between the two global candidates, the
		// public one listed first.
		d := p.sel.ExplainSource(dst, host.Addrs[0], host.Addrs[1])
		st.Rule, st.Reason = d.Rule.String(), d.Reason
		r.Steps = append(r.Steps, st)
	}
	return r, nil
}
