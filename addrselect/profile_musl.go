package addrselect

import "github.com/dualstack/dualstack/policytable"

// Musl returns a Selector that orders destinations exactly as musl's
// getaddrinfo (src/network/lookup_name.c; checked against musl 1.2.3)
// does with the same sources:
//
//   - musl's reduced, fixed table: the RFC 6724 section 2.1 rows for ::1,
//     ::ffff:0:0/96, 2002::/16, 2001::/32, fc00::/7 and ::/0, without the
//     ::/96, fec0::/10 and 3ffe::/16 rows (those addresses get the ::/0
//     precedence 40 and label 1). musl reads no gai.conf: [WithTable]
//     changes nothing but [Selector.Table];
//   - rules 1, 2, 5, 6, 8 and 9; rules 3 (deprecated), 4 (home) and 7
//     (native transport) are skipped;
//   - scopes computed on the IPv4-mapped form, so every IPv4 address,
//     127.0.0.0/8 and 169.254.0.0/16 included, has global scope (RFC 6724
//     section 3.2 makes those two link-local);
//   - rule 9 counts the common prefix of destination and source over all
//     128 bits of their IPv6 (IPv4-mapped) forms, for any subnet and any
//     prefix length, and applies it across families too: an IPv4 pair
//     shares at least the 96 bits of the mapped prefix;
//   - an unusable destination is still ordered by precedence and scope;
//   - a list of only IPv4 destinations is left in input order;
//   - the rules are packed into one integer key per destination with the
//     input position in its lowest bits, so the order is total and no
//     sort-algorithm quirk arises.
//
// A Destination with Unreachable set counts as unusable (rule 1).
//
// Not reproduced: musl never returns more than 48 addresses (MAXADDRS);
// longer lists are sorted by the same keys with the input position as the
// last tie-breaker.
func Musl(opts ...Option) *Selector {
	return build(&Selector{name: "musl", table: policytable.RFC6724(), prof: muslProfile}, opts)
}

// muslProfile is the definition described at [Musl].
var muslProfile = (&profile{
	name:             "musl",
	stack:            true,
	rules:            []Rule{Dst1, Dst2, Dst5, Dst6, Dst8, Dst9},
	usableOnly:       rulesOf(Dst2, Dst5, Dst9),
	table:            tableMusl,
	scopeV4:          scopeAllGlobal,
	mappedV4:         true,
	ipv4OnlyUnsorted: true,
	rule9: rule9Count{kind: countAll128, anyFamily: true, note: func(w, l *dattr) string {
		fam := famName(w.v4)
		if w.v4 != l.v4 {
			fam = "IPv4 and IPv6"
		}
		return fam + ", all 128 bits of the IPv6 (IPv4-mapped) forms, across families too"
	}},
	sort: sortConsistent,
}).compile()
