package nat64_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/dualstack/dualstack/addrselect/nat64"
)

func ExampleSynthesize() {
	prefix := netip.MustParsePrefix("2001:db8:122::/48")
	a, err := nat64.Synthesize(prefix, netip.MustParseAddr("192.0.2.33"))
	fmt.Println(a, err)

	v4, ok := nat64.Extract(prefix, a)
	fmt.Println(v4, ok)

	// The well-known prefix refuses non-global IPv4 addresses (RFC 6052
	// section 3.1); the local-use prefix of RFC 8215 does not.
	_, err = nat64.Synthesize(nat64.WellKnownPrefix, netip.MustParseAddr("10.1.2.3"))
	fmt.Println(errors.Is(err, nat64.ErrNonGlobal))
	a, _ = nat64.Synthesize(netip.MustParsePrefix("64:ff9b:1::/96"), netip.MustParseAddr("10.1.2.3"))
	fmt.Println(a)
	// Output:
	// 2001:db8:122:c000:2:2100:: <nil>
	// 192.0.2.33 true
	// true
	// 64:ff9b:1::a01:203
}

// dns64 answers like a DNS64 with two prefixes, a network-specific one
// first.
type dns64 struct{}

func (dns64) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if network != "ip6" || host != nat64.WellKnownName {
		return nil, errors.New("unexpected query")
	}
	return []netip.Addr{
		netip.MustParseAddr("2001:db8:64::192.0.0.170"),
		netip.MustParseAddr("64:ff9b::192.0.0.170"),
		netip.MustParseAddr("2001:db8:64::192.0.0.171"),
	}, nil
}

func ExampleDiscover() {
	// Pass net.DefaultResolver (or nil) to ask the host's resolver.
	prefixes, err := nat64.Discover(context.Background(), dns64{})
	if err != nil {
		if errors.Is(err, nat64.ErrNoDNS64) {
			fmt.Println("no DNS64 on this network")
		}
		return
	}
	// Synthesize with every prefix, in the order received (RFC 7050
	// section 3). The well-known prefix refuses a documentation address.
	v4 := netip.MustParseAddr("198.51.100.7")
	for _, p := range prefixes {
		a, err := nat64.Synthesize(p, v4)
		switch {
		case errors.Is(err, nat64.ErrNonGlobal):
			fmt.Println(p, "refuses", v4)
		case err == nil:
			fmt.Println(p, a)
		}
	}
	// Output:
	// 2001:db8:64::/96 2001:db8:64::c633:6407
	// 64:ff9b::/96 refuses 198.51.100.7
}

func ExampleParseOption() {
	// A PREF64 option as a router sends it: 64:ff9b::/96 for 1800 s.
	learned := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	opt, _ := nat64.PREF64{Prefix: nat64.WellKnownPrefix, Lifetime: 30 * time.Minute}.AppendOption(nil)
	fmt.Printf("% x\n", opt)

	p, err := nat64.ParseOption(opt, learned)
	fmt.Println(p.Prefix, p.Lifetime, err)
	fmt.Println(p.ValidAt(learned.Add(29*time.Minute)), p.ValidAt(learned.Add(30*time.Minute)))
	// Output:
	// 26 02 07 08 00 64 ff 9b 00 00 00 00 00 00 00 00
	// 64:ff9b::/96 30m0s <nil>
	// true false
}
