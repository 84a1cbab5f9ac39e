package policytable

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"slices"
)

// glibc's implicit default rows: when a gai.conf gives label (precedence)
// lines but none for ::/0, glibc adds ::/0 with label 1 (precedence 40),
// the RFC 3484 and RFC 6724 section 2.1 values.
const (
	gaiImplicitLabel      = 1
	gaiImplicitPrecedence = 40
)

// ParseGaiConf reads a glibc gai.conf (see gai.conf(5)) and returns the
// policy table glibc's getaddrinfo would sort with. Every line glibc would
// ignore, misread or read in a way gai.conf(5) does not describe is an
// error, a [*ParseError] naming the line and saying what glibc does with
// it ("glibc ignores the line", "glibc uses it as ..."); use
// [ParseGaiConfLenient] to read a file the way glibc does and collect the
// problems instead.
//
// The directives and their semantics are glibc's:
//
//   - "label PREFIX/LEN VALUE" and "precedence PREFIX/LEN VALUE": PREFIX
//     is IPv6 (IPv4 as IPv4-mapped, ::ffff:10.0.0.0/104). Any label line
//     replaces glibc's whole built-in label table, and any precedence line
//     its whole precedence table; a kind without lines keeps the built-in
//     rows of [Glibc]. When lines are given but none for ::/0, glibc adds
//     ::/0 with label 1 or precedence 40, and so does ParseGaiConf; with
//     [MaxRows] lines that is one row too many, an [ErrTooManyRows]
//     *ParseError on the last line of that kind.
//   - "scopev4 PREFIX/LEN SCOPE": an IPv4 scope rule (RFC 6724 section
//     3.2), PREFIX either IPv4-mapped IPv6 of length 96 or more
//     (::ffff:169.254.0.0/112) or plain IPv4 (169.254.0.0/16). Any scopev4
//     line replaces the RFC 6724 defaults; addresses no rule covers are
//     global. See [WithScopeV4].
//   - "reload yes|no": accepted and ignored (it tells glibc to re-read
//     the file).
//   - "#" starts a comment anywhere on a line; blank lines are skipped.
//
// Errors, where glibc 2.36 silently does something else: every line
// [ParseGaiConfLenient] warns about (its documentation lists them, with
// what glibc does), among them duplicates ([ErrDuplicate]) and lines on
// which glibc crashes ([ErrGlibcCrash]), and values above 255 and scopes
// above 15 (glibc takes any int up to 2^31-1; a table stores 8 bits).
// Input is bounded: lines over [MaxLineLength] bytes ([ErrLineTooLong])
// and more than [MaxRows] lines of one kind ([ErrTooManyRows]) are errors.
func ParseGaiConf(r io.Reader) (*Table, error) {
	t, _, err := parseGaiConf(r, false)
	return t, err
}

// ParseGaiConfLenient reads a gai.conf as glibc 2.36 does, for linting
// real files: a line [ParseGaiConf] would reject is reported in warnings
// and then treated the way glibc treats it:
//
//   - ignored: unknown directives, unparsable prefixes or values, values
//     above 2^31-1, IPv4 prefixes in label and precedence lines, label
//     and precedence lines without "/LEN";
//   - used: a prefix with host bits set (glibc ignores those bits), a
//     missing value (glibc reads it as 0), extra fields (glibc ignores
//     them), numbers as C's strtoul reads them (an optional sign, leading
//     zeros; "ADDR/" is /0), a reload value other than yes or no (glibc
//     reads it as no), a scopev4 line without "/LEN" after a scopev4
//     line with one (glibc reads /32);
//   - skipped with a warning wrapping [ErrGlibcCrash]: a scopev4 line
//     without "/LEN" before any with one, on which glibc crashes;
//   - for a prefix given twice in one kind the first line wins (glibc's
//     choice is unspecified);
//   - values above 255 (and scopes above 255) are used, as glibc uses any
//     int: a table stores 8 bits, so the values of such a file are
//     renumbered keeping their order (and scopes 0 to 15 as they are),
//     which is all glibc compares: precedences and scopes by order,
//     labels by equality. A file with more than 256 distinct values of
//     one kind cannot be ordered in 8 bits; its values above 255 are read
//     as 255, with a warning.
//
// Lines may be of any length, as for glibc: the first 64 KiB of each are
// read (a warning says so for lines over [MaxLineLength]); a line whose
// fields reach past that is skipped with an [ErrLineTooLong] warning. At
// most 100 warnings are returned, and one more counting the rest; each
// quotes at most 80 bytes of its line. err is non-nil only when reading
// fails or a kind has more than [MaxRows] lines; the table is then nil.
func ParseGaiConfLenient(r io.Reader) (t *Table, warnings []*ParseError, err error) {
	return parseGaiConf(r, true)
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
			fmt.Fprintf(bw, "%-10s %-28s %3d\n", "scopev4", mapped(r.Prefix), uint8(r.Scope))
		}
	}
	return flush(bw, "gai.conf")
}
