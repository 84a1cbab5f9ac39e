package nat64_test

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/dualstack/dualstack/addrselect/nat64"
)

var (
	mustAddr   = netip.MustParseAddr
	mustPrefix = netip.MustParsePrefix
)

// TestRFC6052Examples runs every row of RFC 6052 section 2.4, Tables 1
// and 2, through Synthesize and Extract.
func TestRFC6052Examples(t *testing.T) {
	tests := []struct {
		prefix, v4, want string
		// refused: the Table 2 row. 192.0.2.33 is in TEST-NET-1, which
		// RFC 5735 section 3 lists, so RFC 6052 section 3.1 forbids it
		// with the well-known prefix; this package follows section 3.1
		// over the illustration (see the package documentation):
		// Synthesize refuses, while Extract still reads the address the
		// example stands for.
		refused bool
	}{
		{"2001:db8::/32", "192.0.2.33", "2001:db8:c000:221::", false},
		{"2001:db8:100::/40", "192.0.2.33", "2001:db8:1c0:2:21::", false},
		{"2001:db8:122::/48", "192.0.2.33", "2001:db8:122:c000:2:2100::", false},
		{"2001:db8:122:300::/56", "192.0.2.33", "2001:db8:122:3c0:0:221::", false},
		{"2001:db8:122:344::/64", "192.0.2.33", "2001:db8:122:344:c0:2:2100::", false},
		{"2001:db8:122:344::/96", "192.0.2.33", "2001:db8:122:344::192.0.2.33", false},
		{"64:ff9b::/96", "192.0.2.33", "64:ff9b::192.0.2.33", true},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			p, v4, want := mustPrefix(tt.prefix), mustAddr(tt.v4), mustAddr(tt.want)
			got, err := nat64.Synthesize(p, v4)
			gotV4, ok := nat64.Extract(p, want)
			switch {
			case tt.refused && !errors.Is(err, nat64.ErrNonGlobal):
				t.Errorf("Synthesize(%s, %s) = %s, %v; want ErrNonGlobal", p, v4, got, err)
			case !tt.refused && (err != nil || got != want):
				t.Errorf("Synthesize(%s, %s) = %s, %v; want %s", p, v4, got, err, want)
			}
			if !ok || gotV4 != v4 {
				t.Errorf("Extract(%s, %s) = %s, %v; want %s", p, want, gotV4, ok, v4)
			}
		})
	}
}

// slowSynthesize is RFC 6052 section 2.3's algorithm bit by bit:
// concatenate the prefix, the IPv4 address and a zero suffix, and for
// prefixes shorter than 96 bits insert the zero u octet at bit 64.
func slowSynthesize(p netip.Prefix, v4 netip.Addr) netip.Addr {
	pb, vb := p.Addr().As16(), v4.As4()
	bit := func(b []byte, i int) bool { return b[i/8]>>(7-i%8)&1 == 1 }
	var seq []bool
	for i := range p.Bits() {
		seq = append(seq, bit(pb[:], i))
	}
	for i := range 32 {
		seq = append(seq, bit(vb[:], i))
	}
	if p.Bits() < 96 {
		seq = append(seq[:64], append(make([]bool, 8), seq[64:]...)...)
	}
	var out [16]byte
	for i, v := range seq {
		if v {
			out[i/8] |= 1 << (7 - i%8)
		}
	}
	return netip.AddrFrom16(out)
}

// TestSynthesizeMatchesSlow compares Synthesize with the bit-by-bit
// algorithm, and Extract with its inverse, on random prefixes of every
// allowed length and random global IPv4 addresses.
func TestSynthesizeMatchesSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{32, 40, 48, 56, 64, 96} {
		for range 2000 {
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			b[0] = 0x20 // keep clear of ::ffff:0:0/96 and the WKP
			b[8] = 0    // bits 64-71 of a /96
			p := netip.PrefixFrom(netip.AddrFrom16(b), n).Masked()
			v4 := netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
			want := slowSynthesize(p, v4)
			got, err := nat64.Synthesize(p, v4)
			if err != nil || got != want {
				t.Fatalf("Synthesize(%s, %s) = %s, %v; want %s", p, v4, got, err, want)
			}
			if !p.Contains(got) {
				t.Fatalf("Synthesize(%s, %s) = %s, outside the prefix", p, v4, got)
			}
			if back, ok := nat64.Extract(p, got); !ok || back != v4 {
				t.Fatalf("Extract(%s, %s) = %s, %v; want %s", p, got, back, ok, v4)
			}
		}
	}
}

