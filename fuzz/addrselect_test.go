package fuzz

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/policytable"
)

// Fuzz targets for addrselect: SortDestinations must return a
// permutation that respects every pair the rules order (checked by brute
// force through Explain), and SelectSource must pick a candidate no other
// candidate beats. Any address mix is allowed: zones, IPv4-mapped,
// unspecified, multicast and invalid addresses.

// maxFuzzDsts bounds the work per input (the checker is quadratic).
const maxFuzzDsts = 80

// byteReader hands out bytes of the fuzz input; past the end it returns 0.
type byteReader struct {
	b []byte
}

func (r *byteReader) empty() bool { return len(r.b) == 0 }

func (r *byteReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// addr decodes an address: IPv4 (4 bytes) or IPv6 (16 bytes), optionally
// IPv4-mapped, with a zone, or the zero Addr.
func (r *byteReader) addr(v4 bool, form byte) netip.Addr {
	if form&0x40 != 0 {
		return netip.Addr{}
	}
	var a netip.Addr
	if v4 {
		var b [4]byte
		for i := range b {
			b[i] = r.byte()
		}
		a = netip.AddrFrom4(b)
		if form&0x10 != 0 {
			a = netip.AddrFrom16(a.As16()) // ::ffff:a.b.c.d
		}
	} else {
		var b [16]byte
		for i := range b {
			b[i] = r.byte()
		}
		a = netip.AddrFrom16(b)
	}
	if form&0x20 != 0 && a.Is6() {
		a = a.WithZone("eth0")
	}
	return a
}

var fuzzHops = []netip.Addr{{}, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")}
var fuzzIfaces = []string{"", "eth0", "eth1"}

// source decodes a Source: 3 bytes of flags, then the address.
func (r *byteReader) source(dstV4 bool) addrselect.Source {
	f, g, form := r.byte(), r.byte(), r.byte()
	v4 := dstV4 != (form&0x80 != 0) // occasionally the other family
	return addrselect.Source{
		Addr:         r.addr(v4, form),
		PrefixLen:    int(g) - 64, // negative, unknown and too long included
		Deprecated:   f&1 != 0,
		Temporary:    f&2 != 0,
		Home:         f&4 != 0,
		CareOf:       f&8 != 0,
		Encapsulated: f&16 != 0,
		Interface:    fuzzIfaces[int(f>>5&3)%len(fuzzIfaces)],
		NextHop:      fuzzHops[int(f>>7)],
	}
}

// destinations decodes up to maxFuzzDsts destinations: a flags byte, the
// destination address, the source (if any).
func decodeDestinations(data []byte) []addrselect.Destination {
	r := &byteReader{b: data}
	var out []addrselect.Destination
	for !r.empty() && len(out) < maxFuzzDsts {
		f := r.byte()
		if f&0x80 != 0 && len(out) > 0 {
			out = append(out, out[int(f&0x3f)%len(out)]) // a duplicate
			continue
		}
		v4 := f&1 != 0
		d := addrselect.Destination{Addr: r.addr(v4, f), Unreachable: f&2 != 0}
		if f&4 != 0 {
			d.Source = r.source(v4)
		}
		out = append(out, d)
	}
	return out
}

// fuzzHistory is a pure History: RTT from the address bytes.
type fuzzHistory struct{}

func (fuzzHistory) Lookup(a netip.Addr) (time.Duration, bool) {
	b := a.As16()
	if b[15]%3 == 0 {
		return 0, false
	}
	return time.Duration(b[15]) * time.Millisecond, true
}

func fuzzSelectors() []*addrselect.Selector {
	ss := []*addrselect.Selector{
		nil,
		addrselect.RFC6724(),
		addrselect.RFC3484(),
		addrselect.RFC6724(addrselect.WithPreferPublic(true)),
		addrselect.RFC6724(addrselect.WithPrivateIPv4Scope(policytable.ScopeSiteLocal)),
		addrselect.RFC6724(addrselect.WithHistory(fuzzHistory{})),
		addrselect.RFC6724(addrselect.WithFullPrefixMatch(true)),
	}
	for v := addrselect.Rule9RFC; v <= addrselect.Rule9Off; v++ {
		ss = append(ss, addrselect.RFC6724(addrselect.WithRule9(v)))
	}
	return ss
}

// Stack profiles: only the permutation and no-panic properties apply
// (glibc's comparator, for one, is not consistent).
func stackSelectors() []*addrselect.Selector {
	return []*addrselect.Selector{addrselect.GoNet(), addrselect.Glibc(), addrselect.Musl(), addrselect.CAres()}
}

func fuzzIs4(a netip.Addr) bool { return a.Is4() || a.Is4In6() }

// checkSorted is the brute-force consistency checker: out must be a
// permutation of in; for every pair, a rule that orders them (per
// Explain, asked in input order) must be obeyed; two destinations of one
// family that no rule orders keep their input order; destinations tied on
// rules 1-8 and history (Explain says dst-9 or dst-10) are contiguous and
// their families appear in the input's sequence.
func checkSorted(t *testing.T, s *addrselect.Selector, in, out []addrselect.Destination, consistent bool) {
	t.Helper()
	idx := make([]int, len(out))
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
			t.Fatalf("output %d (%v) is not in the input: not a permutation", i, d.Addr)
		}
	}
	if len(in) != len(out) {
		t.Fatalf("len(out) = %d; want %d", len(out), len(in))
	}
	if !consistent {
		return
	}
	class := make([]int, len(out))
	for i := range class {
		class[i] = i
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			x, y, xFirstInInput := out[i], out[j], idx[i] < idx[j]
			var d addrselect.Decision
			wantXFirst := false
			if xFirstInInput {
				d = s.Explain(x, y)
				wantXFirst = d.Order < 0
			} else {
				d = s.Explain(y, x)
				wantXFirst = d.Order > 0
			}
			switch d.Rule {
			case addrselect.Dst10:
				if fuzzIs4(x.Addr) == fuzzIs4(y.Addr) && !xFirstInInput {
					t.Fatalf("tied %v and %v of one family swapped (input %d, %d)", x.Addr, y.Addr, idx[i], idx[j])
				}
			default:
				if !wantXFirst {
					t.Fatalf("%v: %v must precede %v, output has it at %d after %d\n%v", d.Rule, y.Addr, x.Addr, j, i, d)
				}
			}
			if d.Rule == addrselect.Dst9 || d.Rule == addrselect.Dst10 {
				class[j] = min(class[j], class[i])
			}
		}
	}
	for i := 1; i < len(out); i++ {
		if class[i] != class[i-1] && class[i] != i {
			t.Fatalf("tied destinations not contiguous at output %d (%v)", i, out[i].Addr)
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
			if fuzzIs4(in[ins[k]].Addr) != fuzzIs4(out[start+k].Addr) {
				t.Fatalf("family sequence of the tied run %d..%d changed", start, end)
			}
		}
		start = end
	}
}

