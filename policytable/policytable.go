// Package policytable implements the address-selection policy table of
// RFC 6724 section 2.1 (and of RFC 3484 and draft-ietf-6man-rfc6724-update),
// with a longest-prefix lookup whose cost depends on the number of address
// bits and not on the number of rows, the IPv4 scope rules of RFC 6724
// section 3.2, and readers and writers for the formats administrators
// already use: glibc's gai.conf, FreeBSD's ip6addrctl and Windows' netsh
// prefix policies.
//
// A policy table maps an address to a precedence (used to order
// destinations; larger first) and a label (used to pair a source with a
// destination; only equality matters). IPv4 addresses are looked up in
// their IPv4-mapped form ::ffff:a.b.c.d, as RFC 6724 section 3.2 requires.
//
// Unlike the tables inside most resolvers, a [Table] keeps precedence and
// label as two independent prefix sets, because glibc's gai.conf configures
// them separately. The RFC tables are the case where both sets use the same
// prefixes; [New] builds such a table from [Entry] rows, [NewSplit] builds
// the general case.
//
// Every Table is immutable once built and safe for concurrent use. The
// presets ([RFC6724], [RFC3484], [Glibc], [Draft6724Update]) return shared
// tables; a nil *Table behaves as [RFC6724].
package policytable

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
)

// MaxRows bounds the number of rows of each prefix set (precedence, label,
// IPv4 scope) that a table may hold. Larger inputs are rejected with
// [ErrTooManyRows] so that work driven by outside data stays bounded.
const MaxRows = 1 << 16

// Entry is one row of a policy table in the form the RFCs print it: a
// prefix with both its precedence and its label.
//
// IPv4 prefixes given to [New] are converted to their IPv4-mapped IPv6
// form (10.0.0.0/8 becomes ::ffff:10.0.0.0/104); [Table.Entries] always
// returns IPv6 prefixes.
type Entry struct {
	Prefix     netip.Prefix
	Precedence uint8
	Label      uint8
}

// String formats the row as "prefix precedence label", the column order of
// the tables in RFC 6724 section 2.1.
func (e Entry) String() string {
	return fmt.Sprintf("%s %d %d", e.Prefix, e.Precedence, e.Label)
}

// Row is one row of a single prefix set: a label row or a precedence row.
type Row struct {
	Prefix netip.Prefix
	Value  uint8
}

// Attr is the result of a lookup: the precedence and the label of the
// longest matching prefix of each set.
type Attr struct {
	Precedence uint8
	Label      uint8
}

// u128 is an IPv6 address as a pair of big-endian halves.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// addOne returns a+1 and whether it overflowed.
func (a u128) addOne() (u128, bool) {
	lo, c := bits.Add64(a.lo, 1, 0)
	hi, c2 := bits.Add64(a.hi, 0, c)
	return u128{hi, lo}, c2 != 0
}

// mask returns a with all but the first n bits cleared.
func (a u128) mask(n int) u128 {
	switch {
	case n <= 0:
		return u128{}
	case n < 64:
		return u128{a.hi &^ (^uint64(0) >> n), 0}
	case n < 128:
		return u128{a.hi, a.lo &^ (^uint64(0) >> (n - 64))}
	}
	return a
}

// last returns the last address of the prefix a/n.
func (a u128) last(n int) u128 {
	switch {
	case n <= 0:
		return u128{^uint64(0), ^uint64(0)}
	case n < 64:
		return u128{a.hi | ^uint64(0)>>n, ^uint64(0)}
	case n < 128:
		return u128{a.hi, a.lo | ^uint64(0)>>(n-64)}
	}
	return a
}

