package mxorder_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// policyDNS: example.com has mail.example.com (10), mx1.example.net (20)
// and rogue.example.org (30), each with one IPv4 address.
func policyDNS() *mxordertest.Resolver {
	return mxordertest.New().
		MX("example.com", 10, "mail.example.com").
		MX("example.com", 20, "mx1.example.net").
		MX("example.com", 30, "rogue.example.org").
		A("mail.example.com", "192.0.2.10").
		A("mx1.example.net", "192.0.2.20").
		A("rogue.example.org", "192.0.2.30")
}

func mustPolicy(t *testing.T, mode string) *mxorder.STSPolicy {
	t.Helper()
	in := strings.Replace(rfc8461Policy, "mode: enforce", "mode: "+mode, 1)
	p, err := mxorder.ParseSTSPolicy(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsSummary writes each attempt as "host tls[/auth]".
func tlsSummary(plan *mxorder.Plan) []string {
	out := []string{}
	for _, a := range plan.Attempts() {
		s := a.Host + " " + a.TLS.String()
		if a.TLSAuth != 0 {
			s += "/" + a.TLSAuth.String()
		}
		out = append(out, s)
	}
	return out
}

func hostSkips(plan *mxorder.Plan) []string {
	out := []string{}
	for _, s := range plan.Skipped {
		if !s.Addr.IsValid() {
			out = append(out, s.Host+" "+s.Reason.String())
		}
	}
	return out
}

func TestTLSPolicyInPlan(t *testing.T) {
	secure := func(m map[string]mxorder.TLSAStatus) *mxorder.DANEStatus {
		return &mxorder.DANEStatus{MXSecure: true, TLSA: m}
	}
	tests := []struct {
		name     string
		reason   string
		p        mxorder.Planner
		st       func(t *testing.T) *mxorder.DeliveryState
		want     []string // tlsSummary
		skips    []string // host skips
		unlisted []string // Plan.STS.Unlisted; nil when no policy
		wantErr  error
	}{
		{
			name: "no-policy", reason: "opportunistic TLS everywhere",
			st:   func(*testing.T) *mxorder.DeliveryState { return nil },
			want: []string{"mail.example.com opportunistic", "mx1.example.net opportunistic", "rogue.example.org opportunistic"},
		},
		{
			name: "sts-enforce", reason: "RFC 8461 section 5: unlisted hosts are not delivered to",
			st: func(t *testing.T) *mxorder.DeliveryState {
				return &mxorder.DeliveryState{STS: mustPolicy(t, "enforce")}
			},
			want:     []string{"mail.example.com authenticated/pkix", "mx1.example.net authenticated/pkix"},
			skips:    []string{"rogue.example.org mta-sts-unlisted"},
			unlisted: []string{"rogue.example.org"},
		},
		{
			name: "sts-testing", reason: "delivered anyway, the mismatch reported",
			st: func(t *testing.T) *mxorder.DeliveryState {
				return &mxorder.DeliveryState{STS: mustPolicy(t, "testing")}
			},
			want:     []string{"mail.example.com opportunistic", "mx1.example.net opportunistic", "rogue.example.org opportunistic"},
			unlisted: []string{"rogue.example.org"},
		},
		{
			name: "sts-none", reason: "as if there were no policy",
			st: func(t *testing.T) *mxorder.DeliveryState {
				return &mxorder.DeliveryState{STS: mustPolicy(t, "none")}
			},
			want:     []string{"mail.example.com opportunistic", "mx1.example.net opportunistic", "rogue.example.org opportunistic"},
			unlisted: []string{},
		},
		{
			name: "sts-enforce-no-mx-left", reason: "RFC 8461 section 5: a temporary failure, never permanent",
			st: func(t *testing.T) *mxorder.DeliveryState {
				p, _ := mxorder.ParseSTSPolicy(strings.NewReader("version: STSv1\nmode: enforce\nmx: *.elsewhere.example\nmax_age: 60\n"))
				return &mxorder.DeliveryState{STS: p}
			},
			want:     []string{},
			skips:    []string{"mail.example.com mta-sts-unlisted", "mx1.example.net mta-sts-unlisted", "rogue.example.org mta-sts-unlisted"},
			unlisted: []string{"mail.example.com", "mx1.example.net", "rogue.example.org"},
			wantErr:  mxorder.ErrNoPolicyMX,
		},
		{
			name: "dane-statuses", reason: "RFC 7672 section 2.2: usable -> authenticated, unusable -> TLS, failed with secure MX -> skipped",
			st: func(*testing.T) *mxorder.DeliveryState {
				return &mxorder.DeliveryState{DANE: secure(map[string]mxorder.TLSAStatus{
					"mail.example.com": mxorder.TLSAUsable, "mx1.example.net": mxorder.TLSAFailed, "rogue.example.org": mxorder.TLSAUnusable})}
			},
			want:  []string{"mail.example.com authenticated/dane", "rogue.example.org tls"},
			skips: []string{"mx1.example.net tlsa-lookup-failed"},
		},
		{
			name: "dane-failed-insecure-mx", reason: "RFC 7672 section 2.2.1: an insecure MX RRset makes DANE inapplicable",
			st: func(*testing.T) *mxorder.DeliveryState {
				return &mxorder.DeliveryState{DANE: &mxorder.DANEStatus{TLSA: map[string]mxorder.TLSAStatus{"mx1.example.net": mxorder.TLSAFailed}}}
			},
			want: []string{"mail.example.com opportunistic", "mx1.example.net opportunistic", "rogue.example.org opportunistic"},
		},
		{
			name: "dane-all-failed", reason: "every host's TLSA lookup failed: a temporary policy error",
			st: func(*testing.T) *mxorder.DeliveryState {
				f := mxorder.TLSAFailed
				return &mxorder.DeliveryState{DANE: secure(map[string]mxorder.TLSAStatus{"mail.example.com": f, "mx1.example.net": f, "rogue.example.org": f})}
			},
			want:    []string{},
			skips:   []string{"mail.example.com tlsa-lookup-failed", "mx1.example.net tlsa-lookup-failed", "rogue.example.org tlsa-lookup-failed"},
			wantErr: mxorder.ErrNoPolicyMX,
		},
		{
			name: "dane-before-sts", reason: "RFC 8461 section 2: STS never overrides DANE; a failed TLSA lookup skips a listed host",
			st: func(t *testing.T) *mxorder.DeliveryState {
				return &mxorder.DeliveryState{STS: mustPolicy(t, "enforce"), DANE: secure(map[string]mxorder.TLSAStatus{
					"mail.example.com": mxorder.TLSAFailed, "mx1.example.net": mxorder.TLSAUsable, "rogue.example.org": mxorder.TLSAUsable})}
			},
			want:     []string{"mx1.example.net authenticated/dane"},
			skips:    []string{"mail.example.com tlsa-lookup-failed", "rogue.example.org mta-sts-unlisted"},
			unlisted: []string{"rogue.example.org"},
		},
		{
			name: "dane-overrides-sts", reason: "KumoMTA: an unlisted host with usable TLSA records is kept",
			p: mxorder.Planner{DANEOverridesSTS: true},
			st: func(t *testing.T) *mxorder.DeliveryState {
				return &mxorder.DeliveryState{STS: mustPolicy(t, "enforce"), DANE: secure(map[string]mxorder.TLSAStatus{"rogue.example.org": mxorder.TLSAUsable})}
			},
			want:     []string{"mail.example.com authenticated/pkix", "mx1.example.net authenticated/pkix", "rogue.example.org authenticated/dane"},
			unlisted: []string{"rogue.example.org"},
		},
		{
			name: "dane-unusable-under-sts-enforce", reason: "the stricter of the two: PKIX authentication",
			st: func(t *testing.T) *mxorder.DeliveryState {
				return &mxorder.DeliveryState{STS: mustPolicy(t, "enforce"), DANE: secure(map[string]mxorder.TLSAStatus{"mail.example.com": mxorder.TLSAUnusable})}
			},
			want:     []string{"mail.example.com authenticated/pkix", "mx1.example.net authenticated/pkix"},
			skips:    []string{"rogue.example.org mta-sts-unlisted"},
			unlisted: []string{"rogue.example.org"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.Resolver, p.Families = policyDNS(), mxorder.IPv4
			plan, err := p.PlanWith(context.Background(), "example.com", tt.st(t))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("PlanWith error = %v; want %v (%s)", err, tt.wantErr, tt.reason)
			}
			if err != nil {
				var pe *mxorder.PolicyError
				var te interface{ Temporary() bool }
				if !errors.As(err, &pe) || !errors.As(err, &te) || !te.Temporary() {
					t.Errorf("error %v is not a temporary *PolicyError", err)
				}
			}
			if d := cmp.Diff(tt.want, tlsSummary(plan)); d != "" {
				t.Errorf("attempts (-want +got) (%s):\n%s", tt.reason, d)
			}
			if d := cmp.Diff(tt.skips, nilIfEmpty(hostSkips(plan))); d != "" {
				t.Errorf("host skips (-want +got):\n%s", d)
			}
			var unlisted []string
			if plan.STS != nil {
				unlisted = plan.STS.Unlisted
			}
			if d := cmp.Diff(tt.unlisted, unlisted); d != "" {
				t.Errorf("STS.Unlisted (-want +got):\n%s", d)
			}
			for _, s := range plan.Skipped {
				if s.Detail == "" {
					t.Errorf("skip %+v has no detail", s)
				}
			}
			for _, a := range plan.Attempts() {
				if a.TLSDetail == "" {
					t.Errorf("attempt %v has no TLS reason", a.Addr)
				}
			}
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestReportCheckSTS(t *testing.T) {
	mx := []*net.MX{{Host: "mail.example.com.", Pref: 10}, {Host: "rogue.example.org.", Pref: 20}}
	addrs := map[string]mxorder.HostAddrs{
		"mail.example.com":  {Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}},
		"rogue.example.org": {Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.30"), netip.MustParseAddr("2001:db8::30")}},
	}
	tests := []struct {
		name   string
		policy string
		want   []string // "code severity host" of the MTA-STS findings
	}{
		{
			name:   "rfc8461-example-enforce",
			policy: rfc8461Policy,
			want: []string{
				"mta-sts-unlisted warning rogue.example.org",
				`mta-sts-unused-pattern info `, // *.example.net
				"mta-sts-unused-pattern info ", // backupmx.example.com
			},
		},
		{
			name:   "permits-no-mx-enforce",
			policy: "version: STSv1\nmode: enforce\nmx: *.other.example\nmax_age: 60\n",
			want: []string{
				"mta-sts-unlisted warning mail.example.com",
				"mta-sts-unlisted warning rogue.example.org",
				"mta-sts-unused-pattern info ",
				"mta-sts-no-mx error ",
			},
		},
		{
			name:   "permits-no-mx-testing",
			policy: "version: STSv1\nmode: testing\nmx: *.other.example\nmax_age: 60\n",
			want: []string{
				"mta-sts-unlisted warning mail.example.com",
				"mta-sts-unlisted warning rogue.example.org",
				"mta-sts-unused-pattern info ",
				"mta-sts-no-mx warning ",
			},
		},
		{
			name:   "none",
			policy: "version: STSv1\nmode: none\nmax_age: 0\n",
			want:   []string{},
		},
		{
			name:   "all-covered",
			policy: "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.org\nmax_age: 60\n",
			want:   []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := mxorder.ParseSTSPolicy(strings.NewReader(tt.policy))
			if err != nil {
				t.Fatal(err)
			}
			r, err := mxorder.Check("example.com", mx, addrs)
			if err != nil {
				t.Fatal(err)
			}
			r.CheckSTS(pol)
			got := []string{}
			for _, f := range r.Findings {
				if strings.HasPrefix(string(f.Code), "mta-sts") {
					got = append(got, string(f.Code)+" "+f.Severity.String()+" "+f.Host)
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("findings (-want +got):\n%s\n%s", d, r)
			}
			if r.STS != pol {
				t.Errorf("Report.STS = %v; want the policy", r.STS)
			}
		})
	}
}

// TestPlanStringPolicy checks that the text form of a plan shows the
// reasons that moved attempts and the TLS they require.
func TestPlanStringPolicy(t *testing.T) {
	p := mxorder.Planner{Resolver: policyDNS(), Families: mxorder.IPv4, GreylistRetry: true}
	st := &mxorder.DeliveryState{
		STS: mustPolicy(t, "enforce"),
		History: mxorder.History{Attempt: 2, Past: []mxorder.PastAttempt{
			{Addr: netip.MustParseAddr("192.0.2.20"), Source: netip.MustParseAddr("198.51.100.9"), Failure: mxorder.FailureGreylisted},
		}},
	}
	plan, err := p.PlanWith(context.Background(), "example.com", st)
	if err != nil {
		t.Fatal(err)
	}
	s := plan.String()
	for _, want := range []string{
		"try 20 mx1.example.net 192.0.2.20 from 198.51.100.9 [greylist-retry: greylisted before; same source 198.51.100.9] tls authenticated/pkix",
		"try 10 mail.example.com 192.0.2.10 tls authenticated/pkix",
		"skip 30 rogue.example.org: mta-sts-unlisted (",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
	if i, j := strings.Index(s, "mx1.example.net"), strings.Index(s, "mail.example.com"); i > j {
		t.Errorf("the greylisted address is not tried first:\n%s", s)
	}
}
