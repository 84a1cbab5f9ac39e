package policytable

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
)

// glibc's implicit default rows: when a gai.conf gives label (precedence)
// lines but none for ::/0, glibc adds ::/0 with label 1 (precedence 40),
// the RFC 3484 and RFC 6724 section 2.1 values.
const (
	gaiImplicitLabel      = 1
	gaiImplicitPrecedence = 40
)

// ParseGaiConf reads a glibc gai.conf (see gai.conf(5)) and returns the
// policy table glibc's getaddrinfo would sort with. Every malformed line
// is an error, a [*ParseError] naming the line; use [ParseGaiConfLenient]
// to read a file the way glibc does and collect the problems instead.
//
// The directives and their semantics are glibc's:
//
//   - "label PREFIX VALUE" and "precedence PREFIX VALUE": PREFIX is IPv6
//     (IPv4 as IPv4-mapped, ::ffff:10.0.0.0/104); an address without
//     "/len" is a /128. Any label line replaces glibc's whole built-in
//     label table, and any precedence line its whole precedence table; a
//     kind without lines keeps the built-in rows of [Glibc]. When lines
//     are given but none for ::/0, glibc adds ::/0 with label 1 or
//     precedence 40, and so does ParseGaiConf.
//   - "scopev4 PREFIX SCOPE": an IPv4 scope rule (RFC 6724 section 3.2),
//     PREFIX either IPv4-mapped IPv6 of length 96 or more
//     (::ffff:169.254.0.0/112) or plain IPv4 (169.254.0.0/16). Any scopev4
//     line replaces the RFC 6724 defaults; addresses no rule covers are
//     global. See [WithScopeV4].
//   - "reload yes|no": accepted and ignored (it tells glibc to re-read
//     the file).
//   - "#" starts a comment anywhere on a line; blank lines are skipped.
//
// Stricter than glibc, which silently ignores what it cannot read:
// unknown directives, IPv4 prefixes in label and precedence lines, a
// missing value or extra fields, prefixes with host bits set, the same
// prefix twice in one kind ([ErrDuplicate]; glibc's choice between the two
// is unspecified), and values above 255 (scopes above 15) are errors
// (glibc takes any int, this package stores 8 bits).
// Input is bounded: lines over [MaxLineLength] bytes ([ErrLineTooLong])
// and more than [MaxRows] lines of one kind ([ErrTooManyRows]) are errors.
func ParseGaiConf(r io.Reader) (*Table, error) {
	t, _, err := parseGaiConf(r, false)
	return t, err
}

// ParseGaiConfLenient reads a gai.conf as glibc does, for linting real
// files: a line [ParseGaiConf] would reject is reported in warnings and
// then treated the way glibc treats it, where the table can represent
// that:
//
//   - ignored: unknown directives, unparsable prefixes or values, IPv4
//     prefixes in label and precedence lines, and too long lines;
//   - used: a prefix with host bits set (glibc ignores those bits), a
//     missing value (glibc reads it as 0), extra fields (glibc ignores
//     them), a reload value other than yes or no (glibc reads it as no);
//   - for a prefix given twice in one kind the first line wins (glibc's
//     choice is unspecified);
//   - values above 255 (scopes above 15) are ignored, although glibc
//     would use them: the table cannot hold them.
//
// err is non-nil only when reading fails or a kind has more than
// [MaxRows] lines; the table is then nil.
func ParseGaiConfLenient(r io.Reader) (t *Table, warnings []*ParseError, err error) {
	return parseGaiConf(r, true)
}

// gaiReader holds the state of one gai.conf read: the rows read so far
// and, when lenient, the warnings.
type gaiReader struct {
	lenient  bool
	prec     rowSet
	label    rowSet
	scopes   []ScopeRule
	seen4    map[netip.Prefix]bool
	warnings []*ParseError
	cur      line // the line being read
}

// rowSet collects the rows of one kind of gai.conf line.
type rowSet struct {
	name string
	rows []Row
	seen map[netip.Prefix]bool
}

func parseGaiConf(r io.Reader, lenient bool) (*Table, []*ParseError, error) {
	g := &gaiReader{
		lenient: lenient,
		prec:    rowSet{name: "precedence", seen: map[netip.Prefix]bool{}},
		label:   rowSet{name: "label", seen: map[netip.Prefix]bool{}},
		seen4:   map[netip.Prefix]bool{},
	}
	if err := eachLine(r, "gai.conf", MaxLineLength, g.line); err != nil {
		return nil, g.warnings, err
	}
	t, err := g.table()
	return t, g.warnings, err
}

