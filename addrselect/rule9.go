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
	kind      countKind
	full      bool // count every bit, as RFC 3484 section 2.2 did
	anyFamily bool // compared across families too (musl)
	// note says, in a rule 9 reason, which family was compared and how,
	// for the winner w and the loser l.
	note func(w, l *dattr) string
}

// countKind is one way of counting the common prefix for rule 9.
type countKind uint8

const (
	countNone countKind = iota // no rule 9 ([Rule9Off])
	// countBounded: the leading bits within the family, at most the
	// source's prefix length (RFC 6724 section 2.2; all bits with full).
	countBounded
	// countBoundedIPv6: countBounded for IPv6, 0 for IPv4 ([Rule9IPv6Only]).
	countBoundedIPv6
	// countCap64: IPv6 only, at most 64 bits ([Rule9IPv6Cap64]).
	countCap64
	// countSameSubnet: IPv6 over all 128 bits; IPv4 only when the
	// destination is inside the source's subnet (prefix length 0 meaning
	// /32), else 0 ([Rule9SameSubnet], glibc).
	countSameSubnet
	// countOnLink: 1 when the shared prefix reaches the source's prefix
	// length, else 0 ([Rule9OnLink]).
	countOnLink
	// countGo: Go's net package (countWhole counts it and the kinds
	// after it): for an IPv6 destination, the leading
	// bits of the 16-byte forms of source and destination, at most 64
	// (Go's reading of section 2.2); a 4-byte IPv4 source shares none;
	// IPv4 and IPv4-mapped destinations are never counted.
	countGo
	// countAll128: every bit of the IPv6 (IPv4-mapped) forms, across
	// families (musl).
	countAll128
	// countAll128IPv6: countAll128 for IPv6 (IPv4-mapped included), 0
	// for IPv4 (c-ares).
	countAll128IPv6
)

// count returns CommonPrefixLen(Source(D), D) as c counts it, the rule 9
// value (larger preferred) and the prefix length that bounds the count
// (for reasons), for the source src and destination D in their 128-bit
// forms sx and dx, with D's family as the profile sees it (v4).
func (c *rule9Count) count(sx, dx addrbits.U128, v4 bool, src *Source) (cpl int, val, plen uint8) {
	if c.kind >= countGo {
		return c.countWhole(sx, dx, v4, src)
	}
	pl := prefixLen(src.PrefixLen, v4)
	n := familyBits(sx, dx, v4)
	switch c.kind {
	case countBounded, countBoundedIPv6:
		if c.kind == countBoundedIPv6 && v4 {
			return 0, 0, uint8(pl)
		}
		if !c.full {
			n = min(n, pl)
		}
	case countCap64:
		if v4 {
			return 0, 0, uint8(pl)
		}
		n = min(n, 64)
	case countSameSubnet:
		if !v4 {
			pl = 128
		} else if n < pl {
			return 0, 0, uint8(pl)
		}
	case countOnLink:
		return n, uint8(b2u(n >= pl)), uint8(pl)
	default:
		return 0, 0, uint8(pl)
	}
	return n, uint8(n), uint8(pl)
}

// countWhole is count for the kinds that compare the 16-byte forms
// without a prefix length (countGo and after).
func (c *rule9Count) countWhole(sx, dx addrbits.U128, v4 bool, src *Source) (cpl int, val, plen uint8) {
	if c.kind == countGo { // at most 64 bits
		if v4 || src.Addr.Is4() { // a 4-byte IPv4 source shares no bits
			return 0, 0, 64
		}
		n := min(addrbits.CommonBits(sx, dx), 64)
		return n, uint8(n), 64
	}
	if c.kind == countAll128IPv6 && v4 {
		return 0, 0, 128
	}
	n := addrbits.CommonBits(sx, dx)
	return n, uint8(n), 128
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
	kinds := [...]countKind{
		Rule9RFC:        countBounded,
		Rule9IPv6Only:   countBoundedIPv6,
		Rule9IPv6Cap64:  countCap64,
		Rule9SameSubnet: countSameSubnet,
		Rule9OnLink:     countOnLink,
	}
	c := rule9Count{full: full, note: rfcNote(v, full)}
	if int(v) < len(kinds) {
		c.kind = kinds[v]
	}
	return c
}

// rfcNote describes the RFC engine's count in a rule 9 reason.
func rfcNote(v Rule9Variant, full bool) func(w, l *dattr) string {
	return func(w, _ *dattr) string {
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
