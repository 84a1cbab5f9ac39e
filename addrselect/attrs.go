package addrselect

import (
	"net/netip"
	"slices"
	"time"

	"github.com/dualstack/dualstack/addrselect/nat64"
	"github.com/dualstack/dualstack/internal/addrbits"
	"github.com/dualstack/dualstack/policytable"
)

// dattr is what the destination rules look at for one destination D, as
// a profile computes it: the inputs of RFC 6724 section 6 and the facts
// Explain reports.
type dattr struct {
	addr, src netip.Addr
	usable    bool              // rule 1: a source, a valid D, not marked unreachable
	v4        bool              // D's family as the profile sees it (rule 9)
	scope     policytable.Scope // Scope(D), rules 2 and 8
	srcScope  policytable.Scope // Scope(Source(D)), rule 2
	label     uint8             // Label(D), rule 5
	srcLabel  uint8             // Label(Source(D)), rule 5
	prec      uint8             // Precedence(D), rule 6
	// Source(D)'s flags: rules 3, 4 and 7, and Facts.
	deprecated, home, careOf, temporary, encap bool
	iface                                      string // Source(D)'s interface (glibc's rule 7)
	homeRank                                   uint8  // rule 4: see homeRank
	rtt                                        time.Duration
	hasRTT                                     bool   // the history step
	hist                                       uint32 // the history step's value, see histKey
	cpl                                        int    // CommonPrefixLen(Source(D), D) as the profile's rule 9 counts it
	r9                                         uint8  // the rule 9 value
	plen                                       uint8  // the prefix length bounding cpl, for reasons
	// NAT64 (WithNAT64): the IPv4 address D stands for and the prefix
	// it was synthesized with (zero when D is in no known prefix), and
	// whether that IPv4 address is reachable natively (DstNAT64).
	synth       netip.Addr
	synthPrefix netip.Prefix
	hairpin     bool
	// vals holds each rule's value (the attribute it reads, inverted
	// when the rule prefers the smaller) at the rule's place in the
	// layout slots derives from dstOrder: the profiles' keys are masks
	// of this word (see pairVals).
	vals uint64
}

// dattrField names an attribute of a destination that a rule reads.
type dattrField uint8

const (
	attrUsable dattrField = iota
	attrScopeMatch
	attrDeprecated
	attrHomeRank
	attrLabelMatch
	attrPrecedence
	attrEncapsulated
	attrScope
	attrHistory
	attrRule9
	attrHairpin
)

const numDattrFields = int(attrHairpin) + 1

// pairVals and ownVals pack the attributes the rules read as numbers
// (true is 1), each at its rule's place, for dattr.vals (before
// invertedBits): slots' layout as constants (slots_gen.go, generated
// from it). The two halves each inline.

// pairVals places the attributes that relate D and Source(D).
func (a *dattr) pairVals() uint64 {
	return b2u(a.usable)<<atUsable |
		b2u(a.scope == a.srcScope)<<atScopeMatch |
		b2u(a.label == a.srcLabel)<<atLabelMatch |
		uint64(a.r9)<<atRule9 |
		b2u(a.hairpin)<<atHairpin
}

// ownVals places the attributes of D or of Source(D) alone.
func (a *dattr) ownVals() uint64 {
	return b2u(a.deprecated)<<atDeprecated |
		uint64(a.homeRank)<<atHomeRank |
		uint64(a.prec)<<atPrecedence |
		b2u(a.encap)<<atEncapsulated |
		uint64(a.scope)<<atScope |
		uint64(a.hist)<<atHistory
}

// srcMemo remembers the scope and label of the sources of one sort: its
// destinations share a few sources, and looking a source up again costs
// more than finding it here. It is direct-mapped: a source has one place,
// chosen by a hash of its address.
type srcMemo struct {
	entries [8]srcMemoEntry
}

type srcMemoEntry struct {
	x     addrbits.U128 // scope and label do not depend on a zone
	set   bool
	v4    bool
	scope policytable.Scope
	label uint8
}

// slot returns the entry for the source x.
func (m *srcMemo) slot(x addrbits.U128) *srcMemoEntry {
	const golden = 0x9e3779b97f4a7c15 // Fibonacci hashing: the top bits mix every bit
	return &m.entries[((x.Lo^x.Hi)*golden)>>61]
}

