package mxorder

import (
	"hash/fnv"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/dualstack/dualstack/addrselect"
)

// Defaults of the bounds on work driven by DNS data.
const (
	DefaultMaxMX        = 32 // MX records considered per domain
	DefaultMaxHostAddrs = 16 // addresses considered per MX host and family lookup pair
	DefaultConcurrency  = 8  // MX hosts resolved at once
)

// NullMXPolicy says what to do with a "." exchange listed together with
// other MX records, which RFC 7505 section 3 forbids and leaves unspecified
// for clients.
type NullMXPolicy uint8

// The policies.
const (
	// NullMXIgnore drops the "." records (recorded as [SkipNullMX]) and
	// delivers to the remaining MX hosts: the domain evidently has mail
	// servers, and dropping mail on a publishing error loses it.
	NullMXIgnore NullMXPolicy = iota
	// NullMXFail treats any "." exchange as a null MX: [ErrNullMX].
	NullMXFail
)

// Planner turns a domain into a delivery [Plan]. Its fields are
// configuration; the zero Planner works (net.DefaultResolver, RFC 6724
// with the round-robin-safe rule 9 of [DefaultSelector], a dual-stack
// sender, random shuffling, no attempt limits). A Planner must
// not be modified once in use; it is then safe for concurrent use (but see
// Rand).
type Planner struct {
	// Resolver answers MX and address queries. Nil means
	// net.DefaultResolver.
	Resolver Resolver

	// Selector orders the addresses of each host (RFC 6724 section 6).
	// Nil means [DefaultSelector]: RFC 6724 with the round-robin-safe
	// rule 9 ([addrselect.Rule9OnLink]).
	Selector *addrselect.Selector

	// Sources finds the local host's source address for a destination; an
	// address with no source (no route in that family) is unusable. Nil
	// means no source information: every address in Families is usable.
	Sources addrselect.Sources

	// Families are the IP versions the local host may use. 0 means: the
	// families Sources has routes for, or both when Sources is nil.
	// When both Families and Sources are set, an address must pass both.
	Families Family

	// LocalNames and LocalAddrs identify the local host: an MX host with
	// one of these names or addresses is the local host, and it and every
	// MX at or above its preference are dropped (RFC 5321 section 5.1,
	// RFC 3974 section 3 step 2).
	LocalNames []string
	LocalAddrs []netip.Addr

	// Seeded makes the shuffling of equal preferences deterministic: each
	// plan uses a PCG generator seeded with Seed and the domain name, so
	// the same seed and inputs give the same plan. When Seeded is false
	// and Rand is nil, shuffling uses the runtime's random source.
	Seed   uint64
	Seeded bool
	// Rand, when non-nil, is the random source for shuffling, used
	// instead of Seed. A rand.Source is not safe for concurrent use: do
	// not share such a Planner between goroutines unless Rand is.
	Rand rand.Source

	// MaxAddresses caps the addresses in [Plan.Attempts] (Postfix
	// smtp_mx_address_limit; RFC 5321 section 5.1 allows a limit and asks
	// for at least two). 0 means no limit. Addresses skipped for family
	// or route do not count.
	MaxAddresses int
	// MaxSessions is copied into the plan for the delivery loop (Postfix
	// smtp_mx_session_limit). 0 means no limit.
	MaxSessions int
	// Balance keeps both families in the attempts when MaxAddresses cuts
	// the list: each family keeps at least half of the budget if it has
	// that many addresses (Postfix smtp_balance_inet_protocols), so a run
	// of one family cannot use up the budget before the other is tried.
	Balance bool
	// Prefer, when IPv4 or IPv6, moves that family's addresses first
	// within each host (after the Selector's order, which is kept within
	// each family); the other family still follows. Hosts are never
	// reordered across preferences (RFC 3974 section 3 step 5). 0 keeps
	// the Selector's order.
	Prefer Family

	// AttemptFamilies chooses the families by delivery attempt number
	// ([History].Attempt): entry i applies to attempt i+1, the last entry
	// to every later attempt; 0 or DualStack allows both. Addresses of
	// other families are skipped ([SkipAttemptFamily]). {IPv6,
	// DualStack} tries IPv6 only on the first attempt and both
	// afterwards (Stalwart and KumoMTA choose the family by retry
	// number). Nil allows both on every attempt.
	AttemptFamilies []Family
	// SwitchFamily starts a retry with the other family when the most
	// recent earlier attempt failed to connect, timed out or was
	// rejected for policy ([FailureConnect], [FailureTimeout],
	// [FailurePolicy]): within each host, that family's addresses come
	// first, overriding Prefer for this attempt. mox does this, to get
	// around per-family blocklists and broken routes.
	SwitchFamily bool
	// GreylistRetry tries the address of the most recent greylisted
	// attempt ([FailureGreylisted]) first, from the same source address,
	// so that the receiver recognises the retry (mox keeps the address
	// for this reason). It moves that address ahead of better MX hosts:
	// the host was reached before, and the better ones failed.
	GreylistRetry bool
	// DANEOverridesSTS keeps an MX host that the enforced MTA-STS policy
	// does not list when the host has usable TLSA records (it is then
	// authenticated by DANE). RFC 8461 and RFC 7672 leave this open;
	// KumoMTA lets DANE take precedence. False (the default) skips such
	// a host, as the policy says.
	DANEOverridesSTS bool
	// STS, when set, is the MTA-STS policy cache [Planner.PlanWith]
	// consults for a domain whose DeliveryState has no policy.
	STS *STSCache

	// NullMX is the policy for "." mixed with other MX records.
	NullMX NullMXPolicy

	// MaxMX bounds the MX records considered (the best ones by
	// preference are kept; the rest are reported). 0 means DefaultMaxMX.
	MaxMX int
	// MaxHostAddrs bounds the addresses considered per host. 0 means
	// DefaultMaxHostAddrs.
	MaxHostAddrs int
	// Concurrency bounds how many MX hosts are resolved at once (each
	// with an A and an AAAA query in parallel). 0 means
	// DefaultConcurrency.
	Concurrency int
	// LookupTimeout bounds each DNS query, in addition to the context.
	// 0 means only the context's deadline applies.
	LookupTimeout time.Duration

	// NAT64 are the prefixes of the NAT64 translators (RFC 6146) the
	// local host can use, each of a length RFC 6052 section 2.2 allows
	// (nat64.CheckPrefix; an invalid one makes Plan, Build, Audit and
	// CheckBounce fail with an error wrapping nat64.ErrInvalidPrefix), in
	// order of preference. With them a sender that has IPv6 but not
	// IPv4 reaches IPv4 addresses through addresses it synthesizes (RFC
	// 8305 section 7), and AAAA answers inside them are recognised as
	// DNS64 synthesis (RFC 6147): such an address counts as the IPv4
	// address it stands for, and a sender with IPv4 uses that address
	// directly. See [Translation]. Empty means no NAT64.
	NAT64 []netip.Prefix
	// DiscoverNAT64, when NAT64 is empty, makes Plan, Audit and
	// CheckBounce ask the Resolver for the prefixes of its DNS64 (RFC
	// 7050 section 3, nat64.Discover) once per call; a resolver without
	// DNS64 means no NAT64. Build never looks anything up. Callers that
	// plan many domains should discover once and set NAT64.
	DiscoverNAT64 bool
}

