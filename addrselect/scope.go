package addrselect

import (
	"net/netip"
	"sync"

	"github.com/dualstack/dualstack/internal/addrbits"

	"github.com/dualstack/dualstack/policytable"
)

// scopeSource says where a profile takes the scopes of IPv4 addresses
// from (RFC 6724 section 3.2). IPv6 addresses always have their section
// 3.1 scope (policytable.ScopeIPv6).
type scopeSource uint8

const (
	// scopeFromTable: the table's IPv4 scope rules (gai.conf scopev4;
	// by default section 3.2: 127.0.0.0/8 and 169.254.0.0/16
	// link-local, every other IPv4 address global).
	scopeFromTable scopeSource = iota
	// scopeRFCDefault: section 3.2's rules whatever the table says (Go,
	// c-ares).
	scopeRFCDefault
	// scopeAllGlobal: every IPv4 address global, as musl computes
	// scopes on the IPv4-mapped form.
	scopeAllGlobal
)

// scope returns the scope of a (whose 128-bit form is x) for profile p
// under s; v4 says whether p sees a as IPv4. An invalid address is the source of no family that
// c-ares gives an unusable destination: interface-local there.
func (p *profile) scope(s *Selector, a netip.Addr, x addrbits.U128, v4 bool) policytable.Scope {
	if !v4 {
		if !a.IsValid() && p.missingSourceMatches {
			return policytable.ScopeInterfaceLocal
		}
		return policytable.Scope(x.IPv6Scope())
	}
	switch p.scopeV4 {
	case scopeRFCDefault:
		return policytable.RFC6724().Scope(a)
	case scopeAllGlobal:
		return policytable.ScopeGlobal
	}
	return s.effective.Scope(a)
}

// classify returns the policy attributes (from the table p reads) and the
// scope (as scope computes it) of a, whose 128-bit form is x. Where p
// reads both from one table and sees a's family as the table does, one
// [policytable.Table.Classify] answers both.
func (p *profile) classify(s *Selector, a netip.Addr, x addrbits.U128, v4 bool) (policytable.Attr, policytable.Scope) {
	if p.oneTable && v4 == x.IsMapped() {
		return s.lookup.Classify(a) // s.lookup is s.effective here
	}
	return s.lookup.Lookup(a), p.scope(s, a, x, v4)
}

// withPrivateScope returns t with the RFC 1918 ranges at scope sc (see
// [policytable.WithPrivateIPv4Scope]): the table the RFC engine reads
// under [WithPrivateIPv4Scope], built once per Selector.
func withPrivateScope(t *policytable.Table, sc policytable.Scope) *policytable.Table {
	rules, _ := t.ScopeV4()
	d, err := policytable.NewSplit(t.Precedences(), t.Labels(),
		policytable.WithScopeV4(rules...), policytable.WithPrivateIPv4Scope(sc))
	if err != nil {
		// The rows and rules come from a valid table: this cannot fail.
		panic("addrselect: deriving the private-IPv4 scope table: " + err.Error())
	}
	return d
}

// The fixed tables of the stacks that read no gai.conf.
var (
	// muslTable is musl's defpolicy (src/network/lookup_name.c): RFC
	// 6724 section 2.1's rows without ::/96, fec0::/10 and 3ffe::/16.
	muslTable = sync.OnceValue(func() *policytable.Table {
		return policytable.MustNew([]policytable.Entry{
			{Prefix: netip.MustParsePrefix("::1/128"), Precedence: 50, Label: 0},
			{Prefix: netip.MustParsePrefix("::ffff:0:0/96"), Precedence: 35, Label: 4},
			{Prefix: netip.MustParsePrefix("2002::/16"), Precedence: 30, Label: 2},
			{Prefix: netip.MustParsePrefix("2001::/32"), Precedence: 5, Label: 5},
			{Prefix: netip.MustParsePrefix("fc00::/7"), Precedence: 3, Label: 13},
			{Prefix: netip.MustParsePrefix("::/0"), Precedence: 40, Label: 1},
		})
	})
	// caresTable is c-ares's hard-coded RFC 6724 table, where :: is not
	// IPv4-compatible (IN6_IS_ADDR_V4COMPAT excludes it), so it falls to
	// the ::/0 row instead of ::/96.
	caresTable = sync.OnceValue(func() *policytable.Table {
		entries := policytable.RFC6724().Entries()
		entries = append(entries, policytable.Entry{Prefix: netip.MustParsePrefix("::/128"), Precedence: 40, Label: 1})
		return policytable.MustNew(entries)
	})
)
