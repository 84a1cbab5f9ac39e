package addrselect

import (
	"fmt"
	"strconv"
)

// This file is the one definition of every rule: RFC 6724 section 6
// (destination rules 1-10, with the RFC 8305 section 4 history step) and
// section 5 (source rules 1-8 with 5.5). Each definition holds the RFC's
// rule sentence and section, the value the rule compares for one
// candidate (a larger value is preferred) with its width in a packed key,
// and the reason given when the rule decides. The comparators, the packed
// sort keys, Explain and Trace, Rule.String and Rule.Title all read these
// tables; nothing else knows what a rule does. Where a real stack applies
// a rule differently, the definition reads the stack's named quirk from
// its profile (see profile.go).
//
// To add a rule: give it a Rule constant, a definition here, and a place
// in the rule lists of the profiles that apply it.

// Rule identifies the rule that decided between two candidates.
type Rule uint8

// The rules of RFC 6724 section 6 (destination) and section 5 (source),
// and the steps the library adds. Their titles are [Rule.Title].
const (
	RuleNone   Rule = iota // nothing decided; for sources, the candidate set of section 4
	Dst1                   // avoid unusable destinations
	Dst2                   // prefer matching scope
	Dst3                   // avoid deprecated addresses
	Dst4                   // prefer home addresses
	Dst5                   // prefer matching label
	Dst6                   // prefer higher precedence
	Dst7                   // prefer native transport
	Dst8                   // prefer smaller scope
	DstHistory             // RFC 8305 section 4: measured history, between rules 8 and 9
	Dst9                   // use longest matching prefix
	Dst10                  // leave the order unchanged
	Src1                   // prefer same address
	Src2                   // prefer appropriate scope
	Src3                   // avoid deprecated addresses
	Src4                   // prefer home addresses
	Src5                   // prefer outgoing interface
	Src5_5                 // prefer addresses in a prefix advertised by the next hop
	Src6                   // prefer matching label
	Src7                   // prefer temporary (or public) addresses
	Src8                   // use longest matching prefix
	SrcOrder               // candidates equal: the first one listed wins
	// DstNAT64 applies right after rule 1 when the Selector knows NAT64
	// prefixes ([WithNAT64]): avoid a translated address whose IPv4
	// address is reachable natively. It is numbered last so that the
	// values above stay as they were.
	DstNAT64
)

// ruleText is what the standards say of one rule: its number as the test
// vectors write it, the rule's sentence and where it is defined.
type ruleText struct {
	name    string // "dst-1"
	title   string // the rule's sentence, lower case: "avoid unusable destinations"
	section string // "RFC 6724 section 6"
}

// texts holds the words of every rule, destination and source alike.
var texts = [...]ruleText{
	RuleNone:   {"none", "no rule", ""},
	Dst1:       {"dst-1", "avoid unusable destinations", "RFC 6724 section 6"},
	Dst2:       {"dst-2", "prefer matching scope", "RFC 6724 section 6"},
	Dst3:       {"dst-3", "avoid deprecated addresses", "RFC 6724 section 6"},
	Dst4:       {"dst-4", "prefer home addresses", "RFC 6724 section 6"},
	Dst5:       {"dst-5", "prefer matching label", "RFC 6724 section 6"},
	Dst6:       {"dst-6", "prefer higher precedence", "RFC 6724 section 6"},
	Dst7:       {"dst-7", "prefer native transport", "RFC 6724 section 6"},
	Dst8:       {"dst-8", "prefer smaller scope", "RFC 6724 section 6"},
	DstHistory: {"dst-history", "prefer lower round-trip times, then used addresses", "RFC 8305 section 4"},
	Dst9:       {"dst-9", "use longest matching prefix", "RFC 6724 section 6"},
	Dst10:      {"dst-10", "otherwise, leave the order unchanged", "RFC 6724 section 6"},
	Src1:       {"src-1", "prefer same address", "RFC 6724 section 5"},
	Src2:       {"src-2", "prefer appropriate scope", "RFC 6724 section 5"},
	Src3:       {"src-3", "avoid deprecated addresses", "RFC 6724 section 5"},
	Src4:       {"src-4", "prefer home addresses", "RFC 6724 section 5"},
	Src5:       {"src-5", "prefer outgoing interface", "RFC 6724 section 5"},
	Src5_5:     {"src-5.5", "prefer addresses in a prefix advertised by the next-hop", "RFC 6724 section 5"},
	Src6:       {"src-6", "prefer matching label", "RFC 6724 section 5"},
	Src7:       {"src-7", "prefer temporary addresses", "RFC 6724 section 5"},
	Src8:       {"src-8", "use longest matching prefix", "RFC 6724 section 5"},
	SrcOrder:   {"src-order", "candidates equal: the first listed wins", "RFC 6724 section 5 (implementation-specific tiebreaker)"},
	DstNAT64:   {"dst-nat64", "avoid translating what native IPv4 reaches", "RFC 8305 section 7 and draft-ietf-happy-happyeyeballs-v3"},
}