// dstAttrs computes the attributes of d under s's profile. m may be nil;
// nv is the list d is sorted in, for the NAT64 step (nil: none).
func (s *Selector) dstAttrs(d *Destination, m *srcMemo, nv *natives) dattr {
	var a dattr
	s.fillAttrs(&a, d, m, nv)
	a.addr, a.src = d.Addr, d.Source.Addr // for reasons and Facts only
	return a
}

// fillAttrs sets *a to the attributes of d under s's profile that the
// rules read (the sort's form of dstAttrs: no copy of the result, no
// addresses for reasons). m may be nil; nv is the list d is sorted in
// (nil: none).
func (s *Selector) fillAttrs(a *dattr, d *Destination, m *srcMemo, nv *natives) {
	p := s.prof
	src := &d.Source
	srcValid := src.Addr.IsValid()
	a.usable = d.Addr.IsValid() && srcValid && !d.Unreachable
	// daddr is the address the policy rules read: D, or under
	// NAT64AsIPv4 the IPv4 address a synthesized D stands for.
	daddr, asV4 := d.Addr, false
	if s.natOn { // else these fields stay zero
		a.synth, a.synthPrefix, a.hairpin = netip.Addr{}, netip.Prefix{}, false
		if asV4 = s.fillNAT64(a, d, nv); asV4 {
			daddr = a.synth
		}
	}
	dx, sx := addrbits.From(daddr), addrbits.From(src.Addr)
	a.v4 = p.isV4(daddr, dx)
	var at policytable.Attr
	if p.oneTable && a.v4 == dx.IsMapped() { // classify's common case, inline
		at, a.scope = s.lookup.Classify(daddr)
	} else {
		at, a.scope = p.classify(s, daddr, dx, a.v4)
	}
	a.label, a.prec = at.Label, at.Precedence
	a.srcScope, a.srcLabel = 0, 0
	switch {
	case p.missingSourceMatches && !a.usable:
		// c-ares: the source of an unusable destination has no family.
		a.srcScope, a.srcLabel = policytable.ScopeInterfaceLocal, 1
	case asV4 && srcValid:
		// Beyond the translator the path is IPv4 from the
		// translator's address, which stands in for Source(D).
		a.srcScope, a.srcLabel = a.scope, a.label
	case srcValid:
		srcV4 := p.isV4(src.Addr, sx)
		if p.srcInDstFamily {
			srcV4 = a.v4
		}
		a.srcScope, a.srcLabel = s.sourceScopeLabel(src.Addr, sx, srcV4, m)
	}
	s.fillSourceFlags(a, src, srcValid)
	a.cpl, a.r9, a.plen = 0, 0, 0
	if a.usable && p.rule9.kind != countNone {
		a.cpl, a.r9, a.plen = p.rule9.count(sx, dx, a.v4, src)
	}
	if s.history != nil { // else these fields stay zero
		a.rtt, a.hasRTT, a.hist = 0, false, 0
	}
	if s.history != nil && d.Addr.IsValid() {
		a.rtt, a.hasRTT = s.history.Lookup(d.Addr)
		a.rtt = max(a.rtt, 0)
		a.hist = uint32(histKey(a.rtt, a.hasRTT))
	}
	a.vals = (a.pairVals() | a.ownVals()) ^ invertedBits
}

// fillNAT64 records in a what d stands for when it lies inside a known
// NAT64 prefix (the first that holds it, RFC 6052 section 2.3), and
// whether that IPv4 address is among nv's destinations with a usable
// source, so that the host reaches it natively and the translator would
// only hairpin (rule DstNAT64). It reports whether the rules rank d as
// that IPv4 address (NAT64AsIPv4).
//
// Where the texts stand: RFC 8305 section 7 synthesizes addresses on an
// IPv6-only network and sorts them with the rest without saying how they
// rank; the Happy Eyeballs v3 draft's current text undoes DNS64
// synthesis with the known prefix when the host has IPv4 and ranks the
// result as native IPv4, while whether a synthesized address counts as
// IPv4 at all is still an open issue there (see WithNAT64Rank).
func (s *Selector) fillNAT64(a *dattr, d *Destination, nv *natives) bool {
	v4, p, ok := nat64.ExtractAny(s.nat64, d.Addr)
	if !ok {
		return false
	}
	a.synth, a.synthPrefix = v4, p
	a.hairpin = a.usable && nv.has(v4)
	return s.nat64Rank != NAT64AsIPv6
}

