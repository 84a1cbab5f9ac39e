package addrbits

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestFromDirect checks From's direct reading against the portable one
// on every kind of address, and that this Go release has the layout
// From reads (else From is correct but slow: update directLayout).
func TestFromDirect(t *testing.T) {
	if !directLayout {
		t.Fatal("netip.Addr no longer holds the address as two halves: From takes the slow path")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		for _, a := range []netip.Addr{netip.AddrFrom16(b), netip.AddrFrom4([4]byte(b[:4])), netip.AddrFrom16(b).WithZone("z"), netip.AddrFrom16(b).Unmap()} {
			if got, want := From(a), fromBytes(a); got != want {
				t.Fatalf("From(%v) = %#x, want %#x", a, got, want)
			}
		}
	}
}

func TestFrom(t *testing.T) {
	tests := []struct {
		in     string
		hi, lo uint64
		mapped bool
	}{
		{"192.0.2.1", 0, 0xffff_c000_0201, true},
		{"::ffff:192.0.2.1", 0, 0xffff_c000_0201, true},
		{"2001:db8::1", 0x2001_0db8_0000_0000, 1, false},
		{"fe80::1%eth0", 0xfe80_0000_0000_0000, 1, false},
		{"::", 0, 0, false},
	}
	for _, tt := range tests {
		x := From(netip.MustParseAddr(tt.in))
		if x.Hi != tt.hi || x.Lo != tt.lo || x.IsMapped() != tt.mapped {
			t.Errorf("From(%s) = %#x %#x mapped %v, want %#x %#x %v", tt.in, x.Hi, x.Lo, x.IsMapped(), tt.hi, tt.lo, tt.mapped)
		}
		if want := netip.MustParseAddr(tt.in).WithZone(""); want.Is4() {
			if got := x.Addr().Unmap(); got != want {
				t.Errorf("From(%s).Addr() = %s", tt.in, got)
			}
		} else if got := x.Addr(); got != want {
			t.Errorf("From(%s).Addr() = %s", tt.in, got)
		}
	}
	if (From(netip.Addr{}) != U128{}) {
		t.Error("the zero Addr is not ::")
	}
	if got := FromIPv4(0xc0000201); got != From(netip.MustParseAddr("192.0.2.1")) || got.IPv4() != 0xc0000201 {
		t.Errorf("FromIPv4 = %#x", got)
	}
}

func TestArithmetic(t *testing.T) {
	a := From(netip.MustParseAddr("2001:db8::"))
	if got := a.Last(32).Addr(); got != netip.MustParseAddr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff") {
		t.Errorf("Last(32) = %s", got)
	}
	if got := a.Last(96).Addr(); got != netip.MustParseAddr("2001:db8::ffff:ffff") {
		t.Errorf("Last(96) = %s", got)
	}
	if got := a.Last(0); got != (U128{^uint64(0), ^uint64(0)}) {
		t.Errorf("Last(0) = %#x", got)
	}
	if got := a.Last(128); got != a {
		t.Errorf("Last(128) = %#x", got)
	}
	next, wrapped := U128{0, ^uint64(0)}.AddOne()
	if next != (U128{1, 0}) || wrapped {
		t.Errorf("AddOne carry = %#x %v", next, wrapped)
	}
	if _, wrapped := (U128{^uint64(0), ^uint64(0)}).AddOne(); !wrapped {
		t.Error("AddOne at the top did not wrap")
	}
	if c := a.Compare(a.Last(64)); c >= 0 {
		t.Errorf("Compare = %d", c)
	}
	if c := (U128{1, 0}).Compare(U128{0, 5}); c <= 0 {
		t.Errorf("Compare high half = %d", c)
	}
	tests := []struct {
		a, b string
		n    int
	}{
		{"2001:db8::1", "2001:db8::1", 128},
		{"2001:db8::1", "2001:db8::", 127},
		{"2001:db8::", "2001:db9::", 31},
		{"8000::", "::", 0},
		{"192.0.2.1", "192.0.2.128", 120},
	}
	for _, tt := range tests {
		if got := CommonBits(From(netip.MustParseAddr(tt.a)), From(netip.MustParseAddr(tt.b))); got != tt.n {
			t.Errorf("CommonBits(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.n)
		}
	}
}

func TestFromAllocs(t *testing.T) {
	a := netip.MustParseAddr("2001:db8::1")
	if n := testing.AllocsPerRun(100, func() { _ = From(a) }); n != 0 {
		t.Errorf("From allocates %v times", n)
	}
}

func TestIPv6Scope(t *testing.T) {
	tests := []struct {
		in   string
		want uint8
	}{
		{"::1", ScopeLinkLocal},
		{"fe80::1", ScopeLinkLocal},
		{"febf:ffff::1", ScopeLinkLocal},
		{"fec0::1", ScopeSiteLocal},
		{"feff::1", ScopeSiteLocal},
		{"fe7f::1", ScopeGlobal},
		{"ff02::1", 0x2},
		{"ff05::2", 0x5},
		{"ff1e::3", 0xe},
		{"ff00::", 0},
		{"2001:db8::1", ScopeGlobal},
		{"fd00::1", ScopeGlobal},
		{"::", ScopeGlobal},
		{"::ffff:127.0.0.1", ScopeGlobal},
	}
	for _, tt := range tests {
		if got := From(netip.MustParseAddr(tt.in)).IPv6Scope(); got != tt.want {
			t.Errorf("IPv6Scope(%s) = %#x, want %#x", tt.in, got, tt.want)
		}
	}
}

// TestLess checks that Less agrees with Compare.
func TestLess(t *testing.T) {
	vals := []U128{{0, 0}, {0, 1}, {0, ^uint64(0)}, {1, 0}, {1, 5}, {^uint64(0), 0}, {^uint64(0), ^uint64(0)}}
	for _, x := range vals {
		for _, y := range vals {
			if got, want := x.Less(y), x.Compare(y) < 0; got != want {
				t.Errorf("%v.Less(%v) = %v; want %v", x, y, got, want)
			}
		}
	}
}
