package addrselect_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/addrselect/nat64"
)

// nameResolver answers by name and network ("ip4", "ip6"), after delay
// (and A queries v4delay later still).
type nameResolver struct {
	answers map[string][]netip.Addr // "name ip6"
	delay   time.Duration
	v4delay time.Duration
}

func (r nameResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	wait := r.delay
	if network == "ip4" {
		wait += r.v4delay
	}
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	as, ok := r.answers[host+" "+network]
	if !ok {
		return nil, errNXDomain
	}
	return as, nil
}

// TestDialerNAT64 checks RFC 8305 section 7: an IPv6-only host dials
// IPv4 literals and A-only names through synthesized addresses, with the
// prefix given or discovered; a host with IPv4 does not, and a DNS64
// answer does not hairpin it through the translator.
func TestDialerNAT64(t *testing.T) {
	nsp := netip.MustParsePrefix("2001:db8:64::/96")
	synth := netip.MustParseAddr("2001:db8:64::c633:6401") // v4a, 198.51.100.1
	shared := netip.MustParseAddr("100.64.0.80")
	wkSynth := netip.MustParseAddr("64:ff9b::6440:50")
	const v6only = "2001:db8:1::100/64 dev eth0; route v6 default dev eth0"
	dns := map[string][]netip.Addr{
		"a-only.test ip4": {v4a}, "a-only.test ip6": {},
		"dns64.test ip4": {v4a}, "dns64.test ip6": {synth},
		"both.test ip4": {v4a}, "both.test ip6": {v6a},
		"ipv4only.arpa. ip6": {netip.MustParseAddr("2001:db8:64::c000:aa"), netip.MustParseAddr("2001:db8:64::c000:ab")},
	}
	tests := []struct {
		name     string
		host     string
		network  string
		address  string
		nat64    []netip.Prefix
		discover bool
		delay    time.Duration // the resolver's
		v4delay  time.Duration // the A answer's, after delay
		want     []netip.Addr  // the attempts, in order (all refused)
		from     []netip.Addr  // their SynthesizedFrom
	}{
		{name: "literal, prefix given", host: v6only, address: "198.51.100.1:25", nat64: []netip.Prefix{nsp},
			want: []netip.Addr{synth}, from: []netip.Addr{v4a}},
		{name: "literal, well-known prefix", host: v6only, address: "100.64.0.80:25", nat64: []netip.Prefix{nat64.WellKnownPrefix},
			want: []netip.Addr{wkSynth}, from: []netip.Addr{shared}},
		{name: "literal, well-known prefix refuses a documentation address", host: v6only, address: "198.51.100.1:25",
			nat64: []netip.Prefix{nat64.WellKnownPrefix}, want: []netip.Addr{v4a}, from: []netip.Addr{{}}},
		{name: "literal, no prefix", host: v6only, address: "198.51.100.1:25",
			want: []netip.Addr{v4a}, from: []netip.Addr{{}}},
		{name: "literal, ipv4 route", host: dialHost, address: "198.51.100.1:25", nat64: []netip.Prefix{nsp},
			want: []netip.Addr{v4a}, from: []netip.Addr{{}}},
		{name: "literal, tcp4", host: v6only, network: "tcp4", address: "198.51.100.1:25", nat64: []netip.Prefix{nsp},
			want: []netip.Addr{v4a}, from: []netip.Addr{{}}},
		{name: "literal, prefix discovered before the first attempt", host: v6only, address: "198.51.100.1:25", discover: true,
			delay: 30 * time.Millisecond, want: []netip.Addr{synth}, from: []netip.Addr{v4a}},
		{name: "a-only name", host: v6only, address: "a-only.test:25", nat64: []netip.Prefix{nsp},
			want: []netip.Addr{synth}, from: []netip.Addr{v4a}},
		{name: "dns64 answer and its A record: one attempt", host: v6only, address: "dns64.test:25", nat64: []netip.Prefix{nsp},
			want: []netip.Addr{synth}, from: []netip.Addr{v4a}},
		{name: "dns64 on a dual-stack host: native ipv4 first", host: dialHost, address: "dns64.test:25", nat64: []netip.Prefix{nsp},
			want: []netip.Addr{v4a, synth}, from: []netip.Addr{{}, v4a}},
		{name: "dns64 answer 20 ms before its A record, dual-stack host: waits for A", host: dialHost, address: "dns64.test:25",
			nat64: []netip.Prefix{nsp}, v4delay: 20 * time.Millisecond,
			want: []netip.Addr{v4a, synth}, from: []netip.Addr{{}, v4a}},
		{name: "native ipv6 before the translated path", host: v6only, address: "both.test:25", nat64: []netip.Prefix{nsp},
			want: []netip.Addr{v6a, synth}, from: []netip.Addr{{}, v4a}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeNet(t, nil)
			d := &addrselect.Dialer{
				Sources: mustHost(t, tt.host), Resolver: nameResolver{answers: dns, delay: tt.delay, v4delay: tt.v4delay}, Dial: f.dial,
				AttemptDelay: addrselect.MinAttemptDelay, NAT64: tt.nat64, DiscoverNAT64: tt.discover,
			}
			_, err := d.DialContext(context.Background(), cmpOr(tt.network, "tcp"), tt.address)
			var de *addrselect.DialError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v; want a *DialError", err)
			}
			if got := f.order(); !slices.Equal(got, tt.want) {
				t.Fatalf("attempts %v; want %v (%v)", got, tt.want, err)
			}
			for i, a := range de.Attempts {
				if a.SynthesizedFrom != tt.from[i] {
					t.Errorf("attempt %v: SynthesizedFrom %v; want %v", a.Addr, a.SynthesizedFrom, tt.from[i])
				}
				if want := "(NAT64 for " + tt.from[i].String() + ")"; tt.from[i].IsValid() && !strings.Contains(a.Error(), want) {
					t.Errorf("attempt error %q lacks %q", a.Error(), want)
				}
			}
			if first := f.times()[0]; tt.delay > 0 && first < tt.delay {
				t.Errorf("first attempt at %v, before the discovery answered (%v)", first, tt.delay)
			}
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestDialerNAT64NoDelay: with the prefix known, synthesis starts the
// attempt at once, as a literal IPv6 address would.
func TestDialerNAT64NoDelay(t *testing.T) {
	nsp := netip.MustParsePrefix("2001:db8:64::/96")
	f := newFakeNet(t, nil)
	h := mustHost(t, "2001:db8:1::100/64 dev eth0; route v6 default dev eth0")
	d := &addrselect.Dialer{Sources: h, Dial: f.dial, NAT64: []netip.Prefix{nsp}}
	d.DialContext(context.Background(), "tcp", "198.51.100.1:25")
	if ts := f.times(); len(ts) != 1 || ts[0] > 5*time.Millisecond {
		t.Errorf("attempts at %v; want one at once", ts)
	}
}

// BenchmarkDialerSynthesis compares, on an IPv6-only Host with a dial
// that connects at once, a dial to an IPv4 literal (found without a
// route, synthesized) with a dial to the synthesized literal itself: the
// difference is the whole cost of RFC 8305 section 7 synthesis.
func BenchmarkDialerSynthesis(b *testing.B) {
	h := mustHost(b, "2001:db8:1::100/64 dev eth0; route v6 default dev eth0")
	dial := func(context.Context, string, string) (net.Conn, error) {
		c, peer := net.Pipe()
		peer.Close()
		return c, nil
	}
	d := &addrselect.Dialer{Sources: h, Dial: dial, NAT64: []netip.Prefix{netip.MustParsePrefix("2001:db8:64::/96")}}
	for _, address := range []string{"[2001:db8:64::c633:6401]:25", "198.51.100.1:25"} {
		b.Run(address, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, err := d.DialContext(context.Background(), "tcp", address)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}
