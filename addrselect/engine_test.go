package addrselect

import (
	"fmt"
	"github.com/dualstack/dualstack/internal/addrbits"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dualstack/dualstack/policytable"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func dst(addr, src string) Destination {
	d := Destination{Addr: mustAddr(addr)}
	if src != "" {
		d.Source = Source{Addr: mustAddr(src)}
	}
	return d
}

func withPrefix(d Destination, n int) Destination {
	d.Source.PrefixLen = n
	return d
}

// equalPrecTable gives IPv4 the precedence of native IPv6, so that IPv4
// and IPv6 destinations tie on rules 1-8 and only rule 9 (per family) and
// rule 10 remain.
var equalPrecTable = policytable.MustNew([]policytable.Entry{
	{Prefix: netip.MustParsePrefix("::/0"), Precedence: 40, Label: 1},
	{Prefix: netip.MustParsePrefix("::ffff:0:0/96"), Precedence: 40, Label: 4},
})

func TestRule9AcrossFamilies(t *testing.T) {
	// v6a shares 40 bits with its source, v6b 64; v4 sits between them in
	// the input. A pairwise comparator would want v6b < v6a (rule 9),
	// v6a < v4 and v4 < v6b (rule 10): a cycle. The engine reorders the
	// IPv6 members among the IPv6 positions and leaves v4 in place.
	s := RFC6724(WithTable(equalPrecTable))
	v6a := dst("2001:db8:3ffe::1", "2001:db8:3f44::2")
	v4 := dst("192.0.2.1", "192.0.2.9")
	v6b := dst("2001:db8:1::1", "2001:db8:1::2")
	in := []Destination{v6a, v4, v6b}
	got := slices.Clone(in)
	s.SortDestinations(got)
	want := []Destination{v6b, v4, v6a}
	if !slices.Equal(got, want) {
		t.Fatalf("SortDestinations = %v; want %v", addrsOf(got), addrsOf(want))
	}
	if d := s.Explain(v6a, v6b); d.Rule != Dst9 || d.Order <= 0 || d.A.CommonPrefixLen != 40 || d.B.CommonPrefixLen != 64 {
		t.Errorf("Explain(v6a, v6b) = %v order %d cpl %d/%d; want dst-9 > 0 with 40/64", d.Rule, d.Order, d.A.CommonPrefixLen, d.B.CommonPrefixLen)
	}
	if d := s.Explain(v6a, v4); d.Rule != Dst10 || d.Order != -1 {
		t.Errorf("Explain(v6a, v4) = %v order %d; want dst-10, -1", d.Rule, d.Order)
	}
	tr := s.Trace(in)
	if len(tr) != 2 || tr[0].Rule != RuleNone || tr[0].Order != 0 || tr[1].Rule != RuleNone {
		t.Fatalf("Trace = %v; want two RuleNone decisions (cross-family pairs displaced by rule 9)", tr)
	}
	if !strings.Contains(tr[0].Reason, "different families") {
		t.Errorf("Trace[0].Reason = %q; want it to mention different families", tr[0].Reason)
	}
}

