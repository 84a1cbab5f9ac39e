package nat64_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect/nat64"
)

var learned = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// option builds a PREF64 option from its fields.
func option(typ, length byte, scaled uint16, plc uint16, prefix12 []byte) []byte {
	v := scaled<<3 | plc
	b := []byte{typ, length, byte(v >> 8), byte(v)}
	return append(b, prefix12...)
}

var (
	wkp12 = []byte{0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}
	nsp12 = []byte{0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22, 0x03, 0x44, 0, 0, 0, 0}
	zero4 = []byte{0, 0, 0, 0}
)

func TestParseOption(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		prefix   string
		lifetime time.Duration
	}{
		{"wkp-1800s", option(38, 2, 225, 0, wkp12), "64:ff9b::/96", 1800 * time.Second},
		{"plc1-64", option(38, 2, 1, 1, nsp12), "2001:db8:122:344::/64", 8 * time.Second},
		{"plc2-56", option(38, 2, 2, 2, append([]byte{0x20, 1, 0xd, 0xb8, 1, 0x22, 3, 0}, zero4...)), "2001:db8:122:300::/56", 16 * time.Second},
		{"plc3-48", option(38, 2, 3, 3, append([]byte{0x20, 1, 0xd, 0xb8, 1, 0x22, 0, 0}, zero4...)), "2001:db8:122::/48", 24 * time.Second},
		{"plc4-40", option(38, 2, 4, 4, append([]byte{0x20, 1, 0xd, 0xb8, 1, 0, 0, 0}, zero4...)), "2001:db8:100::/40", 32 * time.Second},
		{"plc5-32", option(38, 2, 5, 5, append([]byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0}, zero4...)), "2001:db8::/32", 40 * time.Second},
		{"max-lifetime", option(38, 2, 8191, 0, nsp12), "2001:db8:122:344::/96", 65528 * time.Second},
		{"withdrawn", option(38, 2, 0, 0, nsp12), "2001:db8:122:344::/96", 0},
		{"next-option-follows", append(option(38, 2, 225, 0, wkp12), 25, 3, 0, 0), "64:ff9b::/96", 1800 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nat64.ParseOption(tt.in, learned)
			want := nat64.PREF64{Prefix: mustPrefix(tt.prefix), Lifetime: tt.lifetime, Learned: learned}
			if err != nil || got != want {
				t.Fatalf("ParseOption(% x) = %+v, %v; want %+v", tt.in, got, err, want)
			}
			out, err := got.AppendOption([]byte{0xee})
			if err != nil || !bytes.Equal(out, append([]byte{0xee}, tt.in[:16]...)) {
				t.Errorf("AppendOption = % x, %v; want ee % x", out, err, tt.in[:16])
			}
			if n := testing.AllocsPerRun(100, func() { sinkPREF64, sinkErr = nat64.ParseOption(tt.in, learned) }); n != 0 {
				t.Errorf("ParseOption allocs = %v; want 0", n)
			}
		})
	}
}

var sinkPREF64 nat64.PREF64

func TestParseOptionErrors(t *testing.T) {
	hostBits := append([]byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 1}, zero4...)
	uOctet := []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 1, 0, 0, 0}
	mapped := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}
	tests := []struct {
		name   string
		in     []byte
		want   error // a cause errors.Is finds, beyond the offset
		offset int
	}{
		{"empty", nil, nil, 0},
		{"one-octet", []byte{38}, nil, 1},
		{"truncated", option(38, 2, 225, 0, wkp12)[:15], nil, 1},
		{"rdnss", option(25, 2, 225, 0, wkp12), nil, 0},
		{"length-1", option(38, 1, 225, 0, wkp12), nil, 1},
		{"length-3", append(option(38, 3, 225, 0, wkp12), make([]byte, 8)...), nil, 1},
		{"length-0", option(38, 0, 225, 0, wkp12), nil, 1},
		{"plc-6", option(38, 2, 225, 6, wkp12), nil, 3},
		{"plc-7", option(38, 2, 225, 7, wkp12), nil, 3},
		{"host-bits-32", option(38, 2, 225, 5, hostBits), nat64.ErrInvalidPrefix, 4},
		{"u-octet-96", option(38, 2, 225, 0, uOctet), nat64.ErrInvalidPrefix, 4},
		{"ipv4-mapped-96", option(38, 2, 225, 0, mapped), nat64.ErrInvalidPrefix, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nat64.ParseOption(tt.in, learned)
			var oe *nat64.OptionError
			if !errors.As(err, &oe) || oe.Offset != tt.offset || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("ParseOption(% x) = %+v, %v; want %v at octet %d", tt.in, got, err, tt.want, tt.offset)
			}
			if got != (nat64.PREF64{}) {
				t.Errorf("ParseOption(% x) returned %+v with its error", tt.in, got)
			}
		})
	}
}

