package mxorder_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/addrselect/nat64"
	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
	"github.com/google/go-cmp/cmp"
)

// The NAT64 prefixes of the tests: a network-specific prefix in the
// documentation range, which may carry any IPv4 address, and the
// well-known prefix, which may not carry the documentation addresses of
// the tests (RFC 6052 section 3.1).
var (
	nsp = netip.MustParsePrefix("2001:db8:64::/96")
	wkp = nat64.WellKnownPrefix
)

// synth is the address of v4 under the prefix pfx.
func synth(t *testing.T, pfx netip.Prefix, v4 string) netip.Addr {
	t.Helper()
	a, err := nat64.Synthesize(pfx, netip.MustParseAddr(v4))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// dns64 answers ipv4only.arpa as a DNS64 with the prefix nsp does.
func dns64(t *testing.T, r *mxordertest.Resolver) *mxordertest.Resolver {
	return r.AAAA("ipv4only.arpa", synth(t, nsp, "192.0.0.170").String(), synth(t, nsp, "192.0.0.171").String())
}

// attemptLine is an attempt as a test expects it: address, and the
// IPv4 address and prefix of its translation.
func attemptLine(a mxorder.Attempt) string {
	s := a.Host + " " + a.Addr.String()
	if !a.NAT64.IsZero() {
		s += " (" + a.NAT64.String() + ")"
	}
	return s
}

func TestPlanNAT64(t *testing.T) {
	ctx := context.Background()
	mx4 := "mx.v4only.example " + synth(t, nsp, "203.0.113.25").String() + " (203.0.113.25 via NAT64 2001:db8:64::/96)"
	tests := []struct {
		name     string
		p        mxorder.Planner
		dns      *mxordertest.Resolver
		domain   string
		want     []string // attempts
		wantErr  error
		wantPfx  []netip.Prefix // Plan.NAT64
		wantSkip string         // in a skip's detail
		wantLook string         // a lookup error's host
	}{{
		name: "ipv6-only sender reaches an ipv4-only MX", domain: "v4only.example",
		p:    mxorder.Planner{Families: mxorder.IPv6, NAT64: []netip.Prefix{nsp}},
		want: []string{mx4}, wantPfx: []netip.Prefix{nsp},
	}, {
		name: "ipv6-only sender by its sources", domain: "v4only.example",
		p:    mxorder.Planner{Sources: relay6, NAT64: []netip.Prefix{nsp}},
		want: []string{mx4}, wantPfx: []netip.Prefix{nsp},
	}, {
		name: "without a prefix no translator helps", domain: "v4only.example",
		p:       mxorder.Planner{Families: mxorder.IPv6},
		wantErr: mxorder.ErrNoReachableMX,
	}, {
		name: "the well-known prefix cannot carry documentation addresses", domain: "v4only.example",
		p:       mxorder.Planner{Families: mxorder.IPv6, NAT64: []netip.Prefix{wkp}},
		wantErr: mxorder.ErrNoReachableMX, wantSkip: "RFC 6052 section 3.1", wantPfx: []netip.Prefix{wkp},
	}, {
		name: "the first prefix that carries the address wins", domain: "v4only.example",
		p:    mxorder.Planner{Families: mxorder.IPv6, NAT64: []netip.Prefix{wkp, nsp}},
		want: []string{mx4}, wantPfx: []netip.Prefix{wkp, nsp},
	}, {
		name: "a dual-stack sender uses ipv4 natively", domain: "v4only.example",
		p:    mxorder.Planner{Families: mxorder.DualStack, NAT64: []netip.Prefix{nsp}},
		want: []string{"mx.v4only.example 203.0.113.25"}, wantPfx: []netip.Prefix{nsp},
	}, {
		name: "ipv6-only sender, dual-stack host: native ipv6 first", domain: "example.org",
		p: mxorder.Planner{Families: mxorder.IPv6, NAT64: []netip.Prefix{nsp}},
		want: []string{
			"mx10.example.org 2001:db8::10",
			"mx10.example.org " + synth(t, nsp, "192.0.2.10").String() + " (192.0.2.10 via NAT64 2001:db8:64::/96)",
			"mx20.example.org 2001:db8::20",
			"mx30.example.org 2001:db8::30",
			"mx30.example.org " + synth(t, nsp, "192.0.2.30").String() + " (192.0.2.30 via NAT64 2001:db8:64::/96)",
		},
		wantPfx: []netip.Prefix{nsp},
	}, {
		name: "discovered through the resolver's DNS64", domain: "v4only.example",
		p:   mxorder.Planner{Families: mxorder.IPv6, DiscoverNAT64: true},
		dns: dns64(t, studyDNS()), want: []string{mx4}, wantPfx: []netip.Prefix{nsp},
	}, {
		name: "configured prefixes are not rediscovered", domain: "v4only.example",
		p:   mxorder.Planner{Families: mxorder.IPv6, DiscoverNAT64: true, NAT64: []netip.Prefix{nsp}},
		dns: studyDNS().ServFail("ipv4only.arpa"), want: []string{mx4}, wantPfx: []netip.Prefix{nsp},
	}, {
		name: "discovery without a DNS64", domain: "v4only.example",
		p:       mxorder.Planner{Families: mxorder.IPv6, DiscoverNAT64: true},
		wantErr: mxorder.ErrNoReachableMX,
	}, {
		name: "discovery fails", domain: "v4only.example",
		p:   mxorder.Planner{Families: mxorder.IPv6, DiscoverNAT64: true},
		dns: studyDNS().ServFail("ipv4only.arpa"), wantErr: mxorder.ErrNoReachableMX, wantLook: "ipv4only.arpa",
	}, {
		name: "invalid prefix", domain: "v4only.example",
		p:       mxorder.Planner{Families: mxorder.IPv6, NAT64: []netip.Prefix{netip.MustParsePrefix("2001:db8::/100")}},
		wantErr: nat64.ErrInvalidPrefix,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Resolver = tt.dns
			if tt.dns == nil {
				tt.p.Resolver = studyDNS()
			}
			plan, err := tt.p.Plan(ctx, tt.domain)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("Plan: %v, want %v", err, tt.wantErr)
			}
			if plan == nil {
				return
			}
			var got []string
			for _, a := range plan.Attempts() {
				got = append(got, attemptLine(a))
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("attempts (-want +got):\n%s\n%s", d, plan)
			}
			if !cmp.Equal(tt.wantPfx, plan.NAT64, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })) {
				t.Errorf("Plan.NAT64 = %v, want %v", plan.NAT64, tt.wantPfx)
			}
			if tt.wantSkip != "" && !strings.Contains(plan.String(), tt.wantSkip) {
				t.Errorf("no skip says %q:\n%s", tt.wantSkip, plan)
			}
			if looked := len(plan.LookupErrors) > 0 && plan.LookupErrors[0].Host == tt.wantLook; looked != (tt.wantLook != "") {
				t.Errorf("lookup errors %v, want one for %q", plan.LookupErrors, tt.wantLook)
			}
		})
	}
}

