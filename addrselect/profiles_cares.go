package addrselect

import (
	"net/netip"

	"github.com/dualstack/dualstack/policytable"
)

// CAres returns a Selector that orders destinations exactly as c-ares's
// ares_getaddrinfo (src/lib/ares__sortaddrinfo.c, derived from Android's
// getaddrinfo; checked against c-ares 1.18.1 on glibc 2.36) does with the
// same sources:
//
//   - the RFC 6724 section 2.1 default table, hard-coded (c-ares reads no
//     gai.conf: [WithTable] changes nothing but [Selector.Table]); IPv4
//     127.0.0.0/8 and 169.254.0.0/16 link-local, every other IPv4 address
//     global (RFC 6724 section 3.2); IPv4-mapped addresses are IPv6 to
//     c-ares for scope (global) but get the IPv4 label and precedence;
//   - rules 1, 2, 5, 6, 8 and 9; rules 3 (deprecated), 4 (home) and 7
//     (native transport) are skipped;
//   - unusable destinations are compared with each other by every rule as
//     if their source were an address of no family, which c-ares gives
//     scope 1 (interface-local) and label 1: so among unusable
//     destinations those whose label is 1 (global IPv6 unicast, link-local
//     IPv6 included) "match" and come first (rule 5), then precedence and
//     scope order them. (c-ares leaves that source memory uninitialised;
//     freshly allocated memory is zero, which is what this models.)
//   - rule 9 between two usable IPv6 destinations (IPv4-mapped included),
//     over all 128 bits;
//   - ties go to the input position (rule 10), but the comparator is not
//     transitive (rule 9 relates one family only), so the result depends
//     on the sort algorithm: the profile sorts like glibc's qsort up to
//     2.36 (a top-down merge sort), which is what c-ares uses on glibc
//     systems.
//
// A Destination with Unreachable set counts as unusable (rule 1).
//
// Not reproduced: c-ares on other C libraries (musl's smoothsort, BSD
// qsort) may order intransitive inputs differently, and later c-ares
// releases changed the sorting code.
func CAres(opts ...Option) *Selector {
	return build(&Selector{name: "cares", table: policytable.RFC6724(), stack: caresStack{}}, opts)
}

// caresStack emulates c-ares's rfc6724_compare under glibc's qsort.
type caresStack struct{}

// caresRec holds what c-ares's comparator looks at for one destination.
type caresRec struct {
	usable     bool
	v6         bool // destination family AF_INET6 (IPv4-mapped included)
	scopeMatch bool
	labelMatch bool
	scope      policytable.Scope
	prec       uint8
	cpl        uint8
}

func (caresStack) sort(_ *Selector, dsts []Destination) {
	if len(dsts) < 2 {
		return
	}
	var buf [stackN]caresRec
	recs := buf[:0]
	if len(dsts) > stackN {
		recs = make([]caresRec, 0, len(dsts))
	}
	for i := range dsts {
		recs = append(recs, caresRecord(&dsts[i]))
	}
	mergeSortIndices(dsts, func(i, j int32) int {
		c, _ := caresCompareRecs(&recs[i], &recs[j])
		return c
	})
}

func (caresStack) compare(_ *Selector, a, b *Destination) (int, Rule) {
	ra, rb := caresRecord(a), caresRecord(b)
	return caresCompareRecs(&ra, &rb)
}

// caresNoFamily is the label c-ares gives a source of no family, the
// source of an unusable destination.
const caresNoFamily = 1

// caresScope is c-ares's get_scope. An invalid address stands for a
// source of no family: interface-local scope.
func caresScope(a netip.Addr) policytable.Scope {
	switch {
	case !a.IsValid():
		return policytable.ScopeInterfaceLocal
	case a.Is4():
		if a.IsLoopback() || a.IsLinkLocalUnicast() {
			return policytable.ScopeLinkLocal
		}
		return policytable.ScopeGlobal
	}
	return policytable.ScopeIPv6(a)
}

// caresAttr is c-ares's get_precedence and get_label: the RFC 6724
// section 2.1 default table. An invalid address (a source of no family)
// has precedence 1 and label 1.
func caresAttr(a netip.Addr) (prec, label uint8) {
	switch {
	case !a.IsValid():
		return 1, caresNoFamily
	case a.Is4():
		return 35, 4
	case a == netip.IPv6Unspecified():
		// IN6_IS_ADDR_V4COMPAT excludes :: (and ::1), so the ::/96 row
		// does not apply.
		return 40, 1
	}
	at := defaultFastTable().lookup(toBits(a))
	return at.Precedence, at.Label
}

// caresVals computes what c-ares's comparator looks at for d. The source
// of an unusable destination is an address of no family (scope
// interface-local, label 1); cpl is c-ares's rule 9 count (usable IPv6
// destinations only, all 128 bits).
func caresVals(d *Destination, v *stackVals) {
	src, ok := glibcSource(d) // same family conversion as glibc
	prec, label := caresAttr(d.Addr)
	_, srcLabel := caresAttr(src)
	*v = stackVals{
		usable:   ok,
		v4:       d.Addr.Is4(),
		scope:    caresScope(d.Addr),
		srcScope: caresScope(src),
		label:    label,
		srcLabel: srcLabel,
		prec:     prec,
		plen:     128,
	}
	if ok && !v.v4 {
		v.cpl = prefix128(toBits(src), toBits(d.Addr))
	}
}

// caresRecord computes c-ares's attributes of d. Unlike the RFC rules,
// c-ares matches scope and label for unusable destinations too.
func caresRecord(d *Destination) caresRec {
	var v stackVals
	caresVals(d, &v)
	return caresRec{
		usable:     v.usable,
		v6:         !v.v4,
		scopeMatch: v.scope == v.srcScope,
		labelMatch: v.label == v.srcLabel,
		scope:      v.scope,
		prec:       v.prec,
		cpl:        v.cpl,
	}
}

func (caresStack) attrs(_ *Selector, d *Destination) dattr {
	var v stackVals
	caresVals(d, &v)
	return v.attrs(d)
}

func (caresStack) rule9Note(_, _ *dattr) string {
	return "IPv6 (IPv4-mapped included), all 128 bits: c-ares compares only IPv6 destinations"
}

// caresCompareRecs is c-ares's comparator for rules 1 to 9 (RFC 6724
// section 6). 0 (with Dst10) means rule 10 decides by input position.
func caresCompareRecs(a, b *caresRec) (int, Rule) {
	// Rule 1: avoid unusable destinations.
	if a.usable != b.usable {
		return preferIf(a.usable), Dst1
	}
	// Rule 2: prefer matching scope.
	if a.scopeMatch != b.scopeMatch {
		return preferIf(a.scopeMatch), Dst2
	}
	// Rules 3 and 4 are not implemented by c-ares.

	// Rule 5: prefer matching label.
	if a.labelMatch != b.labelMatch {
		return preferIf(a.labelMatch), Dst5
	}
	// Rule 6: prefer higher precedence.
	if a.prec != b.prec {
		return preferIf(a.prec > b.prec), Dst6
	}
	// Rule 7 is not implemented by c-ares.

	// Rule 8: prefer smaller scope.
	if a.scope != b.scope {
		return preferIf(a.scope < b.scope), Dst8
	}
	// Rule 9: longest matching prefix, usable IPv6 destinations only,
	// all 128 bits.
	if a.usable && a.v6 && b.v6 && a.cpl != b.cpl {
		return preferIf(a.cpl > b.cpl), Dst9
	}
	return 0, Dst10
}