func TestRule9Variants(t *testing.T) {
	rr := func(prefix int) []Destination { // derived-D04: IPv4 round robin
		return []Destination{
			withPrefix(dst("198.51.100.200", "198.51.100.5"), prefix),
			withPrefix(dst("198.51.100.7", "198.51.100.5"), prefix),
		}
	}
	same64 := func(prefix int) []Destination { // derived-D05/D06: same /64
		return []Destination{
			withPrefix(dst("2001:db8:1::ff", "2001:db8:1::2"), prefix),
			withPrefix(dst("2001:db8:1::3", "2001:db8:1::2"), prefix),
		}
	}
	far := func(prefix int) []Destination { // different /64s: 40 vs 64+ bits
		return []Destination{
			withPrefix(dst("2001:db8:3ffe::1", "2001:db8:1::2"), prefix),
			withPrefix(dst("2001:db8:1::1", "2001:db8:1::2"), prefix),
		}
	}
	tests := []struct {
		name    string
		variant Rule9Variant
		in      []Destination
		swapped bool // whether the result is the input reversed
		reason  string
	}{
		{"rfc/ipv4", Rule9RFC, rr(0), true, "30 vs 24 bits over an assumed /32"},
		{"rfc/ipv4-/24", Rule9RFC, rr(24), false, "bounded by /24: 24 = 24"},
		{"rfc/ipv6-same64", Rule9RFC, same64(0), false, "bounded by the assumed /64"},
		{"rfc/ipv6-/128", Rule9RFC, same64(128), true, "126 vs 120 bits"},
		{"ipv6-only/ipv4", Rule9IPv6Only, rr(0), false, "IPv4 skipped"},
		{"ipv6-only/ipv6", Rule9IPv6Only, far(0), true, "64 vs 38"},
		{"cap64/ipv6-/128", Rule9IPv6Cap64, same64(128), false, "Go: at most 64 bits"},
		{"cap64/ipv4", Rule9IPv6Cap64, rr(0), false, "Go: IPv4 skipped"},
		{"same-subnet/ipv4-/24", Rule9SameSubnet, rr(24), true, "same /24: 30 vs 24 bits"},
		{"same-subnet/ipv4-/32", Rule9SameSubnet, rr(0), false, "not in the source's /32: tie"},
		{"same-subnet/ipv6", Rule9SameSubnet, same64(0), true, "glibc: all 128 bits"},
		{"on-link/ipv4-/24", Rule9OnLink, rr(24), false, "both on-link: DNS order"},
		{"on-link/ipv6-far", Rule9OnLink, far(0), true, "on-link first"},
		{"on-link/ipv6-same64", Rule9OnLink, same64(0), false, "both on-link"},
		{"off/ipv6", Rule9Off, far(0), false, "never applied"},
		{"off/ipv4", Rule9Off, rr(0), false, "never applied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := RFC6724(WithRule9(tt.variant))
			got := slices.Clone(tt.in)
			s.SortDestinations(got)
			want := slices.Clone(tt.in)
			if tt.swapped {
				slices.Reverse(want)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("SortDestinations = %v; want %v (%s)", addrsOf(got), addrsOf(want), tt.reason)
			}
			d := s.Explain(tt.in[0], tt.in[1])
			wantRule := Dst10
			if tt.swapped {
				wantRule = Dst9
			}
			if d.Rule != wantRule {
				t.Errorf("Explain = %v; want %v (%s)", d, wantRule, tt.reason)
			}
		})
	}
}

func TestPrivateIPv4Scope(t *testing.T) {
	private := dst("10.1.2.3", "10.1.2.4")
	v6 := dst("2002:c633:6401::1", "2002:c633:6401::2")
	tests := []struct {
		name string
		s    *Selector
		want policytable.Scope
	}{
		{"rfc6724", RFC6724(), policytable.ScopeGlobal},
		{"rfc6724-site", RFC6724(WithPrivateIPv4Scope(policytable.ScopeSiteLocal)), policytable.ScopeSiteLocal},
		{"rfc3484", RFC3484(), policytable.ScopeSiteLocal},
		{"rfc3484-table-kept", RFC3484(WithTable(policytable.RFC6724())), policytable.ScopeSiteLocal},
		{"rfc3484-global", RFC3484(WithPrivateIPv4Scope(policytable.ScopeGlobal)), policytable.ScopeGlobal},
		{"table-scopev4", RFC6724(WithTable(policytable.RFC3484())), policytable.ScopeSiteLocal},
		{"table-overridden", RFC6724(WithTable(policytable.RFC3484()), WithPrivateIPv4Scope(policytable.ScopeGlobal)), policytable.ScopeGlobal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.s.Explain(v6, private)
			if d.B.Scope != tt.want || d.B.SourceScope != tt.want {
				t.Errorf("Scope(10.1.2.3) = %v, source %v; want %v", d.B.Scope, d.B.SourceScope, tt.want)
			}
		})
	}
	// The shared tables are not modified by the options.
	if sc := policytable.RFC6724().Scope(mustAddr("10.1.2.3")); sc != policytable.ScopeGlobal {
		t.Errorf("policytable.RFC6724().Scope(10.1.2.3) = %v after options; want global", sc)
	}
	if sc := policytable.RFC3484().Scope(mustAddr("10.1.2.3")); sc != policytable.ScopeSiteLocal {
		t.Errorf("policytable.RFC3484().Scope(10.1.2.3) = %v after options; want site-local", sc)
	}
}

