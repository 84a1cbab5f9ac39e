package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/addrselect/nat64"
	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// Scenario 8. The study's IPv6-only relay, then and now. In 2010 mx20
// could not return the expired message to the IPv4-only v4.example.com.
// Today an IPv6-only network reaches IPv4 through NAT64 (RFC 6146), with
// a DNS64 (RFC 6147) that synthesizes AAAA records and tells its prefix
// through ipv4only.arpa (RFC 7050). The same network's mail client dials
// an IPv4 literal.

// labPrefix is the NAT64 prefix of the scenario: a network-specific /96
// in the documentation range. The well-known prefix 64:ff9b::/96 may not
// carry the documentation addresses of the scenario (RFC 6052 section
// 3.1: they are not global), so translators drop them.
var labPrefix = netip.MustParsePrefix("2001:db8:64::/96")

// clientHost6 is a mail client on an IPv6-only network.
const clientHost6 = "2001:db8:1::11/64; route v6 default"

// Advice of this scenario.
const (
	adviceNAT64 = "on IPv6-only networks give the MTA the NAT64 prefix (mxorder Planner.NAT64, or DiscoverNAT64 through the DNS64): IPv4-only MX hosts stay reachable and DNS64 answers are not taken for IPv6"
	adviceSPF   = "mail that leaves through NAT64 comes from the translator's IPv4 pool: list the pool in the SPF record, give it matching reverse DNS, or relay IPv4 mail through a dual-stack smarthost"
)

// synthesized embeds v4 in labPrefix. The scenario's addresses are
// built-in, so an error is a bug of this program.
func synthesized(v4 string) netip.Addr {
	a, err := nat64.Synthesize(labPrefix, netip.MustParseAddr(v4))
	if err != nil {
		panic(fmt.Sprintf("built-in address %s: %v", v4, err))
	}
	return a
}

// dns64DNS is relayDNS seen through a DNS64: the IPv4-only
// mx.v4.example.com gets a synthesized AAAA, and ipv4only.arpa tells the
// prefix.
func dns64DNS() *mxordertest.Resolver {
	return relayDNS().
		AAAA("mx.v4.example.com", synthesized("192.0.2.50").String()).
		AAAA("ipv4only.arpa", synthesized("192.0.0.170").String(), synthesized("192.0.0.171").String())
}

func nat64Relay(ctx context.Context) (Result, error) {
	r := Result{
		Study: "the IPv6-only backup mx20 had to return an expired message to the IPv4-only v4.example.com and could not: the bounce was lost. " +
			"Today IPv6-only networks reach IPv4 through NAT64 and DNS64.",
		Consequence: "with a translator the bounce arrives; but it leaves from the translator's IPv4 pool, so receivers that check SPF or reverse DNS may still reject it.",
		Advice:      []string{adviceNAT64, adviceSPF, adviceDualStack},
	}
	mx20Src := mustHost(mx20Host, nil)
	then := &mxorder.Planner{Resolver: relayDNS(), Sources: mx20Src, LocalNames: []string{"mx20.example.org"}, Seeded: true, Seed: 1}
	now := &mxorder.Planner{Resolver: dns64DNS(), Sources: mx20Src, LocalNames: []string{"mx20.example.org"}, Seeded: true, Seed: 1, DiscoverNAT64: true}

	st, _, err := deliver(ctx, "then: mx20.example.org (IPv6-only) returns the expired message to v4.example.com", then, "v4.example.com", nil, "250 ok")
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, st)

	st, _, err = deliver(ctx, "now: mx20.example.org behind NAT64, with a DNS64 resolver, returns it", now, "v4.example.com", nil, "250 ok")
	if err != nil {
		return r, err
	}
	if st.HandedTo != "" {
		st.Decision += ": the bounce arrives"
		st.Rule, st.Reason = "RFC 6147, RFC 7050", "the DNS64's prefix, found through ipv4only.arpa, shows that the AAAA of mx.v4.example.com is synthesized: the host stays IPv4-only and is reached through the translator"
	}
	r.Steps = append(r.Steps, st)

	for _, c := range []struct {
		title string
		p     *mxorder.Planner
	}{{"bounce check then: IPv6-only relay mx20, example.org, sender v4.example.com", then},
		{"bounce check now: IPv6-only relay mx20 behind NAT64, example.org, sender v4.example.com", now}} {
		b, err := c.p.CheckBounce(ctx, mxorder.IPv6, "example.org", "v4.example.com")
		if err != nil {
			return r, err
		}
		r.Steps = append(r.Steps, bounceStep(c.title, b))
	}

	st, err = nat64Audit(ctx, now)
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, st)

	st, err = literalStep(ctx)
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, st)
	return r, nil
}

