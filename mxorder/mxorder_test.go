package mxorder_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// want describes the expected shape of a plan.
type want struct {
	err      error    // errors.Is target; nil for success
	hosts    []string // Plan.Hosts names in order
	attempts []string // Plan.Attempts addresses in order
	skips    []string // "host reason" or "host addr reason" entries that must be in Skipped
	noSkips  []string // entries that must not be in Skipped
}

func hostNames(p *mxorder.Plan) []string {
	out := []string{}
	for _, h := range p.Hosts {
		out = append(out, h.Name)
	}
	return out
}

func attemptAddrs(p *mxorder.Plan) []string {
	out := []string{}
	for _, a := range p.Attempts() {
		out = append(out, a.Addr.String())
	}
	return out
}

func skipKeys(p *mxorder.Plan) []string {
	var out []string
	for _, s := range p.Skipped {
		if s.Addr.IsValid() {
			out = append(out, s.Host+" "+s.Addr.String()+" "+s.Reason.String())
		} else {
			out = append(out, s.Host+" "+s.Reason.String())
		}
	}
	return out
}

func checkPlan(t *testing.T, plan *mxorder.Plan, err error, w want) {
	t.Helper()
	if w.err != nil {
		if !errors.Is(err, w.err) {
			t.Fatalf("err = %v; want %v", err, w.err)
		}
	} else if err != nil {
		t.Fatalf("err = %v; want nil", err)
	}
	if plan == nil {
		if w.hosts != nil || w.attempts != nil || w.skips != nil {
			t.Fatalf("plan = nil; want one")
		}
		return
	}
	if w.hosts != nil {
		if d := cmp.Diff(w.hosts, hostNames(plan)); d != "" {
			t.Errorf("hosts (-want +got):\n%s", d)
		}
	}
	if w.attempts != nil {
		if d := cmp.Diff(w.attempts, attemptAddrs(plan)); d != "" {
			t.Errorf("attempts (-want +got):\n%s", d)
		}
	}
	got := skipKeys(plan)
	for _, s := range w.skips {
		if !slices.Contains(got, s) {
			t.Errorf("Skipped lacks %q; have %q", s, got)
		}
	}
	for _, s := range w.noSkips {
		if slices.Contains(got, s) {
			t.Errorf("Skipped has %q; want it absent", s)
		}
	}
	checkInvariants(t, plan)
}

// checkInvariants checks properties every plan has.
func checkInvariants(t *testing.T, plan *mxorder.Plan) {
	t.Helper()
	for i := 1; i < len(plan.Hosts); i++ {
		if plan.Hosts[i-1].Preference > plan.Hosts[i].Preference {
			t.Errorf("host %d preference %d after %d", i, plan.Hosts[i].Preference, plan.Hosts[i-1].Preference)
		}
	}
	seen := map[netip.Addr]bool{}
	for i, a := range plan.Attempts() {
		if !plan.SenderFamilies.Has(mxorder.FamilyOf(a.Addr)) {
			t.Errorf("attempt %d %v not in sender families %v", i, a.Addr, plan.SenderFamilies)
		}
		if seen[a.Addr] {
			t.Errorf("attempt %d %v listed twice", i, a.Addr)
		}
		seen[a.Addr] = true
		if i > 0 && plan.Attempts()[i-1].Preference > a.Preference {
			t.Errorf("attempt %d preference %d after %d", i, a.Preference, plan.Attempts()[i-1].Preference)
		}
	}
}