func TestDestinationRules(t *testing.T) {
	native := dst("2001:db8:1::1", "2001:db8:1::2")
	tunnel := dst("2001:db8:2::1", "2001:db8:1::2")
	tunnel.Source.Encapsulated = true
	homeOnly := dst("2001:db8:3::1", "2001:db8:1::2")
	homeOnly.Source.Home = true
	neither := dst("2001:db8:4::1", "2001:db8:1::2")
	careOf := dst("2001:db8:5::1", "2001:db8:1::2")
	careOf.Source.CareOf = true
	unreachable := dst("2001:db8:6::1", "2001:db8:1::2")
	unreachable.Unreachable = true
	noSource := dst("2001:db8:7::1", "")
	invalid := Destination{Source: Source{Addr: mustAddr("2001:db8:1::2")}}
	tests := []struct {
		name   string
		a, b   Destination
		rule   Rule
		order  int
		reason string
	}{
		{"dst-7-native", tunnel, native, Dst7, 1, "prefer 2001:db8:1::1 over 2001:db8:2::1: the other is reached through an encapsulating transition mechanism"},
		{"dst-4-home-vs-care-of", careOf, homeOnly, Dst4, 1, "prefer 2001:db8:3::1 over 2001:db8:5::1: its source is home, the other's is care-of"},
		// Documented deviation: the RFC orders neither pair.
		{"dst-4-home-vs-neither", neither, homeOnly, Dst4, 1, ""},
		{"dst-4-neither-vs-care-of", careOf, neither, Dst4, 1, ""},
		{"dst-1-unreachable", unreachable, native, Dst1, 1, "prefer 2001:db8:1::1 over 2001:db8:6::1: the latter is marked unreachable"},
		{"dst-1-no-source", noSource, native, Dst1, 1, "prefer 2001:db8:1::1 over 2001:db8:7::1: the latter has no source address (unusable)"},
		{"dst-1-invalid", invalid, native, Dst1, 1, ""},
		{"dst-10", native, dst("2001:db8:1::9", "2001:db8:1::2"), Dst10, -1, "keep 2001:db8:1::1 before 2001:db8:1::9: no rule prefers either, input order kept"},
	}
	s := RFC6724()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := s.Explain(tt.a, tt.b)
			if d.Rule != tt.rule || d.Order != tt.order {
				t.Fatalf("Explain = %v, order %d; want %v, %d", d, d.Order, tt.rule, tt.order)
			}
			if tt.reason != "" && d.Reason != tt.reason {
				t.Errorf("Reason = %q; want %q", d.Reason, tt.reason)
			}
			if got := d.String(); !strings.HasPrefix(got, tt.rule.String()+": ") {
				t.Errorf("String() = %q; want prefix %q", got, tt.rule.String()+": ")
			}
			got := []Destination{tt.a, tt.b}
			s.SortDestinations(got)
			first := tt.a
			if tt.order > 0 {
				first = tt.b
			}
			if got[0] != first {
				t.Errorf("SortDestinations put %v first; want %v", got[0].Addr, first.Addr)
			}
		})
	}
}

func TestExplainReasons(t *testing.T) {
	// RFC 6724 section 10.2, the IPv6-vs-IPv4 example decided by precedence.
	s := RFC6724()
	d := s.Explain(dst("10.1.2.3", "10.1.2.4"), dst("2001:db8:1::1", "2001:db8:1::2"))
	want := "dst-6: prefer 2001:db8:1::1 over 10.1.2.3: higher precedence (40 > 35)"
	if d.String() != want {
		t.Errorf("Explain(...).String() = %q; want %q", d.String(), want)
	}
	if d.A.Precedence != 35 || d.B.Precedence != 40 || d.A.Label != 4 || d.B.Label != 1 || !d.A.Usable {
		t.Errorf("Facts = %+v / %+v; want precedence 35/40, labels 4/1", d.A, d.B)
	}
	src := s.ExplainSource(mustAddr("2001:db8:1::1"), Source{Addr: mustAddr("fe80::1")}, Source{Addr: mustAddr("2001:db8:3::1")})
	wantSrc := "src-2: prefer source 2001:db8:3::1 over fe80::1 for 2001:db8:1::1: appropriate scope (global vs link-local for a global destination)"
	if src.String() != wantSrc || src.Order != 1 {
		t.Errorf("ExplainSource = %q (order %d); want %q (order 1)", src.String(), src.Order, wantSrc)
	}
	if src.A.Source != mustAddr("fe80::1") || src.A.Addr != mustAddr("2001:db8:1::1") || src.A.SourceScope != policytable.ScopeLinkLocal {
		t.Errorf("ExplainSource facts A = %+v", src.A)
	}
}

