package addrselect

import (
	"net/netip"
	"sync"
	"time"

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

	// Built by compile: effective is the table with the private-IPv4
	// override (the one the source rules and the RFC engine read);
	// lookup is the table the profile's destination rules read.
	effective, lookup *policytable.Table
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
	s.compiled = true
	return s
}

// rfcProfile is the RFC engine as a profile: rules 1 to 8, the history
// step when there is a History, rule 9 in the chosen variant, sorted
// consistently (see [Selector.SortDestinations]).
func rfcProfile(s *Selector) *profile {
	rules := []Rule{Dst1, Dst2, Dst3, Dst4, Dst5, Dst6, Dst7, Dst8}
	if s.history != nil {
		rules = append(rules, DstHistory)
	}
	if s.rule9 < Rule9Off {
		rules = append(rules, Dst9)
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
