package nat64

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/dualstack/dualstack/internal/addrbits"
)

// Errors that [Synthesize] and [CheckPrefix] wrap in an [*Error]; test
// with errors.Is.
var (
	// ErrInvalidPrefix: the prefix fails [CheckPrefix] (RFC 6052
	// section 2.2); the [*Error]'s Reason says why. Fix the
	// configuration.
	ErrInvalidPrefix = errors.New("invalid NAT64 prefix")
	// ErrNotIPv4: the address to embed is not an IPv4 address (an
	// IPv4-mapped IPv6 address is refused too: Unmap it first).
	ErrNotIPv4 = errors.New("not an IPv4 address")
	// ErrNonGlobal: the well-known prefix 64:ff9b::/96 with a non-global
	// IPv4 address, which RFC 6052 section 3.1 forbids and translators
	// drop. Reach such an address through a network-specific prefix, or
	// natively.
	ErrNonGlobal = errors.New("non-global IPv4 address with the well-known prefix")
)

// Error describes why a prefix or an address cannot be used for RFC 6052
// synthesis.
type Error struct {
	Prefix netip.Prefix
	Addr   netip.Addr // the IPv4 argument; zero when the prefix is at fault
	Err    error      // ErrInvalidPrefix, ErrNotIPv4 or ErrNonGlobal
	Reason string     // detail: which rule, or which special-purpose range
}

// Error names the prefix or address and the reason.
func (e *Error) Error() string {
	s := "nat64: "
	if e.Addr.IsValid() {
		s += e.Addr.String() + " with "
	}
	s += "prefix " + e.Prefix.String() + ": " + e.Err.Error()
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

// Unwrap returns the sentinel error, for errors.Is.
func (e *Error) Unwrap() error { return e.Err }

// WellKnownPrefix is 64:ff9b::/96, the Well-Known Prefix of RFC 6052
// section 2.1. Only it carries the section 3.1 restriction on non-global
// IPv4 addresses.
var WellKnownPrefix = netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0x00, 1: 0x64, 2: 0xff, 3: 0x9b}), 96)

// LocalUsePrefix is 64:ff9b:1::/48, reserved by RFC 8215 for local use
// with translators; section 5 of that RFC says the WKP restrictions do
// not apply to it. A deployment picks a /96 (or other RFC 6052 length)
// inside it.
var LocalUsePrefix = netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0x00, 1: 0x64, 2: 0xff, 3: 0x9b, 5: 0x01}), 48)

// CheckPrefix reports whether p can be used as a NAT64 prefix by RFC
// 6052 section 2.2: an IPv6 prefix (not IPv4-mapped) of length 32, 40,
// 48, 56, 64 or 96, with no bits set past its length and, for a /96,
// bits 64-71 zero. It returns nil or an [*Error] wrapping
// [ErrInvalidPrefix]. It does not allocate when p is valid.
func CheckPrefix(p netip.Prefix) error {
	if _, reason := prefixBits(p); reason != "" {
		return &Error{Prefix: p, Err: ErrInvalidPrefix, Reason: reason}
	}
	return nil
}

// prefixBits returns the 128-bit form of a valid NAT64 prefix, or why p
// is not one.
func prefixBits(p netip.Prefix) (addrbits.U128, string) {
	x := addrbits.From(p.Addr())
	switch n := p.Bits(); {
	case !p.IsValid():
		return x, "the zero or an invalid prefix"
	case !p.Addr().Is6(), p.Addr().Is4In6():
		return x, "not an IPv6 prefix"
	case n != 32 && n != 40 && n != 48 && n != 56 && n != 64 && n != 96:
		return x, "length must be 32, 40, 48, 56, 64 or 96 (RFC 6052 section 2.2)"
	case n <= 64 && x.Hi<<n|x.Lo != 0, n == 96 && uint32(x.Lo) != 0:
		return x, "bits set past the prefix length"
	case x.Lo>>56 != 0:
		// Section 2.2: bits 64-71 (the u octet) MUST be zero, also in a
		// /96 network-specific prefix.
		return x, "bits 64-71 must be zero (RFC 6052 section 2.2)"
	}
	return x, ""
}

