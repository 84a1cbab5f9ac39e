//go:build stdlibbench

package addrselect

// Go's own RFC 6724 sort, reached through go:linkname for a side-by-side
// benchmark. Run with:
//
//	go test -tags stdlibbench -ldflags=-checklinkname=0 -run '^$' -bench 'Sort' ./addrselect
//
// and, for the differential test of the GoNet profile against it,
//
//	go test -tags stdlibbench -ldflags=-checklinkname=0 -run GoNetMatchesStdlib ./addrselect

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
	_ "unsafe" // go:linkname
)

//go:linkname stdSortByRFC6724withSrcs net.sortByRFC6724withSrcs
func stdSortByRFC6724withSrcs(addrs []net.IPAddr, srcs []netip.Addr)

func BenchmarkStdSortByRFC6724(b *testing.B) {
	for _, n := range []int{2, 4, 8, 16, 64} {
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

// TestGoNetMatchesStdlib compares the GoNet profile with Go's own sort on
// random answers (the same destinations and sources; an unreachable
// destination has no source for Go). Run with the stdlibbench tag, as
// above.
func TestGoNetMatchesStdlib(t *testing.T) {
	r := newTestRand(81)
	sel := GoNet()
	for iter := range 3000 {
		ds := randDestinations(r, 1+r.IntN(24))
		// Go's resolver never returns an invalid address.
		ds = slices.DeleteFunc(ds, func(d Destination) bool { return !d.Addr.IsValid() })
		addrs := make([]net.IPAddr, len(ds))
		srcs := make([]netip.Addr, len(ds))
		for i, d := range ds {
			// Go sorts net.IPAddr without zones; drop them on both sides.
			ds[i].Addr = d.Addr.WithZone("")
			addrs[i] = net.IPAddr{IP: ds[i].Addr.AsSlice()}
			if !d.Unreachable {
				srcs[i] = d.Source.Addr.WithZone("")
			}
			ds[i].Source.Addr = srcs[i]
			ds[i].Unreachable = false
		}
		stdSortByRFC6724withSrcs(addrs, srcs)
		got := append([]Destination(nil), ds...)
		sel.SortDestinations(got)
		for i := range got {
			want, _ := netip.AddrFromSlice(addrs[i].IP)
			if got[i].Addr.Unmap() != want.Unmap() {
				t.Fatalf("iteration %d: position %d: GoNet has %v, Go has %v\ninput: %v", iter, i, got[i].Addr, want, ds)
			}
		}
	}
}

// BenchmarkVsStdlib measures SortDestinations against Go's own sort in
// one run, alternating: every iteration sorts the same input with each,
// 100 times apiece, so that both see the same machine state. It reports
// each one's mean time per sort and the ratio of the means (x-faster),
// and, because a shared machine's load comes in bursts, the ratio of each
// one's fastest round (x-faster-best):
//
//	go test -tags stdlibbench -ldflags=-checklinkname=0 -run '^$' -bench VsStdlib -benchtime=2000x -count=3 ./addrselect
func BenchmarkVsStdlib(b *testing.B) {
	for _, n := range []int{4, 16, 64} {
		b.Run("N="+itoa(n), func(b *testing.B) {
			ds := benchDestinations(n)
			in := make([]net.IPAddr, n)
			srcs := make([]netip.Addr, n)
			for i, d := range ds {
				in[i] = net.IPAddr{IP: d.Addr.AsSlice()}
				srcs[i] = d.Source.Addr
			}
			buf, ours := make([]net.IPAddr, n), make([]Destination, n)
			sel := RFC6724()
			const reps = 100
			var stdTime, ourTime time.Duration
			stdBest, ourBest := time.Duration(1<<62), time.Duration(1<<62)
			for b.Loop() {
				t0 := time.Now()
				for range reps {
					copy(buf, in)
					stdSortByRFC6724withSrcs(buf, srcs)
				}
				t1 := time.Now()
				for range reps {
					copy(ours, ds)
					sel.SortDestinations(ours)
				}
				t2 := time.Now()
				stdTime += t1.Sub(t0)
				ourTime += t2.Sub(t1)
				stdBest, ourBest = min(stdBest, t1.Sub(t0)), min(ourBest, t2.Sub(t1))
			}
			sorts := float64(b.N * reps)
			b.ReportMetric(float64(stdTime.Nanoseconds())/sorts, "std-ns/sort")
			b.ReportMetric(float64(ourTime.Nanoseconds())/sorts, "ours-ns/sort")
			b.ReportMetric(float64(stdTime)/float64(ourTime), "x-faster")
			b.ReportMetric(float64(stdBest)/float64(ourBest), "x-faster-best")
		})
	}
}
