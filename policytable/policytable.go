// Package policytable implements the address-selection policy table of
// RFC 6724 section 2.1 (and of RFC 3484 and draft-ietf-6man-rfc6724-update),
// with a longest-prefix lookup whose cost depends on the number of address
// bits and not on the number of rows, the IPv4 scope rules of RFC 6724
// section 3.2, readers and writers for the formats administrators
// already use (glibc's gai.conf, FreeBSD's ip6addrctl and Windows' netsh
// prefix policies), and a linter for questionable tables.
//
// A policy table maps an address to a precedence (used to order
// destinations; larger first) and a label (used to pair a source with a
// destination; only equality matters). IPv4 addresses are looked up in
// their IPv4-mapped form ::ffff:a.b.c.d, as RFC 6724 section 3.2 requires.
//
// # Where to start
//
//   - Look an address up: take a preset ([RFC6724], the default; [RFC3484],
//     [Glibc], [Draft6724Update]) and call [Table.Lookup] for precedence
//     and label, [Table.Scope] for its scope. A nil *Table behaves as
//     [RFC6724]. These are the hot paths: they do not allocate.
//   - Build a table from rows: [New] from [Entry] rows (precedence and
//     label on the same prefixes, as the RFCs print them), [NewSplit]
//     from separate precedence and label [Row] sets (as gai.conf has
//     them), with options [WithScopeV4] and [WithPrivateIPv4Scope].
//     [Table.AddKnownLocal] adds the draft's known-local ULA rows
//     ([KnownLocalPrefix] finds the /48 of an address).
//   - Read a host's configuration: [ParseGaiConf] for /etc/gai.conf
//     (strict: every questionable line is an error), or
//     [ParseGaiConfLenient] to read it exactly as glibc does and get the
//     problems as warnings; [ParseIP6addrctl], [ParseIP6addrctlConf] and
//     [ParseNetsh] for FreeBSD and Windows.
//   - Write a table: [Table.WriteGaiConf], [Table.WriteIP6addrctl],
//     [Table.WriteIP6addrctlConf], [Table.WriteNetsh]; [Table.String]
//     for people.
//   - Review a table: [Lint].
//
// Unlike the tables inside most resolvers, a [Table] keeps precedence and
// label as two independent prefix sets, because glibc's gai.conf configures
// them separately. The RFC tables are the case where both sets use the same
// prefixes. Every Table is immutable once built and safe for concurrent
// use; the presets return shared tables.
//
// Each format is read and written so that a round trip gives an equal
// table. ip6addrctl and netsh hold one combined table and no IPv4 scope
// rules: tables read from them have the RFC 6724 section 3.2 IPv4 scopes,
// and writing a table to them drops its scope rules and writes a split
// table as its [Table.Entries], so round trips through them keep the rows
// of Entries only.
//
// # Bounds and errors
//
// Every reader bounds its input: at most [MaxRows] rows of each kind, and
// lines of at most [MaxLineLength] bytes (longer lines are errors;
// [ParseGaiConfLenient] reads them as glibc does, keeping the first 64 KiB
// of each, and returns at most 101 warnings). Error texts quote at most
// 80 bytes of a line or field. Work is linear in the input after
// sorting, [Lint] included. Precedence and label are stored in 8 bits.
//
// Errors are a [*ParseError] (a line of a file: format, line number,
// text) or a [*TableError] (a row given to [New] or [NewSplit]). Only the
// causes a caller may act on are exported, for [errors.Is]: the resource
// bounds [ErrTooManyRows] and [ErrLineTooLong], [ErrNoDefault] (add a
// ::/0 row), [ErrDuplicate] (merge the rows) and [ErrGlibcCrash] (a
// gai.conf line on which glibc's getaddrinfo crashes: refuse the file). Other causes (syntax,
// value range, invalid or non-canonical prefixes) are mistakes to fix,
// and the error text says which.
package policytable

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/dualstack/dualstack/internal/addrbits"
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

