package mxorder

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Resolver is the DNS interface the [Planner] needs. It is exactly a
// subset of the method set of [*net.Resolver], so [net.DefaultResolver]
// and any configured *net.Resolver work unchanged; mxordertest.Resolver is
// an in-memory implementation for tests.
//
// Implementations should report "no such name" and "no records of this
// type" as a *net.DNSError with IsNotFound set, and temporary failures
// with IsTemporary or IsTimeout set, as *net.Resolver does.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CNAMEResolver is an optional extension of [Resolver]: when the resolver
// also implements it (as *net.Resolver does), [Planner.Audit] reports MX
// exchanges that are aliases (RFC 2181 section 10.3, RFC 5321 section
// 5.1). It is found by type assertion so that Resolver keeps two methods.
type CNAMEResolver interface {
	LookupCNAME(ctx context.Context, host string) (string, error)
}

var (
	_ Resolver      = (*net.Resolver)(nil)
	_ CNAMEResolver = (*net.Resolver)(nil)
)

// Sentinel errors. Match them with [errors.Is]; the typed errors of this
// package unwrap to them.
var (
	// ErrNoSuchDomain: the domain does not exist (NXDOMAIN). RFC 5321
	// section 5.1 and RFC 3974 section 3 make this a permanent failure:
	// bounce the message. Through *net.Resolver NXDOMAIN and NODATA look
	// the same (see the package documentation); a domain with neither MX
	// nor address records is reported with this error too.
	ErrNoSuchDomain = errors.New("no such domain")

	// ErrNullMX: the domain publishes a null MX (RFC 7505): it accepts no
	// mail. Fail at once (no queueing); RFC 7505 section 4.1 suggests
	// reply code 556 and enhanced status 5.1.10.
	ErrNullMX = errors.New("domain accepts no mail (null MX, RFC 7505)")

	// ErrNoPrimaryRelay: the local host is an MX of the domain and no MX
	// with a better (lower) preference remains (RFC 5321 section 5.1,
	// RFC 3974 section 3 step 2). The message cannot be relayed: the local
	// host should deliver it itself or return it as undeliverable.
	ErrNoPrimaryRelay = errors.New("local host is the best MX: no primary relay to hand the message to")

	// ErrNoReachableMX: MX hosts exist but none has an address the local
	// host can use. The concrete error is an [*UnreachableError], which
	// says which families the domain offers and which the sender has
	// (RFC 3974 section 3). If it is temporary (a lookup failed
	// temporarily), queue and retry; otherwise the message is undeliverable.
	ErrNoReachableMX = errors.New("no reachable mail exchanger")

	// ErrInvalidName: a domain or exchange name is not a valid host name.
	// The concrete error is a [*NameError].
	ErrInvalidName = errors.New("invalid domain name")
)

// NameError reports an invalid domain or MX exchange name.
type NameError struct {
	Name   string // the name as given
	Reason string // why it is invalid
}

// Error says which name is invalid and why.
func (e *NameError) Error() string {
	return "mxorder: invalid name " + strconv.Quote(e.Name) + ": " + e.Reason
}

// Unwrap returns [ErrInvalidName].
func (e *NameError) Unwrap() error { return ErrInvalidName }

// domainError puts the domain in front of an error about it, such as
// the sentinels [ErrNullMX], [ErrNoSuchDomain] and [ErrNoPrimaryRelay],
// which it unwraps to.
type domainError struct {
	domain string
	err    error
}

func (e *domainError) Error() string {
	return "mxorder: " + strconv.Quote(e.domain) + ": " + e.err.Error()
}

func (e *domainError) Unwrap() error { return e.err }

// UnreachableError is returned when MX hosts exist but none can be reached
// with the families the sender has (RFC 3974 section 3: an IPv4-only
// sender facing AAAA-only exchanges fails as for exchanges without
// addresses). It unwraps to [ErrNoReachableMX].
type UnreachableError struct {
	Domain string // the domain, canonical
	// DomainFamilies are the families of every address found for the
	// domain's (remaining) MX hosts; 0 when none was found.
	DomainFamilies Family
	// SenderFamilies are the families the local host can use.
	SenderFamilies Family
	// Hosts is the number of MX hosts considered.
	Hosts int
	// Temporary reports that at least one address lookup in a family the
	// sender can use failed temporarily (SERVFAIL, timeout): the message
	// should be queued and retried (RFC 5321 section 4.5.4.1) rather
	// than bounced.
	Temporary bool
}

