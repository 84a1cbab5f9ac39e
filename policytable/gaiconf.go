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
// unknown directives ([ErrUnknownDirective]), IPv4 prefixes in label and
// precedence lines ([ErrIPv4Prefix]), a missing value or extra fields
// ([ErrSyntax]), prefixes with host bits set ([ErrNotCanonical]), the same
// prefix twice in one kind ([ErrDuplicate]; glibc's choice between the two
// is unspecified), and values above 255 (scopes above 15) are errors
// ([ErrValueRange]; glibc takes any int, this package stores 8 bits).
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

func parseGaiConf(r io.Reader, lenient bool) (*Table, []*ParseError, error) {
	var (
		prec, label []Row
		scopes      []ScopeRule
		warnings    []*ParseError
	)
	seenPrec := map[netip.Prefix]bool{}
	seenLabel := map[netip.Prefix]bool{}
	seenScope := map[netip.Prefix]bool{}
	lr := newLineReader(r)
	for {
		raw, tooLong, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, warnings, fmt.Errorf("policytable: reading gai.conf: %w", err)
		}
		// problem records a defect of this line; in strict mode it is
		// fatal, in lenient mode a warning.
		problem := func(err error) error {
			pe := &ParseError{Format: "gai.conf", Line: lr.line, Text: raw, Err: err}
			if !lenient {
				return pe
			}
			warnings = append(warnings, pe)
			return nil
		}
		if tooLong {
			if err := problem(ErrLineTooLong); err != nil {
				return nil, nil, err
			}
			continue
		}
		line, _, _ := strings.Cut(raw, "#")
		f := fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "label", "precedence":
			set, seen, name := &label, seenLabel, "label"
			if f[0] == "precedence" {
				set, seen, name = &prec, seenPrec, "precedence"
			}
			row, use, err := gaiRow(f, problem, lenient)
			if err != nil {
				return nil, nil, err
			}
			if !use {
				continue
			}
			if seen[row.Prefix] {
				if err := problem(fmt.Errorf("%w: %s %s given again", ErrDuplicate, name, row.Prefix)); err != nil {
					return nil, nil, err
				}
				continue
			}
			if len(*set) == MaxRows {
				return nil, warnings, &ParseError{Format: "gai.conf", Line: lr.line, Text: raw,
					Err: fmt.Errorf("%w: more than %d %s lines", ErrTooManyRows, MaxRows, name)}
			}
			seen[row.Prefix] = true
			*set = append(*set, row)
		case "scopev4":
			rule, use, err := gaiScopeRule(f, problem, lenient)
			if err != nil {
				return nil, nil, err
			}
			if !use {
				continue
			}
			if seenScope[rule.Prefix] {
				if err := problem(fmt.Errorf("%w: scopev4 %s given again", ErrDuplicate, rule.Prefix)); err != nil {
					return nil, nil, err
				}
				continue
			}
			if len(scopes) == MaxRows {
				return nil, warnings, &ParseError{Format: "gai.conf", Line: lr.line, Text: raw,
					Err: fmt.Errorf("%w: more than %d scopev4 lines", ErrTooManyRows, MaxRows)}
			}
			seenScope[rule.Prefix] = true
			scopes = append(scopes, rule)
		case "reload":
			switch {
			case len(f) < 2:
				err = problem(fmt.Errorf("%w: reload needs yes or no", ErrSyntax))
			case f[1] != "yes" && f[1] != "no":
				err = problem(fmt.Errorf("%w: reload value %q is not yes or no", ErrSyntax, f[1]))
			case len(f) > 2:
				err = problem(fmt.Errorf("%w: unexpected text %q after the value", ErrSyntax, strings.Join(f[2:], " ")))
			}
			if err != nil {
				return nil, nil, err
			}
		default:
			if err := problem(fmt.Errorf("%w %q", ErrUnknownDirective, f[0])); err != nil {
				return nil, nil, err
			}
		}
	}

	if len(prec) == 0 {
		prec = slices.Clone(glibcPrecedence)
	} else if !seenPrec[defaultPrefix] {
		prec = append(prec, Row{defaultPrefix, gaiImplicitPrecedence})
	}
	if len(label) == 0 {
		label = slices.Clone(glibcLabel)
	} else if !seenLabel[defaultPrefix] {
		label = append(label, Row{defaultPrefix, gaiImplicitLabel})
	}
	var opts []Option
	if len(scopes) > 0 {
		opts = append(opts, WithScopeV4(scopes...))
	}
	t, err := NewSplit(prec, label, opts...)
	if err != nil {
		return nil, warnings, err
	}
	return t, warnings, nil
}

