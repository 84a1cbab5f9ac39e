package policytable

import "net/netip"

// slowLookupEntries is the readable reference for Lookup: scan every row
// and keep the longest prefix that contains a (RFC 6724 section 2.1),
// with IPv4 mapped to ::ffff:0:0/96 and the zone dropped.
func slowLookupEntries(entries []Entry, a netip.Addr) Attr {
	a = slowKey(a)
	best := -1
	var out Attr
	for _, e := range entries {
		if e.Prefix.Bits() > best && e.Prefix.Contains(a) {
			best = e.Prefix.Bits()
			out = Attr{e.Precedence, e.Label}
		}
	}
	return out
}

// slowKey is the address the reference scans match: IPv4 as
// ::ffff:a.b.c.d, the zero Addr as ::, no zone.
func slowKey(a netip.Addr) netip.Addr {
	if a.Is4() {
		a = netip.AddrFrom16(a.As16())
	}
	if !a.IsValid() {
		return netip.IPv6Unspecified()
	}
	return a.WithZone("")
}

// slowLookupRows is the same scan over one prefix set.
func slowLookupRows(rows []Row, a netip.Addr) uint8 {
	a = slowKey(a)
	best := -1
	var v uint8
	for _, r := range rows {
		if r.Prefix.Bits() > best && r.Prefix.Contains(a) {
			best, v = r.Prefix.Bits(), r.Value
		}
	}
	return v
}

// slowScope4 is the reference for the IPv4 branch of Table.Scope: the
// longest matching rule, global when none matches.
func slowScope4(rules []ScopeRule, a netip.Addr) Scope {
	a = a.Unmap()
	best, s := -1, ScopeGlobal
	for _, r := range rules {
		if r.Prefix.Bits() > best && r.Prefix.Contains(a) {
			best, s = r.Prefix.Bits(), r.Scope
		}
	}
	return s
}

// slowScope is the reference for Table.Scope and the scope of
// Table.Classify: the IPv4 rules for IPv4 and IPv4-mapped addresses, and
// RFC 6724 section 3.1 written with netip's predicates for IPv6.
func slowScope(tb *Table, a netip.Addr) Scope {
	a = slowKey(a)
	switch {
	case a.Is4In6():
		rules, _ := tb.ScopeV4()
		return slowScope4(rules, a)
	case a.IsMulticast():
		return Scope(a.As16()[1] & 0xf)
	case a.IsLoopback(), a.IsLinkLocalUnicast():
		return ScopeLinkLocal
	case netip.MustParsePrefix("fec0::/10").Contains(a):
		return ScopeSiteLocal
	}
	return ScopeGlobal
}
