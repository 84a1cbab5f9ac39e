package addrselect

import (
	"cmp"
	"net/netip"
	"slices"
)

// This file is the one engine: it computes each candidate's attributes
// (attrs.go), packs the profile's keyed rules into a key (profile.go) and
// runs the profile's sort algorithm (sorts.go). The RFC engine and the
// stack profiles differ only in their profile values.

// SortDestinations sorts dsts in place by RFC 6724 section 6 (or by the
// profile's stack). It does not allocate for up to 64 destinations.
//
// For the RFC engine ([RFC6724], [RFC3484]) the order is consistent
// whatever the input: every pair of destinations that rules 1 to 9 order
// (as this package implements them, see the package documentation for
// rule 4) comes out in that order; destinations of one family that no
// rule orders keep their input order (rule 10); and among destinations
// tied on rules 1 to 8, the families appear in the same sequence of
// positions as in the input. Rule 9 only relates destinations of one
// family, so a pairwise comparator is not transitive; SortDestinations
// instead sorts stably by the rules 1-8 (and history) key, then, inside
// each run of equal key, reorders each family's members by rule 9 among
// the positions that family occupies, the other family's members staying
// in place. The result is a deterministic function of the input order.
//
// Stack profiles run their stack's own algorithm, quirks included (see
// each profile's documentation).
func (s *Selector) SortDestinations(dsts []Destination) {
	n := len(dsts)
	switch {
	case n < 2:
		return
	case n <= 16: // buffers of the size at hand: zeroing 64 costs more than sorting 4
		var buf [16]int32
		s.orZero().order(dsts, buf[:n])
		permute(dsts, buf[:n])
	case n <= stackN:
		var buf [stackN]int32
		s.orZero().order(dsts, buf[:n])
		permute(dsts, buf[:n])
	default:
		perm := make([]int32, n)
		s.orZero().order(dsts, perm)
		permute(dsts, perm)
	}
}

// order computes the sorted order of dsts: the new position i holds the
// old dsts[perm[i]]. perm has len(dsts) elements.
func (s *Selector) order(dsts []Destination, perm []int32) {
	p, n := s.prof, len(dsts)
	switch {
	case p.leavesUnsorted(dsts):
		for i := range perm {
			perm[i] = int32(i)
		}
	case p.sort == sortConsistent && p.keyBits <= packedKeyBits && n <= 16:
		var keys [16]uint64
		s.orderPacked(dsts, keys[:n], perm)
	case p.sort == sortConsistent && p.keyBits <= packedKeyBits && n <= packedMaxN:
		var keys [packedMaxN]uint64
		s.orderPacked(dsts, keys[:n], perm)
	case n <= stackN:
		var buf [stackN]rec
		s.orderRecs(dsts, buf[:n], perm)
	default:
		s.orderRecs(dsts, make([]rec, n), perm)
	}
}

// orderRecs runs the profile's sort on records recs (len(dsts) of them)
// and writes the order to perm.
func (s *Selector) orderRecs(dsts []Destination, recs []rec, perm []int32) {
	if s.prof.sort == sortConsistent {
		s.orderByKey(dsts, recs)
	} else {
		s.orderByComparator(dsts, recs)
	}
	for i := range recs {
		perm[i] = recs[i].idx
	}
}

// orderPacked is the consistent sort in its one-integer form (see
// sortPacked), for up to packedMaxN destinations whose key fits
// packedKeyBits. keys has len(dsts) elements.
func (s *Selector) orderPacked(dsts []Destination, keys []uint64, perm []int32) {
	p := s.prof
	var f filler
	f.start(s, dsts)
	for i := range dsts {
		a := f.fill(s, &dsts[i])
		// fillAttrs counts no rule 9 prefix for an unusable destination.
		keys[i] = packRec(p.key(a), a.v4, a.vals&p.r9.mask>>p.r9.shift, i)
	}
	sortPacked(keys, perm)
}

// orderByKey is the consistent sort: by key, then rule 9 per family
// inside each run of equal key when rule 9 is not part of the key. recs
// has len(dsts) elements.
func (s *Selector) orderByKey(dsts []Destination, recs []rec) {
	p := s.prof
	var f filler
	f.start(s, dsts)
	for i := range dsts {
		a := f.fill(s, &dsts[i])
		recs[i] = rec{key: p.key(a), r9: uint8(p.value(Dst9, a)), v4: a.v4, idx: int32(i)}
	}
	sortByKey(recs)
	if len(p.tail) > 0 {
		rule9Pass(recs)
	}
}

// filler computes the attributes of one sort's destinations in turn,
// with one source memo and, under NAT64, one view of the natively
// reachable destinations.
type filler struct {
	m srcMemo
	a dattr
	l natives // when the Selector knows NAT64 prefixes
}

// start prepares f for sorting dsts under s.
func (f *filler) start(s *Selector, dsts []Destination) {
	if s.natOn {
		f.l = newNatives(dsts)
	}
}

// fill returns the attributes of d; they stay valid until the next call.
func (f *filler) fill(s *Selector, d *Destination) *dattr {
	s.fillAttrs(&f.a, d, &f.m, f.natives(s))
	return &f.a
}

// natives returns f's view of the natively reachable destinations, or
// nil when s knows no NAT64 prefix.
func (f *filler) natives(s *Selector) *natives {
	if s.natOn {
		return &f.l
	}
	return nil
}

