package addrselect

import (
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/dualstack/dualstack/addrselect/nat64"
	"github.com/dualstack/dualstack/policytable"
)

// Selector is an immutable address-selection configuration: a policy
// table, the variants of the rules that RFC 6724 leaves open, and, for the
// profiles of real stacks, that stack's rule variants, quirks and sort
// algorithm (a [profile] run by the one engine). Build one with a profile
// constructor ([RFC6724], [RFC3484], [GoNet], [Glibc], [Musl], [CAres]).
// The zero Selector and a nil *Selector behave as RFC6724(). A Selector is
// safe for concurrent use.
type Selector struct {
	name  string
	table *policytable.Table // as given; nil means policytable.RFC6724()

	// prof is the destination sort: a stack constructor's, or built from
	// the options below by compile.
	prof *profile

	// The options (see each With function); their zero values are RFC
	// 6724's choices, so that the zero Selector is RFC6724(). fullPrefix
	// and preferPublic apply to the source rules of every profile.
	rule9        Rule9Variant
	fullPrefix   bool
	preferPublic bool
	privateV4    policytable.Scope // 0: the table's IPv4 scopes
	history      History
	nat64        []netip.Prefix
	nat64Rank    NAT64Rank

	// Built by compile: effective is the table with the private-IPv4
	// override (read by the source rules and the RFC engine); lookup is
	// the table the profile's destination rules read; natOn says the
	// NAT64 attributes apply (known prefixes, RFC engine). A Selector
	// whose prof is set is compiled.
	effective, lookup *policytable.Table
	natOn             bool
}

// Option configures a Selector built by a profile constructor.
type Option func(*Selector)

// WithTable replaces the profile's policy table. Glibc(WithTable(t)) with t
// from policytable.ParseGaiConf is glibc under that gai.conf.
func WithTable(t *policytable.Table) Option {
	return func(s *Selector) { s.table = t }
}

// WithRule9 selects how destination rule 9 is applied; see [Rule9Variant].
// An unknown variant behaves as [Rule9Off].
func WithRule9(v Rule9Variant) Option {
	return func(s *Selector) { s.rule9 = v }
}

// WithFullPrefixMatch makes CommonPrefixLen compare every address bit, as
// RFC 3484 section 2.2 did, instead of stopping at the source's prefix
// length (RFC 6724 section 2.2, Appendix B rule change 1). It affects
// source rule 8 and destination rule 9 ([Rule9RFC], [Rule9IPv6Only]).
func WithFullPrefixMatch(full bool) Option {
	return func(s *Selector) { s.fullPrefix = full }
}

// WithPreferPublic sets the direction of source rule 7. With false (the
// RFC 6724 default) temporary addresses (RFC 8981) win over public ones;
// with true public addresses win, as in RFC 3484 and as RFC 5014's
// IPV6_PREFER_SRC_PUBLIC asks. Servers and MTAs, whose peers check
// reverse DNS or allow-lists, usually want true.
func WithPreferPublic(public bool) Option {
	return func(s *Selector) { s.preferPublic = public }
}

// WithPrivateIPv4Scope gives the RFC 1918 ranges 10.0.0.0/8,
// 172.16.0.0/12 and 192.168.0.0/16 the scope sc, overriding the table's
// IPv4 scope rules at or inside them, for the RFC engine ([RFC6724],
// [RFC3484]). [policytable.ScopeSiteLocal] is RFC 3484 section 3.2 (and
// older glibc): destination rule 2 then prefers native IPv6, even 6to4,
// over NATed IPv4; [policytable.ScopeGlobal] is RFC 6724 section 3.2
// (Appendix B rule change 4). Without it (or with scope 0) the table's
// own IPv4 scopes apply ([policytable.WithScopeV4]). Like
// [policytable.WithPrivateIPv4Scope], it derives a table once;
// [Selector.Table] still returns the table given. Stack profiles ignore
// it.
func WithPrivateIPv4Scope(sc policytable.Scope) Option {
	return func(s *Selector) { s.privateV4 = sc }
}

