package addrselect

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"

	"github.com/dualstack/dualstack/internal/addrbits"
	"github.com/dualstack/dualstack/policytable"
)

// profile is a destination sort as data: which rules of rules.go apply,
// in which order, with which of a stack's named quirks, and which sort
// algorithm runs them. The RFC engine and every stack profile are values
// of this type, run by the one engine in engine.go.
type profile struct {
	name string
	// stack is set for the emulation of a real stack: its reasons start
	// with its name.
	stack bool
	// rules are the destination rules applied, in order (Dst10, the
	// input order, is implied).
	rules []Rule

	// usableOnly are the rules that relate two destinations only when
	// both are usable: an unusable destination's value counts as 0, so
	// that two unusable destinations tie on them.
	usableOnly ruleSet

	// The policy table and the scopes the stack reads.
	table    tableSource
	scopeV4  scopeSource
	mappedV4 bool // IPv4-mapped addresses are IPv4 (else IPv6, as glibc and c-ares see them)
	// srcInDstFamily: the source is seen in the destination's family
	// (an IPv4 source of an IPv6 destination as IPv4-mapped), as glibc
	// and c-ares convert it.
	srcInDstFamily bool
	// missingSourceMatches: the source of an unusable destination is an
	// address of no family, with scope interface-local and label 1, and
	// rules 2 and 5 compare it like any other (c-ares).
	missingSourceMatches bool
	// homeFlagOnly: rule 4 compares the home flag alone (glibc).
	homeFlagOnly bool
	// rule7AcrossInterfaces: rule 7 compares only sources on different
	// (or unnamed) interfaces (glibc).
	rule7AcrossInterfaces bool
	// ipv4OnlyUnsorted: a list of only IPv4 destinations is left in
	// input order (musl).
	ipv4OnlyUnsorted bool
	// rule9 is how rule 9 counts the common prefix.
	rule9 rule9Count

	sort sortAlgorithm

	// Derived by compile from rules.
	pairwise ruleSet // rules that relate only some pairs under this profile
	// oneTable: policy attributes and scopes come from the Selector's
	// table.
	oneTable bool
	// stackQuirks: rule7AcrossInterfaces or homeFlagOnly.
	stackQuirks bool
	// r9 is rule 9's slot, for the consistent sort's second step.
	r9 slot
	// The leading rules that are not pairwise form the key: dattr.vals
	// under keyMask, shifted down by keyShift, keyBits wide.
	keyMask  uint64
	keyShift uint8
	keyBits  int
	// usableOnlyMask are the key bits of the keyed usableOnly rules.
	usableOnlyMask uint64
	tail           []Rule // the rules after them, compared pairwise
}

// ruleSet is a set of Rules.
type ruleSet uint32

func rulesOf(rs ...Rule) ruleSet {
	var s ruleSet
	for _, r := range rs {
		s |= 1 << r
	}
	return s
}

func (s ruleSet) has(r Rule) bool { return s&(1<<r) != 0 }

// slot is where one rule's value sits in dattr.vals.
type slot struct {
	shift uint8
	mask  uint64 // the rule's bits, in place
}

// slotTable places each attribute's rule value in dattr.vals.
type slotTable struct {
	shift [numDattrFields]uint8
	mask  [numDattrFields]uint64
	// invert holds the bits of the rules that prefer the smaller value:
	// the word is XORed with it, so that a larger value is preferred.
	invert uint64
}

// slots lays the rules' values out in dattr.vals in dstOrder, the first
// rule highest. Since every profile applies a subsequence of dstOrder,
// its key is that word with the other rules masked out: comparing two
// keys compares the rules one by one, in the profile's order.
var slots = func() (t slotTable) {
	width := 0
	for i := len(dstOrder) - 1; i >= 0; i-- {
		d := &dstRules[dstOrder[i]]
		t.shift[d.attr], t.mask[d.attr] = uint8(width), (1<<d.bits-1)<<width
		if d.prefer == preferSmaller {
			t.invert |= t.mask[d.attr]
		}
		width += int(d.bits)
	}
	if width > 64 {
		panic(fmt.Sprintf("addrselect: rule values take %d bits", width))
	}
	return t
}()

// slotOf returns the slot of rule r's value.
func slotOf(r Rule) slot {
	f := dstRules[r].attr
	return slot{slots.shift[f], slots.mask[f]}
}

// tableSource says which policy table a profile reads.
type tableSource uint8

const (
	tableSelector tableSource = iota // the Selector's (with its private-IPv4 scope override)
	tableMusl                        // musl's fixed table
	tableCAres                       // c-ares's fixed table
)

// sortAlgorithm is one of the sorts in sorts.go.
type sortAlgorithm uint8

const (
	// sortConsistent sorts by the packed key, then orders each family
	// by rule 9 among the positions it holds in each run of equal key
	// (the RFC engine; musl, whose rule 9 is part of the key).
	sortConsistent sortAlgorithm = iota
	// sortStable runs slices.SortStableFunc with the comparator (Go).
	sortStable
	// sortMerge runs glibc's merge sort with the comparator, ties by
	// input position (glibc, c-ares).
	sortMerge
)

