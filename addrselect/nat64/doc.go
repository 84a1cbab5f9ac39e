// Package nat64 is the address arithmetic and prefix discovery an
// IPv6-only host needs to reach IPv4 through NAT64 (RFC 6146) and DNS64
// (RFC 6147), or to synthesize addresses itself (464XLAT, RFC 8305
// section 7). Go's standard library has none of it.
//
// Where to start:
//
//  1. Learn the prefix. [Discover] asks the network's DNS64 for the AAAA
//     records of ipv4only.arpa (RFC 7050 section 3, RFC 8880);
//     [ReadAnswers] does the same on records the caller looked up itself.
//     Routers may announce the prefix in router advertisements instead
//     (RFC 8781): [ParseOption] reads that option into a [PREF64], which
//     knows its lifetime; on Linux the addrselect package listens for
//     these options from the kernel. RFC 8781 section 5.1 prefers the
//     router's prefix over the DNS one.
//  2. Build addresses. [Synthesize] embeds an IPv4 address in a prefix
//     (RFC 6052 section 2.2, every prefix length: 32, 40, 48, 56, 64 and
//     96), for IPv4 literals and names with only A records.
//  3. Recognise them. [Extract] returns the IPv4 address a synthesized
//     address stands for, so a DNS64 answer can be traced to the IPv4
//     host behind it.
//
// # Choices
//
// The well-known prefix 64:ff9b::/96 must not carry a non-global IPv4
// address (RFC 6052 section 3.1, which points to RFC 1918 and the list
// in RFC 5735 section 3; the ranges, with their sources, are one table in
// nat64.go). [Synthesize] refuses such an address with [ErrNonGlobal].
// The rule is exact: the local-use prefix 64:ff9b:1::/48 (RFC 8215
// section 5) and network-specific prefixes carry any address.
// [IsGlobalIPv4] exposes the table. [Extract] still reads such an address
// (64:ff9b::10.0.0.5 stands for 10.0.0.5), so that a DNS64 answer built
// from a private A record is recognised as synthesized instead of being
// taken for native IPv6.
//
// RFC 6052 contradicts itself here: its section 2.4 example embeds
// 192.0.2.33 (TEST-NET-1, listed in RFC 5735 section 3) in the well-known
// prefix, which section 3.1 forbids. This package follows section 3.1,
// the normative text: a translator that obeys it drops the packets (tayga
// 0.9.2 does, silently), so an address built from the example would fail
// only at dial time, far from its cause. Shared Address Space
// (100.64.0.0/10, RFC 6598) is not in the table: RFC 5735 predates it,
// translators pass it, and a provider's NAT64 may serve it, although RFC
// 6890, which obsoletes RFC 5735, calls it not globally reachable.
//
// # Costs and bounds
//
// [Synthesize], [Extract], [CheckPrefix] and [ParseOption] do not
// allocate unless they return an error. [ReadAnswers] examines at most
// [MaxAnswers] records, each in constant time, and says how many it
// ignored or skipped; a hostile answer cannot make [Discover] do more.
// Discovery is not validated (RFC 7050 section 3.1): whoever answers the
// host's DNS chooses the prefix, as whoever sends its router
// advertisements does (RFC 8781 section 7).
package nat64
