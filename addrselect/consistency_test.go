package addrselect

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/dualstack/dualstack/policytable"
)

// Property tests: random inputs (fixed seeds) checked against the slow
// reference of slow_test.go by brute force over every pair.

// hashHistory is a deterministic History: about a third of the addresses
// have no history, the others an RTT between 0 and 40 ms.
type hashHistory struct{}

func (hashHistory) Lookup(a netip.Addr) (time.Duration, bool) {
	h := fnv.New32a()
	b, _ := a.MarshalBinary()
	h.Write(b)
	v := h.Sum32()
	if v%3 == 0 {
		return 0, false
	}
	return time.Duration(v%5) * 10 * time.Millisecond, true
}

var randBases = []netip.Addr{
	netip.MustParseAddr("2001:db8:1::1"),
	netip.MustParseAddr("2001:db8:1::2"),
	netip.MustParseAddr("2001:db8:70aa::a"),
	netip.MustParseAddr("2002:c633:6401::2"),
	netip.MustParseAddr("2001:0:4136:e378::1"),
	netip.MustParseAddr("fd11:1111:1111:1::1"),
	netip.MustParseAddr("fe80::1"),
	netip.MustParseAddr("fec0::1"),
	netip.MustParseAddr("3ffe::1"),
	netip.MustParseAddr("::1"),
	netip.MustParseAddr("::1.2.3.4"),
	netip.MustParseAddr("ff05::1"),
	netip.MustParseAddr("192.0.2.5"),
	netip.MustParseAddr("198.51.100.7"),
	netip.MustParseAddr("10.1.2.3"),
	netip.MustParseAddr("192.168.1.10"),
	netip.MustParseAddr("169.254.13.78"),
	netip.MustParseAddr("127.0.0.1"),
	netip.MustParseAddr("::ffff:203.0.113.1"),
}

