package addrselect

import (
	"fmt"

	"github.com/dualstack/dualstack/internal/addrbits"
)

// Rule9Variant says how destination rule 9 ("use longest matching prefix",
// RFC 6724 section 6) is applied. RFC 6724 applies it to two IPv6 or two
// IPv4 destinations, comparing CommonPrefixLen(Source(D), D) bounded by the
// source's prefix length (section 2.2). Because the rule always favours
// the destination numerically closest to the host, it defeats DNS round
// robin: every client picks the same server. The variants trade
// faithfulness to the RFC against load spreading.
//
// Which to pick:
//
//   - [Rule9RFC] (the default): the RFC as written; IPv4 destinations are
//     compared over 32 bits (or the source's prefix length). Use it to
//     reproduce the RFC or when destinations are few and not load-balanced.
//   - [Rule9IPv6Only]: rule 9 for IPv6 only, bounded by the source's
//     prefix length; IPv4 round robin survives. A good general default.
//   - [Rule9IPv6Cap64]: Go's net package: IPv6 only, at most 64 bits
//     whatever the prefix length.
//   - [Rule9SameSubnet]: glibc: IPv6 over all 128 bits; IPv4 only when
//     source and destination are in the same subnet (source prefix),
//     otherwise a tie.
//   - [Rule9OnLink]: both families, but only "on-link or not" counts (the
//     shared prefix reaches the source's prefix length); destinations in
//     the same group keep the input (DNS) order, so round robin survives
//     while an on-link server still comes first. Recommended for MX hosts
//     and other load-balanced names.
//   - [Rule9Off]: no rule 9 at all: after rule 8 (and history) the input
//     order decides. Pick it when the caller shuffles on purpose.
type Rule9Variant uint8

// The rule 9 variants; see [Rule9Variant].
const (
	Rule9RFC        Rule9Variant = iota // both families, bounded by the source prefix length
	Rule9IPv6Only                       // IPv6 only, bounded by the source prefix length
	Rule9IPv6Cap64                      // IPv6 only, at most 64 bits (Go)
	Rule9SameSubnet                     // IPv6 128 bits; IPv4 only within the source's subnet (glibc)
	Rule9OnLink                         // both families, on-link vs not; input order inside a group
	Rule9Off                            // never applied
)

var rule9Names = [...]string{"rfc", "ipv6-only", "ipv6-cap64", "same-subnet", "on-link", "off"}

// String returns the variant's short name, such as "ipv6-only".
func (v Rule9Variant) String() string {
	if int(v) < len(rule9Names) {
		return rule9Names[v]
	}
	return "rule9(?)"
}

// rule9Count is how a profile counts CommonPrefixLen(Source(D), D) for
// rule 9 (RFC 6724 section 2.2 and the variants real stacks implement).
type rule9Count struct {
	variant   Rule9Variant // for the RFC engine's reasons
	anyFamily bool         // compared across families too (musl)
	onLink    bool         // the value is only "on-link or not"
	// count returns the common prefix length as counted, the rule 9
	// value (larger preferred) and the prefix length that bounds the
	// count (for reasons), for the source sx and destination dx in their
	// 128-bit forms, D's family as the profile sees it (v4), and the
	// source's Source.PrefixLen and whether it is a 4-byte IPv4 address.
	count func(sx, dx addrbits.U128, v4 bool, srcPrefix int, src4 bool) (cpl int, val, plen uint8)
	// note says, in a rule 9 reason, which family was compared and how.
	note func(p *profile, w, l *dattr) string
}

// familyBits is the number of leading bits source and destination share
// within their family: over 32 bits for an IPv4 destination (IPv4 as the
// profile sees it), over 128 bits otherwise, 0 when one is IPv4(-mapped)
// and the other is not.
func familyBits(sx, dx addrbits.U128, dstV4 bool) int {
	if sx.IsMapped() != dx.IsMapped() {
		return 0
	}
	n := addrbits.CommonBits(sx, dx)
	if dstV4 {
		n -= 96
	}
	return n
}

