package addrselect_test

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/dualstack/dualstack/addrselect"
)

// A host with a global IPv6 address, a link-local one and an IPv4 address
// (RFC 6724 section 10.2): destinations are paired with the source the
// host would use, then sorted.
func ExampleSelector_SortDestinations() {
	s := addrselect.RFC6724()
	host := []addrselect.Source{
		{Addr: netip.MustParseAddr("2001:db8:1::2"), PrefixLen: 64},
		{Addr: netip.MustParseAddr("fe80::1"), PrefixLen: 64},
		{Addr: netip.MustParseAddr("10.1.2.4"), PrefixLen: 24},
	}
	var dsts []addrselect.Destination
	for _, a := range []string{"10.1.2.3", "2001:db8:1::1", "fe80::9", "198.51.100.1"} {
		addr := netip.MustParseAddr(a)
		src, _ := s.SelectSource(addr, host)
		dsts = append(dsts, addrselect.Destination{Addr: addr, Source: src})
	}
	s.SortDestinations(dsts)
	for _, d := range dsts {
		fmt.Printf("%-14s from %s\n", d.Addr, d.Source.Addr)
	}
	// Output:
	// fe80::9        from fe80::1
	// 2001:db8:1::1  from 2001:db8:1::2
	// 10.1.2.3       from 10.1.2.4
	// 198.51.100.1   from 10.1.2.4
}

// Source selection (RFC 6724 section 5): a temporary address wins over a
// public one by default (rule 7); an MTA usually wants the public one.
func ExampleSelector_SelectSource() {
	dst := netip.MustParseAddr("2001:db8:1::d5e3:0:0:1")
	candidates := []addrselect.Source{
		{Addr: netip.MustParseAddr("2001:db8:1::2")},
		{Addr: netip.MustParseAddr("2001:db8:1::d5e3:7953:13eb:22e8"), Temporary: true},
		{Addr: netip.MustParseAddr("ff02::1")}, // multicast: never a source
	}
	src, _ := addrselect.RFC6724().SelectSource(dst, candidates)
	fmt.Println("RFC 6724:     ", src.Addr)
	src, _ = addrselect.RFC6724(addrselect.WithPreferPublic(true)).SelectSource(dst, candidates)
	fmt.Println("prefer public:", src.Addr)
	fmt.Println(addrselect.RFC6724().ExplainSource(dst, candidates[0], candidates[1]))
	// Output:
	// RFC 6724:      2001:db8:1:0:d5e3:7953:13eb:22e8
	// prefer public: 2001:db8:1::2
	// src-7: prefer source 2001:db8:1:0:d5e3:7953:13eb:22e8 over 2001:db8:1::2 for 2001:db8:1:0:d5e3::1: it is temporary, the other public (temporary preferred)
}

// Explain says which rule orders two destinations and why. Here the host
// has only a 6to4 IPv6 address and a NATed IPv4 address (RFC 6724 section
// 10.7): the IPv4 destination wins on labels.
func ExampleSelector_Explain() {
	s := addrselect.RFC6724()
	v6 := addrselect.Destination{
		Addr:   netip.MustParseAddr("2001:db8:1::1"),
		Source: addrselect.Source{Addr: netip.MustParseAddr("2002:c633:6401::2")},
	}
	v4 := addrselect.Destination{
		Addr:   netip.MustParseAddr("203.0.113.1"),
		Source: addrselect.Source{Addr: netip.MustParseAddr("10.1.2.3")},
	}
	d := s.Explain(v6, v4)
	fmt.Println(d)
	fmt.Println("labels:", d.A.Label, d.A.SourceLabel, "vs", d.B.Label, d.B.SourceLabel)
	// Output:
	// dst-5: prefer 203.0.113.1 over 2001:db8:1::1: its label matches its source's (both 4), the other's does not (1, source 2)
	// labels: 1 2 vs 4 4
}