// History gives measured connection history per destination, for the
// RFC 8305 section 4 step between destination rules 8 and 9: a
// destination with history sorts before one without, and a lower round
// trip time first. Lookup must be fast, non-blocking, safe for concurrent
// use and constant for an address during one sort (else the order is
// undefined, though still a permutation). Keeping history per interface
// and flushing it when the network changes (RFC 8305) is the
// implementation's job.
type History interface {
	// Lookup returns the smoothed round-trip time measured to addr and
	// whether there is any history for it.
	Lookup(addr netip.Addr) (rtt time.Duration, ok bool)
}

// WithHistory enables the RFC 8305 section 4 history step (rule
// [DstHistory]). A nil h disables it (the default).
func WithHistory(h History) Option {
	return func(s *Selector) { s.history = h }
}

// WithNAT64 names the NAT64 prefixes (RFC 6052) the host knows: learned
// from router advertisements (RFC 8781, [System.NAT64Prefixes]),
// discovered through DNS64 ([nat64.Discover]) or configured. A
// destination inside one stands for the IPv4 address embedded in it
// ([nat64.Extract]), as [Selector.Explain] says in its Reason and
// [Facts].SynthesizedFrom. Such a destination ranks as [WithNAT64Rank]
// says, and goes after every other usable destination when that IPv4
// address is in the same list with a usable source (rule [DstNAT64]):
// the translator would only add a detour, as the Happy Eyeballs v3 draft
// says.
//
// Prefixes that [nat64.CheckPrefix] refuses and repeats are left out;
// with none left nothing changes (the default). Stack profiles ignore it.
// Sorting costs one prefix test per destination and known prefix.
func WithNAT64(prefixes ...netip.Prefix) Option {
	return func(s *Selector) {
		s.nat64 = nil
		for _, p := range prefixes {
			if nat64.CheckPrefix(p) == nil && !slices.Contains(s.nat64, p) {
				s.nat64 = append(s.nat64, p)
			}
		}
	}
}

// NAT64Rank says how a destination inside a known NAT64 prefix ranks
// under destination rules 2 to 9 (see [WithNAT64Rank]).
type NAT64Rank uint8

const (
	// NAT64AsIPv4 ranks a synthesized destination as the IPv4 address it
	// stands for: its scope, label, precedence and family, with a source
	// of matching scope and label (the translator's IPv4 address; rule 9
	// counts 0 bits). The default.
	NAT64AsIPv4 NAT64Rank = iota
	// NAT64AsIPv6 ranks it as the IPv6 address it is, as the stacks do
	// (under RFC 6724's table, as native IPv6).
	NAT64AsIPv6
)

// String returns "ipv4" or "ipv6".
func (r NAT64Rank) String() string {
	if r == NAT64AsIPv6 {
		return "ipv6"
	}
	return "ipv4"
}

// WithNAT64Rank chooses how a destination inside a prefix of [WithNAT64]
// ranks: as the IPv4 address it stands for ([NAT64AsIPv4], the default)
// or as the IPv6 address it is ([NAT64AsIPv6]). An unknown value behaves
// as NAT64AsIPv4.
//
// RFC 8305 section 7 does not say how synthesized addresses rank; the
// default follows draft-ietf-happy-happyeyeballs-v3, which ranks them as
// native IPv4: the path beyond the translator is IPv4, so native IPv6
// goes first (as ranked IPv6 it would tie with native IPv6), a table
// preferring IPv4 (RFC 6724 section 10.3) holds for it too, and mail
// avoids leaving from the translator's IPv4 pool, whose reverse DNS and
// SPF standing are not the sender's. Choose NAT64AsIPv6 to predict a
// stack or to keep DNS64 answers level with native IPv6.
func WithNAT64Rank(r NAT64Rank) Option {
	return func(s *Selector) { s.nat64Rank = r }
}

