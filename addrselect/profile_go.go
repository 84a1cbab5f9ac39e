package addrselect

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
	return build(&Selector{name: "go", prof: goProfile}, opts)
}

// goProfile is the definition described at [GoNet].
var goProfile = (&profile{
	name:       "go",
	stack:      true,
	rules:      []Rule{Dst1, Dst2, Dst5, Dst6, Dst8, Dst9},
	usableOnly: rulesOf(Dst2, Dst5, Dst6, Dst8, Dst9),
	scopeV4:    scopeRFCDefault,
	mappedV4:   true,
	rule9: rule9Count{kind: countGo, note: func(_, _ *dattr) string {
		return "IPv6, at most 64 bits: Go compares only IPv6 destinations, as if every source prefix were /64"
	}},
	sort: sortStable,
}).compile()
