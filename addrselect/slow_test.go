package addrselect

import (
	"net/netip"
	"time"

	"github.com/dualstack/dualstack/policytable"
)

// A readable reference implementation of the rules, written pairwise from
// the RFC text and independent of the packed keys of rules.go. It reads the
// Selector's configuration but none of its helpers.

func slowIs4(a netip.Addr) bool { return a.Is4() || a.Is4In6() }

var slowRFC1918 = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

func slowScope(s *Selector, a netip.Addr) policytable.Scope {
	if slowIs4(a) {
		u := a.Unmap()
		private := slowRFC1918[0].Contains(u) || slowRFC1918[1].Contains(u) || slowRFC1918[2].Contains(u)
		if private && s.privateV4 != 0 {
			return s.privateV4
		}
	}
	return s.table.Scope(a)
}

// slowBits counts the leading bits two addresses of one family share,
// bit by bit.
func slowBits(a, b netip.Addr) int {
	if !a.IsValid() || !b.IsValid() || slowIs4(a) != slowIs4(b) {
		return 0
	}
	var x, y []byte
	if slowIs4(a) {
		a4, b4 := a.Unmap().As4(), b.Unmap().As4()
		x, y = a4[:], b4[:]
	} else {
		a16, b16 := a.As16(), b.As16()
		x, y = a16[:], b16[:]
	}
	n := 0
	for i := range x {
		for bit := 7; bit >= 0; bit-- {
			if (x[i]>>bit)&1 != (y[i]>>bit)&1 {
				return n
			}
			n++
		}
	}
	return n
}

func slowPrefixLen(src Source) int {
	if slowIs4(src.Addr) {
		if src.PrefixLen > 0 && src.PrefixLen <= 32 {
			return src.PrefixLen
		}
		return 32
	}
	if src.PrefixLen > 0 && src.PrefixLen <= 128 {
		return src.PrefixLen
	}
	return 64
}

// slowCPL is CommonPrefixLen(S, D), RFC 6724 section 2.2 (bounded by the
// source prefix) or RFC 3484 section 2.2 (all bits).
func slowCPL(s *Selector, src Source, d netip.Addr) int {
	n := slowBits(src.Addr, d)
	if !s.fullPrefix && n > slowPrefixLen(src) {
		n = slowPrefixLen(src)
	}
	return n
}

func slowUsable(d Destination) bool {
	return d.Addr.IsValid() && d.Source.Addr.IsValid() && !d.Unreachable
}

// slowRule9 returns whether rule 9 applies and the two compared values.
func slowRule9(s *Selector, da, db Destination) (ok bool, va, vb int) {
	if slowIs4(da.Addr) != slowIs4(db.Addr) {
		return false, 0, 0 // "both IPv6 or both IPv4" (RFC 6724 section 6)
	}
	v4 := slowIs4(da.Addr)
	value := func(d Destination) int {
		// An unusable destination has no Source(D) to compare with.
		if !slowUsable(d) || slowIs4(d.Source.Addr) != slowIs4(d.Addr) {
			return 0
		}
		switch s.rule9 {
		case Rule9RFC:
			return slowCPL(s, d.Source, d.Addr)
		case Rule9IPv6Only:
			if v4 {
				return 0
			}
			return slowCPL(s, d.Source, d.Addr)
		case Rule9IPv6Cap64:
			if v4 {
				return 0
			}
			return min(slowBits(d.Source.Addr, d.Addr), 64)
		case Rule9SameSubnet:
			n := slowBits(d.Source.Addr, d.Addr)
			if v4 && n < slowPrefixLen(d.Source) {
				return 0
			}
			return n
		case Rule9OnLink:
			if slowBits(d.Source.Addr, d.Addr) >= slowPrefixLen(d.Source) {
				return 1
			}
			return 0
		}
		return 0
	}
	return s.rule9 != Rule9Off, value(da), value(db)
}

// slowHome is the documented weak order of rule 4.
func slowHome(src Source) int {
	switch {
	case src.Home && src.CareOf:
		return 3
	case src.Home:
		return 2
	case src.CareOf:
		return 0
	}
	return 1
}

// slowCompare applies RFC 6724 section 6 to DA (earlier in the input) and
// DB: -1 prefer DA, +1 prefer DB, 0 with Dst10 when no rule decides. The
// pair is the whole list for the NAT64 step.
func slowCompare(s *Selector, da, db Destination) (int, Rule) {
	return slowCompareIn(s, []Destination{da, db}, da, db)
}