// randAddr returns one of randBases with the bits after a random position
// randomized, so that common prefix lengths vary; sometimes a zone, the
// zero Addr or an unspecified address.
func randAddr(r *rand.Rand) netip.Addr {
	switch r.IntN(40) {
	case 0:
		return netip.Addr{}
	case 1:
		return netip.IPv6Unspecified()
	case 2:
		return netip.IPv4Unspecified()
	}
	a := randBases[r.IntN(len(randBases))]
	if r.IntN(3) == 0 {
		return a
	}
	if a.Is4() {
		b := a.As4()
		keep := 8 + r.IntN(25)
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if keep < 32 {
			mask := ^uint32(0) >> keep
			v = v&^mask | r.Uint32()&mask
		}
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	b := a.As16()
	keep := 16 + r.IntN(113)
	if a.Is4In6() {
		keep = max(keep, 96)
	}
	for i := keep; i < 128; i++ {
		if r.IntN(2) == 0 {
			b[i/8] ^= 1 << (7 - i%8)
		}
	}
	out := netip.AddrFrom16(b)
	if out.IsLinkLocalUnicast() && r.IntN(2) == 0 {
		out = out.WithZone("eth0")
	}
	return out
}

var prefixLens = []int{0, 0, 0, 16, 24, 32, 40, 48, 56, 64, 64, 96, 120, 128, 200, -1}

func randSource(r *rand.Rand, like netip.Addr) Source {
	if r.IntN(6) == 0 {
		return Source{}
	}
	a := randAddr(r)
	// Mostly the destination's family, as a real host would pick.
	for tries := 0; r.IntN(5) != 0 && a.IsValid() && like.IsValid() && isV4(a) != isV4(like) && tries < 20; tries++ {
		a = randAddr(r)
	}
	return Source{
		Addr:         a,
		PrefixLen:    prefixLens[r.IntN(len(prefixLens))],
		Deprecated:   r.IntN(5) == 0,
		Temporary:    r.IntN(4) == 0,
		Home:         r.IntN(6) == 0,
		CareOf:       r.IntN(6) == 0,
		Encapsulated: r.IntN(6) == 0,
		Interface:    []string{"", "eth0", "eth1"}[r.IntN(3)],
		NextHop:      []netip.Addr{{}, netip.MustParseAddr("fe80::a"), netip.MustParseAddr("fe80::b")}[r.IntN(3)],
	}
}

func randDestinations(r *rand.Rand, n int) []Destination {
	ds := make([]Destination, n)
	for i := range ds {
		if i > 0 && r.IntN(8) == 0 {
			ds[i] = ds[r.IntN(i)] // duplicates happen in real answers
			continue
		}
		a := randAddr(r)
		ds[i] = Destination{Addr: a, Source: randSource(r, a), Unreachable: r.IntN(20) == 0}
	}
	return ds
}

// testSelectors covers every variant the engine has.
func testSelectors() map[string]*Selector {
	m := map[string]*Selector{
		"nil":             nil,
		"zero":            {},
		"rfc6724":         RFC6724(),
		"rfc3484":         RFC3484(),
		"prefer-public":   RFC6724(WithPreferPublic(true)),
		"private-site":    RFC6724(WithPrivateIPv4Scope(policytable.ScopeSiteLocal)),
		"3484-private-gl": RFC3484(WithPrivateIPv4Scope(policytable.ScopeGlobal)),
		"history":         RFC6724(WithHistory(hashHistory{})),
		"glibc-table":     RFC6724(WithTable(policytable.Glibc())),
		"draft-table":     RFC6724(WithTable(policytable.Draft6724Update())),
		"full-prefix":     RFC6724(WithFullPrefixMatch(true)),
		"onlink-history":  RFC6724(WithRule9(Rule9OnLink), WithHistory(hashHistory{})),
	}
	for v := Rule9RFC; v <= Rule9Off+1; v++ {
		m["rule9-"+v.String()] = RFC6724(WithRule9(v))
	}
	return m
}

// checkConsistent verifies by brute force that out is SortDestinations'
// correct answer for in: a permutation; every pair that rules 1-9 order
// (per slowCompare) in that order; pairs of one family that no rule orders
// in input order; and, inside each class of destinations that rules 1-8
// and history do not separate, the output is contiguous and shows the
// families in the same sequence as the input.
func checkConsistent(s *Selector, in, out []Destination) error {
	if len(in) != len(out) {
		return fmt.Errorf("len %d, want %d", len(out), len(in))
	}
	idx := make([]int, len(out)) // input position of out[i]
	used := make([]bool, len(in))
	for i, d := range out {
		idx[i] = -1
		for j := range in {
			if !used[j] && in[j] == d {
				used[j], idx[i] = true, j
				break
			}
		}
		if idx[i] < 0 {
			return fmt.Errorf("output %d (%v) is not in the input (or repeated)", i, d.Addr)
		}
	}
	z := s.orZero()
	class := make([]int, len(out))
	for i := range class {
		class[i] = i
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			x, y := out[i], out[j]
			earlierIsX := idx[i] < idx[j]
			var ord int
			var rule Rule
			if earlierIsX {
				ord, rule = slowCompareIn(z, in, x, y)
			} else {
				ord, rule = slowCompareIn(z, in, y, x)
				ord = -ord
			}
			// ord < 0 now means "x first" is what the rule wants.
			switch {
			case rule != Dst10 && ord > 0:
				return fmt.Errorf("%s orders %v before %v but output has it at %d after %d", rule, y.Addr, x.Addr, j, i)
			case rule == Dst10 && slowFamilyV4(z, x) == slowFamilyV4(z, y) && !earlierIsX:
				return fmt.Errorf("%v and %v (same family, tied) swapped: input %d, %d", x.Addr, y.Addr, idx[i], idx[j])
			}
			if rule == Dst9 || rule == Dst10 {
				if class[j] > class[i] {
					class[j] = class[i]
				}
			}
		}
	}
	// Classes: contiguous, and the family pattern of the input kept.
	for i := 1; i < len(out); i++ {
		if class[i] != class[i-1] && class[i] < i {
			return fmt.Errorf("class of output %d (%v) is not contiguous", i, out[i].Addr)
		}
	}
	for start := 0; start < len(out); {
		end := start + 1
		for end < len(out) && class[end] == class[start] {
			end++
		}
		ins := slices.Clone(idx[start:end])
		slices.Sort(ins)
		for k := range ins {
			if slowFamilyV4(z, in[ins[k]]) != slowFamilyV4(z, out[start+k]) {
				return fmt.Errorf("family pattern of tied run at %d..%d changed", start, end)
			}
		}
		start = end
	}
	return nil
}