// String returns the rule's short name as the test vectors write it:
// "dst-1" to "dst-10" for RFC 6724 section 6, "src-1" to "src-8" (and
// "src-5.5") for section 5, "dst-history" for the RFC 8305 section 4
// history step.
func (r Rule) String() string {
	if int(r) < len(texts) {
		return texts[r].name
	}
	return "rule(" + strconv.Itoa(int(r)) + ")"
}

// Title returns the rule's sentence as the RFC words it, in lower case
// ("prefer higher precedence" for [Dst6]).
func (r Rule) Title() string {
	if int(r) < len(texts) {
		return texts[r].title
	}
	return r.String()
}

// Section returns where the rule is defined ("RFC 6724 section 6").
func (r Rule) Section() string {
	if int(r) < len(texts) {
		return texts[r].section
	}
	return ""
}

// prefer says which side of a rule's attribute wins.
type prefer uint8

const (
	preferLarger  prefer = iota // the larger value (true over false)
	preferSmaller               // the smaller value (false over true)
)

// pairs says which pairs of destinations a rule relates.
type pairs uint8

const (
	pairsAll pairs = iota
	// pairsSameFamily: two IPv6 or two IPv4 destinations (rule 9),
	// unless the profile's rule 9 counts across families.
	pairsSameFamily
	// pairsAcrossInterfaces: destinations whose sources are on
	// different (or unnamed) interfaces, under a profile with quirk
	// rule7AcrossInterfaces (glibc's rule 7).
	pairsAcrossInterfaces
)

// dstRule is one destination rule: the attribute it reads (attrs.go
// computes it for each destination), which side it prefers, how many bits
// the attribute takes in a packed key, which pairs it relates, and why it
// decided, in words, after "prefer W over L: ".
type dstRule struct {
	attr   dattrField
	prefer prefer
	bits   uint8
	pairs  pairs
	why    func(p *profile, w, l *dattr) string
}