// TestExtract covers the addresses Extract must turn down and the
// suffix it must ignore.
func TestExtract(t *testing.T) {
	tests := []struct {
		name, prefix, addr string
		want               string // "" for false
	}{
		{"wkp-global", "64:ff9b::/96", "64:ff9b::8.8.8.8", "8.8.8.8"},
		{"wkp-shared-space", "64:ff9b::/96", "64:ff9b::100.64.0.80", "100.64.0.80"},
		// Non-global addresses are read back: Synthesize refuses them,
		// Extract says what a DNS64 answer stands for.
		{"wkp-private", "64:ff9b::/96", "64:ff9b::10.0.0.1", "10.0.0.1"},
		{"wkp-wka", "64:ff9b::/96", "64:ff9b::192.0.0.170", "192.0.0.170"},
		{"local-use-private", "64:ff9b:1::/96", "64:ff9b:1::10.0.0.1", "10.0.0.1"},
		{"local-use-48", "64:ff9b:1::/48", "64:ff9b:1:a00:0:100::", "10.0.0.1"},
		{"outside", "2001:db8::/32", "2001:db9:c000:221::", ""},
		{"u-octet-set", "2001:db8::/32", "2001:db8:c000:221:100::", ""},
		{"suffix-ignored", "2001:db8::/32", "2001:db8:c000:221:0:1:2:3", "192.0.2.33"},
		{"suffix-ignored-64", "2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:ff", "192.0.2.33"},
		{"ipv4", "2001:db8::/32", "192.0.2.33", ""},
		{"ipv4-mapped", "::ffff:0:0/96", "::ffff:192.0.2.33", ""},
		{"bad-prefix-length", "2001:db8::/33", "2001:db8:c000:221::", ""},
		{"bad-prefix-host-bits", "2001:db8::1/96", "2001:db8::1", ""},
		{"zoned", "2001:db8::/32", "2001:db8:c000:221::%eth0", "192.0.2.33"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := nat64.Extract(mustPrefix(tt.prefix), mustAddr(tt.addr))
			if tt.want == "" {
				if ok {
					t.Errorf("Extract(%s, %s) = %s, true; want false", tt.prefix, tt.addr, got)
				}
				return
			}
			if !ok || got != mustAddr(tt.want) {
				t.Errorf("Extract(%s, %s) = %s, %v; want %s", tt.prefix, tt.addr, got, ok, tt.want)
			}
		})
	}
}

// TestSynthesizeErrors checks each refusal's sentinel and details.
func TestSynthesizeErrors(t *testing.T) {
	tests := []struct {
		name   string
		prefix netip.Prefix
		v4     netip.Addr
		want   error
	}{
		{"length-33", mustPrefix("2001:db8::/33"), mustAddr("8.8.8.8"), nat64.ErrInvalidPrefix},
		{"length-0", mustPrefix("::/0"), mustAddr("8.8.8.8"), nat64.ErrInvalidPrefix},
		{"length-128", mustPrefix("2001:db8::/128"), mustAddr("8.8.8.8"), nat64.ErrInvalidPrefix},
		{"ipv4-prefix", mustPrefix("192.0.2.0/24"), mustAddr("8.8.8.8"), nat64.ErrInvalidPrefix},
		{"ipv4-mapped-prefix", mustPrefix("::ffff:0:0/96"), mustAddr("8.8.8.8"), nat64.ErrInvalidPrefix},
		{"zero-prefix", netip.Prefix{}, mustAddr("8.8.8.8"), nat64.ErrInvalidPrefix},
		{"host-bits-32", mustPrefix("2001:db8:1::/32"), mustAddr("8.8.8.8"), nat64.ErrInvalidPrefix},
		{"host-bits-96", mustPrefix("2001:db8::1/96"), mustAddr("8.8.8.8"), nat64.ErrInvalidPrefix},
		{"u-octet-96", mustPrefix("2001:db8:0:0:100::/96"), mustAddr("8.8.8.8"), nat64.ErrInvalidPrefix},
		{"v4-is-ipv6", mustPrefix("2001:db8::/32"), mustAddr("2001:db8::1"), nat64.ErrNotIPv4},
		{"v4-is-mapped", mustPrefix("2001:db8::/32"), mustAddr("::ffff:8.8.8.8"), nat64.ErrNotIPv4},
		{"v4-is-zero", mustPrefix("2001:db8::/32"), netip.Addr{}, nat64.ErrNotIPv4},
		{"wkp-rfc1918", nat64.WellKnownPrefix, mustAddr("192.168.1.1"), nat64.ErrNonGlobal},
		{"wkp-loopback", nat64.WellKnownPrefix, mustAddr("127.0.0.1"), nat64.ErrNonGlobal},
		{"wkp-broadcast", nat64.WellKnownPrefix, mustAddr("255.255.255.255"), nat64.ErrNonGlobal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nat64.Synthesize(tt.prefix, tt.v4)
			if !errors.Is(err, tt.want) || got.IsValid() {
				t.Fatalf("Synthesize(%s, %s) = %s, %v; want %v", tt.prefix, tt.v4, got, err, tt.want)
			}
			var e *nat64.Error
			if !errors.As(err, &e) || e.Prefix != tt.prefix {
				t.Fatalf("Synthesize(%s, %s) error %#v: not an *Error naming the prefix", tt.prefix, tt.v4, err)
			}
			if tt.want == nat64.ErrInvalidPrefix && nat64.CheckPrefix(tt.prefix) == nil {
				t.Errorf("CheckPrefix(%s) = nil; Synthesize refused it", tt.prefix)
			}
			if tt.want == nat64.ErrNonGlobal && e.Reason == "" {
				t.Errorf("Synthesize(%s, %s): the error names no range: %v", tt.prefix, tt.v4, err)
			}
		})
	}
}

