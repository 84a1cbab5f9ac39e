package policytable

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Sentinel causes of a [*TableError]; test for them with [errors.Is].
var (
	// ErrInvalidPrefix: the prefix is the zero Prefix or otherwise invalid.
	ErrInvalidPrefix = errors.New("invalid prefix")
	// ErrNotCanonical: the prefix has bits set after its length
	// (2001:db8::1/32 instead of 2001:db8::/32).
	ErrNotCanonical = errors.New("prefix has host bits set")
	// ErrDuplicate: the same prefix appears twice in one set.
	ErrDuplicate = errors.New("duplicate prefix")
	// ErrNoDefault: a set has no ::/0 row. New does not invent one: a
	// table without a default would leave some addresses without a
	// precedence or label, and guessing one hides configuration mistakes.
	// (ParseGaiConf adds glibc's implicit defaults, as glibc does.)
	ErrNoDefault = errors.New("no ::/0 default row")
	// ErrTooManyRows: a set holds more than MaxRows rows.
	ErrTooManyRows = errors.New("too many rows")
	// ErrNotIPv4: an IPv4 scope rule whose prefix is not IPv4 (nor
	// IPv4-mapped IPv6 of length 96 or more).
	ErrNotIPv4 = errors.New("not an IPv4 prefix")
	// ErrKnownLocal: a known-local ULA prefix outside fd00::/8 or shorter
	// than /40 (draft-ietf-6man-rfc6724-update-21 section 3.3).
	ErrKnownLocal = errors.New("not a known-local ULA prefix")
)

// TableError reports a row that cannot be part of a table. Set says which
// set the row belongs to ("precedence", "label", "scopev4" or "entry").
type TableError struct {
	Set    string
	Prefix netip.Prefix
	Err    error
}

// Error formats the error as "policytable: SET row PREFIX: CAUSE".
func (e *TableError) Error() string {
	if !e.Prefix.IsValid() && e.Err == ErrTooManyRows {
		return fmt.Sprintf("policytable: %s set: %v (limit %d)", e.Set, e.Err, MaxRows)
	}
	return fmt.Sprintf("policytable: %s row %s: %v", e.Set, e.Prefix, e.Err)
}

// Unwrap returns the cause, one of the Err* sentinels.
func (e *TableError) Unwrap() error { return e.Err }

// Option configures a table built by [New] or [NewSplit].
type Option func(*options)

type options struct {
	scope4    []ScopeRule
	scope4Set bool
	err       error
}

// WithScopeV4 replaces the IPv4 scope rules of RFC 6724 section 3.2 with
// rules, as a gai.conf with scopev4 lines does in glibc: an IPv4 address
// gets the scope of the longest matching rule, and global scope when none
// matches (so 127.0.0.0/8 and 169.254.0.0/16 become global unless rules
// list them). Prefixes may be IPv4 or IPv4-mapped IPv6 (/96 or longer);
// they are stored as IPv4.
func WithScopeV4(rules ...ScopeRule) Option {
	return func(o *options) {
		o.scope4 = append(o.scope4[:0:0], rules...)
		o.scope4Set = true
	}
}

// WithPrivateIPv4SiteLocal gives the RFC 1918 ranges 10.0.0.0/8,
// 172.16.0.0/12 and 192.168.0.0/16 site-local scope, on top of the
// link-local 127.0.0.0/8 and 169.254.0.0/16: the behaviour of RFC 3484
// section 3.2 (and of glibc before 2.34), which RFC 6724 Appendix B
// (rule change 4) reverted because it made destination rule 2 prefer
// IPv6, even over a 6to4 tunnel, to a NATed IPv4 path.
func WithPrivateIPv4SiteLocal() Option {
	return WithScopeV4(rfc3484Scopes...)
}

// New builds a table whose precedence and label sets share the prefixes of
// entries. It validates every row and returns a [*TableError] naming the
// first offending prefix: invalid or non-canonical prefixes, duplicates,
// and a missing ::/0 row are errors. IPv4 prefixes are converted to their
// IPv4-mapped form before validation.
func New(entries []Entry, opts ...Option) (*Table, error) {
	if len(entries) > MaxRows {
		return nil, &TableError{Set: "entry", Err: ErrTooManyRows}
	}
	prec := make([]Row, len(entries))
	label := make([]Row, len(entries))
	for i, e := range entries {
		prec[i] = Row{e.Prefix, e.Precedence}
		label[i] = Row{e.Prefix, e.Label}
	}
	return build(prec, label, "entry", opts)
}

// NewSplit builds a table from independent precedence and label sets, as
// glibc's gai.conf describes them. Validation is as for [New], per set.
func NewSplit(precedences, labels []Row, opts ...Option) (*Table, error) {
	return build(slices.Clone(precedences), slices.Clone(labels), "", opts)
}

// MustNew is like [New] but panics on error. It is intended for tests and
// package-level variables with hard-coded rows.
func MustNew(entries []Entry, opts ...Option) *Table {
	t, err := New(entries, opts...)
	if err != nil {
		panic(err)
	}
	return t
}

func build(prec, label []Row, setName string, opts []Option) (*Table, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.err != nil {
		return nil, o.err
	}
	name := func(s string) string {
		if setName != "" {
			return setName
		}
		return s
	}
	var err error
	if prec, err = normalizeSet(prec, name("precedence")); err != nil {
		return nil, err
	}
	if label, err = normalizeSet(label, name("label")); err != nil {
		return nil, err
	}
	t := &Table{prec: prec, label: label}
	if o.scope4Set {
		if t.scope4, err = normalizeScope4(o.scope4); err != nil {
			return nil, err
		}
		t.scope4Set = true
	} else {
		t.scope4 = defaultScope4
	}
	t.compile()
	return t, nil
}