// DefaultSelector returns the address selection a Planner without a
// Selector uses: [addrselect.RFC6724] with [addrselect.Rule9OnLink]. The
// RFC's own rule 9 (longest matching prefix) puts the address
// numerically closest to the sender first, whatever order DNS gives, so
// every sender of a site picks the same address of a load-balanced MX
// host; the on-link variant still prefers an address on the sender's
// own link and otherwise keeps the resolver's order. The result is
// shared and immutable.
func DefaultSelector() *addrselect.Selector { return defaultSelector() }

var defaultSelector = sync.OnceValue(func() *addrselect.Selector {
	return addrselect.RFC6724(addrselect.WithRule9(addrselect.Rule9OnLink))
})

// selector returns the Selector to order addresses with.
func (p *Planner) selector() *addrselect.Selector {
	if p.Selector != nil {
		return p.Selector
	}
	return defaultSelector()
}

func (p *Planner) maxMX() int {
	if p.MaxMX > 0 {
		return p.MaxMX
	}
	return DefaultMaxMX
}

func (p *Planner) maxHostAddrs() int {
	if p.MaxHostAddrs > 0 {
		return p.MaxHostAddrs
	}
	return DefaultMaxHostAddrs
}

func (p *Planner) concurrency() int {
	if p.Concurrency > 0 {
		return p.Concurrency
	}
	return DefaultConcurrency
}

// rng is the shuffling randomness without interface conversions or heap
// allocation.
type rng struct {
	pcg  rand.PCG
	src  rand.Source
	mode uint8 // 0 runtime, 1 pcg, 2 src
}

func (p *Planner) newRNG(r *rng, domain string, attempt int) {
	switch {
	case p.Rand != nil:
		r.src, r.mode = p.Rand, 2
	case p.Seeded:
		// FNV-1a of the domain as the second PCG word, so that one seed
		// shuffles different domains differently.
		h := fnv.New64a()
		h.Write([]byte(domain))
		// Later delivery attempts shuffle differently, so that a retry
		// can start at another MX host of equal preference; the first
		// attempt keeps the shuffle of a plan without history.
		r.pcg.Seed(p.Seed, h.Sum64()+uint64(attempt-1)*0x9e3779b97f4a7c15)
		r.mode = 1
	}
}

func (r *rng) uint64() uint64 {
	switch r.mode {
	case 1:
		return r.pcg.Uint64()
	case 2:
		return r.src.Uint64()
	}
	return rand.Uint64()
}

// intn returns a uniform integer in [0, n), n > 0, without modulo bias
// (multiply-and-reject).
func (r *rng) intn(n int) int {
	un := uint64(n)
	for {
		hi, lo := bits.Mul64(r.uint64(), un)
		if lo >= un || lo >= -un%un {
			return int(hi)
		}
	}
}
