package addrselect

import (
	"context"
	"fmt"
	"net/netip"
)

// Sort is the everyday path: it finds Source(D) for each address (RFC
// 6724 section 6) with src as [Selector.FindSource] does, so s's source
// rules apply, then orders the destinations with
// [Selector.SortDestinations] and returns them, sources included. A nil
// src means the running system (a shared [System]). addrs is not
// modified; duplicates are kept.
//
// Sort stops at the first error of src (a cancelled ctx, say) and
// returns it as a *[SourceError]; a destination src cannot reach is not
// an error but gets a zero Source and sorts last (rule 1).
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
	start := len(dst)
	for _, a := range addrs {
		sa, err := s.FindSource(ctx, src, a)
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
// The zero SourceError names no address and no cause.
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

// FindSource asks src for the source of dst (nil src: the running system,
// a shared [System]) with s's source rules where src lets a caller choose
// them:
//
//   - a [Host] without a Selector of its own picks among its IPv6
//     candidates with s (a Host's own Selector wins);
//   - a [System] asks the kernel for a public source when s prefers
//     public addresses ([WithPreferPublic]), as RFC 6724 section 5 rule 7
//     and RFC 5014 let an application ask; otherwise the kernel's default,
//     which the administrator sets (Linux: use_tempaddr), decides. Only
//     Linux takes the request; elsewhere the kernel's default decides;
//   - any other Sources answers as its Source method does.
//
// [Selector.Sort], [Selector.SortInto] and [Dialer] find sources this way.
// It does not allocate where src.Source does not.
func (s *Selector) FindSource(ctx context.Context, src Sources, dst netip.Addr) (Source, error) {
	if src == nil {
		src = defaultSystem
	}
	if ss, ok := src.(selectorSources); ok {
		return ss.sourceFor(ctx, s, dst)
	}
	return src.Source(ctx, dst)
}

// selectorSources is a [Sources] whose answer can follow the source rules
// of the Selector that asks (unexported: Sources keeps its one method).
type selectorSources interface {
	Sources
	// sourceFor is Source with sel, the asking Selector (nil means
	// RFC6724()), applying its source rules where the implementation can.
	sourceFor(ctx context.Context, sel *Selector, dst netip.Addr) (Source, error)
}
