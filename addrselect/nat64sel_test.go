package addrselect

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/addrselect/nat64"
	"github.com/dualstack/dualstack/policytable"
)

var (
	wkp      = nat64.WellKnownPrefix
	nsp96    = netip.MustParsePrefix("2001:db8:64::/96")
	nsp40    = netip.MustParsePrefix("2001:db8:100::/40")
	nspNear  = netip.MustParsePrefix("2001:db8:1:64::/96") // close to the host's own prefix
	src6     = Source{Addr: mustAddr("2001:db8:1::10"), PrefixLen: 48}
	src4     = Source{Addr: mustAddr("198.51.100.10"), PrefixLen: 24}
	synth201 = mustAddr("64:ff9b::c000:201") // 192.0.2.1
)

// TestNAT64Selection: how known NAT64 prefixes change the order, which
// rule decides and what Explain says.
func TestNAT64Selection(t *testing.T) {
	native6 := Destination{Addr: mustAddr("2001:db8:2::1"), Source: src6}
	v4 := Destination{Addr: mustAddr("192.0.2.1"), Source: src4}
	v4NoSrc := Destination{Addr: mustAddr("192.0.2.1")}
	synth := Destination{Addr: synth201, Source: src6}
	near := Destination{Addr: mustAddr("2001:db8:1:64::c000:201"), Source: src6}
	tests := []struct {
		name string
		sel  *Selector
		in   []Destination
		want []netip.Addr
		// The Explain of in[0] and in[1]: its rule and words its Reason
		// holds.
		rule   Rule
		reason []string
	}{{
		name: "ipv6-only host: the synthesized address, then the IPv4 it stands for",
		sel:  RFC6724(WithNAT64(wkp)),
		in:   []Destination{v4NoSrc, synth},
		want: []netip.Addr{synth.Addr, v4.Addr},
		rule: Dst1,
		reason: []string{"prefer 64:ff9b::c000:201 over 192.0.2.1: the latter has no source",
			"64:ff9b::c000:201 synthesized from 192.0.2.1 by NAT64 prefix 64:ff9b::/96, ranked as IPv4"},
	}, {
		name: "dual-stack host without known prefixes: the hairpin through the translator wins",
		sel:  RFC6724(),
		in:   []Destination{v4, synth},
		want: []netip.Addr{synth.Addr, v4.Addr},
		rule: Dst6, reason: []string{"higher precedence (40 > 35)"},
	}, {
		name: "dual-stack host: native IPv4 before its synthesized twin",
		sel:  RFC6724(WithNAT64(wkp)),
		in:   []Destination{synth, v4},
		want: []netip.Addr{v4.Addr, synth.Addr},
		rule: DstNAT64,
		reason: []string{"prefer 192.0.2.1 over 64:ff9b::c000:201: the latter is translated by NAT64 although 192.0.2.1, the IPv4 address it stands for, is reachable natively",
			"synthesized from 192.0.2.1 by NAT64 prefix 64:ff9b::/96"},
	}, {
		name: "dual-stack host, ranked as IPv6: still no hairpin",
		sel:  RFC6724(WithNAT64(wkp), WithNAT64Rank(NAT64AsIPv6)),
		in:   []Destination{synth, v4},
		want: []netip.Addr{v4.Addr, synth.Addr},
		rule: DstNAT64, reason: []string{"reachable natively", "ranked as IPv6"},
	}, {
		name: "IPv4-mapped native address counts",
		sel:  RFC6724(WithNAT64(wkp)),
		in:   []Destination{synth, {Addr: mustAddr("::ffff:192.0.2.1"), Source: src4}},
		want: []netip.Addr{mustAddr("::ffff:192.0.2.1"), synth.Addr},
		rule: DstNAT64, reason: []string{"reachable natively"},
	}, {
		name: "unreachable IPv4 twin: no native path, the synthesized address first",
		sel:  RFC6724(WithNAT64(wkp)),
		in:   []Destination{{Addr: v4.Addr, Source: src4, Unreachable: true}, synth},
		want: []netip.Addr{synth.Addr, v4.Addr},
		rule: Dst1, reason: []string{"marked unreachable"},
	}, {
		name: "as IPv4: native IPv6 before the translated path",
		sel:  RFC6724(WithNAT64(nspNear)),
		in:   []Destination{near, native6},
		want: []netip.Addr{native6.Addr, near.Addr},
		rule: Dst6,
		reason: []string{"prefer 2001:db8:2::1 over 2001:db8:1:64::c000:201: higher precedence (40 > 35)",
			"2001:db8:1:64::c000:201 synthesized from 192.0.2.1 by NAT64 prefix 2001:db8:1:64::/96, ranked as IPv4"},
	}, {
		name: "as IPv6: the table ties them and rule 9 picks the translated path",
		sel:  RFC6724(WithNAT64(nspNear), WithNAT64Rank(NAT64AsIPv6)),
		in:   []Destination{near, native6},
		want: []netip.Addr{near.Addr, native6.Addr},
		rule: Dst9, reason: []string{"longer prefix shared with its source (48 > 46 bits", "ranked as IPv6"},
	}, {
		name: "as IPv4 under a table that prefers IPv4 (RFC 6724 section 10.3)",
		sel:  RFC6724(WithNAT64(nspNear), WithTable(preferIPv4Table())),
		in:   []Destination{native6, near},
		want: []netip.Addr{near.Addr, native6.Addr},
		rule: Dst6, reason: []string{"higher precedence (100 > 40)", "ranked as IPv4"},
	}, {
		name: "two synthesized addresses keep the DNS order (no rule 9 without a source of their family)",
		sel:  RFC6724(WithNAT64(wkp)),
		in:   []Destination{{Addr: mustAddr("64:ff9b::6440:50"), Source: src6}, synth},
		want: []netip.Addr{mustAddr("64:ff9b::6440:50"), synth.Addr},
		rule: Dst10, reason: []string{"input order kept", "synthesized from 100.64.0.80", "synthesized from 192.0.2.1"},
	}, {
		name: "a /40 prefix: the IPv4 address around the u octet",
		sel:  RFC6724(WithNAT64(nsp40)),
		in:   []Destination{{Addr: mustAddr("2001:db8:1c0:2:1::"), Source: src6}, v4},
		want: []netip.Addr{v4.Addr, mustAddr("2001:db8:1c0:2:1::")},
		rule: DstNAT64, reason: []string{"synthesized from 192.0.2.1 by NAT64 prefix 2001:db8:100::/40"},
	}, {
		name: "an address outside every known prefix is native IPv6",
		sel:  RFC6724(WithNAT64(nsp96)),
		in:   []Destination{synth, v4},
		want: []netip.Addr{synth.Addr, v4.Addr},
		rule: Dst6, reason: []string{"higher precedence (40 > 35)"},
	}, {
		name: "a prefix nat64.CheckPrefix refuses is ignored",
		sel:  RFC6724(WithNAT64(netip.MustParsePrefix("64:ff9b::/80"))),
		in:   []Destination{synth, v4},
		want: []netip.Addr{synth.Addr, v4.Addr},
		rule: Dst6, reason: []string{"higher precedence (40 > 35)"},
	}, {
		name: "stack profiles know nothing of NAT64",
		sel:  GoNet(WithNAT64(wkp)),
		in:   []Destination{synth, v4},
		want: []netip.Addr{synth.Addr, v4.Addr},
		rule: Dst6, reason: []string{"go: prefer 64:ff9b::c000:201 over 192.0.2.1"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Clone(tt.in)
			tt.sel.SortDestinations(got)
			if !slices.Equal(addrsOf(got), tt.want) {
				t.Errorf("SortDestinations: %v, want %v", addrsOf(got), tt.want)
			}
			d := tt.sel.Explain(tt.in[0], tt.in[1])
			if d.Rule != tt.rule {
				t.Errorf("Explain: rule %v, want %v (%s)", d.Rule, tt.rule, d.Reason)
			}
			for _, w := range tt.reason {
				if !strings.Contains(d.Reason, w) {
					t.Errorf("Explain reason %q lacks %q", d.Reason, w)
				}
			}
			// The order agrees with the pairwise decision.
			first := tt.in[0].Addr
			if d.Order > 0 {
				first = tt.in[1].Addr
			}
			if got[0].Addr != first {
				t.Errorf("sort puts %v first, Explain %v", got[0].Addr, first)
			}
		})
	}
}