// Synthesize returns the IPv4-embedded IPv6 address for v4 under prefix,
// in the format of RFC 6052 section 2.2 (algorithm of section 2.3): the
// IPv4 address follows the prefix, skipping bits 64-71 (the "u" octet,
// zero), and the suffix is zero.
//
// It returns an [*Error] wrapping [ErrInvalidPrefix] when [CheckPrefix]
// refuses prefix, [ErrNotIPv4] when v4 is not an IPv4 address, and
// [ErrNonGlobal] for the well-known prefix 64:ff9b::/96 with an address
// in the non-global ranges (see the package documentation; the local-use
// prefix 64:ff9b:1::/48 of RFC 8215 has no such restriction). It does not
// allocate unless it returns an error.
func Synthesize(prefix netip.Prefix, v4 netip.Addr) (netip.Addr, error) {
	p, reason := prefixBits(prefix)
	switch {
	case reason != "":
		return netip.Addr{}, &Error{Prefix: prefix, Err: ErrInvalidPrefix, Reason: reason}
	case !v4.Is4():
		return netip.Addr{}, &Error{Prefix: prefix, Addr: v4, Err: ErrNotIPv4}
	}
	if prefix == WellKnownPrefix {
		if r, bad := nonGlobal(v4); bad {
			return netip.Addr{}, &Error{Prefix: prefix, Addr: v4, Err: ErrNonGlobal,
				Reason: "RFC 6052 section 3.1: " + r.p.String() + ", " + r.what}
		}
	}
	return embed(p, prefix.Bits(), addrbits.From(v4).IPv4()).Addr(), nil
}

// Extract returns the IPv4 address embedded in a under prefix, and
// whether there is one, by RFC 6052 section 2.3: a must be an IPv6
// address inside prefix with bits 64-71 zero (section 2.2's MUST), and
// prefix must pass [CheckPrefix]. The suffix bits are ignored, as
// section 2.2 asks of translators. Synthesize(prefix, v4) gives a back
// with its suffix cleared.
//
// Extract answers what an address stands for, not whether a translator
// will carry it: with the well-known prefix it also returns non-global
// IPv4 addresses, which [Synthesize] refuses (see the package
// documentation); [IsGlobalIPv4] tells whether the well-known prefix can
// reach them. It does not allocate.
func Extract(prefix netip.Prefix, a netip.Addr) (netip.Addr, bool) {
	p, reason := prefixBits(prefix)
	x, n := addrbits.From(a), prefix.Bits()
	if reason != "" || !a.Is6() || a.Is4In6() || addrbits.CommonBits(x, p) < n || x.Lo>>56 != 0 {
		return netip.Addr{}, false
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], extract(x, n))
	return netip.AddrFrom4(b), true
}

// ExtractAny is [Extract] under the first of prefixes that holds a (a
// host's prefixes in the order it prefers them, RFC 7050 section 3): the
// IPv4 address a stands for and that prefix. It does not allocate.
func ExtractAny(prefixes []netip.Prefix, a netip.Addr) (netip.Addr, netip.Prefix, bool) {
	for _, p := range prefixes {
		if v4, ok := Extract(p, a); ok {
			return v4, p, true
		}
	}
	return netip.Addr{}, netip.Prefix{}, false
}

// embed places the IPv4 address v after the n-bit prefix p (section 2.3):
// for n <= 64 the first 64-n bits of v end bits 0-63 and the rest start
// at bit 72, after the u octet; for n = 96 v fills bits 96-127.
func embed(p addrbits.U128, n int, v uint32) addrbits.U128 {
	if n == 96 {
		return addrbits.U128{Hi: p.Hi, Lo: p.Lo | uint64(v)}
	}
	k := uint(64 - n) // IPv4 bits before the u octet: 0 to 32
	return addrbits.U128{
		Hi: p.Hi | uint64(v)>>(32-k),
		Lo: (uint64(v) & (1<<(32-k) - 1)) << (24 + k),
	}
}