// Error names the domain's and the sender's families.
func (e *UnreachableError) Error() string {
	var b strings.Builder
	b.WriteString("mxorder: no reachable mail exchanger for ")
	b.WriteString(strconv.Quote(e.Domain))
	b.WriteString(": ")
	switch {
	case e.DomainFamilies == 0 && e.Temporary:
		b.WriteString("address lookups failed temporarily")
	case e.DomainFamilies == 0:
		b.WriteString("its MX hosts have no addresses")
	case e.DomainFamilies&e.SenderFamilies == 0:
		b.WriteString("the domain's MX hosts are ")
		b.WriteString(e.DomainFamilies.Words())
		b.WriteString(" and the sender is ")
		b.WriteString(e.SenderFamilies.Words())
		b.WriteString(": no common IP version")
	default:
		b.WriteString("no MX host has a usable address (domain ")
		b.WriteString(e.DomainFamilies.Words())
		b.WriteString(", sender ")
		b.WriteString(e.SenderFamilies.Words())
		b.WriteString(")")
	}
	if e.Temporary && e.DomainFamilies != 0 {
		b.WriteString("; some lookups failed temporarily")
	}
	return b.String()
}

// Unwrap returns [ErrNoReachableMX].
func (e *UnreachableError) Unwrap() error { return ErrNoReachableMX }

// Family is a set of IP versions: [IPv4], [IPv6], both ([DualStack]) or
// none (0).
type Family uint8

// The families.
const (
	IPv4      Family        = 1 << iota // IPv4 (A records)
	IPv6                                // IPv6 (AAAA records)
	DualStack = IPv4 | IPv6             // both
)

// FamilyOf returns the family of a (IPv4-mapped IPv6 addresses count as
// IPv4), or 0 for the zero Addr.
func FamilyOf(a netip.Addr) Family {
	switch {
	case !a.IsValid():
		return 0
	case a.Is4() || a.Is4In6():
		return IPv4
	}
	return IPv6
}

// Has reports whether f contains every family in g.
func (f Family) Has(g Family) bool { return f&g == g }

// String returns "none", "ipv4", "ipv6" or "dual".
func (f Family) String() string {
	switch f & DualStack {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	case DualStack:
		return "dual"
	}
	return "none"
}

// Words describes f for people: "IPv4-only", "IPv6-only", "dual-stack" or
// "without IP connectivity".
func (f Family) Words() string {
	switch f & DualStack {
	case IPv4:
		return "IPv4-only"
	case IPv6:
		return "IPv6-only"
	case DualStack:
		return "dual-stack"
	}
	return "without IP connectivity"
}

// MarshalText implements [encoding.TextMarshaler] with [Family.String].
func (f Family) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler]; it accepts the
// forms String returns and "4", "6", "46".
func (f *Family) UnmarshalText(b []byte) error {
	switch string(b) {
	case "none", "":
		*f = 0
	case "ipv4", "4", "IPv4":
		*f = IPv4
	case "ipv6", "6", "IPv6":
		*f = IPv6
	case "dual", "46", "both":
		*f = DualStack
	default:
		return errors.New("mxorder: unknown family " + strconv.Quote(string(b)))
	}
	return nil
}

// maxNameLen is the longest textual domain name without the trailing dot
// (RFC 1035 section 2.3.4: 255 octets on the wire).
const maxNameLen = 253

// maxUnicodeNameLen bounds a name before IDNA conversion: each of the at
// most 253 characters of the A-label form stands for at most one code
// point of at most 4 bytes in UTF-8.
const maxUnicodeNameLen = 4 * maxNameLen

// NormalizeName returns the canonical form of a domain or host name as
// this package compares and queries it: IDNA A-labels (the
// golang.org/x/net/idna Lookup profile, RFC 5891), lower case, without the
// trailing dot. It rejects empty names, the root, IP literals (RFC 5321
// section 5.1 wants host names; RFC 3974 section 6) and names that are not
// valid host names, with a [*NameError].
func NormalizeName(name string) (string, error) {
	n, reason := normalize(name)
	if reason != "" {
		return "", &NameError{Name: name, Reason: reason}
	}
	return n, nil
}

// normalize is NormalizeName without the error allocation. For a name
// that is already canonical it returns a substring of name and does not
// allocate.
func normalize(name string) (string, string) {
	n := strings.TrimSuffix(name, ".")
	if isCanonical(n) {
		return n, ""
	}
	return normalizeFull(n)
}

