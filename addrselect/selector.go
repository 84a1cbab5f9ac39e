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

	// prof is the destination sort: set by the stack constructors, built
	// from the options below for the RFC engine.
	prof *profile

	// The RFC engine's variants. Their zero values are RFC 6724's
	// choices, so that the zero Selector is RFC6724().

	// rule9 selects the destination rule 9 variant.
	rule9 Rule9Variant
	// fullPrefix compares all address bits in CommonPrefixLen (RFC 3484
	// section 2.2) instead of stopping at the source's prefix length (RFC
	// 6724 section 2.2). Source rule 8 reads it for every profile.
	fullPrefix bool
	// preferPublic reverses source rule 7: public addresses win over
	// temporary ones (RFC 3484, RFC 5014 IPV6_PREFER_SRC_PUBLIC).
	preferPublic bool
	// privateV4, when not 0, is the scope of the RFC 1918 ranges.
	privateV4 policytable.Scope
	// history, when set, adds the RFC 8305 section 4 step between rules 8
	// and 9.
	history History
	// nat64 are the known NAT64 prefixes (WithNAT64), nat64Rank how a
	// destination inside one ranks.
	nat64     []netip.Prefix
	nat64Rank NAT64Rank

	// Built by compile: effective is the table with the private-IPv4
	// override (the one the source rules and the RFC engine read);
	// lookup is the table the profile's destination rules read; natOn
	// says the NAT64 attributes apply (known prefixes, RFC engine).
	effective, lookup *policytable.Table
	natOn             bool
	compiled          bool
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
// [RFC3484]). With [policytable.ScopeSiteLocal] they are site-local, as in
// RFC 3484 section 3.2 (and older glibc), so that destination rule 2
// prefers native IPv6 (even 6to4) over a NATed IPv4 path; with
// [policytable.ScopeGlobal] they are global, as RFC 6724 section 3.2 says
// (Appendix B rule change 4), leaving the choice to the policy table.
// Without this option (or with scope 0) the table's own IPv4 scope rules
// apply (gai.conf scopev4, see [policytable.WithScopeV4]). It is the
// Selector-level twin of [policytable.WithPrivateIPv4Scope]: the Selector
// derives, once, a table with the override; [Selector.Table] still returns
// the table given. Stack profiles ignore it: their stacks have no such
// setting.
func WithPrivateIPv4Scope(sc policytable.Scope) Option {
	return func(s *Selector) { s.privateV4 = sc }
}

// History gives measured connection history per destination, for the
// RFC 8305 section 4 step between destination rules 8 and 9: a
// destination with history sorts before one without, and a lower round
// trip time first. Lookup must be fast, must not block and must be safe for
// concurrent use; it must return the same answer for an address during one
// sort, or the order is undefined (it stays a permutation). RFC 8305 says
// history must not be shared across interfaces and should be flushed when
// the network changes: that is the implementation's job.
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
// ([nat64.Extract]); [Selector.Explain] says so ("synthesized from
// 192.0.2.1 by NAT64 prefix 64:ff9b::/96") in its Reason and in
// [Facts].SynthesizedFrom. Such a destination
//
//   - ranks as [WithNAT64Rank] says (by default as that IPv4 address);
//   - goes after every other usable destination when that IPv4 address
//     is in the same list with a usable source (rule [DstNAT64]): the
//     host reaches it natively, and the translator would only add a
//     detour (a hairpin through the NAT64), as the Happy Eyeballs v3
//     draft asks.
//
// Prefixes that [nat64.CheckPrefix] refuses are left out, as are
// repeats; with none left (or none given) nothing changes, which is the
// default. The stack profiles ([GoNet], [Glibc], [Musl], [CAres]) ignore
// it: their stacks know nothing of NAT64. Sorting costs one prefix test
// per destination and known prefix.
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
	// stands for: its scope, label and precedence, the IPv4 family for
	// rule 9, and a source of matching scope and label (the
	// translator's IPv4 address stands in for Source(D) beyond the
	// translator; rule 9 counts 0 bits, as for any destination whose
	// source is of the other family). The default.
	NAT64AsIPv4 NAT64Rank = iota
	// NAT64AsIPv6 ranks it as the IPv6 address it is, by the table (with
	// RFC 6724's, 64:ff9b::/96 falls under ::/0: precedence 40, label 1,
	// as native IPv6), as the stacks do.
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
// RFC 8305 section 7 synthesizes addresses and sorts them with the
// others but does not say how they rank; whether a synthesized address
// counts as IPv4 is an open question of the Happy Eyeballs v3 draft
// (draft-ietf-happy-happyeyeballs-v3), whose current text leans to IPv4:
// it undoes DNS64 synthesis with the known prefix and ranks the result
// as native IPv4. The default follows it, for three reasons. The path
// beyond the translator is IPv4: ranked as IPv6, a translated path ties
// with native IPv6 under RFC 6724's table (precedence 40, label 1) and
// rule 9 or the DNS order would choose between them; ranked as IPv4
// (precedence 35), native IPv6 goes first, as RFC 6724 prefers native
// IPv6 over IPv4. A table that prefers IPv4 (RFC 6724 section 10.3)
// then holds for translated IPv4 too. And a translated connection
// leaves from the translator's IPv4 pool, whose reverse DNS and SPF
// standing are not the sender's: for mail, native IPv6 first avoids
// that. Choose NAT64AsIPv6 to predict what a stack does (every stack
// sees an IPv6 address) or to keep DNS64 answers level with native
// IPv6.
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

// build applies opts to s and compiles it: every profile constructor ends
// here.
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
	s.compiled = true
	return s
}

// rfcProfile is the RFC engine as a profile: rules 1 to 8, the history
// step when there is a History, rule 9 in the chosen variant, sorted
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
	p := &profile{
		name:       s.name,
		rules:      rules,
		usableOnly: rulesOf(Dst2, Dst3, Dst4, Dst5, Dst7, Dst9),
		table:      tableSelector,
		scopeV4:    scopeFromTable,
		mappedV4:   true,
		rule9:      rfcCount(s.rule9, s.fullPrefix),
		sort:       sortConsistent,
	}
	return p.compile()
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

// defaultSelector is what a nil or zero *Selector stands for.
var defaultSelector = sync.OnceValue(func() *Selector { return RFC6724() })

// orZero returns s, or for a nil or zero Selector the shared RFC6724(),
// so that the zero value is as fast as the constructor's.
func (s *Selector) orZero() *Selector {
	if s == nil || !s.compiled {
		return defaultSelector()
	}
	return s
}