// preferIPv4Table is RFC 6724 section 10.3's table: IPv4 above IPv6.
func preferIPv4Table() *policytable.Table {
	var es []policytable.Entry
	for _, e := range policytable.RFC6724().Entries() {
		if e.Prefix == netip.MustParsePrefix("::ffff:0:0/96") {
			e.Precedence = 100
		}
		es = append(es, e)
	}
	t, err := policytable.New(es)
	if err != nil {
		panic(err)
	}
	return t
}

// TestNAT64Facts: the Facts of a synthesized side, and Trace judging the
// NAT64 step within the whole list.
func TestNAT64Facts(t *testing.T) {
	s := RFC6724(WithNAT64(nsp96, wkp, wkp))
	if got := s.NAT64Prefixes(); !slices.Equal(got, []netip.Prefix{nsp96, wkp}) {
		t.Errorf("NAT64Prefixes() = %v, want the two distinct prefixes", got)
	}
	synth := Destination{Addr: synth201, Source: src6}
	other := Destination{Addr: mustAddr("2001:db8:64::cb00:7101"), Source: src6} // 203.0.113.1
	v4 := Destination{Addr: mustAddr("192.0.2.1"), Source: src4}

	d := s.Explain(synth, other)
	if d.A.SynthesizedFrom != mustAddr("192.0.2.1") || d.A.NAT64Prefix != wkp || d.A.NativeIPv4 {
		t.Errorf("A facts: from %v prefix %v native %v", d.A.SynthesizedFrom, d.A.NAT64Prefix, d.A.NativeIPv4)
	}
	if d.B.SynthesizedFrom != mustAddr("203.0.113.1") || d.B.NAT64Prefix != nsp96 {
		t.Errorf("B facts: from %v prefix %v", d.B.SynthesizedFrom, d.B.NAT64Prefix)
	}
	if d.A.Precedence != 35 || d.A.Label != 4 || d.A.SourceLabel != 4 {
		t.Errorf("as IPv4: precedence %d, label %d, source label %d; want 35, 4, 4", d.A.Precedence, d.A.Label, d.A.SourceLabel)
	}

	// In a list of three, the IPv4 address sits apart from its twin:
	// Trace still names the NAT64 step, as the sort applied it.
	in := []Destination{synth, other, v4}
	tr := s.Trace(in)
	var rules []Rule
	for _, x := range tr {
		rules = append(rules, x.Rule)
	}
	got := slices.Clone(in)
	s.SortDestinations(got)
	want := []netip.Addr{v4.Addr, other.Addr, synth.Addr} // rule 9: v4 shares 5 bits with its source
	if !slices.Equal(addrsOf(got), want) {
		t.Fatalf("SortDestinations: %v, want %v", addrsOf(got), want)
	}
	if len(tr) != 2 || tr[1].Rule != DstNAT64 || !tr[1].B.NativeIPv4 || tr[0].Rule == RuleNone {
		t.Errorf("Trace rules %v (%v)", rules, tr)
	}
	// Explain of the pair alone does not see 192.0.2.1.
	if d := s.Explain(other, synth); d.Rule == DstNAT64 {
		t.Errorf("Explain(%v, %v) without the IPv4 address: %v", other.Addr, synth.Addr, d)
	}
}