// natives answers, for the destinations of one sort (or one pair),
// whether an IPv4 address is among them with a usable source: the host
// reaches it natively.
type natives struct {
	dsts   []Destination // scanned, for short lists
	sorted []netip.Addr  // for long lists: the usable IPv4 destinations, sorted
}

// newNatives prepares the question for dsts: a scan per synthesized
// destination for up to stackN destinations (no allocation), one sort
// for longer lists (whose sort allocates anyway), so that the cost stays
// O(n log n).
func newNatives(dsts []Destination) natives {
	if len(dsts) <= stackN {
		return natives{dsts: dsts}
	}
	var nv natives
	for i := range dsts {
		if nativeV4(&dsts[i]) {
			nv.sorted = append(nv.sorted, dsts[i].Addr.Unmap())
		}
	}
	slices.SortFunc(nv.sorted, netip.Addr.Compare)
	return nv
}

// has reports whether v4 is one of the destinations with a usable
// source. A nil nv has none.
func (nv *natives) has(v4 netip.Addr) bool {
	if nv == nil {
		return false
	}
	if nv.dsts == nil {
		_, ok := slices.BinarySearchFunc(nv.sorted, v4, netip.Addr.Compare)
		return ok
	}
	for i := range nv.dsts {
		if d := &nv.dsts[i]; nativeV4(d) && d.Addr.Unmap() == v4 {
			return true
		}
	}
	return false
}

// nativeV4 reports whether d is an IPv4 destination (IPv4-mapped
// included) that is usable in the sense of rule 1.
func nativeV4(d *Destination) bool {
	return isV4(d.Addr) && d.Source.IsValid() && !d.Unreachable
}

// fillSourceFlags copies Source(D)'s flags into a (all false without a
// source: valid is src.IsValid()) and ranks its Mobile IPv6 roles for rule 4.
func (s *Selector) fillSourceFlags(a *dattr, src *Source, valid bool) {
	if !valid {
		src = &noSource
	}
	a.deprecated, a.home, a.careOf = src.Deprecated, src.Home, src.CareOf
	a.temporary, a.encap = src.Temporary, src.Encapsulated
	a.homeRank = homeRank(a.home, a.careOf)
	if s.prof.stackQuirks {
		s.fillGlibcFlags(a, src)
	}
}

// noSource is the Source of a destination without one: no flags.
var noSource Source

// fillGlibcFlags applies glibc's view of Source(D): rule 7 reads its
// interface, rule 4 the home flag alone.
func (s *Selector) fillGlibcFlags(a *dattr, src *Source) {
	if s.prof.rule7AcrossInterfaces { // else a.iface stays ""
		a.iface = src.Interface
	}
	if s.prof.homeFlagOnly {
		a.homeRank = uint8(b2u(a.home))
	}
}

// sourceScopeLabel returns the scope and label of the source a (seen as
// IPv4 when v4), through the memo m (which may be nil).
func (s *Selector) sourceScopeLabel(a netip.Addr, x addrbits.U128, v4 bool, m *srcMemo) (policytable.Scope, uint8) {
	var e *srcMemoEntry
	if m != nil {
		if e = m.slot(x); e.set && e.x == x && e.v4 == v4 {
			return e.scope, e.label
		}
	}
	at, sc := s.prof.classify(s, a, x, v4)
	if e != nil {
		// Field by field: a composite literal is built on the stack and
		// copied in 16-byte moves that stall on its smaller stores.
		e.x, e.set, e.v4, e.scope, e.label = x, true, v4, sc, at.Label
	}
	return sc, at.Label
}

// histBits is the width of the history step's value: 1 bit "has
// history" and 24 bits of inverted RTT in microseconds.
const (
	histBits     = 25
	maxRTTMicros = 1<<24 - 1
)

// histKey is the history step's value: with history above without, then
// lower RTT above higher (RTTs are compared in whole microseconds, up to
// about 16.7 s).
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

// sattr is what the source rules look at for one candidate SA and the
// destination D.
type sattr struct {
	src        *Source
	eligible   bool // section 4: in the candidate set
	same       bool // rule 1
	scope      policytable.Scope
	scopeRank  uint16 // rule 2, relative to Scope(D)
	outIface   bool   // rule 5
	nextHop    bool   // rule 5.5
	label      uint8
	matchLabel bool // rule 6
	pref7      bool // rule 7: temporary (or public) as configured
	cpl        int  // rule 8
}

