package addrselect

import (
	"context"
	"net/netip"
)

// Source is what a host knows about one of its own addresses: the inputs
// of the source rules of RFC 6724 section 5 and of the destination rules
// that look at Source(D) (section 6).
type Source struct {
	// Addr is the address. The zero Addr means "no source".
	Addr netip.Addr
	// PrefixLen is the length of the on-link prefix Addr belongs to. It
	// bounds CommonPrefixLen (RFC 6724 section 2.2). 0 means unknown: the
	// RFC profiles then assume 64 for IPv6 and 32 for IPv4.
	PrefixLen int
	// Deprecated is set when the preferred lifetime has expired (RFC 4862):
	// source rule 3 and destination rule 3.
	Deprecated bool
	// Temporary: a temporary (privacy) address (RFC 8981), source rule 7.
	Temporary bool
	// Home and CareOf: Mobile IPv6 roles (RFC 6724 section 3.5), source
	// rule 4 and destination rule 4. An address may be both.
	Home, CareOf bool
	// Encapsulated: the address is on a tunnel or transition interface
	// (6rd, ISATAP, configured tunnel), destination rule 7.
	Encapsulated bool
	// Interface is the name of the interface the address is on; source
	// rule 5 prefers the outgoing interface.
	Interface string
	// NextHop is the router that advertised the prefix of Addr (RFC 8028);
	// source rule 5.5 prefers addresses advertised by the next hop chosen
	// for the destination. The zero Addr means unknown.
	NextHop netip.Addr
}

// IsValid reports whether s names an address (a zero Source does not).
func (s Source) IsValid() bool { return s.Addr.IsValid() }

// Destination is a candidate destination with the source that would be
// used to reach it. A zero Source means no source exists and the
// destination is unusable (RFC 6724 section 6, rule 1).
type Destination struct {
	// Addr is the destination address D.
	Addr netip.Addr
	// Source is Source(D), the source used to reach Addr; zero when
	// there is none.
	Source Source
	// Unreachable marks a destination known to be unreachable (for example
	// by neighbour unreachability detection), rule 1, even with a source.
	Unreachable bool
}

// Sources finds the source address a host would use for a destination.
// Implementations: the running system ([System]) and a described host
// ([Host]). A Sources reports an unusable destination by returning a zero
// Source and a nil error; an error means the question could not be
// answered (for example a cancelled context).
type Sources interface {
	Source(ctx context.Context, dst netip.Addr) (Source, error)
}