// TestStudy runs the MX routing scenarios of the study (DESIGN.md)
// through the resolving planner.
func TestStudy(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		p      mxorder.Planner
		domain string
		want   want
	}{
		{
			name:   "ipv4-relay-skips-ipv6-only-backup",
			reason: "an IPv4-only relay tries mx10, skips mx20 (IPv6-only) and hands to mx30",
			p:      mxorder.Planner{Sources: relay4},
			domain: "example.org",
			want: want{
				hosts:    []string{"mx10.example.org", "mx30.example.org"},
				attempts: []string{"192.0.2.10", "192.0.2.30"},
				skips:    []string{"mx20.example.org family", "mx10.example.org 2001:db8::10 family"},
			},
		},
		{
			name:   "ipv4-relay-by-families",
			reason: "the same with Families instead of Sources",
			p:      mxorder.Planner{Families: mxorder.IPv4},
			domain: "example.org",
			want: want{
				hosts:    []string{"mx10.example.org", "mx30.example.org"},
				attempts: []string{"192.0.2.10", "192.0.2.30"},
				skips:    []string{"mx20.example.org family"},
			},
		},
		{
			name:   "mx30-relay-drops-itself",
			reason: "mx30 (dual) finds itself, drops preference >= 30, keeps mx10 and mx20",
			p:      mxorder.Planner{Sources: relay46, LocalNames: []string{"MX30.example.org."}},
			domain: "example.org",
			want: want{
				hosts: []string{"mx10.example.org", "mx20.example.org"},
				skips: []string{"mx30.example.org self"},
			},
		},
		{
			name:   "mx30-relay-by-address",
			reason: "the local host recognised by one of its addresses",
			p:      mxorder.Planner{Sources: relay46, LocalAddrs: []netip.Addr{netip.MustParseAddr("192.0.2.30")}},
			domain: "example.org",
			want: want{
				hosts: []string{"mx10.example.org", "mx20.example.org"},
				skips: []string{"mx30.example.org self"},
			},
		},
		{
			name:   "mx20-ipv6-relay",
			reason: "mx20 (IPv6-only) drops itself and mx30, reaches mx10 over IPv6",
			p:      mxorder.Planner{Sources: relay6, LocalNames: []string{"mx20.example.org"}},
			domain: "example.org",
			want: want{
				hosts:    []string{"mx10.example.org"},
				attempts: []string{"2001:db8::10"},
				skips:    []string{"mx20.example.org self", "mx30.example.org not-better-than-self"},
			},
		},
		{
			name:   "primary-is-self",
			reason: "RFC 5321 section 5.1: nothing better than the local host",
			p:      mxorder.Planner{LocalNames: []string{"mx10.example.org"}},
			domain: "example.org",
			want:   want{err: mxorder.ErrNoPrimaryRelay, hosts: []string{}},
		},
		{
			name:   "ipv4-relay-to-ipv6-only-domain",
			reason: "the bounce path of the study: no common family",
			p:      mxorder.Planner{Sources: relay4},
			domain: "v6only.example",
			want:   want{err: mxorder.ErrNoReachableMX, skips: []string{"mx.v6only.example family"}},
		},
		{
			name:   "ipv6-relay-to-ipv4-only-domain",
			p:      mxorder.Planner{Sources: relay6},
			domain: "v4only.example",
			want:   want{err: mxorder.ErrNoReachableMX},
		},
		{
			name:   "dual-relay",
			p:      mxorder.Planner{Sources: relay46, Prefer: mxorder.IPv4},
			domain: "example.org",
			want: want{
				hosts:    []string{"mx10.example.org", "mx20.example.org", "mx30.example.org"},
				attempts: []string{"192.0.2.10", "2001:db8::10", "2001:db8::20", "192.0.2.30", "2001:db8::30"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.Resolver = studyDNS()
			plan, err := p.Plan(context.Background(), tt.domain)
			checkPlan(t, plan, err, tt.want)
		})
	}
}

// TestUnreachableDiagnosis checks the words of the study's diagnosis.
func TestUnreachableDiagnosis(t *testing.T) {
	tests := []struct {
		sources        addrselect.Sources
		domain         string
		domainF, sendF mxorder.Family
		words          []string
	}{
		{relay4, "v6only.example", mxorder.IPv6, mxorder.IPv4, []string{"IPv6-only", "sender is IPv4-only", "no common IP version"}},
		{relay6, "v4only.example", mxorder.IPv4, mxorder.IPv6, []string{"IPv4-only", "sender is IPv6-only"}},
	}
	for _, tt := range tests {
		p := mxorder.Planner{Resolver: studyDNS(), Sources: tt.sources}
		_, err := p.Plan(context.Background(), tt.domain)
		var ue *mxorder.UnreachableError
		if !errors.As(err, &ue) {
			t.Fatalf("Plan(%s) err = %v; want *UnreachableError", tt.domain, err)
		}
		if ue.DomainFamilies != tt.domainF || ue.SenderFamilies != tt.sendF || ue.Temporary {
			t.Errorf("Plan(%s) = %+v; want domain %v sender %v, permanent", tt.domain, ue, tt.domainF, tt.sendF)
		}
		for _, w := range tt.words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Plan(%s) error %q lacks %q", tt.domain, err, w)
			}
		}
	}
}

var (
	v4a = "192.0.2.1"
	v4b = "192.0.2.2"
	v4c = "192.0.2.3"
	v6a = "2001:db8::1"
	v6b = "2001:db8::2"
	v6c = "2001:db8::3"
)

func mxs(recs ...any) []*net.MX {
	var out []*net.MX
	for i := 0; i < len(recs); i += 2 {
		out = append(out, &net.MX{Pref: uint16(recs[i].(int)), Host: recs[i+1].(string)})
	}
	return out
}

func ha(addrs ...string) mxorder.HostAddrs {
	var h mxorder.HostAddrs
	for _, a := range addrs {
		h.Addrs = append(h.Addrs, netip.MustParseAddr(a))
	}
	return h
}

var servfail = &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}
var notfound = &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}

