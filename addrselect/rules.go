package addrselect

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/dualstack/dualstack/policytable"
)

// This file holds the rules of RFC 6724 section 5 (source) and section 6
// (destination) as per-candidate attributes. Every rule except destination
// rule 9 compares a value computed for one candidate alone, so the rules
// 1-8 (and the history step) pack into one integer key; rule 9 is a number
// that is only comparable within one address family.

// isV4 reports whether a is IPv4 or IPv4-mapped IPv6: RFC 6724 section 3.2
// handles IPv4 in its mapped form, so both count as the IPv4 family.
func isV4(a netip.Addr) bool { return a.Is4() || a.Is4In6() }

// bits128 is an address as the rules see it: 128 bits (IPv4 in its mapped
// form), its family and whether it is valid. Converting once per address
// keeps the hot path free of repeated conversions.
type bits128 struct {
	hi, lo uint64
	v4     bool
	valid  bool
}

func toBits(a netip.Addr) bits128 {
	// AsSlice is inlined here, so its slice stays on the stack; on
	// go1.26/amd64 this is faster than copying As16's array result, whose
	// 16-byte reload of two 8-byte stores defeats store forwarding.
	b := a.AsSlice()
	switch len(b) {
	case 4:
		return bits128{lo: 0xffff<<32 | uint64(binary.BigEndian.Uint32(b)), v4: true, valid: true}
	case 16:
		hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])
		// IPv4-mapped: ::ffff:0:0/96 (the test Is4In6 makes, on the bits).
		return bits128{hi: hi, lo: lo, v4: hi == 0 && lo>>32 == 0xffff, valid: true}
	}
	return bits128{} // the zero Addr
}

// srcMemo remembers the attributes of the last source sortRec looked at:
// the destinations of one sort usually share one source per family, so
// most lookups of a source are repeats.
type srcMemo struct {
	addr  netip.Addr
	bits  bits128
	attr  policytable.Attr
	scope policytable.Scope
}

