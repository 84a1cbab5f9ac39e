package addrselect

import (
	"fmt"

	"github.com/dualstack/dualstack/policytable"
)

// Glibc returns a Selector that orders destinations exactly as glibc's
// getaddrinfo (sysdeps/posix/getaddrinfo.c, rfc3484_sort; checked against
// glibc 2.36 of Debian 12) does with the same sources:
//
//   - glibc's built-in tables ([policytable.Glibc]: the RFC 3484
//     precedences, labels with extra rows for fec0::/10, fc00::/7 and
//     2001::/32, IPv4 127.0.0.0/8 and 169.254.0.0/16 link-local).
//     Glibc(WithTable(t)) with t from a gai.conf is glibc under that
//     gai.conf, its scopev4 rules included;
//   - rules 1 to 9 of RFC 3484/6724 section 6, rule 3 from
//     Source.Deprecated, rule 4 from Source.Home, rule 7 from
//     Source.Encapsulated and only between sources on different
//     interfaces (glibc asks the kernel whether the interface is a
//     tunnel);
//   - unusable destinations are still ordered among themselves by rules
//     6 (precedence) and 8 (scope), then input position;
//   - IPv4-mapped destinations are IPv6 to glibc: global scope (only true
//     IPv4 destinations get the scopev4 rules), and IPv6 for rule 9;
//   - rule 9 compares all 128 bits for IPv6; for IPv4 it counts common
//     bits only when destination and source share the source's subnet,
//     else 0. On a host without any IPv6 address glibc reads no address
//     flags or prefix lengths: pass Sources with PrefixLen 0 and no flags
//     there (a netmask of all 32 bits, so only a destination equal to its
//     source gets a rule 9 value);
//   - glibc takes the flags and prefix length of 127.0.0.1 for any
//     127.0.0.0/8 source; pass those;
//   - ties go to the input position (rule 10), but the comparator is not
//     transitive (rule 9 relates one family only, rules 2-5 look at the
//     sources), so the order depends on the sort algorithm: the profile
//     sorts like glibc's qsort_r of 2.36 and earlier, a top-down merge
//     sort that splits n into n/2 and n-n/2 and takes the left element on
//     ties.
//
// A Destination with Unreachable set counts as unusable (rule 1).
//
// Not reproduced: gai.conf reload, rule 7's interface probing (rule 7 is
// not covered by the recorded cases), and glibc releases whose qsort is
// not this merge sort (quicksort for huge inputs, say), which may order
// intransitive inputs differently.
func Glibc(opts ...Option) *Selector {
	return build(&Selector{name: "glibc", table: policytable.Glibc(), prof: glibcProfile}, opts)
}

// glibcProfile is the definition described at [Glibc].
var glibcProfile = (&profile{
	name:                  "glibc",
	stack:                 true,
	rules:                 []Rule{Dst1, Dst2, Dst3, Dst4, Dst5, Dst6, Dst7, Dst8, Dst9},
	usableOnly:            rulesOf(Dst2, Dst3, Dst4, Dst5, Dst7, Dst9),
	srcInDstFamily:        true,
	homeFlagOnly:          true,
	rule7AcrossInterfaces: true,
	rule9: rule9Count{kind: countSameSubnet, note: func(w, _ *dattr) string {
		if w.v4 {
			return fmt.Sprintf("IPv4, counted only when destination and source share the source's /%d subnet", w.plen)
		}
		return "IPv6 (IPv4-mapped included), all 128 bits"
	}},
	sort: sortMerge,
}).compile()