// nat64Audit audits v4.example.com as mx20, behind NAT64, sees it.
func nat64Audit(ctx context.Context, p *mxorder.Planner) (Step, error) {
	audit, err := p.Audit(ctx, "v4.example.com")
	if err != nil {
		return Step{}, err
	}
	st := Step{Title: "audit of v4.example.com from mx20 behind NAT64 (mxorder Audit)"}
	for _, h := range audit.Hosts {
		st.Details = append(st.Details, fmt.Sprintf("mx %d %s: %s, %s", h.Preference, h.Name, h.Families.Words(), joinAddrs(h.Addrs)))
	}
	for _, f := range audit.Findings {
		if f.Code == mxorder.CodeDocumentation {
			continue // the scenario's own documentation addresses
		}
		st.Findings = append(st.Findings, findingKey(f))
		st.Details = append(st.Details, f.String())
	}
	st.Decision = "mx.v4.example.com counts as IPv4-only, its synthesized AAAA as the IPv4 address it stands for"
	if audit.Has(mxorder.CodeNAT64Sender) {
		st.Decision += "; mail from mx20 leaves from the translator's IPv4 pool: SPF and reverse DNS of example.org may not match"
	}
	return st, nil
}

// literalStep: a mail client on an IPv6-only network is configured with
// the IPv4 literal of its submission server. It shows the address
// nat64.Synthesize builds and what addrselect.Dialer does with the
// literal and with that address.
func literalStep(ctx context.Context) (Step, error) {
	const literal, port = "192.0.2.87", 587
	st := Step{Title: "a mail client on an IPv6-only network submits to the IPv4 literal " + literal + ":587"}
	syn := synthesized(literal)
	st.Details = append(st.Details, fmt.Sprintf("nat64.Synthesize(%s, %s) = %s (RFC 6052 section 2.2)", labPrefix, literal, syn))
	fn := &fakeNet{}
	d := &addrselect.Dialer{
		Selector:     addrselect.RFC6724(),
		Sources:      mustHost(clientHost6, nil),
		Resolver:     clientDNS(),
		AttemptDelay: addrselect.MinAttemptDelay,
		Dial:         fn.dial6,
	}
	c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(netip.MustParseAddr(literal), port).String())
	var de *addrselect.DialError
	switch {
	case err != nil && !errors.As(err, &de):
		return st, err
	case err != nil:
		st.Error = err.Error()
		st.Details = append(st.Details, "Dialer.DialContext with the literal: attempts: "+attemptsOrNone(fn.tried())+": it fails, the network has no IPv4 route (the Dialer is given no NAT64 prefix, so it dials the literal as it is)")
	default:
		c.Close()
		st.Details = append(st.Details, "Dialer.DialContext with the literal: attempts: "+attemptsOrNone(fn.tried())+": it connects")
	}
	fn = &fakeNet{}
	d.Dial = fn.dial6
	c, err = d.DialAddrs(ctx, "tcp", []netip.Addr{syn}, port)
	if err != nil {
		return st, err
	}
	c.Close()
	st.Order = fn.tried()
	st.Details = append(st.Details, "Dialer.DialAddrs with the synthesized address: attempts: "+attemptsOrNone(st.Order))
	st.Decision = "connects to " + literal + " through the translator at " + syn.String()
	st.Rule, st.Reason = "RFC 8305 section 7", "an IPv6-only host reaches an IPv4 literal through the address synthesized with the network's NAT64 prefix"
	return st, nil
}

// attemptsOrNone lists the addresses tried, or says there were none.
func attemptsOrNone(tried []string) string {
	if len(tried) == 0 {
		return "none"
	}
	return strings.Join(tried, ", ")
}

// viaNAT64 describes the translation of an address for a plan line: ""
// for a native address, " [192.0.2.1 via NAT64 ...]" otherwise.
func viaNAT64(t *mxorder.Translation) string {
	if t == nil {
		return ""
	}
	return " [" + t.String() + "]"
}

// dial6 is dial on an IPv6-only network: an IPv4 destination is
// unreachable.
func (f *fakeNet) dial6(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !ap.Addr().Unmap().Is4() {
		return f.dial(ctx, network, address)
	}
	f.mu.Lock()
	f.attempts = append(f.attempts, ap.Addr().String())
	f.mu.Unlock()
	return nil, &net.OpError{Op: "dial", Net: network, Addr: net.TCPAddrFromAddrPort(ap), Err: syscall.ENETUNREACH}
}
