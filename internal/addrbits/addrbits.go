// Package addrbits holds the 128-bit form of an address that policytable,
// addrselect and mxorder compute with: IPv6 as two big-endian halves, IPv4
// in its IPv4-mapped form (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2), as
// RFC 6724 section 2.1 and section 3.2 treat IPv4.
package addrbits

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"unsafe"
)

// U128 is an address as two big-endian halves: Hi holds bits 0-63.
type U128 struct{ Hi, Lo uint64 }

// From returns the 128-bit form of a: IPv4 as IPv4-mapped IPv6, zones
// ignored, the zero Addr as ::. It does not allocate.
//
// Every address the rules look at passes through here, several times per
// destination of a sort, so From reads the two 64-bit halves that
// netip.Addr keeps in this very form (IPv4 mapped, high half first, the
// zero Addr as zeros) straight from the value when directLayout found
// that layout at start-up, and through AsSlice otherwise.
func From(a netip.Addr) U128 {
	if directLayout {
		return *(*U128)(unsafe.Pointer(&a))
	}
	return fromBytes(a)
}

// fromBytes is From through the address's bytes.
func fromBytes(a netip.Addr) U128 {
	b := a.AsSlice() // inlined: the slice stays on the stack
	switch len(b) {
	case 4:
		return U128{0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b))}
	case 16:
		return U128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])}
	}
	return U128{}
}

// directLayout reports whether netip.Addr starts with the address as
// two uint64 halves, high first, IPv4 mapped: so it has since Go 1.18.
// It compares the direct reading with fromBytes on addresses of each
// kind, so that a different layout in a future Go release falls back to
// the portable path instead of giving wrong answers.
var directLayout = func() bool {
	if unsafe.Sizeof(netip.Addr{}) < unsafe.Sizeof(U128{}) {
		return false
	}
	for _, s := range []string{"1:203:405:607:809:a0b:c0d:e0f", "192.0.2.1", "::ffff:192.0.2.1", "fe80::1%eth0", "::"} {
		a := netip.MustParseAddr(s)
		if *(*U128)(unsafe.Pointer(&a)) != fromBytes(a) {
			return false
		}
	}
	var zero netip.Addr
	return *(*U128)(unsafe.Pointer(&zero)) == U128{}
}()

// FromIPv4 returns the IPv4-mapped form of the IPv4 address v (a.b.c.d
// as the integer a<<24|b<<16|c<<8|d).
func FromIPv4(v uint32) U128 { return U128{0, 0xffff<<32 | uint64(v)} }

// Addr returns x as an IPv6 address (an IPv4-mapped one stays mapped).
func (x U128) Addr() netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], x.Hi)
	binary.BigEndian.PutUint64(b[8:], x.Lo)
	return netip.AddrFrom16(b)
}

// IsMapped reports whether x is in ::ffff:0:0/96, the IPv4 family.
func (x U128) IsMapped() bool { return x.Hi == 0 && x.Lo>>32 == 0xffff }

// IPv4 returns the low 32 bits: the IPv4 address of a mapped x.
func (x U128) IPv4() uint32 { return uint32(x.Lo) }

// Compare orders x and y as unsigned 128-bit numbers.
func (x U128) Compare(y U128) int {
	if c := cmp.Compare(x.Hi, y.Hi); c != 0 {
		return c
	}
	return cmp.Compare(x.Lo, y.Lo)
}

// AddOne returns x+1 and whether it wrapped around past the last address.
func (x U128) AddOne() (U128, bool) {
	lo, c := bits.Add64(x.Lo, 1, 0)
	hi, c2 := bits.Add64(x.Hi, 0, c)
	return U128{hi, lo}, c2 != 0
}

// Last returns the last address of the prefix x/n (x's bits past n set).
func (x U128) Last(n int) U128 {
	switch {
	case n <= 0:
		return U128{^uint64(0), ^uint64(0)}
	case n < 64:
		return U128{x.Hi | ^uint64(0)>>n, ^uint64(0)}
	case n < 128:
		return U128{x.Hi, x.Lo | ^uint64(0)>>(n-64)}
	}
	return x
}

// CommonBits returns the number of leading bits x and y share, 0 to 128.
func CommonBits(x, y U128) int {
	if d := x.Hi ^ y.Hi; d != 0 {
		return bits.LeadingZeros64(d)
	}
	return 64 + bits.LeadingZeros64(x.Lo^y.Lo)
}

// Scope values of RFC 4291 section 2.7, as IPv6Scope returns them.
const (
	ScopeLinkLocal = 0x2
	ScopeSiteLocal = 0x5
	ScopeGlobal    = 0xe
)

// IPv6Scope returns the scope of the IPv6 address x by RFC 6724 section
// 3.1: a multicast address's scope field; link-local for fe80::/10 and
// ::1 (section 3.4 treats loopback as link-local); site-local for the
// deprecated fec0::/10; global otherwise (IPv4-mapped addresses included:
// their section 3.2 scope needs a table).
func (x U128) IPv6Scope() uint8 {
	switch {
	case x.Hi>>56 == 0xff: // multicast: the scope field
		return uint8(x.Hi >> 48 & 0xf)
	case x.Hi == 0 && x.Lo == 1, x.Hi>>54 == 0xfe80>>6:
		return ScopeLinkLocal
	case x.Hi>>54 == 0xfec0>>6:
		return ScopeSiteLocal
	}
	return ScopeGlobal
}

// Less reports whether x < y as unsigned 128-bit numbers. Unlike
// Compare, it is small enough to be inlined on lookup paths.
func (x U128) Less(y U128) bool { return x.Hi < y.Hi || x.Hi == y.Hi && x.Lo < y.Lo }
