package addrselect

import (
	"net/netip"
	"slices"

	"github.com/dualstack/dualstack/addrselect/nat64"
)

// The Dialer's part of RFC 8305 section 7: on a host without a route to
// an IPv4 address, dial it through an address synthesized with a known
// NAT64 prefix (RFC 6052).

// nat64Prefixes returns the prefixes the Dialer knows without asking
// the network: its NAT64 field, else the PREF64 options (RFC 8781) a
// [System] learned, when Sources is nil or a *System. RFC 8781 section
// 5.1 prefers the router's prefix to DNS64 discovery's, which comes last.
func (d *Dialer) nat64Prefixes() []netip.Prefix {
	ps := d.NAT64
	if len(ps) == 0 {
		sys, _ := d.Sources.(*System)
		if d.Sources == nil {
			sys = defaultSystem
		}
		if sys != nil {
			ps = sys.NAT64Prefixes()
		}
	}
	return slices.DeleteFunc(slices.Clone(ps), func(p netip.Prefix) bool { return nat64.CheckPrefix(p) != nil })
}

// useNAT64 makes ps the dial's prefixes, which the Selector then
// recognises and ranks ([WithNAT64], unless it has prefixes of its own).
func (l *dialLoop) useNAT64(ps []netip.Prefix) {
	if len(ps) == 0 {
		return
	}
	l.nat64 = ps
	if len(l.sel.NAT64Prefixes()) == 0 {
		l.sel = l.sel.orZero().derive(WithNAT64(ps...))
	}
}

// learnNAT64 takes the discovered prefixes ps: the IPv4 addresses
// without a route are replaced by synthesized ones.
func (l *dialLoop) learnNAT64(ps []netip.Prefix) error {
	l.discovering, l.discovered = false, true
	l.useNAT64(ps)
	for i, d := range l.pool {
		if d.Addr.Is4() && !d.Source.IsValid() {
			syn, ok, err := l.synthesize(d.Addr)
			if err != nil {
				return err
			}
			if ok {
				l.pool[i] = syn
			}
		}
	}
	l.pool = slices.DeleteFunc(l.pool, func(d Destination) bool { return !d.Addr.IsValid() })
	l.reorder()
	return nil
}

// synthesize returns the destination that stands for v4, which has no
// route: v4 under the first known prefix that can carry it (the
// well-known prefix refuses non-global addresses, RFC 6052 section 3.1)
// and has a source. The zero Destination with ok means DNS64 already
// answered that address: v4 is dropped. ok is false when no prefix helps.
func (l *dialLoop) synthesize(v4 netip.Addr) (d Destination, ok bool, err error) {
	for _, p := range l.nat64 {
		a, err := nat64.Synthesize(p, v4)
		if err != nil {
			continue
		}
		if l.seen[a] {
			return Destination{}, true, nil
		}
		s, err := l.sel.FindSource(l.ctx, l.d.Sources, a)
		if err != nil && l.ctx.Err() != nil {
			return Destination{}, false, l.ctx.Err()
		}
		if s.IsValid() {
			l.seen[a] = true
			return Destination{Addr: a, Source: s}, true, nil
		}
	}
	return Destination{}, false, nil
}

// needNAT64 is called for an IPv4 address without a route: it starts
// the discovery of the prefix through the resolver (RFC 7050) when the
// Dialer asks for it and no prefix is known or being looked for.
// Attempts to addresses without a source wait for its answer
// (holdForNAT64), as RFC 8305 section 7.1 synthesizes before it dials.
func (l *dialLoop) needNAT64() {
	if !l.d.DiscoverNAT64 || len(l.nat64) > 0 || l.discovering || l.discovered || !l.v6 {
		return
	}
	l.discovering = true
	l.pending++
	ctx, answers, r := l.raceCtx, l.answers, l.d.resolver()
	go func() {
		ps, err := nat64.Discover(ctx, r)
		answers <- lookupAnswer{network: "ip6", host: "ipv4only.arpa", nat64: true, prefixes: ps, err: err}
	}()
}

// holdForNAT64 reports whether the next attempt waits for the discovery:
// its address has no source, and a synthesized one may replace it.
func (l *dialLoop) holdForNAT64() bool {
	return l.discovering && len(l.order) > 0 && !l.order[0].Source.IsValid()
}

// translated returns the IPv4 address a stands for when a lies inside a
// prefix the dial knows.
func (l *dialLoop) translated(a netip.Addr) netip.Addr {
	v4, _, _ := nat64.ExtractAny(l.nat64, a)
	return v4
}

// pathV4 reports whether d reaches an IPv4 host: an IPv4 address, or one
// synthesized from an IPv4 address.
func (l *dialLoop) pathV4(d Destination) bool {
	return d.Addr.Is4() || l.translated(d.Addr).IsValid()
}

// derive returns a copy of s with opts applied, compiled anew (s is
// compiled and not a stack profile's, or opts that stack profiles
// ignore).
func (s *Selector) derive(opts ...Option) *Selector {
	c := *s
	if !s.prof.stack {
		c.prof = nil // the RFC engine's profile follows its options
	}
	return build(&c, opts)
}
