package addrselect

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/dualstack/dualstack/policytable"
)

// Decision reports how a Selector orders two destinations (or two source
// candidates): the deciding rule, the direction, the facts each side was
// judged on and a one-line reason for people.
type Decision struct {
	// Rule is the rule that decided: a destination rule (Dst1 to Dst10,
	// DstHistory) or a source rule (Src1 to Src8, Src5_5, SrcOrder).
	// RuleNone for two source candidates means one of them is not in
	// the candidate set at all (RFC 6724 section 4); in a [Selector.Trace]
	// it marks a pair that the sort placed against the pairwise rules
	// (see there).
	Rule Rule
	// Order is negative when A goes before B (or A is the better source),
	// positive when B does. When no rule decides, the first one keeps
	// its place: Rule Dst10 (or SrcOrder) with Order -1, for the RFC
	// engine and the stack profiles alike. Order is 0 only with RuleNone
	// in a [Selector.Trace].
	Order int
	// A and B are the facts of the two sides.
	A, B Facts
	// Reason says in one line why, for example
	// "prefer 2001:db8::1 over 10.1.2.3: higher precedence (40 > 35)";
	// for a stack profile it starts with the profile's name ("glibc: ").
	Reason string
}

// Facts are the values the rules compared for one side of a Decision: a
// destination D (Addr, the same on both sides of a source decision) and
// a source (Source, Source(D) for a destination decision, the candidate
// for a source decision), whose flags these are.
type Facts struct {
	Addr   netip.Addr
	Source netip.Addr
	// Usable: for a destination, it has a source and is not marked
	// unreachable (rule 1); for a source candidate, it is in the
	// candidate set of RFC 6724 section 4.
	Usable bool
	// Scope and SourceScope are Scope(Addr) and Scope(Source).
	Scope, SourceScope policytable.Scope
	// Label and SourceLabel are the policy labels of Addr and Source;
	// Precedence is the precedence of Addr.
	Label, SourceLabel, Precedence uint8
	// The flags of Source.
	Deprecated, Home, CareOf, Temporary, Encapsulated bool
	// CommonPrefixLen is CommonPrefixLen(Source, Addr) as the Selector
	// counts it: for destinations, as the rule 9 variant counts it; for
	// sources, as source rule 8 does.
	CommonPrefixLen int
	// RTT is the measured round-trip time from the History, when HasRTT.
	RTT    time.Duration
	HasRTT bool
	// SynthesizedFrom is, for a destination inside a NAT64 prefix the
	// Selector knows ([WithNAT64]), the IPv4 address it stands for, and
	// NAT64Prefix that prefix; both zero otherwise. Under [NAT64AsIPv4]
	// the scopes, labels and precedence are that IPv4 address's.
	SynthesizedFrom netip.Addr
	NAT64Prefix     netip.Prefix
	// NativeIPv4: SynthesizedFrom is itself among the destinations with
	// a usable source, so the synthesized address loses ([DstNAT64]).
	NativeIPv4 bool
}

// String formats the decision as "rule: reason".
func (d Decision) String() string {
	return d.Rule.String() + ": " + d.Reason
}

func dstFacts(a *dattr) Facts {
	return Facts{
		Addr: a.addr, Source: a.src, Usable: a.usable,
		Scope: a.scope, SourceScope: a.srcScope,
		Label: a.label, SourceLabel: a.srcLabel, Precedence: a.prec,
		Deprecated: a.deprecated, Home: a.home, CareOf: a.careOf,
		Temporary: a.temporary, Encapsulated: a.encap,
		CommonPrefixLen: a.cpl, RTT: a.rtt, HasRTT: a.hasRTT,
		SynthesizedFrom: a.synth, NAT64Prefix: a.synthPrefix, NativeIPv4: a.hairpin,
	}
}