// problem records a defect of the current line: in strict mode it is
// returned (and becomes the line's *ParseError), in lenient mode it is
// kept as a warning and nil is returned.
func (g *gaiReader) problem(err error) error {
	if !g.lenient {
		return err
	}
	g.warnings = append(g.warnings, &ParseError{Format: "gai.conf", Line: g.cur.n, Text: errText(g.cur.text), Err: err})
	return nil
}

// line reads one line of the file.
func (g *gaiReader) line(l line) error {
	g.cur = l
	if l.dropped > 0 {
		return g.problem(errLineTooLong(l))
	}
	text, _, _ := strings.Cut(l.text, "#")
	f := fields(text)
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
	return g.problem(fmt.Errorf("%w %q", errUnknownDirective, errText(f[0])))
}

// row reads a label or precedence line into set.
func (g *gaiReader) row(set *rowSet, f []string) error {
	row, use, err := g.gaiRow(f)
	if err != nil || !use {
		return err
	}
	if set.seen[row.Prefix] {
		return g.problem(fmt.Errorf("%w: %s %s given again", ErrDuplicate, set.name, row.Prefix))
	}
	if len(set.rows) == MaxRows {
		return fmt.Errorf("%w: more than %d %s lines", ErrTooManyRows, MaxRows, set.name)
	}
	set.seen[row.Prefix] = true
	set.rows = append(set.rows, row)
	return nil
}

// scope reads a scopev4 line.
func (g *gaiReader) scope(f []string) error {
	rule, use, err := g.gaiScopeRule(f)
	if err != nil || !use {
		return err
	}
	if g.seen4[rule.Prefix] {
		return g.problem(fmt.Errorf("%w: scopev4 %s given again", ErrDuplicate, rule.Prefix))
	}
	if len(g.scopes) == MaxRows {
		return fmt.Errorf("%w: more than %d scopev4 lines", ErrTooManyRows, MaxRows)
	}
	g.seen4[rule.Prefix] = true
	g.scopes = append(g.scopes, rule)
	return nil
}

// reload checks a reload line, which has no effect on the table.
func (g *gaiReader) reload(f []string) error {
	switch {
	case len(f) < 2:
		return g.problem(fmt.Errorf("%w: reload needs yes or no", errSyntax))
	case f[1] != "yes" && f[1] != "no":
		return g.problem(fmt.Errorf("%w: reload value %q is not yes or no", errSyntax, errText(f[1])))
	case len(f) > 2:
		return g.problem(fmt.Errorf("%w: unexpected text %q after the value", errSyntax, errText(strings.Join(f[2:], " "))))
	}
	return nil
}

// table builds the table glibc would use: a kind without lines keeps
// glibc's built-in rows, a kind with lines but none for ::/0 gets glibc's
// implicit default row.
func (g *gaiReader) table() (*Table, error) {
	prec := withGaiDefault(g.prec, glibcPrecedence, gaiImplicitPrecedence)
	label := withGaiDefault(g.label, glibcLabel, gaiImplicitLabel)
	var opts []Option
	if len(g.scopes) > 0 {
		opts = append(opts, WithScopeV4(g.scopes...))
	}
	return NewSplit(prec, label, opts...)
}

func withGaiDefault(set rowSet, builtin []Row, implicit uint8) []Row {
	switch {
	case len(set.rows) == 0:
		return slices.Clone(builtin)
	case !set.seen[defaultPrefix]:
		return append(set.rows, Row{defaultPrefix, implicit})
	}
	return set.rows
}

var defaultPrefix = netip.PrefixFrom(netip.IPv6Unspecified(), 0)

// gaiRow reads the fields of a label or precedence line. use reports
// whether the row goes into the table; err is a fatal (strict) error.
func (g *gaiReader) gaiRow(f []string) (row Row, use bool, err error) {
	problem, lenient := g.problem, g.lenient
	if len(f) < 2 {
		return row, false, problem(fmt.Errorf("%w: %s needs a prefix and a value", errSyntax, f[0]))
	}
	p, perr := parseIPv6Prefix(f[1], true)
	if perr != nil {
		return row, false, problem(perr)
	}
	if p.Masked() != p {
		if err := problem(fmt.Errorf("%w: %s (glibc reads %s)", errNotCanonical, p, p.Masked())); err != nil {
			return row, false, err
		}
		p = p.Masked()
	}
	row.Prefix = p
	if len(f) < 3 {
		// glibc parses the empty string as 0.
		return row, lenient, problem(fmt.Errorf("%w: %s %s has no value (glibc reads 0)", errSyntax, f[0], p))
	}
	v, verr := parseValue(f[2], 255)
	if verr != nil {
		return row, false, problem(verr)
	}
	row.Value = v
	if len(f) > 3 {
		if err := problem(fmt.Errorf("%w: unexpected text %q after the value", errSyntax, strings.Join(f[3:], " "))); err != nil {
			return row, false, err
		}
	}
	return row, true, nil
}