type mapHistory map[netip.Addr]time.Duration

func (h mapHistory) Lookup(a netip.Addr) (time.Duration, bool) {
	rtt, ok := h[a]
	return rtt, ok
}

func TestHistory(t *testing.T) {
	h := mapHistory{
		mustAddr("2001:db8:9::1"): 80 * time.Millisecond,
		mustAddr("2001:db8:8::1"): 20 * time.Millisecond,
	}
	s := RFC6724(WithHistory(h))
	close := dst("2001:db8:1::1", "2001:db8:1::2") // rule 9 would put it first
	slow := dst("2001:db8:9::1", "2001:db8:1::2")
	fast := dst("2001:db8:8::1", "2001:db8:1::2")
	v4 := dst("192.0.2.1", "192.0.2.2") // precedence (rule 6) beats history
	got := []Destination{v4, close, slow, fast}
	s.SortDestinations(got)
	want := []Destination{fast, slow, close, v4}
	if !slices.Equal(got, want) {
		t.Fatalf("SortDestinations = %v; want %v", addrsOf(got), addrsOf(want))
	}
	if d := s.Explain(slow, fast); d.Rule != DstHistory || d.Order != 1 || !strings.Contains(d.Reason, "20ms < 80ms") {
		t.Errorf("Explain(slow, fast) = %v (order %d); want dst-history, 1, 20ms < 80ms", d, d.Order)
	}
	if d := s.Explain(close, slow); d.Rule != DstHistory || d.Order != 1 || !strings.Contains(d.Reason, "has connection history") {
		t.Errorf("Explain(close, slow) = %v (order %d); want dst-history, 1", d, d.Order)
	}
	// Without history rule 9 decides.
	got = []Destination{slow, close}
	RFC6724().SortDestinations(got)
	if got[0] != close {
		t.Errorf("without history: %v first; want %v", got[0].Addr, close.Addr)
	}
}

func TestSelectSourceVia(t *testing.T) {
	r1, r2 := mustAddr("fe80::1"), mustAddr("fe80::2")
	a := Source{Addr: mustAddr("2001:db8:a::10"), Interface: "eth0", NextHop: r1}
	b := Source{Addr: mustAddr("2001:db8:b::10"), Interface: "eth1", NextHop: r2}
	c := Source{Addr: mustAddr("2001:db8:c::10"), Interface: "eth1", NextHop: r1}
	d := mustAddr("2001:db8:ffff::1")
	cands := []Source{a, b, c}
	tests := []struct {
		name  string
		iface string
		hop   netip.Addr
		want  Source
		rule  Rule // between want and the runner-up listed in other
		other Source
	}{
		{"no-route", "", netip.Addr{}, a, SrcOrder, b},
		{"rule5", "eth1", netip.Addr{}, b, Src5, a},
		{"rule5.5", "", r2, b, Src5_5, a},
		{"rule5-then-5.5", "eth1", r1, c, Src5_5, b},
	}
	s := RFC6724()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.SelectSourceVia(d, tt.iface, tt.hop, cands)
			if !ok || got != tt.want {
				t.Fatalf("SelectSourceVia = %v, %v; want %v", got.Addr, ok, tt.want.Addr)
			}
			if e := s.ExplainSourceVia(d, tt.iface, tt.hop, tt.want, tt.other); e.Rule != tt.rule || e.Order != -1 {
				t.Errorf("ExplainSourceVia = %v (order %d); want %v, -1", e, e.Order, tt.rule)
			}
		})
	}
}

