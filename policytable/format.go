package policytable

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// MaxLineLength bounds the length of one line of any text format this
// package reads, without its line terminator. Longer lines are reported
// as [ErrLineTooLong] (and skipped by [ParseGaiConfLenient]).
const MaxLineLength = 4096

// Sentinel causes of a [*ParseError], in addition to the [*TableError]
// sentinels ([ErrInvalidPrefix], [ErrNotCanonical], [ErrDuplicate],
// [ErrTooManyRows], [ErrNotIPv4]); test for them with [errors.Is].
var (
	// ErrSyntax: a line does not have the shape its format requires
	// (wrong number of fields, a value that is not a decimal number, a
	// missing or unexpected header line).
	ErrSyntax = errors.New("syntax error")
	// ErrValueRange: a precedence or label above 255, or an IPv4 scope
	// above 15. The formats allow larger numbers (glibc takes any int),
	// but this package stores precedence and label in 8 bits, the field
	// width RFC 7078 uses to carry them, and a scope is a 4-bit field
	// (RFC 4291 section 2.7).
	ErrValueRange = errors.New("value out of range")
	// ErrUnknownDirective: a gai.conf line whose first word is not
	// label, precedence, scopev4 or reload. glibc ignores such lines.
	ErrUnknownDirective = errors.New("unknown directive")
	// ErrIPv4Prefix: an IPv4 prefix in a gai.conf label or precedence
	// line. glibc only accepts IPv6 syntax there and silently ignores the
	// line; write IPv4 as IPv4-mapped IPv6 (::ffff:10.0.0.0/104).
	ErrIPv4Prefix = errors.New("IPv4 prefix where IPv6 syntax is required")
	// ErrLineTooLong: a line longer than MaxLineLength bytes.
	ErrLineTooLong = errors.New("line too long")
)

// ParseError reports a line of a policy table file that cannot be read.
// Line counts from 1; Line 0 means the input as a whole (a missing
// header line). Text is the line as read, without its terminator (for
// [ErrLineTooLong], only its first 80 bytes). Err is one of the
// sentinel errors, possibly wrapped with detail; use [errors.Is].
type ParseError struct {
	Format string // "gai.conf", "ip6addrctl", "ip6addrctl.conf" or "netsh"
	Line   int
	Text   string
	Err    error
}

// Error formats the error with the format, the line number, the quoted
// line and the cause.
func (e *ParseError) Error() string {
	return fmt.Sprintf("policytable: %s line %d %q: %v", e.Format, e.Line, e.Text, e.Err)
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// lineReader yields the lines of r with their number, bounded by
// MaxLineLength. A final line without a newline is still a line.
type lineReader struct {
	r    *bufio.Reader
	line int
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, MaxLineLength+2)}
}

// next returns the next line without "\n" or "\r\n". tooLong reports a
// line over MaxLineLength, which has been consumed and is returned
// shortened. err is io.EOF at the end, or a read error.
func (lr *lineReader) next() (line string, tooLong bool, err error) {
	b, err := lr.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// Keep 80 bytes for the error message, discard the rest of the
		// line: the work stays linear in the input.
		head := string(b[:80])
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = lr.r.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return "", false, err
		}
		lr.line++
		return head, true, nil
	}
	if err != nil && (err != io.EOF || len(b) == 0) {
		return "", false, err
	}
	lr.line++
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if len(s) > MaxLineLength {
		return s[:80], true, nil
	}
	return s, false, nil
}

// isSpace is C's isspace in the "C" locale, which glibc and FreeBSD use to
// split fields: space, \t, \n, \v, \f, \r.
func isSpace(r rune) bool {
	return r == ' ' || (r >= '\t' && r <= '\r')
}

func fields(s string) []string { return strings.FieldsFunc(s, isSpace) }

// parseValue parses a decimal precedence or label in 0..limit.
func parseValue(s string, limit uint64) (uint8, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("%w: %s is above %d", ErrValueRange, s, limit)
		}
		return 0, fmt.Errorf("%w: value %q is not a decimal number", ErrSyntax, s)
	}
	if v > limit {
		return 0, fmt.Errorf("%w: %d is above %d", ErrValueRange, v, limit)
	}
	return uint8(v), nil
}

// parseIPv6Prefix parses "addr/len" with an IPv6 address (IPv4-mapped
// allowed). If bare is true, an address without "/len" means /128.
// Host bits are returned as written; callers decide about canonical form.
func parseIPv6Prefix(s string, bare bool) (netip.Prefix, error) {
	var p netip.Prefix
	if !strings.Contains(s, "/") {
		if !bare {
			return p, fmt.Errorf("%w: %q has no prefix length", ErrInvalidPrefix, s)
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, fmt.Errorf("%w: %q is not an address", ErrInvalidPrefix, s)
		}
		if a.Is4() {
			return p, fmt.Errorf("%w: %s", ErrIPv4Prefix, s)
		}
		if a.Zone() != "" {
			return p, fmt.Errorf("%w: %q has a zone", ErrInvalidPrefix, s)
		}
		return netip.PrefixFrom(a, 128), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("%w: %q is not a prefix", ErrInvalidPrefix, s)
	}
	if p.Addr().Is4() {
		return p, fmt.Errorf("%w: %s", ErrIPv4Prefix, s)
	}
	return p, nil
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
