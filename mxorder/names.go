package mxorder

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// maxNameLen is the longest textual domain name without the trailing dot
// (RFC 1035 section 2.3.4: 255 octets on the wire).
const maxNameLen = 253

// maxUnicodeNameLen bounds a name before IDNA conversion: at most one
// code point of up to 4 UTF-8 bytes per character of the A-label form.
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

// normalize is NormalizeName returning the reason a name is invalid
// instead of an error; a canonical name comes back without allocation.
func normalize(name string) (string, string) {
	n := strings.TrimSuffix(name, ".")
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
	ascii, lower := scanASCII(n)
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

// scanASCII reports whether n is all ASCII and, if so, whether it has no
// upper-case letter.
func scanASCII(n string) (ascii, lower bool) {
	lower = true
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c >= utf8.RuneSelf {
			return false, false
		}
		if 'A' <= c && c <= 'Z' {
			lower = false
		}
	}
	return true, lower
}

// hasALabel reports whether an ASCII name has a label starting "xn--"
// (in any case), which IDNA must validate (RFC 5891 section 5.4).
func hasALabel(n string) bool {
	for i := 0; i+4 <= len(n); i++ {
		if (i == 0 || n[i-1] == '.') && strings.EqualFold(n[i:i+4], "xn--") {
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
	_, err := netip.ParseAddr(n)
	return err == nil
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
