package addrselect

import (
	"cmp"
	"context"
	"net/netip"

	"github.com/dualstack/dualstack/policytable"
)

// Host is a static description of a host: its addresses and its routes.
// It implements [Sources] without sockets, by the candidate-set rules of
// RFC 6724 section 4 and [Selector.SelectSource], so it answers "which
// source would that host use?" for simulations, diagnostics and tests.
//
// The zero Host has no addresses and no routes: every destination is
// unusable. A Host has exactly the addresses listed, no implicit loopback
// (list "::1/128 dev lo" and "127.0.0.1/8 dev lo" for that). It is safe
// for concurrent use as long as nobody modifies it. [ParseHost] reads a
// compact text form, and [Host.String] writes it.
type Host struct {
	// Addrs are the host's addresses in configuration order. For IPv4 the
	// order matters: see [Host.Source].
	Addrs []Source
	// Routes are the host's routes beyond the on-link prefixes of its
	// addresses, which always count (RFC 6724 section 4 needs an
	// outgoing interface for each destination).
	Routes []Route
	// Selector picks among the candidate IPv6 sources (RFC 6724
	// section 5). Nil means the Selector that asks: the one sorting with
	// the Host ([Selector.Sort], [Selector.FindSource], a [Dialer]'s), and
	// RFC6724() for a direct call of [Host.Source]. Set it to fix the
	// source rules whoever sorts.
	Selector *Selector
}

// Route is a route of a described [Host], as iproute2 has them. The zero
// Route has an invalid Prefix and routes nothing.
type Route struct {
	// Prefix is the destination prefix; 0.0.0.0/0 and ::/0 are the default
	// routes. It is kept masked (canonical).
	Prefix netip.Prefix
	// Via is the next-hop router; the zero Addr means on-link.
	Via netip.Addr
	// Dev is the outgoing interface; "" means unknown (then, if Via is set,
	// the interface of the address whose on-link prefix contains Via).
	Dev string
}

// Source implements [Sources] for the described host.
//
// The destination's family decides the candidate set (an IPv4-mapped
// destination is treated as IPv4). Following RFC 6724 section 4:
//
//   - the destination needs a route in its family: one of the host's own
//     addresses, the on-link prefix of one of its addresses, or a route
//     in Routes (longest prefix wins; on-link prefixes win ties); else it
//     is unusable (zero Source, nil error);
//   - a link-local (or link-local-scope multicast) destination needs a
//     zone naming the interface, whose addresses are then the only
//     candidates; without a zone it is unusable, as for the kernel;
//   - link-local addresses of other interfaces, multicast and unspecified
//     addresses are never candidates.
//
// IPv6: the candidates go to the Host's Selector (RFC6724() when nil;
// see [Host.Selector]) and its SelectSourceVia (RFC 6724 section 5),
// with the outgoing interface as the destination's zone (rule 5) and the
// route's next hop (rule 5.5).
//
// Among IPv6 candidates equal under every rule the first listed wins;
// Linux prefers the newest, which "ip -6 addr show" lists first.
//
// IPv4 source selection is left open by RFC 6724 (sections 5 and 6);
// Host does what Linux does by default (the preferred source of the
// route): the destination itself if it is one of the host's addresses;
// otherwise, among the addresses on the outgoing interface (all addresses
// if the route names no interface), the first whose on-link prefix
// contains the destination, else the first whose prefix contains the
// route's next hop, else the first one listed (the primary address),
// deprecated addresses last. 127.0.0.0/8 sources are used only for
// 127.0.0.0/8 destinations and the other way round.
//
// Source does not allocate for hosts with up to 16 addresses per family.
func (h *Host) Source(ctx context.Context, dst netip.Addr) (Source, error) {
	return h.sourceFor(ctx, nil, dst)
}

// sourceFor implements selectorSources: the Host's own Selector, when
// set, wins over sel, the caller's.
func (h *Host) sourceFor(ctx context.Context, sel *Selector, dst netip.Addr) (Source, error) {
	if err := ctx.Err(); err != nil {
		return Source{}, err
	}
	dst = dst.Unmap()
	if !dst.IsValid() || dst.IsUnspecified() {
		return Source{}, nil
	}
	if dst.Is4() {
		// One of our own addresses: the kernel's choice (for IPv6, rule 1).
		for i := range h.Addrs {
			if h.Addrs[i].Addr == dst {
				return h.Addrs[i], nil
			}
		}
	}
	dev, via, ok := h.route(dst)
	switch {
	case !ok:
		return Source{}, nil
	case dst.Is4():
		return h.source4(dst, dev, via), nil
	}
	return h.source6(cmp.Or(h.Selector, sel), dst, dev, via), nil
}