// canonical maps IPv4 prefixes to IPv4-mapped IPv6 and validates.
func canonical(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return p, ErrInvalidPrefix
	}
	if p.Addr().Is4() {
		p = netip.PrefixFrom(netip.AddrFrom16(p.Addr().As16()), p.Bits()+96)
	}
	if p.Addr().Zone() != "" {
		return p, ErrInvalidPrefix
	}
	if p.Masked() != p {
		return p, ErrNotCanonical
	}
	return p, nil
}

func normalizeSet(set []Row, name string) ([]Row, error) {
	if len(set) > MaxRows {
		return nil, &TableError{Set: name, Err: ErrTooManyRows}
	}
	for i := range set {
		p, err := canonical(set[i].Prefix)
		if err != nil {
			return nil, &TableError{Set: name, Prefix: set[i].Prefix, Err: err}
		}
		set[i].Prefix = p
	}
	slices.SortFunc(set, func(a, b Row) int { return comparePrefix(a.Prefix, b.Prefix) })
	hasDefault := false
	for i, r := range set {
		if i > 0 && set[i-1].Prefix == r.Prefix {
			return nil, &TableError{Set: name, Prefix: r.Prefix, Err: ErrDuplicate}
		}
		if r.Prefix.Bits() == 0 {
			hasDefault = true
		}
	}
	if !hasDefault {
		return nil, &TableError{Set: name, Prefix: netip.PrefixFrom(netip.IPv6Unspecified(), 0), Err: ErrNoDefault}
	}
	return set, nil
}

// comparePrefix orders prefixes by address, then by length.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// compile splits the 128-bit space at every prefix boundary of both sets
// and records the attributes of each interval. Lookup then binary-searches
// the interval starts. The number of intervals is at most twice the number
// of rows plus one.
func (t *Table) compile() {
	bounds := make([]u128, 0, 2*(len(t.prec)+len(t.label))+1)
	bounds = append(bounds, u128{})
	for _, set := range [][]Row{t.prec, t.label} {
		for _, r := range set {
			k := key(r.Prefix.Addr())
			bounds = append(bounds, k)
			if next, overflow := k.last(r.Prefix.Bits()).addOne(); !overflow {
				bounds = append(bounds, next)
			}
		}
	}
	slices.SortFunc(bounds, u128.cmp)
	bounds = slices.Compact(bounds)
	// The attributes of each interval are those of its first address:
	// one sorted sweep per set (coveringValues).
	qs := make([]netip.Prefix, len(bounds))
	for i, b := range bounds {
		var a [16]byte
		binary.BigEndian.PutUint64(a[:8], b.hi)
		binary.BigEndian.PutUint64(a[8:], b.lo)
		qs[i] = netip.PrefixFrom(netip.AddrFrom16(a), 128)
	}
	precs, labels := coveringValues(t.prec, qs), coveringValues(t.label, qs)
	t.starts = t.starts[:0]
	t.attrs = t.attrs[:0]
	for i, b := range bounds {
		a := Attr{Precedence: precs[i], Label: labels[i]}
		// Merge neighbouring intervals with equal attributes.
		if n := len(t.attrs); n > 0 && t.attrs[n-1] == a {
			continue
		}
		t.starts = append(t.starts, b)
		t.attrs = append(t.attrs, a)
	}
	t.starts = slices.Clip(t.starts)
	t.attrs = slices.Clip(t.attrs)
	t.compileIndex()
	t.compileScope4()
}

// uniform marks an l1 entry that is an interval number, not a block offset.
const uniform = 1 << 31

// compileIndex builds the two-level index on the top 16 bits described at
// [Table]. A block exists only for a /8 that holds an interval boundary,
// so the index takes 1 KiB plus about 1 KiB per such /8.
func (t *Table) compileIndex() {
	// The addresses asked about below only grow, so each cursor walks
	// the interval starts once: the whole index costs O(intervals + 64K).
	lastCur, cur := cursor{starts: t.starts}, cursor{starts: t.starts}
	t.l2 = nil
	for b := range 256 {
		first := cur.containing(u128{uint64(b) << 56, 0})
		last := lastCur.containing(u128{uint64(b)<<56 | (1<<56 - 1), ^uint64(0)})
		if first == last {
			t.l1[b] = uniform | first
			continue
		}
		t.l1[b] = uint32(len(t.l2))
		t.l2 = slices.Grow(t.l2, 257)
		for c := range 256 {
			t.l2 = append(t.l2, cur.containing(u128{uint64(b)<<56 | uint64(c)<<48, 0}))
		}
		t.l2 = append(t.l2, last)
	}
	t.l2 = slices.Clip(t.l2)

	c := cursor{starts: t.starts}
	first := c.containing(u128{0, 0xffff << 32})
	if last := c.containing(u128{0, 0xffff_ffff_ffff}); first == last {
		t.v4 = uniform | first
	} else {
		t.v4 = 0
	}
}

// cursor answers "which interval contains x" for increasing x.
type cursor struct {
	starts []u128
	i      int
}

func (c *cursor) containing(x u128) uint32 {
	for c.i+1 < len(c.starts) {
		if s := c.starts[c.i+1]; s.hi > x.hi || (s.hi == x.hi && s.lo > x.lo) {
			break
		}
		c.i++
	}
	return uint32(c.i)
}