// extract is the inverse of embed: the 32 bits after the n-bit prefix
// once the u octet is removed.
func extract(x addrbits.U128, n int) uint32 {
	if n == 96 {
		return uint32(x.Lo)
	}
	k := uint(64 - n)
	hi := x.Hi & (1<<k - 1)
	lo := x.Lo >> (24 + k) & (1<<(32-k) - 1)
	return uint32(hi<<(32-k) | lo)
}

// nonGlobalRanges are the IPv4 addresses that RFC 6052 section 3.1 calls
// non-global: "such as those defined in [RFC1918] or listed in Section 3
// of [RFC5735]". The rows are RFC 5735 section 3's list, in its order,
// each with the RFC that section cites for it. The RFC 5735 and RFC 6890
// texts are not among the references this package was written from: the
// rows follow RFC 5735 section 3 as published, and agree with the ranges
// tayga 0.9.2 refuses with the well-known prefix (RFC 1918, 192.0.2.0/24,
// 198.18.0.0/15, 198.51.100.0/24 and 203.0.113.0/24 were tested).
//
// Deliberate differences from RFC 6890, which obsoletes RFC 5735:
// 100.64.0.0/10 (RFC 6598) is absent (see the package documentation);
// 192.88.99.0/24 (6to4 relay anycast, deprecated by RFC 7526) is present,
// although RFC 6890 calls it global; 224.0.0.0/4 is present, although
// RFC 6890 leaves multicast out of its registry.
var nonGlobalRanges = [...]special{
	{mp("0.0.0.0/8"), `"this" network (RFC 1122 section 3.2.1.3)`},
	{mp("10.0.0.0/8"), "private-use network (RFC 1918)"},
	{mp("127.0.0.0/8"), "loopback (RFC 1122 section 3.2.1.3)"},
	{mp("169.254.0.0/16"), "link local (RFC 3927)"},
	{mp("172.16.0.0/12"), "private-use network (RFC 1918)"},
	{mp("192.0.0.0/24"), "IETF protocol assignments (RFC 5736)"},
	{mp("192.0.2.0/24"), "TEST-NET-1, documentation (RFC 5737)"},
	{mp("192.88.99.0/24"), "6to4 relay anycast (RFC 3068)"},
	{mp("192.168.0.0/16"), "private-use network (RFC 1918)"},
	{mp("198.18.0.0/15"), "network interconnect device benchmark testing (RFC 2544)"},
	{mp("198.51.100.0/24"), "TEST-NET-2, documentation (RFC 5737)"},
	{mp("203.0.113.0/24"), "TEST-NET-3, documentation (RFC 5737)"},
	{mp("224.0.0.0/4"), "multicast (RFC 3171)"},
	{mp("240.0.0.0/4"), "reserved for future use, with the limited broadcast address (RFC 1112 section 4)"},
}

func mp(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// nonGlobal reports whether v is in one of nonGlobalRanges, and which.
func nonGlobal(v netip.Addr) (special, bool) {
	for _, r := range nonGlobalRanges {
		if r.p.Contains(v) {
			return r, true
		}
	}
	return special{}, false
}

// special is an IPv4 special-purpose range and what it is, with the RFC
// that defines it.
type special struct {
	p    netip.Prefix
	what string
}

// IsGlobalIPv4 reports whether the IPv4 address v may be embedded in the
// well-known prefix: false for the RFC 6052 section 3.1 non-global
// ranges listed in the package documentation and for anything that is
// not an IPv4 address.
func IsGlobalIPv4(v netip.Addr) bool {
	_, bad := nonGlobal(v)
	return v.Is4() && !bad
}
