package addrselect

import (
	"slices"

	"github.com/dualstack/dualstack/policytable"
)

// Musl returns a Selector that orders destinations exactly as musl's
// getaddrinfo (src/network/lookup_name.c; checked against musl 1.2.3)
// does with the same sources:
//
//   - musl's reduced, fixed table: the RFC 6724 section 2.1 rows for ::1,
//     ::ffff:0:0/96, 2002::/16, 2001::/32, fc00::/7 and ::/0, without the
//     ::/96, fec0::/10 and 3ffe::/16 rows (those addresses get the ::/0
//     precedence 40 and label 1). musl reads no gai.conf: [WithTable]
//     changes nothing but [Selector.Table];
//   - rules 1, 2, 5, 6, 8 and 9; rules 3 (deprecated), 4 (home) and 7
//     (native transport) are skipped;
//   - scopes computed on the IPv4-mapped form, so every IPv4 address,
//     127.0.0.0/8 and 169.254.0.0/16 included, has global scope (RFC 6724
//     section 3.2 makes those two link-local);
//   - rule 9 counts the common prefix of destination and source over all
//     128 bits of their IPv6 (IPv4-mapped) forms, for any subnet and any
//     prefix length, and applies it across families too: an IPv4 pair
//     shares at least the 96 bits of the mapped prefix;
//   - an unusable destination is still ordered by precedence and scope;
//   - a list of only IPv4 destinations is left in input order;
//   - the rules are packed into one integer key per destination with the
//     input position in its lowest bits, so the order is total and no
//     sort-algorithm quirk arises.
//
// A Destination with Unreachable set counts as unusable (rule 1).
//
// Not reproduced: musl never returns more than 48 addresses (MAXADDRS);
// longer lists are sorted by the same keys with the input position as the
// last tie-breaker.
func Musl(opts ...Option) *Selector {
	return build(&Selector{name: "musl", table: policytable.RFC6724(), stack: muslStack{}}, opts)
}

// muslStack emulates the sort key of musl's __lookup_name.
type muslStack struct{}

// Bits of musl's sort key, highest first: usable (rule 1), matching scope
// (rule 2), matching label (rule 5), precedence (rule 6), 15 minus the
// destination scope (rule 8), common prefix length (rule 9).
const (
	muslUsable        = 1 << 30
	muslMatchingScope = 1 << 29
	muslMatchingLabel = 1 << 28
	muslPrecShift     = 20
	muslScopeShift    = 16
	muslPrefixShift   = 8
)

// muslAttr is musl's policy table lookup (its defpolicy): precedence and
// label of x (the IPv6 form: IPv4 as IPv4-mapped).
func muslAttr(x bits128) (prec, label uint8) {
	switch {
	case x.hi == 0 && x.lo == 1: // ::1/128
		return 50, 0
	case x.v4: // ::ffff:0:0/96
		return 35, 4
	case x.hi>>48 == 0x2002: // 2002::/16
		return 30, 2
	case x.hi>>32 == 0x2001_0000: // 2001::/32
		return 5, 5
	case x.hi>>57 == 0xfc>>1: // fc00::/7
		return 3, 13
	}
	return 40, 1
}

// muslScope is musl's scopeof on the IPv6 (IPv4-mapped) form x: multicast
// scope field, 2 for fe80::/10 and ::1, 5 for fec0::/10, else 14 (every
// IPv4 address).
func muslScope(x bits128) policytable.Scope {
	if x.v4 {
		return policytable.ScopeGlobal
	}
	return scope6(x)
}

// muslVals computes what musl's key holds for d; cpl is musl's rule 9
// count, over all 128 bits of the IPv6 (IPv4-mapped) forms, for any
// family.
func muslVals(d *Destination, v *stackVals) {
	x := toBits(d.Addr) // IPv4 in the mapped form, as musl compares it
	prec, label := muslAttr(x)
	*v = stackVals{
		usable: d.Source.Addr.IsValid() && !d.Unreachable,
		v4:     x.v4,
		scope:  muslScope(x),
		label:  label,
		prec:   prec,
		plen:   128,
	}
	if v.usable {
		sx := toBits(d.Source.Addr)
		v.srcScope = muslScope(sx)
		_, v.srcLabel = muslAttr(sx)
		v.cpl = prefix128(sx, x)
	}
}

// muslKey is musl's sort key of d without the position bits (RFC 6724
// section 6 rules 1, 2, 5, 6, 8 and 9, from the highest bit down).
func muslKey(d *Destination) uint32 {
	var v stackVals
	muslVals(d, &v)
	var key uint32
	if v.usable {
		key |= muslUsable
		if v.matchScope() {
			key |= muslMatchingScope
		}
		if v.matchLabel() {
			key |= muslMatchingLabel
		}
		key |= uint32(v.cpl) << muslPrefixShift
	}
	key |= uint32(v.prec) << muslPrecShift
	key |= uint32(15-v.scope) << muslScopeShift
	return key
}

func (muslStack) attrs(_ *Selector, d *Destination) dattr {
	var v stackVals
	muslVals(d, &v)
	return v.attrs(d)
}

func (muslStack) rule9Note(w, l *dattr) string {
	fam := famName(w.v4)
	if w.v4 != l.v4 {
		fam = "IPv4 and IPv6"
	}
	return fam + ", all 128 bits of the IPv6 (IPv4-mapped) forms, across families too"
}

func (muslStack) sort(_ *Selector, dsts []Destination) {
	if len(dsts) < 2 {
		return
	}
	// musl sorts nothing when every destination is IPv4.
	if !slices.ContainsFunc(dsts, func(d Destination) bool { return !d.Addr.Is4() }) {
		return
	}
	// Sort (key, position) pairs: key descending, position ascending,
	// packed into one integer as musl does.
	var buf [stackN]uint64
	keys := buf[:0]
	if len(dsts) > stackN {
		keys = make([]uint64, 0, len(dsts))
	}
	for i := range dsts {
		keys = append(keys, uint64(muslKey(&dsts[i]))<<32|uint64(^uint32(i)))
	}
	slices.Sort(keys)
	slices.Reverse(keys)
	var ordBuf [stackN]int32
	ord := ordBuf[:0]
	if len(dsts) > stackN {
		ord = make([]int32, 0, len(dsts))
	}
	for _, k := range keys {
		ord = append(ord, int32(^uint32(k)))
	}
	permute(dsts, ord)
}

// compare orders a and b by their keys. It cannot see the rest of the
// list, so it orders two IPv4 destinations although musl would leave an
// answer of only IPv4 addresses unsorted.
func (muslStack) compare(_ *Selector, a, b *Destination) (int, Rule) {
	ka, kb := muslKey(a), muslKey(b)
	if ka == kb {
		return 0, Dst10
	}
	// The highest differing bit names the rule.
	diff := ka ^ kb
	var r Rule
	switch {
	case diff >= muslUsable:
		r = Dst1
	case diff >= muslMatchingScope:
		r = Dst2
	case diff >= muslMatchingLabel:
		r = Dst5
	case diff >= 1<<muslPrecShift:
		r = Dst6
	case diff >= 1<<muslScopeShift:
		r = Dst8
	default:
		r = Dst9
	}
	return preferIf(ka > kb), r
}
