// Package dualstack is the root of a library that decides, for mixed
// IPv4/IPv6 networks, which address a program should talk to and which
// mail exchanger to try next, and explains why.
//
// The work is split into three packages, each importing only the ones
// below it:
//
//   - [github.com/dualstack/dualstack/policytable]: the policy table of
//     RFC 6724 section 2.1 (and of RFC 3484 and of
//     draft-ietf-6man-rfc6724-update), a longest-prefix lookup that does
//     not allocate, the scope rules of RFC 6724 section 3, and the formats
//     administrators use: glibc gai.conf, FreeBSD ip6addrctl, Windows
//     netsh prefix policies.
//   - [github.com/dualstack/dualstack/addrselect]: source selection
//     (RFC 6724 section 5) and destination ordering (section 6, all ten
//     rules), with profiles that reproduce Go, glibc, musl and c-ares,
//     explanations of every decision, sources from the running system or
//     from a described host, and a dialer that falls back across families
//     (RFC 8305) and reaches IPv4 through NAT64 on IPv6-only hosts; its
//     subpackage nat64 does the RFC 6052 arithmetic, RFC 7050 discovery
//     and RFC 8781 PREF64 options.
//   - [github.com/dualstack/dualstack/mxorder]: mail exchanger ordering
//     (RFC 5321 section 5.1) with null MX (RFC 7505), implicit MX, self-MX
//     pruning, seeded randomisation, family-aware skipping (RFC 3974),
//     limits, family strategies across retries, MTA-STS and DANE
//     constraints, NAT64, and an audit of the traps of mixed-stack mail.
//
// Where to start: an MTA builds an [github.com/dualstack/dualstack/mxorder.Planner]
// and asks it for a plan; a client that connects to a name uses
// [github.com/dualstack/dualstack/addrselect.Dialer]; a diagnostic tool
// describes a host with [github.com/dualstack/dualstack/addrselect.ParseHost]
// and asks a Selector to explain its order. The program examples/seedlab
// replays the mixed-stack mail scenarios on built-in data.
//
// Everything configured is an immutable value, safe for concurrent use.
// The pure parts (policy tables, sorting with given sources, Explain,
// Planner.Build) touch neither the network nor the file system. Three zero
// values do reach outside the process, and say so in their docs: a nil
// Sources means the running kernel's source choice (connected UDP sockets,
// no packet sent, and netlink on Linux), a zero Dialer uses
// net.DefaultResolver and real connections, and a zero Planner uses
// net.DefaultResolver; hand in a Sources, Resolver or Dial function to
// keep them inside.
package dualstack