var defaultPrefix = netip.PrefixFrom(netip.IPv6Unspecified(), 0)

// gaiRow reads the fields of a label or precedence line. use reports
// whether the row goes into the table; err is a fatal (strict) error.
func gaiRow(f []string, problem func(error) error, lenient bool) (row Row, use bool, err error) {
	if len(f) < 2 {
		return row, false, problem(fmt.Errorf("%w: %s needs a prefix and a value", ErrSyntax, f[0]))
	}
	p, perr := parseIPv6Prefix(f[1], true)
	if perr != nil {
		return row, false, problem(perr)
	}
	if p.Masked() != p {
		if err := problem(fmt.Errorf("%w: %s (glibc reads %s)", ErrNotCanonical, p, p.Masked())); err != nil {
			return row, false, err
		}
		p = p.Masked()
	}
	row.Prefix = p
	if len(f) < 3 {
		// glibc parses the empty string as 0.
		return row, lenient, problem(fmt.Errorf("%w: %s %s has no value (glibc reads 0)", ErrSyntax, f[0], p))
	}
	v, verr := parseValue(f[2], 255)
	if verr != nil {
		return row, false, problem(verr)
	}
	row.Value = v
	if len(f) > 3 {
		if err := problem(fmt.Errorf("%w: unexpected text %q after the value", ErrSyntax, strings.Join(f[3:], " "))); err != nil {
			return row, false, err
		}
	}
	return row, true, nil
}

// gaiScopeRule reads the fields of a scopev4 line.
func gaiScopeRule(f []string, problem func(error) error, lenient bool) (rule ScopeRule, use bool, err error) {
	if len(f) < 2 {
		return rule, false, problem(fmt.Errorf("%w: scopev4 needs a prefix and a scope", ErrSyntax))
	}
	p, perr := parseScopePrefix(f[1])
	if perr != nil {
		return rule, false, problem(perr)
	}
	if p.Masked() != p {
		if err := problem(fmt.Errorf("%w: %s (glibc reads %s)", ErrNotCanonical, p, p.Masked())); err != nil {
			return rule, false, err
		}
		p = p.Masked()
	}
	rule.Prefix = p
	if len(f) < 3 {
		return rule, lenient, problem(fmt.Errorf("%w: scopev4 %s has no scope (glibc reads 0)", ErrSyntax, p))
	}
	v, verr := parseValue(f[2], 15)
	if verr != nil {
		return rule, false, problem(verr)
	}
	rule.Scope = Scope(v)
	if len(f) > 3 {
		if err := problem(fmt.Errorf("%w: unexpected text %q after the scope", ErrSyntax, strings.Join(f[3:], " "))); err != nil {
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
		return netip.Prefix{}, fmt.Errorf("%w: %q is not an address", ErrInvalidPrefix, s)
	}
	var p netip.Prefix
	if hasBits {
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, fmt.Errorf("%w: %q is not a prefix (length %q)", ErrInvalidPrefix, s, bitsText)
		}
	} else {
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4() {
		return p, nil
	}
	if !p.Addr().Is4In6() || p.Bits() < 96 {
		return p, fmt.Errorf("%w: %s is not IPv4 or IPv4-mapped /96 or longer", ErrNotIPv4, s)
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96), nil
}

// WriteGaiConf writes t as a gai.conf that glibc (and [ParseGaiConf])
// reads back as the same table. Every label and precedence row is
// written, longest prefix first, because any line of a kind replaces all
// of glibc's built-in rows of that kind. IPv4 scope rules are written as
// scopev4 lines only when they were configured explicitly ([WithScopeV4],
// [WithPrivateIPv4SiteLocal] or scopev4 lines); the RFC 6724 section 3.2
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
