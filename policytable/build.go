package policytable

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/dualstack/dualstack/internal/addrbits"
)

// Option configures a table built by [New] or [NewSplit].
type Option func(*options)

type options struct {
	scope4     []ScopeRule
	scope4Set  bool
	private    Scope
	privateSet bool
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

// WithPrivateIPv4Scope gives the RFC 1918 ranges 10.0.0.0/8,
// 172.16.0.0/12 and 192.168.0.0/16 the scope s. It overrides the IPv4
// scope rules (the RFC 6724 section 3.2 defaults or those of
// [WithScopeV4], whatever the order of the options) at and inside those
// ranges; rules covering larger ranges still apply outside them.
//
// WithPrivateIPv4Scope(ScopeSiteLocal) is the behaviour of RFC 3484
// section 3.2 (and of glibc before 2.34), which RFC 6724 Appendix B
// (rule change 4) reverted because it made destination rule 2 prefer
// IPv6, even over a 6to4 tunnel, to a NATed IPv4 path.
//
// To give a table t this override, derive a table from it:
//
//	rules, _ := t.ScopeV4()
//	u, err := NewSplit(t.Precedences(), t.Labels(), WithScopeV4(rules...), WithPrivateIPv4Scope(s))
func WithPrivateIPv4Scope(s Scope) Option {
	return func(o *options) {
		o.private, o.privateSet = s, true
	}
}

// rfc1918 are the private IPv4 ranges of RFC 1918 section 3.
var rfc1918 = []netip.Prefix{mp("10.0.0.0/8"), mp("172.16.0.0/12"), mp("192.168.0.0/16")}

// withPrivateScope returns the rules (normalized, sorted) without those
// at or inside an RFC 1918 range, plus one rule of scope s per range.
func withPrivateScope(rules []ScopeRule, s Scope) []ScopeRule {
	out := slices.DeleteFunc(slices.Clone(rules), func(r ScopeRule) bool {
		return slices.ContainsFunc(rfc1918, func(p netip.Prefix) bool { return containsPrefix(p, r.Prefix) })
	})
	for _, p := range rfc1918 {
		out = append(out, ScopeRule{p, s})
	}
	slices.SortFunc(out, func(a, b ScopeRule) int { return comparePrefix(a.Prefix, b.Prefix) })
	return out
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
	prec, label := splitEntries(entries)
	return build(prec, label, "entry", opts)
}

// splitEntries returns the precedence and the label rows of entries.
func splitEntries(entries []Entry) (prec, label []Row) {
	prec, label = make([]Row, len(entries)), make([]Row, len(entries))
	for i, e := range entries {
		prec[i], label[i] = Row{e.Prefix, e.Precedence}, Row{e.Prefix, e.Label}
	}
	return prec, label
}

// NewSplit builds a table from independent precedence and label sets, as
// glibc's gai.conf describes them. Validation is as for [New], per set.
func NewSplit(precedences, labels []Row, opts ...Option) (*Table, error) {
	return build(slices.Clone(precedences), slices.Clone(labels), "", opts)
}

// MustNew is like [New] but panics on error. It is intended for tests and
// package-level variables with hard-coded rows.
func MustNew(entries []Entry, opts ...Option) *Table { return must(New(entries, opts...)) }

func must(t *Table, err error) *Table {
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
	pname, lname := "precedence", "label"
	if setName != "" {
		pname, lname = setName, setName
	}
	var err error
	if prec, err = normalizeSet(prec, pname); err != nil {
		return nil, err
	}
	if label, err = normalizeSet(label, lname); err != nil {
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
	if o.privateSet {
		t.scope4, t.scope4Set = withPrivateScope(t.scope4, o.private), true
	}
	t.compile()
	return t, nil
}

// canonical maps IPv4 prefixes to IPv4-mapped IPv6 and validates.
// (netip.PrefixFrom drops zones, so a prefix never has one.)
func canonical(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return p, errInvalidPrefix
	}
	if p.Addr().Is4() {
		p = mapped(p)
	}
	if p.Masked() != p {
		return p, errNotCanonical
	}
	return p, nil
}

// mapped returns the IPv4-mapped IPv6 form of the IPv4 prefix p.
func mapped(p netip.Prefix) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom16(p.Addr().As16()), p.Bits()+96)
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
	return cmp.Or(a.Addr().Compare(b.Addr()), a.Bits()-b.Bits())
}