// slowCompareIn is slowCompare for DA and DB sorted in list.
func slowCompareIn(s *Selector, list []Destination, da, db Destination) (int, Rule) {
	prefer := func(a bool) int {
		if a {
			return -1
		}
		return 1
	}
	ua, ub := slowUsable(da), slowUsable(db)
	// Rule 1: Avoid unusable destinations.
	if ua != ub {
		return prefer(ua), Dst1
	}
	// The NAT64 step: a usable synthesized address loses when its IPv4
	// address is a usable destination of the list. Under NAT64AsIPv4
	// the rules below read that IPv4 address, with a source of matching
	// scope and label.
	na, nb := slowNAT64(s, list, da), slowNAT64(s, list, db)
	if ha, hb := ua && na.hairpin, ub && nb.hairpin; ha != hb {
		return prefer(hb), DstNAT64
	}
	da.Addr, db.Addr = na.view, nb.view
	// Rule 2: Prefer matching scope.
	ma := ua && (na.asV4 || slowScope(s, da.Addr) == slowScope(s, da.Source.Addr))
	mb := ub && (nb.asV4 || slowScope(s, db.Addr) == slowScope(s, db.Source.Addr))
	if ma != mb {
		return prefer(ma), Dst2
	}
	// Rule 3: Avoid deprecated addresses.
	depA, depB := ua && da.Source.Deprecated, ub && db.Source.Deprecated
	if depA != depB {
		return prefer(depB), Dst3
	}
	// Rule 4: Prefer home addresses.
	ha, hb := 1, 1
	if ua {
		ha = slowHome(da.Source)
	}
	if ub {
		hb = slowHome(db.Source)
	}
	if ha != hb {
		return prefer(ha > hb), Dst4
	}
	// Rule 5: Prefer matching label.
	la := ua && (na.asV4 || s.table.Label(da.Addr) == s.table.Label(da.Source.Addr))
	lb := ub && (nb.asV4 || s.table.Label(db.Addr) == s.table.Label(db.Source.Addr))
	if la != lb {
		return prefer(la), Dst5
	}
	// Rule 6: Prefer higher precedence.
	if pa, pb := s.table.Precedence(da.Addr), s.table.Precedence(db.Addr); pa != pb {
		return prefer(pa > pb), Dst6
	}
	// Rule 7: Prefer native transport.
	ea, eb := ua && da.Source.Encapsulated, ub && db.Source.Encapsulated
	if ea != eb {
		return prefer(eb), Dst7
	}
	// Rule 8: Prefer smaller scope.
	if sa, sb := slowScope(s, da.Addr), slowScope(s, db.Addr); sa != sb {
		return prefer(sa < sb), Dst8
	}
	// RFC 8305 section 4: history first, then lower RTT (in whole µs).
	if s.history != nil {
		ra, oka := slowRTT(s, na.addr)
		rb, okb := slowRTT(s, nb.addr)
		if oka != okb {
			return prefer(oka), DstHistory
		}
		if oka && ra != rb {
			return prefer(ra < rb), DstHistory
		}
	}
	// Rule 9: Use longest matching prefix.
	if ok, va, vb := slowRule9(s, da, db); ok && va != vb {
		return prefer(va > vb), Dst9
	}
	// Rule 10: Otherwise, leave the order unchanged.
	return 0, Dst10
}

func slowRTT(s *Selector, a netip.Addr) (int64, bool) {
	if !a.IsValid() {
		return 0, false
	}
	rtt, ok := s.history.Lookup(a)
	if !ok {
		return 0, false
	}
	us := int64(max(rtt, 0) / time.Microsecond)
	return min(us, 1<<24-1), true
}

