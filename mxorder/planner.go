package mxorder

import (
	"cmp"
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
	NullMXFail                // any "." exchange is a null MX: [ErrNullMX]
)

// Planner turns a domain into a delivery [Plan]. Its fields are
// configuration; the zero Planner works (net.DefaultResolver,
// [DefaultSelector], a dual-stack sender, random shuffling, no attempt
// limits). A Planner must not be modified once in use; it is then safe
// for concurrent use (but see Rand).
type Planner struct {
	// Resolver answers MX and address queries. Nil means
	// net.DefaultResolver.
	Resolver Resolver
	// Selector orders the addresses of each host (RFC 6724 section 6).
	// Nil means [DefaultSelector].
	Selector *addrselect.Selector
	// Sources finds the local host's source address for a destination; an
	// address with no source (no route in that family) is unusable. Nil
	// means every address in Families is usable.
	Sources addrselect.Sources
	// Families are the IP versions the local host may use. 0 means those
	// Sources has routes for, or both when Sources is nil. When both are
	// set, an address must pass both.
	Families Family

	// LocalNames and LocalAddrs identify the local host: it and every MX
	// at or above its preference are dropped (RFC 5321 section 5.1, RFC
	// 3974 section 3 step 2).
	LocalNames []string
	LocalAddrs []netip.Addr

	// Seeded makes the shuffling of equal preferences deterministic: a
	// PCG generator seeded with Seed and the domain name, so the same
	// seed and inputs give the same plan. Without Seeded and Rand the
	// runtime's random source is used.
	Seed   uint64
	Seeded bool
	// Rand, when non-nil, is the random source for shuffling, used
	// instead of Seed. A rand.Source is not safe for concurrent use: do
	// not share such a Planner between goroutines unless Rand is.
	Rand rand.Source

	// MaxAddresses caps the addresses in [Plan.Attempts] (Postfix
	// smtp_mx_address_limit; RFC 5321 section 5.1 allows a limit and asks
	// for at least two); 0 means no limit. Addresses skipped for family
	// or route do not count.
	MaxAddresses int
	// MaxSessions is copied into the plan for the delivery loop (Postfix
	// smtp_mx_session_limit); 0 means no limit.
	MaxSessions int
	// Balance keeps both families when MaxAddresses cuts the list: each
	// keeps up to half of the budget (Postfix
	// smtp_balance_inet_protocols).
	Balance bool
	// Prefer, when IPv4 or IPv6, moves that family's addresses first
	// within each host, keeping the Selector's order within each family;
	// hosts are never reordered across preferences (RFC 3974 section 3
	// step 5). 0 keeps the Selector's order.
	Prefer Family

	// AttemptFamilies chooses the families by delivery attempt number
	// ([History].Attempt): entry i applies to attempt i+1, the last entry
	// to every later attempt; 0 or DualStack allows both, nil allows both
	// always. Other addresses are skipped ([SkipAttemptFamily]). {IPv6,
	// DualStack} tries IPv6 only first (as Stalwart and KumoMTA can).
	AttemptFamilies []Family
	// SwitchFamily starts a retry with the other family, within each
	// host, when the most recent attempt failed with [FailureConnect],
	// [FailureTimeout] or [FailurePolicy], overriding Prefer (as mox does,
	// around per-family blocklists and broken routes).
	SwitchFamily bool
	// GreylistRetry tries the address of the most recent
	// [FailureGreylisted] attempt first, from the same source, so that
	// the receiver recognises the retry; it moves ahead of better MX
	// hosts, which failed before.
	GreylistRetry bool
	// DANEOverridesSTS keeps an MX host the enforced MTA-STS policy does
	// not list when it has usable TLSA records (RFC 8461 and RFC 7672
	// leave this open; KumoMTA lets DANE win). False skips it.
	DANEOverridesSTS bool
	// STS, when set, is the MTA-STS policy cache [Planner.PlanWith]
	// consults for a domain whose DeliveryState has no policy.
	STS *STSCache

	NullMX NullMXPolicy // the policy for "." mixed with other MX records

	// MaxMX bounds the MX records considered (the best by preference are
	// kept); 0 means DefaultMaxMX. MaxHostAddrs bounds the addresses per
	// host; 0 means DefaultMaxHostAddrs. Concurrency bounds the hosts
	// resolved at once (A and AAAA in parallel); 0 means
	// DefaultConcurrency.
	MaxMX        int
	MaxHostAddrs int
	Concurrency  int
	// LookupTimeout bounds each DNS query besides the context; 0 means
	// none.
	LookupTimeout time.Duration

	// NAT64 are the prefixes of the NAT64 translators (RFC 6146) the
	// local host can use, in order of preference, each of a length RFC
	// 6052 section 2.2 allows (an invalid one makes Plan, Build, Audit and
	// CheckBounce fail with an error wrapping nat64.ErrInvalidPrefix).
	// See the package documentation and [Translation].
	NAT64 []netip.Prefix
	// DiscoverNAT64, when NAT64 is empty, makes Plan, Audit and
	// CheckBounce ask the Resolver's DNS64 for its prefixes (RFC 7050
	// section 3) once per call; Build looks nothing up. Callers planning
	// many domains should discover once and set NAT64.
	DiscoverNAT64 bool
}

// DefaultSelector returns the address selection of a Planner without a
// Selector: [addrselect.RFC6724] with [addrselect.Rule9OnLink], shared
// and immutable. The RFC's own rule 9 (longest matching prefix) makes
// every sender of a site pick the same address of a load-balanced MX
// host, whatever order DNS gives; the on-link variant still prefers an
// address on the sender's own link and otherwise keeps the resolver's
// order.
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

// The bounds in effect: the field when positive, else the default.
func (p *Planner) maxMX() int        { return cmp.Or(max(p.MaxMX, 0), DefaultMaxMX) }
func (p *Planner) maxHostAddrs() int { return cmp.Or(max(p.MaxHostAddrs, 0), DefaultMaxHostAddrs) }
func (p *Planner) concurrency() int  { return cmp.Or(max(p.Concurrency, 0), DefaultConcurrency) }

// rng is the shuffling randomness, without heap allocation.
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
		// The domain's hash shuffles domains differently under one seed;
		// the attempt number lets a retry start at another MX host of
		// equal preference (the first keeps the shuffle without history).
		h := fnv.New64a()
		h.Write([]byte(domain))
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
