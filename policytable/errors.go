package policytable

import (
	"errors"
	"fmt"
	"net/netip"
)

// Sentinel errors a caller may branch on with [errors.Is]; the other
// causes are mistakes to fix, and the error text says which.
var (
	// ErrTooManyRows: a set holds more than MaxRows rows. A resource
	// bound, not a mistake: a caller may split or trim its input.
	ErrTooManyRows = errors.New("too many rows")
	// ErrLineTooLong: a line longer than MaxLineLength bytes (for
	// ParseGaiConfLenient, a line whose fields reach past its larger
	// bound). A resource bound, like ErrTooManyRows.
	ErrLineTooLong = errors.New("line too long")
	// ErrNoDefault: a set has no ::/0 row. New does not invent one,
	// which would hide configuration mistakes (ParseGaiConf adds glibc's
	// implicit defaults, as glibc does); a caller may add its own.
	ErrNoDefault = errors.New("no ::/0 default row")
	// ErrDuplicate: the same prefix twice in one set; a caller merging
	// rows from several sources may drop or reconcile one.
	ErrDuplicate = errors.New("duplicate prefix")
	// ErrGlibcCrash: a gai.conf line that makes glibc's getaddrinfo
	// crash (a scopev4 line without a prefix length before any scopev4
	// line with one: glibc 2.36 dereferences an uninitialised pointer).
	// ParseGaiConfLenient warns and skips the line; a caller may treat
	// it as the error it is for the host.
	ErrGlibcCrash = errors.New("glibc's getaddrinfo crashes on this line")
)

// Causes not exported: the error text explains them.
var (
	// errSyntax: a line does not have the shape its format requires.
	errSyntax = errors.New("syntax error")
	// errValueRange: a precedence or label above 255 (stored in 8 bits,
	// the field width RFC 7078 uses), or an IPv4 scope above 15 (a
	// 4-bit field, RFC 4291 section 2.7). glibc takes any int.
	errValueRange = errors.New("value out of range")
	// errUnknownDirective: a gai.conf line that is not label,
	// precedence, scopev4 or reload; glibc ignores it.
	errUnknownDirective = errors.New("unknown directive")
	// errIPv4Prefix: an IPv4 prefix in a gai.conf label or precedence
	// line, which glibc ignores; IPv4 is written ::ffff:10.0.0.0/104.
	errIPv4Prefix    = errors.New("IPv4 prefix where IPv6 syntax is required")
	errInvalidPrefix = errors.New("invalid prefix")
	// errNotCanonical: 2001:db8::1/32 instead of 2001:db8::/32.
	errNotCanonical = errors.New("prefix has host bits set")
	// errNotIPv4: an IPv4 scope rule whose prefix is neither IPv4 nor
	// IPv4-mapped IPv6 of length 96 or more.
	errNotIPv4 = errors.New("not an IPv4 prefix")
	// errKnownLocal: a known-local ULA prefix outside fd00::/8 or shorter
	// than /40 (draft-ietf-6man-rfc6724-update-21 section 3.3).
	errKnownLocal = errors.New("not a known-local ULA prefix")
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

// Unwrap returns the cause.
func (e *TableError) Unwrap() error { return e.Err }

// ParseError reports a line of a policy table file that cannot be read.
// Line counts from 1; Line 0 means the input as a whole (a missing
// header line). Text is the line as read, without its terminator, cut to
// its first 80 bytes (followed by "...") when longer, so that an error
// stays small whatever the input. Err is the cause, wrapped with detail;
// test for the exported sentinels with [errors.Is].
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