// key converts an address to the 128-bit form the table is searched in:
// IPv4 becomes IPv4-mapped IPv6, zones are ignored, and the zero Addr is
// treated as the unspecified address ::.
func key(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:]))}
	}
	if !a.IsValid() {
		return u128{}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// CommonPrefixLen returns the number of leading bits a and b share, in the
// 128-bit form used for table lookups (IPv4 as IPv4-mapped IPv6).
// RFC 6724 section 2.2 bounds this by the source's prefix length; callers
// apply that bound.
func CommonPrefixLen(a, b netip.Addr) int {
	x, y := key(a), key(b)
	if d := x.hi ^ y.hi; d != 0 {
		return bits.LeadingZeros64(d)
	}
	return 64 + bits.LeadingZeros64(x.lo^y.lo)
}

// Table is an immutable policy table. Build one with [New] or [NewSplit],
// take a preset, or parse one of the supported formats. The zero Table
// and a nil *Table behave as [RFC6724].
type Table struct {
	prec   []Row // canonical, sorted by prefix
	label  []Row // canonical, sorted by prefix
	scope4 []ScopeRule
	// scope4Set records that the IPv4 scope rules were configured
	// explicitly (gai.conf scopev4); otherwise scope4 holds the RFC 6724
	// section 3.2 defaults.
	scope4Set bool

	// The compiled form: the 128-bit space split into intervals, each
	// with one precedence and label. starts[0] is always ::.
	starts []u128
	attrs  []Attr

	// scope4 compiled the same way over the 32-bit IPv4 space.
	s4starts []uint32
	s4scopes []Scope
}

// Lookup returns the precedence and label of the longest prefix of each
// set that contains a. IPv4 addresses are looked up as IPv4-mapped IPv6
// (RFC 6724 section 3.2), zones are ignored, and the zero Addr is looked
// up as ::. It does not allocate, and its cost is a binary search over the
// table's distinct prefix boundaries, bounded by the 128 address bits.
func (t *Table) Lookup(a netip.Addr) Attr {
	t = t.compiled()
	k := key(a)
	starts := t.starts
	// Find the last interval whose start is <= k.
	i, n := 0, len(starts)
	for n > 1 {
		half := n >> 1
		if s := starts[i+half]; s.hi < k.hi || (s.hi == k.hi && s.lo <= k.lo) {
			i += half
		}
		n -= half
	}
	return t.attrs[i]
}

// Precedence returns Lookup(a).Precedence.
func (t *Table) Precedence(a netip.Addr) uint8 { return t.Lookup(a).Precedence }

// Label returns Lookup(a).Label.
func (t *Table) Label(a netip.Addr) uint8 { return t.Lookup(a).Label }

func (t *Table) compiled() *Table {
	if t == nil || len(t.starts) == 0 {
		return rfc6724()
	}
	return t
}

// Precedences returns a copy of the precedence rows, sorted by prefix.
func (t *Table) Precedences() []Row { return slices.Clone(t.compiled().prec) }

// Labels returns a copy of the label rows, sorted by prefix.
func (t *Table) Labels() []Row { return slices.Clone(t.compiled().label) }

// Split reports whether the precedence and label sets use different
// prefixes, so that the table cannot be printed as [Entry] rows without
// inventing rows (glibc's built-in table is such a table).
func (t *Table) Split() bool {
	t = t.compiled()
	if len(t.prec) != len(t.label) {
		return true
	}
	for i := range t.prec {
		if t.prec[i].Prefix != t.label[i].Prefix {
			return true
		}
	}
	return false
}

// Entries returns the table as rows for display, longest prefix first (and
// by address within a length). For a table whose two sets use the same
// prefixes these are exactly its rows. Otherwise there is one row for each
// prefix of either set, carrying the precedence and the label that
// addresses in that prefix get when no longer row covers them, so that a
// lookup against the returned rows gives the same answer as [Table.Lookup].
func (t *Table) Entries() []Entry {
	t = t.compiled()
	var out []Entry
	seen := make(map[netip.Prefix]bool, len(t.prec)+len(t.label))
	for _, set := range [][]Row{t.prec, t.label} {
		for _, r := range set {
			if seen[r.Prefix] {
				continue
			}
			seen[r.Prefix] = true
			out = append(out, Entry{
				Prefix:     r.Prefix,
				Precedence: coveringValue(t.prec, r.Prefix),
				Label:      coveringValue(t.label, r.Prefix),
			})
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return comparePrefixLongestFirst(a.Prefix, b.Prefix) })
	return out
}

// comparePrefixLongestFirst orders prefixes by decreasing length, then by
// address.
func comparePrefixLongestFirst(a, b netip.Prefix) int {
	if c := cmp.Compare(b.Bits(), a.Bits()); c != 0 {
		return c
	}
	return a.Addr().Compare(b.Addr())
}

// coveringValue returns the value of the longest row of set whose prefix
// contains all of p. Sets always hold ::/0, so one exists.
func coveringValue(set []Row, p netip.Prefix) uint8 {
	best, bestBits := uint8(0), -1
	for _, r := range set {
		if r.Prefix.Bits() > bestBits && r.Prefix.Bits() <= p.Bits() && r.Prefix.Contains(p.Addr()) {
			best, bestBits = r.Value, r.Prefix.Bits()
		}
	}
	return best
}

// Equal reports whether t and u hold the same rows and IPv4 scope rules.
// Row order never matters (RFC 6724 section 2.1: only the longest match
// counts).
func (t *Table) Equal(u *Table) bool {
	t, u = t.compiled(), u.compiled()
	return slices.Equal(t.prec, u.prec) && slices.Equal(t.label, u.label) &&
		slices.Equal(t.scope4, u.scope4)
}

// String formats the table as its [Table.Entries], one per line.
func (t *Table) String() string {
	var b []byte
	for _, e := range t.Entries() {
		b = fmt.Appendf(b, "%-22s %3d %3d\n", e.Prefix, e.Precedence, e.Label)
	}
	return string(b)
}
