package mxorder_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
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
	if a.NAT64 != nil {
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
		got  *mxorder.Translation
	}{
		{"candidate", plan.Hosts[0].Addrs[0].NAT64},
		{"attempt", plan.Attempts()[0].NAT64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got == nil || *tt.got != want {
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

// dns64DNS: mx.v4.example is IPv4-only, and the resolver is a DNS64
// with the prefix nsp: it answers AAAA queries with the synthesized
// address as well. mx.a.example has only the synthesized AAAA (its A
// lookup failed).
func dns64DNS(t *testing.T) *mxordertest.Resolver {
	return mxordertest.New().
		MX("v4.example", 10, "mx.v4.example").
		A("mx.v4.example", "203.0.113.25").
		AAAA("mx.v4.example", synth(t, nsp, "203.0.113.25").String()).
		MX("a.example", 10, "mx.a.example").
		AAAA("mx.a.example", synth(t, nsp, "203.0.113.26").String()).
		ServFail("mx.a.example", mxordertest.TypeA)
}

// TestPlanDNS64: a DNS64 answer in a known prefix makes an IPv4-only host
// neither dual-stack nor counted twice; a sender with IPv4 uses the IPv4
// address, one without uses the translator once.
func TestPlanDNS64(t *testing.T) {
	s25 := synth(t, nsp, "203.0.113.25").String()
	tests := []struct {
		name    string
		p       mxorder.Planner
		domain  string
		want    []string
		wantFam mxorder.Family // the host's and the domain's families
		dup     bool           // the DNS64 answer is skipped as a duplicate
	}{{
		name: "dual-stack sender", domain: "v4.example",
		p:    mxorder.Planner{Families: mxorder.DualStack, NAT64: []netip.Prefix{nsp}},
		want: []string{"mx.v4.example 203.0.113.25"}, wantFam: mxorder.IPv4, dup: true,
	}, {
		name: "ipv4-only sender", domain: "v4.example",
		p:    mxorder.Planner{Families: mxorder.IPv4, NAT64: []netip.Prefix{nsp}},
		want: []string{"mx.v4.example 203.0.113.25"}, wantFam: mxorder.IPv4, dup: true,
	}, {
		name: "ipv6-only sender: the translator, once", domain: "v4.example",
		p:    mxorder.Planner{Families: mxorder.IPv6, NAT64: []netip.Prefix{nsp}},
		want: []string{"mx.v4.example " + s25 + " (203.0.113.25 via NAT64 2001:db8:64::/96 (DNS64))"}, wantFam: mxorder.IPv4,
	}, {
		name: "only the DNS64 answer: its ipv4 address is used", domain: "a.example",
		p:    mxorder.Planner{Families: mxorder.DualStack, NAT64: []netip.Prefix{nsp}},
		want: []string{"mx.a.example 203.0.113.26"}, wantFam: mxorder.IPv4, dup: true,
	}, {
		name: "prefix unknown: taken for native ipv6", domain: "v4.example",
		p:    mxorder.Planner{Families: mxorder.DualStack},
		want: []string{"mx.v4.example " + s25, "mx.v4.example 203.0.113.25"}, wantFam: mxorder.DualStack,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Resolver = dns64DNS(t)
			plan, err := tt.p.Plan(context.Background(), tt.domain)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range plan.Attempts() {
				got = append(got, attemptLine(a))
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("attempts (-want +got):\n%s\n%s", d, plan)
			}
			if plan.Hosts[0].Families != tt.wantFam || plan.DomainFamilies != tt.wantFam {
				t.Errorf("host %v, domain %v, want %v", plan.Hosts[0].Families, plan.DomainFamilies, tt.wantFam)
			}
			dup := false
			for _, s := range plan.Skipped {
				dup = dup || (s.Reason == mxorder.SkipDuplicate && strings.Contains(s.Detail, "DNS64"))
			}
			if dup != tt.dup {
				t.Errorf("DNS64 duplicate skipped: %v, want %v\n%s", dup, tt.dup, plan)
			}
		})
	}
}

// findingKeys lists the findings as "code host".
func findingKeys(fs []mxorder.AuditFinding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, string(f.Code)+" "+f.Host)
	}
	return out
}

