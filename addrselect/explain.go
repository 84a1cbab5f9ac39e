package addrselect

import (
	"fmt"
	"net/netip"
	"slices"
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

// Facts are the values the rules compared for one side of a Decision. It
// always describes a (destination, source) pair: for destination
// decisions Addr is the destination D and Source is Source(D); for source
// decisions Addr is the destination D (the same on both sides) and Source
// is the candidate. The flags are the source's.
type Facts struct {
	// Addr is the destination; Source is Source(Addr) for a destination
	// decision, the candidate for a source decision.
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
		Deprecated: a.deprecated, Home: a.homeFlag, CareOf: a.careOf,
		Temporary: a.temporary, Encapsulated: a.encap,
		CommonPrefixLen: a.cpl, RTT: a.rtt, HasRTT: a.hasRTT,
	}
}

// Explain reports how the Selector orders destinations a and b, a being
// earlier in the input: the first of RFC 6724 section 6 rules 1 to 9 (and
// the history step) that decides, or rule 10 (Rule Dst10, Order -1: a
// stays first) when none does. Rule 9 is only consulted for two
// destinations of one family.
//
// For profiles of real stacks, Rule and Order are the stack comparator's,
// with the same convention for a tie (Dst10, Order -1: the stacks break
// ties by input position too), and the Facts are the values that stack
// compared: its scopes, its table's labels and precedences, and its rule
// 9 prefix count in CommonPrefixLen (for example at most 64 bits and IPv6
// only for [GoNet], the source's subnet for IPv4 under [Glibc]). The
// Reason starts with the profile's name.
func (s *Selector) Explain(a, b Destination) Decision {
	z := s.orZero()
	da, db := z.explainAttrs(&a, &b)
	var (
		ord  int
		rule Rule
	)
	if z.stack != nil {
		ord, rule = z.stack.compare(z, &a, &b)
	} else {
		ord, rule = compareAttrs(&da, &db)
	}
	if ord == 0 {
		ord = -1 // rule 10: a came first
	}
	d := Decision{Rule: rule, Order: ord, A: dstFacts(&da), B: dstFacts(&db)}
	d.Reason = z.reasonPrefix() + z.dstReason(rule, ord, &da, &db)
	return d
}

// explainAttrs returns the attributes of a and b as the Selector's rules
// (or its stack) see them.
func (s *Selector) explainAttrs(a, b *Destination) (dattr, dattr) {
	if s.stack != nil {
		return s.stack.attrs(s, a), s.stack.attrs(s, b)
	}
	return s.dstAttrs(a), s.dstAttrs(b)
}

// reasonPrefix is "name: " for stack profiles, empty for the RFC engine.
func (s *Selector) reasonPrefix() string {
	if s.stack != nil {
		return s.Name() + ": "
	}
	return ""
}

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

