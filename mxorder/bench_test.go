package mxorder_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

var sinkPlan *mxorder.Plan

// benchInput: 10 MX hosts (preferences 10, 10, 20, 20, ...) with 2 IPv4
// and 2 IPv6 addresses each.
func benchInput() ([]*net.MX, map[string]mxorder.HostAddrs) {
	var mx []*net.MX
	addrs := map[string]mxorder.HostAddrs{}
	for i := range 10 {
		name := fmt.Sprintf("mx%d.example.com", i)
		mx = append(mx, &net.MX{Host: name + ".", Pref: uint16(10 * (i/2 + 1))})
		addrs[name] = mxorder.HostAddrs{Addrs: []netip.Addr{
			netip.MustParseAddr(fmt.Sprintf("2001:db8:%d::1", i)),
			netip.MustParseAddr(fmt.Sprintf("2001:db8:%d::2", i)),
			netip.AddrFrom4([4]byte{192, 0, 2, byte(2 * i)}),
			netip.AddrFrom4([4]byte{192, 0, 2, byte(2*i + 1)}),
		}}
	}
	return mx, addrs
}

// BenchmarkBuild is the pure core: 10 MX x 4 addresses (2 IPv4, 2 IPv6
// each), with static sources, without sources, and with an address limit
// and balancing (20 of the 40 addresses cut and reported).
func BenchmarkBuild(b *testing.B) {
	mx, addrs := benchInput()
	for _, bc := range []struct {
		name string
		p    *mxorder.Planner
	}{
		{"static-sources", &mxorder.Planner{Sources: relay46, Seeded: true}},
		{"no-sources", &mxorder.Planner{Seeded: true}},
		{"limit-balance", &mxorder.Planner{Sources: relay46, Seeded: true, MaxAddresses: 20, Balance: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				plan, err := bc.p.Build(ctx, "example.com", mx, addrs)
				if err != nil {
					b.Fatal(err)
				}
				sinkPlan = plan
			}
		})
	}
}

// BenchmarkPlan resolves through the in-memory resolver.
func BenchmarkPlan(b *testing.B) {
	r := mxordertest.New()
	mx, addrs := benchInput()
	for _, m := range mx {
		r.MX("example.com", m.Pref, m.Host)
		var ss []string
		for _, a := range addrs[m.Host[:len(m.Host)-1]].Addrs {
			ss = append(ss, a.String())
		}
		r.Host(m.Host, ss...)
	}
	p := &mxorder.Planner{Resolver: r, Sources: relay46, Seeded: true}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		plan, err := p.Plan(ctx, "example.com")
		if err != nil {
			b.Fatal(err)
		}
		sinkPlan = plan
	}
}

// sizedInput is n MX hosts of distinct preferences with k addresses
// each, half IPv4 and half IPv6.
func sizedInput(n, k int) ([]*net.MX, map[string]mxorder.HostAddrs) {
	var mx []*net.MX
	addrs := map[string]mxorder.HostAddrs{}
	for i := range n {
		name := fmt.Sprintf("mx%d.example.com", i)
		mx = append(mx, &net.MX{Host: name + ".", Pref: uint16(i)})
		var ha mxorder.HostAddrs
		for j := range k {
			if j%2 == 0 {
				ha.Addrs = append(ha.Addrs, netip.AddrFrom4([4]byte{192, 0, byte(i), byte(j)}))
			} else {
				ha.Addrs = append(ha.Addrs, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i), 14: byte(j >> 8), 15: byte(j)}))
			}
		}
		addrs[name] = ha
	}
	return mx, addrs
}

// TestBuildAllocs turns the allocation goal into a test: the pure core
// allocates the same small number of times whatever the input size
// within the limits (MaxMX records, MaxHostAddrs addresses each): the
// plan, its entries and hosts, candidates, attempts and scratch slices,
// each sized once.
func TestBuildAllocs(t *testing.T) {
	// The race detector adds an allocation or two of its own; CI runs
	// with -race, so allow for them there rather than skip.
	slack := 0.0
	if raceEnabled {
		slack = 2
	}
	const most = 10
	ctx := context.Background()
	sizes := []struct{ mx, addrs int }{{10, 4}, {16, 8}, {mxorder.DefaultMaxMX, mxorder.DefaultMaxHostAddrs}}
	for _, tc := range []struct {
		name string
		p    *mxorder.Planner
	}{
		{"static-sources", &mxorder.Planner{Sources: relay46, Seeded: true}},
		{"no-sources", &mxorder.Planner{Seeded: true}},
	} {
		var first float64
		for i, sz := range sizes {
			mx, addrs := sizedInput(sz.mx, sz.addrs)
			n := testing.AllocsPerRun(50, func() {
				var err error
				if sinkPlan, err = tc.p.Build(ctx, "example.com", mx, addrs); err != nil {
					t.Fatal(err)
				}
			})
			if i == 0 {
				first = n
			}
			if n != first || n > most+slack {
				t.Errorf("%s: Build(%d MX x %d addresses) allocs = %v; want %v as for %d x %d, at most %v",
					tc.name, sz.mx, sz.addrs, n, first, sizes[0].mx, sizes[0].addrs, most+slack)
			}
		}
	}
}

// BenchmarkSelectorShare sorts the same 10 x 4 destinations with the
// default Selector alone: the part of BenchmarkBuild spent in addrselect.
func BenchmarkSelectorShare(b *testing.B) {
	_, addrs := benchInput()
	var hosts [][]addrselect.Destination
	for _, h := range addrs {
		var d []addrselect.Destination
		for _, a := range h.Addrs {
			s, _ := relay46.Source(context.Background(), a)
			d = append(d, addrselect.Destination{Addr: a, Source: s})
		}
		hosts = append(hosts, d)
	}
	sel := mxorder.DefaultSelector() // what Build sorts with
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range hosts {
			sel.SortDestinations(d)
		}
	}
}