// TestAuditNAT64: the audit counts a DNS64 answer as its IPv4 address
// (the host stays IPv4-only), and flags a sender that reaches IPv4-only
// MX hosts through NAT64.
func TestAuditNAT64(t *testing.T) {
	tests := []struct {
		name      string
		p         mxorder.Planner
		domain    string
		wantAddrs []string // of the first host
		wantFam   mxorder.Family
		want      []string // findings, as findingKeys
	}{{
		name: "dns64 answer recognised", domain: "v4.example",
		p:         mxorder.Planner{NAT64: []netip.Prefix{nsp}},
		wantAddrs: []string{"203.0.113.25"}, wantFam: mxorder.IPv4,
		want: []string{"dns64-address mx.v4.example", "documentation-address mx.v4.example", "single-stack mx.v4.example", "unreachable "},
	}, {
		name: "dns64 answer unknown", domain: "v4.example",
		p:         mxorder.Planner{},
		wantAddrs: []string{"2001:db8:64::cb00:7119", "203.0.113.25"}, wantFam: mxorder.DualStack,
		want: []string{"documentation-address mx.v4.example", "documentation-address mx.v4.example"},
	}, {
		name: "ipv6-only sender behind nat64", domain: "v4.example",
		p:         mxorder.Planner{Families: mxorder.IPv6, NAT64: []netip.Prefix{nsp}},
		wantAddrs: []string{"203.0.113.25"}, wantFam: mxorder.IPv4,
		want: []string{"dns64-address mx.v4.example", "documentation-address mx.v4.example", "single-stack mx.v4.example", "unreachable ", "nat64-sender "},
	}, {
		name: "ipv6-only sender by its sources", domain: "v4.example",
		p:         mxorder.Planner{Sources: relay6, NAT64: []netip.Prefix{nsp}},
		wantAddrs: []string{"203.0.113.25"}, wantFam: mxorder.IPv4,
		want: []string{"dns64-address mx.v4.example", "documentation-address mx.v4.example", "single-stack mx.v4.example", "unreachable ", "nat64-sender "},
	}, {
		name: "dual-stack sender is not behind nat64", domain: "v4.example",
		p:         mxorder.Planner{Sources: relay46, NAT64: []netip.Prefix{nsp}},
		wantAddrs: []string{"203.0.113.25"}, wantFam: mxorder.IPv4,
		want: []string{"dns64-address mx.v4.example", "documentation-address mx.v4.example", "single-stack mx.v4.example", "unreachable "},
	}, {
		name: "discovery fails", domain: "a.example",
		p:         mxorder.Planner{Families: mxorder.IPv6, DiscoverNAT64: true},
		wantAddrs: []string{"2001:db8:64::cb00:711a"}, wantFam: mxorder.IPv6,
		want: []string{"lookup-failed mx.a.example", "documentation-address mx.a.example", "single-stack mx.a.example", "unreachable ", "lookup-failed ipv4only.arpa"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Resolver = dns64DNS(t).ServFail("ipv4only.arpa")
			r, err := tt.p.Audit(context.Background(), tt.domain)
			if err != nil {
				t.Fatal(err)
			}
			var addrs []string
			for _, a := range r.Hosts[0].Addrs {
				addrs = append(addrs, a.String())
			}
			if d := cmp.Diff(tt.wantAddrs, addrs); d != "" || r.Hosts[0].Families != tt.wantFam {
				t.Errorf("host addresses (-want +got):\n%s\nfamilies %v, want %v", d, r.Hosts[0].Families, tt.wantFam)
			}
			if d := cmp.Diff(tt.want, findingKeys(r.Findings)); d != "" {
				t.Errorf("findings (-want +got):\n%s\n%s", d, r)
			}
			for _, f := range r.Findings {
				if f.Code == mxorder.CodeNAT64Sender && !(strings.Contains(f.Message, "SPF") && strings.Contains(f.Message, "reverse DNS") && strings.Contains(f.Message, "pool")) {
					t.Errorf("nat64-sender finding does not explain SPF, reverse DNS and the pool: %s", f.Message)
				}
			}
		})
	}
}

