package mxorder_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dualstack/dualstack/mxorder"
)

// TestPolicyJSON checks that the fields added for delivery policy
// round-trip through JSON and that no list is written as null.
func TestPolicyJSON(t *testing.T) {
	pol, err := mxorder.ParseSTSPolicy(strings.NewReader(rfc8461Policy))
	if err != nil {
		t.Fatal(err)
	}
	none, err := mxorder.ParseSTSPolicy(strings.NewReader("version: STSv1\nmode: none\nmax_age: 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	st := &mxorder.DeliveryState{
		History: mxorder.History{Attempt: 3, Past: []mxorder.PastAttempt{
			{Host: "mail.example.com", Addr: netip.MustParseAddr("192.0.2.10"), Source: netip.MustParseAddr("198.51.100.7"), Family: mxorder.IPv4, Failure: mxorder.FailureGreylisted},
			{Addr: netip.MustParseAddr("192.0.2.20"), Failure: mxorder.FailurePolicy},
		}},
		STS:  pol,
		DANE: &mxorder.DANEStatus{MXSecure: true, TLSA: map[string]mxorder.TLSAStatus{"mx1.example.net": mxorder.TLSAUsable, "mail.example.com": mxorder.TLSAUnusable}},
	}
	tests := []struct {
		name     string
		st       *mxorder.DeliveryState
		contains []string
		absent   []string
	}{
		{
			name: "full",
			st:   st,
			contains: []string{
				`"attempt":3`, `"mta_sts":{"mode":"enforce","unlisted":["rogue.example.org"]}`,
				`"reason":"greylist-retry"`, `"tls":"authenticated","tls_auth":"dane"`, `"reason":"mta-sts-unlisted"`,
			},
		},
		{
			name:     "sts-none",
			st:       &mxorder.DeliveryState{STS: none},
			contains: []string{`"mta_sts":{"mode":"none","unlisted":[]}`},
			absent:   []string{"null"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mxorder.Planner{Resolver: policyDNS(), Families: mxorder.IPv4, GreylistRetry: true, SwitchFamily: true}
			plan, err := p.PlanWith(context.Background(), "example.com", tt.st)
			if err != nil {
				t.Fatal(err)
			}
			back, js := roundTrip(t, plan)
			for _, w := range tt.contains {
				if !strings.Contains(js, w) {
					t.Errorf("JSON lacks %s:\n%s", w, js)
				}
			}
			for _, w := range tt.absent {
				if strings.Contains(js, w) {
					t.Errorf("JSON has %s:\n%s", w, js)
				}
			}
			if d := cmp.Diff(plan, back, jsonOpts...); d != "" {
				t.Errorf("round trip (-orig +decoded):\n%s", d)
			}
		})
	}
	// The input state round-trips too.
	back, js := roundTrip(t, st)
	if d := cmp.Diff(st, back, jsonOpts...); d != "" {
		t.Errorf("DeliveryState round trip (-orig +decoded):\n%s\n%s", d, js)
	}
}