// commonBits returns the number of leading bits x and y share within
// their family: up to 32 for IPv4 (mapped or not), up to 128 for IPv6, 0
// across families or when either is invalid.
func commonBits(x, y bits128) int {
	if !x.valid || !y.valid || x.v4 != y.v4 {
		return 0
	}
	var n int
	if d := x.hi ^ y.hi; d != 0 {
		n = bits.LeadingZeros64(d)
	} else {
		n = 64 + bits.LeadingZeros64(x.lo^y.lo)
	}
	if x.v4 {
		n -= 96 // both are ::ffff:a.b.c.d
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

// commonPrefixLen is CommonPrefixLen(S, D) of RFC 6724 section 2.2: the
// leading bits S and D share, but no more than the length of S's prefix;
// with fullPrefix, all bits as in RFC 3484 section 2.2.
func (s *Selector) commonPrefixLen(src bits128, srcPrefix int, d bits128) int {
	n := commonBits(src, d)
	if !s.fullPrefix {
		n = min(n, prefixLen(srcPrefix, src.v4))
	}
	return n
}

// scope6 is policytable.ScopeIPv6 (RFC 6724 section 3.1) on the split
// form of an IPv6 address.
func scope6(x bits128) policytable.Scope {
	switch {
	case x.hi>>56 == 0xff: // multicast: the scope field
		return policytable.Scope(x.hi >> 48 & 0xf)
	case x.hi == 0 && x.lo == 1, // ::1, section 3.4
		x.hi>>54 == 0xfe80>>6: // fe80::/10
		return policytable.ScopeLinkLocal
	case x.hi>>54 == 0xfec0>>6: // fec0::/10
		return policytable.ScopeSiteLocal
	}
	return policytable.ScopeGlobal
}

// scope returns the scope of a (RFC 6724 section 3.1, 3.2) under the
// table, with the Selector's override for private IPv4.
func (s *Selector) scope(t *policytable.Table, a netip.Addr) policytable.Scope {
	return s.scopeBits(t, a, toBits(a))
}

func (s *Selector) scopeBits(t *policytable.Table, a netip.Addr, x bits128) policytable.Scope {
	if !x.v4 {
		return scope6(x) // the zero Addr is :: here: global
	}
	if s.scope4 != nil {
		return s.scope4.lookup(uint32(x.lo))
	}
	return s.scope4Slow(t, a)
}

// scope4Slow is the IPv4 scope without the compiled map.
func (s *Selector) scope4Slow(t *policytable.Table, a netip.Addr) policytable.Scope {
	if s.privateV4 != privateV4Table && a.Unmap().IsPrivate() {
		if s.privateV4 == privateV4Site {
			return policytable.ScopeSiteLocal
		}
		return policytable.ScopeGlobal
	}
	return t.Scope(a)
}

// tableAttr returns the precedence and label of a under the Selector's
// table (RFC 6724 section 2.1), through the compiled lookup when there is
// one.
func (s *Selector) tableAttr(a netip.Addr) policytable.Attr {
	return lookupAttr(s.Table(), s.fastLookup(), a, toBits(a))
}

// lookupAttr looks a up in the compiled table when there is one.
func lookupAttr(t *policytable.Table, f *fastTable, a netip.Addr, x bits128) policytable.Attr {
	if f != nil {
		return f.lookup(x)
	}
	return t.Lookup(a)
}

// attrScope returns the policy attributes (precedence and label, RFC 6724
// section 2.1) and the scope (section 3.1, 3.2, with the Selector's
// private-IPv4 override) of a, whose bits are x. Computing them costs
// about as much as finding them again in a cache, so the hot path does
// not keep one.
func (s *Selector) attrScope(t *policytable.Table, f *fastTable, a netip.Addr, x bits128) (policytable.Attr, policytable.Scope) {
	if x.v4 {
		if f != nil && f.v4One && s.scope4 != nil {
			return f.v4Attr, s.scope4.lookup(uint32(x.lo))
		}
		return lookupAttr(t, f, a, x), s.scopeBits(t, a, x)
	}
	if f != nil {
		return f.iv[f.index(x)].attr, scope6(x)
	}
	return t.Lookup(a), scope6(x)
}

// homeRank orders the Mobile IPv6 roles for rule 4 (source and
// destination): home and care-of (3) > home only (2) > neither (1) >
// care-of only (0). RFC 6724 orders only the pairs 3 > {2,1,0} and 2 > 0;
// ranking "neither" between them makes the rule a weak order (needed for a
// consistent sort) at the price of also preferring home-only over neither
// and neither over care-of-only. See the package documentation.
func homeRank(src *Source) uint8 {
	switch {
	case src.Home && src.CareOf:
		return 3
	case src.Home:
		return 2
	case src.CareOf:
		return 0
	}
	return 1
}

// dattr is what the destination rules look at for one destination D.
type dattr struct {
	addr       netip.Addr
	src        netip.Addr
	usable     bool              // rule 1
	scope      policytable.Scope // Scope(D), rules 2 and 8
	srcScope   policytable.Scope // Scope(Source(D)), rule 2
	label      uint8             // Label(D), rule 5
	srcLabel   uint8             // Label(Source(D)), rule 5
	prec       uint8             // Precedence(D), rule 6
	deprecated bool              // rule 3
	home       uint8             // rule 4, see homeRank
	homeFlag   bool
	careOf     bool
	temporary  bool
	encap      bool // rule 7
	hasRTT     bool // history step
	rtt        time.Duration
	v4         bool // family, rule 9
	cpl        int  // CommonPrefixLen(Source(D), D) as the rule 9 variant counts it
	r9         uint8
	plen       uint8 // the source's prefix length as the rules assume it
}

func (a *dattr) matchScope() bool { return a.usable && a.scope == a.srcScope }
func (a *dattr) matchLabel() bool { return a.usable && a.label == a.srcLabel }

// dstAttrs computes the attributes of d. Scope and label of Source(D)
// are looked up even for an unusable D (for Explain), but the rules that
// need Source(D) treat an unusable D as having none.
func (s *Selector) dstAttrs(d *Destination) dattr {
	t, f := s.table, s.fastLookup() // a nil table behaves as policytable.RFC6724()
	x := toBits(d.Addr)
	attr, sc := s.attrScope(t, f, d.Addr, x)
	a := dattr{
		addr:   d.Addr,
		src:    d.Source.Addr,
		usable: x.valid && d.Source.IsValid() && !d.Unreachable,
		scope:  sc,
		label:  attr.Label,
		prec:   attr.Precedence,
		v4:     x.v4,
		home:   1,
	}
	if d.Source.IsValid() {
		sx := toBits(d.Source.Addr)
		sattr, sscope := s.attrScope(t, f, d.Source.Addr, sx)
		a.srcLabel, a.srcScope = sattr.Label, sscope
		a.homeFlag, a.careOf, a.temporary = d.Source.Home, d.Source.CareOf, d.Source.Temporary
		if a.usable {
			a.deprecated = d.Source.Deprecated
			a.encap = d.Source.Encapsulated
			a.home = homeRank(&d.Source)
			a.cpl, a.r9 = s.rule9Value(sx, d.Source.PrefixLen, x)
			a.plen = uint8(prefixLen(d.Source.PrefixLen, sx.v4))
		}
	}
	if s.history != nil && x.valid {
		a.rtt, a.hasRTT = s.history.Lookup(d.Addr)
		if a.rtt < 0 {
			a.rtt = 0
		}
	}
	return a
}

// rule9Value returns the CommonPrefixLen the variant uses for (src, d) and
// the rule 9 key derived from it (larger first).
func (s *Selector) rule9Value(src bits128, srcPrefix int, d bits128) (cpl int, key uint8) {
	if src.v4 != d.v4 {
		return 0, 0
	}
	switch s.rule9 {
	case Rule9RFC:
		cpl = s.commonPrefixLen(src, srcPrefix, d)
		return cpl, uint8(cpl)
	case Rule9IPv6Only:
		if d.v4 {
			return 0, 0
		}
		cpl = s.commonPrefixLen(src, srcPrefix, d)
		return cpl, uint8(cpl)
	case Rule9IPv6Cap64:
		if d.v4 {
			return 0, 0
		}
		cpl = min(commonBits(src, d), 64)
		return cpl, uint8(cpl)
	case Rule9SameSubnet:
		cpl = commonBits(src, d)
		if d.v4 && cpl < prefixLen(srcPrefix, true) {
			return 0, 0
		}
		return cpl, uint8(cpl)
	case Rule9OnLink:
		cpl = commonBits(src, d)
		if cpl >= prefixLen(srcPrefix, src.v4) {
			return cpl, 1
		}
		return cpl, 0
	}
	return 0, 0
}

// Bit layout of the destination key, most significant rule first.
const (
	histBits     = 25 // 1 bit "has history" + 24 bits of inverted RTT in µs
	shiftScope8  = histBits
	shiftNative  = shiftScope8 + 8
	shiftPrec    = shiftNative + 1
	shiftLabel   = shiftPrec + 8
	shiftHome    = shiftLabel + 1
	shiftDepr    = shiftHome + 2
	shiftScope2  = shiftDepr + 1
	shiftUsable  = shiftScope2 + 1
	maxRTTMicros = 1<<24 - 1
)

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// histKey is the history step's part of the key: with history above
// without, then lower RTT above higher (RTTs are compared in whole
// microseconds, up to about 16.7 s).
func (a *dattr) histKey() uint64 { return histKey(a.rtt, a.hasRTT) }

func histKey(rtt time.Duration, ok bool) uint64 {
	if !ok {
		return 0
	}
	us := uint64(max(rtt, 0) / time.Microsecond)
	if us > maxRTTMicros {
		us = maxRTTMicros
	}
	return 1<<24 | (maxRTTMicros - us)
}

// key packs rules 1-8 and history; a larger key sorts first.
func (a *dattr) key() uint64 {
	return b2u(a.usable)<<shiftUsable |
		b2u(a.matchScope())<<shiftScope2 |
		b2u(!a.deprecated)<<shiftDepr |
		uint64(a.home)<<shiftHome |
		b2u(a.matchLabel())<<shiftLabel |
		uint64(a.prec)<<shiftPrec |
		b2u(!a.encap)<<shiftNative |
		uint64(255-a.scope)<<shiftScope8 |
		a.histKey()
}

// sortRec computes the sort record of d: the same key as
// dstAttrs(d).key() without building the attributes Explain needs. It is
// the hot path of SortDestinations.
func (s *Selector) sortRec(t *policytable.Table, f *fastTable, d *Destination, m *srcMemo) rec {
	// The compiled maps and the memoised source answer without
	// calls in the usual case (the RFC profiles' tables). The same switch
	// serves the source below: written out twice on purpose, as a shared
	// helper (not inlined) costs about 8% of SortDestinations.
	fast := f != nil && f.v4One && s.scope4 != nil
	var (
		x    bits128
		attr policytable.Attr
		sc   policytable.Scope
	)
	// IPv4 and IPv4-mapped addresses (x.v4) take the IPv4 scope rules
	// (RFC 6724 section 3.2), as table.Scope does.
	x = toBits(d.Addr)
	switch {
	case !fast:
		attr, sc = s.attrScope(t, f, d.Addr, x)
	case x.v4:
		attr, sc = f.v4Attr, s.scope4.lookup(uint32(x.lo))
	default:
		attr, sc = f.iv[f.index(x)].attr, scope6(x)
	}
	key := uint64(attr.Precedence)<<shiftPrec | uint64(255-sc)<<shiftScope8 |
		1<<shiftDepr | 1<<shiftHome | 1<<shiftNative
	var r9 uint8
	if src := &d.Source; x.valid && src.Addr.IsValid() && !d.Unreachable {
		var (
			sx    bits128
			sattr policytable.Attr
			ssc   policytable.Scope
		)
		if m != nil && m.addr == src.Addr {
			sx, sattr, ssc = m.bits, m.attr, m.scope
		} else {
			sx = toBits(src.Addr)
			switch {
			case !fast:
				sattr, ssc = s.attrScope(t, f, src.Addr, sx)
			case sx.v4:
				sattr, ssc = f.v4Attr, s.scope4.lookup(uint32(sx.lo))
			default:
				sattr, ssc = f.iv[f.index(sx)].attr, scope6(sx)
			}
			if m != nil {
				*m = srcMemo{src.Addr, sx, sattr, ssc}
			}
		}
		key |= 1 << shiftUsable
		if sc == ssc {
			key |= 1 << shiftScope2
		}
		if src.Deprecated {
			key &^= 1 << shiftDepr
		}
		key = key&^(3<<shiftHome) | uint64(homeRank(src))<<shiftHome
		if attr.Label == sattr.Label {
			key |= 1 << shiftLabel
		}
		if src.Encapsulated {
			key &^= 1 << shiftNative
		}
		if s.rule9 == Rule9RFC && !s.fullPrefix {
			// The default, inline: CommonPrefixLen bounded by the
			// source's prefix length (commonBits is 0 across families).
			r9 = uint8(min(commonBits(sx, x), prefixLen(src.PrefixLen, sx.v4)))
		} else {
			_, r9 = s.rule9Value(sx, src.PrefixLen, x)
		}
	}
	if s.history != nil && x.valid {
		key |= histKey(s.history.Lookup(d.Addr))
	}
	return rec{key: key, r9: r9, v4: x.v4}
}

// compareAttrs applies RFC 6724 section 6 rules 1-9 (and the history step)
// in order and returns which goes first (negative: a) and the deciding
// rule, or (0, Dst10) when no rule orders them.
func compareAttrs(a, b *dattr) (int, Rule) {
	pick := func(x, y bool) int { // x preferred over y
		if x {
			return -1
		}
		return 1
	}
	// Rule 1: Avoid unusable destinations (section 6).
	if a.usable != b.usable {
		return pick(a.usable, b.usable), Dst1
	}
	// Rule 2: Prefer matching scope.
	if ma, mb := a.matchScope(), b.matchScope(); ma != mb {
		return pick(ma, mb), Dst2
	}
	// Rule 3: Avoid deprecated addresses (of Source(D)).
	if a.deprecated != b.deprecated {
		return pick(!a.deprecated, !b.deprecated), Dst3
	}
	// Rule 4: Prefer home addresses (homeRank; see its deviation note).
	if a.home != b.home {
		return pick(a.home > b.home, false), Dst4
	}
	// Rule 5: Prefer matching label.
	if ma, mb := a.matchLabel(), b.matchLabel(); ma != mb {
		return pick(ma, mb), Dst5
	}
	// Rule 6: Prefer higher precedence.
	if a.prec != b.prec {
		return pick(a.prec > b.prec, false), Dst6
	}
	// Rule 7: Prefer native transport.
	if a.encap != b.encap {
		return pick(!a.encap, false), Dst7
	}
	// Rule 8: Prefer smaller scope.
	if a.scope != b.scope {
		return pick(a.scope < b.scope, false), Dst8
	}
	// RFC 8305 section 4: history (RTT, then used before) between 8 and 9.
	if ha, hb := a.histKey(), b.histKey(); ha != hb {
		return pick(ha > hb, false), DstHistory
	}
	// Rule 9: Use longest matching prefix, only within one family.
	if a.v4 == b.v4 && a.r9 != b.r9 {
		return pick(a.r9 > b.r9, false), Dst9
	}
	// Rule 10: Otherwise, leave the order unchanged.
	return 0, Dst10
}

// sattr is what the source rules look at for one candidate SA and the
// destination D.
type sattr struct {
	addr      netip.Addr
	eligible  bool // section 4: in the candidate set
	same      bool // rule 1
	scope     policytable.Scope
	scopeRank uint16 // rule 2, relative to Scope(D)
	depr      bool   // rule 3
	home      uint8  // rule 4
	outIface  bool   // rule 5
	nextHop   bool   // rule 5.5
	label     uint8
	matchLbl  bool // rule 6
	pref7     bool // rule 7: temporary (or public) as configured
	cpl       int  // rule 8
	src       *Source
}

// srcAttrs computes the attributes of candidate sa for destination d.
// outIface and nextHop describe the route chosen for d (empty/zero:
// unknown, rules 5 and 5.5 do not apply).
func (s *Selector) srcAttrs(sa *Source, d netip.Addr, dScope policytable.Scope, dLabel uint8, outIface string, nextHop netip.Addr) sattr {
	t := s.table
	a := sattr{addr: sa.Addr, src: sa}
	// Section 4: multicast and unspecified addresses are never candidates;
	// neither is an address of the other family (IPv4 is handled in its
	// mapped form, so ::ffff:a.b.c.d and a.b.c.d are the same family).
	a.eligible = sa.Addr.IsValid() && d.IsValid() && !sa.Addr.IsMulticast() &&
		!sa.Addr.IsUnspecified() && isV4(sa.Addr) == isV4(d)
	x := toBits(sa.Addr)
	attr := lookupAttr(t, s.fastLookup(), sa.Addr, x)
	a.scope = s.scopeBits(t, sa.Addr, x)
	a.label = attr.Label
	a.same = sa.Addr.Unmap().WithZone("") == d.Unmap().WithZone("")
	// Rule 2 ranks scopes: those >= Scope(D) from the smallest up, above
	// those < Scope(D) from the largest down.
	if a.scope >= dScope {
		a.scopeRank = 512 - uint16(a.scope)
	} else {
		a.scopeRank = uint16(a.scope)
	}
	a.depr = sa.Deprecated
	a.home = homeRank(sa)
	a.outIface = outIface != "" && sa.Interface == outIface
	a.nextHop = nextHop.IsValid() && sa.NextHop == nextHop
	a.matchLbl = a.label == dLabel
	a.pref7 = sa.Temporary != s.preferPublic
	a.cpl = s.commonPrefixLen(x, sa.PrefixLen, toBits(d))
	return a
}

// compareSrc applies RFC 6724 section 5 rules 1-8 (with 5.5) in order:
// negative when a is preferred, with the deciding rule; (0, SrcOrder) when
// none decides.
func compareSrc(a, b *sattr) (int, Rule) {
	pick := func(x bool) int {
		if x {
			return -1
		}
		return 1
	}
	// Section 4: a non-candidate never wins (reported as rule 1's lead-in,
	// the candidate set; Rule is RuleNone).
	if a.eligible != b.eligible {
		return pick(a.eligible), RuleNone
	}
	// Rule 1: Prefer same address.
	if a.same != b.same {
		return pick(a.same), Src1
	}
	// Rule 2: Prefer appropriate scope.
	if a.scopeRank != b.scopeRank {
		return pick(a.scopeRank > b.scopeRank), Src2
	}
	// Rule 3: Avoid deprecated addresses.
	if a.depr != b.depr {
		return pick(!a.depr), Src3
	}
	// Rule 4: Prefer home addresses (homeRank; see its deviation note).
	if a.home != b.home {
		return pick(a.home > b.home), Src4
	}
	// Rule 5: Prefer outgoing interface.
	if a.outIface != b.outIface {
		return pick(a.outIface), Src5
	}
	// Rule 5.5: Prefer addresses in a prefix advertised by the next-hop.
	if a.nextHop != b.nextHop {
		return pick(a.nextHop), Src5_5
	}
	// Rule 6: Prefer matching label.
	if a.matchLbl != b.matchLbl {
		return pick(a.matchLbl), Src6
	}
	// Rule 7: Prefer temporary addresses (or public ones, if configured).
	if a.pref7 != b.pref7 {
		return pick(a.pref7), Src7
	}
	// Rule 8: Use longest matching prefix.
	if a.cpl != b.cpl {
		return pick(a.cpl > b.cpl), Src8
	}
	return 0, SrcOrder
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
// profile's table: on a real host the kernel, not the resolver, picks the
// source (see [Host] and [System]).
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
	t, f := s.table, s.fastLookup()
	d := toBits(dst)
	if !d.valid {
		return Source{}, false
	}
	dAttr, dScope := lookupAttr(t, f, dst, d), s.scopeBits(t, dst, d)
	best, bestKey := -1, uint64(0)
	for i := range candidates {
		// Max-scan; a later candidate must be strictly better, so the
		// first listed wins among equals.
		if k := s.srcKey(t, f, &candidates[i], d, dScope, dAttr.Label, outIface, nextHop); k > bestKey {
			best, bestKey = i, k
		}
	}
	if best < 0 {
		return Source{}, false
	}
	return candidates[best], true
}

// srcKey packs source rules 1-8 (with 5.5) for candidate sa and the
// destination d into one integer, larger preferred, 0 for a non-candidate.
// It orders candidates exactly as compareSrc does.
func (s *Selector) srcKey(t *policytable.Table, f *fastTable, sa *Source, d bits128, dScope policytable.Scope, dLabel uint8, outIface string, nextHop netip.Addr) uint64 {
	a := sa.Addr
	// Section 4: the candidate set.
	if !a.IsValid() || a.IsMulticast() || a.IsUnspecified() {
		return 0
	}
	x := toBits(a)
	if x.v4 != d.v4 {
		return 0
	}
	key := uint64(1) << 26
	// Rule 1: Prefer same address.
	if x.hi == d.hi && x.lo == d.lo {
		key |= 1 << 25
	}
	// Rule 2: Prefer appropriate scope.
	sc := s.scopeBits(t, a, x)
	if sc >= dScope {
		key |= uint64(512-uint16(sc)) << 15
	} else {
		key |= uint64(sc) << 15
	}
	// Rule 3: Avoid deprecated addresses.
	if !sa.Deprecated {
		key |= 1 << 14
	}
	// Rule 4: Prefer home addresses.
	key |= uint64(homeRank(sa)) << 12
	// Rule 5: Prefer outgoing interface.
	if outIface != "" && sa.Interface == outIface {
		key |= 1 << 11
	}
	// Rule 5.5: Prefer addresses in a prefix advertised by the next-hop.
	if nextHop.IsValid() && sa.NextHop == nextHop {
		key |= 1 << 10
	}
	// Rule 6: Prefer matching label.
	if lookupAttr(t, f, a, x).Label == dLabel {
		key |= 1 << 9
	}
	// Rule 7: Prefer temporary (or public) addresses.
	if sa.Temporary != s.preferPublic {
		key |= 1 << 8
	}
	// Rule 8: Use longest matching prefix.
	return key | uint64(s.commonPrefixLen(x, sa.PrefixLen, d))
}

// fastTable is a Selector's private copy of its policy table's lookup,
// keyed by the split form the rules already computed: the 128-bit space
// cut at every prefix boundary of the table (so each interval has one
// precedence and label), with the intervals indexed by the address's top
// byte so that a lookup usually compares one or two interval starts.
type fastTable struct {
	table  *policytable.Table
	iv     []interval  // ascending by start
	bucket [257]uint32 // intervals starting in top byte b: bucket[b]..bucket[b+1]
	// v4One is set when one interval covers all of ::ffff:0:0/96 (no
	// row of the table is more specific than the IPv4 row): every IPv4
	// address then has the attributes v4Attr.
	v4One  bool
	v4Attr policytable.Attr
}

type interval struct {
	hi, lo uint64 // start
	attr   policytable.Attr
}

// newFastTable compiles t. The values of each interval are taken from
// t.Lookup itself, so the two cannot disagree.
func newFastTable(t *policytable.Table) *fastTable {
	type u struct{ hi, lo uint64 }
	starts := []u{{0, 0}}
	add := func(rows []policytable.Row) {
		for _, r := range rows {
			p := r.Prefix.Masked()
			x := toBits(p.Addr())
			starts = append(starts, u{x.hi, x.lo})
			// The first address after the prefix, unless it ends at the
			// top of the space.
			n := p.Bits()
			lastHi, lastLo := x.hi, x.lo
			switch {
			case n == 0:
				continue
			case n < 64:
				lastHi |= ^uint64(0) >> n
				lastLo = ^uint64(0)
			case n < 128:
				lastLo |= ^uint64(0) >> (n - 64)
			}
			nlo, carry := bits.Add64(lastLo, 1, 0)
			nhi, over := bits.Add64(lastHi, 0, carry)
			if over == 0 {
				starts = append(starts, u{nhi, nlo})
			}
		}
	}
	add(t.Precedences())
	add(t.Labels())
	slices.SortFunc(starts, func(a, b u) int {
		if c := cmp.Compare(a.hi, b.hi); c != 0 {
			return c
		}
		return cmp.Compare(a.lo, b.lo)
	})
	starts = slices.Compact(starts)
	f := &fastTable{table: t}
	for _, st := range starts {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], st.hi)
		binary.BigEndian.PutUint64(b[8:], st.lo)
		f.iv = append(f.iv, interval{st.hi, st.lo, t.Lookup(netip.AddrFrom16(b))})
	}
	k := 0
	for b := 0; b <= 256; b++ {
		for k < len(f.iv) && int(f.iv[k].hi>>56) < b {
			k++
		}
		f.bucket[b] = uint32(k)
	}
	first, last := toBits(netip.IPv4Unspecified()), toBits(netip.AddrFrom4([4]byte{255, 255, 255, 255}))
	if i, j := f.index(first), f.index(last); i == j {
		f.v4One, f.v4Attr = true, f.iv[i].attr
	}
	return f
}

