package fuzz

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
)

// hostSeeds are host descriptions from the addrselect unit tests and
// examples, good and bad.
var hostSeeds = []string{
	"",
	"2001:db8::1/64 temporary, 192.0.2.10/24, fe80::1/64 dev eth0; route v4 default; route v6 default",
	"2001:db8::2/48 deprecated home coa encap dev wlan0 via fe80::1\n2001:db8::3 care-of tunnel",
	"fe80::1%eth1/64, fe80::2%eth2/64 dev eth2",
	"2001:db8::1/64 preferred_lft 0, 2001:db8::2/64 preferred_lft forever, 10.0.0.1/8 preferred_lft 3600sec",
	"route default via 192.0.2.1 dev eth0\nroute v6 default via fe80::1 dev eth0\nroute 2000::/3 dev tun0\nroute v4 10.0.0.0/8 via 192.0.2.254",
	"127.0.0.1/8 dev lo, ::1/128 dev lo # loopback\n192.0.2.2/24 dev eth0; route v4 default via 192.0.2.1",
	"2001:db8:a::1/64 dev eth0 via fe80::a, 2001:db8:b::1/64 dev eth0 via fe80::b, fe80::5/64 dev eth0;route v6 default via fe80::b dev eth0",
	"2001:db8::1/64 fast",
	"2001:db8::1, 2001:db8::1/64",
	"route default",
	"route v4 default dev a dev b",
	"fe80::1%eth0 dev eth1",
	", 2001:db8::1",
}

var hostFuzzDsts = []netip.Addr{
	netip.MustParseAddr("2001:db8::77"),
	netip.MustParseAddr("192.0.2.99"),
	netip.MustParseAddr("8.8.8.8"),
	netip.MustParseAddr("fe80::9%eth0"),
	netip.MustParseAddr("::1"),
	netip.MustParseAddr("127.0.0.9"),
	netip.MustParseAddr("ff02::1%eth0"),
}

// FuzzParseHost: ParseHost never panics; an error is a *HostParseError
// whose offset and token point into the input and whose reason is a
// syntax error, a bad address, a duplicate or ErrHostTooLarge; an accepted host writes (String) a text that parses
// to the same host; Host.Source picks only the host's own addresses, of
// the destination's family. Error messages stay short (a long token is
// quoted cut).
func FuzzParseHost(f *testing.F) {
	for _, s := range hostSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, err := addrselect.ParseHost(in)
		if err != nil {
			var pe *addrselect.HostParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseHost(%q) error %v is not a *HostParseError", in, err)
			}
			if h != nil {
				t.Fatalf("ParseHost(%q) returned a host with an error", in)
			}
			reasons := []string{"syntax error", "bad address", "duplicate", "too large"}
			ok := false
			for _, r := range reasons {
				ok = ok || pe.Err != nil && strings.HasPrefix(pe.Err.Error(), r)
			}
			if !ok {
				t.Fatalf("ParseHost(%q) = %v; reason is none of %q", in, err, reasons)
			}
			if n := len(err.Error()); n > 512 {
				t.Fatalf("ParseHost(%.80q): message of %d bytes; want at most 512", in, n)
			}
			if !errors.Is(err, addrselect.ErrHostTooLarge) {
				if pe.Offset < 0 || pe.Offset > len(in) || !strings.HasPrefix(in[pe.Offset:], pe.Token) {
					t.Fatalf("ParseHost(%q): error at %d %q does not point into the input", in, pe.Offset, pe.Token)
				}
			}
			return
		}
		text := h.String()
		again, err := addrselect.ParseHost(text)
		if err != nil {
			t.Fatalf("ParseHost(%q) ok, but its String %q does not parse: %v", in, text, err)
		}
		if !reflect.DeepEqual(h, again) {
			t.Fatalf("round trip of %q through %q:\n%+v\n%+v", in, text, h, again)
		}
		own := make(map[netip.Addr]bool)
		for _, a := range h.Addrs {
			own[a.Addr] = true
		}
		for _, d := range hostFuzzDsts {
			src, err := h.Source(context.Background(), d)
			if err != nil {
				t.Fatalf("Source(%v): %v", d, err)
			}
			if src.IsValid() && (!own[src.Addr] || src.Addr.Is4() != d.Is4()) {
				t.Fatalf("host %q: Source(%v) = %v, not an own address of that family", in, d, src.Addr)
			}
		}
	})
}
