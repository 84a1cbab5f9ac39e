package mxorder_test

import (
	"context"
	"net/netip"
	"sync/atomic"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// stack is a fake addrselect.Sources: a host with at most one address
// per family and a default route in each family it has an address in.
type stack struct{ v4, v6 netip.Addr }

var (
	relay4  = stack{v4: netip.MustParseAddr("198.51.100.7")}
	relay6  = stack{v6: netip.MustParseAddr("2001:db8:ffff::7")}
	relay46 = stack{v4: netip.MustParseAddr("198.51.100.7"), v6: netip.MustParseAddr("2001:db8:ffff::7")}
)

func (s stack) Source(ctx context.Context, dst netip.Addr) (addrselect.Source, error) {
	if err := ctx.Err(); err != nil {
		return addrselect.Source{}, err
	}
	if dst.Unmap().Is4() {
		if s.v4.IsValid() {
			return addrselect.Source{Addr: s.v4, PrefixLen: 24}, nil
		}
		return addrselect.Source{}, nil
	}
	if s.v6.IsValid() {
		return addrselect.Source{Addr: s.v6, PrefixLen: 64}, nil
	}
	return addrselect.Source{}, nil
}

// studyDNS is the MX routing scenario of the study (DESIGN.md): recipient
// domain example.org with mx10 dual-stack, mx20 IPv6-only, mx30
// dual-stack; sender domains v6only.example (IPv6-only MX) and
// v4only.example (IPv4-only MX).
func studyDNS() *mxordertest.Resolver {
	return mxordertest.New().
		MX("example.org", 10, "mx10.example.org").
		MX("example.org", 20, "mx20.example.org").
		MX("example.org", 30, "mx30.example.org").
		Host("mx10.example.org", "192.0.2.10", "2001:db8::10").
		Host("mx20.example.org", "2001:db8::20").
		Host("mx30.example.org", "192.0.2.30", "2001:db8::30").
		MX("v6only.example", 10, "mx.v6only.example").
		Host("mx.v6only.example", "2001:db8:6::25").
		MX("v4only.example", 10, "mx.v4only.example").
		Host("mx.v4only.example", "203.0.113.25")
}

// countingResolver records the largest number of lookups in flight.
type countingResolver struct {
	mxorder.Resolver
	inflight, peak atomic.Int32
}

func (c *countingResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	n := c.inflight.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	defer c.inflight.Add(-1)
	return c.Resolver.LookupNetIP(ctx, network, host)
}