func (s *Selector) dstReason(rule Rule, ord int, a, b *dattr) string {
	if ord == 0 {
		if s.stack != nil {
			return fmt.Sprintf("no rule orders %s and %s, yet the sort moved them out of input order (the comparator is not transitive, so its sort algorithm decides)", a.addr, b.addr)
		}
		return fmt.Sprintf("no rule orders %s and %s (different families; rule 9 compares within one family only)", a.addr, b.addr)
	}
	w, l := a, b
	if ord > 0 {
		w, l = b, a
	}
	head := fmt.Sprintf("prefer %s over %s: ", w.addr, l.addr)
	var why string
	switch rule {
	case Dst1:
		switch {
		case !l.addr.IsValid():
			why = "the latter is not a valid address"
		case !l.src.IsValid():
			why = "the latter has no source address (unusable)"
		default:
			why = "the latter is marked unreachable"
		}
	case Dst2:
		why = fmt.Sprintf("its scope matches its source's (both %s), the other's does not (%s)",
			w.scope, scopeOrNone(l))
	case Dst3:
		why = fmt.Sprintf("the other's source %s is deprecated", l.src)
	case Dst4:
		why = fmt.Sprintf("its source is %s, the other's is %s",
			roleName(w.homeFlag, w.careOf), roleName(l.homeFlag, l.careOf))
	case Dst5:
		if !w.src.IsValid() {
			// c-ares: a missing source has a label of its own.
			why = fmt.Sprintf("its label %d matches the one given to a missing source (%d), the other's does not (%s)",
				w.label, w.srcLabel, labelOrNone(l))
		} else {
			why = fmt.Sprintf("its label matches its source's (both %d), the other's does not (%s)",
				w.label, labelOrNone(l))
		}
	case Dst6:
		why = fmt.Sprintf("higher precedence (%d > %d)", w.prec, l.prec)
	case Dst7:
		why = "the other is reached through an encapsulating transition mechanism"
	case Dst8:
		why = fmt.Sprintf("smaller scope (%s < %s)", w.scope, l.scope)
	case DstHistory:
		if w.hasRTT && l.hasRTT {
			why = fmt.Sprintf("lower measured RTT (%v < %v)", w.rtt, l.rtt)
		} else {
			why = "it has connection history, the other has none"
		}
	case Dst9:
		if s.stack == nil && s.rule9 == Rule9OnLink {
			why = fmt.Sprintf("it is on-link with its source, the other is not (%s, rule 9 variant %s)", famName(w.v4), s.rule9)
		} else {
			why = fmt.Sprintf("longer prefix shared with its source (%d > %d bits, %s)",
				w.cpl, l.cpl, s.rule9Note(w, l))
		}
	case Dst10:
		return fmt.Sprintf("keep %s before %s: no rule prefers either, input order kept", w.addr, l.addr)
	default:
		why = "decided by " + rule.String()
	}
	return head + why
}

// famName names the family of a destination for reasons.
func famName(v4 bool) string {
	if v4 {
		return "IPv4"
	}
	return "IPv6"
}