func TestAppendOption(t *testing.T) {
	wkp := nat64.WellKnownPrefix
	tests := []struct {
		name   string
		p      nat64.PREF64
		scaled uint16 // want, when fails is false
		fails  bool
		err    error // a cause errors.Is finds, when fails
	}{
		{"zero", nat64.PREF64{Prefix: wkp}, 0, false, nil},
		{"one-second-rounds-up", nat64.PREF64{Prefix: wkp, Lifetime: time.Second}, 1, false, nil},
		{"one-nanosecond-rounds-up", nat64.PREF64{Prefix: wkp, Lifetime: 1}, 1, false, nil},
		{"9s-rounds-up", nat64.PREF64{Prefix: wkp, Lifetime: 9 * time.Second}, 2, false, nil},
		{"exact", nat64.PREF64{Prefix: wkp, Lifetime: 1800 * time.Second}, 225, false, nil},
		{"max", nat64.PREF64{Prefix: wkp, Lifetime: nat64.MaxLifetime}, 8191, false, nil},
		{"over-max", nat64.PREF64{Prefix: wkp, Lifetime: nat64.MaxLifetime + 1}, 0, true, nil},
		{"negative", nat64.PREF64{Prefix: wkp, Lifetime: -time.Second}, 0, true, nil},
		{"bad-prefix", nat64.PREF64{Prefix: mustPrefix("2001:db8::/33")}, 0, true, nat64.ErrInvalidPrefix},
		{"zero-prefix", nat64.PREF64{}, 0, true, nat64.ErrInvalidPrefix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte{1, 2}
			got, err := tt.p.AppendOption(b)
			if tt.fails {
				var oe *nat64.OptionError
				if !errors.As(err, &oe) || tt.err != nil && !errors.Is(err, tt.err) || !bytes.Equal(got, b) {
					t.Fatalf("AppendOption(%+v) = % x, %v; want an *OptionError (%v) and b unchanged", tt.p, got, err, tt.err)
				}
				return
			}
			want := append([]byte{1, 2}, option(38, 2, tt.scaled, 0, wkp12)...)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("AppendOption(%+v) = % x, %v; want % x", tt.p, got, err, want)
			}
		})
	}
}

func TestPREF64Validity(t *testing.T) {
	p := nat64.PREF64{Prefix: nat64.WellKnownPrefix, Lifetime: 1800 * time.Second, Learned: learned}
	tests := []struct {
		name      string
		p         nat64.PREF64
		at        time.Time
		valid     bool
		remaining time.Duration
	}{
		{"at-learning", p, learned, true, 1800 * time.Second},
		{"midway", p, learned.Add(1000 * time.Second), true, 800 * time.Second},
		{"last-nanosecond", p, p.Expires().Add(-1), true, 1},
		{"at-expiry", p, p.Expires(), false, 0},
		{"before-learning", p, learned.Add(-time.Second), false, 0},
		{"withdrawn", nat64.PREF64{Prefix: p.Prefix, Learned: learned}, learned, false, 0},
		{"learned-unknown", nat64.PREF64{Prefix: p.Prefix, Lifetime: time.Hour}, learned, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.ValidAt(tt.at); got != tt.valid {
				t.Errorf("ValidAt(%v) = %v; want %v", tt.at, got, tt.valid)
			}
			if got := tt.p.Remaining(tt.at); got != tt.remaining {
				t.Errorf("Remaining(%v) = %v; want %v", tt.at, got, tt.remaining)
			}
		})
	}
	if got, want := p.Expires(), learned.Add(30*time.Minute); !got.Equal(want) {
		t.Errorf("Expires() = %v; want %v", got, want)
	}
}

// FuzzParseOption checks that every option ParseOption accepts is
// written back octet for octet by AppendOption, and parsed again to the
// same value; that refusals are *OptionErrors; and that accepted
// prefixes are usable for synthesis.
func FuzzParseOption(f *testing.F) {
	for _, b := range [][]byte{
		option(38, 2, 225, 0, wkp12),
		option(38, 2, 8191, 1, nsp12),
		option(38, 2, 0, 5, append([]byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0}, zero4...)),
		option(38, 2, 225, 6, wkp12),
		option(38, 3, 225, 0, wkp12),
		option(25, 2, 225, 0, wkp12),
		option(38, 2, 225, 5, append([]byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 1}, zero4...)),
		option(38, 2, 225, 0, []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 1, 0, 0, 0}),
		{38, 2, 0},
		{},
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := nat64.ParseOption(b, learned)
		if err != nil {
			var oe *nat64.OptionError
			if !errors.As(err, &oe) || oe.Offset < 0 || oe.Offset > 16 {
				t.Fatalf("ParseOption(% x) error %#v: not an *OptionError with an offset in the option", b, err)
			}
			return
		}
		out, err := p.AppendOption(nil)
		if err != nil || !bytes.Equal(out, b[:16]) {
			t.Fatalf("ParseOption(% x) = %+v; AppendOption = % x, %v", b, p, out, err)
		}
		again, err := nat64.ParseOption(out, learned)
		if err != nil || again != p {
			t.Fatalf("ParseOption(AppendOption(%+v)) = %+v, %v", p, again, err)
		}
		if _, err := nat64.Synthesize(p.Prefix, mustAddr("8.8.8.8")); err != nil {
			t.Fatalf("ParseOption(% x) accepted unusable prefix %s: %v", b, p.Prefix, err)
		}
	})
}
