package policytable

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/dualstack/dualstack/internal/addrbits"
)

// Scope is an address scope with the numeric values of the IPv6 multicast
// scope field (RFC 4291 section 2.7). RFC 6724 section 3.1 maps unicast
// addresses onto the same values so that unicast and multicast scopes can
// be compared: link-local < site-local < organization-local < global.
type Scope uint8

// Scope values, RFC 4291 section 2.7 and RFC 7346.
const (
	ScopeInterfaceLocal    Scope = 0x1
	ScopeLinkLocal         Scope = 0x2
	ScopeAdminLocal        Scope = 0x4
	ScopeSiteLocal         Scope = 0x5
	ScopeOrganizationLocal Scope = 0x8
	ScopeGlobal            Scope = 0xe
)

// scopeNames names the scopes of RFC 4291 section 2.7 and RFC 7346.
var scopeNames = [16]string{ScopeInterfaceLocal: "interface-local", ScopeLinkLocal: "link-local", 0x3: "realm-local",
	ScopeAdminLocal: "admin-local", ScopeSiteLocal: "site-local", ScopeOrganizationLocal: "organization-local", ScopeGlobal: "global"}

// String returns the scope's name, or its number for unnamed values.
func (s Scope) String() string {
	if int(s) < len(scopeNames) && scopeNames[s] != "" {
		return scopeNames[s]
	}
	return fmt.Sprintf("scope(%#x)", uint8(s))
}

// ScopeRule gives IPv4 addresses in Prefix the scope Scope. It is the
// form of a gai.conf scopev4 line. Prefix is stored as IPv4.
type ScopeRule struct {
	Prefix netip.Prefix
	Scope  Scope
}

// RFC 6724 section 3.2: 127.0.0.0/8 and 169.254.0.0/16 are link-local,
// every other IPv4 address (RFC 1918 space included) is global.
var defaultScope4 = []ScopeRule{
	{netip.MustParsePrefix("127.0.0.0/8"), ScopeLinkLocal},
	{netip.MustParsePrefix("169.254.0.0/16"), ScopeLinkLocal},
}

// ScopeV4 returns a copy of the IPv4 scope rules, sorted by prefix, and
// whether they were configured explicitly (otherwise they are the RFC 6724
// section 3.2 defaults).
func (t *Table) ScopeV4() (rules []ScopeRule, explicit bool) {
	t = t.compiled()
	return slices.Clone(t.scope4), t.scope4Set
}

func normalizeScope4(rules []ScopeRule) ([]ScopeRule, error) {
	if len(rules) > MaxRows {
		return nil, &TableError{Set: "scopev4", Err: ErrTooManyRows}
	}
	out := make([]ScopeRule, len(rules))
	for i, r := range rules {
		p, err := r.Prefix, error(nil)
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		switch {
		case !p.IsValid():
			err = errInvalidPrefix
		case !p.Addr().Is4():
			err = errNotIPv4
		case p.Masked() != p:
			err = errNotCanonical
		}
		if err != nil {
			return nil, &TableError{Set: "scopev4", Prefix: r.Prefix, Err: err}
		}
		out[i] = ScopeRule{p, r.Scope}
	}
	slices.SortFunc(out, func(a, b ScopeRule) int { return comparePrefix(a.Prefix, b.Prefix) })
	for i := 1; i < len(out); i++ {
		if out[i].Prefix == out[i-1].Prefix {
			return nil, &TableError{Set: "scopev4", Prefix: out[i].Prefix, Err: ErrDuplicate}
		}
	}
	return out, nil
}

// scope6Prefixes are the IPv6 unicast prefixes whose scope is not
// global: the places where [addrbits.U128.IPv6Scope] changes outside
// multicast (RFC 6724 section 3.1). A test checks that they are all.
var scope6Prefixes = []netip.Prefix{mp("::1/128"), mp("fe80::/10"), mp("fec0::/10")}

// scopeRows returns the scopes of RFC 6724 sections 3.1 and 3.2 as a row
// set for compile, sorted: ::/0 and scope6Prefixes with the scope
// [addrbits.U128.IPv6Scope] gives them, and the IPv4 rules as
// IPv4-mapped prefixes. Multicast is left to [Table.Classify], which reads
// the scope field of the address.
func (t *Table) scopeRows() []Row {
	rows := make([]Row, 0, 1+len(scope6Prefixes)+len(t.scope4))
	for _, p := range append([]netip.Prefix{defaultPrefix}, scope6Prefixes...) {
		rows = append(rows, Row{p, uint8(scope6(addrbits.From(p.Addr())))})
	}
	for _, r := range t.scope4 {
		rows = append(rows, Row{mapped(r.Prefix), uint8(r.Scope)})
	}
	slices.SortFunc(rows, func(a, b Row) int { return comparePrefix(a.Prefix, b.Prefix) })
	return rows
}

// Scope returns the scope of a, following RFC 6724 section 3.1 and 3.2:
//
//   - IPv6 multicast: the scope field of the address.
//   - ::1 and fe80::/10: link-local (section 3.4 treats loopback as
//     link-local).
//   - fec0::/10: site-local (deprecated by RFC 3879, still classified).
//   - Any other IPv6 address, ULAs included: global.
//   - IPv4 and IPv4-mapped IPv6: the table's IPv4 scope rules; by default
//     127.0.0.0/8 and 169.254.0.0/16 are link-local and everything else is
//     global. RFC 3484 tables make RFC 1918 space site-local
//     ([WithPrivateIPv4Scope]).
//
// The zero Addr has global scope. Scope does not allocate.
func (t *Table) Scope(a netip.Addr) Scope {
	k := addrbits.From(a)
	if !k.IsMapped() {
		return scope6(k)
	}
	_, s := t.Classify(a)
	return s
}

// ScopeIPv6 returns the scope of an IPv6 address by RFC 6724 section 3.1,
// without any table: multicast scope field, link-local for ::1 and
// fe80::/10, site-local for fec0::/10, global otherwise. IPv4 and
// IPv4-mapped addresses are global here; use [Table.Scope] for them.
func ScopeIPv6(a netip.Addr) Scope {
	if !a.Is6() || a.Is4In6() {
		return ScopeGlobal
	}
	return scope6(addrbits.From(a))
}

// scope6 is ScopeIPv6 on the 128-bit form of an IPv6 address: the one
// classifier, in internal/addrbits, shared with addrselect.
func scope6(x addrbits.U128) Scope { return Scope(x.IPv6Scope()) }