// lookup returns the precedence and label of the address x.
func (f *fastTable) lookup(x bits128) policytable.Attr {
	if x.v4 && f.v4One {
		return f.v4Attr
	}
	return f.iv[f.index(x)].attr
}

// index returns the position of the interval holding x.
func (f *fastTable) index(x bits128) int {
	top := x.hi >> 56
	// The interval holding x starts in x's top byte (at or before x), or
	// is the last one starting before it. Find the first interval of the
	// bucket that starts after x (binary search: a bucket may hold many
	// intervals in a large table).
	i, n := int(f.bucket[top]), int(f.bucket[top+1]-f.bucket[top])
	for n > 0 {
		half := n >> 1
		if v := &f.iv[i+half]; v.hi < x.hi || v.hi == x.hi && v.lo <= x.lo {
			i += half + 1
			n -= half + 1
		} else {
			n = half
		}
	}
	return i - 1
}

var (
	defaultFastOnce sync.Once
	defaultFast     *fastTable
)

// fastLookup returns the compiled lookup for the Selector's table, or nil
// when the Selector was built without one (then t.Lookup is used).
func (s *Selector) fastLookup() *fastTable {
	if s.fast != nil {
		return s.fast
	}
	if s.table == nil {
		return defaultFastTable()
	}
	return nil
}