// TestCheckBounceNAT64: the study's lost bounce (an IPv6-only relay, an
// IPv4-only sender domain) arrives when the relay has a translator.
func TestCheckBounceNAT64(t *testing.T) {
	ctx := context.Background()
	pfx := []netip.Prefix{nsp}
	mx20 := []string{"mx20.example.org"}
	tests := []struct {
		name                string
		p                   mxorder.Planner
		relay               mxorder.Family
		recipient, sender   string
		wantOK              bool
		want                []string // findings, as findingKeys
		wantRecipientInText bool     // the nat64-sender finding names the recipient domain
	}{{
		name: "the study: ipv6-only mx20 without a translator", relay: mxorder.IPv6,
		p:         mxorder.Planner{LocalNames: mx20},
		recipient: "example.org", sender: "v4only.example",
		want: []string{"bounce-lost ", "bounce-lost mx20.example.org"},
	}, {
		name: "the study now: mx20 behind nat64", relay: mxorder.IPv6,
		p:         mxorder.Planner{LocalNames: mx20, NAT64: pfx},
		recipient: "example.org", sender: "v4only.example", wantOK: true,
		want: []string{"nat64-sender "},
	}, {
		name: "mx20 known by address", relay: mxorder.IPv6,
		p:         mxorder.Planner{LocalAddrs: addrs("2001:db8::20"), NAT64: pfx},
		recipient: "example.org", sender: "v4only.example", wantOK: true,
		want: []string{"nat64-sender "},
	}, {
		name: "another relay: mx20's own bounce is still lost", relay: mxorder.IPv6,
		p:         mxorder.Planner{NAT64: pfx},
		recipient: "example.org", sender: "v4only.example",
		want: []string{"bounce-lost mx20.example.org", "nat64-sender "},
	}, {
		name: "ipv4 relay: no translator needed", relay: mxorder.IPv4,
		p:         mxorder.Planner{NAT64: pfx},
		recipient: "example.org", sender: "v4only.example",
		want: []string{"bounce-lost mx20.example.org"},
	}, {
		name: "ipv6-only relay delivers to an ipv4-only recipient", relay: mxorder.IPv6,
		p:         mxorder.Planner{NAT64: pfx},
		recipient: "v4only.example", sender: "v6only.example",
		want: []string{"bounce-lost mx.v4only.example", "nat64-sender "}, wantRecipientInText: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Resolver = studyDNS()
			b, err := tt.p.CheckBounce(ctx, tt.relay, tt.recipient, tt.sender)
			if err != nil {
				t.Fatal(err)
			}
			if b.OK() != tt.wantOK {
				t.Errorf("OK() = %v, want %v", b.OK(), tt.wantOK)
			}
			if d := cmp.Diff(tt.want, findingKeys(b.Findings)); d != "" {
				t.Errorf("findings (-want +got):\n%s\n%v", d, b.Findings)
			}
			for _, f := range b.Findings {
				if f.Code == mxorder.CodeNAT64Sender && strings.Contains(f.Message, "recipient domain") != tt.wantRecipientInText {
					t.Errorf("finding names the recipient domain: %v, want %v: %s", !tt.wantRecipientInText, tt.wantRecipientInText, f.Message)
				}
			}
		})
	}
}

// addrs parses address literals.
func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// TestNAT64NativeFirst: a host's native IPv6 addresses come before those
// through the translator, whatever the order of the answers.
func TestNAT64NativeFirst(t *testing.T) {
	mx := []*net.MX{{Host: "mx.example.", Pref: 10}}
	s10 := synth(t, nsp, "192.0.2.10").String()
	tests := []struct {
		name   string
		answer []string
		p      mxorder.Planner
		want   []string
	}{
		{"a first", []string{"192.0.2.10", "2001:db8::10"}, mxorder.Planner{Families: mxorder.IPv6}, []string{"2001:db8::10", s10}},
		{"aaaa first", []string{"2001:db8::10", "192.0.2.10"}, mxorder.Planner{Families: mxorder.IPv6}, []string{"2001:db8::10", s10}},
		{"with sources", []string{"192.0.2.10", "192.0.2.11", "2001:db8::10"}, mxorder.Planner{Sources: relay6},
			[]string{"2001:db8::10", s10, synth(t, nsp, "192.0.2.11").String()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.NAT64 = []netip.Prefix{nsp}
			plan, err := tt.p.Build(context.Background(), "example.com", mx, map[string]mxorder.HostAddrs{"mx.example": {Addrs: addrs(tt.answer...)}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range plan.Attempts() {
				got = append(got, a.Addr.String())
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("attempts (-want +got):\n%s", d)
			}
		})
	}
}

// TestNAT64InvalidPrefix: every entry point refuses a prefix RFC 6052
// section 2.2 does not allow, with an error errors.Is can match.
func TestNAT64InvalidPrefix(t *testing.T) {
	ctx := context.Background()
	p := mxorder.Planner{Resolver: studyDNS(), Families: mxorder.IPv6, NAT64: []netip.Prefix{nsp, netip.MustParsePrefix("2001:db8::/44")}}
	tests := []struct {
		name string
		call func() error
	}{
		{"Plan", func() error { _, err := p.Plan(ctx, "v4only.example"); return err }},
		{"Build", func() error { _, err := p.Build(ctx, "v4only.example", nil, nil); return err }},
		{"Audit", func() error { _, err := p.Audit(ctx, "v4only.example"); return err }},
		{"CheckBounce", func() error { _, err := p.CheckBounce(ctx, mxorder.IPv6, "example.org", "v4only.example"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, nat64.ErrInvalidPrefix) || !strings.Contains(fmt.Sprint(err), "Planner.NAT64[1]") {
				t.Errorf("error %v; want one wrapping nat64.ErrInvalidPrefix that names Planner.NAT64[1]", err)
			}
		})
	}
}