func TestSelectSourceExclusions(t *testing.T) {
	s := RFC6724()
	tests := []struct {
		name  string
		dst   string
		cands []Source
		want  string // "" = none
	}{
		{"multicast", "2001:db8::1", []Source{{Addr: mustAddr("ff02::1")}, {Addr: mustAddr("fe80::1")}}, "fe80::1"},
		{"unspecified", "2001:db8::1", []Source{{Addr: mustAddr("::")}}, ""},
		{"invalid", "2001:db8::1", []Source{{}}, ""},
		{"other-family", "192.0.2.1", []Source{{Addr: mustAddr("2001:db8::2")}, {Addr: mustAddr("192.0.2.2")}}, "192.0.2.2"},
		{"mapped-is-ipv4", "::ffff:192.0.2.1", []Source{{Addr: mustAddr("2001:db8::2")}, {Addr: mustAddr("192.0.2.2")}}, "192.0.2.2"},
		{"none", "2001:db8::1", nil, ""},
		{"zero-dst", "", []Source{{Addr: mustAddr("2001:db8::2")}}, ""},
		{"same-address-zone", "fe80::1%eth0", []Source{{Addr: mustAddr("fe80::2")}, {Addr: mustAddr("fe80::1")}}, "fe80::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d netip.Addr
			if tt.dst != "" {
				d = mustAddr(tt.dst)
			}
			got, ok := s.SelectSource(d, tt.cands)
			if tt.want == "" {
				if ok {
					t.Fatalf("SelectSource = %v; want none", got.Addr)
				}
				return
			}
			if !ok || got.Addr != mustAddr(tt.want) {
				t.Fatalf("SelectSource = %v, %v; want %s", got.Addr, ok, tt.want)
			}
		})
	}
}

func TestSourceRule7(t *testing.T) {
	d := mustAddr("2001:db8:1::d5e3:0:0:1")
	pub := Source{Addr: mustAddr("2001:db8:1::2")}
	tmp := Source{Addr: mustAddr("2001:db8:1::d5e3:7953:13eb:22e8"), Temporary: true}
	for _, tt := range []struct {
		s    *Selector
		want Source
	}{
		{RFC6724(), tmp},
		{RFC6724(WithPreferPublic(true)), pub},
		{RFC3484(), pub},
		{RFC3484(WithPreferPublic(false)), tmp},
	} {
		got, _ := tt.s.SelectSource(d, []Source{pub, tmp})
		if got != tt.want {
			t.Errorf("%s: SelectSource = %v; want %v", tt.s.Name(), got.Addr, tt.want.Addr)
		}
	}
}

func TestZeroAndNilSelector(t *testing.T) {
	r := newTestRand(11)
	for range 50 {
		in := randDestinations(r, 10)
		want := slices.Clone(in)
		RFC6724().SortDestinations(want)
		for _, s := range []*Selector{nil, {}} {
			got := slices.Clone(in)
			s.SortDestinations(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%v selector: %v; RFC6724(): %v", s, addrsOf(got), addrsOf(want))
			}
		}
	}
	var s *Selector
	if s.Name() != "rfc6724" || !s.Table().Equal(policytable.RFC6724()) {
		t.Errorf("nil Selector: Name %q, table differs from RFC 6724", s.Name())
	}
}

func TestNoAllocs(t *testing.T) {
	s := RFC6724()
	for _, n := range []int{2, 16, 64} {
		in := benchDestinations(n)
		buf := make([]Destination, n)
		allocs := testing.AllocsPerRun(100, func() {
			copy(buf, in)
			s.SortDestinations(buf)
		})
		if allocs != 0 {
			t.Errorf("SortDestinations(N=%d): allocs = %v; want 0", n, allocs)
		}
	}
	cands := benchCandidates()
	d := mustAddr("2001:db8:1::99")
	if allocs := testing.AllocsPerRun(100, func() { s.SelectSource(d, cands) }); allocs != 0 {
		t.Errorf("SelectSource: allocs = %v; want 0", allocs)
	}
	a, b := benchDestinations(2)[0], benchDestinations(2)[1]
	if allocs := testing.AllocsPerRun(100, func() { s.Compare(a, b) }); allocs != 0 {
		t.Errorf("Compare: allocs = %v; want 0", allocs)
	}
	for _, p := range []*Selector{GoNet(), Glibc(), Musl(), CAres()} {
		in := benchDestinations(16)
		buf := make([]Destination, len(in))
		if allocs := testing.AllocsPerRun(100, func() {
			copy(buf, in)
			p.SortDestinations(buf)
		}); allocs != 0 {
			t.Errorf("%s SortDestinations(N=16): allocs = %v; want 0", p.Name(), allocs)
		}
	}
}