// checkStackExplain checks a stack profile's Explain against its Compare
// on adjacent inputs, and its Trace.
func checkStackExplain(t *testing.T, s *addrselect.Selector, in []addrselect.Destination) {
	t.Helper()
	for i := 0; i+1 < len(in); i++ {
		d, c := s.Explain(in[i], in[i+1]), s.Compare(in[i], in[i+1])
		switch {
		case c == 0 && (d.Rule != addrselect.Dst10 || d.Order != -1):
			t.Fatalf("%s: Compare = 0 but Explain = %v, order %d; want dst-10, -1", s.Name(), d.Rule, d.Order)
		case c != 0 && (d.Order < 0) != (c < 0):
			t.Fatalf("%s: Compare = %d but Explain order %d (%v)", s.Name(), c, d.Order, d)
		case c != 0 && (d.Rule == addrselect.Dst10 || d.Rule == addrselect.RuleNone):
			t.Fatalf("%s: Compare = %d but Explain names no rule (%v)", s.Name(), c, d)
		case !strings.HasPrefix(d.Reason, s.Name()+": "):
			t.Fatalf("%s: reason %q does not name the profile", s.Name(), d.Reason)
		}
	}
	for _, d := range s.Trace(in) {
		if d.Order > 0 || d.Order == 0 && d.Rule != addrselect.RuleNone {
			t.Fatalf("%s: Trace decision %v with order %d contradicts the sorted order", s.Name(), d, d.Order)
		}
	}
}

// encodeDst is the inverse of decodeDestinations for seeds.
func encodeDst(dst, src string, flags byte) []byte {
	d := netip.MustParseAddr(dst)
	var b []byte
	f := flags
	if d.Is4() {
		f |= 1
	}
	if src != "" {
		f |= 4
	}
	b = append(b, f)
	b = append(b, d.AsSlice()...)
	if src != "" {
		s := netip.MustParseAddr(src)
		b = append(b, 0, 64+64, 0) // flags, PrefixLen 64, plain form
		b = append(b, s.AsSlice()...)
	}
	return b
}