// compile derives the packed key and the pairwise tail from p.rules. It
// panics on a profile the engine cannot run (a programmer's error: the
// profiles are package data, checked by the tests).
func (p *profile) compile() *profile {
	if !isSubsequence(p.rules, dstOrder[:]) {
		panic(fmt.Sprintf("addrselect: profile %s: rules %v are not in the order %v", p.name, p.rules, dstOrder))
	}
	p.pairwise, p.tail = 0, nil
	p.oneTable = p.table == tableSelector && p.scopeV4 == scopeFromTable
	p.stackQuirks = p.rule7AcrossInterfaces || p.homeFlagOnly
	p.r9 = slotOf(Dst9)
	for _, r := range p.rules {
		switch dstRules[r].pairs {
		case pairsSameFamily:
			if !p.rule9.anyFamily {
				p.pairwise |= rulesOf(r)
			}
		case pairsAcrossInterfaces:
			if p.rule7AcrossInterfaces {
				p.pairwise |= rulesOf(r)
			}
		}
	}
	for i, r := range p.rules {
		if p.pairwise.has(r) {
			p.tail = p.rules[i:]
			break
		}
	}
	p.keyMask, p.usableOnlyMask = 0, 0
	for _, r := range p.rules[:len(p.rules)-len(p.tail)] {
		p.keyMask |= slotOf(r).mask
		if p.usableOnly.has(r) {
			p.usableOnlyMask |= slotOf(r).mask
		}
	}
	p.keyShift, p.keyBits = 0, 0
	if p.keyMask != 0 {
		p.keyShift = uint8(bits.TrailingZeros64(p.keyMask))
		p.keyBits = 64 - bits.LeadingZeros64(p.keyMask) - int(p.keyShift)
	}
	if p.sort == sortConsistent && len(p.tail) > 0 && !slices.Equal(p.tail, []Rule{Dst9}) {
		panic(fmt.Sprintf("addrselect: profile %s: the consistent sort takes rule 9 alone after its key, not %v", p.name, p.tail))
	}
	return p
}

// isSubsequence reports whether rs lists some of order's rules, in
// order.
func isSubsequence(rs, order []Rule) bool {
	for _, r := range rs {
		i := slices.Index(order, r)
		if i < 0 {
			return false
		}
		order = order[i+1:]
	}
	return true
}

// value is rule r's value for a under p.
func (p *profile) value(r Rule, a *dattr) uint64 {
	if !a.usable && p.usableOnly.has(r) {
		return 0
	}
	sl := slotOf(r)
	return a.vals & sl.mask >> sl.shift
}

// applies reports whether rule r, pairwise under p, relates a and b.
func (p *profile) applies(r Rule, a, b *dattr) bool {
	switch dstRules[r].pairs {
	case pairsSameFamily:
		return a.v4 == b.v4
	case pairsAcrossInterfaces:
		return a.iface != b.iface || a.iface == ""
	case pairsAll:
	}
	return true
}

// key packs the values of p's keyed rules for a: a larger key is
// preferred, and two keys compare as the rules do one by one.
func (p *profile) key(a *dattr) uint64 {
	k := a.vals & p.keyMask
	if !a.usable {
		k &^= p.usableOnlyMask // those rules' values are 0
	}
	return k >> (p.keyShift & 63)
}

// compareRules applies rules in order to a and b: negative when a is
// preferred, with the deciding rule; (0, Dst10) when none decides.
func (p *profile) compareRules(rules []Rule, a, b *dattr) (int, Rule) {
	for _, r := range rules {
		if p.pairwise.has(r) && !p.applies(r, a, b) {
			continue
		}
		if va, vb := p.value(r, a), p.value(r, b); va != vb {
			if va > vb {
				return -1, r
			}
			return 1, r
		}
	}
	return 0, Dst10
}

// compare is the profile's pairwise comparator over every rule.
func (p *profile) compare(a, b *dattr) (int, Rule) { return p.compareRules(p.rules, a, b) }

// isV4 reports whether a, whose 128-bit form is x, is IPv4 as the
// profile sees families: an IPv4 address, or an IPv4-mapped one where
// the profile counts those as IPv4.
func (p *profile) isV4(a netip.Addr, x addrbits.U128) bool {
	return x.IsMapped() && (p.mappedV4 || a.Is4())
}

// leavesUnsorted reports whether p leaves dsts in input order: a list of
// only IPv4 destinations under the ipv4OnlyUnsorted quirk.
func (p *profile) leavesUnsorted(dsts []Destination) bool {
	return p.ipv4OnlyUnsorted && !slices.ContainsFunc(dsts, func(d Destination) bool { return !d.Addr.Is4() })
}

// lookupTable returns the table p reads under s.
func (p *profile) lookupTable(s *Selector) *policytable.Table {
	switch p.table {
	case tableMusl:
		return muslTable()
	case tableCAres:
		return caresTable()
	}
	return s.effective
}
