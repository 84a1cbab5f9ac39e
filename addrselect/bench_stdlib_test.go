//go:build stdlibbench

package addrselect

// Go's own RFC 6724 sort, reached through go:linkname for a side-by-side
// benchmark. Run with:
//
//	go test -tags stdlibbench -ldflags=-checklinkname=0 -run '^$' -bench 'Sort' ./addrselect

import (
	"net"
	"net/netip"
	"testing"
	_ "unsafe" // go:linkname
)

//go:linkname stdSortByRFC6724withSrcs net.sortByRFC6724withSrcs
func stdSortByRFC6724withSrcs(addrs []net.IPAddr, srcs []netip.Addr)

func BenchmarkStdSortByRFC6724(b *testing.B) {
	for _, n := range []int{2, 8, 16, 64} {
		b.Run("N="+itoa(n), func(b *testing.B) {
			ds := benchDestinations(n)
			in := make([]net.IPAddr, n)
			srcs := make([]netip.Addr, n)
			for i, d := range ds {
				in[i] = net.IPAddr{IP: d.Addr.AsSlice()}
				srcs[i] = d.Source.Addr
			}
			buf := make([]net.IPAddr, n)
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, in)
				stdSortByRFC6724withSrcs(buf, srcs)
			}
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
