package addrselect

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed+1)) }

// benchHost is a dual-stack host: a global /64, a ULA, a temporary
// address, a link-local address and a private IPv4 address.
func benchCandidates() []Source {
	return []Source{
		{Addr: netip.MustParseAddr("2001:db8:1::10"), PrefixLen: 64, Interface: "eth0"},
		{Addr: netip.MustParseAddr("2001:db8:1::d5e3:7953:13eb:22e8"), PrefixLen: 64, Temporary: true, Interface: "eth0"},
		{Addr: netip.MustParseAddr("2001:db8:1::aaaa"), PrefixLen: 64, Deprecated: true, Interface: "eth0"},
		{Addr: netip.MustParseAddr("fd00:1:2::10"), PrefixLen: 64, Interface: "eth0"},
		{Addr: netip.MustParseAddr("fe80::10"), PrefixLen: 64, Interface: "eth0"},
		{Addr: netip.MustParseAddr("2002:c633:6401::10"), PrefixLen: 48, Interface: "tun6to4", Encapsulated: true},
		{Addr: netip.MustParseAddr("192.168.1.10"), PrefixLen: 24, Interface: "eth0"},
		{Addr: netip.MustParseAddr("100.64.0.7"), PrefixLen: 10, Interface: "wwan0"},
	}
}

var benchAddrs = []string{
	"2001:db8:1::1", "192.0.2.10", "2001:db8:2::1", "198.51.100.7",
	"fd00:1:2::53", "2002:cb00:7101::1", "2001:0:4136:e378::1", "10.1.2.3",
	"2001:db8:1:0:8000::1", "203.0.113.9", "fe80::1", "2001:db8:3ffe::1",
	"192.168.1.1", "::1", "fd99::1", "2600:1f18::1",
}

// benchDestinations returns n destinations (a realistic mix of IPv6 GUA,
// ULA, IPv4, 6to4, Teredo, link-local) with the sources RFC6724() picks
// for the host of benchCandidates.
func benchDestinations(n int) []Destination {
	cands := benchCandidates()
	s := RFC6724()
	out := make([]Destination, n)
	for i := range out {
		a := netip.MustParseAddr(benchAddrs[i%len(benchAddrs)])
		if i >= len(benchAddrs) { // vary the tail so entries differ
			b := a.AsSlice()
			b[len(b)-1] ^= byte(i)
			a, _ = netip.AddrFromSlice(b)
		}
		src, _ := s.SelectSource(a, cands)
		out[i] = Destination{Addr: a, Source: src}
	}
	return out
}

var (
	sinkSource Source
	sinkInt    int
)

func BenchmarkSortDestinations(b *testing.B) {
	for _, n := range []int{2, 4, 8, 16, 64} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			s := RFC6724()
			in := benchDestinations(n)
			buf := make([]Destination, n)
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, in)
				s.SortDestinations(buf)
			}
		})
	}
}

func BenchmarkSortDestinationsHistory(b *testing.B) {
	in := benchDestinations(16)
	h := mapHistory{}
	for i, d := range in {
		if i%2 == 0 {
			h[d.Addr] = time.Duration(i) * time.Millisecond
		}
	}
	s := RFC6724(WithHistory(h), WithRule9(Rule9OnLink))
	buf := make([]Destination, len(in))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, in)
		s.SortDestinations(buf)
	}
}

func BenchmarkSelectSource(b *testing.B) {
	s := RFC6724()
	cands := benchCandidates()
	d := netip.MustParseAddr("2001:db8:2::1")
	b.ReportAllocs()
	for b.Loop() {
		sinkSource, _ = s.SelectSource(d, cands)
	}
}

func BenchmarkCompare(b *testing.B) {
	s := RFC6724()
	ds := benchDestinations(2)
	b.ReportAllocs()
	for b.Loop() {
		sinkInt = s.Compare(ds[0], ds[1])
	}
}