// prefixLen returns the source's prefix length, with the RFC profiles'
// assumption for an unknown (0) or out-of-range one: 64 for IPv6, 32 for
// IPv4.
func prefixLen(p int, v4 bool) int {
	limit, assumed := 128, 64
	if v4 {
		limit, assumed = 32, 32
	}
	if p > 0 && p <= limit {
		return p
	}
	return assumed
}

// rfcCount returns the count of the RFC engine's variant v; full counts
// every bit, as RFC 3484 section 2.2 did ([WithFullPrefixMatch]).
func rfcCount(v Rule9Variant, full bool) rule9Count {
	c := rule9Count{variant: v, note: rfcNote(v, full)}
	bounded := func(ipv6Only bool) func(addrbits.U128, addrbits.U128, bool, int, bool) (int, uint8, uint8) {
		return func(sx, dx addrbits.U128, v4 bool, srcPrefix int, _ bool) (int, uint8, uint8) {
			plen := prefixLen(srcPrefix, v4)
			if ipv6Only && v4 {
				return 0, 0, uint8(plen)
			}
			n := familyBits(sx, dx, v4)
			if !full {
				n = min(n, plen)
			}
			return n, uint8(n), uint8(plen)
		}
	}
	switch v {
	case Rule9RFC:
		c.count = bounded(false)
	case Rule9IPv6Only:
		c.count = bounded(true)
	case Rule9IPv6Cap64:
		c.count = func(sx, dx addrbits.U128, v4 bool, srcPrefix int, _ bool) (int, uint8, uint8) {
			if v4 {
				return 0, 0, uint8(prefixLen(srcPrefix, v4))
			}
			n := min(familyBits(sx, dx, v4), 64)
			return n, uint8(n), uint8(prefixLen(srcPrefix, v4))
		}
	case Rule9SameSubnet:
		c.count = sameSubnetCount
	case Rule9OnLink:
		c.onLink = true
		c.count = func(sx, dx addrbits.U128, v4 bool, srcPrefix int, _ bool) (int, uint8, uint8) {
			n, plen := familyBits(sx, dx, v4), prefixLen(srcPrefix, v4)
			return n, uint8(b2u(n >= plen)), uint8(plen)
		}
	}
	return c
}

// sameSubnetCount is glibc's count ([Rule9SameSubnet]): an IPv6 pair
// over all 128 bits; an IPv4 pair only when the destination is inside the
// source's subnet (prefix length 0 meaning /32), else 0.
func sameSubnetCount(sx, dx addrbits.U128, v4 bool, srcPrefix int, _ bool) (int, uint8, uint8) {
	n, plen := familyBits(sx, dx, v4), prefixLen(srcPrefix, v4)
	if !v4 {
		plen = 128
	} else if n < plen {
		return 0, 0, uint8(plen)
	}
	return n, uint8(n), uint8(plen)
}

// all128Count counts every bit of the IPv6 (IPv4-mapped) forms, across
// families (musl).
func all128Count(sx, dx addrbits.U128, _ bool, _ int, _ bool) (int, uint8, uint8) {
	n := addrbits.CommonBits(sx, dx)
	return n, uint8(n), 128
}

// rfcNote describes the RFC engine's count in a rule 9 reason.
func rfcNote(v Rule9Variant, full bool) func(*profile, *dattr, *dattr) string {
	return func(_ *profile, w, _ *dattr) string {
		fam := famName(w.v4)
		switch v {
		case Rule9RFC, Rule9IPv6Only:
			if full && v == Rule9RFC {
				return fam + ", all bits compared as in RFC 3484 section 2.2"
			}
			if full {
				return fmt.Sprintf("%s, all bits compared as in RFC 3484 section 2.2, rule 9 variant %s", fam, v)
			}
		case Rule9IPv6Cap64:
			return fmt.Sprintf("%s, at most 64 bits, rule 9 variant %s", fam, v)
		case Rule9SameSubnet:
			if w.v4 {
				return fmt.Sprintf("%s, counted only inside the source's /%d subnet, rule 9 variant %s", fam, w.plen, v)
			}
			return fmt.Sprintf("%s, all 128 bits, rule 9 variant %s", fam, v)
		}
		return fmt.Sprintf("%s, rule 9 variant %s", fam, v)
	}
}