func FuzzSortDestinations(f *testing.F) {
	// RFC 6724 section 10.2 and the derived round-robin example.
	f.Add(slices.Concat(encodeDst("2001:db8:1::1", "2001:db8:1::2", 0), encodeDst("198.51.100.121", "169.254.13.78", 0)), byte(1))
	f.Add(slices.Concat(encodeDst("2001:db8:1::1", "2001:db8:1::2", 0), encodeDst("10.1.2.3", "10.1.2.4", 0)), byte(2))
	f.Add(slices.Concat(encodeDst("2001:db8:3ffe::1", "2001:db8:3f44::2", 0), encodeDst("192.0.2.1", "192.0.2.9", 0), encodeDst("2001:db8:1::1", "2001:db8:1::2", 0)), byte(0))
	f.Add(slices.Concat(encodeDst("198.51.100.200", "198.51.100.5", 0), encodeDst("198.51.100.7", "198.51.100.5", 0), encodeDst("fe80::1", "", 0)), byte(9))
	f.Add([]byte{}, byte(0))
	sels := fuzzSelectors()
	stacks := stackSelectors()
	f.Fuzz(func(t *testing.T, data []byte, which byte) {
		in := decodeDestinations(data)
		if int(which) >= len(sels) {
			// A stack profile: a permutation, Explain agreeing with
			// Compare (ties are rule 10 with Order -1), and a Trace
			// that never contradicts the order it describes.
			s := stacks[int(which)%len(stacks)]
			out := slices.Clone(in)
			s.SortDestinations(out)
			checkSorted(t, s, in, out, false)
			checkStackExplain(t, s, in)
			return
		}
		s := sels[which]
		out := slices.Clone(in)
		s.SortDestinations(out)
		checkSorted(t, s, in, out, true)
		again := slices.Clone(in)
		s.SortDestinations(again)
		if !slices.Equal(out, again) {
			t.Fatalf("SortDestinations is not deterministic")
		}
		if tr := s.Trace(in); len(in) > 1 && len(tr) != len(in)-1 {
			t.Fatalf("len(Trace) = %d; want %d", len(tr), len(in)-1)
		}
	})
}

func FuzzSelectSource(f *testing.F) {
	f.Add([]byte{0, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0, 128, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0, 128, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, byte(0))
	f.Add([]byte{1, 192, 0, 2, 1, 0, 96, 0, 192, 0, 2, 7, 0, 96, 0x80, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}, byte(3))
	sels := fuzzSelectors()
	f.Fuzz(func(t *testing.T, data []byte, which byte) {
		r := &byteReader{b: data}
		f := r.byte()
		dst := r.addr(f&1 != 0, f)
		var cands []addrselect.Source
		for !r.empty() && len(cands) < 64 {
			cands = append(cands, r.source(f&1 != 0))
		}
		s := sels[int(which)%len(sels)]
		iface := fuzzIfaces[int(which>>4)%len(fuzzIfaces)]
		hop := fuzzHops[int(which>>6)%len(fuzzHops)]
		got, ok := s.SelectSourceVia(dst, iface, hop, cands)
		eligible := func(c addrselect.Source) bool {
			return dst.IsValid() && c.Addr.IsValid() && !c.Addr.IsMulticast() && !c.Addr.IsUnspecified() && fuzzIs4(c.Addr) == fuzzIs4(dst)
		}
		if ok != slices.ContainsFunc(cands, eligible) {
			t.Fatalf("SelectSourceVia ok = %v; a candidate is eligible: %v", ok, !ok)
		}
		if !ok {
			return
		}
		if !slices.Contains(cands, got) || !eligible(got) {
			t.Fatalf("picked %v: not an eligible candidate", got.Addr)
		}
		for _, c := range cands {
			if d := s.ExplainSourceVia(dst, iface, hop, got, c); d.Order > 0 {
				t.Fatalf("picked %v but %v beats it: %v", got.Addr, c.Addr, d)
			}
		}
		if iface == "" && !hop.IsValid() {
			if g2, ok2 := s.SelectSource(dst, cands); g2 != got || ok2 != ok {
				t.Fatalf("SelectSource = %v; SelectSourceVia without a route = %v", g2.Addr, got.Addr)
			}
		}
	})
}
