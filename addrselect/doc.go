// Package addrselect implements default address selection for IPv6 and
// IPv4 ([RFC 6724]): which source address a host uses for a destination
// (section 5) and in which order a program should try the addresses a
// name resolves to (section 6), with the profiles of the stacks programs
// really run on.
//
// # Why not the sort inside net
//
// Go's net package sorts resolver answers by RFC 6724 too, but privately:
// it skips destination rules 3, 4 and 7, applies rule 9 to IPv6 only,
// cannot be configured, and cannot say why it chose an order. This
// package is:
//
//   - exact: every rule of sections 5 and 6 (source rules 1-8 with 5.5,
//     destination rules 1-10), traced to the RFC in the code and checked
//     against every worked example of RFC 6724 and RFC 3484;
//   - configurable: any [policytable.Table] (gai.conf, the RFC 3484 table,
//     draft-ietf-6man-rfc6724-update), rule 9 variants, the private-IPv4
//     scope, temporary or public sources, RFC 8305 history;
//   - consistent: [Selector.SortDestinations] gives an order that obeys
//     every pair the rules decide, whatever the input, without allocating;
//   - explainable: [Selector.Explain], [Selector.ExplainSource] and
//     [Selector.Trace] name the deciding rule, the compared values and a
//     reason a person can read;
//   - comparable: profiles reproduce real stacks ([GoNet], [Glibc],
//     [Musl], [CAres]) next to [RFC6724] (the default) and [RFC3484].
//
// # Where to start
//
//   - To order the addresses a name resolved to: [Selector.Sort] with the
//     running system's sources (nil), or with a described [Host] in tests
//     and simulations. RFC6724() is the standard; add [WithRule9]
//     ([Rule9OnLink]) for load-balanced names and [WithPreferPublic] for
//     servers and MTAs.
//   - To connect: a [Dialer] (RFC 8305: both lookups, interleaved
//     families, staggered attempts; on an IPv6-only network it dials IPv4
//     through NAT64, section 7).
//   - On networks with NAT64 and DNS64: [WithNAT64] recognises synthesized
//     addresses, ranks them ([WithNAT64Rank]) and keeps a host with native
//     IPv4 off the translator ([DstNAT64]); package nat64 has the prefix
//     arithmetic and discovery.
//   - To know why: [Selector.Explain] for a pair, [Selector.Trace] for a
//     whole order, [Selector.ExplainSource] for a source choice.
//   - To predict another stack: [GoNet], [Glibc] (with [WithTable] and a
//     table from policytable.ParseGaiConf), [Musl], [CAres].
//   - When you already have sources: [Selector.SortDestinations] and
//     [Selector.SelectSource], pure and allocation-free.
//
// # How the rules are written
//
// Every rule of sections 5 and 6 is defined once (rules.go): its
// sentence and section ([Rule.Title], [Rule.Section]), the attribute it
// reads, which side it prefers, its width in a packed sort key, and the
// reason given when it decides. The comparator behind [Selector.Compare]
// and [Selector.Explain], the packed key behind [Selector.SortDestinations]
// and the reasons are all read from those definitions. A profile (the RFC
// engine under its options, or a real stack) is data: the rules it
// applies in order, its named quirks and its sort algorithm, run by one
// engine.
//
// # Inputs
//
// The rules need facts only the host knows: Source(D) for each
// destination, given in [Destination].Source, picked with
// [Selector.SelectSource], or found by a [Sources] ([System] asks the
// kernel, [Host] describes a host); reachability
// (Destination.Unreachable); and the [Source] fields (deprecated, home
// and care-of, interface and next hop, temporary, encapsulated, prefix
// length), each documented with the rules that read it. A fact left at
// its zero value makes its rule a tie; a zero Source makes the
// destination unusable (rule 1). RFC 6724 does not define IPv4 source
// selection; the same rules are applied to IPv4 candidates, and
// candidates of the other family are never chosen.
//
// # Rule 9 and consistency
//
// Destination rule 9 (longest matching prefix) makes every client pick
// the same server among round-robin DNS answers; [WithRule9] chooses a
// variant ([Rule9Variant] says when to pick which). Rule 9 only compares
// destinations of one family, so the pairwise comparator of section 6
// is not transitive on mixed answers, and comparison sorts give orders
// that depend on the algorithm (glibc's qsort produces cycles).
// [Selector.SortDestinations] sorts consistently instead;
// [Selector.Compare], the pairwise comparator for callers' own record
// types, inherits the intransitivity.
//
// # Deviations from RFC 6724
//
//   - Rule 4 (source and destination), "prefer home addresses", orders
//     home-and-care-of above everything else and home-only above
//     care-of-only, and leaves the other pairs tied; that relation is not
//     a weak order and makes a consistent sort impossible. This package
//     ranks home and care-of > home only > neither > care-of only, so it
//     also prefers home-only over neither and neither over care-of-only.
//     Hosts without Mobile IPv6 are unaffected.
//   - An unusable destination (rule 1) is treated as having no source in
//     every later rule, so two unusable destinations are ordered by
//     precedence (rule 6) and scope (rule 8) only.
//   - The history step of RFC 8305 section 4 ([WithHistory], off by
//     default) sits between rules 8 and 9, as that RFC says: destinations
//     with history first, lower RTT first.
//   - IPv4-mapped IPv6 addresses are treated as IPv4 throughout (section
//     3.2), including rule 9's family test.
//
// Selectors are immutable and safe for concurrent use; the zero Selector
// and a nil *Selector behave as [RFC6724]().
//
// [RFC 6724]: https://www.rfc-editor.org/rfc/rfc6724
package addrselect