// gaiScopeRule reads the fields of a scopev4 line.
func (g *gaiReader) gaiScopeRule(f []string) (rule ScopeRule, use bool, err error) {
	problem, lenient := g.problem, g.lenient
	if len(f) < 2 {
		return rule, false, problem(fmt.Errorf("%w: scopev4 needs a prefix and a scope", errSyntax))
	}
	p, perr := parseScopePrefix(f[1])
	if perr != nil {
		return rule, false, problem(perr)
	}
	if p.Masked() != p {
		if err := problem(fmt.Errorf("%w: %s (glibc reads %s)", errNotCanonical, p, p.Masked())); err != nil {
			return rule, false, err
		}
		p = p.Masked()
	}
	rule.Prefix = p
	if len(f) < 3 {
		return rule, lenient, problem(fmt.Errorf("%w: scopev4 %s has no scope (glibc reads 0)", errSyntax, p))
	}
	v, verr := parseValue(f[2], 15)
	if verr != nil {
		return rule, false, problem(verr)
	}
	rule.Scope = Scope(v)
	if len(f) > 3 {
		if err := problem(fmt.Errorf("%w: unexpected text %q after the scope", errSyntax, strings.Join(f[3:], " "))); err != nil {
			return rule, false, err
		}
	}
	return rule, true, nil
}

// parseScopePrefix reads a scopev4 prefix: IPv4-mapped IPv6 of length 96
// or more (default /128), or IPv4 (default /32), returned as IPv4.
func parseScopePrefix(s string) (netip.Prefix, error) {
	addr, bitsText, hasBits := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%w: %q is not an address", errInvalidPrefix, s)
	}
	var p netip.Prefix
	if hasBits {
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, fmt.Errorf("%w: %q is not a prefix (length %q)", errInvalidPrefix, s, bitsText)
		}
	} else {
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4() {
		return p, nil
	}
	if !p.Addr().Is4In6() || p.Bits() < 96 {
		return p, fmt.Errorf("%w: %s is not IPv4 or IPv4-mapped /96 or longer", errNotIPv4, s)
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96), nil
}

// WriteGaiConf writes t as a gai.conf that glibc (and [ParseGaiConf])
// reads back as the same table. Every label and precedence row is
// written, longest prefix first, because any line of a kind replaces all
// of glibc's built-in rows of that kind. IPv4 scope rules are written as
// scopev4 lines only when they were configured explicitly ([WithScopeV4],
// [WithPrivateIPv4Scope] or scopev4 lines); the RFC 6724 section 3.2
// defaults are also glibc's. An explicit empty rule set, which glibc
// cannot express, is written as "scopev4 ::ffff:0.0.0.0/96 14" (all IPv4
// global), which reads back as one rule with the same effect.
func (t *Table) WriteGaiConf(w io.Writer) error {
	t = t.compiled()
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# gai.conf(5) written by github.com/dualstack/dualstack/policytable.")
	fmt.Fprintln(bw, "# Any label (precedence, scopev4) line replaces all of glibc's built-in")
	fmt.Fprintln(bw, "# rows of that kind, so every row is listed.")
	for _, kind := range []struct {
		name string
		rows []Row
	}{{"label", t.label}, {"precedence", t.prec}} {
		rows := slices.Clone(kind.rows)
		slices.SortFunc(rows, func(a, b Row) int { return comparePrefixLongestFirst(a.Prefix, b.Prefix) })
		for _, r := range rows {
			fmt.Fprintf(bw, "%-10s %-28s %3d\n", kind.name, r.Prefix, r.Value)
		}
	}
	if t.scope4Set {
		rules := slices.Clone(t.scope4)
		slices.SortFunc(rules, func(a, b ScopeRule) int { return comparePrefixLongestFirst(a.Prefix, b.Prefix) })
		if len(rules) == 0 {
			rules = append(rules, ScopeRule{netip.PrefixFrom(netip.IPv4Unspecified(), 0), ScopeGlobal})
		}
		for _, r := range rules {
			p := netip.PrefixFrom(netip.AddrFrom16(r.Prefix.Addr().As16()), r.Prefix.Bits()+96)
			fmt.Fprintf(bw, "%-10s %-28s %3d\n", "scopev4", p, uint8(r.Scope))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("policytable: writing gai.conf: %w", err)
	}
	return nil
}
