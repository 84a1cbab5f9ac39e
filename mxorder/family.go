package mxorder

import (
	"errors"
	"net/netip"
	"strconv"
)

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