// nat64Selectors are the RFC engine's variants with NAT64 prefixes.
func nat64Selectors() map[string]*Selector {
	ps := []netip.Prefix{wkp, nsp96, nsp40, nat64.LocalUsePrefix}
	return map[string]*Selector{
		"as-ipv4":         RFC6724(WithNAT64(ps...)),
		"as-ipv6":         RFC6724(WithNAT64(ps...), WithNAT64Rank(NAT64AsIPv6)),
		"rfc3484":         RFC3484(WithNAT64(ps...)),
		"private-site":    RFC6724(WithNAT64(ps...), WithPrivateIPv4Scope(policytable.ScopeSiteLocal)),
		"onlink-history":  RFC6724(WithNAT64(ps...), WithRule9(Rule9OnLink), WithHistory(hashHistory{})),
		"ipv6only-rule9":  RFC6724(WithNAT64(ps...), WithRule9(Rule9IPv6Only), WithNAT64Rank(NAT64AsIPv6)),
		"prefer-ipv4":     RFC6724(WithNAT64(ps...), WithTable(preferIPv4Table())),
		"draft-table-v6":  RFC6724(WithNAT64(ps...), WithTable(policytable.Draft6724Update()), WithNAT64Rank(NAT64AsIPv6)),
		"full-prefix-v4":  RFC6724(WithNAT64(ps...), WithFullPrefixMatch(true)),
		"unknown-rank-v4": RFC6724(WithNAT64(ps...), WithNAT64Rank(7)),
	}
}

