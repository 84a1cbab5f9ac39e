package addrselect

import (
	"net/netip"
	"testing"
)

// TestHostRouteOnLinkNextHop: a route's next hop finds its interface by
// the same on-link rule as a destination does, so an address without a
// prefix length (the address alone) does not hold a next hop elsewhere.
func TestHostRouteOnLinkNextHop(t *testing.T) {
	h := &Host{
		Addrs:  []Source{{Addr: netip.MustParseAddr("192.0.2.1"), Interface: "eth0"}},
		Routes: []Route{{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Via: netip.MustParseAddr("203.0.113.254")}},
	}
	tests := []struct {
		dst, dev string
		ok       bool
	}{
		{"192.0.2.1", "eth0", true},
		{"203.0.113.254", "", false},
		{"10.1.1.1", "", true}, // routed, but its next hop is on no known link
	}
	for _, tt := range tests {
		dev, _, ok := h.route(netip.MustParseAddr(tt.dst))
		if dev != tt.dev || ok != tt.ok {
			t.Errorf("route(%s) = %q, %v; want %q, %v", tt.dst, dev, ok, tt.dev, tt.ok)
		}
	}
}