// orderByComparator runs a stack's comparison sort: by key, then by the
// pairwise rules after it, with the stack's algorithm. recs has
// len(dsts) elements.
func (s *Selector) orderByComparator(dsts []Destination, recs []rec) {
	p := s.prof
	var attrBuf [stackN]dattr
	attrs := attrBuf[:0]
	if len(dsts) > stackN {
		attrs = make([]dattr, 0, len(dsts))
	}
	attrs = attrs[:len(dsts)]
	var m srcMemo
	for i := range dsts {
		s.fillAttrs(&attrs[i], &dsts[i], &m, nil) // stack profiles: no NAT64
		recs[i] = rec{key: p.key(&attrs[i]), idx: int32(i)}
	}
	compare := func(a, b rec) int {
		if a.key != b.key {
			return cmp.Compare(b.key, a.key)
		}
		c, _ := p.compareRules(p.tail, &attrs[a.idx], &attrs[b.idx])
		return c
	}
	if p.sort == sortStable {
		slices.SortStableFunc(recs, compare)
		return
	}
	var tmpBuf [stackN]rec
	tmp := tmpBuf[:0]
	if len(recs) > stackN {
		tmp = make([]rec, 0, len(recs))
	}
	mergeSort(recs, tmp[:len(recs)], func(a, b rec) int {
		if c := compare(a, b); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx) // rule 10: the input position
	})
}

// Compare orders two destinations by RFC 6724 section 6 rules 1 to 9 (and
// the history step): negative when a goes first, positive when b does, 0
// when no rule orders them (rule 10 then keeps the input order, so sort
// with a stable algorithm). For stack profiles it is the stack's
// comparator.
//
// Compare is meant for callers' own record types. It is a pairwise
// comparator and, because rule 9 only relates destinations of one family,
// it is not transitive on mixed IPv4/IPv6 input (a < b < c < a can
// happen): slices.SortStableFunc with Compare may then give an order that
// depends on the algorithm. Use [Selector.SortDestinations] (and carry an
// index) for an order that is consistent by construction. Compare
// computes every attribute on each call; it does not allocate. With
// [WithNAT64], the pair is the whole list: a synthesized destination
// counts as natively reachable ([DstNAT64]) only when the other one is
// its IPv4 address with a source.
func (s *Selector) Compare(a, b Destination) int {
	s = s.orZero()
	pair := [2]Destination{a, b}
	nv := natives{dsts: pair[:]}
	da, db := s.dstAttrs(&a, nil, &nv), s.dstAttrs(&b, nil, &nv)
	c, _ := s.prof.compare(&da, &db)
	return c
}

// SelectSource picks the source address for dst among candidates by RFC
// 6724 section 5 rules 1 to 8. Rules 5 and 5.5 need the route chosen for
// dst and do not apply here; use [Selector.SelectSourceVia] to give it.
// It returns false when no candidate is usable. It does not allocate.
//
// Candidates that section 4 excludes are skipped: invalid, multicast and
// unspecified addresses, and addresses of the other family (IPv4 and
// IPv4-mapped IPv6 are one family). RFC 6724 does not define IPv4 source
// selection; the same rules are applied to IPv4 candidates. Among
// candidates equal under every rule, the first listed wins. For the
// profiles of real stacks SelectSource still applies these rules, with the
// Selector's table: on a real host the kernel, not the resolver, picks
// the source (see [Host] and [System]).
func (s *Selector) SelectSource(dst netip.Addr, candidates []Source) (Source, bool) {
	return s.SelectSourceVia(dst, "", netip.Addr{}, candidates)
}

// SelectSourceVia is [Selector.SelectSource] with the route chosen for dst:
// outIface, the name of the outgoing interface, enables rule 5 (prefer
// candidates whose Interface is outIface); nextHop, the router chosen for
// dst, enables rule 5.5 (prefer candidates whose NextHop is nextHop, RFC
// 8028). An empty outIface or a zero nextHop disables the rule.
func (s *Selector) SelectSourceVia(dst netip.Addr, outIface string, nextHop netip.Addr, candidates []Source) (Source, bool) {
	s = s.orZero()
	if !dst.IsValid() {
		return Source{}, false
	}
	c := s.newSrcChoice(dst, outIface, nextHop)
	best, bestKey := -1, uint64(0)
	for i := range candidates {
		a := s.srcAttrs(&candidates[i], &c)
		if !a.eligible {
			continue // section 4: not a candidate
		}
		// Max-scan; a later candidate must be strictly better, so the
		// first listed wins among equals.
		if k := srcKey(&a); best < 0 || k > bestKey {
			best, bestKey = i, k
		}
	}
	if best < 0 {
		return Source{}, false
	}
	return candidates[best], true
}

// srcShifts places each source rule's value in the packed source key,
// the first rule highest.
var srcShifts = func() (sh [len(srcRules)]uint8) {
	width := 0
	for i := len(srcRules) - 1; i >= 0; i-- {
		sh[i] = uint8(width)
		width += int(srcRules[i].bits)
	}
	if width > 64 {
		panic("addrselect: source key too wide")
	}
	return sh
}()

// srcKey packs the source rules' values for a: a larger key is preferred,
// and two keys compare as the rules do one by one.
func srcKey(a *sattr) uint64 {
	var k uint64
	for i := range srcRules {
		r := &srcRules[i]
		k |= ruleValue(a.get(r.attr), r.prefer, r.bits) << srcShifts[i]
	}
	return k
}

// compareSrc applies the source rules in order: negative when a is
// preferred, with the deciding rule; (0, SrcOrder) when none decides.
func compareSrc(a, b *sattr) (int, Rule) {
	for i := range srcRules {
		r := &srcRules[i]
		if va, vb := ruleValue(a.get(r.attr), r.prefer, r.bits), ruleValue(b.get(r.attr), r.prefer, r.bits); va != vb {
			if va > vb {
				return -1, srcRules[i].id
			}
			return 1, srcRules[i].id
		}
	}
	return 0, SrcOrder
}