// randNAT64Destinations is randDestinations plus synthesized twins of
// some IPv4 destinations (and of some IPv4 addresses not in the list),
// in random places.
func randNAT64Destinations(r *rand.Rand, n int) []Destination {
	ds := randDestinations(r, n)
	ps := []netip.Prefix{wkp, nsp96, nsp40, netip.MustParsePrefix("64:ff9b:1:2::/64")}
	for i, m := 0, len(ds); i < m || i < 3; i++ {
		var v4 netip.Addr
		switch {
		case i < m && isV4(ds[i].Addr) && r.IntN(2) == 0:
			v4 = ds[i].Addr.Unmap()
		case r.IntN(4) == 0:
			v4 = netip.AddrFrom4([4]byte{100, 64, 0, byte(r.IntN(4))})
		default:
			continue
		}
		p := ps[r.IntN(len(ps))]
		a, err := nat64.Synthesize(p, v4)
		if err != nil {
			continue // the well-known prefix refuses non-global addresses
		}
		ds = append(ds, Destination{Addr: a, Source: randSource(r, a), Unreachable: r.IntN(20) == 0})
	}
	r.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	return ds
}

// TestNAT64Consistency: with NAT64 prefixes the sort is still consistent
// with the slow reference over the whole list, Explain and Compare agree
// with it pairwise, and Trace finds no pair against the rules that is
// not rule 9's.
func TestNAT64Consistency(t *testing.T) {
	for name, s := range nat64Selectors() {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			seen := map[Rule]int{} // deciding rules in Traces: the NAT64 cases must occur
			for iter := range 200 {
				n := r.IntN(12)
				if iter%40 == 7 {
					n = 70 // the long-list path
				}
				in := randNAT64Destinations(r, n)
				out := slices.Clone(in)
				s.SortDestinations(out)
				if err := checkConsistent(s, in, out); err != nil {
					t.Fatalf("iteration %d: %v\ninput:  %v\noutput: %v", iter, err, in, out)
				}
				for i := 0; i+1 < len(in) && i < 8; i++ {
					a, b := in[i], in[i+1]
					wantOrd, wantRule := slowCompare(s, a, b)
					d := s.Explain(a, b)
					if d.Rule != wantRule || sign(d.Order) != sign(wantOrd) && !(wantOrd == 0 && d.Order < 0) {
						t.Fatalf("iteration %d: Explain(%v, %v) = %v, %d; reference %v, %d", iter, a, b, d.Rule, d.Order, wantRule, wantOrd)
					}
					if c := s.Compare(a, b); sign(c) != sign(wantOrd) {
						t.Fatalf("iteration %d: Compare(%v, %v) = %d; reference %d", iter, a, b, c, wantOrd)
					}
				}
				for _, d := range s.Trace(in) {
					if d.A.SynthesizedFrom.IsValid() || d.B.SynthesizedFrom.IsValid() {
						seen[d.Rule]++
					}
					if d.Order > 0 || d.Rule == RuleNone && slowFamilyV4(s, Destination{Addr: d.A.Addr}) == slowFamilyV4(s, Destination{Addr: d.B.Addr}) {
						t.Fatalf("iteration %d: Trace: %v", iter, d)
					}
				}
			}
			if seen[DstNAT64] == 0 || seen[Dst1] == 0 || seen[Dst10]+seen[Dst9] == 0 {
				t.Errorf("too few NAT64 cases: %v", seen)
			}
		})
	}
}

// TestNAT64NoAllocs: known prefixes keep the sort and Compare free of
// allocations, with synthesized destinations in every list.
func TestNAT64NoAllocs(t *testing.T) {
	s := RFC6724(WithNAT64(wkp, nsp96))
	for _, n := range []int{2, 16, 64} {
		in := benchDestinations(n)
		synthesized := 0
		for i := 1; i < n; i += 2 { // the entry before each IPv4 one becomes its synthesized twin
			if v4 := in[i].Addr; v4.Is4() && !in[i-1].Addr.Is4() {
				in[i-1].Addr, _ = nat64.Synthesize(nsp96, v4)
				synthesized++
			}
		}
		if synthesized == 0 {
			t.Fatalf("N=%d: no synthesized destination to sort", n)
		}
		buf := make([]Destination, n)
		if allocs := testing.AllocsPerRun(100, func() {
			copy(buf, in)
			s.SortDestinations(buf)
		}); allocs != 0 {
			t.Errorf("SortDestinations(N=%d): allocs = %v; want 0", n, allocs)
		}
	}
	a, b := Destination{Addr: synth201, Source: src6}, Destination{Addr: mustAddr("192.0.2.1"), Source: src4}
	if allocs := testing.AllocsPerRun(100, func() { s.Compare(a, b) }); allocs != 0 {
		t.Errorf("Compare: allocs = %v; want 0", allocs)
	}
}
