package mxorder_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// exampleDNS is the study's MX set: mx10 dual-stack, mx20 IPv6-only,
// mx30 dual-stack, and an IPv6-only sender domain.
func exampleDNS() *mxordertest.Resolver {
	return mxordertest.New().
		MX("example.org", 10, "mx10.example.org").
		MX("example.org", 20, "mx20.example.org").
		MX("example.org", 30, "mx30.example.org").
		Host("mx10.example.org", "192.0.2.10", "2001:db8::10").
		Host("mx20.example.org", "2001:db8::20").
		Host("mx30.example.org", "192.0.2.30", "2001:db8::30").
		MX("v6only.example", 10, "mx.v6only.example").
		Host("mx.v6only.example", "2001:db8:6::25")
}

// An IPv4-only relay skips the IPv6-only backup mx20 and hands the
// message to mx30 when mx10 is down.
func ExamplePlanner_Plan() {
	p := mxorder.Planner{Resolver: exampleDNS(), Families: mxorder.IPv4}
	plan, err := p.Plan(context.Background(), "example.org")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range plan.Attempts() {
		fmt.Println("try", a.Preference, a.Host, a.Addr)
	}
	for _, s := range plan.Skipped {
		if !s.Addr.IsValid() {
			fmt.Printf("skipped %s (%d): %s: %s\n", s.Host, s.Preference, s.Reason, s.Detail)
		}
	}
	// Output:
	// try 10 mx10.example.org 192.0.2.10
	// try 30 mx30.example.org 192.0.2.30
	// skipped mx20.example.org (20): family: host is IPv6-only, sender is IPv4-only
}

// mx30, a dual-stack backup, finds itself in the MX list: it may only
// hand the message to better MX hosts (RFC 5321 section 5.1).
func ExamplePlanner_Plan_self() {
	p := mxorder.Planner{
		Resolver:   exampleDNS(),
		LocalNames: []string{"mx30.example.org"},
		Prefer:     mxorder.IPv6,
	}
	plan, err := p.Plan(context.Background(), "example.org")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range plan.Attempts() {
		fmt.Println("try", a.Host, a.Addr)
	}
	// Output:
	// try mx10.example.org 2001:db8::10
	// try mx10.example.org 192.0.2.10
	// try mx20.example.org 2001:db8::20
}

// The study's lost bounce: an IPv4-only relay and an IPv6-only domain.
func ExampleUnreachableError() {
	p := mxorder.Planner{Resolver: exampleDNS(), Families: mxorder.IPv4}
	_, err := p.Plan(context.Background(), "v6only.example")
	var ue *mxorder.UnreachableError
	if errors.As(err, &ue) {
		fmt.Println(ue.DomainFamilies, ue.SenderFamilies, ue.Temporary)
	}
	fmt.Println(err)
	// Output:
	// ipv6 ipv4 false
	// mxorder: no reachable mail exchanger for "v6only.example": the domain's MX hosts are IPv6-only and the sender is IPv4-only: no common IP version
}

// Build is the pure core: records in, plan out. The seed makes the
// shuffling of equal preferences reproducible.
func ExamplePlanner_Build() {
	mx := []*net.MX{
		{Host: "b.example.", Pref: 10},
		{Host: "a.example.", Pref: 10},
		{Host: "backup.example.", Pref: 20},
		{Host: ".", Pref: 0},
	}
	addrs := map[string]mxorder.HostAddrs{
		"a.example":      {Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}},
		"b.example":      {Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.2")}},
		"backup.example": {Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.3")}},
	}
	p := mxorder.Planner{Seeded: true, Seed: 1}
	plan, err := p.Build(context.Background(), "example.com", mx, addrs)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range plan.Hosts {
		fmt.Println(h.Preference, h.Name)
	}
	for _, s := range plan.Skipped {
		fmt.Println("skipped", s.Host, s.Reason)
	}
	// Output:
	// 10 b.example
	// 10 a.example
	// 20 backup.example
	// skipped . null-mx
}

func ExampleCheck() {
	mx := []*net.MX{{Host: "mx1.example.net.", Pref: 10}, {Host: "mx2.example.net.", Pref: 20}}
	addrs := map[string]mxorder.HostAddrs{
		"mx1.example.net": {Addrs: []netip.Addr{netip.MustParseAddr("2a01:4f8::25")}},
		"mx2.example.net": {Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.25")}},
	}
	r, err := mxorder.Check("example.net", mx, addrs)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range r.Findings {
		fmt.Println(strings.TrimSpace(fmt.Sprint(f.Severity, " ", f.Code, " ", f.Host)))
	}
	fmt.Println(r.Findings[3].Message)
	// Output:
	// warning single-stack mx1.example.net
	// error private-address mx2.example.net
	// warning single-stack mx2.example.net
	// warning family-split
	// warning backup-isolated mx2.example.net
	// IPv4-only senders reach mx2.example.net (20); IPv6-only senders reach mx1.example.net (10); dual-stack senders reach all
}

// CheckBounce finds the study's lost bounce: mail relayed by an
// IPv4-only relay on behalf of an IPv6-only sender domain.
func ExamplePlanner_CheckBounce() {
	p := mxorder.Planner{Resolver: exampleDNS()}
	b, err := p.CheckBounce(context.Background(), mxorder.IPv4, "example.org", "v6only.example")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("bounce path ok:", b.OK())
	for _, f := range b.Findings {
		fmt.Println(f.Code+":", f.Message)
	}
	// Output:
	// bounce path ok: false
	// bounce-lost: a bounce generated by the IPv4-only relay (for example when the recipient is rejected) cannot reach v6only.example, whose MX hosts are IPv6-only: the message is lost and the sender never learns
}
