package policytable

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// This file reads gai.conf the way glibc 2.36 does (gaiconf_init in
// sysdeps/posix/getaddrinfo.c, as its behaviour was recorded on real
// files): each line is cut at "#", split at spaces into a directive and
// two fields, and the rest of the line is ignored. Numbers are read with
// C's strtoul (base 10) and must end the field; values must fit an int.

const (
	// maxLenientLine bounds what the lenient reader keeps of a line.
	// glibc reads lines of any length; past this many bytes only
	// comments or ignored fields are expected, and a line whose fields
	// reach past it is skipped with a warning.
	maxLenientLine = 64 << 10
	// maxWarnings bounds the warnings the lenient reader keeps; the rest
	// are counted in one final warning.
	maxWarnings = 100
	// glibcIntMax is INT_MAX, the largest value glibc accepts.
	glibcIntMax = 1<<31 - 1
)

// errMoreWarnings is the cause of the lenient reader's final warning
// when it has dropped warnings beyond maxWarnings.
var errMoreWarnings = errors.New("more warnings")

// gaiReader holds the state of one gai.conf read: the rows read so far
// and, when lenient, the warnings.
type gaiReader struct {
	lenient bool
	prec    rowSet
	label   rowSet
	scopes  rowSet // IPv4 prefixes
	// scopeSlash records that a scopev4 line with a prefix length has
	// been read: glibc then reads a later scopev4 line without one as
	// /32 (its pointer to the end of the length is left over from that
	// line); before, it dereferences an uninitialised pointer.
	scopeSlash bool
	warnings   []*ParseError
	more       int // warnings dropped after maxWarnings
	moreLine   int // line of the first dropped warning
	cur        line
}

// rowSet collects the rows of one kind of line, with glibc's int values.
type rowSet struct {
	name     string
	rows     []gaiRow
	seen     map[netip.Prefix]bool
	lastText string // text of the line of the last row, for errors
}

type gaiRow struct {
	prefix netip.Prefix
	value  uint64
	line   int
}

func newRowSet(name string) rowSet { return rowSet{name: name, seen: map[netip.Prefix]bool{}} }

func parseGaiConf(r io.Reader, lenient bool) (*Table, []*ParseError, error) {
	g := &gaiReader{lenient: lenient, prec: newRowSet("precedence"), label: newRowSet("label"), scopes: newRowSet("scopev4")}
	limit := MaxLineLength
	if lenient {
		limit = maxLenientLine
	}
	err := eachLine(r, "gai.conf", limit, g.line)
	var t *Table
	if err == nil {
		t, err = g.table()
	}
	if g.more > 0 {
		g.warnings = append(g.warnings, &ParseError{Format: "gai.conf", Line: g.moreLine,
			Err: fmt.Errorf("%w: %d more from line %d on are not listed", errMoreWarnings, g.more, g.moreLine)})
	}
	if err != nil {
		return nil, g.warnings, err
	}
	return t, g.warnings, nil
}

// problem records a defect of the current line: in strict mode it is
// returned (and becomes the line's *ParseError), in lenient mode it is
// kept as a warning and nil is returned.
func (g *gaiReader) problem(err error) error {
	if !g.lenient {
		return err
	}
	g.warn(&ParseError{Format: "gai.conf", Line: g.cur.n, Text: errText(g.cur.text), Err: err})
	return nil
}

// warn keeps w unless maxWarnings are kept already, then counts it.
func (g *gaiReader) warn(w *ParseError) {
	if len(g.warnings) < maxWarnings {
		g.warnings = append(g.warnings, w)
		return
	}
	if g.more == 0 {
		g.moreLine = w.Line
	}
	g.more++
}

