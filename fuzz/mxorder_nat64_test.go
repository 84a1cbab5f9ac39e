package fuzz

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/dualstack/dualstack/addrselect/nat64"
	"github.com/dualstack/dualstack/mxorder"
)

// fuzzNAT64 are the prefixes of FuzzPlanNAT64: the well-known prefix,
// which refuses non-global IPv4 addresses, and a network-specific /64,
// whose addresses skip bits 64-71.
var fuzzNAT64 = []netip.Prefix{nat64.WellKnownPrefix, netip.MustParsePrefix("2001:db8:64::/64")}

// FuzzPlanNAT64: Build with NAT64 prefixes, on the input form of
// FuzzPlan (where AAAA answers inside a prefix play DNS64 answers).
// Invariants: no panic; errors are the documented ones; every attempt is
// in a family the sender has, once; a translated attempt's address holds
// its IPv4 address under a known prefix, and is a DNS64 answer of its
// host or the synthesis of one of its A answers; a native attempt is an
// input address, or the IPv4 address of a DNS64 answer; a host's
// families count a DNS64 answer as IPv4.
func FuzzPlanNAT64(f *testing.F) {
	f.Add("10 mx.example 8.8.8.8 64:ff9b::808:808\n20 b.example 192.0.2.1 2001:db8:64:0:c0:0:201:0", uint8(2))
	f.Add("10 mx.example 64:ff9b::a00:5 2001:db8::1\n10 c.example 10.0.0.5", uint8(3))
	f.Add("10 mx.example 192.0.2.1 64:ff9b::c000:201 ::ffff:192.0.2.1", uint8(1))
	f.Add("", uint8(2))
	f.Fuzz(func(t *testing.T, text string, senders uint8) {
		mx, addrs := mxFuzzInput(text)
		fams := mxorder.Family(senders) & mxorder.DualStack
		p := &mxorder.Planner{Sources: mxFamilySources(fams), NAT64: fuzzNAT64, Seeded: true, MaxMX: 16, MaxHostAddrs: 8}
		if len(mx) == 0 {
			addrs["example.com"] = addrs[""]
		}
		plan, err := p.Build(context.Background(), "example.com", mx, addrs)
		var ue *mxorder.UnreachableError
		switch {
		case err == nil:
		case errors.Is(err, mxorder.ErrNullMX), errors.Is(err, mxorder.ErrNoSuchDomain), errors.Is(err, mxorder.ErrNoPrimaryRelay), errors.Is(err, mxorder.ErrInvalidName):
			return
		case errors.As(err, &ue):
			return
		default:
			t.Fatalf("unexpected error %v", err)
		}
		inputs := nat64Inputs(mx, addrs)
		seen := map[netip.Addr]bool{}
		for _, a := range plan.Attempts() {
			if seen[a.Addr] || !fams.Has(mxorder.FamilyOf(a.Addr)) {
				t.Fatalf("attempt %v: twice, or in a family the sender (%v) lacks", a, fams)
			}
			seen[a.Addr] = true
			checkNAT64Attempt(t, a, inputs[a.Host])
		}
		for _, h := range plan.Hosts {
			if want := realFamilies(inputs[h.Name], p.MaxHostAddrs); h.Families != want {
				t.Fatalf("host %s families %v; its inputs %v are %v", h.Name, h.Families, inputs[h.Name], want)
			}
		}
	})
}

// nat64Inputs returns the input addresses per canonical host name,
// unmapped and within MaxHostAddrs order.
func nat64Inputs(mx []*net.MX, addrs map[string]mxorder.HostAddrs) map[string][]netip.Addr {
	inputs := map[string][]netip.Addr{}
	for _, m := range mx {
		if n, err := mxorder.NormalizeName(m.Host); err == nil {
			for _, a := range addrs[m.Host].Addrs {
				inputs[n] = append(inputs[n], a.Unmap())
			}
		}
	}
	if len(mx) == 0 {
		for _, a := range addrs["example.com"].Addrs {
			inputs["example.com"] = append(inputs["example.com"], a.Unmap())
		}
	}
	return inputs
}

// inPrefix returns the IPv4 address a stands for and its prefix when a
// lies in one of fuzzNAT64.
func inPrefix(a netip.Addr) (netip.Addr, netip.Prefix, bool) {
	for _, pfx := range fuzzNAT64 {
		if v4, ok := nat64.Extract(pfx, a); ok {
			return v4, pfx, true
		}
	}
	return netip.Addr{}, netip.Prefix{}, false
}

// checkNAT64Attempt checks one attempt against its host's inputs.
func checkNAT64Attempt(t *testing.T, a mxorder.Attempt, in []netip.Addr) {
	t.Helper()
	tr := a.NAT64
	if tr == nil {
		if slices.Contains(in, a.Addr) {
			if _, _, ok := inPrefix(a.Addr); ok {
				t.Fatalf("attempt %v: a DNS64 answer tried as native", a)
			}
			return
		}
		if !slices.ContainsFunc(in, func(x netip.Addr) bool { v4, _, ok := inPrefix(x); return ok && v4 == a.Addr }) {
			t.Fatalf("attempt %v: neither an input nor the IPv4 address of a DNS64 answer in %v", a, in)
		}
		return
	}
	if !slices.Contains(fuzzNAT64, tr.Prefix) {
		t.Fatalf("attempt %v: unknown prefix", a)
	}
	if v4, ok := nat64.Extract(tr.Prefix, a.Addr); !ok || v4 != tr.IPv4 {
		t.Fatalf("attempt %v: Extract gives %v, %v", a, v4, ok)
	}
	if tr.DNS64 {
		if !slices.Contains(in, a.Addr) {
			t.Fatalf("attempt %v: DNS64 answer not in the input %v", a, in)
		}
		return
	}
	s, err := nat64.Synthesize(tr.Prefix, tr.IPv4)
	if err != nil || s != a.Addr || !slices.Contains(in, tr.IPv4) {
		t.Fatalf("attempt %v: not the synthesis (%v, %v) of an A answer in %v", a, s, err, in)
	}
}

// realFamilies returns the families of the first max addresses of in,
// a DNS64 answer counting as IPv4 (zoned addresses are left out, as the
// planner does).
func realFamilies(in []netip.Addr, max int) mxorder.Family {
	var f mxorder.Family
	for _, a := range in[:min(len(in), max)] {
		switch {
		case a.Zone() != "":
		case func() bool { _, _, ok := inPrefix(a); return ok }():
			f |= mxorder.IPv4
		default:
			f |= mxorder.FamilyOf(a)
		}
	}
	return f
}