// TestNAT64CandidatesAndJSON: the host's candidates carry the
// translation too, and plans with translations survive JSON.
func TestNAT64CandidatesAndJSON(t *testing.T) {
	p := mxorder.Planner{Resolver: studyDNS(), Sources: relay6, NAT64: []netip.Prefix{nsp}}
	plan, err := p.Plan(context.Background(), "v4only.example")
	if err != nil {
		t.Fatal(err)
	}
	want := mxorder.Translation{IPv4: netip.MustParseAddr("203.0.113.25"), Prefix: nsp}
	tests := []struct {
		name string
		got  mxorder.Translation
	}{
		{"candidate", plan.Hosts[0].Addrs[0].NAT64},
		{"attempt", plan.Attempts()[0].NAT64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != want {
				t.Errorf("translation %+v, want %+v", tt.got, want)
			}
		})
	}
	back, js := roundTrip(t, plan)
	for _, w := range []string{`"nat64":{"ipv4":"203.0.113.25","prefix":"2001:db8:64::/96"}`, `"nat64_prefixes":["2001:db8:64::/96"]`} {
		if !strings.Contains(js, w) {
			t.Errorf("JSON lacks %s:\n%s", w, js)
		}
	}
	if d := cmp.Diff(plan, back, jsonOpts...); d != "" {
		t.Errorf("round trip (-orig +decoded):\n%s", d)
	}
	// A plan without NAT64 writes no translation and no null.
	plain, err := (&mxorder.Planner{Resolver: studyDNS(), Sources: relay46}).Plan(context.Background(), "v4only.example")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "nat64") || strings.Contains(s, "null") {
		t.Errorf("plan without NAT64 writes %s", s)
	}
}

// TestNAT64Temporary: a failed A lookup counts as temporary for an
// IPv6-only sender with a translator (it could use those addresses), and
// not for one without.
func TestNAT64Temporary(t *testing.T) {
	dns := mxordertest.New().MX("v4.example", 10, "mx.v4.example").ServFail("mx.v4.example", mxordertest.TypeA)
	tests := []struct {
		name  string
		nat64 []netip.Prefix
		want  bool
	}{
		{"with a translator", []netip.Prefix{nsp}, true},
		{"without", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mxorder.Planner{Resolver: dns, Families: mxorder.IPv6, NAT64: tt.nat64}
			_, err := p.Plan(context.Background(), "v4.example")
			var ue *mxorder.UnreachableError
			if !errors.As(err, &ue) {
				t.Fatalf("Plan: %v, want an UnreachableError", err)
			}
			if ue.Temporary != tt.want {
				t.Errorf("Temporary = %v, want %v (%v)", ue.Temporary, tt.want, err)
			}
		})
	}
}