// Trace explains a whole sort, one adjacent pair at a time.
func ExampleSelector_Trace() {
	src6 := addrselect.Source{Addr: netip.MustParseAddr("2001:db8:1::2"), PrefixLen: 64}
	src4 := addrselect.Source{Addr: netip.MustParseAddr("192.0.2.9"), PrefixLen: 24}
	dsts := []addrselect.Destination{
		{Addr: netip.MustParseAddr("192.0.2.1"), Source: src4},
		{Addr: netip.MustParseAddr("2001:db8:2::1"), Source: src6},
		{Addr: netip.MustParseAddr("2001:db8:1::1"), Source: src6},
		{Addr: netip.MustParseAddr("2001:db8:7::1")}, // no source
	}
	for _, d := range addrselect.RFC6724().Trace(dsts) {
		fmt.Println(d)
	}
	// Output:
	// dst-9: prefer 2001:db8:1::1 over 2001:db8:2::1: longer prefix shared with its source (64 > 46 bits, IPv6, rule 9 variant rfc)
	// dst-6: prefer 2001:db8:2::1 over 192.0.2.1: higher precedence (40 > 35)
	// dst-1: prefer 192.0.2.1 over 2001:db8:7::1: the latter has no source address (unusable)
}

// Rule 9 defeats DNS round robin: with RFC 6724 as written, every client
// of 198.51.100.5 puts .7 first. The on-link variant keeps the DNS order
// for servers that are not on the client's subnet.
func ExampleWithRule9() {
	src := addrselect.Source{Addr: netip.MustParseAddr("198.51.100.5")}
	answer := []addrselect.Destination{
		{Addr: netip.MustParseAddr("198.51.100.200"), Source: src},
		{Addr: netip.MustParseAddr("198.51.100.7"), Source: src},
	}
	for _, v := range []addrselect.Rule9Variant{addrselect.Rule9RFC, addrselect.Rule9OnLink, addrselect.Rule9IPv6Only} {
		dsts := append([]addrselect.Destination(nil), answer...)
		addrselect.RFC6724(addrselect.WithRule9(v)).SortDestinations(dsts)
		fmt.Printf("%-9s %s %s\n", v, dsts[0].Addr, dsts[1].Addr)
	}
	// Output:
	// rfc       198.51.100.7 198.51.100.200
	// on-link   198.51.100.200 198.51.100.7
	// ipv6-only 198.51.100.200 198.51.100.7
}

// The same answer, host and sources under three profiles: Go's net
// package, glibc's getaddrinfo with its built-in tables, and RFC 6724.
// glibc still ranks ULAs with global IPv6 and IPv4 lowest (RFC 3484
// precedences); Go skips rule 9 for IPv4; RFC 6724 applies it to both
// families.
func Example_profiles() {
	ula := addrselect.Source{Addr: netip.MustParseAddr("fd00:1::10"), PrefixLen: 64}
	v4 := addrselect.Source{Addr: netip.MustParseAddr("198.51.100.5")}
	answer := []addrselect.Destination{
		{Addr: netip.MustParseAddr("fd00:1::53"), Source: ula},
		{Addr: netip.MustParseAddr("198.51.100.200"), Source: v4},
		{Addr: netip.MustParseAddr("198.51.100.7"), Source: v4},
	}
	for _, s := range []*addrselect.Selector{addrselect.GoNet(), addrselect.Glibc(), addrselect.RFC6724()} {
		dsts := append([]addrselect.Destination(nil), answer...)
		s.SortDestinations(dsts)
		fmt.Printf("%-8s", s.Name())
		for _, d := range dsts {
			fmt.Printf(" %s", d.Addr)
		}
		fmt.Println()
	}
	// Output:
	// go       198.51.100.200 198.51.100.7 fd00:1::53
	// glibc    fd00:1::53 198.51.100.200 198.51.100.7
	// rfc6724  198.51.100.7 198.51.100.200 fd00:1::53
}

// Compare sorts a caller's own records. It is pairwise: within one
// family it is a proper comparator; on mixed IPv4/IPv6 input use
// SortDestinations for an order that does not depend on the algorithm.
func ExampleSelector_Compare() {
	type server struct {
		name string
		dst  addrselect.Destination
	}
	src := addrselect.Source{Addr: netip.MustParseAddr("2001:db8:1::2")}
	servers := []server{
		{"teredo", addrselect.Destination{Addr: netip.MustParseAddr("2001:0:4136:e378::1"), Source: src}},
		{"native", addrselect.Destination{Addr: netip.MustParseAddr("2001:db8:2::1"), Source: src}},
		{"ula", addrselect.Destination{Addr: netip.MustParseAddr("fd00::1"), Source: src}},
	}
	s := addrselect.RFC6724()
	slices.SortStableFunc(servers, func(a, b server) int { return s.Compare(a.dst, b.dst) })
	for _, sv := range servers {
		fmt.Println(sv.name)
	}
	// Output:
	// native
	// teredo
	// ula
}