// sattrField names an attribute of a source candidate that a rule reads.
type sattrField uint8

const (
	attrEligible sattrField = iota
	attrSame
	attrScopeRank
	attrSrcDeprecated
	attrSrcHomeRank
	attrOutIface
	attrNextHop
	attrSrcLabelMatch
	attrPreferred7
	attrCommonPrefix
)

// get returns the attribute f of a as a number (true is 1).
func (a *sattr) get(f sattrField) uint64 {
	switch f {
	case attrEligible:
		return b2u(a.eligible)
	case attrSame:
		return b2u(a.same)
	case attrScopeRank:
		return uint64(a.scopeRank)
	case attrSrcDeprecated:
		return b2u(a.src.Deprecated)
	case attrSrcHomeRank:
		return uint64(homeRank(a.src.Home, a.src.CareOf))
	case attrOutIface:
		return b2u(a.outIface)
	case attrNextHop:
		return b2u(a.nextHop)
	case attrSrcLabelMatch:
		return b2u(a.matchLabel)
	case attrPreferred7:
		return b2u(a.pref7)
	case attrCommonPrefix:
		return uint64(a.cpl)
	}
	panic("addrselect: unknown source attribute")
}

// srcChoice is the destination and route a source is chosen for.
type srcChoice struct {
	dst          netip.Addr
	dx           addrbits.U128
	dstV4        bool // D is IPv4 or IPv4-mapped (section 4's family)
	dScope       policytable.Scope
	dLabel, dPre uint8
	outIface     string
	nextHop      netip.Addr
	preferPublic bool
}

// newSrcChoice looks up what the source rules need of dst under s.
// Scopes are the table's (RFC 6724 section 3, IPv4-mapped addresses as
// IPv4).
func (s *Selector) newSrcChoice(dst netip.Addr, outIface string, nextHop netip.Addr) srcChoice {
	at, sc := s.effective.Classify(dst)
	return srcChoice{
		dst: dst, dx: addrbits.From(dst), dstV4: isV4(dst),
		dScope: sc, dLabel: at.Label, dPre: at.Precedence,
		outIface: outIface, nextHop: nextHop, preferPublic: s.preferPublic,
	}
}

// srcAttrs computes the attributes of candidate sa for the choice c.
// Source rules read the Selector's own table, for stack profiles too (on
// a real host the kernel, not the resolver, picks the source).
func (s *Selector) srcAttrs(sa *Source, c *srcChoice) sattr {
	a := sattr{src: sa}
	v4 := isV4(sa.Addr)
	// Section 4: multicast and unspecified addresses are never
	// candidates; neither is an address of the other family (IPv4 is
	// handled in its mapped form, so ::ffff:a.b.c.d and a.b.c.d are the
	// same family).
	a.eligible = sa.Addr.IsValid() && c.dst.IsValid() && !sa.Addr.IsMulticast() &&
		!sa.Addr.IsUnspecified() && v4 == c.dstV4
	sx := addrbits.From(sa.Addr)
	a.same = sa.Addr.IsValid() == c.dst.IsValid() && sx == c.dx
	var at policytable.Attr
	at, a.scope = s.effective.Classify(sa.Addr)
	a.label = at.Label
	// Rule 2 ranks scopes: those >= Scope(D) from the smallest up, above
	// those < Scope(D) from the largest down.
	if a.scope >= c.dScope {
		a.scopeRank = 512 - uint16(a.scope)
	} else {
		a.scopeRank = uint16(a.scope)
	}
	a.outIface = c.outIface != "" && sa.Interface == c.outIface
	a.nextHop = c.nextHop.IsValid() && sa.NextHop == c.nextHop
	a.matchLabel = a.label == c.dLabel
	a.pref7 = sa.Temporary != c.preferPublic
	if sa.Addr.IsValid() && c.dst.IsValid() {
		a.cpl = familyBits(sx, c.dx, v4)
	}
	if !s.fullPrefix {
		a.cpl = min(a.cpl, prefixLen(sa.PrefixLen, v4))
	}
	return a
}

// isV4 reports whether a is IPv4 or IPv4-mapped IPv6: RFC 6724 section 3.2
// handles IPv4 in its mapped form, so both count as the IPv4 family.
func isV4(a netip.Addr) bool { return a.Is4() || a.Is4In6() }