// route finds the outgoing interface and next hop for dst. ok is false
// when the host has no route.
func (h *Host) route(dst netip.Addr) (dev string, via netip.Addr, ok bool) {
	if dst.Is6() && !dst.IsLoopback() && policytable.ScopeIPv6(dst) <= policytable.ScopeLinkLocal {
		// RFC 6724 section 4, RFC 4007: the zone names the link.
		zone := dst.Zone()
		for i := range h.Addrs {
			if zone != "" && h.Addrs[i].Interface == zone && h.Addrs[i].Addr.Is6() {
				return zone, via, true
			}
		}
		return "", via, false
	}
	bare := dst.WithZone("")
	best, dev := h.onLink(bare)
	for i := range h.Routes {
		r := &h.Routes[i]
		if r.Prefix.Bits() > best && r.Prefix.Contains(bare) {
			best, dev, via = r.Prefix.Bits(), r.Dev, r.Via
			if dev == "" && via.IsValid() {
				dev = h.onLinkDev(via)
			}
		}
	}
	if dst.Zone() != "" {
		dev = dst.Zone()
	}
	return dev, via, best >= 0
}

// onLink returns the longest on-link prefix of the host's own addresses
// that holds a (an unknown prefix length routes the address alone), and
// its interface; -1 when none does.
func (h *Host) onLink(a netip.Addr) (plen int, dev string) {
	best := -1
	for i := range h.Addrs {
		own := &h.Addrs[i]
		if own.Addr.Is4() != a.Is4() || own.Addr.IsLoopback() != a.IsLoopback() {
			continue
		}
		n := own.PrefixLen
		if n == 0 {
			n = own.Addr.BitLen()
		}
		if n > best {
			if p, err := own.Addr.Prefix(n); err == nil && p.Contains(a) {
				best, dev = n, own.Interface
			}
		}
	}
	return best, dev
}

// onLinkDev returns the interface of the address whose on-link prefix
// holds the next hop nh, or "".
func (h *Host) onLinkDev(nh netip.Addr) string {
	_, dev := h.onLink(nh)
	return dev
}

// source4 picks the IPv4 source as described at [Host.Source].
func (h *Host) source4(dst netip.Addr, dev string, via netip.Addr) Source {
	var first, firstDeprecated, subnet, gwSubnet *Source
	for i := range h.Addrs {
		a := &h.Addrs[i]
		if !a.Addr.Is4() || a.Addr.IsLoopback() != dst.IsLoopback() || (dev != "" && a.Interface != dev) {
			continue
		}
		if p, err := a.Addr.Prefix(a.PrefixLen); err == nil && a.PrefixLen > 0 {
			if subnet == nil && p.Contains(dst) {
				subnet = a
			}
			if gwSubnet == nil && via.IsValid() && p.Contains(via) {
				gwSubnet = a
			}
		}
		if a.Deprecated && firstDeprecated == nil {
			firstDeprecated = a
		} else if !a.Deprecated && first == nil {
			first = a
		}
	}
	for _, pick := range [...]*Source{subnet, gwSubnet, first, firstDeprecated} {
		if pick != nil {
			return *pick
		}
	}
	return Source{}
}

// source6 picks among the IPv6 candidates with sel (RFC 6724 sections 4
// and 5).
func (h *Host) source6(sel *Selector, dst netip.Addr, dev string, via netip.Addr) Source {
	var buf [16]Source
	cands := buf[:0]
	for i := range h.Addrs {
		a := &h.Addrs[i]
		if !a.Addr.Is6() {
			continue
		}
		// RFC 6724 section 4: addresses of link-local scope only on the
		// destination's link; loopback only for loopback destinations.
		if policytable.ScopeIPv6(a.Addr) <= policytable.ScopeLinkLocal && !a.Addr.IsLoopback() && a.Interface != dev {
			continue
		}
		if a.Addr.IsLoopback() != dst.IsLoopback() && a.Addr != dst.WithZone("") {
			continue
		}
		cands = append(cands, *a)
	}
	if len(cands) == 0 {
		return Source{}
	}
	// Rule 5 with the outgoing interface, rule 5.5 with the next hop.
	src, _ := sel.SelectSourceVia(dst, dev, via, cands)
	return src
}
