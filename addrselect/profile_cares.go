package addrselect

import "github.com/dualstack/dualstack/policytable"

// CAres returns a Selector that orders destinations exactly as c-ares's
// ares_getaddrinfo (src/lib/ares__sortaddrinfo.c, derived from Android's
// getaddrinfo; checked against c-ares 1.18.1 on glibc 2.36) does with the
// same sources:
//
//   - the RFC 6724 section 2.1 default table, hard-coded (c-ares reads no
//     gai.conf: [WithTable] changes nothing but [Selector.Table]); IPv4
//     127.0.0.0/8 and 169.254.0.0/16 link-local, every other IPv4 address
//     global (RFC 6724 section 3.2); IPv4-mapped addresses have global
//     scope but the IPv4 label and precedence;
//   - rules 1, 2, 5, 6, 8 and 9; rules 3 (deprecated), 4 (home) and 7
//     (native transport) are skipped;
//   - unusable destinations are compared with each other by every rule as
//     if their source were an address of no family, which c-ares gives
//     scope 1 (interface-local) and label 1: those whose label is 1
//     (global and link-local IPv6) "match" and come first (rule 5), then
//     precedence and scope order them (c-ares leaves that source memory
//     uninitialised; this models fresh, zeroed memory);
//   - rule 9 between two usable IPv6 destinations (IPv4-mapped included),
//     over all 128 bits;
//   - ties go to the input position (rule 10), but the comparator is not
//     transitive, so the order depends on the sort algorithm: the profile
//     sorts like glibc's qsort up to 2.36 (see [Glibc]), which c-ares
//     uses on glibc systems.
//
// A Destination with Unreachable set counts as unusable (rule 1).
//
// Not reproduced: c-ares on other C libraries (musl's smoothsort, BSD
// qsort), which may order intransitive inputs differently, and later
// c-ares releases, which changed the sorting code.
func CAres(opts ...Option) *Selector {
	return build(&Selector{name: "cares", table: policytable.RFC6724(), prof: caresProfile}, opts)
}

// caresProfile is the definition described at [CAres].
var caresProfile = (&profile{
	name:                 "cares",
	stack:                true,
	rules:                []Rule{Dst1, Dst2, Dst5, Dst6, Dst8, Dst9},
	usableOnly:           rulesOf(Dst9),
	table:                tableCAres,
	scopeV4:              scopeRFCDefault,
	srcInDstFamily:       true,
	missingSourceMatches: true,
	rule9: rule9Count{kind: countAll128IPv6, note: func(_, _ *dattr) string {
		return "IPv6 (IPv4-mapped included), all 128 bits: c-ares compares only IPv6 destinations"
	}},
	sort: sortMerge,
}).compile()
