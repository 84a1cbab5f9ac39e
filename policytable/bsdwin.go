package policytable

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// This file reads and writes the policy table formats of FreeBSD's
// ip6addrctl(8) and of Windows' netsh. Both know one combined table of
// rows (prefix, precedence, label) and no IPv4 scope rules: tables read
// from them have the RFC 6724 section 3.2 IPv4 scopes, and writing a
// table loses its IPv4 scope rules. A split table (see [Table.Split]) is
// written as its [Table.Entries], which give every address the same
// precedence and label, so a round trip keeps the rows of Entries but not
// the two separate sets.

// ip6addrctlNoPolicy is what ip6addrctl prints when the kernel holds no
// policy.
const ip6addrctlNoPolicy = "no source-address-selection policy is installed"

// ParseIP6addrctl reads the output of FreeBSD's "ip6addrctl" or
// "ip6addrctl show": a header line "Prefix Prec Label Use" and one line
// per row, "PREFIX/LEN PRECEDENCE LABEL USE", the columns separated by
// spaces (USE, a counter, is checked and dropped). Blank lines are
// skipped. The table must have a ::/0 row ([ErrNoDefault]); output saying
// that no policy is installed is a [*ParseError] wrapping [ErrNoDefault].
// Errors for single lines are [*ParseError] values; as with
// [ParseGaiConf], values above 255 are [ErrValueRange] errors.
func ParseIP6addrctl(r io.Reader) (*Table, error) {
	const format = "ip6addrctl"
	var entries entrySet
	header := false
	err := eachLine(r, format, func(line int, text string) error {
		f := fields(text)
		switch {
		case len(f) == 0:
			return nil
		case !header && strings.Join(f, " ") == ip6addrctlNoPolicy:
			return fmt.Errorf("%w: no policy is installed", ErrNoDefault)
		case !header:
			if !slices.Equal(f, []string{"Prefix", "Prec", "Label", "Use"}) {
				return fmt.Errorf("%w: want the header \"Prefix Prec Label Use\"", ErrSyntax)
			}
			header = true
			return nil
		case len(f) != 4:
			return fmt.Errorf("%w: want 4 fields (prefix, precedence, label, use), have %d", ErrSyntax, len(f))
		}
		if _, err := strconv.ParseUint(f[3], 10, 64); err != nil {
			return fmt.Errorf("%w: use count %q is not a decimal number", ErrSyntax, f[3])
		}
		e, err := parseEntry(f[0], f[1], f[2])
		if err != nil {
			return err
		}
		return entries.add(e)
	})
	if err != nil {
		return nil, err
	}
	if !header {
		return nil, &ParseError{Format: format, Err: fmt.Errorf("%w: no header line", ErrSyntax)}
	}
	return New(entries.entries)
}

// WriteIP6addrctl writes t's [Table.Entries] the way "ip6addrctl show"
// prints them, with a Use count of 0, longest prefix first. IPv4 scope
// rules are not written: the format has none.
func (t *Table) WriteIP6addrctl(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%-30s %5s %5s %8s\n", "Prefix", "Prec", "Label", "Use")
	for _, e := range t.Entries() {
		fmt.Fprintf(bw, "%-30s %5d %5d %8d\n", e.Prefix, e.Precedence, e.Label, 0)
	}
	return flush(bw, "ip6addrctl")
}

// ParseIP6addrctlConf reads the file "ip6addrctl install FILE" takes (and
// FreeBSD's /etc/ip6addrctl.conf): one row per line,
// "PREFIX/LEN PRECEDENCE LABEL", fields separated by spaces or tabs. "#"
// starts a comment; blank lines are skipped. ip6addrctl itself only
// allows comments on lines of their own and stops reading numbers at the
// first non-digit; here anything but a trailing comment after the three
// fields is an [ErrSyntax] error. The table must have a ::/0 row.
func ParseIP6addrctlConf(r io.Reader) (*Table, error) {
	const format = "ip6addrctl.conf"
	var entries entrySet
	err := eachLine(r, format, func(line int, text string) error {
		text, _, _ = strings.Cut(text, "#")
		f := fields(text)
		switch {
		case len(f) == 0:
			return nil
		case len(f) != 3:
			return fmt.Errorf("%w: want 3 fields (prefix, precedence, label), have %d", ErrSyntax, len(f))
		}
		e, err := parseEntry(f[0], f[1], f[2])
		if err != nil {
			return err
		}
		return entries.add(e)
	})
	if err != nil {
		return nil, err
	}
	return New(entries.entries)
}

// WriteIP6addrctlConf writes t's [Table.Entries] as a file for
// "ip6addrctl install", longest prefix first. IPv4 scope rules are not
// written: the format has none.
func (t *Table) WriteIP6addrctlConf(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# ip6addrctl.conf written by github.com/dualstack/dualstack/policytable")
	fmt.Fprintln(bw, "# prefix                      precedence label")
	for _, e := range t.Entries() {
		fmt.Fprintf(bw, "%-30s %5d %5d\n", e.Prefix, e.Precedence, e.Label)
	}
	return flush(bw, "ip6addrctl.conf")
}

