package nat64

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

const (
	// OptionType is the IPv6 Neighbor Discovery option type of PREF64
	// (RFC 8781 section 6).
	OptionType = 38
	// OptionLen is the length in octets of a PREF64 option: its Length
	// field is 2, in units of 8 octets (RFC 8781 section 4).
	OptionLen = 16
	// MaxLifetime is the longest lifetime a PREF64 option can carry: 8191
	// units of 8 seconds, 65528 seconds (RFC 8781 section 4.1).
	MaxLifetime = 8191 * 8 * time.Second
)

// PREF64 is a NAT64 prefix learned from a router advertisement's PREF64
// option (RFC 8781), with its lifetime and the time it was learned.
//
// RFC 8781 section 5.1 asks hosts to treat it as specific to the
// interface it arrived on, and to prefer it over prefixes found by
// [Discover] when both exist.
type PREF64 struct {
	Prefix netip.Prefix
	// Lifetime is how long from Learned the prefix may be used: a
	// multiple of 8 seconds up to MaxLifetime. Zero means the router
	// withdraws the prefix: it SHOULD NOT be used any more.
	Lifetime time.Duration
	// Learned is when the advertisement arrived; the zero Time when
	// unknown (then ValidAt reports false).
	Learned time.Time
}

// Expires returns the time the prefix stops being valid.
func (p PREF64) Expires() time.Time { return p.Learned.Add(p.Lifetime) }

// ValidAt reports whether the prefix may be used at t: Learned is known,
// t is not before Learned and comes before Learned+Lifetime (a zero
// Lifetime is never valid).
func (p PREF64) ValidAt(t time.Time) bool {
	return !p.Learned.IsZero() && !t.Before(p.Learned) && t.Before(p.Expires())
}

// Remaining returns how much of the lifetime is left at t, zero once it
// has expired (or when ValidAt(t) is false).
func (p PREF64) Remaining(t time.Time) time.Duration {
	if !p.ValidAt(t) {
		return 0
	}
	return p.Expires().Sub(t)
}

// Causes of an [*OptionError].
var (
	errOptionType   = errors.New("not a PREF64 option (type 38)")
	errOptionLength = errors.New("PREF64 option length is not 2 (16 octets)")
	errPLC          = errors.New("PREF64 prefix length code is not 0-5")
	errLifetime     = errors.New("PREF64 lifetime out of range")
)

// OptionError reports a PREF64 option that cannot be parsed or encoded;
// RFC 8781 section 4 asks receivers to ignore such an option. Offset
// names the faulty field: 0 the type, 1 the length (or a short buffer),
// 2 the lifetime, 3 the prefix length code, 4 the prefix (Err is then an
// [*Error] wrapping [ErrInvalidPrefix]).
type OptionError struct {
	Offset int // octet offset of the faulty field in the option
	Err    error
}

// Error names the offset of the bad field and the reason.
func (e *OptionError) Error() string {
	return "nat64: PREF64 option at octet " + strconv.Itoa(e.Offset) + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *OptionError) Unwrap() error { return e.Err }

// plcBits maps the Prefix Length Code to the prefix length (RFC 8781
// section 4).
var plcBits = [6]int{96, 64, 56, 48, 40, 32}

// ParseOption parses one PREF64 option, b starting at its Type field;
// octets after the option's 16 are not read, so b may run on into the
// next option. The result has Learned set to learned.
//
// It returns an [*OptionError] when the type is not 38, the Length field
// is not 2 or b is shorter than 16 octets, the PLC is 6 or 7 (the RFC's
// "MUST ignore" cases), or [CheckPrefix] refuses the prefix: bits set
// past its length, or bits 64-71 of a /96 set (RFC 6052 section 2.2).
// RFC 8781 does not say what to do with host bits; ParseOption refuses
// them rather than masking, so that every option it accepts is the one
// [PREF64.AppendOption] writes back. It does not allocate unless it
// returns an error.
func ParseOption(b []byte, learned time.Time) (PREF64, error) {
	switch {
	case len(b) < 2:
		return PREF64{}, &OptionError{Offset: len(b), Err: errOptionLength}
	case b[0] != OptionType:
		return PREF64{}, &OptionError{Offset: 0, Err: errOptionType}
	case b[1] != OptionLen/8 || len(b) < OptionLen:
		return PREF64{}, &OptionError{Offset: 1, Err: errOptionLength}
	}
	v := uint16(b[2])<<8 | uint16(b[3])
	plc := v & 7
	if int(plc) >= len(plcBits) {
		return PREF64{}, &OptionError{Offset: 3, Err: errPLC}
	}
	var a [16]byte
	copy(a[:12], b[4:16])
	p := netip.PrefixFrom(netip.AddrFrom16(a), plcBits[plc])
	if err := CheckPrefix(p); err != nil {
		return PREF64{}, &OptionError{Offset: 4, Err: err}
	}
	return PREF64{Prefix: p, Lifetime: time.Duration(v>>3) * 8 * time.Second, Learned: learned}, nil
}

// AppendOption appends p as a 16-octet PREF64 option to b (RFC 8781
// section 4). The lifetime is rounded up to a multiple of 8 seconds, as
// section 4.1 asks of routers (so a lifetime under 8 seconds becomes 8).
// It returns an [*OptionError] when p.Prefix fails [CheckPrefix] or the
// lifetime is negative or above [MaxLifetime]; b is then returned
// unchanged.
func (p PREF64) AppendOption(b []byte) ([]byte, error) {
	if err := CheckPrefix(p.Prefix); err != nil {
		return b, &OptionError{Offset: 4, Err: err}
	}
	if p.Lifetime < 0 || p.Lifetime > MaxLifetime {
		return b, &OptionError{Offset: 2, Err: errLifetime}
	}
	units := (p.Lifetime + 8*time.Second - 1) / (8 * time.Second)
	v := uint16(units)<<3 | uint16(slices.Index(plcBits[:], p.Prefix.Bits()))
	a := p.Prefix.Addr().As16()
	b = append(b, OptionType, OptionLen/8, byte(v>>8), byte(v))
	return append(b, a[:12]...), nil
}
