package addrselect

import (
	"net/netip"
	"slices"

	"github.com/dualstack/dualstack/policytable"
)

// GoNet returns a Selector that orders destinations exactly as Go's net
// package does (Go 1.22 to 1.26, net/addrselect.go, used by the pure-Go
// resolver) when given the same sources:
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
//     tell an IPv4-mapped address from IPv4);
//   - the comparator is not transitive (rule 9 relates one family only),
//     so the result depends on the sort algorithm: like Go, the profile
//     sorts with [slices.SortStableFunc] (insertion sort on blocks of 20,
//     then in-place symmetric merges), which gives Go's order on every
//     input.
//
// Not reproduced: nothing known for a given set of sources. Go finds the
// sources itself with connected UDP sockets; here they come from the
// caller (a [Sources] implementation or the Destination values).
func GoNet(opts ...Option) *Selector {
	s := &Selector{name: "go", table: policytable.RFC6724(), stack: goStack{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// goStack emulates Go's sortByRFC6724withSrcs.
type goStack struct{}

func (goStack) sort(s *Selector, dsts []Destination) {
	if len(dsts) < 2 {
		return
	}
	t := s.Table()
	slices.SortStableFunc(dsts, func(a, b Destination) int {
		c, _ := goCompare(t, &a, &b)
		return c
	})
}

func (goStack) compare(s *Selector, a, b *Destination) (int, Rule) {
	return goCompare(s.Table(), a, b)
}

// goScope is Go's scope classification (RFC 6724 section 3.1 and 3.2):
// loopback and link-local unicast of both families are link-local, IPv6
// multicast carries its scope field, fec0::/10 is site-local and
// everything else, IPv4 multicast included, is global. IPv4-mapped
// addresses are classified as IPv4.
func goScope(a netip.Addr) policytable.Scope {
	a = a.Unmap()
	if a.IsLoopback() || a.IsLinkLocalUnicast() {
		return policytable.ScopeLinkLocal
	}
	if a.Is4() {
		return policytable.ScopeGlobal
	}
	return policytable.ScopeIPv6(a)
}

// goUsable reports whether Go would see a source for d.
func goUsable(d *Destination) bool { return d.Source.Addr.IsValid() && !d.Unreachable }

// goCompare is Go's comparator, rule by rule (RFC 6724 section 6). It
// returns 0 and Dst10 when Go finds a and b equal; the stable sort then
// keeps their input order unless the comparator's intransitivity moves
// them.
func goCompare(t *policytable.Table, a, b *Destination) (int, Rule) {
	ua, ub := goUsable(a), goUsable(b)
	// Rule 1: avoid unusable destinations. Go stops here when neither
	// has a source: they are "equal".
	switch {
	case !ua && !ub:
		return 0, Dst10
	case !ub:
		return -1, Dst1
	case !ua:
		return 1, Dst1
	}
	da, db := a.Addr.Unmap(), b.Addr.Unmap()
	sa, sb := a.Source.Addr.Unmap(), b.Source.Addr.Unmap()

	// Rule 2: prefer matching scope.
	scDA, scDB := goScope(da), goScope(db)
	ma, mb := scDA == goScope(sa), scDB == goScope(sb)
	if ma != mb {
		return preferIf(ma), Dst2
	}
	// Rules 3 and 4 are not implemented by Go.

	// Rule 5: prefer matching label.
	attrDA, attrDB := t.Lookup(da), t.Lookup(db)
	la, lb := attrDA.Label == t.Label(sa), attrDB.Label == t.Label(sb)
	if la != lb {
		return preferIf(la), Dst5
	}
	// Rule 6: prefer higher precedence.
	if attrDA.Precedence != attrDB.Precedence {
		return preferIf(attrDA.Precedence > attrDB.Precedence), Dst6
	}
	// Rule 7 is not implemented by Go.

	// Rule 8: prefer smaller scope.
	if scDA != scDB {
		return preferIf(scDA < scDB), Dst8
	}
	// Rule 9: longest matching prefix, IPv6 destinations only, at most
	// the first 64 bits (Go's reading of RFC 6724 section 2.2: the
	// prefix of an IPv6 source is taken as /64). An IPv4 source of an
	// IPv6 destination shares no prefix with it.
	if da.Is6() && db.Is6() {
		ca, cb := goCommonPrefix(sa, da), goCommonPrefix(sb, db)
		if ca != cb {
			return preferIf(ca > cb), Dst9
		}
	}
	return 0, Dst10
}

// goCommonPrefix is CommonPrefixLen as Go computes it: 0 across
// families, at most 64 bits for IPv6.
func goCommonPrefix(src, dst netip.Addr) int {
	if !src.Is6() || !dst.Is6() {
		return 0
	}
	return min(policytable.CommonPrefixLen(src, dst), 64)
}

// preferIf returns -1 (first argument wins) when first is true, else 1.
func preferIf(first bool) int {
	if first {
		return -1
	}
	return 1
}