// netshQuerying is the first line netsh prints.
const netshQuerying = "Querying active state..."

// ParseNetsh reads the output of Windows' "netsh interface ipv6 show
// prefixpolicies": an optional "Querying active state..." line, the
// header "Precedence Label Prefix", a line of dashes, and one line per
// row, "PRECEDENCE LABEL PREFIX/LEN". Blank lines and CRLF line ends are
// accepted. IPv4-mapped prefixes may be written either way
// (::ffff:0:0/96 as Windows prints them, or ::ffff:0.0.0.0/96). Errors
// are as for [ParseIP6addrctl].
func ParseNetsh(r io.Reader) (*Table, error) {
	const format = "netsh"
	var entries entrySet
	state := 0 // 0: before the header, 1: header seen, 2: dashes seen
	err := eachLine(r, format, func(line int, text string) error {
		f := fields(text)
		switch {
		case len(f) == 0:
			return nil
		case state == 0 && strings.Join(f, " ") == netshQuerying:
			return nil
		case state == 0:
			if !slices.Equal(f, []string{"Precedence", "Label", "Prefix"}) {
				return fmt.Errorf("%w: want the header \"Precedence Label Prefix\"", ErrSyntax)
			}
			state = 1
			return nil
		case state == 1:
			if len(f) != 3 || strings.Trim(strings.Join(f, ""), "-") != "" {
				return fmt.Errorf("%w: want the line of dashes under the header", ErrSyntax)
			}
			state = 2
			return nil
		case len(f) != 3:
			return fmt.Errorf("%w: want 3 fields (precedence, label, prefix), have %d", ErrSyntax, len(f))
		}
		e, err := parseEntry(f[2], f[0], f[1])
		if err != nil {
			return err
		}
		return entries.add(e)
	})
	if err != nil {
		return nil, err
	}
	if state != 2 {
		return nil, &ParseError{Format: format, Err: fmt.Errorf("%w: no header line", ErrSyntax)}
	}
	return New(entries.entries)
}

// WriteNetsh writes t's [Table.Entries] the way "netsh interface ipv6
// show prefixpolicies" prints them: highest precedence first, then
// longest prefix, IPv4-mapped prefixes in hexadecimal (::ffff:0:0/96),
// with CRLF line ends as on Windows. IPv4 scope rules are not written:
// Windows has none.
func (t *Table) WriteNetsh(w io.Writer) error {
	entries := t.Entries()
	slices.SortStableFunc(entries, func(a, b Entry) int { return int(b.Precedence) - int(a.Precedence) })
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s\r\n\r\n", netshQuerying)
	fmt.Fprintf(bw, "Precedence  Label  Prefix\r\n")
	fmt.Fprintf(bw, "----------  -----  --------------------------------\r\n")
	for _, e := range entries {
		fmt.Fprintf(bw, "%10d  %5d  %s\r\n", e.Precedence, e.Label, formatMappedHex(e.Prefix))
	}
	fmt.Fprintf(bw, "\r\n")
	return flush(bw, "netsh")
}

// eachLine calls fn for every line of r and turns its error into a
// *ParseError for that line. Reading stops at the first error.
func eachLine(r io.Reader, format string, fn func(line int, text string) error) error {
	lr := newLineReader(r)
	for {
		text, tooLong, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("policytable: reading %s: %w", format, err)
		}
		if tooLong {
			err = ErrLineTooLong
		} else {
			err = fn(lr.line, text)
		}
		if err != nil {
			return &ParseError{Format: format, Line: lr.line, Text: text, Err: err}
		}
	}
}

// parseEntry reads the three fields of a combined row.
func parseEntry(prefix, prec, label string) (Entry, error) {
	p, err := parseIPv6Prefix(prefix, false)
	if err != nil {
		return Entry{}, err
	}
	if p.Masked() != p {
		return Entry{}, fmt.Errorf("%w: %s", ErrNotCanonical, p)
	}
	pv, err := parseValue(prec, 255)
	if err != nil {
		return Entry{}, fmt.Errorf("precedence: %w", err)
	}
	lv, err := parseValue(label, 255)
	if err != nil {
		return Entry{}, fmt.Errorf("label: %w", err)
	}
	return Entry{p, pv, lv}, nil
}

// entrySet collects the rows of a combined-table file, rejecting
// duplicates and more than MaxRows rows as they come, so that the error
// names the line.
type entrySet struct {
	entries []Entry
	seen    map[netip.Prefix]bool
}

func (s *entrySet) add(e Entry) error {
	if s.seen[e.Prefix] {
		return fmt.Errorf("%w: %s given again", ErrDuplicate, e.Prefix)
	}
	if len(s.entries) == MaxRows {
		return fmt.Errorf("%w: more than %d rows", ErrTooManyRows, MaxRows)
	}
	if s.seen == nil {
		s.seen = make(map[netip.Prefix]bool)
	}
	s.seen[e.Prefix] = true
	s.entries = append(s.entries, e)
	return nil
}

func flush(bw *bufio.Writer, format string) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("policytable: writing %s: %w", format, err)
	}
	return nil
}
