package addrselect_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/policytable"
)

// pd builds a Destination from "ADDR" or "ADDR<SRC[/PLEN]" (the source
// the kernel would pick); no source means unusable.
func pd(t testing.TB, s string) addrselect.Destination {
	t.Helper()
	addr, src, hasSrc := strings.Cut(s, "<")
	d := addrselect.Destination{Addr: netip.MustParseAddr(addr)}
	if hasSrc {
		a, plen, hasLen := strings.Cut(src, "/")
		d.Source.Addr = netip.MustParseAddr(a)
		if hasLen {
			if _, err := fmt.Sscan(plen, &d.Source.PrefixLen); err != nil {
				t.Fatal(err)
			}
		}
	}
	return d
}

func sortWith(t testing.TB, sel *addrselect.Selector, in ...string) []string {
	t.Helper()
	dsts := make([]addrselect.Destination, len(in))
	for i, s := range in {
		dsts[i] = pd(t, s)
	}
	sel.SortDestinations(dsts)
	out := make([]string, len(dsts))
	for i, d := range dsts {
		out[i] = d.Addr.String()
	}
	return out
}

// TestProfileQuirks checks, on small inputs whose orders were worked out
// by hand from each stack's rules (see the profiles' documentation), the
// behaviours that set the stacks apart.
func TestProfileQuirks(t *testing.T) {
	tests := []struct {
		name string
		sel  *addrselect.Selector
		in   []string
		want []string
	}{
		// Rule 9 for IPv4 in glibc: common bits count only inside the
		// source's subnet. 192.0.2.11 shares 31 bits with 192.0.2.10 in
		// its /24; 198.51.100.1 is outside it and gets 0.
		{"glibc/ipv4-same-subnet", addrselect.Glibc(),
			[]string{"198.51.100.1<192.0.2.10/24", "192.0.2.11<192.0.2.10/24"},
			[]string{"192.0.2.11", "198.51.100.1"}},
		// Without address information (PrefixLen 0) glibc's netmask
		// keeps all 32 bits: neither is "in the subnet", input order.
		{"glibc/ipv4-no-prefix-len", addrselect.Glibc(),
			[]string{"198.51.100.1<192.0.2.10", "192.0.2.11<192.0.2.10"},
			[]string{"198.51.100.1", "192.0.2.11"}},
		// ... except a destination equal to its source (32 bits).
		{"glibc/ipv4-no-prefix-len-self", addrselect.Glibc(),
			[]string{"198.51.100.1<192.0.2.10", "192.0.2.10<192.0.2.10"},
			[]string{"192.0.2.10", "198.51.100.1"}},
		// An IPv4-mapped destination is IPv6 to glibc: global scope,
		// matching its (mapped) global source, while plain 169.254.1.1
		// is link-local and its global source does not match (rule 2).
		{"glibc/mapped-is-ipv6", addrselect.Glibc(),
			[]string{"169.254.1.1<192.0.2.10/24", "::ffff:169.254.1.1<::ffff:192.0.2.10/24"},
			[]string{"::ffff:169.254.1.1", "169.254.1.1"}},
		// Rule 9 over all 128 bits in glibc, capped at 64 bits in Go:
		// both destinations share the source's /64.
		{"glibc/ipv6-128-bits", addrselect.Glibc(),
			[]string{"2001:db8:1:1:8000::1<2001:db8:1:1::5/64", "2001:db8:1:1::6<2001:db8:1:1::5/64"},
			[]string{"2001:db8:1:1::6", "2001:db8:1:1:8000::1"}},
		{"go/ipv6-64-bits", addrselect.GoNet(),
			[]string{"2001:db8:1:1:8000::1<2001:db8:1:1::5/64", "2001:db8:1:1::6<2001:db8:1:1::5/64"},
			[]string{"2001:db8:1:1:8000::1", "2001:db8:1:1::6"}},
		// Two unusable destinations: Go calls them equal, glibc and
		// musl order them by precedence (IPv4 10 or 35 < IPv6 40),
		// c-ares by a label "match" against a source of no family
		// (label 1, like the IPv6 destination).
		{"go/unusable-equal", addrselect.GoNet(),
			[]string{"192.0.2.1", "2001:db8::1"}, []string{"192.0.2.1", "2001:db8::1"}},
		{"glibc/unusable-precedence", addrselect.Glibc(),
			[]string{"192.0.2.1", "2001:db8::1"}, []string{"2001:db8::1", "192.0.2.1"}},
		{"musl/unusable-precedence", addrselect.Musl(),
			[]string{"192.0.2.1", "2001:db8::1"}, []string{"2001:db8::1", "192.0.2.1"}},
		{"cares/unusable-label", addrselect.CAres(),
			[]string{"192.0.2.1", "2001:db8::1"}, []string{"2001:db8::1", "192.0.2.1"}},
		// c-ares's table gives a ULA precedence 3 (below IPv4's 35);
		// glibc's built-in one gives it the ::/0 precedence 40.
		{"cares/unusable-ula", addrselect.CAres(),
			[]string{"fd00::1", "192.0.2.1"}, []string{"192.0.2.1", "fd00::1"}},
		{"glibc/unusable-ula", addrselect.Glibc(),
			[]string{"192.0.2.1", "fd00::1"}, []string{"fd00::1", "192.0.2.1"}},
		// musl leaves an all-IPv4 answer alone, even with an unusable
		// destination first.
		{"musl/ipv4-only-unsorted", addrselect.Musl(),
			[]string{"192.0.2.1", "198.51.100.1<198.51.100.5/24"},
			[]string{"192.0.2.1", "198.51.100.1"}},
		{"glibc/ipv4-only-sorted", addrselect.Glibc(),
			[]string{"192.0.2.1", "198.51.100.1<198.51.100.5/24"},
			[]string{"198.51.100.1", "192.0.2.1"}},
		// musl gives 169.254/16 global scope and compares IPv4 by
		// prefix over the mapped form: 192.0.2.10 equals its source
		// (128 bits) and beats 169.254.0.1 (126 bits). Go sees
		// 169.254.0.1 as link-local and prefers it by rule 8.
		{"musl/ipv4-link-local-global", addrselect.Musl(),
			[]string{"169.254.0.1<169.254.0.2/16", "192.0.2.10<192.0.2.10/24", "2001:db8::1"},
			[]string{"192.0.2.10", "169.254.0.1", "2001:db8::1"}},
		{"go/ipv4-link-local", addrselect.GoNet(),
			[]string{"169.254.0.1<169.254.0.2/16", "192.0.2.10<192.0.2.10/24", "2001:db8::1"},
			[]string{"169.254.0.1", "192.0.2.10", "2001:db8::1"}},
		// musl compares an IPv4 and an IPv4-mapped destination by
		// prefix (both in mapped form): ::ffff:192.0.2.11 shares 127
		// bits with its source, 192.0.2.1 only 124. glibc never
		// compares the two families by prefix: input order.
		{"musl/rule9-across-families", addrselect.Musl(),
			[]string{"192.0.2.1<192.0.2.10/24", "::ffff:192.0.2.11<::ffff:192.0.2.10/24"},
			[]string{"::ffff:192.0.2.11", "192.0.2.1"}},
		{"glibc/rule9-one-family", addrselect.Glibc(),
			[]string{"192.0.2.1<192.0.2.10/24", "::ffff:192.0.2.11<::ffff:192.0.2.10/24"},
			[]string{"192.0.2.1", "::ffff:192.0.2.11"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, sortWith(t, tt.sel, tt.in...)); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGlibcTableOption checks that Glibc(WithTable(t)) sorts with t: a
// gai.conf raising IPv4 to precedence 100 puts IPv4 before IPv6.
func TestGlibcTableOption(t *testing.T) {
	conf := "precedence ::1/128 50\nprecedence ::/0 40\nprecedence 2002::/16 30\nprecedence ::/96 20\nprecedence ::ffff:0:0/96 100\n"
	tab, err := policytable.ParseGaiConf(strings.NewReader(conf))
	if err != nil {
		t.Fatal(err)
	}
	in := []string{"2001:db8::1<2001:db8::5/64", "192.0.2.1<192.0.2.10/24"}
	if diff := cmp.Diff([]string{"2001:db8::1", "192.0.2.1"}, sortWith(t, addrselect.Glibc(), in...)); diff != "" {
		t.Errorf("built-in table (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"192.0.2.1", "2001:db8::1"}, sortWith(t, addrselect.Glibc(addrselect.WithTable(tab)), in...)); diff != "" {
		t.Errorf("prefer-IPv4 gai.conf (-want +got):\n%s", diff)
	}
}

// TestGlibcScopeV4 checks that Glibc follows the scopev4 lines of its
// table: with 192.0.2.0/24 made site-local, rule 8 (smaller scope) puts
// 192.0.2.20 first; with the default scopes both are global and rule 9
// (29 common bits of 198.51.100.1 with .5, against 27 of 192.0.2.20 with
// .10) puts 198.51.100.1 first.
func TestGlibcScopeV4(t *testing.T) {
	tab, err := policytable.ParseGaiConf(strings.NewReader("scopev4 ::ffff:192.0.2.0/120 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	in := []string{"198.51.100.1<198.51.100.5/24", "192.0.2.20<192.0.2.10/24"}
	if diff := cmp.Diff([]string{"198.51.100.1", "192.0.2.20"}, sortWith(t, addrselect.Glibc(), in...)); diff != "" {
		t.Errorf("default scopes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"192.0.2.20", "198.51.100.1"}, sortWith(t, addrselect.Glibc(addrselect.WithTable(tab)), in...)); diff != "" {
		t.Errorf("scopev4 192.0.2.0/24 site-local (-want +got):\n%s", diff)
	}
}

// TestStackSortAlgorithm shows why the glibc profile needs glibc's merge
// sort: its comparator is not transitive, and on recorded case c0190 a
// stable sort with the very same comparator ([Selector.Compare]) gives an
// order glibc did not produce, while the profile gives glibc's.
func TestStackSortAlgorithm(t *testing.T) {
	cases := loadRecorded(t)
	i := slices.IndexFunc(cases, func(c recordedCase) bool { return c.ID == "c0190" })
	if i < 0 {
		t.Fatal("recorded case c0190 missing")
	}
	c := cases[i]
	want := c.Orders["glibc_default"]
	sel := addrselect.Glibc()

	dsts, err := c.destinations(c.Host.HasIPv6)
	if err != nil {
		t.Fatal(err)
	}
	stable := slices.Clone(dsts)
	slices.SortStableFunc(stable, sel.Compare)
	if diff := cmp.Diff(want, c.addrStrings(stable)); diff == "" {
		t.Errorf("a stable sort with glibc's comparator gave glibc's order; the case no longer shows the algorithm matters")
	}
	sel.SortDestinations(dsts)
	if diff := cmp.Diff(want, c.addrStrings(dsts)); diff != "" {
		t.Errorf("Glibc() order (-real +profile):\n%s", diff)
	}
}

// TestProfileCompare checks the stack comparators through Compare and
// Explain: the deciding rule and the sign, on pairs decided by hand.
func TestProfileCompare(t *testing.T) {
	tests := []struct {
		name string
		sel  *addrselect.Selector
		a, b string
		ord  int
		rule addrselect.Rule
	}{
		{"glibc/rule1", addrselect.Glibc(), "192.0.2.1", "198.51.100.1<198.51.100.5/24", 1, addrselect.Dst1},
		{"glibc/rule9", addrselect.Glibc(), "192.0.2.11<192.0.2.10/24", "198.51.100.1<192.0.2.10/24", -1, addrselect.Dst9},
		{"glibc/tie", addrselect.Glibc(), "198.51.100.1<192.0.2.10", "198.51.100.2<192.0.2.10", 0, addrselect.Dst10},
		{"go/unusable-tie", addrselect.GoNet(), "192.0.2.1", "2001:db8::1", 0, addrselect.Dst10},
		{"go/rule6", addrselect.GoNet(), "192.0.2.1<192.0.2.10/24", "2001:db8::1<2001:db8::5/64", 1, addrselect.Dst6},
		{"musl/rule8", addrselect.Musl(), "fe80::1<fe80::2/64", "2001:db8::1<2001:db8::5/64", -1, addrselect.Dst8},
		{"musl/rule9", addrselect.Musl(), "192.0.2.1<192.0.2.10/24", "::ffff:192.0.2.11<::ffff:192.0.2.10/24", 1, addrselect.Dst9},
		{"cares/rule5", addrselect.CAres(), "192.0.2.1", "2001:db8::1", 1, addrselect.Dst5},
		{"cares/rule6", addrselect.CAres(), "fd00::1", "192.0.2.1", 1, addrselect.Dst6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := pd(t, tt.a), pd(t, tt.b)
			if got := tt.sel.Compare(a, b); got != tt.ord {
				t.Errorf("Compare = %d, want %d", got, tt.ord)
			}
			if got := tt.sel.Compare(b, a); got != -tt.ord {
				t.Errorf("Compare(b, a) = %d, want %d", got, -tt.ord)
			}
			if d := tt.sel.Explain(a, b); d.Rule != tt.rule {
				t.Errorf("Explain rule = %v, want %v (%s)", d.Rule, tt.rule, d)
			}
		})
	}
}

// TestProfilesConcurrent sorts with shared profiles from several
// goroutines (run with -race).
func TestProfilesConcurrent(t *testing.T) {
	sels := []*addrselect.Selector{addrselect.GoNet(), addrselect.Glibc(), addrselect.Musl(), addrselect.CAres()}
	in := profileBenchInput(16)
	want := make([][]addrselect.Destination, len(sels))
	for i, s := range sels {
		want[i] = slices.Clone(in)
		s.SortDestinations(want[i])
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 20 {
				i := (g + k) % len(sels)
				got := slices.Clone(in)
				sels[i].SortDestinations(got)
				if !slices.Equal(got, want[i]) {
					t.Errorf("%s: concurrent sort differs", sels[i].Name())
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestProfileLongInput sorts more destinations than the profiles sort
// without allocating; the order must still be each stack's: a permutation
// of the input with every usable destination before every unusable one.
func TestProfileLongInput(t *testing.T) {
	in := profileBenchInput(100)
	for _, sel := range []*addrselect.Selector{addrselect.GoNet(), addrselect.Glibc(), addrselect.Musl(), addrselect.CAres()} {
		got := slices.Clone(in)
		sel.SortDestinations(got)
		seenUnusable := false
		for _, d := range got {
			if !d.Source.IsValid() {
				seenUnusable = true
			} else if seenUnusable {
				t.Errorf("%s: usable %v after an unusable destination", sel.Name(), d.Addr)
				break
			}
		}
		key := func(d addrselect.Destination) string { return d.Addr.String() }
		a, b := slices.Sorted(slicesMap(in, key)), slices.Sorted(slicesMap(got, key))
		if !slices.Equal(a, b) {
			t.Errorf("%s: output is not a permutation of the input", sel.Name())
		}
	}
}

func slicesMap[T, U any](s []T, f func(T) U) func(func(U) bool) {
	return func(yield func(U) bool) {
		for _, v := range s {
			if !yield(f(v)) {
				return
			}
		}
	}
}

// TestProfilesOddInput feeds the profiles inputs no kernel produces (a
// source of the other family, zero addresses, zones, unusual prefix
// lengths): they must not panic, must return a permutation of the input,
// and Compare must be antisymmetric.
func TestProfilesOddInput(t *testing.T) {
	addrs := []netip.Addr{
		{},
		netip.MustParseAddr("192.0.2.1"),
		netip.MustParseAddr("::ffff:192.0.2.1"),
		netip.MustParseAddr("127.0.0.1"),
		netip.MustParseAddr("::1"),
		netip.MustParseAddr("::"),
		netip.MustParseAddr("fe80::1%eth0"),
		netip.MustParseAddr("ff02::1"),
		netip.MustParseAddr("224.0.0.1"),
		netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("2001::1"),
		netip.MustParseAddr("fd00::1"),
		netip.MustParseAddr("::192.0.2.1"),
	}
	plens := []int{0, -1, 8, 64, 200}
	sels := []*addrselect.Selector{addrselect.GoNet(), addrselect.Glibc(), addrselect.Musl(), addrselect.CAres()}
	var in []addrselect.Destination
	for i, a := range addrs {
		for j, s := range addrs {
			d := addrselect.Destination{Addr: a, Source: addrselect.Source{Addr: s, PrefixLen: plens[(i+j)%len(plens)]}}
			d.Source.Deprecated = (i+j)%3 == 0
			d.Unreachable = (i*j)%7 == 1
			in = append(in, d)
		}
	}
	for _, sel := range sels {
		for start := 0; start+8 <= len(in); start += 5 {
			got := slices.Clone(in[start : start+8])
			sel.SortDestinations(got)
			for _, d := range in[start : start+8] {
				if !slices.Contains(got, d) {
					t.Fatalf("%s: %v missing from the output", sel.Name(), d)
				}
			}
		}
		for i := 0; i+1 < len(in); i += 3 {
			a, b := in[i], in[i+1]
			if x, y := sel.Compare(a, b), sel.Compare(b, a); x != -y {
				t.Errorf("%s: Compare(%v, %v) = %d but Compare(b, a) = %d", sel.Name(), a.Addr, b.Addr, x, y)
			}
		}
	}
}

// profileBenchInput returns n mixed destinations: IPv4 and IPv6, usable
// and unusable, several scopes and labels.
func profileBenchInput(n int) []addrselect.Destination {
	src4 := addrselect.Source{Addr: netip.MustParseAddr("192.0.2.10"), PrefixLen: 24}
	src6 := addrselect.Source{Addr: netip.MustParseAddr("2001:db8:1::5"), PrefixLen: 64}
	srcULA := addrselect.Source{Addr: netip.MustParseAddr("fd00:1::5"), PrefixLen: 64, Deprecated: true}
	out := make([]addrselect.Destination, n)
	for i := range out {
		b := byte(i + 1)
		switch i % 6 {
		case 0:
			out[i] = addrselect.Destination{Addr: netip.AddrFrom4([4]byte{192, 0, 2, b}), Source: src4}
		case 1:
			out[i] = addrselect.Destination{Addr: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: b}), Source: src6}
		case 2:
			out[i] = addrselect.Destination{Addr: netip.AddrFrom4([4]byte{198, 51, 100, b}), Source: src4}
		case 3:
			out[i] = addrselect.Destination{Addr: netip.AddrFrom16([16]byte{0xfd, 0, 0, 1, 15: b}), Source: srcULA}
		case 4:
			out[i] = addrselect.Destination{Addr: netip.AddrFrom16([16]byte{0x20, 0x02, 0xc0, 0, 2, 15: b})}
		case 5:
			out[i] = addrselect.Destination{Addr: netip.AddrFrom16([16]byte{0x24, 0, 0xcb, 0, 15: b}), Source: src6}
		}
	}
	return out
}

// BenchmarkProfiles sorts 16 mixed destinations with each profile.
func BenchmarkProfiles(b *testing.B) {
	in := profileBenchInput(16)
	for _, sel := range []*addrselect.Selector{addrselect.GoNet(), addrselect.Glibc(), addrselect.Musl(), addrselect.CAres()} {
		b.Run(sel.Name(), func(b *testing.B) {
			work := make([]addrselect.Destination, len(in))
			b.ReportAllocs()
			for b.Loop() {
				copy(work, in)
				sel.SortDestinations(work)
			}
		})
	}
}

// The stacks order the same answer differently. Here the host has an
// IPv4 address only, so neither IPv6 destination is usable.
func ExampleGlibc() {
	src := addrselect.Source{Addr: netip.MustParseAddr("192.0.2.10"), PrefixLen: 24}
	in := []addrselect.Destination{
		{Addr: netip.MustParseAddr("fd00::1")},
		{Addr: netip.MustParseAddr("2001:db8::1")},
		{Addr: netip.MustParseAddr("198.51.100.7"), Source: src},
		{Addr: netip.MustParseAddr("192.0.2.20"), Source: src},
	}
	for _, sel := range []*addrselect.Selector{addrselect.Glibc(), addrselect.GoNet(), addrselect.CAres()} {
		dsts := slices.Clone(in)
		sel.SortDestinations(dsts)
		fmt.Printf("%-5s", sel.Name())
		for _, d := range dsts {
			fmt.Printf(" %v", d.Addr)
		}
		fmt.Println()
	}
	// Output:
	// glibc 192.0.2.20 198.51.100.7 fd00::1 2001:db8::1
	// go    198.51.100.7 192.0.2.20 fd00::1 2001:db8::1
	// cares 198.51.100.7 192.0.2.20 2001:db8::1 fd00::1
}

// musl returns an answer of only IPv4 addresses as the resolver gave it.
func ExampleMusl() {
	src := addrselect.Source{Addr: netip.MustParseAddr("192.0.2.10"), PrefixLen: 24}
	dsts := []addrselect.Destination{
		{Addr: netip.MustParseAddr("203.0.113.1")}, // unusable
		{Addr: netip.MustParseAddr("192.0.2.20"), Source: src},
	}
	addrselect.Musl().SortDestinations(dsts)
	fmt.Println(dsts[0].Addr, dsts[1].Addr)
	// Output:
	// 203.0.113.1 192.0.2.20
}

// TestProfileExplainReasons checks that Explain describes each profile's
// own rules: the prefix count it compared (worked out by hand from the
// addresses), the wording of its rule 9 and of a tie.
func TestProfileExplainReasons(t *testing.T) {
	// 2001:db8:1::1 and its source 2001:db8:1::2 share 126 bits;
	// 2001:db8:2::1 shares 46 with it (0x0001 ^ 0x0002 leaves 14 zero
	// bits in the third group).
	near, far := "2001:db8:1::1<2001:db8:1::2", "2001:db8:2::1<2001:db8:1::2"
	// 192.0.2.11 shares 31 bits with 192.0.2.10, 192.0.2.200 shares 24.
	v4near, v4far := "192.0.2.11<192.0.2.10/24", "192.0.2.200<192.0.2.10/24"
	// Two IPv4 destinations outside the source's subnet.
	v4a, v4b := "198.51.100.25<192.0.2.10/24", "203.0.113.25<192.0.2.10/24"
	tests := []struct {
		name       string
		sel        *addrselect.Selector
		a, b       string
		rule       addrselect.Rule
		ord        int
		cplA, cplB int
		want       []string // substrings of the reason
	}{
		{"go/ipv4-tie", addrselect.GoNet(), v4a, v4b, addrselect.Dst10, -1, 0, 0,
			[]string{"go: keep 198.51.100.25 before 203.0.113.25", "input order kept"}},
		{"glibc/ipv4-tie", addrselect.Glibc(), v4a, v4b, addrselect.Dst10, -1, 0, 0,
			[]string{"glibc: keep 198.51.100.25 before 203.0.113.25"}},
		{"cares/ipv4-tie", addrselect.CAres(), v4a, v4b, addrselect.Dst10, -1, 0, 0,
			[]string{"cares: keep"}},
		{"go/unusable-tie", addrselect.GoNet(), "192.0.2.1", "2001:db8::1", addrselect.Dst10, -1, 0, 0,
			[]string{"go: keep 192.0.2.1 before 2001:db8::1"}},
		{"go/rule9", addrselect.GoNet(), far, near, addrselect.Dst9, 1, 46, 64,
			[]string{"go: prefer 2001:db8:1::1 over 2001:db8:2::1", "(64 > 46 bits", "at most 64 bits"}},
		{"glibc/rule9-v6", addrselect.Glibc(), far, near, addrselect.Dst9, 1, 46, 126,
			[]string{"glibc: prefer 2001:db8:1::1", "(126 > 46 bits", "all 128 bits"}},
		{"glibc/rule9-v4", addrselect.Glibc(), v4far, v4near, addrselect.Dst9, 1, 24, 31,
			[]string{"(31 > 24 bits", "IPv4", "share the source's /24 subnet"}},
		{"glibc/rule9-v4-other-subnet", addrselect.Glibc(), v4near, "198.51.100.1<192.0.2.10/24", addrselect.Dst9, -1, 31, 0,
			[]string{"(31 > 0 bits", "/24 subnet"}},
		{"musl/rule9-v6", addrselect.Musl(), far, near, addrselect.Dst9, 1, 46, 126,
			[]string{"musl: prefer 2001:db8:1::1", "(126 > 46 bits", "IPv4-mapped", "across families"}},
		// 192.0.2.1 shares 124 bits of the mapped form with 192.0.2.10.
		{"musl/rule9-v4", addrselect.Musl(), "192.0.2.1<192.0.2.10/24", v4near, addrselect.Dst9, 1, 124, 127,
			[]string{"(127 > 124 bits", "IPv4,"}},
		{"cares/rule9", addrselect.CAres(), far, near, addrselect.Dst9, 1, 46, 126,
			[]string{"cares: prefer 2001:db8:1::1", "(126 > 46 bits", "only IPv6 destinations"}},
		{"rfc3484/rule9", addrselect.RFC3484(), far, near, addrselect.Dst9, 1, 46, 126,
			[]string{"(126 > 46 bits", "all bits compared as in RFC 3484"}},
		{"rfc6724/rule9", addrselect.RFC6724(), far, near, addrselect.Dst9, 1, 46, 64,
			[]string{"(64 > 46 bits", "rule 9 variant rfc"}},
		{"same-subnet/rule9-v4", addrselect.RFC6724(addrselect.WithRule9(addrselect.Rule9SameSubnet)), v4far, v4near, addrselect.Dst9, 1, 24, 31,
			[]string{"(31 > 24 bits", "inside the source's /24 subnet"}},
		{"rfc6724/ipv4-tie", addrselect.RFC6724(addrselect.WithRule9(addrselect.Rule9IPv6Only)), v4a, v4b, addrselect.Dst10, -1, 0, 0,
			[]string{"keep 198.51.100.25 before 203.0.113.25"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.sel.Explain(pd(t, tt.a), pd(t, tt.b))
			if d.Rule != tt.rule || d.Order != tt.ord {
				t.Errorf("Explain = %v, order %d; want %v, %d", d, d.Order, tt.rule, tt.ord)
			}
			if d.A.CommonPrefixLen != tt.cplA || d.B.CommonPrefixLen != tt.cplB {
				t.Errorf("CommonPrefixLen = %d, %d; want %d, %d", d.A.CommonPrefixLen, d.B.CommonPrefixLen, tt.cplA, tt.cplB)
			}
			for _, w := range tt.want {
				if !strings.Contains(d.Reason, w) {
					t.Errorf("Reason = %q; want it to contain %q", d.Reason, w)
				}
			}
			for _, bad := range []string{"different families", "variant rfc"} {
				if tt.sel.Name() != "rfc6724" && strings.Contains(d.Reason, bad) {
					t.Errorf("Reason = %q; must not say %q for %s", d.Reason, bad, tt.sel.Name())
				}
			}
		})
	}
}

// TestProfileExplainFacts checks that the Facts are the values the stack
// compared, where it differs from the RFC: Go's IPv4 scopes, musl's
// table without the 3ffe::/16 row, c-ares's missing source.
func TestProfileExplainFacts(t *testing.T) {
	// Go: every IPv4 address but loopback and link-local is global, even
	// under a table whose scopev4 rules make 10.0.0.0/8 site-local.
	d := addrselect.GoNet().Explain(pd(t, "10.1.2.3<10.1.2.4/8"), pd(t, "169.254.1.1<169.254.1.2/16"))
	if d.A.Scope != policytable.ScopeGlobal || d.B.Scope != policytable.ScopeLinkLocal {
		t.Errorf("go scopes = %v, %v; want global, link-local", d.A.Scope, d.B.Scope)
	}
	// musl has no 3ffe::/16 row: precedence 40, label 1 (RFC 6724: 1, 12).
	d = addrselect.Musl().Explain(pd(t, "3ffe::1<2001:db8::1"), pd(t, "3ffe::2<2001:db8::1"))
	if d.A.Precedence != 40 || d.A.Label != 1 {
		t.Errorf("musl 3ffe::1 precedence/label = %d/%d; want 40/1", d.A.Precedence, d.A.Label)
	}
	if r := addrselect.RFC6724().Explain(pd(t, "3ffe::1<2001:db8::1"), pd(t, "3ffe::2<2001:db8::1")); r.A.Precedence != 1 || r.A.Label != 12 {
		t.Errorf("rfc6724 3ffe::1 precedence/label = %d/%d; want 1/12", r.A.Precedence, r.A.Label)
	}
	// c-ares gives a missing source interface-local scope and label 1, and
	// says so when that decides rule 5.
	d = addrselect.CAres().Explain(pd(t, "192.0.2.1"), pd(t, "2001:db8::1"))
	if d.B.SourceScope != policytable.ScopeInterfaceLocal || d.B.SourceLabel != 1 || d.Rule != addrselect.Dst5 {
		t.Errorf("cares unusable facts = %+v (%v); want interface-local, label 1, dst-5", d.B, d)
	}
	if !strings.Contains(d.Reason, "missing source") {
		t.Errorf("cares reason = %q; want it to mention the missing source", d.Reason)
	}
}

// TestProfileTraceTies checks Trace on stack profiles: ties in input
// order are rule 10 with Order -1, and musl's unsorted IPv4-only lists
// are rule 10 even where its key would order the pair.
func TestProfileTraceTies(t *testing.T) {
	in := []addrselect.Destination{pd(t, "198.51.100.25<192.0.2.10/24"), pd(t, "203.0.113.25<192.0.2.10/24")}
	for _, sel := range []*addrselect.Selector{addrselect.GoNet(), addrselect.Glibc(), addrselect.CAres()} {
		tr := sel.Trace(in)
		if len(tr) != 1 || tr[0].Rule != addrselect.Dst10 || tr[0].Order != -1 || strings.Contains(tr[0].Reason, "different families") {
			t.Errorf("%s Trace = %v; want one dst-10 with order -1", sel.Name(), tr)
		}
	}
	// musl's key prefers 192.0.2.11 (127 bits) over 198.51.100.1, but
	// musl does not sort IPv4-only lists.
	in = []addrselect.Destination{pd(t, "198.51.100.1<192.0.2.10/24"), pd(t, "192.0.2.11<192.0.2.10/24")}
	tr := addrselect.Musl().Trace(in)
	if len(tr) != 1 || tr[0].Rule != addrselect.Dst10 || tr[0].Order != -1 || tr[0].A.Addr != in[0].Addr ||
		!strings.Contains(tr[0].Reason, "only IPv4") {
		t.Errorf("musl Trace = %v; want dst-10 keeping the input order", tr)
	}
	if d := addrselect.Musl().Explain(in[0], in[1]); d.Rule != addrselect.Dst9 || d.Order != 1 {
		t.Errorf("musl Explain = %v (order %d); want the key's dst-9, 1", d, d.Order)
	}
}