// line reads one line of the file.
func (g *gaiReader) line(l line) error {
	g.cur = l
	text, _, comment := strings.Cut(l.text, "#")
	f := fields(text)
	if size := len(l.text) + l.dropped; size > MaxLineLength {
		// The fields are all read unless the kept part of the line
		// ends inside the first three.
		whole := l.dropped == 0 || comment || len(f) > 3 || len(f) == 3 && isSpace(rune(text[len(text)-1]))
		if !whole {
			return g.problem(fmt.Errorf("%w: %d bytes, fields past the first %d (glibc reads the whole line)", ErrLineTooLong, size, maxLenientLine))
		}
		if err := g.problem(fmt.Errorf("%w: %d bytes, more than %d (glibc reads the whole line)", ErrLineTooLong, size, MaxLineLength)); err != nil {
			return err
		}
	}
	if len(f) == 0 {
		return nil
	}
	switch f[0] {
	case "label":
		return g.row(&g.label, f)
	case "precedence":
		return g.row(&g.prec, f)
	case "scopev4":
		return g.scope(f)
	case "reload":
		return g.reload(f)
	}
	return g.problem(fmt.Errorf("%w %q (glibc ignores the line)", errUnknownDirective, errText(f[0])))
}

// row reads a label or precedence line into set.
func (g *gaiReader) row(set *rowSet, f []string) error {
	if len(f) < 2 {
		return g.problem(fmt.Errorf("%w: %s needs a prefix and a value (glibc ignores the line)", errSyntax, f[0]))
	}
	addrText, lenText, slash := strings.Cut(f[1], "/")
	a, err := netip.ParseAddr(addrText)
	switch {
	case err != nil || a.Zone() != "":
		return g.problem(fmt.Errorf("%w: %q is not an IPv6 address (glibc ignores the line)", errInvalidPrefix, errText(addrText)))
	case a.Is4():
		return g.problem(fmt.Errorf("%w: %s (glibc ignores the line)", errIPv4Prefix, errText(f[1])))
	case !slash:
		return g.problem(fmt.Errorf("%w: %s has no prefix length (glibc 2.36 ignores the line)", errSyntax, a))
	}
	p, ok, err := g.prefix(a, lenText, 0, 128, errInvalidPrefix)
	if err != nil || !ok {
		return err
	}
	v, ok, err := g.value(f, "value", 255)
	if err != nil || !ok {
		return err
	}
	return g.add(set, p, v)
}

