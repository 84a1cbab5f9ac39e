package mxorder_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// twoDualMX: mx10 and mx20 of example.org, both dual-stack; v4.example
// has one IPv4-only MX host.
func twoDualMX() *mxordertest.Resolver {
	return mxordertest.New().
		MX("example.org", 10, "mx10.example.org").
		MX("example.org", 20, "mx20.example.org").
		Host("mx10.example.org", "192.0.2.10", "2001:db8::10").
		Host("mx20.example.org", "192.0.2.20", "2001:db8::20").
		MX("v4.example", 10, "mx.v4.example").
		Host("mx.v4.example", "192.0.2.40")
}

// summary writes each attempt as "addr reason", with "<source" when the
// source is not the sender's usual one.
func summary(plan *mxorder.Plan) []string {
	out := []string{}
	for _, a := range plan.Attempts() {
		s := a.Addr.String() + " " + a.Reason.String()
		if a.Source.IsValid() && a.Source != relay46.v4 && a.Source != relay46.v6 {
			s += " <" + a.Source.String()
		}
		out = append(out, s)
	}
	return out
}

func past(addr string, f mxorder.FailureClass) mxorder.PastAttempt {
	return mxorder.PastAttempt{Addr: netip.MustParseAddr(addr), Failure: f}
}

func TestFamilyStrategies(t *testing.T) {
	tests := []struct {
		name    string
		reason  string
		p       mxorder.Planner
		domain  string
		hist    mxorder.History
		want    []string
		skipped []string // "addr reason" of address skips beyond family
		wantErr error
	}{
		{
			name: "no-history", reason: "MX order, IPv6 first by RFC 6724 precedence",
			want: []string{"2001:db8::10 mx-order", "192.0.2.10 mx-order", "2001:db8::20 mx-order", "192.0.2.20 mx-order"},
		},
		{
			name: "prefer-ipv4", reason: "Postfix smtp_address_preference = ipv4: IPv4 first within each host, IPv6 as fallback",
			p:    mxorder.Planner{Prefer: mxorder.IPv4},
			want: []string{"192.0.2.10 preferred-family", "2001:db8::10 fallback-family", "192.0.2.20 preferred-family", "2001:db8::20 fallback-family"},
		},
		{
			name: "ipv6-first-attempt-only", reason: "Stalwart-style: IPv6 only on the first attempt",
			p:       mxorder.Planner{AttemptFamilies: []mxorder.Family{mxorder.IPv6, mxorder.DualStack}},
			hist:    mxorder.History{Attempt: 1},
			want:    []string{"2001:db8::10 attempt-family", "2001:db8::20 attempt-family"},
			skipped: []string{"192.0.2.10 attempt-family", "192.0.2.20 attempt-family"},
		},
		{
			name: "ipv6-first-attempt-then-both", reason: "the last entry applies to every later attempt",
			p:    mxorder.Planner{AttemptFamilies: []mxorder.Family{mxorder.IPv6, mxorder.DualStack}},
			hist: mxorder.History{Attempt: 5},
			want: []string{"2001:db8::10 mx-order", "192.0.2.10 mx-order", "2001:db8::20 mx-order", "192.0.2.20 mx-order"},
		},
		{
			name: "attempt-family-none-left", reason: "an IPv4-only domain on an IPv6-only attempt: deferred, not failed",
			p:      mxorder.Planner{AttemptFamilies: []mxorder.Family{mxorder.IPv6, mxorder.DualStack}},
			domain: "v4.example", hist: mxorder.History{Attempt: 1},
			want: []string{}, skipped: []string{"192.0.2.40 attempt-family"}, wantErr: mxorder.ErrFamilyDeferred,
		},
		{
			name: "switch-after-ipv6-connect-failure", reason: "mox: the other family first after a connection failure",
			p:    mxorder.Planner{SwitchFamily: true},
			hist: mxorder.History{Attempt: 2, Past: []mxorder.PastAttempt{past("2001:db8::10", mxorder.FailureConnect)}},
			want: []string{"192.0.2.10 switched-family", "2001:db8::10 fallback-family", "192.0.2.20 switched-family", "2001:db8::20 fallback-family"},
		},
		{
			name: "switch-after-ipv4-policy-rejection", reason: "a per-family blocklist: IPv6 first",
			p:    mxorder.Planner{SwitchFamily: true, Prefer: mxorder.IPv4},
			hist: mxorder.History{Attempt: 2, Past: []mxorder.PastAttempt{past("192.0.2.10", mxorder.FailurePolicy)}},
			want: []string{"2001:db8::10 switched-family", "192.0.2.10 fallback-family", "2001:db8::20 switched-family", "192.0.2.20 fallback-family"},
		},
		{
			name: "no-switch-after-plain-rejection", reason: "a rejection that is not about policy says nothing about the family",
			p:    mxorder.Planner{SwitchFamily: true},
			hist: mxorder.History{Attempt: 2, Past: []mxorder.PastAttempt{past("2001:db8::10", mxorder.FailureRejected)}},
			want: []string{"2001:db8::10 mx-order", "192.0.2.10 mx-order", "2001:db8::20 mx-order", "192.0.2.20 mx-order"},
		},
		{
			name: "greylist-same-address-and-source", reason: "mox: the greylisted address first, from the same source",
			p: mxorder.Planner{GreylistRetry: true},
			hist: mxorder.History{Attempt: 2, Past: []mxorder.PastAttempt{
				past("2001:db8::10", mxorder.FailureConnect),
				{Addr: netip.MustParseAddr("192.0.2.20"), Source: netip.MustParseAddr("198.51.100.9"), Failure: mxorder.FailureGreylisted},
			}},
			want: []string{"192.0.2.20 greylist-retry <198.51.100.9", "2001:db8::10 mx-order", "192.0.2.10 mx-order", "2001:db8::20 mx-order"},
		},
		{
			name: "greylisted-address-gone", reason: "an address no longer in DNS cannot be retried: MX order",
			p:    mxorder.Planner{GreylistRetry: true},
			hist: mxorder.History{Attempt: 2, Past: []mxorder.PastAttempt{past("192.0.2.99", mxorder.FailureGreylisted)}},
			want: []string{"2001:db8::10 mx-order", "192.0.2.10 mx-order", "2001:db8::20 mx-order", "192.0.2.20 mx-order"},
		},
		{
			name: "three-failed-attempts", reason: "IPv6 connect failure, IPv4 timeout, IPv6 policy rejection: the last decides, IPv4 first",
			p: mxorder.Planner{SwitchFamily: true, GreylistRetry: true, AttemptFamilies: []mxorder.Family{mxorder.IPv6, mxorder.DualStack}},
			hist: mxorder.History{Attempt: 4, Past: []mxorder.PastAttempt{
				past("2001:db8::10", mxorder.FailureConnect),
				past("192.0.2.10", mxorder.FailureTimeout),
				past("2001:db8::20", mxorder.FailurePolicy),
			}},
			want: []string{"192.0.2.10 switched-family", "2001:db8::10 fallback-family", "192.0.2.20 switched-family", "2001:db8::20 fallback-family"},
		},
		{
			name: "three-failed-attempts-greylist-wins", reason: "greylisted earlier, then two failures: the greylisted address still comes first",
			p: mxorder.Planner{SwitchFamily: true, GreylistRetry: true},
			hist: mxorder.History{Attempt: 4, Past: []mxorder.PastAttempt{
				past("2001:db8::20", mxorder.FailureGreylisted),
				past("192.0.2.10", mxorder.FailureTimeout),
				past("2001:db8::10", mxorder.FailureConnect),
			}},
			want: []string{"2001:db8::20 greylist-retry", "192.0.2.10 switched-family", "2001:db8::10 fallback-family", "192.0.2.20 switched-family"},
		},
		{
			name: "switch-with-balanced-limit", reason: "Postfix smtp_mx_address_limit = 2 with smtp_balance_inet_protocols: one address of each family, the switched one first",
			p:       mxorder.Planner{SwitchFamily: true, MaxAddresses: 2, Balance: true},
			hist:    mxorder.History{Attempt: 2, Past: []mxorder.PastAttempt{past("2001:db8::10", mxorder.FailureTimeout)}},
			want:    []string{"192.0.2.10 switched-family", "2001:db8::10 fallback-family"},
			skipped: []string{"192.0.2.20 address-limit", "2001:db8::20 address-limit"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.Resolver, p.Sources, p.Seeded, p.Seed = twoDualMX(), relay46, true, 1
			domain := tt.domain
			if domain == "" {
				domain = "example.org"
			}
			st := &mxorder.DeliveryState{History: tt.hist}
			plan, err := p.PlanWith(context.Background(), domain, st)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("PlanWith(%s) error = %v; want %v (%s)", domain, err, tt.wantErr, tt.reason)
			}
			if d := cmp.Diff(tt.want, summary(plan)); d != "" {
				t.Errorf("attempts (-want +got) (%s):\n%s", tt.reason, d)
			}
			var skipped []string
			for _, s := range plan.Skipped {
				if s.Addr.IsValid() && s.Reason != mxorder.SkipFamily {
					skipped = append(skipped, s.Addr.String()+" "+s.Reason.String())
				}
			}
			if d := cmp.Diff(tt.skipped, skipped); d != "" {
				t.Errorf("skipped (-want +got):\n%s", d)
			}
			for _, a := range plan.Attempts() {
				if a.Reason > mxorder.ReasonMXOrder && a.Detail == "" {
					t.Errorf("attempt %v (%v) has no detail", a.Addr, a.Reason)
				}
			}
			// Deterministic for a given seed and history.
			again, _ := p.PlanWith(context.Background(), domain, st)
			if d := cmp.Diff(summary(plan), summary(again)); d != "" {
				t.Errorf("second plan differs (-first +second):\n%s", d)
			}
		})
	}
}

