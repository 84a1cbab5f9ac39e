package addrselect

import (
	"context"
	"fmt"
	"net/netip"
)

// Sort is the everyday path: it finds the source for each address with
// src (RFC 6724 section 6 needs Source(D) for every destination D), then
// orders the destinations with [Selector.SortDestinations] and returns
// them, sources included. A nil src means the running system (a shared
// [System]). addrs is not modified; duplicates are kept.
//
// Sort stops at the first error of src (a cancelled ctx, for example) and
// returns it, wrapped with the address it was looking up; a destination
// src cannot reach is not an error but gets a zero Source and sorts last
// (rule 1).
//
// Sort allocates the returned slice and nothing else (with [System] on
// Linux and with a [Host] of up to 16 addresses per family); use
// [Selector.SortInto] to reuse a slice.
func (s *Selector) Sort(ctx context.Context, addrs []netip.Addr, src Sources) ([]Destination, error) {
	return s.SortInto(ctx, make([]Destination, 0, len(addrs)), addrs, src)
}

// SortInto is [Selector.Sort] appending to dst (which may be nil or a
// reused buffer, dst[:0]) and returning the extended slice: it does not
// allocate when dst has room. Only the appended part is sorted.
func (s *Selector) SortInto(ctx context.Context, dst []Destination, addrs []netip.Addr, src Sources) ([]Destination, error) {
	if src == nil {
		src = defaultSystem
	}
	start := len(dst)
	for _, a := range addrs {
		sa, err := src.Source(ctx, a)
		if err != nil {
			return dst[:start], &SourceError{Addr: a, Err: err}
		}
		dst = append(dst, Destination{Addr: a, Source: sa})
	}
	s.SortDestinations(dst[start:])
	return dst, nil
}

// SourceError reports that a [Sources] could not answer for Addr. Err is
// the cause (for example context.Canceled); errors.Is sees through it.
type SourceError struct {
	Addr netip.Addr // the destination whose source was asked for
	Err  error      // the cause
}

// Error names the address and the cause.
func (e *SourceError) Error() string {
	return fmt.Sprintf("addrselect: source for %s: %v", e.Addr, e.Err)
}

// Unwrap returns the cause.
func (e *SourceError) Unwrap() error { return e.Err }