// nonGlobalText is RFC 5735 section 3's list as text, to check the
// package's table (written as integers) against.
var nonGlobalText = []string{
	"0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
	"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
}

// TestNonGlobalTable checks the first and last address of every range,
// and their neighbours outside it, with the well-known prefix and with
// the local-use prefix, which has no restriction (RFC 8215 section 5).
func TestNonGlobalTable(t *testing.T) {
	inList := func(a netip.Addr) bool {
		for _, s := range nonGlobalText {
			if mustPrefix(s).Contains(a) {
				return true
			}
		}
		return false
	}
	localUse := mustPrefix("64:ff9b:1::/96")
	for _, s := range nonGlobalText {
		p := mustPrefix(s)
		first := p.Addr()
		last := first
		for n := 0; n < 32-p.Bits(); n++ {
			b := last.As4()
			b[3-n/8] |= 1 << (n % 8)
			last = netip.AddrFrom4(b)
		}
		for _, a := range []netip.Addr{first, last, first.Prev(), last.Next()} {
			if !a.IsValid() {
				continue
			}
			want := !inList(a)
			if got := nat64.IsGlobalIPv4(a); got != want {
				t.Errorf("IsGlobalIPv4(%s) = %v; want %v (range %s)", a, got, want, s)
			}
			_, err := nat64.Synthesize(nat64.WellKnownPrefix, a)
			if (err == nil) != want {
				t.Errorf("Synthesize(64:ff9b::/96, %s) error = %v; want global %v", a, err, want)
			}
			if _, err := nat64.Synthesize(localUse, a); err != nil {
				t.Errorf("Synthesize(%s, %s) = %v; want no restriction", localUse, a, err)
			}
		}
	}
	if nat64.IsGlobalIPv4(mustAddr("2001:db8::1")) {
		t.Error("IsGlobalIPv4(2001:db8::1) = true; want false")
	}
}

// TestNoAllocs holds Synthesize, Extract and CheckPrefix to zero
// allocations on success.
func TestNoAllocs(t *testing.T) {
	p, v4 := mustPrefix("2001:db8:122::/48"), mustAddr("192.0.2.33")
	a := mustAddr("2001:db8:122:c000:2:2100::")
	tests := []struct {
		name string
		f    func()
	}{
		{"Synthesize", func() { sinkAddr, sinkErr = nat64.Synthesize(p, v4) }},
		{"Synthesize-wkp", func() { sinkAddr, sinkErr = nat64.Synthesize(nat64.WellKnownPrefix, mustAddr("8.8.8.8")) }},
		{"Extract", func() { sinkAddr, sinkOK = nat64.Extract(p, a) }},
		{"CheckPrefix", func() { sinkErr = nat64.CheckPrefix(p) }},
	}
	for _, tt := range tests {
		if allocs := testing.AllocsPerRun(1000, tt.f); allocs != 0 {
			t.Errorf("%s: allocs = %v; want 0", tt.name, allocs)
		}
	}
	if sinkErr != nil || !sinkOK {
		t.Fatalf("the measured calls failed: %v, %v", sinkErr, sinkOK)
	}
}

var (
	sinkAddr netip.Addr
	sinkErr  error
	sinkOK   bool
)