// dstRules defines the destination rules, indexed by Rule.
var dstRules = [...]dstRule{
	// Rule 1: Avoid unusable destinations. If DB is known to be
	// unreachable or Source(DB) is undefined, prefer DA.
	Dst1: {attr: attrUsable, bits: 1, why: func(_ *profile, _, l *dattr) string {
		switch {
		case !l.addr.IsValid():
			return "the latter is not a valid address"
		case !l.src.IsValid():
			return "the latter has no source address (unusable)"
		}
		return "the latter is marked unreachable"
	}},
	// Rule 2: Prefer matching scope: Scope(D) = Scope(Source(D)).
	Dst2: {attr: attrScopeMatch, bits: 1, why: func(_ *profile, w, l *dattr) string {
		return fmt.Sprintf("its scope matches its source's (both %s), the other's does not (%s)", w.scope, scopeOrNone(l))
	}},
	// Rule 3: Avoid deprecated addresses: Source(D) deprecated in the RFC
	// 4862 sense loses.
	Dst3: {attr: attrDeprecated, prefer: preferSmaller, bits: 1, why: func(_ *profile, _, l *dattr) string {
		return fmt.Sprintf("the other's source %s is deprecated", l.src)
	}},
	// Rule 4: Prefer home addresses: Source(D) home and care-of beats any
	// other, home only beats care-of only (homeRank makes this a weak
	// order).
	Dst4: {attr: attrHomeRank, bits: 2, why: func(_ *profile, w, l *dattr) string {
		return fmt.Sprintf("its source is %s, the other's is %s", roleName(w.home, w.careOf), roleName(l.home, l.careOf))
	}},
	// Rule 5: Prefer matching label: Label(Source(D)) = Label(D).
	Dst5: {attr: attrLabelMatch, bits: 1, why: func(_ *profile, w, l *dattr) string {
		if !w.src.IsValid() {
			// c-ares: a missing source has a label of its own.
			return fmt.Sprintf("its label %d matches the one given to a missing source (%d), the other's does not (%s)",
				w.label, w.srcLabel, labelOrNone(l))
		}
		return fmt.Sprintf("its label matches its source's (both %d), the other's does not (%s)", w.label, labelOrNone(l))
	}},
	// Rule 6: Prefer higher precedence: Precedence(D) from the policy
	// table (section 2.1).
	Dst6: {attr: attrPrecedence, bits: 8, why: func(_ *profile, w, l *dattr) string {
		return fmt.Sprintf("higher precedence (%d > %d)", w.prec, l.prec)
	}},
	// Rule 7: Prefer native transport: D reached through an
	// encapsulating transition mechanism loses.
	Dst7: {attr: attrEncapsulated, prefer: preferSmaller, bits: 1, pairs: pairsAcrossInterfaces, why: func(_ *profile, _, _ *dattr) string {
		return "the other is reached through an encapsulating transition mechanism"
	}},
	// Rule 8: Prefer smaller scope: Scope(DA) < Scope(DB).
	Dst8: {attr: attrScope, prefer: preferSmaller, bits: 8, why: func(_ *profile, w, l *dattr) string {
		return fmt.Sprintf("smaller scope (%s < %s)", w.scope, l.scope)
	}},
	// RFC 8305 section 4: between rules 8 and 9, prefer lower measured
	// round-trip times, then addresses used before (see histKey).
	DstHistory: {attr: attrHistory, bits: histBits, why: func(_ *profile, w, l *dattr) string {
		if w.hasRTT && l.hasRTT {
			return fmt.Sprintf("lower measured RTT (%v < %v)", w.rtt, l.rtt)
		}
		return "it has connection history, the other has none"
	}},
	// Rule 9: Use longest matching prefix: when DA and DB belong to the
	// same address family, the larger CommonPrefixLen(Source(D), D)
	// wins. How the prefix is counted is the profile's rule9 variant.
	Dst9: {attr: attrRule9, bits: 8, pairs: pairsSameFamily, why: func(p *profile, w, l *dattr) string {
		if p.rule9.kind == countOnLink { // the one count whose value is not the prefix
			return fmt.Sprintf("it is on-link with its source, the other is not (%s, rule 9 variant %s)", famName(w.v4), Rule9OnLink)
		}
		return fmt.Sprintf("longer prefix shared with its source (%d > %d bits, %s)", w.cpl, l.cpl, p.rule9.note(w, l))
	}},
	// The NAT64 step, right after rule 1 (WithNAT64): a destination
	// inside a known NAT64 prefix whose IPv4 address is also a usable
	// destination loses, so the host does not hairpin through the
	// translator to a host it reaches natively. RFC 8305 section 7 only
	// synthesizes on IPv6-only networks; the Happy Eyeballs v3 draft
	// replaces DNS64-synthesized addresses by the IPv4 addresses they
	// stand for when the host has IPv4. Ordering them last keeps the
	// sort a permutation of its input and still tries them if the
	// native path fails.
	DstNAT64: {attr: attrHairpin, prefer: preferSmaller, bits: 1, why: func(_ *profile, _, l *dattr) string {
		return fmt.Sprintf("the latter is translated by NAT64 although %s, the IPv4 address it stands for, is reachable natively", l.synth)
	}},
}

// dstOrder is the order in which the destination rules apply: RFC 6724
// section 6's, with the NAT64 step after rule 1 and the history step
// between rules 8 and 9 (Dst10 is implied). Every profile applies a
// subsequence of it.
var dstOrder = [...]Rule{Dst1, DstNAT64, Dst2, Dst3, Dst4, Dst5, Dst6, Dst7, Dst8, DstHistory, Dst9}

// srcRule is one source rule: the attribute it reads, which side it
// prefers, its width in the packed source key, and why it decided.
type srcRule struct {
	id     Rule
	attr   sattrField
	prefer prefer
	bits   uint8
	why    func(c *srcChoice, w, l *sattr) string
}

