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

// TestBuildAllocs turns the allocation goal into a test: a constant
// number of allocations for the pure core (the plan, its hosts,
// candidates and attempts, and the skipped list and its detail text when
// a limit cuts; up to 16 MX entries live on the stack and the sorting scratch
// is pooled), whatever the input size.
func TestBuildAllocs(t *testing.T) {
	// The race detector adds an allocation or two of its own; CI runs
	// with -race, so allow for them there rather than skip.
	slack := 0.0
	if raceEnabled {
		slack = 2
	}
	mx, addrs := benchInput()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		p    *mxorder.Planner
		want float64
	}{
		{"static-sources", &mxorder.Planner{Sources: relay46, Seeded: true}, 4},
		{"no-sources", &mxorder.Planner{Seeded: true}, 4},
		{"limit-balance", &mxorder.Planner{Sources: relay46, Seeded: true, MaxAddresses: 20, Balance: true}, 6},
	} {
		n := testing.AllocsPerRun(100, func() {
			sinkPlan, _ = tc.p.Build(ctx, "example.com", mx, addrs)
		})
		if n > tc.want+slack {
			t.Errorf("%s: Build allocs = %v; want <= %v", tc.name, n, tc.want+slack)
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
	var sel *addrselect.Selector
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range hosts {
			sel.SortDestinations(d)
		}
	}
}
