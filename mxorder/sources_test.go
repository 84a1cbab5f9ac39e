package mxorder_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// TestPlannerSelectorChoosesSource: the Planner's Selector governs source
// selection through a described Host (issue 7 item 7): an MTA that prefers
// public sources sends from its public address, not the temporary one.
func TestPlannerSelectorChoosesSource(t *testing.T) {
	host, err := addrselect.ParseHost("2001:db8:1::25/64, 2001:db8:1::d5e3:7953:13eb:22e8/64 temporary; route v6 default via fe80::1 dev eth0")
	if err != nil {
		t.Fatal(err)
	}
	res := mxordertest.New().MX("example.org", 10, "mx.example.org").AAAA("mx.example.org", "2001:db8:2::25")
	tests := []struct {
		name string
		sel  *addrselect.Selector
		want string
	}{
		{"rfc6724-temporary", addrselect.RFC6724(), "2001:db8:1::d5e3:7953:13eb:22e8"},
		{"prefer-public", addrselect.RFC6724(addrselect.WithPreferPublic(true)), "2001:db8:1::25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mxorder.Planner{Resolver: res, Selector: tt.sel, Sources: host}
			plan, err := p.Plan(context.Background(), "example.org")
			if err != nil {
				t.Fatal(err)
			}
			at := plan.Attempts()
			if len(at) != 1 || at[0].Source != netip.MustParseAddr(tt.want) {
				t.Fatalf("attempts = %+v; want one from %s", at, tt.want)
			}
		})
	}
}
