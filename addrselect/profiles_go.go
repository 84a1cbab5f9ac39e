package addrselect

import (
	"net/netip"
	"slices"

	"github.com/dualstack/dualstack/policytable"
)

// GoNet returns a Selector that orders destinations exactly as Go's net
// package does (net/addrselect.go, sortByRFC6724withSrcs, as of Go 1.26;
// the pure-Go resolver sorts both DNS and hosts-file answers with it) when
// given the same sources:
//
//   - the RFC 6724 section 2.1 default table (a table given by
//     [WithTable] replaces it); IPv4 scopes are Go's own: 127.0.0.0/8 and
//     169.254.0.0/16 link-local, every other IPv4 address global (RFC 6724
//     section 3.2), whatever the table's scopev4 rules say;
//   - rules 1, 2, 5, 6, 8 and 9 of RFC 6724 section 6; rules 3 (deprecated),
//     4 (home) and 7 (native transport) are skipped, so Source.Deprecated,
//     Source.Home and Source.Encapsulated are ignored;
//   - two unusable destinations compare equal (Go's rule 1 returns before
//     rules 6 and 8 can order them);
//   - rule 9 only between two IPv6 destinations, with CommonPrefixLen
//     counting at most 64 bits whatever Source.PrefixLen says; IPv4 and
//     IPv4-mapped destinations are never compared by prefix (Go cannot
//     tell an IPv4-mapped address from IPv4); an IPv4-mapped source of an
//     IPv6 destination is compared in its 16-byte form, as Go does;
//   - the comparator is not transitive (rule 9 relates one family only),
//     so the result depends on the sort algorithm: like Go, the profile
//     sorts with [slices.SortStableFunc] (insertion sort on blocks of 20,
//     then in-place symmetric merges), which gives Go's order on every
//     input.
//
// A Destination with Unreachable set counts as unusable (rule 1).
//
// Not reproduced: nothing known for a given set of sources. Go finds the
// sources itself with connected UDP sockets; here they come from the
// caller (a [Sources] implementation or the Destination values).
func GoNet(opts ...Option) *Selector {
	return build(&Selector{name: "go", table: policytable.RFC6724(), stack: goStack{}}, opts)
}

// goStack emulates Go's sortByRFC6724withSrcs.
type goStack struct{}

// goRec holds what Go's comparator looks at for one destination: rules
// 1, 2, 5, 6 and 8 packed into key (larger first; Go's rule 1 makes two
// unusable destinations equal, so their key is 0 whatever their
// precedence and scope), and rule 9's prefix count for IPv6.
type goRec struct {
	key uint32
	cpl uint8 // CommonPrefixLen(Source(D), D), at most 64
	v6  bool  // an IPv6 destination (not IPv4, not IPv4-mapped)
	idx int32
}

// Bits of goRec.key, highest rule first: usable (rule 1), matching scope
// (rule 2), matching label (rule 5), precedence (rule 6), 15 minus the
// scope (rule 8).
const (
	goUsable     = 1 << 18
	goScopeMatch = 1 << 17
	goLabelMatch = 1 << 16
	goPrecShift  = 8
)

func (goStack) sort(s *Selector, dsts []Destination) {
	if len(dsts) < 2 {
		return
	}
	var buf [stackN]goRec
	recs := buf[:0]
	if len(dsts) > stackN {
		recs = make([]goRec, 0, len(dsts))
	}
	for i := range dsts {
		r := goRecord(s, &dsts[i])
		r.idx = int32(i)
		recs = append(recs, r)
	}
	// The same algorithm as Go on records that carry every value the
	// comparator reads: the same comparisons, so the same order.
	slices.SortStableFunc(recs, func(a, b goRec) int { return goOrder(&a, &b) })
	var ordBuf [stackN]int32
	ord := ordBuf[:0]
	if len(dsts) > stackN {
		ord = make([]int32, 0, len(dsts))
	}
	for _, r := range recs {
		ord = append(ord, r.idx)
	}
	permute(dsts, ord)
}