// compile splits the 128-bit space at every prefix boundary of the
// precedence, label and scope rows and records what each interval
// answers, merging neighbours that answer alike; the answer of an interval
// is that of its first address, found by one sorted sweep per set
// (coveringValues). Lookup then searches the interval starts. There are at
// most twice as many intervals as rows, plus one.
func (t *Table) compile() {
	scopes := t.scopeRows()
	sets := [][]Row{t.prec, t.label, scopes}
	bounds := []addrbits.U128{{}}
	for _, set := range sets {
		for _, r := range set {
			k := addrbits.From(r.Prefix.Addr())
			bounds = append(bounds, k)
			if next, overflow := k.Last(r.Prefix.Bits()).AddOne(); !overflow {
				bounds = append(bounds, next)
			}
		}
	}
	slices.SortFunc(bounds, addrbits.U128.Compare)
	bounds = slices.Compact(bounds)
	qs := make([]netip.Prefix, len(bounds))
	for i, b := range bounds {
		qs[i] = netip.PrefixFrom(b.Addr(), 128)
	}
	var vals [3][]uint8
	for i, set := range sets {
		vals[i] = coveringValues(set, qs)
	}
	t.starts, t.cells = nil, nil
	for i, b := range bounds {
		c := makeCell(Attr{vals[0][i], vals[1][i]}, Scope(vals[2][i]))
		if n := len(t.cells); n > 0 && t.cells[n-1] == c {
			continue
		}
		t.starts = append(t.starts, b)
		t.cells = append(t.cells, c)
	}
	t.l2, t.l3 = nil, nil
	for b := range uint64(256) {
		t.l1[b] = t.indexEntry(addrbits.U128{Hi: b << 56}, 8)
		t.l1[256+b] = t.indexEntry(addrbits.FromIPv4(uint32(b)<<24), 96+8)
	}
}

// uniform marks an l1 or l2 entry that is a cell (bits 0-23), not a
// block offset; coarse an l2 entry whose range has no l3 block.
const (
	uniform = 1 << 31
	coarse  = 1 << 30
)

// maxFine bounds the l3 blocks, so that the index takes at most about
// 2 KiB, plus 1 KiB per /8 (or IPv4 first octet) holding an interval
// boundary, plus maxFine KiB, plus 8 bytes per further /16 holding one:
// under 2 MiB for any table. The RFC tables need two to four.
const maxFine = 64

// indexEntry returns the l1 (bits 8 or 104) or l2 (bits 16 or 112) entry
// described at [Table] for the range first/bits.
func (t *Table) indexEntry(first addrbits.U128, bits int) uint32 {
	lo, hi := t.containing(first), t.containing(first.Last(bits))
	switch {
	case lo == hi:
		return uint32(uniform | t.cells[lo])
	case bits == 8 || bits == 96+8: // an l2 block
		var block [256]uint32
		for c := range block {
			block[c] = t.indexEntry(withByte(first, bits, c), bits+8)
		}
		off := uint32(len(t.l2))
		t.l2 = append(t.l2, block[:]...)
		return off
	case len(t.l3) >= maxFine*257:
		off := uint32(len(t.l3))
		t.l3 = append(t.l3, lo, hi)
		return coarse | off
	}
	off := uint32(len(t.l3)) // an l3 block
	for c := range 256 {
		t.l3 = append(t.l3, t.containing(withByte(first, bits, c)))
	}
	t.l3 = append(t.l3, hi)
	return off
}

// withByte returns x with the 8 bits after its first bits set to c.
func withByte(x addrbits.U128, bits, c int) addrbits.U128 {
	if bits < 64 {
		x.Hi |= uint64(c) << (56 - bits)
	} else {
		x.Lo |= uint64(c) << (120 - bits)
	}
	return x
}

// containing returns the number of the interval that contains x.
func (t *Table) containing(x addrbits.U128) uint32 {
	i, _ := slices.BinarySearchFunc(t.starts, x, startAfter)
	return uint32(i - 1)
}
