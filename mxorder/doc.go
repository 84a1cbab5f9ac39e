// Package mxorder decides which mail exchanger, and which of its
// addresses, an SMTP client tries next, for senders and receivers that may
// each have IPv4, IPv6 or both. It applies RFC 5321 section 5.1 (MX
// ordering, implicit MX, the relay's own MX record), RFC 7505 (null MX) and
// RFC 3974 (IPv6 and mixed-stack MX sets), and orders each host's
// addresses with [github.com/dualstack/dualstack/addrselect] (RFC 6724).
// Unlike Go's own MX lookup it knows which families the sender can use,
// and says why mail cannot go anywhere instead of just failing to connect.
//
// # Use
//
//  1. Configure a [Planner] (the zero value works: net.DefaultResolver,
//     RFC 6724 with a round-robin-safe rule 9, a dual-stack sender).
//  2. Call [Planner.Plan] for the recipient domain; or [Planner.Build]
//     with records you already have (the pure core: no DNS).
//  3. Try [Plan.Attempts] in order, stopping after Plan.MaxSessions
//     sessions, or let [Plan.Deliver] run that loop around your SMTP
//     client. On error, branch with errors.Is on [ErrNullMX],
//     [ErrNoSuchDomain], [ErrNoPrimaryRelay] (permanent) and
//     [ErrNoReachableMX] (see [UnreachableError.Temporary]).
//  4. For diagnostics, [Planner.Audit], [Check] and [Planner.CheckBounce]
//     report what is wrong with a domain's MX set for mixed-stack mail;
//     [Report.CheckSTS] adds the domain's MTA-STS coverage.
//  5. A mail transfer agent that retries calls [Planner.PlanWith] (or
//     [Planner.BuildWith]) with a [DeliveryState]: the [History] of
//     earlier attempts, the domain's MTA-STS policy ([STSCache] fetches
//     and caches it; [ParseSTSPolicy] reads one) and its DANE status
//     ([DANEStatus]). Each [Attempt] then says why it is where it is
//     (Reason, Detail) and which TLS it requires (TLS, TLSAuth,
//     TLSDetail); [*PolicyError] and [ErrFamilyDeferred] are temporary.
//
// # Model
//
// A plan lists the MX hosts in delivery order, each with the addresses
// the sender can use, in addrselect order, with their source addresses;
// [Plan.Skipped] lists every record, host and address left out with a
// [SkipReason]; [Plan.LookupErrors] lists the DNS lookups that failed. A
// host whose addresses are all in families the sender cannot use is
// skipped without consuming attempt budget and the next host is tried
// (RFC 3974 section 3); when no host is left the error is an
// [*UnreachableError] naming the families the domain offers and the ones
// the sender has.
//
// # Choices
//
// NXDOMAIN and NODATA. RFC 5321 section 5.1 makes NXDOMAIN a permanent
// error and a domain without MX records (NODATA) an implicit MX of
// preference 0 naming the domain itself. *net.Resolver reports both as a
// *net.DNSError with IsNotFound. The planner therefore treats any "not
// found" MX answer as NODATA and looks up the domain's A and AAAA
// records: if they exist, the domain is its own MX (Plan.Implicit); if
// both are "not found" too, the result is [ErrNoSuchDomain] (a domain
// with neither MX nor addresses cannot receive mail either way). A
// temporary failure of any of these lookups is never reported as
// permanent.
//
// Null MX. A single "." exchange is a null MX (RFC 7505): [ErrNullMX],
// whatever its preference, and no fallback to address records; the plan
// says so (Plan.NullMX). An empty exchange is not a null MX: it names
// nothing and is skipped as [SkipInvalidName]. A "."
// listed with other MX records violates RFC 7505 section 3 and the RFC
// does not say what clients do; by default ([NullMXIgnore]) the "."
// records are skipped ([SkipNullMX]) and the other MX hosts used, so
// that a publishing mistake does not lose mail; [NullMXFail] makes any
// "." fatal. The audit flags the mix either way ([CodeNullMXMixed]).
//
// Shuffling. Records are sorted by preference (stable), then each run of
// equal preference is shuffled (Fisher-Yates), the shape Go uses for SRV
// records; RFC 5321 section 5.1 requires the randomisation. The source is
// Planner.Rand, or a PCG seeded with Planner.Seed and the domain when
// Planner.Seeded, or the runtime's generator. The limit on MX records is
// applied after sorting and before shuffling.
//
// Self. With LocalNames or LocalAddrs, the best-preference MX that is the
// local host (by name, or by any of its addresses) and every MX at or
// above its preference are dropped (RFC 5321 section 5.1); nothing left
// is [ErrNoPrimaryRelay].
//
// Names. Domains and exchanges are converted to A-labels with the IDNA
// Lookup profile, folded to lower case, and the trailing dot removed;
// queries use the absolute name. Exchanges that are IP literals, "." (see
// above) or invalid host names are skipped with [SkipInvalidName]; an
// invalid domain is a [*NameError].
//
// Families. Both A and AAAA are always looked up, concurrently, and both
// answers awaited, so the plan and the audit know what the domain offers
// (RFC 5321 section 5.2 would let a single-stack client skip one). The
// sender's families are Planner.Families, or else those its Sources has a
// route for: asked for one global address per family (a.root-servers.net)
// and, failing that, for the addresses at hand; an address of a missing
// family is skipped as [SkipFamily], an address in a present family
// without a source as [SkipNoRoute].
// Within a host, addresses follow the addrselect order; Planner.Prefer
// moves one family first within each host but never reorders hosts across
// preferences (RFC 3974 section 3 step 5).
//
// NAT64. Planner.NAT64 holds the prefixes of the translators (RFC 6146)
// the sender can use, or Planner.DiscoverNAT64 asks the Resolver's DNS64
// for them (RFC 7050 section 3). A sender with IPv6 and no IPv4 then
// tries each IPv4 address through the address synthesized under the
// first prefix that may carry it (RFC 6052 section 2.2 and 3.1, RFC 8305
// section 7); a dual-stack host's native IPv6 addresses come before
// those through the translator, each group in addrselect order. An AAAA
// answer inside a known prefix is DNS64 synthesis (RFC 6147): it counts
// as the IPv4 address it stands for (the host stays IPv4-only in the plan
// and the audit), and a sender with IPv4 tries that address directly
// rather than through the translator. Each attempt through a translator
// carries a [Translation] ("192.0.2.1 via NAT64 64:ff9b::/96"); for
// MaxAddresses and Balance it counts as IPv6, the family the sender uses.
// Only when no prefix can help is the domain unreachable. Mail sent
// through a translator leaves from its IPv4 pool: the audit reports this
// as [CodeNAT64Sender], as the sending domain's SPF record and reverse
// DNS may not match it.
//
// Round robin. Without a Selector the planner uses [DefaultSelector]:
// RFC 6724 with rule 9 reduced to "on-link or not"
// ([addrselect.Rule9OnLink]). The study this module starts from found
// that the RFC's longest-matching-prefix rule sends every client of a
// site to the same address of a load-balanced name (several A or AAAA
// records of one MX host), whatever order the DNS server rotates them
// in; with the on-link variant an address on the sender's own link
// still comes first and the others keep the resolver's order. Set
// Selector to addrselect.RFC6724() to get the RFC's rule back.
//
// Limits. MaxAddresses and MaxSessions mirror Postfix's
// smtp_mx_address_limit and smtp_mx_session_limit; with Balance, a cut
// list keeps up to half of the budget for each family (Postfix's
// smtp_balance_inet_protocols). Skipped addresses (family, route) cost
// nothing. Addresses listed under two hosts are tried once.
//
// Retries. [Planner.AttemptFamilies] chooses the families by attempt
// number, [Planner.SwitchFamily] starts a retry with the other family
// after a connection failure, timeout or policy rejection, and
// [Planner.GreylistRetry] retries a greylisted address first from the
// same source; they combine with Prefer, MaxAddresses and Balance, which
// apply after them. Family reordering stays within each host, so MX
// preferences are kept; only the greylisted address may move ahead of
// better hosts (they failed before it was reached). With Seeded, the
// shuffle of equal preferences depends on the seed, the domain and the
// attempt number, so the same history gives the same plan and retries
// rotate among equal-preference hosts.
//
// TLS policy. DANE (RFC 7672) is decided first: with a DNSSEC-secure MX
// RRset, a host whose TLSA lookup failed is skipped ([SkipTLSAFailed]);
// usable TLSA records make the attempt require DANE-authenticated TLS,
// secure but unusable ones TLS without authentication. MTA-STS (RFC
// 8461) comes next: in enforce mode a host that no mx pattern matches is
// skipped ([SkipSTSUnlisted]) and the others require a PKIX-valid
// certificate; in testing mode the mismatch is reported (Plan.STS) and
// delivery proceeds; mode none changes nothing. MTA-STS never overrides
// DANE (RFC 8461 section 2): a host skipped for its TLSA lookup stays
// skipped whatever the policy lists. Whether a host with usable TLSA
// records that the policy does not list may be used is
// [Planner.DANEOverridesSTS] (off by default). When the policy leaves no
// host the error is a temporary [*PolicyError] (RFC 8461 section 5).
//
// Hostile DNS. At most MaxMX records and MaxHostAddrs addresses per host
// are considered, at most Concurrency hosts are resolved at once, and
// everything cut is counted in [Plan.Truncated] and listed in
// Plan.Skipped. Of a longer MX list than one DNS message can carry
// only the first 4096 records are examined at all: the rest are counted
// in Truncated.MX and summarised in one Skip naming the domain. Work and memory are bounded by these limits and by
// the size of the answers the Resolver returns: an answer is cut to
// MaxHostAddrs as it is copied.
//
// Faulty resolvers. Each lookup runs in a goroutine of its own. A
// Resolver that panics fails that lookup with a [*ResolverPanicError]
// instead of ending the process; one that ignores its context is not
// waited for past the caller's deadline (or LookupTimeout): the lookup
// is reported as timed out, and its late answer is dropped. An address
// with a zone, which no DNS answer carries, is never tried
// ([SkipZonedAddr]).
package mxorder