func (goStack) compare(s *Selector, a, b *Destination) (int, Rule) {
	ra, rb := goRecord(s, a), goRecord(s, b)
	c := goOrder(&ra, &rb)
	if c == 0 {
		return 0, Dst10
	}
	// The highest differing bit of the keys names the rule.
	switch diff := ra.key ^ rb.key; {
	case diff == 0:
		return c, Dst9
	case diff >= goUsable:
		return c, Dst1
	case diff >= goScopeMatch:
		return c, Dst2
	case diff >= goLabelMatch:
		return c, Dst5
	case diff >= 1<<goPrecShift:
		return c, Dst6
	}
	return c, Dst8
}

// goScope is Go's scope classification (RFC 6724 section 3.1 and 3.2):
// loopback and link-local unicast of both families are link-local, IPv6
// multicast carries its scope field, fec0::/10 is site-local and
// everything else, IPv4 multicast included, is global. IPv4-mapped
// addresses are classified as IPv4.
func goScope(a netip.Addr) policytable.Scope {
	x := toBits(a)
	if !x.v4 {
		return scope6(x) // ::1 and fe80::/10 link-local, as Go has them
	}
	if v := uint32(x.lo); v>>24 == 127 || v>>16 == 169<<8|254 {
		return policytable.ScopeLinkLocal
	}
	return policytable.ScopeGlobal
}

// goVals computes what Go's comparator looks at for d: Go cannot tell
// IPv4-mapped addresses from IPv4, so both are IPv4 here; cpl is Go's
// rule 9 count (IPv6 only, at most 64 bits).
func goVals(s *Selector, d *Destination, v *stackVals) {
	da := d.Addr.Unmap()
	attr := s.tableAttr(da)
	*v = stackVals{
		usable: d.Source.Addr.IsValid() && !d.Unreachable,
		v4:     !da.Is6(),
		scope:  goScope(da),
		label:  attr.Label,
		prec:   attr.Precedence,
		plen:   64,
	}
	if v.usable {
		sa := d.Source.Addr.Unmap()
		v.srcScope = goScope(sa)
		v.srcLabel = s.tableAttr(sa).Label
		if !v.v4 && !d.Source.Addr.Is4() {
			// Go's reading of RFC 6724 section 2.2: the prefix of
			// an IPv6 source is taken as /64, whatever it is. An
			// IPv4 source shares no prefix with an IPv6 destination;
			// an IPv4-mapped one is compared in its 16-byte form, as
			// Go's commonPrefixLen does.
			v.cpl = min(prefix128(toBits(d.Source.Addr), toBits(da)), 64)
		}
	}
}

// goRecord computes Go's attributes of d.
func goRecord(s *Selector, d *Destination) goRec {
	var v stackVals
	goVals(s, d, &v)
	r := goRec{v6: !v.v4, cpl: v.cpl}
	if v.usable {
		r.key = goUsable | uint32(v.prec)<<goPrecShift | uint32(15-v.scope)
		if v.matchScope() {
			r.key |= goScopeMatch
		}
		if v.matchLabel() {
			r.key |= goLabelMatch
		}
	}
	return r
}

func (goStack) attrs(s *Selector, d *Destination) dattr {
	var v stackVals
	goVals(s, d, &v)
	return v.attrs(d)
}

func (goStack) rule9Note(_, _ *dattr) string {
	return "IPv6, at most 64 bits: Go compares only IPv6 destinations, as if every source prefix were /64"
}

// goOrder is Go's comparator (RFC 6724 section 6 rules 1, 2, 5, 6 and 8
// through the key, then rule 9 between two IPv6 destinations): negative
// when a goes first, 0 when Go finds them equal; the stable sort then
// keeps their input order unless the comparator's intransitivity moves
// them. Rules 3, 4 and 7 are not implemented by Go.
func goOrder(a, b *goRec) int {
	switch {
	case a.key != b.key:
		return preferIf(a.key > b.key)
	case a.v6 && b.v6 && a.cpl != b.cpl:
		return preferIf(a.cpl > b.cpl)
	}
	return 0
}

// preferIf returns -1 (first argument wins) when first is true, else 1.
func preferIf(first bool) int {
	if first {
		return -1
	}
	return 1
}