func BenchmarkSynthesize(b *testing.B) {
	p, v4 := mustPrefix("2001:db8:122::/48"), mustAddr("192.0.2.33")
	b.ReportAllocs()
	for b.Loop() {
		sinkAddr, sinkErr = nat64.Synthesize(p, v4)
	}
}

func BenchmarkExtract(b *testing.B) {
	p, a := mustPrefix("64:ff9b::/96"), mustAddr("64:ff9b::8.8.8.8")
	b.ReportAllocs()
	for b.Loop() {
		sinkAddr, sinkOK = nat64.Extract(p, a)
	}
}

// FuzzSynthesizeExtract checks, for any prefix bytes, length and IPv4
// address, that Synthesize and Extract are inverses, agree with the
// bit-by-bit algorithm, and refuse the same inputs.
func FuzzSynthesizeExtract(f *testing.F) {
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8}, uint8(32), uint32(0xc0000221), uint64(0))
	f.Add([]byte{0x00, 0x64, 0xff, 0x9b}, uint8(96), uint32(0x08080808), uint64(0))
	f.Add([]byte{0x00, 0x64, 0xff, 0x9b}, uint8(96), uint32(0x0a000001), uint64(1))
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8, 1, 0x22, 3, 0x44}, uint8(64), uint32(0xc0000221), uint64(0xff))
	f.Fuzz(func(t *testing.T, pb []byte, n uint8, v uint32, suffix uint64) {
		var b [16]byte
		copy(b[:], pb)
		p := netip.PrefixFrom(netip.AddrFrom16(b), int(n))
		v4 := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		a, err := nat64.Synthesize(p, v4)
		if err != nil {
			if nat64.CheckPrefix(p) == nil && !errors.Is(err, nat64.ErrNonGlobal) {
				t.Fatalf("Synthesize(%s, %s) = %v for a valid prefix", p, v4, err)
			}
			return
		}
		if want := slowSynthesize(p, v4); a != want || !p.Contains(a) {
			t.Fatalf("Synthesize(%s, %s) = %s; want %s", p, v4, a, want)
		}
		if got, ok := nat64.Extract(p, a); !ok || got != v4 {
			t.Fatalf("Extract(%s, %s) = %s, %v; want %s", p, a, got, ok, v4)
		}
		// Extract ignores the suffix: bits after the IPv4 address.
		if n < 96 {
			a16 := a.As16()
			// The suffix starts at octet 9 for a /32, then one octet later
			// for each 8 bits of prefix (RFC 6052 section 2.2, Figure 1).
			for i := (int(n) + 40) / 8; i < 16; i++ {
				a16[i] = byte(suffix >> (8 * (i % 8)))
			}
			if got, ok := nat64.Extract(p, netip.AddrFrom16(a16)); !ok || got != v4 {
				t.Fatalf("Extract(%s, %s) = %s, %v; want %s (suffix ignored)", p, netip.AddrFrom16(a16), got, ok, v4)
			}
		}
	})
}

// TestExtractAny: the first prefix that holds the address answers, in the
// order given; an address in none of them, or a prefix list without a
// valid prefix, gives nothing.
func TestExtractAny(t *testing.T) {
	wkp, nsp := netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("2001:db8:64::/96")
	wide := netip.MustParsePrefix("2001:db8::/32")
	tests := []struct {
		name     string
		prefixes []netip.Prefix
		addr     string
		v4       string
		prefix   netip.Prefix
	}{
		{"well-known", []netip.Prefix{nsp, wkp}, "64:ff9b::c000:201", "192.0.2.1", wkp},
		{"first of two that hold it", []netip.Prefix{nsp, wide}, "2001:db8:64::c000:201", "192.0.2.1", nsp},
		{"order decides", []netip.Prefix{wide, nsp}, "2001:db8:64::c000:201", "0.100.0.0", wide},
		{"in none", []netip.Prefix{wkp}, "2001:db8:64::c000:201", "", netip.Prefix{}},
		{"no prefixes", nil, "64:ff9b::c000:201", "", netip.Prefix{}},
		{"IPv4 address", []netip.Prefix{wkp}, "192.0.2.1", "", netip.Prefix{}},
	}
	for _, tt := range tests {
		v4, p, ok := nat64.ExtractAny(tt.prefixes, netip.MustParseAddr(tt.addr))
		if want := tt.v4 != ""; ok != want || ok && (v4.String() != tt.v4 || p != tt.prefix) {
			t.Errorf("%s: ExtractAny = %v, %v, %v; want %q, %v", tt.name, v4, p, ok, tt.v4, tt.prefix)
		}
	}
}
