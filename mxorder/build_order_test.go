package mxorder_test

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/dualstack/dualstack/mxorder"
)

// TestBuildSkipOrder pins the order of Plan.Skipped when the per-host
// skips, the duplicate addresses and the address limit mix: the hosts'
// own skips in host order, then the duplicates in attempt order, then
// the addresses over the limit.
func TestBuildSkipOrder(t *testing.T) {
	a := netip.MustParseAddr
	mx := []*net.MX{{Host: "a.example.", Pref: 10}, {Host: "b.example.", Pref: 20}, {Host: "c.example.", Pref: 30}}
	addrs := map[string]mxorder.HostAddrs{
		"a.example": {Addrs: []netip.Addr{a("192.0.2.1"), a("2001:db8::1"), a("192.0.2.2")}},
		"b.example": {Addrs: []netip.Addr{a("2001:db8::2"), a("192.0.2.1"), a("192.0.2.3")}},
		"c.example": {Addrs: []netip.Addr{a("::ffff:192.0.2.2"), a("2001:db8::3"), a("192.0.2.4"), a("192.0.2.5")}},
	}
	p := &mxorder.Planner{Sources: relay4, Seeded: true, MaxAddresses: 3}
	plan, err := p.Build(context.Background(), "example.com", mx, addrs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a.example 2001:db8::1 family",
		"b.example 2001:db8::2 family",
		"c.example 2001:db8::3 family",
		"b.example 192.0.2.1 duplicate (address already listed for a.example)",
		"c.example 192.0.2.2 duplicate (address already listed for a.example)",
		"c.example 192.0.2.4 address-limit",
		"c.example 192.0.2.5 address-limit",
	}
	var got []string
	for _, s := range plan.Skipped {
		g := s.Host + " " + s.Addr.String() + " " + s.Reason.String()
		if s.Reason == mxorder.SkipDuplicate {
			g += " (" + s.Detail + ")"
		}
		got = append(got, g)
	}
	if len(got) != len(want) {
		t.Fatalf("Skipped =\n%q\nwant\n%q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Skipped[%d] = %q; want %q", i, got[i], want[i])
		}
	}
	var att []string
	for _, x := range plan.Attempts() {
		att = append(att, x.Host+" "+x.Addr.String())
	}
	wantAtt := []string{"a.example 192.0.2.1", "a.example 192.0.2.2", "b.example 192.0.2.3"}
	if len(att) != len(wantAtt) || att[0] != wantAtt[0] || att[1] != wantAtt[1] || att[2] != wantAtt[2] {
		t.Errorf("Attempts = %q; want %q", att, wantAtt)
	}
}