// rule9Note says, for a rule 9 reason, which family was compared and how
// the Selector counts CommonPrefixLen (RFC 6724 section 2.2 and the
// variants of [Rule9Variant]); stack profiles describe their own count.
func (s *Selector) rule9Note(w, l *dattr) string {
	if s.stack != nil {
		return s.stack.rule9Note(w, l)
	}
	fam := famName(w.v4)
	switch s.rule9 {
	case Rule9RFC, Rule9IPv6Only:
		if s.fullPrefix && s.rule9 == Rule9RFC {
			return fam + ", all bits compared as in RFC 3484 section 2.2"
		}
		if s.fullPrefix {
			return fmt.Sprintf("%s, all bits compared as in RFC 3484 section 2.2, rule 9 variant %s", fam, s.rule9)
		}
		return fmt.Sprintf("%s, rule 9 variant %s", fam, s.rule9)
	case Rule9IPv6Cap64:
		return fmt.Sprintf("%s, at most 64 bits, rule 9 variant %s", fam, s.rule9)
	case Rule9SameSubnet:
		if w.v4 {
			return fmt.Sprintf("%s, counted only inside the source's /%d subnet, rule 9 variant %s", fam, w.plen, s.rule9)
		}
		return fmt.Sprintf("%s, all 128 bits, rule 9 variant %s", fam, s.rule9)
	}
	return fmt.Sprintf("%s, rule 9 variant %s", fam, s.rule9)
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
	t := s.table
	dAttr, dScope := t.Lookup(dst), s.scope(t, dst)
	sa := s.srcAttrs(&a, dst, dScope, dAttr.Label, outIface, nextHop)
	sb := s.srcAttrs(&b, dst, dScope, dAttr.Label, outIface, nextHop)
	ord, rule := compareSrc(&sa, &sb)
	if ord == 0 {
		ord = -1
	}
	facts := func(x *sattr) Facts {
		return Facts{
			Addr: dst, Source: x.addr, Usable: x.eligible,
			Scope: dScope, SourceScope: x.scope,
			Label: dAttr.Label, SourceLabel: x.label, Precedence: dAttr.Precedence,
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
	head := fmt.Sprintf("prefer source %s over %s for %s: ", w.addr, l.addr, dst)
	var why string
	switch rule {
	case RuleNone:
		why = "the latter is not a candidate (invalid, multicast, unspecified or the other family)"
	case Src1:
		why = "it is the destination itself"
	case Src2:
		why = fmt.Sprintf("appropriate scope (%s vs %s for a %s destination)", w.scope, l.scope, dScope)
	case Src3:
		why = "the other is deprecated"
	case Src4:
		why = fmt.Sprintf("it is %s, the other is %s", roleName(w.src.Home, w.src.CareOf), roleName(l.src.Home, l.src.CareOf))
	case Src5:
		why = fmt.Sprintf("it is on the outgoing interface %q", outIface)
	case Src5_5:
		why = fmt.Sprintf("its prefix was advertised by the next hop %s", nextHop)
	case Src6:
		why = fmt.Sprintf("its label matches the destination's (%d), the other's does not (%d)", w.label, l.label)
	case Src7:
		if s.preferPublic {
			why = "it is public, the other temporary (public preferred)"
		} else {
			why = "it is temporary, the other public (temporary preferred)"
		}
	case Src8:
		why = fmt.Sprintf("longer common prefix with the destination (%d > %d bits)", w.cpl, l.cpl)
	case SrcOrder:
		why = "no rule prefers either; the first listed wins"
	}
	d.Reason = head + why
	return d
}

// Trace sorts a copy of dsts with [Selector.SortDestinations] and returns,
// for each adjacent pair of the result, the Decision between them (A is
// the earlier one in the result). A pair that no rule orders keeps its
// input order (Rule Dst10, Order -1). A pair that the sort placed against
// the pairwise rules gets RuleNone with Order 0: for the RFC engine, two
// destinations of different families whose positions rule 9 rearranged
// around them; for a stack profile, a pair that the sort algorithm of its
// non-transitive comparator moved. [Musl] leaves a list of only IPv4
// addresses unsorted: every pair of such a list is rule 10. dsts is not
// modified.
func (s *Selector) Trace(dsts []Destination) []Decision {
	if len(dsts) < 2 {
		return nil
	}
	z := s.orZero()
	out := make([]Destination, len(dsts))
	idx := make([]int, len(dsts))
	if z.stack != nil {
		copy(out, dsts)
		z.stack.sort(z, out)
		used := make([]bool, len(dsts))
		for i := range out {
			for j := range dsts {
				if !used[j] && dsts[j] == out[i] {
					used[j], idx[i] = true, j
					break
				}
			}
		}
	} else {
		perm := make([]int32, len(dsts))
		z.order(dsts, make([]rec, len(dsts)), perm)
		for i, p := range perm {
			out[i], idx[i] = dsts[p], int(p)
		}
	}
	_, musl := z.stack.(muslStack)
	unsorted := musl && !slices.ContainsFunc(dsts, func(d Destination) bool { return !d.Addr.Is4() })
	ds := make([]Decision, 0, len(out)-1)
	for i := 0; i+1 < len(out); i++ {
		var d Decision
		if idx[i] < idx[i+1] {
			d = z.Explain(out[i], out[i+1])
		} else {
			d = z.Explain(out[i+1], out[i])
			d.A, d.B, d.Order = d.B, d.A, -d.Order
		}
		switch {
		case unsorted:
			// musl did not sort at all: rule 10 for every pair.
			d.Rule, d.Order = Dst10, -1
			d.Reason = fmt.Sprintf("%skeep %s before %s: musl leaves a list of only IPv4 addresses in input order",
				z.reasonPrefix(), out[i].Addr, out[i+1].Addr)
		case d.Order > 0 || d.Rule == Dst10 && idx[i] > idx[i+1]:
			// The result does not follow the pairwise rules here.
			d.Rule, d.Order = RuleNone, 0
			da, db := z.explainAttrs(&out[i], &out[i+1])
			d.Reason = z.reasonPrefix() + z.dstReason(RuleNone, 0, &da, &db)
		}
		ds = append(ds, d)
	}
	return ds
}