// TestConcurrentUse shares Selectors (and the lazily built default table)
// between goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	in := benchDestinations(20)
	sels := []*Selector{nil, {}, RFC6724(), RFC3484(), RFC6724(WithRule9(Rule9OnLink))}
	want := make([][]Destination, len(sels))
	for i, s := range sels {
		want[i] = slices.Clone(in)
		s.SortDestinations(want[i])
	}
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			var err error
			for iter := 0; iter < 50 && err == nil; iter++ {
				for i, s := range sels {
					got := slices.Clone(in)
					s.SortDestinations(got)
					if !slices.Equal(got, want[i]) {
						err = fmt.Errorf("selector %d: concurrent sort differs", i)
					}
					s.Explain(in[0], in[1])
					s.SelectSource(in[0].Addr, benchCandidates())
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestGoScopeMatchesNetip checks the Go profile's scopes against Go's own
// classification, written with the netip predicates as net does.
func TestGoScopeMatchesNetip(t *testing.T) {
	ref := func(a netip.Addr) policytable.Scope {
		a = a.Unmap()
		if a.IsLoopback() || a.IsLinkLocalUnicast() {
			return policytable.ScopeLinkLocal
		}
		if a.Is4() {
			return policytable.ScopeGlobal
		}
		return policytable.ScopeIPv6(a)
	}
	addrs := []netip.Addr{
		mustAddr("127.0.0.1"), mustAddr("127.255.0.9"), mustAddr("128.0.0.1"), mustAddr("126.255.255.255"),
		mustAddr("169.254.0.1"), mustAddr("169.253.255.255"), mustAddr("169.255.0.0"), mustAddr("224.0.0.1"),
		mustAddr("::ffff:127.0.0.1"), mustAddr("::ffff:169.254.3.4"), mustAddr("::1"), mustAddr("::"),
		mustAddr("fe80::1%eth0"), mustAddr("febf::1"), mustAddr("fec0::1"), mustAddr("ff02::1"), mustAddr("ff05::2"),
		mustAddr("2001:db8::1"), mustAddr("10.0.0.1"), mustAddr("192.168.1.1"),
	}
	r := newTestRand(41)
	for range 3000 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		switch r.IntN(4) {
		case 0:
			addrs = append(addrs, netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]}))
		case 1:
			b[0], b[1] = 0xfe, 0x80|b[1]&0x3f
			addrs = append(addrs, netip.AddrFrom16(b))
		default:
			addrs = append(addrs, netip.AddrFrom16(b))
		}
	}
	for _, a := range addrs {
		if got, want := goProfile.scope(GoNet(), a, addrbits.From(a), goProfile.isV4(a, addrbits.From(a))), ref(a); got != want {
			t.Errorf("goScope(%v) = %v; want %v", a, got, want)
		}
	}
}

// stackSelectors are the stack profiles, for tests over every profile.
func stackSelectors() map[string]*Selector {
	return map[string]*Selector{"go": GoNet(), "glibc": Glibc(), "musl": Musl(), "cares": CAres()}
}