// NAT64Prefixes returns a copy of the NAT64 prefixes the Selector knows
// ([WithNAT64]), nil when none.
func (s *Selector) NAT64Prefixes() []netip.Prefix {
	if s == nil {
		return nil
	}
	return slices.Clone(s.nat64)
}

// RFC6724 returns the default Selector: RFC 6724 followed literally. The
// policy table is [policytable.RFC6724] with its IPv4 scopes (RFC 1918 is
// global), rule 9 applies to both families ([Rule9RFC]), CommonPrefixLen
// stops at the source's prefix length (0 means 64 for IPv6 and 32 for
// IPv4) and source rule 7 prefers temporary addresses. Options adjust it.
func RFC6724(opts ...Option) *Selector {
	return build(&Selector{name: "rfc6724", table: policytable.RFC6724()}, opts)
}

// RFC3484 returns the Selector of the obsoleted RFC 3484: its policy table
// ([policytable.RFC3484]: IPv4 below 6to4, no ULA row), RFC 1918 space
// site-local (also under a table given by [WithTable]), CommonPrefixLen
// over all bits, rule 9 for both families, and source rule 7 preferring
// public addresses. Many deployed stacks still behave so.
func RFC3484(opts ...Option) *Selector {
	s := &Selector{
		name:         "rfc3484",
		table:        policytable.RFC3484(),
		fullPrefix:   true,
		preferPublic: true,
		privateV4:    policytable.ScopeSiteLocal,
	}
	return build(s, opts)
}

// build applies opts to s and compiles it.
func build(s *Selector, opts []Option) *Selector {
	for _, o := range opts {
		o(s)
	}
	return s.compile()
}

// compile derives what the engine reads: the RFC engine's profile from
// the options, and the tables.
func (s *Selector) compile() *Selector {
	s.effective = s.Table()
	if s.prof == nil {
		s.prof = rfcProfile(s)
		if s.privateV4 != 0 {
			s.effective = withPrivateScope(s.effective, s.privateV4)
		}
	}
	s.lookup = s.prof.lookupTable(s)
	s.natOn = len(s.nat64) > 0 && !s.prof.stack
	return s
}

// rfcProfile is the RFC engine as a profile under s's options, sorted
// consistently (see [Selector.SortDestinations]).
func rfcProfile(s *Selector) *profile {
	rules := make([]Rule, 0, len(dstOrder))
	for _, r := range dstOrder {
		switch {
		case r == DstNAT64 && len(s.nat64) == 0, r == DstHistory && s.history == nil, r == Dst9 && s.rule9 >= Rule9Off:
			continue // off under s's options
		}
		rules = append(rules, r)
	}
	return (&profile{
		name:       s.name,
		rules:      rules,
		usableOnly: rulesOf(Dst2, Dst3, Dst4, Dst5, Dst7, Dst9),
		table:      tableSelector,
		scopeV4:    scopeFromTable,
		mappedV4:   true,
		rule9:      rfcCount(s.rule9, s.fullPrefix),
		sort:       sortConsistent,
	}).compile()
}

// Name returns the profile's name ("rfc6724", "rfc3484", ...).
func (s *Selector) Name() string {
	if s == nil || s.name == "" {
		return "rfc6724"
	}
	return s.name
}

// Table returns the policy table the Selector was given (for stack
// profiles that read no gai.conf, the one [WithTable] set); never nil.
func (s *Selector) Table() *policytable.Table {
	if s == nil || s.table == nil {
		return policytable.RFC6724()
	}
	return s.table
}

// defaultSelector is what a nil or zero *Selector stands for, built on
// first use.
var (
	defaultOnce     sync.Once
	defaultSelector *Selector
)

// orZero returns s, or for a nil or zero Selector the shared RFC6724().
func (s *Selector) orZero() *Selector {
	if s == nil || s.prof == nil {
		defaultOnce.Do(func() { defaultSelector = RFC6724() })
		return defaultSelector
	}
	return s
}