// scope reads a scopev4 line: an IPv4 prefix, or an IPv4-mapped one of
// length 96 or more, stored as IPv4.
func (g *gaiReader) scope(f []string) error {
	if len(f) < 2 {
		return g.problem(fmt.Errorf("%w: scopev4 needs a prefix and a scope (glibc ignores the line)", errSyntax))
	}
	addrText, lenText, slash := strings.Cut(f[1], "/")
	a, err := netip.ParseAddr(addrText)
	if err != nil || a.Zone() != "" {
		return g.problem(fmt.Errorf("%w: %q is not an address (glibc ignores the line)", errInvalidPrefix, errText(addrText)))
	}
	if a.Is6() && !a.Is4In6() {
		return g.problem(fmt.Errorf("%w: %s is not IPv4 or IPv4-mapped (glibc ignores the line)", errNotIPv4, a))
	}
	lo, hi, rangeErr := 0, 32, errInvalidPrefix
	if a.Is6() {
		lo, hi, rangeErr = 96, 128, errNotIPv4
	}
	p := netip.PrefixFrom(a, hi)
	switch {
	case slash:
		g.scopeSlash = true
		var ok bool
		if p, ok, err = g.prefix(a, lenText, lo, hi, rangeErr); err != nil || !ok {
			return err
		}
	case !g.scopeSlash:
		return g.problem(fmt.Errorf("%w: scopev4 %s has no prefix length and no earlier scopev4 line has one", ErrGlibcCrash, a))
	default:
		if err := g.problem(fmt.Errorf("%w: scopev4 %s has no prefix length (glibc reads /%d after an earlier scopev4 line with a length)", errSyntax, a, hi)); err != nil {
			return err
		}
	}
	v, ok, err := g.value(f, "scope", 15)
	if err != nil || !ok {
		return err
	}
	if a.Is4In6() {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return g.add(&g.scopes, p, v)
}

// reload checks a reload line, which has no effect on the table.
func (g *gaiReader) reload(f []string) error {
	switch {
	case len(f) < 2:
		return g.problem(fmt.Errorf("%w: reload needs yes or no (glibc reads no)", errSyntax))
	case f[1] != "yes" && f[1] != "no":
		return g.problem(fmt.Errorf("%w: reload value %q is not yes or no (glibc reads no)", errSyntax, errText(f[1])))
	case len(f) > 2:
		return g.problem(fmt.Errorf("%w: unexpected text %q after the value (glibc ignores it)", errSyntax, errText(strings.Join(f[2:], " "))))
	}
	return nil
}

// prefix reads the length after "/" as glibc does and returns a/length,
// masked. The length must lie in lo..hi (else the line is ignored, with
// a problem wrapping rangeErr); a length in another form than plain
// decimal, and host bits, are problems of a line glibc uses.
func (g *gaiReader) prefix(a netip.Addr, s string, lo, hi int, rangeErr error) (p netip.Prefix, use bool, err error) {
	n, ok := strtoul(s)
	if !ok || n < uint64(lo) || n > uint64(hi) {
		return p, false, g.problem(fmt.Errorf("%w: %s/%s: the length is not from %d to %d (glibc ignores the line)", rangeErr, a, errText(s), lo, hi))
	}
	p = netip.PrefixFrom(a, int(n))
	if !isDecimal(s) || len(s) > 1 && s[0] == '0' {
		if err := g.problem(fmt.Errorf("%w: prefix length %q (glibc reads it as /%d)", errSyntax, s, n)); err != nil {
			return p, false, err
		}
	}
	if p.Masked() != p {
		if err := g.problem(fmt.Errorf("%w: %s (glibc uses it as %s)", errNotCanonical, p, p.Masked())); err != nil {
			return p, false, err
		}
	}
	return p.Masked(), true, nil
}

// value reads the value field f[2] (a missing one is "", which glibc
// reads as 0) as glibc does; limit is the largest value a strict read
// accepts. It also reports extra fields, which glibc ignores.
func (g *gaiReader) value(f []string, name string, limit uint64) (v uint64, use bool, err error) {
	s := ""
	if len(f) > 2 {
		s = f[2]
	}
	v, ok := strtoul(s)
	switch {
	case !ok && isDecimal(strings.TrimLeft(s, "+-")):
		return 0, false, g.problem(fmt.Errorf("%w: %s %s overflows an unsigned long (glibc ignores the line)", errValueRange, name, errText(s)))
	case !ok:
		return 0, false, g.problem(fmt.Errorf("%w: %s %q is not a decimal number (glibc ignores the line)", errSyntax, name, errText(s)))
	case v > glibcIntMax:
		return 0, false, g.problem(fmt.Errorf("%w: %s %s is above %d (glibc reads %d and ignores the line)", errValueRange, name, errText(s), glibcIntMax, v))
	case s == "":
		err = g.problem(fmt.Errorf("%w: %s %s has no %s (glibc uses 0)", errSyntax, f[0], f[1], name))
	case !isDecimal(s):
		err = g.problem(fmt.Errorf("%w: %s %q (glibc reads it as %d)", errSyntax, name, errText(s), v))
	case v > limit:
		err = g.problem(fmt.Errorf("%w: %s %d is above %d (glibc uses it as the int %d)", errValueRange, name, v, limit, v))
	}
	if err == nil && len(f) > 3 {
		err = g.problem(fmt.Errorf("%w: unexpected text %q after the %s (glibc ignores it)", errSyntax, errText(strings.Join(f[3:], " ")), name))
	}
	return v, err == nil, err
}

// add adds a row to set; for a prefix given twice the first line wins.
func (g *gaiReader) add(set *rowSet, p netip.Prefix, v uint64) error {
	if set.seen[p] {
		return g.problem(fmt.Errorf("%w: %s %s given again (glibc uses one of the lines, unspecified which; the first is kept)", ErrDuplicate, set.name, p))
	}
	if len(set.rows) == MaxRows {
		return fmt.Errorf("%w: more than %d %s lines", ErrTooManyRows, MaxRows, set.name)
	}
	set.seen[p] = true
	set.rows = append(set.rows, gaiRow{p, v, g.cur.n})
	set.lastText = g.cur.text
	return nil
}

// strtoul reads s as glibc's checks around C's strtoul(s, &end, 10) do:
// an optional sign, decimal digits (leading zeros allowed), nothing
// after them. The empty string is 0 (strtoul leaves end at the '\0'); a
// sign without digits is not a number (end stays at the sign); a
// negative number wraps around as an unsigned long; overflow (ERANGE)
// is not a number.
func strtoul(s string) (uint64, bool) {
	if s == "" {
		return 0, true
	}
	digits := s
	if s[0] == '+' || s[0] == '-' {
		digits = s[1:]
	}
	v, err := strconv.ParseUint(digits, 10, 64) // digits only, not empty
	if err != nil {
		return 0, false
	}
	if s[0] == '-' {
		v = -v
	}
	return v, true
}

// isDecimal reports whether s is one or more decimal digits.
func isDecimal(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// table builds the table glibc would use: a kind without lines keeps
// glibc's built-in rows, a kind with lines but none for ::/0 gets glibc's
// implicit default row.
func (g *gaiReader) table() (*Table, error) {
	prec, err := g.kind(&g.prec, glibcPrecedence, gaiImplicitPrecedence)
	if err != nil {
		return nil, err
	}
	label, err := g.kind(&g.label, glibcLabel, gaiImplicitLabel)
	if err != nil {
		return nil, err
	}
	var opts []Option
	if len(g.scopes.rows) > 0 {
		// IPv4 scopes are compared with IPv6 ones (0 to 15) and the
		// global scope of addresses no rule covers: keep those fixed.
		var rules []ScopeRule
		for _, r := range g.narrow(&g.scopes, 16) {
			rules = append(rules, ScopeRule{r.Prefix, Scope(r.Value)})
		}
		opts = append(opts, WithScopeV4(rules...))
	}
	return NewSplit(prec, label, opts...)
}

// kind returns the rows of one kind of line, with glibc's implicit ::/0
// row or its built-in rows.
func (g *gaiReader) kind(set *rowSet, builtin []Row, implicit uint64) ([]Row, error) {
	if len(set.rows) == 0 {
		return slices.Clone(builtin), nil
	}
	if !set.seen[defaultPrefix] {
		if len(set.rows) == MaxRows {
			last := set.rows[len(set.rows)-1]
			return nil, &ParseError{Format: "gai.conf", Line: last.line, Text: errText(set.lastText),
				Err: fmt.Errorf("%w: %d %s lines and glibc's implicit ::/0 row make more than %d", ErrTooManyRows, MaxRows, set.name, MaxRows)}
		}
		set.rows = append(set.rows, gaiRow{defaultPrefix, implicit, 0})
	}
	return g.narrow(set, 0), nil
}

var defaultPrefix = netip.PrefixFrom(netip.IPv6Unspecified(), 0)

// narrow returns the rows of set with glibc's int values stored in 8
// bits. Values up to 255 are kept. Otherwise the values are renumbered
// in order, keeping 0..fixed-1 and as many others as fit: glibc only
// compares precedences and scopes by order and labels by equality, so
// the table sorts as glibc does. With more than 256 distinct values,
// which no table can order, values above 255 become 255, with a warning.
func (g *gaiReader) narrow(set *rowSet, fixed uint64) []Row {
	vals := make([]uint64, 0, len(set.rows)+int(fixed))
	for v := range fixed {
		vals = append(vals, v)
	}
	for _, r := range set.rows {
		vals = append(vals, r.value)
	}
	slices.Sort(vals)
	vals = slices.Compact(vals)
	to := map[uint64]uint8{}
	if len(vals) <= 256 && vals[len(vals)-1] > 255 {
		prev := -1
		for i, v := range vals {
			m := max(prev+1, int(min(v, uint64(255-(len(vals)-1-i)))))
			to[v], prev = uint8(m), m
		}
	}
	out := make([]Row, len(set.rows))
	for i, r := range set.rows {
		v, ok := to[r.value]
		if !ok {
			v = uint8(min(r.value, 255))
			if r.value > 255 {
				g.warn(&ParseError{Format: "gai.conf", Line: r.line, Err: fmt.Errorf("%w: %s %d stored as 255: the file has %d distinct values, a table holds 256",
					errValueRange, set.name, r.value, len(vals))})
			}
		}
		out[i] = Row{r.prefix, v}
	}
	return out
}