// TestRetryShuffle checks that the first attempt shuffles as a plan
// without history does, that later attempts are deterministic too, and
// that over several attempts both equal-preference hosts come first.
func TestRetryShuffle(t *testing.T) {
	res := mxordertest.New()
	for _, h := range []string{"a", "b", "c", "d"} {
		res.MX("eq.example", 10, h+".eq.example").Host(h+".eq.example", "192.0.2."+map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}[h])
	}
	p := mxorder.Planner{Resolver: res, Families: mxorder.IPv4, Seeded: true, Seed: 7}
	ctx := context.Background()
	plain, err := p.Plan(ctx, "eq.example")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := p.PlanWith(ctx, "eq.example", &mxorder.DeliveryState{History: mxorder.History{Attempt: 1}})
	if d := cmp.Diff(hostOrder(plain), hostOrder(first)); d != "" {
		t.Errorf("attempt 1 differs from a plan without history (-plain +attempt1):\n%s", d)
	}
	firsts := map[string]bool{}
	for n := 1; n <= 8; n++ {
		st := &mxorder.DeliveryState{History: mxorder.History{Attempt: n}}
		a, _ := p.PlanWith(ctx, "eq.example", st)
		b, _ := p.PlanWith(ctx, "eq.example", st)
		if hostOrder(a) != hostOrder(b) {
			t.Errorf("attempt %d: %s then %s", n, hostOrder(a), hostOrder(b))
		}
		if a.Attempt != n {
			t.Errorf("Plan.Attempt = %d; want %d", a.Attempt, n)
		}
		firsts[a.Hosts[0].Name] = true
	}
	if len(firsts) < 2 {
		t.Errorf("8 attempts all started at %v; retries should rotate among equal preferences", firsts)
	}
}

func hostOrder(p *mxorder.Plan) string {
	var names []string
	for _, h := range p.Hosts {
		names = append(names, h.Name)
	}
	return strings.Join(names, " ")
}