// CommonPrefixLen returns the number of leading bits a and b share, in the
// 128-bit form used for table lookups (IPv4 as IPv4-mapped IPv6).
// RFC 6724 section 2.2 bounds this by the source's prefix length; callers
// apply that bound.
func CommonPrefixLen(a, b netip.Addr) int {
	return addrbits.CommonBits(addrbits.From(a), addrbits.From(b))
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
	// with one precedence, label and scope. starts[0] is always ::.
	starts []addrbits.U128
	cells  []cell
	// A three-level index narrows the search to the interval starts
	// that share an address's top 24 bits (IPv4: first three octets),
	// usually none. l1[b] covers the /8 with top byte b, l1[256+o] the
	// IPv4 addresses with first octet o (in ::ffff:0:0/96). An l1 or l2
	// entry is uniform|c when one interval, answering c, covers its whole
	// range; otherwise it is the offset of a block one level down. An l2
	// block holds 256 entries, one per part of the range (its next byte
	// or octet). An l3 block holds 257 interval numbers: entry i the
	// interval holding the first address of part i, entry 256 the one
	// holding the range's last address; an address in part i lies in one
	// of the intervals l3[off+i] ... l3[off+i+1]. Past maxFine such
	// blocks, an l2 entry is coarse|off instead, with the two interval
	// numbers of its whole range at l3[off], l3[off+1].
	l1 [512]uint32
	l2 []uint32
	l3 []uint32
}

// A cell packs what an interval answers: precedence, label<<8 and
// scope<<16. The scope does not count in ff00::/8, where the address's
// own scope field does.
type cell uint32

func makeCell(a Attr, s Scope) cell { return cell(a.Precedence) | cell(a.Label)<<8 | cell(s)<<16 }

func (c cell) attr() Attr { return Attr{uint8(c), uint8(c >> 8)} }

func (c cell) scope() Scope { return Scope(c >> 16) }

// Lookup returns the precedence and label of the longest prefix of each
// set that contains a. IPv4 addresses are looked up as IPv4-mapped IPv6
// (RFC 6724 section 3.2), zones are ignored, and the zero Addr is looked
// up as ::. It does not allocate. Its cost does not depend on the number
// of rows in any practical sense: a direct index on the first 24 address
// bits (24 IPv4 bits for IPv4), then a search among the interval
// boundaries that share those bits (usually none).
func (t *Table) Lookup(a netip.Addr) Attr {
	at, _ := t.Classify(a)
	return at
}

// Classify returns [Table.Lookup] and [Table.Scope] of a together,
// reading the index once: what the rules of RFC 6724 look up for every
// destination and source. It does not allocate.
func (t *Table) Classify(a netip.Addr) (Attr, Scope) {
	t = t.compiled()
	k := addrbits.From(a)
	top, part, sub := k.Hi>>56, k.Hi>>48&0xff, k.Hi>>40&0xff
	if k.IsMapped() {
		top, part, sub = 256|k.Lo>>24&0xff, k.Lo>>16&0xff, k.Lo>>8&0xff
	}
	e := t.l1[top&511]
	if e&uniform == 0 {
		e = t.l2[e+uint32(part)]
	}
	c := cell(e)
	if j := e + uint32(sub); e&uniform == 0 && e&coarse == 0 && t.l3[j] == t.l3[j+1] {
		c = t.cells[t.l3[j]] // one interval covers the part: no search
	} else if e&uniform == 0 {
		c = t.search(k, e, uint32(sub))
	}
	s := c.scope()
	if top == 0xff {
		s = scope6(k)
	}
	return c.attr(), s
}