// slowCompareSrc applies RFC 6724 section 5 to candidates SA and SB for D.
func slowCompareSrc(s *Selector, d netip.Addr, outIface string, nextHop netip.Addr, sa, sb Source) (int, Rule) {
	prefer := func(a bool) int {
		if a {
			return -1
		}
		return 1
	}
	cand := func(x Source) bool {
		return x.Addr.IsValid() && d.IsValid() && !x.Addr.IsMulticast() && !x.Addr.IsUnspecified() && slowIs4(x.Addr) == slowIs4(d)
	}
	if ca, cb := cand(sa), cand(sb); ca != cb {
		return prefer(ca), RuleNone
	}
	// Rule 1: Prefer same address.
	eq := func(x netip.Addr) bool { return x.Unmap().WithZone("") == d.Unmap().WithZone("") }
	if ea, eb := eq(sa.Addr), eq(sb.Addr); ea != eb {
		return prefer(ea), Src1
	}
	// Rule 2: Prefer appropriate scope.
	scA, scB, scD := slowScope(s, sa.Addr), slowScope(s, sb.Addr), slowScope(s, d)
	if scA < scB {
		if scA < scD {
			return prefer(false), Src2
		}
		return prefer(true), Src2
	}
	if scB < scA {
		if scB < scD {
			return prefer(true), Src2
		}
		return prefer(false), Src2
	}
	// Rule 3: Avoid deprecated addresses.
	if sa.Deprecated != sb.Deprecated {
		return prefer(sb.Deprecated), Src3
	}
	// Rule 4: Prefer home addresses.
	if ha, hb := slowHome(sa), slowHome(sb); ha != hb {
		return prefer(ha > hb), Src4
	}
	// Rule 5: Prefer outgoing interface.
	if outIface != "" && (sa.Interface == outIface) != (sb.Interface == outIface) {
		return prefer(sa.Interface == outIface), Src5
	}
	// Rule 5.5: Prefer addresses in a prefix advertised by the next-hop.
	if nextHop.IsValid() && (sa.NextHop == nextHop) != (sb.NextHop == nextHop) {
		return prefer(sa.NextHop == nextHop), Src5_5
	}
	// Rule 6: Prefer matching label.
	ld := s.table.Label(d)
	if la, lb := s.table.Label(sa.Addr) == ld, s.table.Label(sb.Addr) == ld; la != lb {
		return prefer(la), Src6
	}
	// Rule 7: Prefer temporary (or public) addresses.
	if sa.Temporary != sb.Temporary {
		return prefer(sa.Temporary != s.preferPublic), Src7
	}
	// Rule 8: Use longest matching prefix.
	if ca, cb := slowCPL(s, sa, d), slowCPL(s, sb, d); ca != cb {
		return prefer(ca > cb), Src8
	}
	return 0, SrcOrder
}

// slowSelectSource returns the first candidate that no other candidate
// beats.
func slowSelectSource(s *Selector, d netip.Addr, outIface string, nextHop netip.Addr, cands []Source) (Source, bool) {
next:
	for i, c := range cands {
		// Section 4: only unicast, specified addresses of D's family.
		if !d.IsValid() || !c.Addr.IsValid() || c.Addr.IsMulticast() || c.Addr.IsUnspecified() || slowIs4(c.Addr) != slowIs4(d) {
			continue
		}
		for j, o := range cands {
			if j == i {
				continue
			}
			if ord, _ := slowCompareSrc(s, d, outIface, nextHop, c, o); ord > 0 {
				continue next
			}
		}
		return c, true
	}
	return Source{}, false
}

// slowNAT64Info is what the NAT64 step knows of one destination.
type slowNAT64Info struct {
	addr, view netip.Addr // the destination; the address the rules read
	synth      netip.Addr // the IPv4 address it stands for, if any
	asV4       bool       // ranked as synth
	hairpin    bool       // synth is a usable destination of the list
}

// slowNAT64 reads d under s's NAT64 prefixes, with the octet positions of
// RFC 6052 section 2.2's figure.
func slowNAT64(s *Selector, list []Destination, d Destination) slowNAT64Info {
	in := slowNAT64Info{addr: d.Addr, view: d.Addr}
	for _, p := range s.nat64 {
		if !d.Addr.Is6() || d.Addr.Is4In6() || !p.Contains(d.Addr.WithZone("")) {
			continue
		}
		b := d.Addr.As16()
		if b[8] != 0 {
			continue
		}
		var v4 [4]byte
		k := 0
		for i := p.Bits() / 8; k < 4; i++ {
			if i != 8 { // bits 64-71, the u octet, carry nothing
				v4[k] = b[i]
				k++
			}
		}
		in.synth = netip.AddrFrom4(v4)
		in.asV4 = s.nat64Rank != NAT64AsIPv6
		if in.asV4 {
			in.view = in.synth
		}
		for _, o := range list {
			if slowIs4(o.Addr) && o.Addr.Unmap() == in.synth && o.Source.Addr.IsValid() && !o.Unreachable {
				in.hairpin = true
			}
		}
		break
	}
	return in
}

// slowFamilyV4 reports whether the rules see d as IPv4.
func slowFamilyV4(s *Selector, d Destination) bool {
	return slowIs4(slowNAT64(s, nil, d).view)
}