func defaultFastTable() *fastTable {
	defaultFastOnce.Do(func() { defaultFast = newFastTable(policytable.RFC6724()) })
	return defaultFast
}

// v4Scopes is a Selector's compiled IPv4 scope map (RFC 6724 section 3.2:
// the table's rules with the Selector's private-IPv4 override): the 32-bit
// space cut at every rule boundary, each interval with its scope.
type v4Scopes struct {
	starts []uint32
	scopes []policytable.Scope
	// byTop answers for a first octet whose whole /8 has one scope;
	// splitTop marks the others (searched in starts).
	byTop [256]policytable.Scope
}

const splitTop = policytable.Scope(0xff)

// newV4Scopes compiles the IPv4 scopes of s. Each interval's scope comes
// from the uncompiled path (s.scope without scope4), so the two agree.
func newV4Scopes(s *Selector) *v4Scopes {
	bounds := []uint32{0}
	add := func(p netip.Prefix) {
		p = p.Masked()
		if !p.Addr().Is4() {
			return
		}
		b := p.Addr().As4()
		start := uint64(binary.BigEndian.Uint32(b[:]))
		bounds = append(bounds, uint32(start))
		if end := start | (1<<(32-p.Bits()) - 1); end < 1<<32-1 {
			bounds = append(bounds, uint32(end+1))
		}
	}
	rules, _ := s.Table().ScopeV4()
	for _, r := range rules {
		add(r.Prefix)
	}
	if s.privateV4 != privateV4Table {
		for _, p := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} {
			add(netip.MustParsePrefix(p))
		}
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	v := &v4Scopes{}
	for _, b := range bounds {
		a := netip.AddrFrom4([4]byte{byte(b >> 24), byte(b >> 16), byte(b >> 8), byte(b)})
		v.starts = append(v.starts, b)
		v.scopes = append(v.scopes, s.scopeBits(s.Table(), a, toBits(a)))
	}
	for o := range v.byTop {
		first, last := uint32(o)<<24, uint32(o)<<24|(1<<24-1)
		if i, j := v.search(first), v.search(last); i == j {
			v.byTop[o] = v.scopes[i]
		} else {
			v.byTop[o] = splitTop
		}
	}
	return v
}

// lookup returns the scope of the IPv4 address k.
func (v *v4Scopes) lookup(k uint32) policytable.Scope {
	if sc := v.byTop[k>>24]; sc != splitTop {
		return sc
	}
	return v.scopes[v.search(k)]
}

// search returns the index of the interval holding k.
func (v *v4Scopes) search(k uint32) int {
	i, n := 0, len(v.starts)
	for n > 1 {
		half := n >> 1
		if v.starts[i+half] <= k {
			i += half
		}
		n -= half
	}
	return i
}
