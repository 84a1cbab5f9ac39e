package addrselect_test

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
)

// benchDsts8 are eight destinations with a mix of families: loopback
// (always routed), then addresses that need this machine's routes. Those
// without a route stay in (the kernel answers "unreachable" just as fast).
var benchDsts8 = []netip.Addr{
	netip.MustParseAddr("198.51.100.1"),
	netip.MustParseAddr("2001:db8::1"),
	netip.MustParseAddr("127.0.0.2"),
	netip.MustParseAddr("::1"),
	netip.MustParseAddr("192.0.2.77"),
	netip.MustParseAddr("fd00::77"),
	netip.MustParseAddr("127.0.0.3"),
	netip.MustParseAddr("2606:4700::1111"),
}

// routedCount reports how many of dsts have a source on this machine.
func routedCount(b *testing.B, sys *addrselect.System, dsts []netip.Addr) int {
	n := 0
	for _, d := range dsts {
		s, err := sys.Source(context.Background(), d)
		if err != nil {
			b.Fatal(err)
		}
		if s.IsValid() {
			n++
		}
	}
	return n
}

// BenchmarkSystemSort8 is the everyday path on the real kernel: eight
// connected-UDP source lookups (re-used sockets, cached netlink flags)
// and the RFC 6724 sort, into a reused buffer. Compare with glibc's
// getaddrinfo sorting (32-46 µs for eight, measured on this machine) and
// Go's net package (77-100 µs, 75 allocations).
func BenchmarkSystemSort8(b *testing.B) {
	benchSystemSort8(b, &addrselect.System{})
}

// BenchmarkSystemSort8Cached is BenchmarkSystemSort8 with the
// per-destination cache (System.CacheSize): after the first round every
// answer comes from the cache, refreshed once a second.
func BenchmarkSystemSort8Cached(b *testing.B) {
	benchSystemSort8(b, &addrselect.System{CacheSize: 64})
}

func benchSystemSort8(b *testing.B, sys *addrselect.System) {
	defer sys.Close()
	if n := routedCount(b, sys, benchDsts8); n < 2 {
		b.Skipf("only %d of the destinations have a route here (loopback missing?)", n)
	}
	sel := addrselect.RFC6724()
	buf := make([]addrselect.Destination, 0, len(benchDsts8))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = sel.SortInto(ctx, buf[:0], benchDsts8, sys)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSystemSortAlloc8 is Selector.Sort: the same with one result
// slice allocated per call.
func BenchmarkSystemSortAlloc8(b *testing.B) {
	var sys addrselect.System
	defer sys.Close()
	if n := routedCount(b, &sys, benchDsts8); n < 2 {
		b.Skipf("only %d of the destinations have a route here", n)
	}
	sel := addrselect.RFC6724()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sel.Sort(ctx, benchDsts8, &sys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSystemSource is one source lookup.
func BenchmarkSystemSource(b *testing.B) {
	var sys addrselect.System
	defer sys.Close()
	dst := netip.MustParseAddr("127.0.0.2")
	if routedCount(b, &sys, []netip.Addr{dst}) != 1 {
		b.Skip("no route to 127.0.0.2")
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sys.Source(ctx, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDialUDPSource is the baseline System improves on: one new
// connected UDP socket per lookup (what Go's net package and c-ares do).
func BenchmarkDialUDPSource(b *testing.B) {
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), 9))
	b.ReportAllocs()
	for b.Loop() {
		c, err := net.DialUDP("udp", nil, dst)
		if err != nil {
			b.Skipf("DialUDP: %v", err)
		}
		_ = c.LocalAddr()
		c.Close()
	}
}

// BenchmarkHostSort8 is the same sort with a described host: no system
// calls at all.
func BenchmarkHostSort8(b *testing.B) {
	h, err := addrselect.ParseHost(`
		127.0.0.1/8 dev lo, ::1/128 dev lo
		192.0.2.2/24 dev eth0, fd00::2/64 dev eth0, 2001:db8:5::2/64 temporary dev eth0, fe80::2/64 dev eth0
		route v4 default via 192.0.2.1; route v6 default via fe80::1 dev eth0`)
	if err != nil {
		b.Fatal(err)
	}
	sel := addrselect.RFC6724()
	buf := make([]addrselect.Destination, 0, len(benchDsts8))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		buf, err = sel.SortInto(ctx, buf[:0], benchDsts8, h)
		if err != nil {
			b.Fatal(err)
		}
	}
}