func TestSortConsistency(t *testing.T) {
	for name, s := range testSelectors() {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			for iter := range 250 {
				n := r.IntN(14)
				switch iter % 50 {
				case 7:
					n = 64
				case 8:
					n = 65 + r.IntN(40) // the allocating path
				}
				in := randDestinations(r, n)
				out := slices.Clone(in)
				s.SortDestinations(out)
				if err := checkConsistent(s, in, out); err != nil {
					t.Fatalf("iteration %d: %v\ninput:  %v\noutput: %v", iter, err, in, out)
				}
				// Deterministic: the same input gives the same output.
				again := slices.Clone(in)
				s.SortDestinations(again)
				if !slices.Equal(out, again) {
					t.Fatalf("iteration %d: second sort differs", iter)
				}
			}
		})
	}
}

// TestSortBigRuns exercises long runs of equal key in both families (the
// rule 9 pass for more than 32 members of a family).
func TestSortBigRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s := RFC6724()
	src6 := Source{Addr: netip.MustParseAddr("2001:db8:1::1"), PrefixLen: 128}
	src4 := Source{Addr: netip.MustParseAddr("192.0.2.1")}
	for iter := range 20 {
		in := make([]Destination, 150)
		for i := range in {
			if r.IntN(2) == 0 {
				b := netip.MustParseAddr("2001:db8:1::").As16()
				b[14], b[15] = byte(r.IntN(256)), byte(r.IntN(256))
				in[i] = Destination{Addr: netip.AddrFrom16(b), Source: src6}
			} else {
				in[i] = Destination{Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(r.IntN(256))}), Source: src4}
			}
		}
		out := slices.Clone(in)
		s.SortDestinations(out)
		if err := checkConsistent(s, in, out); err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
	}
}

func TestExplainMatchesReference(t *testing.T) {
	for name, s := range testSelectors() {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			z := s.orZero()
			for iter := range 150 {
				ds := randDestinations(r, 8)
				for i := range ds {
					for j := range ds {
						if i == j {
							continue
						}
						wantOrd, wantRule := slowCompare(z, ds[i], ds[j])
						d := s.Explain(ds[i], ds[j])
						if d.Rule != wantRule || sign(d.Order) != sign(wantOrd) && !(wantOrd == 0 && d.Order < 0) {
							t.Fatalf("iteration %d: Explain(%v, %v) = %v, %d; reference %v, %d\n%v", iter, ds[i], ds[j], d.Rule, d.Order, wantRule, wantOrd, d)
						}
						if c := s.Compare(ds[i], ds[j]); sign(c) != sign(wantOrd) {
							t.Fatalf("iteration %d: Compare(%v, %v) = %d; reference %d", iter, ds[i], ds[j], c, wantOrd)
						}
						if d.Reason == "" {
							t.Fatalf("Explain(%v, %v): empty reason", ds[i], ds[j])
						}
					}
				}
			}
		})
	}
}

func TestSelectSourceMatchesReference(t *testing.T) {
	hops := []netip.Addr{{}, netip.MustParseAddr("fe80::a"), netip.MustParseAddr("fe80::b")}
	for name, s := range testSelectors() {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			z := s.orZero()
			for iter := range 400 {
				dst := randAddr(r)
				cands := make([]Source, r.IntN(9))
				for i := range cands {
					cands[i] = randSource(r, dst)
				}
				iface := []string{"", "eth0", "eth1"}[r.IntN(3)]
				hop := hops[r.IntN(3)]
				got, ok := s.SelectSourceVia(dst, iface, hop, cands)
				want, wok := slowSelectSource(z, dst, iface, hop, cands)
				if ok != wok || got != want {
					t.Fatalf("iteration %d: SelectSourceVia(%v, %q, %v, %v) = %v, %v; reference %v, %v", iter, dst, iface, hop, cands, got, ok, want, wok)
				}
				for i := range cands {
					for j := range cands {
						wantOrd, wantRule := slowCompareSrc(z, dst, iface, hop, cands[i], cands[j])
						d := s.ExplainSourceVia(dst, iface, hop, cands[i], cands[j])
						if d.Rule != wantRule || (wantOrd != 0 && sign(d.Order) != sign(wantOrd)) || (wantOrd == 0 && d.Order != -1) {
							t.Fatalf("iteration %d: ExplainSourceVia(%v, %v, %v) = %v, %d; reference %v, %d", iter, dst, cands[i], cands[j], d.Rule, d.Order, wantRule, wantOrd)
						}
					}
				}
				if iface == "" && !hop.IsValid() {
					if g, gok := s.SelectSource(dst, cands); g != got || gok != ok {
						t.Fatalf("SelectSource and SelectSourceVia without a route differ")
					}
				}
			}
		})
	}
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}