// normalizeFull is normalize for a name (without its trailing dot) that
// is not already canonical.
func normalizeFull(n string) (string, string) {
	if n == "" {
		return "", "empty name or root"
	}
	if len(n) > maxUnicodeNameLen {
		// Bound the IDNA work: no valid name is this long in any form.
		return "", "longer than " + strconv.Itoa(maxUnicodeNameLen) + " bytes"
	}
	if n[0] == '[' || isIPLiteral(n) {
		return "", "IP address literal, not a host name"
	}
	ascii, lower := true, true
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			lower = false
		}
	}
	if !ascii || hasALabel(n) {
		if !utf8.ValidString(n) {
			return "", "not valid UTF-8"
		}
		a, err := idna.Lookup.ToASCII(n)
		if err != nil {
			return "", "IDNA: " + err.Error()
		}
		n = a
	} else if !lower {
		n = strings.ToLower(n)
	}
	if reason := checkHostName(n); reason != "" {
		return "", reason
	}
	return n, ""
}

// isCanonical is the fast path of normalize: it reports, in one pass,
// whether n is already a lower-case LDH host name that normalize returns
// unchanged: labels of 1 to 63 letters, digits and inner hyphens (RFC
// 1123 section 2.1), none starting "xn--" (an A-label that IDNA must
// check), at most 253 characters (RFC 1035 section 2.3.4), and a
// top-level label that is not all digits (so not an IPv4 literal; an
// IPv6 literal has colons). Anything else takes the full path.
func isCanonical(n string) bool {
	if len(n) == 0 || len(n) > maxNameLen {
		return false
	}
	start, digits, dots := 0, true, 0
	for i := 0; i < len(n); i++ {
		switch ldhClass[n[i]] {
		case ldhLetter:
			digits = false
		case ldhDigit:
		case ldhHyphen:
			if i == start || i+1 == len(n) || n[i+1] == '.' {
				return false
			}
			digits = false
		case ldhDot:
			if l := i - start; l == 0 || l > 63 || (l >= 4 && n[start:start+4] == "xn--") {
				return false
			}
			start, digits = i+1, true
			dots++
		default:
			return false
		}
	}
	if l := len(n) - start; l == 0 || l > 63 || (l >= 4 && n[start:start+4] == "xn--") {
		return false
	}
	return !(digits && dots > 0)
}

// Byte classes of isCanonical; 0 is "not allowed".
const (
	ldhLetter = 1 + iota
	ldhDigit
	ldhHyphen
	ldhDot
)

var ldhClass = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = ldhLetter
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = ldhDigit
	}
	t['-'], t['.'] = ldhHyphen, ldhDot
	return t
}()

// hasALabel reports whether an ASCII name has a label starting "xn--"
// (in any case), which IDNA must validate (RFC 5891 section 5.4).
func hasALabel(n string) bool {
	for i := 0; i+4 <= len(n); i++ {
		if (i == 0 || n[i-1] == '.') && (n[i] == 'x' || n[i] == 'X') && (n[i+1] == 'n' || n[i+1] == 'N') && n[i+2] == '-' && n[i+3] == '-' {
			return true
		}
	}
	return false
}

func isIPLiteral(n string) bool {
	// Only hex digits, dots, colons (and a zone) can form a literal;
	// checking first keeps ParseAddr's error allocation off host names.
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c == '%' {
			break
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '.' || c == ':') {
			return false
		}
	}
	if _, err := netip.ParseAddr(n); err == nil {
		return true
	}
	return false
}

// checkHostName checks the LDH syntax of RFC 1123 section 2.1 and the
// length limits of RFC 1035 section 2.3.4 on a lower-case ASCII name.
func checkHostName(n string) string {
	if len(n) > maxNameLen {
		return "longer than " + strconv.Itoa(maxNameLen) + " characters"
	}
	start := 0
	allDigits := true
	for i := 0; i <= len(n); i++ {
		if i < len(n) && n[i] != '.' {
			c := n[i]
			switch {
			case 'a' <= c && c <= 'z', c == '-':
				allDigits = false
			case '0' <= c && c <= '9':
			default:
				return "character " + strconv.QuoteRune(rune(c)) + " at position " + strconv.Itoa(i) + " is not a letter, digit or hyphen"
			}
			continue
		}
		label := n[start:i]
		switch {
		case label == "":
			return "empty label at position " + strconv.Itoa(start)
		case len(label) > 63:
			return "label at position " + strconv.Itoa(start) + " longer than 63 characters"
		case label[0] == '-' || label[len(label)-1] == '-':
			return "label " + strconv.Quote(label) + " starts or ends with a hyphen"
		}
		if i == len(n) && allDigits && start > 0 {
			// RFC 3696 section 2: a top-level label is never all-numeric;
			// such a name is a mistyped address literal.
			return "all-numeric top-level label: looks like an IP address"
		}
		start = i + 1
		allDigits = true
	}
	return ""
}
