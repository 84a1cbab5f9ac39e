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
// preference 0. *net.Resolver reports both as a *net.DNSError with
// IsNotFound, so the planner treats any "not found" MX answer as NODATA
// and looks up the domain's A and AAAA records: if they exist, the domain
// is its own MX (Plan.Implicit); if not, the result is [ErrNoSuchDomain].
// A temporary failure of any of these lookups is never reported as
// permanent.
//
// Null MX. A single "." exchange is a null MX (RFC 7505): [ErrNullMX],
// whatever its preference, and no fallback to address records
// (Plan.NullMX); an empty exchange is an invalid name. For "." listed
// with other MX records, which RFC 7505 section 3 forbids, see
// [NullMXPolicy]; the audit flags it ([CodeNullMXMixed]).
//
// Shuffling. Records are sorted by preference (stable), cut to MaxMX,
// then each run of equal preference is shuffled (Fisher-Yates), the
// shape Go uses for SRV records; RFC 5321 section 5.1 requires the
// randomisation. With Seeded the shuffle depends on the seed, the domain
// and the attempt number, so the same history gives the same plan and
// retries rotate among equal-preference hosts.
//
// Self. With LocalNames or LocalAddrs, the best-preference MX that is the
// local host and every MX at or above its preference are dropped (RFC
// 5321 section 5.1); nothing left is [ErrNoPrimaryRelay].
//
// Names. Domains and exchanges are compared in the form [NormalizeName]
// gives, and queried as absolute names. Exchanges that are IP literals or
// invalid host names are skipped with [SkipInvalidName]; an invalid
// domain is a [*NameError].
//
// Families. Both A and AAAA are always looked up and both answers
// awaited, so the plan and the audit know what the domain offers (RFC
// 5321 section 5.2 would let a single-stack client skip one). The
// sender's families are Planner.Families, or else those its Sources has
// a route for (to a.root-servers.net or to an address at hand); an
// address of a missing family is skipped as [SkipFamily], one without a
// source as [SkipNoRoute].
//
// NAT64. With NAT64 prefixes (RFC 6146; configured or discovered, RFC
// 7050 section 3) a sender with IPv6 and no IPv4 tries each IPv4 address
// through a synthesized one (RFC 6052 sections 2.2 and 3.1, RFC 8305
// section 7), after the host's native IPv6 addresses; an AAAA answer
// inside a known prefix (DNS64, RFC 6147) counts as the IPv4 address it
// stands for. Such attempts carry a [Translation] and count as IPv6 for
// MaxAddresses and Balance; the audit warns of them ([CodeNAT64Sender]).
//
// Round robin. Without a Selector the planner uses [DefaultSelector],
// whose rule 9 keeps the addresses of a load-balanced MX host in DNS
// order; set Selector to addrselect.RFC6724() to get the RFC's rule back.
//
// Limits and retries. MaxAddresses, MaxSessions and Balance mirror
// Postfix's smtp_mx_address_limit, smtp_mx_session_limit and
// smtp_balance_inet_protocols; skipped addresses cost nothing, and an
// address listed under two hosts is tried once. AttemptFamilies,
// SwitchFamily and GreylistRetry reorder by the [History] before them;
// family reordering (and Prefer) stays within each host, so hosts keep
// their preference order (RFC 3974 section 3 step 5) and only the
// greylisted address may move ahead of better hosts.
//
// TLS policy. DANE (RFC 7672) is decided first, then MTA-STS (RFC
// 8461), which never overrides it (RFC 8461 section 2): hosts are
// skipped as [SkipTLSAFailed] or [SkipSTSUnlisted], and each attempt
// says what TLS it requires ([TLSRequirement], [TLSAuth]). A policy
// that leaves no host gives a temporary [*PolicyError].
//
// Hostile DNS. MaxMX, MaxHostAddrs and Concurrency bound the work, and
// everything cut is counted in [Plan.Truncated] and listed in
// Plan.Skipped; of a longer MX list than one DNS message can carry only
// the first 4096 records are examined. A Resolver that panics fails that
// lookup with a [*ResolverPanicError], and one that ignores its context
// is not waited for past the caller's deadline (or LookupTimeout).
package mxorder