// TestBuild covers the rules of the pure core, one row per rule.
func TestBuild(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		p      mxorder.Planner
		domain string
		mx     []*net.MX
		addrs  map[string]mxorder.HostAddrs
		want   want
		check  func(*testing.T, *mxorder.Plan)
	}{
		{
			name: "sort-by-preference", reason: "RFC 5321 section 5.1: lower preference first",
			mx:    mxs(30, "c.example.", 10, "a.example.", 20, "b.example."),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a), "b.example": ha(v4b), "c.example": ha(v4c)},
			want:  want{hosts: []string{"a.example", "b.example", "c.example"}, attempts: []string{v4a, v4b, v4c}},
		},
		{
			name: "implicit-mx", reason: "no MX records: the domain itself at preference 0",
			domain: "Example.COM.",
			addrs:  map[string]mxorder.HostAddrs{"example.com": ha(v4a, v6a)},
			want:   want{hosts: []string{"example.com"}},
			check: func(t *testing.T, p *mxorder.Plan) {
				if !p.Implicit || p.Hosts[0].Preference != 0 {
					t.Errorf("Implicit = %v, preference %d; want true, 0", p.Implicit, p.Hosts[0].Preference)
				}
			},
		},
		{
			name: "implicit-mx-no-address", reason: "no MX and no address records: permanent",
			addrs: map[string]mxorder.HostAddrs{"example.com": {Err4: notfound, Err6: notfound}},
			want:  want{err: mxorder.ErrNoSuchDomain},
		},
		{
			name: "implicit-mx-lookup-failed", reason: "a temporary failure is never permanent",
			addrs: map[string]mxorder.HostAddrs{"example.com": {Err4: servfail, Err6: notfound}},
			want:  want{err: mxorder.ErrNoReachableMX},
			check: func(t *testing.T, p *mxorder.Plan) {
				if len(p.LookupErrors) != 1 || !p.LookupErrors[0].Temporary || p.LookupErrors[0].Network != "ip4" {
					t.Errorf("LookupErrors = %+v; want one temporary ip4", p.LookupErrors)
				}
			},
		},
		{
			name: "null-mx", reason: "RFC 7505",
			mx:   mxs(0, "."),
			want: want{err: mxorder.ErrNullMX},
		},
		{
			name: "empty-exchange-is-invalid", reason: "RFC 7505: only \".\" is a null MX; an empty exchange names nothing",
			mx:   mxs(0, ""),
			want: want{err: mxorder.ErrNoReachableMX, skips: []string{" invalid-name"}},
			check: func(t *testing.T, p *mxorder.Plan) {
				if p.NullMX {
					t.Error("NullMX = true for an empty exchange")
				}
			},
		},
		{
			name: "empty-exchange-beside-a-host", reason: "an empty exchange is skipped, the other MX used",
			mx:    mxs(0, "", 10, "a.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a)},
			want:  want{hosts: []string{"a.example"}, skips: []string{" invalid-name"}, noSkips: []string{". null-mx"}},
		},
		{
			name: "null-mx-nonzero-preference", reason: "a lone \".\" names no host whatever its preference",
			mx:   mxs(10, "."),
			want: want{err: mxorder.ErrNullMX},
		},
		{
			name: "null-mx-mixed-ignored", reason: "default policy: ignore the \".\"",
			mx:    mxs(0, ".", 10, "a.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a)},
			want:  want{hosts: []string{"a.example"}, skips: []string{". null-mx"}},
		},
		{
			name: "null-mx-mixed-fail", reason: "NullMXFail: any \".\" is a null MX",
			p:     mxorder.Planner{NullMX: mxorder.NullMXFail},
			mx:    mxs(0, ".", 10, "a.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a)},
			want:  want{err: mxorder.ErrNullMX},
		},
		{
			name: "ip-literal-exchange", reason: "RFC 5321 section 5.1: exchanges are host names",
			mx:    mxs(10, "192.0.2.1", 20, "[2001:db8::1]", 30, "a.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a), "192.0.2.1": ha(v4b)},
			want:  want{hosts: []string{"a.example"}, skips: []string{"192.0.2.1 invalid-name", "[2001:db8::1] invalid-name"}},
		},
		{
			name: "only-invalid-exchanges",
			mx:   mxs(10, "192.0.2.1", 20, "bad_name.example"),
			want: want{err: mxorder.ErrNoReachableMX, skips: []string{"bad_name.example invalid-name"}},
		},
		{
			name: "idna", reason: "U-labels become A-labels; map keyed by canonical name",
			domain: "Bücher.Example.",
			mx:     mxs(10, "MX.Bücher.example."),
			addrs:  map[string]mxorder.HostAddrs{"mx.xn--bcher-kva.example": ha(v4a)},
			want:   want{hosts: []string{"mx.xn--bcher-kva.example"}},
			check: func(t *testing.T, p *mxorder.Plan) {
				if p.Domain != "xn--bcher-kva.example" {
					t.Errorf("Domain = %q; want xn--bcher-kva.example", p.Domain)
				}
			},
		},
		{
			name: "map-keyed-as-in-record", reason: "addrs may use the exchange exactly as written",
			mx:    mxs(10, "MX.Example."),
			addrs: map[string]mxorder.HostAddrs{"MX.Example.": ha(v4a)},
			want:  want{hosts: []string{"mx.example"}, attempts: []string{v4a}},
		},
		{
			name: "duplicate-host", reason: "a host listed twice keeps its best preference",
			mx:    mxs(20, "a.example", 10, "A.example."),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a)},
			want:  want{hosts: []string{"a.example"}, skips: []string{"a.example duplicate"}},
			check: func(t *testing.T, p *mxorder.Plan) {
				if p.Hosts[0].Preference != 10 {
					t.Errorf("preference = %d; want 10", p.Hosts[0].Preference)
				}
			},
		},
		{
			name: "duplicate-address", reason: "an address shared by two hosts is tried once",
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a), "b.example": ha(v4a, v4b)},
			want:  want{attempts: []string{v4a, v4b}, skips: []string{"b.example 192.0.2.1 duplicate"}},
		},
		{
			name: "mx-limit", reason: "hostile DNS: only MaxMX records, the best ones",
			p:     mxorder.Planner{MaxMX: 2},
			mx:    mxs(40, "d.example", 10, "a.example", 30, "c.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a), "b.example": ha(v4b), "c.example": ha(v4c), "d.example": ha(v6a)},
			want:  want{hosts: []string{"a.example", "b.example"}, skips: []string{"c.example mx-limit", "d.example mx-limit"}},
			check: func(t *testing.T, p *mxorder.Plan) {
				if p.Truncated.MX != 2 {
					t.Errorf("Truncated.MX = %d; want 2", p.Truncated.MX)
				}
			},
		},
		{
			name: "host-address-limit", reason: "hostile DNS: only MaxHostAddrs addresses per host",
			p:     mxorder.Planner{MaxHostAddrs: 2},
			mx:    mxs(10, "a.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a, v4b, v4c, v6a, v6b)},
			want:  want{skips: []string{"a.example host-address-limit"}},
			check: func(t *testing.T, p *mxorder.Plan) {
				if p.Truncated.HostAddrs != 3 || len(p.Hosts[0].Addrs) != 2 {
					t.Errorf("Truncated.HostAddrs = %d, %d addrs; want 3, 2", p.Truncated.HostAddrs, len(p.Hosts[0].Addrs))
				}
			},
		},
		{
			name: "address-limit", reason: "Postfix smtp_mx_address_limit",
			p:     mxorder.Planner{MaxAddresses: 2},
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a), "b.example": ha(v4b, v4c)},
			want:  want{attempts: []string{v4a, v4b}, skips: []string{"b.example 192.0.2.3 address-limit"}},
			check: func(t *testing.T, p *mxorder.Plan) {
				if p.Truncated.Attempts != 1 {
					t.Errorf("Truncated.Attempts = %d; want 1", p.Truncated.Attempts)
				}
			},
		},
		{
			name: "unbalanced", reason: "without balancing a run of IPv6 uses the budget",
			p:     mxorder.Planner{MaxAddresses: 3, Prefer: mxorder.IPv6},
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v6a, v6b, v6c), "b.example": ha(v4a, v4b)},
			want:  want{attempts: []string{v6a, v6b, v6c}},
		},
		{
			name: "balanced", reason: "Postfix smtp_balance_inet_protocols: both families get budget",
			p:     mxorder.Planner{MaxAddresses: 3, Balance: true, Prefer: mxorder.IPv6},
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v6a, v6b, v6c), "b.example": ha(v4a, v4b)},
			want:  want{attempts: []string{v6a, v6b, v4a}},
		},
		{
			name: "balanced-short-family", reason: "a family with fewer addresses than half leaves the rest",
			p:     mxorder.Planner{MaxAddresses: 4, Balance: true, Prefer: mxorder.IPv6},
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v6a, v6b, v6c), "b.example": ha(v4a)},
			want:  want{attempts: []string{v6a, v6b, v6c, v4a}},
		},
		{
			name: "prefer-ipv4", reason: "operators' family preference within a host",
			p:     mxorder.Planner{Prefer: mxorder.IPv4},
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v6a, v4a, v6b), "b.example": ha(v6c)},
			want:  want{attempts: []string{v4a, v6a, v6b, v6c}},
		},
		{
			name: "prefer-ipv6-no-reordering-of-hosts", reason: "RFC 3974 section 3 step 5: never across preferences",
			p:     mxorder.Planner{Prefer: mxorder.IPv6},
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a), "b.example": ha(v6a)},
			want:  want{attempts: []string{v4a, v6a}},
		},
		{
			name: "family-skip-costs-no-budget", reason: "RFC 3974 section 3: skipped hosts do not consume attempts",
			p:     mxorder.Planner{Families: mxorder.IPv4, MaxAddresses: 1},
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v6a, v6b), "b.example": ha(v4a)},
			want:  want{hosts: []string{"b.example"}, attempts: []string{v4a}, skips: []string{"a.example family"}, noSkips: []string{"b.example 192.0.2.1 address-limit"}},
		},
		{
			name: "no-address", reason: "an exchange without records is skipped, the next is tried",
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": {Err4: notfound, Err6: notfound}, "b.example": ha(v4a)},
			want:  want{hosts: []string{"b.example"}, skips: []string{"a.example no-address"}},
		},
		{
			name: "lookup-failed-host", reason: "failed lookups skip the host and are reported",
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": {Err4: servfail, Err6: servfail}, "b.example": ha(v4a)},
			want:  want{hosts: []string{"b.example"}, skips: []string{"a.example lookup-failed"}},
			check: func(t *testing.T, p *mxorder.Plan) {
				if len(p.LookupErrors) != 2 {
					t.Errorf("LookupErrors = %+v; want 2", p.LookupErrors)
				}
			},
		},
		{
			name: "one-family-failed", reason: "one family's failure does not hide the other's addresses",
			mx:    mxs(10, "a.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": {Addrs: ha(v4a).Addrs, Err6: servfail}},
			want:  want{attempts: []string{v4a}},
			check: func(t *testing.T, p *mxorder.Plan) {
				if len(p.LookupErrors) != 1 || p.LookupErrors[0].Network != "ip6" {
					t.Errorf("LookupErrors = %+v; want one ip6", p.LookupErrors)
				}
			},
		},
		{
			name: "all-failed-temporary", reason: "queue, don't bounce, when lookups failed",
			p:     mxorder.Planner{Families: mxorder.IPv4},
			mx:    mxs(10, "a.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": {Err4: servfail, Err6: notfound}},
			check: func(t *testing.T, p *mxorder.Plan) {},
			want:  want{err: mxorder.ErrNoReachableMX},
		},
		{
			name: "no-route", reason: "Sources has the family but no route to this address",
			p: mxorder.Planner{Sources: sourcesFunc(func(a netip.Addr) addrselect.Source {
				if a == netip.MustParseAddr(v4a) {
					return addrselect.Source{}
				}
				return addrselect.Source{Addr: netip.MustParseAddr("198.51.100.7")}
			})},
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a), "b.example": ha(v4b)},
			want:  want{hosts: []string{"b.example"}, skips: []string{"a.example 192.0.2.1 no-route", "a.example no-route"}},
		},
		{
			name: "ipv4-mapped", reason: "IPv4-mapped addresses are IPv4",
			p:     mxorder.Planner{Families: mxorder.IPv4},
			mx:    mxs(10, "a.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha("::ffff:192.0.2.1")},
			want:  want{attempts: []string{v4a}},
		},
		{
			name: "self-at-equal-preference", reason: "equal preference to self is dropped too",
			p:     mxorder.Planner{LocalNames: []string{"b.example"}},
			mx:    mxs(10, "a.example", 20, "b.example", 20, "c.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a), "b.example": ha(v4b), "c.example": ha(v4c)},
			want:  want{hosts: []string{"a.example"}, skips: []string{"b.example self", "c.example not-better-than-self"}},
		},
		{
			name: "self-twice-best-counts", reason: "the best-preference self record decides",
			p:     mxorder.Planner{LocalNames: []string{"b.example"}, LocalAddrs: []netip.Addr{netip.MustParseAddr(v4c)}},
			mx:    mxs(10, "a.example", 20, "c.example", 30, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha(v4a), "b.example": ha(v4b), "c.example": ha(v4c)},
			want:  want{hosts: []string{"a.example"}, skips: []string{"c.example self", "b.example not-better-than-self"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			domain := tt.domain
			if domain == "" {
				domain = "example.com"
			}
			plan, err := tt.p.Build(context.Background(), domain, tt.mx, tt.addrs)
			checkPlan(t, plan, err, tt.want)
			if tt.check != nil && plan != nil {
				tt.check(t, plan)
			}
		})
	}
}

type sourcesFunc func(netip.Addr) addrselect.Source

func (f sourcesFunc) Source(_ context.Context, a netip.Addr) (addrselect.Source, error) {
	return f(a), nil
}

func TestTemporaryUnreachable(t *testing.T) {
	p := mxorder.Planner{Families: mxorder.IPv4}
	_, err := p.Build(context.Background(), "example.com", mxs(10, "a.example"),
		map[string]mxorder.HostAddrs{"a.example": {Err4: servfail, Err6: notfound}})
	var ue *mxorder.UnreachableError
	if !errors.As(err, &ue) || !ue.Temporary {
		t.Fatalf("err = %#v; want temporary *UnreachableError", err)
	}
	// A failure in a family the sender cannot use is no reason to wait,
	// whether the families are configured or found through Sources.
	for _, p := range []mxorder.Planner{{Families: mxorder.IPv4}, {Sources: relay4}} {
		_, err = p.Build(context.Background(), "example.com", mxs(10, "a.example"),
			map[string]mxorder.HostAddrs{"a.example": {Err4: notfound, Err6: servfail}})
		if !errors.As(err, &ue) || ue.Temporary || ue.SenderFamilies != mxorder.IPv4 {
			t.Fatalf("err = %#v; want permanent *UnreachableError for an IPv4 sender", err)
		}
	}
}

func TestNames(t *testing.T) {
	good := func(in, want string) {
		t.Helper()
		got, err := mxorder.NormalizeName(in)
		if err != nil || got != want {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := func(in, reason string) {
		t.Helper()
		_, err := mxorder.NormalizeName(in)
		var ne *mxorder.NameError
		if !errors.As(err, &ne) || !errors.Is(err, mxorder.ErrInvalidName) || ne.Name != in || !strings.Contains(ne.Reason, reason) {
			t.Errorf("NormalizeName(%q) err = %v; want *NameError with reason containing %q", in, err, reason)
		}
	}
	good("Example.COM.", "example.com")
	good("mx1.example.com", "mx1.example.com")
	good("Bücher.example", "xn--bcher-kva.example")
	good("xn--bcher-kva.example.", "xn--bcher-kva.example")
	good("localhost", "localhost")
	good(strings.Repeat("a", 63)+".example", strings.Repeat("a", 63)+".example")
	bad("", "empty")
	bad(".", "empty")
	bad("192.0.2.1", "literal")
	bad("2001:db8::1", "literal")
	bad("[192.0.2.1]", "literal")
	bad("1.2.3", "all-numeric")
	bad("exa mple.com", "position 3")
	bad("under_score.example", "position 5")
	bad("a..example", "empty label")
	bad("-a.example", "hyphen")
	bad(strings.Repeat("a", 64)+".example", "63")
	bad(strings.Repeat("abcdefghi.", 26)+"com", "253")
	bad("bad\xffutf8.example", "UTF-8")
	bad("xn--zz.example", "IDNA")
}

func TestPlanErrors(t *testing.T) {
	ctx := context.Background()
	r := mxordertest.New().
		MX("servfail.example", 10, "mx.servfail.example").ServFail("servfail.example", mxordertest.TypeMX).
		NoData("nodata.example").Host("nodata.example", v4a).
		NullMX("null.example").
		CNAME("alias.example", "target.example").MX("target.example", 5, "mx.target.example").Host("mx.target.example", v6a)
	p := mxorder.Planner{Resolver: r}

	_, err := p.Plan(ctx, "servfail.example")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsTemporary {
		t.Errorf("Plan(servfail) err = %v; want a temporary *net.DNSError", err)
	}
	if _, err := p.Plan(ctx, "nxdomain.example"); !errors.Is(err, mxorder.ErrNoSuchDomain) {
		t.Errorf("Plan(nxdomain) err = %v; want ErrNoSuchDomain", err)
	}
	plan, err := p.Plan(ctx, "nodata.example")
	if err != nil || !plan.Implicit || !slices.Equal(attemptAddrs(plan), []string{v4a}) {
		t.Errorf("Plan(nodata) = %+v, %v; want implicit MX with %s", plan, err, v4a)
	}
	if _, err := p.Plan(ctx, "null.example"); !errors.Is(err, mxorder.ErrNullMX) {
		t.Errorf("Plan(null) err = %v; want ErrNullMX", err)
	}
	// RFC 7505 section 3: no fallback to the domain's address records.
	if q := r.Queries(); slices.ContainsFunc(q, func(q mxordertest.Query) bool { return q.Name == "null.example" && q.Type != mxordertest.TypeMX }) {
		t.Errorf("null MX domain: address queries made: %v", q)
	}
	plan, err = p.Plan(ctx, "alias.example")
	if err != nil || !slices.Equal(hostNames(plan), []string{"mx.target.example"}) {
		t.Errorf("Plan(alias) = %v, %v; want mx.target.example", plan, err)
	}
	if _, err := p.Plan(ctx, "bad name"); !errors.Is(err, mxorder.ErrInvalidName) {
		t.Errorf("Plan(bad name) err = %v; want ErrInvalidName", err)
	}
	// Queries are absolute: no search domain can apply.
	if r.Count(mxordertest.TypeMX, "nodata.example") != 1 {
		t.Errorf("MX queries for nodata.example = %d; want 1", r.Count(mxordertest.TypeMX, "nodata.example"))
	}
}

// TestOneFamilyTimeout: a slow AAAA answer that times out must not hide
// the A answer, and the plan says which lookup failed.
func TestOneFamilyTimeout(t *testing.T) {
	r := studyDNS().Delay("mx10.example.org", time.Minute, mxordertest.TypeAAAA)
	p := mxorder.Planner{Resolver: r, LookupTimeout: 50 * time.Millisecond}
	start := time.Now()
	plan, err := p.Plan(context.Background(), "example.org")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Plan took %v; want about the lookup timeout", d)
	}
	if got := plan.Hosts[0]; got.Name != "mx10.example.org" || got.Families != mxorder.IPv4 {
		t.Errorf("first host = %s %v; want mx10.example.org with its IPv4 address", got.Name, got.Families)
	}
	var found bool
	for _, le := range plan.LookupErrors {
		if le.Host == "mx10.example.org" && le.Network == "ip6" && le.Timeout && le.Temporary {
			found = true
		}
	}
	if !found {
		t.Errorf("LookupErrors = %+v; want an ip6 timeout for mx10", plan.LookupErrors)
	}
}

// TestConcurrencyBound: at most Concurrency hosts (two lookups each) are
// resolved at once, and they are resolved in parallel.
func TestConcurrencyBound(t *testing.T) {
	r := mxordertest.New()
	for i := range 12 {
		h := fmt.Sprintf("mx%d.example", i)
		r.MX("many.example", uint16(i), h).Host(h, fmt.Sprintf("192.0.2.%d", i+1)).Delay(h, 20*time.Millisecond)
	}
	cr := &countingResolver{Resolver: r}
	p := mxorder.Planner{Resolver: cr, Concurrency: 3}
	plan, err := p.Plan(context.Background(), "many.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Hosts) != 12 {
		t.Errorf("hosts = %d; want 12", len(plan.Hosts))
	}
	if peak := cr.peak.Load(); peak > 6 || peak < 2 {
		t.Errorf("peak lookups in flight = %d; want 2..6 (3 hosts x A+AAAA)", peak)
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := mxorder.Planner{Resolver: studyDNS()}
	if _, err := p.Plan(ctx, "example.org"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Plan with a cancelled context: err = %v; want context.Canceled", err)
	}
}

// TestSelectorOrder: within a host, addresses follow the Selector's
// order (RFC 5321 section 5.1 via RFC 6724).
func TestSelectorOrder(t *testing.T) {
	addrs := ha("2002:c000:201::1", v4a, "2001:db8:1::5", "2001::5", v6b)
	src := relay46
	var dsts []addrselect.Destination
	for _, a := range addrs.Addrs {
		s, _ := src.Source(context.Background(), a)
		dsts = append(dsts, addrselect.Destination{Addr: a, Source: s})
	}
	var sel *addrselect.Selector
	sel.SortDestinations(dsts)
	var want []string
	for _, d := range dsts {
		want = append(want, d.Addr.String())
	}
	p := mxorder.Planner{Sources: src, Selector: sel}
	plan, err := p.Build(context.Background(), "example.com", mxs(10, "a.example"), map[string]mxorder.HostAddrs{"a.example": addrs})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, attemptAddrs(plan)); d != "" {
		t.Errorf("attempts (-selector +plan):\n%s", d)
	}
	for _, a := range plan.Attempts() {
		if !a.Source.IsValid() || mxorder.FamilyOf(a.Source) != mxorder.FamilyOf(a.Addr) {
			t.Errorf("attempt %v has source %v", a.Addr, a.Source)
		}
	}
}

// partialResolver returns MX records together with an error, as
// *net.Resolver does when it drops invalid records.
type partialResolver struct{ mxorder.Resolver }

func (r partialResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	mx, _ := r.Resolver.LookupMX(ctx, name)
	return mx, &net.DNSError{Err: "MX target is invalid", Name: name}
}

func TestMXPartialError(t *testing.T) {
	p := mxorder.Planner{Resolver: partialResolver{studyDNS()}}
	plan, err := p.Plan(context.Background(), "example.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Hosts) != 3 || len(plan.LookupErrors) != 1 || plan.LookupErrors[0].Network != "mx" {
		t.Errorf("hosts %v, lookup errors %+v; want 3 hosts and one mx error", hostNames(plan), plan.LookupErrors)
	}
}

// TestConcurrentUse: one Planner shared by goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	p := &mxorder.Planner{Resolver: studyDNS(), Sources: relay4, Seeded: true, Seed: 3}
	want, err := p.Plan(context.Background(), "example.org")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := p.Plan(context.Background(), "example.org")
			if err == nil && !slices.Equal(attemptAddrs(got), attemptAddrs(want)) {
				err = fmt.Errorf("attempts %v; want %v", attemptAddrs(got), attemptAddrs(want))
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestWithHostSources runs the study with addrselect.Host descriptions
// as the local host instead of the test's fake Sources.
func TestWithHostSources(t *testing.T) {
	tests := []struct {
		name, host string
		want       want
	}{
		{
			name: "ipv4-only-relay",
			host: "198.51.100.7/24; route v4 default",
			want: want{hosts: []string{"mx10.example.org", "mx30.example.org"}, attempts: []string{"192.0.2.10", "192.0.2.30"}, skips: []string{"mx20.example.org family"}},
		},
		{
			name: "ipv6-only-relay",
			host: "2001:db8:ffff::7/64; route v6 default",
			want: want{hosts: []string{"mx10.example.org", "mx20.example.org", "mx30.example.org"}, attempts: []string{"2001:db8::10", "2001:db8::20", "2001:db8::30"}},
		},
		{
			name: "ipv6-route-to-one-prefix",
			host: "198.51.100.7/24, 2001:db8:ffff::7/64; route v4 default; route v6 2001:db8::20/128",
			want: want{
				hosts:    []string{"mx10.example.org", "mx20.example.org", "mx30.example.org"},
				attempts: []string{"192.0.2.10", "2001:db8::20", "192.0.2.30"},
				skips:    []string{"mx10.example.org 2001:db8::10 no-route", "mx30.example.org 2001:db8::30 no-route"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := addrselect.ParseHost(tt.host)
			if err != nil {
				t.Fatal(err)
			}
			p := mxorder.Planner{Resolver: studyDNS(), Sources: h}
			plan, err := p.Plan(context.Background(), "example.org")
			checkPlan(t, plan, err, tt.want)
		})
	}
}

func TestPlanString(t *testing.T) {
	p := mxorder.Planner{Resolver: studyDNS(), Sources: relay4}
	plan, err := p.Plan(context.Background(), "example.org")
	if err != nil {
		t.Fatal(err)
	}
	want := `example.org: sender ipv4, domain dual
  try 10 mx10.example.org 192.0.2.10 from 198.51.100.7
  try 30 mx30.example.org 192.0.2.30 from 198.51.100.7
  skip 10 mx10.example.org 2001:db8::10: family (sender cannot use IPv6)
  skip 20 mx20.example.org 2001:db8::20: family (sender cannot use IPv6)
  skip 20 mx20.example.org: family (host is IPv6-only, sender is IPv4-only)
  skip 30 mx30.example.org 2001:db8::30: family (sender cannot use IPv6)`
	if d := cmp.Diff(want, plan.String()); d != "" {
		t.Errorf("String (-want +got):\n%s", d)
	}
}

func TestBalanceIPv4First(t *testing.T) {
	p := mxorder.Planner{MaxAddresses: 3, Balance: true, Prefer: mxorder.IPv4}
	plan, err := p.Build(context.Background(), "example.com", mxs(10, "a.example"),
		map[string]mxorder.HostAddrs{"a.example": ha(v6a, v6b, v6c, v4a, v4b, v4c)})
	checkPlan(t, plan, err, want{
		attempts: []string{v4a, v4b, v6a},
		skips:    []string{"a.example 192.0.2.3 address-limit", "a.example 2001:db8::2 address-limit", "a.example 2001:db8::3 address-limit"},
	})
}

func TestMXLookupTimeout(t *testing.T) {
	r := studyDNS().Delay("example.org", time.Minute, mxordertest.TypeMX)
	p := mxorder.Planner{Resolver: r, LookupTimeout: 30 * time.Millisecond}
	_, err := p.Plan(context.Background(), "example.org")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsTimeout || !de.IsTemporary {
		t.Fatalf("err = %v; want a temporary timeout *net.DNSError", err)
	}
	if errors.Is(err, mxorder.ErrNoSuchDomain) || errors.Is(err, mxorder.ErrNoReachableMX) {
		t.Errorf("a timeout reported as %v", err)
	}
}

// failingSources fails every question, as a Sources does whose context
// ended or whose routing table cannot be read.
type failingSources struct{}

var errNoRoutes = errors.New("routing table unreadable")

func (failingSources) Source(context.Context, netip.Addr) (addrselect.Source, error) {
	return addrselect.Source{}, errNoRoutes
}

// TestErrorsNameTheDomain: every error Build returns says which domain
// it is about and still matches its sentinel or cause.
func TestErrorsNameTheDomain(t *testing.T) {
	one := []*net.MX{{Host: "mx.example.com.", Pref: 10}}
	addrs := map[string]mxorder.HostAddrs{"mx.example.com": ha("192.0.2.1")}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		p     mxorder.Planner
		ctx   context.Context
		mx    []*net.MX
		addrs map[string]mxorder.HostAddrs
		want  error
	}{
		{"null-mx", mxorder.Planner{}, context.Background(), []*net.MX{{Host: ".", Pref: 0}}, nil, mxorder.ErrNullMX},
		{"no-such-domain", mxorder.Planner{}, context.Background(), nil, nil, mxorder.ErrNoSuchDomain},
		{"no-primary-relay", mxorder.Planner{LocalNames: []string{"MX.example.com"}}, context.Background(), one, addrs, mxorder.ErrNoPrimaryRelay},
		{"sources-fail", mxorder.Planner{Families: mxorder.DualStack, Sources: failingSources{}}, context.Background(), one, addrs, errNoRoutes},
		{"cancelled", mxorder.Planner{}, cancelled, one, addrs, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.Build(tt.ctx, "Example.COM", tt.mx, tt.addrs)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v; want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), `"example.com"`) {
				t.Errorf("error %q does not name the domain", err)
			}
		})
	}
}
