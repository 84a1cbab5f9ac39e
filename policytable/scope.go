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

// String returns the scope's name, or its number for unnamed values.
func (s Scope) String() string {
	switch s {
	case ScopeInterfaceLocal:
		return "interface-local"
	case ScopeLinkLocal:
		return "link-local"
	case 0x3:
		return "realm-local"
	case ScopeAdminLocal:
		return "admin-local"
	case ScopeSiteLocal:
		return "site-local"
	case ScopeOrganizationLocal:
		return "organization-local"
	case ScopeGlobal:
		return "global"
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
		p := r.Prefix
		if !p.IsValid() {
			return nil, &TableError{Set: "scopev4", Prefix: p, Err: errInvalidPrefix}
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return nil, &TableError{Set: "scopev4", Prefix: p, Err: errNotIPv4}
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if !p.Addr().Is4() {
			return nil, &TableError{Set: "scopev4", Prefix: r.Prefix, Err: errNotIPv4}
		}
		if p.Masked() != p {
			return nil, &TableError{Set: "scopev4", Prefix: r.Prefix, Err: errNotCanonical}
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

// compileScope4 splits the IPv4 space into intervals of equal scope, with
// global scope where no rule matches. The scope of each interval is found
// by one sorted sweep (coveringValues), so the work is linear in the
// rules after sorting.
func (t *Table) compileScope4() {
	bounds := []uint32{0}
	// The rules as rows of IPv4-mapped prefixes under a global default.
	rows := make([]Row, 0, len(t.scope4)+1)
	rows = append(rows, Row{defaultPrefix, uint8(ScopeGlobal)})
	for _, r := range t.scope4 {
		start := addrbits.From(r.Prefix.Addr()).IPv4()
		bounds = append(bounds, start)
		if end := uint64(start) | (1<<(32-r.Prefix.Bits()) - 1); end < 1<<32-1 {
			bounds = append(bounds, uint32(end+1))
		}
		rows = append(rows, Row{netip.PrefixFrom(netip.AddrFrom16(r.Prefix.Addr().As16()), r.Prefix.Bits()+96), uint8(r.Scope)})
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	slices.SortFunc(rows, func(a, b Row) int { return comparePrefix(a.Prefix, b.Prefix) })
	qs := make([]netip.Prefix, len(bounds))
	for i, b := range bounds {
		qs[i] = netip.PrefixFrom(addrbits.FromIPv4(b).Addr(), 128)
	}
	t.s4starts, t.s4scopes = nil, nil
	for i, v := range coveringValues(rows, qs) {
		s := Scope(v)
		if n := len(t.s4scopes); n > 0 && t.s4scopes[n-1] == s {
			continue
		}
		t.s4starts = append(t.s4starts, bounds[i])
		t.s4scopes = append(t.s4scopes, s)
	}
	for o := range t.s4top {
		first, last := t.scope4Index(uint32(o)<<24), t.scope4Index(uint32(o)<<24|(1<<24-1))
		t.s4top[o] = s4split
		if first == last {
			t.s4top[o] = uint16(t.s4scopes[first])
		}
	}
}

// s4split marks a first octet whose /8 holds more than one scope.
const s4split = 0x100

// scope4Index returns the index of the interval of s4starts holding the
// IPv4 address v.
func (t *Table) scope4Index(v uint32) int {
	// The last interval start <= v; s4starts[0] is 0.
	i, found := slices.BinarySearch(t.s4starts, v)
	if !found {
		i--
	}
	return i
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
	return t.compiled().scope(addrbits.From(a))
}

// scope is Scope on the 128-bit form of the address.
func (t *Table) scope(x addrbits.U128) Scope {
	if !x.IsMapped() {
		return scope6(x)
	}
	v := x.IPv4()
	if sc := t.s4top[v>>24]; sc != s4split {
		return Scope(sc)
	}
	return t.s4scopes[t.scope4Index(v)]
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