// search returns what the interval that contains k answers, for k in
// part sub of the range of l2 entry e.
func (t *Table) search(k addrbits.U128, e, sub uint32) cell {
	j := e + sub
	if e&coarse != 0 {
		j = e &^ coarse
	}
	lo, hi := t.l3[j], t.l3[j+1] // lo == hi (one interval) also works, but Classify answers it first
	// starts[lo] <= k < starts[hi+1] by construction: count the starts
	// after lo that are <= k. Most parts hold one to three of them, which
	// a scan reads faster than a generic search calling its comparator.
	s := t.starts[lo+1 : hi+1]
	i := 0
	if len(s) > smallBlock {
		i, _ = slices.BinarySearchFunc(s, k, startAfter)
	} else {
		for i < len(s) && !k.Less(s[i]) {
			i++
		}
	}
	return t.cells[int(lo)+i]
}

// smallBlock is the number of interval starts up to which search scans
// instead of binary-searching.
const smallBlock = 4

// startAfter orders an interval start s against an address k for
// [slices.BinarySearchFunc]: starts <= k sort before k.
func startAfter(s, k addrbits.U128) int {
	if k.Less(s) {
		return 1
	}
	return -1
}

// Precedence returns Lookup(a).Precedence.
func (t *Table) Precedence(a netip.Addr) uint8 { return t.Lookup(a).Precedence }

// Label returns Lookup(a).Label.
func (t *Table) Label(a netip.Addr) uint8 { return t.Lookup(a).Label }

func (t *Table) compiled() *Table {
	if t == nil || len(t.cells) == 0 {
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
	return !slices.EqualFunc(t.prec, t.label, func(a, b Row) bool { return a.Prefix == b.Prefix })
}

// Entries returns the table as rows for display, longest prefix first (and
// by address within a length). For a table whose two sets use the same
// prefixes these are exactly its rows. Otherwise there is one row for each
// prefix of either set, carrying the precedence and the label that
// addresses in that prefix get when no longer row covers them, so that a
// lookup against the returned rows gives the same answer as [Table.Lookup].
func (t *Table) Entries() []Entry {
	t = t.compiled()
	prefixes := make([]netip.Prefix, 0, len(t.prec)+len(t.label))
	for _, set := range [][]Row{t.prec, t.label} {
		for _, r := range set {
			prefixes = append(prefixes, r.Prefix)
		}
	}
	slices.SortFunc(prefixes, comparePrefix)
	prefixes = slices.Compact(prefixes)
	precs, labels := coveringValues(t.prec, prefixes), coveringValues(t.label, prefixes)
	out := make([]Entry, len(prefixes))
	for i, p := range prefixes {
		out[i] = Entry{Prefix: p, Precedence: precs[i], Label: labels[i]}
	}
	slices.SortFunc(out, func(a, b Entry) int { return comparePrefixLongestFirst(a.Prefix, b.Prefix) })
	return out
}

// comparePrefixLongestFirst orders prefixes by decreasing length, then by
// address.
func comparePrefixLongestFirst(a, b netip.Prefix) int {
	return cmp.Or(cmp.Compare(b.Bits(), a.Bits()), a.Addr().Compare(b.Addr()))
}

// coveringValue returns the value of the longest row of set whose prefix
// contains all of p. Sets always hold ::/0, so one exists.
func coveringValue(set []Row, p netip.Prefix) uint8 {
	return coveringValues(set, []netip.Prefix{p})[0]
}

// coveringValues returns, for each prefix of qs (sorted by comparePrefix),
// the value of the longest row of set (sorted the same way) whose prefix
// contains all of it. It walks both lists once: the rows at or before q
// in the order are the only ones that can contain q, and of those that
// do, the last is the longest. The cost is linear after sorting.
func coveringValues(set []Row, qs []netip.Prefix) []uint8 {
	out := make([]uint8, len(qs))
	var stack []Row
	i := 0
	for qi, q := range qs {
		for ; i < len(set) && comparePrefix(set[i].Prefix, q) <= 0; i++ {
			stack = append(stack, set[i])
		}
		for len(stack) > 0 && !containsPrefix(stack[len(stack)-1].Prefix, q) {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			out[qi] = stack[len(stack)-1].Value
		}
	}
	return out
}

// containsPrefix reports whether outer contains all of inner.
func containsPrefix(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
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
