package mxorder_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder"
)

// TestZeroPlannerRoundRobin checks that the zero Planner keeps DNS round
// robin between the addresses of one MX host: the study found that the
// longest-matching-prefix rule (RFC 6724 rule 9) sends every client to
// the same address of a load-balanced name. The sender is
// 198.51.100.7/25: neither address is on-link, 198.51.100.200 shares 24
// bits with it and 192.0.2.1 only 5, so RFC rule 9 would always put
// 198.51.100.200 first whatever order DNS gives.
func TestZeroPlannerRoundRobin(t *testing.T) {
	near, far := netip.MustParseAddr("198.51.100.200"), netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		name  string
		sel   *addrselect.Selector
		order []netip.Addr // as the resolver rotates them
		want  netip.Addr   // first attempt
	}{
		{"default-near-first", nil, []netip.Addr{near, far}, near},
		{"default-far-first", nil, []netip.Addr{far, near}, far},
		// The RFC rule, still available by choice, defeats round robin.
		{"rfc-rule9-far-first", addrselect.RFC6724(), []netip.Addr{far, near}, near},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mxorder.Planner{Sources: prefixStack{addr: netip.MustParseAddr("198.51.100.7"), bits: 25}, Selector: tt.sel}
			plan, err := p.Build(context.Background(), "example.org", nil, map[string]mxorder.HostAddrs{"example.org": {Addrs: tt.order}})
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.Attempts()[0].Addr; got != tt.want {
				t.Errorf("first attempt = %v; want %v", got, tt.want)
			}
		})
	}
}

// prefixStack is an IPv4-only host whose one address has the given
// prefix length.
type prefixStack struct {
	addr netip.Addr
	bits int
}

func (s prefixStack) Source(ctx context.Context, dst netip.Addr) (addrselect.Source, error) {
	if !dst.Unmap().Is4() {
		return addrselect.Source{}, nil
	}
	return addrselect.Source{Addr: s.addr, PrefixLen: s.bits}, nil
}