// srcRules defines the source rules of RFC 6724 section 5, in the order
// they apply. The first entry is section 4's candidate set (Rule
// RuleNone): an address that is not a candidate never wins.
var srcRules = [...]srcRule{
	// Section 4: multicast and unspecified addresses, and addresses of
	// the other family, are not candidates.
	{RuleNone, attrEligible, preferLarger, 1, func(_ *srcChoice, _, _ *sattr) string {
		return "the latter is not a candidate (invalid, multicast, unspecified or the other family)"
	}},
	// Rule 1: Prefer same address: SA = D.
	{Src1, attrSame, preferLarger, 1, func(_ *srcChoice, _, _ *sattr) string {
		return "it is the destination itself"
	}},
	// Rule 2: Prefer appropriate scope: the smallest scope at or above
	// Scope(D), else the largest below it (see scopeRank).
	{Src2, attrScopeRank, preferLarger, 10, func(c *srcChoice, w, l *sattr) string {
		return fmt.Sprintf("appropriate scope (%s vs %s for a %s destination)", w.scope, l.scope, c.dScope)
	}},
	// Rule 3: Avoid deprecated addresses (RFC 4862 sense).
	{Src3, attrSrcDeprecated, preferSmaller, 1, func(_ *srcChoice, _, _ *sattr) string {
		return "the other is deprecated"
	}},
	// Rule 4: Prefer home addresses (ranked as destination rule 4).
	{Src4, attrSrcHomeRank, preferLarger, 2, func(_ *srcChoice, w, l *sattr) string {
		return fmt.Sprintf("it is %s, the other is %s", roleName(w.src.Home, w.src.CareOf), roleName(l.src.Home, l.src.CareOf))
	}},
	// Rule 5: Prefer outgoing interface.
	{Src5, attrOutIface, preferLarger, 1, func(c *srcChoice, _, _ *sattr) string {
		return fmt.Sprintf("it is on the outgoing interface %q", c.outIface)
	}},
	// Rule 5.5: Prefer addresses in a prefix advertised by the next-hop
	// (RFC 8028).
	{Src5_5, attrNextHop, preferLarger, 1, func(c *srcChoice, _, _ *sattr) string {
		return fmt.Sprintf("its prefix was advertised by the next hop %s", c.nextHop)
	}},
	// Rule 6: Prefer matching label: Label(SA) = Label(D).
	{Src6, attrSrcLabelMatch, preferLarger, 1, func(_ *srcChoice, w, l *sattr) string {
		return fmt.Sprintf("its label matches the destination's (%d), the other's does not (%d)", w.label, l.label)
	}},
	// Rule 7: Prefer temporary addresses (RFC 8981), or public ones where
	// the application reversed the sense of the rule.
	{Src7, attrPreferred7, preferLarger, 1, func(c *srcChoice, _, _ *sattr) string {
		if c.preferPublic {
			return "it is public, the other temporary (public preferred)"
		}
		return "it is temporary, the other public (temporary preferred)"
	}},
	// Rule 8: Use longest matching prefix: CommonPrefixLen(SA, D).
	{Src8, attrCommonPrefix, preferLarger, 8, func(_ *srcChoice, w, l *sattr) string {
		return fmt.Sprintf("longer common prefix with the destination (%d > %d bits)", w.cpl, l.cpl)
	}},
}

// ruleValue turns an attribute into a rule's value: larger preferred,
// within bits.
func ruleValue(v uint64, pr prefer, bits uint8) uint64 {
	if pr == preferSmaller {
		return 1<<bits - 1 - v
	}
	return v
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// homeRank orders the Mobile IPv6 roles for rule 4 (source and
// destination): home and care-of (3) > home only (2) > neither (1) >
// care-of only (0). RFC 6724 orders only the pairs 3 > {2,1,0} and 2 > 0;
// ranking "neither" between them makes the rule a weak order (needed for a
// consistent sort) at the price of also preferring home-only over neither
// and neither over care-of-only. See the package documentation.
func homeRank(home, careOf bool) uint8 {
	return homeRanks[b2u(home)<<1|b2u(careOf)]
}

// homeRanks is homeRank by home<<1 | careOf.
var homeRanks = [4]uint8{0b00: 1, 0b01: 0, 0b10: 2, 0b11: 3}

func roleName(home, careOf bool) string {
	switch {
	case home && careOf:
		return "home and care-of"
	case home:
		return "home"
	case careOf:
		return "care-of"
	}
	return "neither home nor care-of"
}

func scopeOrNone(a *dattr) string {
	if !a.src.IsValid() {
		return "no source"
	}
	return a.scope.String() + ", source " + a.srcScope.String()
}

func labelOrNone(a *dattr) string {
	if !a.src.IsValid() {
		return "no source"
	}
	return fmt.Sprintf("%d, source %d", a.label, a.srcLabel)
}

// famName names the family of a destination for reasons.
func famName(v4 bool) string {
	if v4 {
		return "IPv4"
	}
	return "IPv6"
}
