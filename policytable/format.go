package policytable

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MaxLineLength bounds the length of one line of any text format this
// package reads, without its line terminator. Longer lines are reported
// as [ErrLineTooLong] ([ParseGaiConfLenient] reads them, as glibc does,
// keeping their first 64 KiB).
const MaxLineLength = 4096

// isSpace is C's isspace in the "C" locale, which glibc and FreeBSD use to
// split fields: space, \t, \n, \v, \f, \r.
func isSpace(r rune) bool {
	return r == ' ' || (r >= '\t' && r <= '\r')
}

func fields(s string) []string { return strings.FieldsFunc(s, isSpace) }

// parseValue parses a decimal precedence or label in 0..255.
func parseValue(s string) (uint8, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("%w: %s is above 255", errValueRange, errText(s))
	case err != nil:
		return 0, fmt.Errorf("%w: value %q is not a decimal number", errSyntax, errText(s))
	case v > 255:
		return 0, fmt.Errorf("%w: %d is above 255", errValueRange, v)
	}
	return uint8(v), nil
}

// formatMappedHex formats a prefix the way Windows prints IPv4-mapped
// prefixes (::ffff:0:0/96), and any other prefix as netip does.
func formatMappedHex(p netip.Prefix) string {
	if !p.Addr().Is4In6() {
		return p.String()
	}
	b := p.Addr().As16()
	return fmt.Sprintf("::ffff:%x:%x/%d", uint16(b[12])<<8|uint16(b[13]), uint16(b[14])<<8|uint16(b[15]), p.Bits())
}

// entrySet collects the rows of a combined-table file, rejecting
// duplicates and more than MaxRows rows as they come, so that the error
// names the line.
type entrySet struct {
	entries []Entry
	seen    map[netip.Prefix]bool
}

// add reads the three fields of a combined row, "addr/len" with an IPv6
// address (IPv4-mapped allowed) and two values, and adds the row.
func (s *entrySet) add(prefix, prec, label string) error {
	p, err := netip.ParsePrefix(prefix)
	switch {
	case !strings.Contains(prefix, "/"):
		return fmt.Errorf("%w: %q has no prefix length", errInvalidPrefix, errText(prefix))
	case err != nil:
		return fmt.Errorf("%w: %q is not a prefix", errInvalidPrefix, errText(prefix))
	case p.Addr().Is4():
		return fmt.Errorf("%w: %s", errIPv4Prefix, prefix)
	case p.Masked() != p:
		return fmt.Errorf("%w: %s", errNotCanonical, p)
	}
	pv, err := parseValue(prec)
	if err != nil {
		return fmt.Errorf("precedence: %w", err)
	}
	lv, err := parseValue(label)
	switch {
	case err != nil:
		return fmt.Errorf("label: %w", err)
	case s.seen[p]:
		return fmt.Errorf("%w: %s given again", ErrDuplicate, p)
	case len(s.entries) == MaxRows:
		return fmt.Errorf("%w: more than %d rows", ErrTooManyRows, MaxRows)
	}
	if s.seen == nil {
		s.seen = make(map[netip.Prefix]bool)
	}
	s.seen[p] = true
	s.entries = append(s.entries, Entry{p, pv, lv})
	return nil
}

// table ends the read of a combined-table file: the error of the line
// loop, else a missing header, else the table of the rows.
func (s *entrySet) table(err error, format string, header bool) (*Table, error) {
	if err != nil {
		return nil, err
	}
	if !header {
		return nil, &ParseError{Format: format, Err: fmt.Errorf("%w: no header line", errSyntax)}
	}
	return New(s.entries)
}

func flush(bw *bufio.Writer, format string) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("policytable: writing %s: %w", format, err)
	}
	return nil
}