// Explain reports how the Selector orders destinations a and b, a being
// earlier in the input: the first of RFC 6724 section 6 rules 1 to 9 (and
// the history step) that decides, or rule 10 (Rule Dst10, Order -1: a
// stays first) when none does. Rule 9 is only consulted for two
// destinations of one family.
//
// For profiles of real stacks, Rule and Order are the stack comparator's
// (ties the same way), the Facts are the values that stack compared (its
// scopes, table and rule 9 count, say at most 64 bits of IPv6 for
// [GoNet]), and the Reason starts with the profile's name.
//
// With [WithNAT64], the Reason also says which side was synthesized, from
// which IPv4 address, by which prefix, and the pair is the whole list: a
// synthesized destination is natively reachable ([DstNAT64]) only when
// the other one is its IPv4 address with a source.
func (s *Selector) Explain(a, b Destination) Decision {
	pair := [2]Destination{a, b}
	nv := natives{dsts: pair[:]}
	return s.orZero().explain(&a, &b, &nv)
}

// explain is Explain for a and b sorted among the destinations of nv,
// under a compiled s.
func (s *Selector) explain(a, b *Destination, nv *natives) Decision {
	da, db := s.dstAttrs(a, nil, nv), s.dstAttrs(b, nil, nv)
	ord, rule := s.prof.compare(&da, &db)
	if ord == 0 {
		ord = -1 // rule 10: a came first
	}
	d := Decision{Rule: rule, Order: ord, A: dstFacts(&da), B: dstFacts(&db)}
	d.Reason = s.dstReason(rule, ord, &da, &db)
	return d
}

// reasonPrefix is "name: " for stack profiles.
func (s *Selector) reasonPrefix() string {
	if s.prof.stack {
		return s.Name() + ": "
	}
	return ""
}

// dstReason words the decision of rule between a and b (a earlier in the
// input; ord 0: placed against the pairwise rules), after a stack
// profile's name and before what a synthesized side stands for.
func (s *Selector) dstReason(rule Rule, ord int, a, b *dattr) string {
	w, l := a, b
	if ord > 0 {
		w, l = b, a
	}
	var why string
	switch {
	case ord == 0 && s.prof.stack:
		why = fmt.Sprintf("no rule orders %s and %s, yet the sort moved them out of input order (the comparator is not transitive, so its sort algorithm decides)", a.addr, b.addr)
	case ord == 0:
		why = fmt.Sprintf("no rule orders %s and %s (different families; rule 9 compares within one family only)", a.addr, b.addr)
	case rule == Dst10:
		why = fmt.Sprintf("keep %s before %s: no rule prefers either, input order kept", w.addr, l.addr)
	default:
		why = fmt.Sprintf("prefer %s over %s: ", w.addr, l.addr) + dstRules[rule].why(s.prof, w, l)
	}
	return s.reasonPrefix() + why + s.nat64Note(a) + s.nat64Note(b)
}

// nat64Note says what a synthesized destination stands for.
func (s *Selector) nat64Note(a *dattr) string {
	if !a.synth.IsValid() {
		return ""
	}
	rank := "IPv4"
	if s.nat64Rank == NAT64AsIPv6 {
		rank = "IPv6"
	}
	return fmt.Sprintf("; %s synthesized from %s by NAT64 prefix %s, ranked as %s", a.addr, a.synth, a.synthPrefix, rank)
}

// ExplainSource reports how source rules 1 to 8 of RFC 6724 section 5
// order candidates a and b for destination dst, a being listed first:
// Order negative means a is preferred. When no rule decides, Rule is
// SrcOrder and a wins (Order -1), as [Selector.SelectSource] does. When
// exactly one of them is not a candidate at all (multicast, unspecified,
// invalid or the other family), Rule is RuleNone and the candidate wins.
// Rules 5 and 5.5 do not apply; see [Selector.ExplainSourceVia].
func (s *Selector) ExplainSource(dst netip.Addr, a, b Source) Decision {
	return s.ExplainSourceVia(dst, "", netip.Addr{}, a, b)
}