// TestKeyMatchesRules checks what the engine derives from the rule
// definitions: each rule's value fits the bits its definition gives it,
// and comparing two packed keys decides as applying the keyed rules one
// by one does, for the RFC engine's variants and every stack profile.
func TestKeyMatchesRules(t *testing.T) {
	sels := testSelectors()
	for name, s := range stackSelectors() {
		sels[name] = s
	}
	for name, s := range sels {
		z := s.orZero()
		p := z.prof
		keyed := p.rules[:len(p.rules)-len(p.tail)]
		r := newTestRand(31)
		for range 300 {
			ds := randDestinations(r, 2)
			// IPv4-mapped addresses, zoned or not, take the IPv4 scope
			// rules (a fuzz input once found the hot path gave them
			// IPv6 scopes): map some destinations and sources.
			for i := range ds {
				if r.IntN(4) == 0 && ds[i].Addr.Is4() {
					ds[i].Addr = netip.AddrFrom16(ds[i].Addr.As16())
				}
				if src := &ds[i].Source; r.IntN(4) == 0 && src.Addr.Is4() {
					src.Addr = netip.AddrFrom16(src.Addr.As16()).WithZone("eth0")
				}
			}
			a, b := z.dstAttrs(&ds[0], nil, nil), z.dstAttrs(&ds[1], nil, nil)
			checkSlots(t, &a)
			want, _ := p.compareRules(keyed, &a, &b)
			if got := -cmpU64(p.key(&a), p.key(&b)); got != want {
				t.Fatalf("%s: keys of %v and %v compare %d; the keyed rules %d", name, ds[0], ds[1], got, want)
			}
		}
	}
}

// checkSlots checks that every attribute reads back from its rule's
// place in a.vals: no value overflows into its neighbour's bits.
func checkSlots(t *testing.T, a *dattr) {
	t.Helper()
	attrs := map[Rule]uint64{
		Dst1: b2u(a.usable), DstNAT64: b2u(a.hairpin), Dst2: b2u(a.scope == a.srcScope),
		Dst3: b2u(a.deprecated), Dst4: uint64(a.homeRank), Dst5: b2u(a.label == a.srcLabel),
		Dst6: uint64(a.prec), Dst7: b2u(a.encap), Dst8: uint64(a.scope),
		DstHistory: uint64(a.hist), Dst9: uint64(a.r9),
	}
	for _, r := range dstOrder {
		sl, d := slotOf(r), &dstRules[r]
		if got := ruleValue(a.vals&sl.mask>>sl.shift, d.prefer, d.bits); got != attrs[r] {
			t.Fatalf("%v: reads back %d from its slot; the attribute is %d", r, got, attrs[r])
		}
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestProfileDerivation checks how compile splits each profile's rules
// into the packed key and the pairwise tail, and that it refuses a
// profile the consistent sort cannot run.
func TestProfileDerivation(t *testing.T) {
	tests := []struct {
		name  string
		p     *profile
		keyed []Rule
		tail  []Rule
	}{
		{"rfc6724", RFC6724().prof, []Rule{Dst1, Dst2, Dst3, Dst4, Dst5, Dst6, Dst7, Dst8}, []Rule{Dst9}},
		{"history", RFC6724(WithHistory(mapHistory{})).prof, []Rule{Dst1, Dst2, Dst3, Dst4, Dst5, Dst6, Dst7, Dst8, DstHistory}, []Rule{Dst9}},
		{"rule9-off", RFC6724(WithRule9(Rule9Off)).prof, []Rule{Dst1, Dst2, Dst3, Dst4, Dst5, Dst6, Dst7, Dst8}, nil},
		{"go", goProfile, []Rule{Dst1, Dst2, Dst5, Dst6, Dst8}, []Rule{Dst9}},
		{"glibc", glibcProfile, []Rule{Dst1, Dst2, Dst3, Dst4, Dst5, Dst6}, []Rule{Dst7, Dst8, Dst9}},
		{"musl", muslProfile, []Rule{Dst1, Dst2, Dst5, Dst6, Dst8, Dst9}, nil},
		{"cares", caresProfile, []Rule{Dst1, Dst2, Dst5, Dst6, Dst8}, []Rule{Dst9}},
	}
	for _, tt := range tests {
		keyed := tt.p.rules[:len(tt.p.rules)-len(tt.p.tail)]
		if !slices.Equal(keyed, tt.keyed) || !slices.Equal(tt.p.tail, tt.tail) {
			t.Errorf("%s: keyed %v, tail %v; want %v, %v", tt.name, keyed, tt.p.tail, tt.keyed, tt.tail)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("compile accepted a consistent sort with rule 7 after its key")
		}
	}()
	(&profile{name: "bad", rules: []Rule{Dst1, Dst7, Dst9}, rule7AcrossInterfaces: true, sort: sortConsistent}).compile()
}