// ExplainSourceVia is [Selector.ExplainSource] with the route chosen for
// dst, as in [Selector.SelectSourceVia].
func (s *Selector) ExplainSourceVia(dst netip.Addr, outIface string, nextHop netip.Addr, a, b Source) Decision {
	s = s.orZero()
	c := s.newSrcChoice(dst, outIface, nextHop)
	sa, sb := s.srcAttrs(&a, &c), s.srcAttrs(&b, &c)
	ord, rule := compareSrc(&sa, &sb)
	if ord == 0 {
		ord = -1
	}
	facts := func(x *sattr) Facts {
		return Facts{
			Addr: dst, Source: x.src.Addr, Usable: x.eligible,
			Scope: c.dScope, SourceScope: x.scope,
			Label: c.dLabel, SourceLabel: x.label, Precedence: c.dPre,
			Deprecated: x.src.Deprecated, Home: x.src.Home, CareOf: x.src.CareOf,
			Temporary: x.src.Temporary, Encapsulated: x.src.Encapsulated,
			CommonPrefixLen: x.cpl,
		}
	}
	d := Decision{Rule: rule, Order: ord, A: facts(&sa), B: facts(&sb)}
	w, l := &sa, &sb
	if ord > 0 {
		w, l = &sb, &sa
	}
	why := "no rule prefers either; the first listed wins"
	for i := range srcRules {
		if srcRules[i].id == rule {
			why = srcRules[i].why(&c, w, l)
		}
	}
	d.Reason = fmt.Sprintf("prefer source %s over %s for %s: ", w.src.Addr, l.src.Addr, dst) + why
	return d
}

// Trace sorts a copy of dsts with [Selector.SortDestinations] and returns,
// for each adjacent pair of the result, the Decision between them (A is
// the earlier one in the result). A pair that no rule orders keeps its
// input order (Rule Dst10, Order -1). A pair that the sort placed against
// the pairwise rules gets RuleNone with Order 0: for the RFC engine, two
// destinations of different families that rule 9 rearranged around;
// for a stack profile, a pair its sort algorithm moved. Every pair of a
// list [Musl] leaves unsorted (only IPv4) is rule 10. [DstNAT64] is
// judged within the whole of dsts, as the sort does. dsts is not
// modified.
func (s *Selector) Trace(dsts []Destination) []Decision {
	if len(dsts) < 2 {
		return nil
	}
	z := s.orZero()
	perm := make([]int32, len(dsts))
	z.order(dsts, perm)
	nv := newNatives(dsts) // the NAT64 step judges within the whole list
	unsorted := z.prof.leavesUnsorted(dsts)
	ds := make([]Decision, 0, len(dsts)-1)
	for i := 0; i+1 < len(perm); i++ {
		x, y := perm[i], perm[i+1]
		var d Decision
		if x < y {
			d = z.explain(&dsts[x], &dsts[y], &nv)
		} else {
			d = z.explain(&dsts[y], &dsts[x], &nv)
			d.A, d.B, d.Order = d.B, d.A, -d.Order
		}
		switch {
		case unsorted:
			// musl did not sort at all: rule 10 for every pair.
			d.Rule, d.Order = Dst10, -1
			d.Reason = fmt.Sprintf("%skeep %s before %s: musl leaves a list of only IPv4 addresses in input order",
				z.reasonPrefix(), dsts[x].Addr, dsts[y].Addr)
		case d.Order > 0 || d.Rule == Dst10 && x > y:
			// The result does not follow the pairwise rules here.
			d.Rule, d.Order = RuleNone, 0
			da, db := z.dstAttrs(&dsts[x], nil, &nv), z.dstAttrs(&dsts[y], nil, &nv)
			d.Reason = z.dstReason(RuleNone, 0, &da, &db)
		}
		ds = append(ds, d)
	}
	return ds
}
