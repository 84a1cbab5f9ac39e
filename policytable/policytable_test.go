package policytable

import (
	"bufio"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func ma(s string) netip.Addr { return netip.MustParseAddr(s) }

// tsvTable is one table of testdata/policy-tables.tsv (a copy of
// shared/testdata/policy-tables.tsv). A precedence of -1 stands for the
// file's "-": no precedence row.
type tsvRow struct {
	prefix     netip.Prefix
	prec, labl int
}

func readPolicyTSV(t *testing.T) map[string][]tsvRow {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "policy-tables.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]tsvRow{}
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan(); n++ {
		if n == 0 {
			continue // header
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 4 {
			t.Fatalf("policy-tables.tsv line %d: %q", n+1, sc.Text())
		}
		if strings.HasPrefix(c[1], "$") {
			continue // the $known_local placeholder of the draft's table
		}
		r := tsvRow{prefix: netip.MustParsePrefix(c[1]), prec: -1}
		if c[2] != "-" {
			r.prec, err = strconv.Atoi(c[2])
		}
		if err == nil {
			r.labl, err = strconv.Atoi(c[3])
		}
		if err != nil {
			t.Fatalf("policy-tables.tsv line %d: %v", n+1, err)
		}
		out[c[0]] = append(out[c[0]], r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPresetsMatchTSV compares every preset, row by row, with the tables
// transcribed from the RFCs, the draft and glibc's source.
func TestPresetsMatchTSV(t *testing.T) {
	tables := readPolicyTSV(t)
	kl := func(base *Table, ps ...string) *Table {
		var prefixes []netip.Prefix
		for _, p := range ps {
			prefixes = append(prefixes, mp(p))
		}
		t2, err := base.AddKnownLocal(prefixes...)
		if err != nil {
			t.Fatal(err)
		}
		return t2
	}
	tests := []struct {
		name  string
		table *Table
		tsv   string
	}{
		{"RFC6724", RFC6724(), "rfc6724-default"},
		{"nil is RFC6724", nil, "rfc6724-default"},
		{"zero Table is RFC6724", &Table{}, "rfc6724-default"},
		{"RFC3484", RFC3484(), "rfc3484-default"},
		{"Glibc", Glibc(), "impl-glibc-default"},
		{"Draft6724Update", Draft6724Update(), "draft-ietf-6man-rfc6724-update-21-base"},
		{"Draft6724Update+known-local", kl(Draft6724Update(), "fd01:1:1::/48", "fd02:2:2::/48"), "draft-ietf-6man-rfc6724-update-21-kl-example"},
		// RFC 6724 section 10.6 adds a known-local ULA row with 45/14.
		{"RFC6724+known-local (s10.6)", kl(RFC6724(), "fd11:1111:1111::/48"), "rfc6724-s10.6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := tables[tt.tsv]
			if len(rows) == 0 {
				t.Fatalf("table %s not in policy-tables.tsv", tt.tsv)
			}
			var wantPrec, wantLabel []Row
			for _, r := range rows {
				if r.prec >= 0 {
					wantPrec = append(wantPrec, Row{r.prefix, uint8(r.prec)})
				}
				wantLabel = append(wantLabel, Row{r.prefix, uint8(r.labl)})
			}
			sortRows := func(rs []Row) []Row {
				slices.SortFunc(rs, func(a, b Row) int { return comparePrefix(a.Prefix, b.Prefix) })
				return rs
			}
			if got, want := tt.table.Precedences(), sortRows(wantPrec); !slices.Equal(got, want) {
				t.Errorf("Precedences() = %v; want %v", got, want)
			}
			if got, want := tt.table.Labels(), sortRows(wantLabel); !slices.Equal(got, want) {
				t.Errorf("Labels() = %v; want %v", got, want)
			}
			// Every row of the file, looked up at its own prefix, gives
			// the file's values (a missing precedence falls to ::/0's 40).
			for _, r := range rows {
				got := tt.table.Lookup(r.prefix.Addr())
				wantP := r.prec
				if wantP < 0 {
					wantP = 40
				}
				if r.prefix.Bits() > 0 && (int(got.Precedence) != wantP || int(got.Label) != r.labl) {
					t.Errorf("Lookup(%s) = %+v; want {%d %d}", r.prefix.Addr(), got, wantP, r.labl)
				}
			}
			if split := tt.table.Split(); split != (tt.tsv == "impl-glibc-default") {
				t.Errorf("Split() = %v", split)
			}
		})
	}
}

// TestLookupRepresentative looks up one address of every kind under each
// preset. The wanted values are read off the tables of RFC 6724 s2.1,
// RFC 3484 s2.1, draft-ietf-6man-rfc6724-update-21 s3.1 and glibc's
// built-in table.
func TestLookupRepresentative(t *testing.T) {
	type pl = [2]uint8
	tests := []struct {
		addr                         string
		why                          string
		rfc6724, rfc3484, glibc, drf pl
	}{
		{"::1", "loopback", pl{50, 0}, pl{50, 0}, pl{50, 0}, pl{50, 0}},
		{"192.0.2.1", "IPv4 public, looked up as ::ffff:192.0.2.1", pl{35, 4}, pl{10, 4}, pl{10, 4}, pl{20, 4}},
		{"10.1.2.3", "IPv4 private (RFC 1918)", pl{35, 4}, pl{10, 4}, pl{10, 4}, pl{20, 4}},
		{"100.64.0.1", "IPv4 CGNAT (RFC 6598)", pl{35, 4}, pl{10, 4}, pl{10, 4}, pl{20, 4}},
		{"169.254.1.1", "IPv4 link-local", pl{35, 4}, pl{10, 4}, pl{10, 4}, pl{20, 4}},
		{"127.0.0.1", "IPv4 loopback", pl{35, 4}, pl{10, 4}, pl{10, 4}, pl{20, 4}},
		{"::ffff:192.0.2.1", "IPv4-mapped written as IPv6", pl{35, 4}, pl{10, 4}, pl{10, 4}, pl{20, 4}},
		{"::192.0.2.1", "IPv4-compatible ::/96", pl{1, 3}, pl{20, 3}, pl{20, 3}, pl{1, 3}},
		{"::", "unspecified, inside ::/96", pl{1, 3}, pl{20, 3}, pl{20, 3}, pl{1, 3}},
		{"::2", "next to loopback", pl{1, 3}, pl{20, 3}, pl{20, 3}, pl{1, 3}},
		{"::1:0:0", "just after ::/96", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"::fffe:ffff:ffff", "just before ::ffff:0:0/96", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"::1:0:0:0", "just after ::ffff:0:0/96", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"2002:c000:204::1", "6to4", pl{30, 2}, pl{30, 2}, pl{30, 2}, pl{5, 2}},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo", pl{5, 5}, pl{40, 1}, pl{40, 7}, pl{5, 5}},
		{"2001:1::1", "just after Teredo", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"2001:db8::1", "documentation GUA", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"2a00:1450:4001:82a::200e", "GUA", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"fd12:3456::1", "ULA", pl{3, 13}, pl{40, 1}, pl{40, 6}, pl{30, 13}},
		{"fc00::1", "ULA, fc00::/8 half", pl{3, 13}, pl{40, 1}, pl{40, 6}, pl{30, 13}},
		{"fec0::1", "site-local (deprecated)", pl{1, 11}, pl{40, 1}, pl{40, 5}, pl{1, 11}},
		{"3ffe::1", "6bone (returned)", pl{1, 12}, pl{40, 1}, pl{40, 1}, pl{1, 12}},
		{"fe80::1", "link-local", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"fe80::1%eth0", "link-local with zone: zone ignored", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"ff01::1", "multicast interface-local", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"ff02::1", "multicast link-local", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"ff05::1:3", "multicast site-local", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"ff08::1", "multicast organization-local", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"ff0e::1", "multicast global", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "last address", pl{40, 1}, pl{40, 1}, pl{40, 1}, pl{40, 1}},
	}
	tables := []struct {
		name string
		t    *Table
		pick func(pl, pl, pl, pl) pl
	}{
		{"RFC6724", RFC6724(), func(a, b, c, d pl) pl { return a }},
		{"RFC3484", RFC3484(), func(a, b, c, d pl) pl { return b }},
		{"Glibc", Glibc(), func(a, b, c, d pl) pl { return c }},
		{"Draft6724Update", Draft6724Update(), func(a, b, c, d pl) pl { return d }},
	}
	for _, tt := range tests {
		for _, tb := range tables {
			want := tb.pick(tt.rfc6724, tt.rfc3484, tt.glibc, tt.drf)
			got := tb.t.Lookup(ma(tt.addr))
			if got.Precedence != want[0] || got.Label != want[1] {
				t.Errorf("%s.Lookup(%s) (%s) = %+v; want {%d %d}", tb.name, tt.addr, tt.why, got, want[0], want[1])
			}
			if p, l := tb.t.Precedence(ma(tt.addr)), tb.t.Label(ma(tt.addr)); p != got.Precedence || l != got.Label {
				t.Errorf("%s.Precedence/Label(%s) = %d, %d; Lookup says %+v", tb.name, tt.addr, p, l, got)
			}
		}
	}
	// The zero Addr is looked up as ::.
	if got, want := RFC6724().Lookup(netip.Addr{}), (Attr{1, 3}); got != want {
		t.Errorf("Lookup(Addr{}) = %+v; want %+v", got, want)
	}
}

// TestScope covers every case of RFC 6724 sections 3.1 and 3.2, the RFC
// 3484 IPv4 scopes and explicit scopev4 rules.
func TestScope(t *testing.T) {
	custom := MustNew(rfc6724Entries, WithScopeV4(
		ScopeRule{mp("10.0.0.0/8"), ScopeSiteLocal},
		ScopeRule{mp("::ffff:10.1.0.0/112"), ScopeLinkLocal}, // IPv4-mapped form, stored as 10.1.0.0/16
	))
	tests := []struct {
		table *Table
		addr  string
		want  Scope
		why   string
	}{
		{nil, "ff01::1", ScopeInterfaceLocal, "multicast scope field 1 (RFC 4291 s2.7)"},
		{nil, "ff02::1", ScopeLinkLocal, "multicast scope 2"},
		{nil, "ff03::1", 0x3, "multicast realm-local (RFC 7346)"},
		{nil, "ff04::1", ScopeAdminLocal, "multicast admin-local"},
		{nil, "ff05::1", ScopeSiteLocal, "multicast site-local"},
		{nil, "ff08::1", ScopeOrganizationLocal, "multicast organization-local"},
		{nil, "ff0e::1", ScopeGlobal, "multicast global"},
		{nil, "ff1e::1", ScopeGlobal, "transient flag does not change the scope"},
		{nil, "ff00::1", 0x0, "reserved scope 0 is returned as is"},
		{nil, "ff0f::1", 0xf, "reserved scope f is returned as is"},
		{nil, "fe80::1", ScopeLinkLocal, "fe80::/10 is link-local (RFC 6724 s3.1)"},
		{nil, "fe80::1%eth0", ScopeLinkLocal, "zone does not matter"},
		{nil, "febf:ffff::1", ScopeLinkLocal, "last /16 of fe80::/10"},
		{nil, "fec0::1", ScopeSiteLocal, "fec0::/10 site-local (RFC 3879 deprecated, still classified)"},
		{nil, "feff::1", ScopeSiteLocal, "last /16 of fec0::/10"},
		{nil, "::1", ScopeLinkLocal, "loopback is link-local (RFC 6724 s3.4)"},
		{nil, "fd00::1", ScopeGlobal, "ULA is global (RFC 6724 s3.1)"},
		{nil, "fc00::1", ScopeGlobal, "ULA is global"},
		{nil, "2001:db8::1", ScopeGlobal, "GUA"},
		{nil, "2002:c000:204::1", ScopeGlobal, "6to4"},
		{nil, "::", ScopeGlobal, "unspecified"},
		{nil, "::192.0.2.1", ScopeGlobal, "IPv4-compatible is IPv6, global"},
		{nil, "127.0.0.1", ScopeLinkLocal, "IPv4 loopback is link-local (RFC 6724 s3.2)"},
		{nil, "127.255.255.255", ScopeLinkLocal, "end of 127/8"},
		{nil, "128.0.0.0", ScopeGlobal, "after 127/8"},
		{nil, "169.254.0.1", ScopeLinkLocal, "IPv4 auto-configured link-local (RFC 6724 s3.2)"},
		{nil, "169.255.0.1", ScopeGlobal, "after 169.254/16"},
		{nil, "10.0.0.1", ScopeGlobal, "RFC 1918 is global in RFC 6724 (App. B rule change 4)"},
		{nil, "172.16.0.1", ScopeGlobal, "RFC 1918"},
		{nil, "192.168.1.1", ScopeGlobal, "RFC 1918"},
		{nil, "100.64.0.1", ScopeGlobal, "RFC 6598 shared space is global (RFC 6724 s3.2)"},
		{nil, "8.8.8.8", ScopeGlobal, "public IPv4"},
		{nil, "0.0.0.0", ScopeGlobal, "IPv4 unspecified"},
		{nil, "255.255.255.255", ScopeGlobal, "last IPv4 address"},
		{nil, "::ffff:169.254.1.1", ScopeLinkLocal, "IPv4-mapped uses the IPv4 rules (RFC 6724 s3.2)"},
		{nil, "::ffff:127.0.0.1", ScopeLinkLocal, "IPv4-mapped loopback"},
		{nil, "::ffff:8.8.8.8", ScopeGlobal, "IPv4-mapped public"},
		{RFC3484(), "10.0.0.1", ScopeSiteLocal, "RFC 3484 s3.2: 10/8 site-local"},
		{RFC3484(), "172.16.0.1", ScopeSiteLocal, "172.16/12 site-local"},
		{RFC3484(), "172.31.255.255", ScopeSiteLocal, "end of 172.16/12"},
		{RFC3484(), "172.32.0.0", ScopeGlobal, "after 172.16/12"},
		{RFC3484(), "192.168.1.1", ScopeSiteLocal, "192.168/16 site-local"},
		{RFC3484(), "127.0.0.1", ScopeLinkLocal, "loopback stays link-local"},
		{RFC3484(), "169.254.9.9", ScopeLinkLocal, "link-local stays link-local"},
		{RFC3484(), "100.64.0.1", ScopeGlobal, "CGNAT is not RFC 1918"},
		{RFC3484(), "fec0::1", ScopeSiteLocal, "IPv6 rules do not depend on the table"},
		{Glibc(), "169.254.1.1", ScopeLinkLocal, "glibc's default scopes are RFC 6724's"},
		{Glibc(), "10.0.0.1", ScopeGlobal, "glibc 2.34+: RFC 1918 global"},
		{custom, "10.2.3.4", ScopeSiteLocal, "explicit rule"},
		{custom, "10.1.2.3", ScopeLinkLocal, "longest explicit rule wins"},
		{custom, "127.0.0.1", ScopeGlobal, "explicit rules replace the defaults, as gai.conf scopev4 does"},
		{custom, "169.254.1.1", ScopeGlobal, "explicit rules replace the defaults"},
	}
	for _, tt := range tests {
		if got := tt.table.Scope(ma(tt.addr)); got != tt.want {
			t.Errorf("Scope(%s) (%s) = %v; want %v", tt.addr, tt.why, got, tt.want)
		}
	}
	if got := RFC6724().Scope(netip.Addr{}); got != ScopeGlobal {
		t.Errorf("Scope(Addr{}) = %v; want global", got)
	}
	if got := ScopeIPv6(ma("169.254.1.1")); got != ScopeGlobal {
		t.Errorf("ScopeIPv6(169.254.1.1) = %v; want global (IPv4 needs a table)", got)
	}
	if got := ScopeIPv6(ma("::ffff:127.0.0.1")); got != ScopeGlobal {
		t.Errorf("ScopeIPv6(::ffff:127.0.0.1) = %v; want global", got)
	}
	names := map[Scope]string{ScopeInterfaceLocal: "interface-local", ScopeLinkLocal: "link-local", 3: "realm-local",
		ScopeAdminLocal: "admin-local", ScopeSiteLocal: "site-local", ScopeOrganizationLocal: "organization-local",
		ScopeGlobal: "global", 0xf: "scope(0xf)"}
	for s, want := range names {
		if s.String() != want {
			t.Errorf("Scope(%d).String() = %q; want %q", uint8(s), s.String(), want)
		}
	}
	rules, explicit := custom.ScopeV4()
	if !explicit || len(rules) != 2 || rules[0].Prefix != mp("10.0.0.0/8") || rules[1].Prefix != mp("10.1.0.0/16") {
		t.Errorf("ScopeV4() = %v, %v; want [10.0.0.0/8 10.1.0.0/16] explicit", rules, explicit)
	}
	if _, explicit := RFC6724().ScopeV4(); explicit {
		t.Error("RFC6724().ScopeV4() explicit = true; want false")
	}
}

// TestScopeMatchesSlow compares the compiled IPv4 scope search with a
// scan of the rules, for random rule sets and addresses.
func TestScopeMatchesSlow(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		var rules []ScopeRule
		seen := map[netip.Prefix]bool{}
		for range r.IntN(12) {
			var b [4]byte
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			p := netip.PrefixFrom(netip.AddrFrom4(b), r.IntN(33)).Masked()
			if !seen[p] {
				seen[p] = true
				rules = append(rules, ScopeRule{p, Scope(r.IntN(16))})
			}
		}
		tb, err := New(rfc6724Entries, WithScopeV4(rules...))
		if err != nil {
			t.Fatal(err)
		}
		for range 200 {
			var a netip.Addr
			if len(rules) > 0 && r.IntN(2) == 0 {
				p := rules[r.IntN(len(rules))].Prefix
				a = p.Addr()
				if r.IntN(2) == 0 { // last address of the rule
					b := a.As4()
					v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
					v |= uint32(uint64(1)<<(32-p.Bits()) - 1)
					a = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
				}
			} else {
				a = netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
			}
			if got, want := tb.Scope(a), slowScope4(rules, a); got != want {
				t.Fatalf("rules %v: Scope(%s) = %v; want %v", rules, a, got, want)
			}
		}
	}
}

// randomEntries returns n distinct rows (and ::/0), with prefixes
// clustered so that they nest and touch: random lengths under a few
// random bases, IPv4-mapped ones included.
func randomEntries(r *rand.Rand, n int) []Entry {
	bases := []netip.Addr{ma("::"), ma("::ffff:0.0.0.0"), ma("2001::"), ma("2001:db8::"), ma("fc00::"), ma("ffff::")}
	seen := map[netip.Prefix]bool{mp("::/0"): true}
	out := []Entry{{mp("::/0"), uint8(r.Uint32()), uint8(r.Uint32())}}
	for len(out) < n+1 {
		b := bases[r.IntN(len(bases))].As16()
		for i := r.IntN(16); i < 16; i++ {
			if r.IntN(3) == 0 {
				b[i] = byte(r.Uint32())
			}
		}
		p := netip.PrefixFrom(netip.AddrFrom16(b), r.IntN(129)).Masked()
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, Entry{p, uint8(r.Uint32()), uint8(r.Uint32())})
	}
	return out
}

// probeAddrs returns addresses at and around the edges of every prefix.
func probeAddrs(entries []Entry) []netip.Addr {
	var out []netip.Addr
	for _, e := range entries {
		first := e.Prefix.Addr()
		out = append(out, first, first.Prev(), first.Next())
		b := first.As16()
		for i := e.Prefix.Bits(); i < 128; i++ {
			b[i/8] |= 1 << (7 - i%8)
		}
		last := netip.AddrFrom16(b)
		out = append(out, last, last.Next(), last.Prev())
		if first.Is4In6() {
			out = append(out, first.Unmap(), last.Unmap())
		}
	}
	return slices.DeleteFunc(out, func(a netip.Addr) bool { return !a.IsValid() })
}

// TestLookupMatchesSlow is the property test: Lookup agrees with a
// linear longest-prefix scan, for many random tables (deterministic seed)
// and for the presets, both over the table's own rows and over the rows
// Entries returns.
func TestLookupMatchesSlow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(tb *Table, addrs []netip.Addr) {
		t.Helper()
		entries := tb.Entries()
		prec, label := tb.Precedences(), tb.Labels()
		for _, a := range addrs {
			got := tb.Lookup(a)
			if want := (Attr{slowLookupRows(prec, a), slowLookupRows(label, a)}); got != want {
				t.Fatalf("table\n%s\nLookup(%s) = %+v; want %+v", tb, a, got, want)
			}
			if want := slowLookupEntries(entries, a); got != want {
				t.Fatalf("table\n%s\nLookup(%s) = %+v; Entries() scan gives %+v", tb, a, got, want)
			}
			wantScope := slowScope(tb, a)
			if at, sc := tb.Classify(a); at != got || sc != wantScope {
				t.Fatalf("table\n%s\nClassify(%s) = %+v, %v; want %+v, %v", tb, a, at, sc, got, wantScope)
			}
			if sc := tb.Scope(a); sc != wantScope {
				t.Fatalf("table\n%s\nScope(%s) = %v; want %v", tb, a, sc, wantScope)
			}
		}
	}
	// The edges of the IPv6 scopes, multicast and the IPv4 scope rules.
	var scoped []Entry
	for _, p := range []string{"::1/128", "fe80::/10", "fec0::/10", "fe00::/9", "ff00::/8", "ff02::/16", "ff0e::/16", "ff1f::/16",
		"::ffff:127.0.0.0/104", "::ffff:169.254.0.0/112", "::ffff:10.0.0.0/104", "::ffff:172.16.0.0/108", "::ffff:192.168.0.0/112"} {
		scoped = append(scoped, Entry{Prefix: mp(p)})
	}
	for _, tb := range []*Table{RFC6724(), RFC3484(), Glibc(), Draft6724Update()} {
		check(tb, slices.Concat(probeAddrs(tb.Entries()), probeAddrs(scoped), benchAddrs, classifyAddrs))
	}
	for i := range 200 {
		n := 1 + r.IntN(40)
		if i%50 == 0 {
			n = 300
		}
		entries := randomEntries(r, n)
		tb, err := New(entries)
		if err != nil {
			t.Fatal(err)
		}
		addrs := append(probeAddrs(entries), probeAddrs(scoped)...)
		for range 50 {
			var b [16]byte
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			addrs = append(addrs, netip.AddrFrom16(b))
		}
		check(tb, addrs)
		// A split table: labels from a second random set.
		labels := randomEntries(r, 1+r.IntN(20))
		var lrows []Row
		for _, e := range labels {
			lrows = append(lrows, Row{e.Prefix, e.Label})
		}
		var prows []Row
		for _, e := range entries {
			prows = append(prows, Row{e.Prefix, e.Precedence})
		}
		st, err := NewSplit(prows, lrows)
		if err != nil {
			t.Fatal(err)
		}
		check(st, append(addrs, probeAddrs(labels)...))
	}
}

func TestLookupAllocs(t *testing.T) {
	tb := randomTable(t, 3, 1000)
	for _, tab := range []*Table{nil, RFC6724(), Glibc(), tb} {
		for _, a := range append(benchAddrs, ma("fe80::1%a-rather-long-zone-name-that-is-longer-than-sixteen-bytes"), netip.Addr{}) {
			if n := testing.AllocsPerRun(100, func() { tab.Lookup(a); tab.Scope(a); CommonPrefixLen(a, a) }); n != 0 {
				t.Errorf("Lookup/Scope/CommonPrefixLen(%s) allocates %v times", a, n)
			}
		}
	}
}

// TestIndexSmall checks that the index stays small: only a /8 holding
// interval boundaries gets a second-level block, and only a /16 holding
// them a third-level one.
func TestIndexSmall(t *testing.T) {
	// RFC 6724's boundaries lie in ::/8, 2000::/8, 3f00::/8 and fe00::/8
	// (fc00::/7 covers fc and fd whole), and in IPv4 169.0.0.0/8 (the
	// link-local 169.254.0.0/16; 127.0.0.0/8 is a whole octet).
	tb := RFC6724()
	if got, want := len(tb.l2), 5*256; got != want {
		t.Errorf("RFC6724 second level has %d entries; want %d", got, want)
	}
	// Only ::/16 (::1, ::/96, ::ffff:0:0/96) and 2001::/16 (2001::/32)
	// hold boundaries below their /16.
	if got, want := len(tb.l3), 2*257; got != want {
		t.Errorf("RFC6724 third level has %d entries; want %d", got, want)
	}
}

// TestIndexCoarse checks the index past maxFine third-level blocks: a
// table with a boundary inside each of 300 /16s answers as the slow
// reference does, and its third level stays bounded.
func TestIndexCoarse(t *testing.T) {
	entries := slices.Clone(rfc6724Entries)
	for i := range 250 {
		a := netip.AddrFrom16([16]byte{0x24, byte(i), byte(i), 0x80})
		entries = append(entries, Entry{netip.PrefixFrom(a, 25), uint8(i), uint8(i / 3)})
	}
	tb := MustNew(entries)
	n := 0
	for _, e := range tb.l2 {
		if e&uniform == 0 && e&coarse != 0 {
			n++
		}
	}
	if n == 0 || len(tb.l3) > maxFine*257+2*len(tb.l2) {
		t.Fatalf("%d coarse entries, third level of %d entries", n, len(tb.l3))
	}
	for _, a := range probeAddrs(entries) {
		if got, want := tb.Lookup(a), slowLookupEntries(entries, a); got != want {
			t.Errorf("Lookup(%s) = %+v; want %+v", a, got, want)
		}
	}
}

// TestNewErrors triggers every validation error of New and NewSplit.
func TestNewErrors(t *testing.T) {
	def := Entry{mp("::/0"), 40, 1}
	tests := []struct {
		name    string
		entries []Entry
		opts    []Option
		want    error
		prefix  string
	}{
		{"zero prefix", []Entry{def, {}}, nil, errInvalidPrefix, "invalid Prefix"},
		{"host bits", []Entry{def, {mp("2001:db8::1/32"), 1, 1}}, nil, errNotCanonical, "2001:db8::1/32"},
		{"IPv4 host bits", []Entry{def, {mp("10.0.0.1/8"), 1, 1}}, nil, errNotCanonical, "10.0.0.1/8"},
		{"duplicate", []Entry{def, {mp("2002::/16"), 1, 1}, {mp("2002::/16"), 2, 2}}, nil, ErrDuplicate, "2002::/16"},
		{"duplicate via IPv4", []Entry{def, {mp("10.0.0.0/8"), 1, 1}, {mp("::ffff:10.0.0.0/104"), 2, 2}}, nil, ErrDuplicate, "::ffff:10.0.0.0/104"},
		{"no default", []Entry{{mp("::1/128"), 50, 0}}, nil, ErrNoDefault, "::/0"},
		{"empty", nil, nil, ErrNoDefault, "::/0"},
		{"scopev4 IPv6", []Entry{def}, []Option{WithScopeV4(ScopeRule{mp("2001:db8::/32"), 5})}, errNotIPv4, "2001:db8::/32"},
		{"scopev4 short mapped", []Entry{def}, []Option{WithScopeV4(ScopeRule{mp("::ffff:0:0/80"), 5})}, errNotIPv4, "::ffff:0.0.0.0/80"},
		{"scopev4 host bits", []Entry{def}, []Option{WithScopeV4(ScopeRule{mp("10.0.0.1/8"), 5})}, errNotCanonical, "10.0.0.1/8"},
		{"scopev4 duplicate", []Entry{def}, []Option{WithScopeV4(ScopeRule{mp("10.0.0.0/8"), 5}, ScopeRule{mp("::ffff:10.0.0.0/104"), 2})}, ErrDuplicate, "10.0.0.0/8"},
		{"scopev4 invalid", []Entry{def}, []Option{WithScopeV4(ScopeRule{})}, errInvalidPrefix, "invalid Prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := New(tt.entries, tt.opts...)
			var te *TableError
			if !errors.Is(err, tt.want) || !errors.As(err, &te) {
				t.Fatalf("New = %v, %v; want a *TableError wrapping %v", tb, err, tt.want)
			}
			if te.Prefix.String() != tt.prefix {
				t.Errorf("TableError.Prefix = %s; want %s", te.Prefix, tt.prefix)
			}
			if !strings.Contains(err.Error(), tt.want.Error()) {
				t.Errorf("Error() = %q; does not name the cause", err)
			}
		})
	}
	// Too many rows, in New and in each NewSplit set.
	many := make([]Entry, MaxRows+1)
	if _, err := New(many); !errors.Is(err, ErrTooManyRows) {
		t.Errorf("New(MaxRows+1 rows) = %v; want ErrTooManyRows", err)
	}
	manyRows := make([]Row, MaxRows+1)
	if _, err := NewSplit(manyRows, []Row{{mp("::/0"), 1}}); !errors.Is(err, ErrTooManyRows) {
		t.Errorf("NewSplit(MaxRows+1 precedences) = %v; want ErrTooManyRows", err)
	}
	if _, err := NewSplit([]Row{{mp("::/0"), 1}}, []Row{{mp("::1/128"), 1}}); !errors.Is(err, ErrNoDefault) {
		t.Errorf("NewSplit(labels without ::/0) = %v; want ErrNoDefault", err)
	} else if te := (*TableError)(nil); errors.As(err, &te) && te.Set != "label" {
		t.Errorf("TableError.Set = %q; want label", te.Set)
	}
	// MustNew panics on the same errors.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustNew(no default) did not panic")
			}
		}()
		MustNew([]Entry{{mp("::1/128"), 50, 0}})
	}()
}

func TestAddKnownLocal(t *testing.T) {
	base := Draft6724Update()
	tb, err := base.AddKnownLocal(mp("fd01:1:1::/48"), mp("fd01:1:1:8000::/49"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		addr string
		want Attr
	}{
		{"fd01:1:1::1", Attr{KnownLocalPrecedence, KnownLocalLabel}},
		{"fd01:1:1:8000::1", Attr{KnownLocalPrecedence, KnownLocalLabel}},
		{"fd01:1:2::1", Attr{30, 13}}, // other ULA: fc00::/7 row
	} {
		if got := tb.Lookup(ma(tt.addr)); got != tt.want {
			t.Errorf("Lookup(%s) = %+v; want %+v", tt.addr, got, tt.want)
		}
	}
	if base.Lookup(ma("fd01:1:1::1")) != (Attr{30, 13}) {
		t.Error("AddKnownLocal modified its receiver")
	}
	// A configured row is kept (RFC 6724 s2.1: automatic rows never
	// replace configured ones).
	conf := MustNew(append(slices.Clone(draftEntries), Entry{mp("fd01:1:1::/48"), 7, 7}))
	tb2, err := conf.AddKnownLocal(mp("fd01:1:1::/48"))
	if err != nil {
		t.Fatal(err)
	}
	if got := tb2.Lookup(ma("fd01:1:1::1")); got != (Attr{7, 7}) {
		t.Errorf("configured row replaced: %+v", got)
	}
	// Scope rules survive.
	rb, err := RFC3484().AddKnownLocal(mp("fd01:1:1::/48"))
	if err != nil {
		t.Fatal(err)
	}
	if rb.Scope(ma("10.0.0.1")) != ScopeSiteLocal {
		t.Error("AddKnownLocal dropped the IPv4 scope rules")
	}
	for _, bad := range []struct {
		p    netip.Prefix
		want error
	}{
		{mp("fc01::/48"), errKnownLocal},                       // fc00::/8 is not locally assigned
		{mp("fd01::/39"), errKnownLocal},                       // shorter than /40
		{mp("2002:c633:6401::/48"), errKnownLocal},             // RFC 6724 s10.7's row is not a ULA
		{mp("10.0.0.0/8"), errKnownLocal},                      // IPv4
		{netip.Prefix{}, errKnownLocal},                        // invalid
		{netip.PrefixFrom(ma("fd01::1"), 48), errNotCanonical}, // host bits
	} {
		if _, err := base.AddKnownLocal(bad.p); !errors.Is(err, bad.want) {
			t.Errorf("AddKnownLocal(%s) = %v; want %v", bad.p, err, bad.want)
		}
	}
	for _, tt := range []struct {
		addr string
		want string
		ok   bool
	}{
		{"fd01:1:1:2::3", "fd01:1:1::/48", true},
		{"fd01:1:1:2::3%eth0", "fd01:1:1::/48", true},
		{"fc01::1", "invalid Prefix", false},
		{"2001:db8::1", "invalid Prefix", false},
		{"10.0.0.1", "invalid Prefix", false},
	} {
		p, ok := KnownLocalPrefix(ma(tt.addr))
		if ok != tt.ok || p.String() != tt.want {
			t.Errorf("KnownLocalPrefix(%s) = %s, %v; want %s, %v", tt.addr, p, ok, tt.want, tt.ok)
		}
	}
}

func TestEntriesSplit(t *testing.T) {
	// glibc: the precedence set lacks the label set's fec0, fc00 and
	// 2001::/32 rows, which therefore show ::/0's precedence 40.
	got := Glibc().Entries()
	want := []Entry{
		{mp("::1/128"), 50, 0},
		{mp("::/96"), 20, 3},
		{mp("::ffff:0:0/96"), 10, 4},
		{mp("2001::/32"), 40, 7},
		{mp("2002::/16"), 30, 2},
		{mp("fec0::/10"), 40, 5},
		{mp("fc00::/7"), 40, 6},
		{mp("::/0"), 40, 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Glibc().Entries() =\n%v\nwant\n%v", got, want)
	}
	if !strings.Contains(Glibc().String(), "fc00::/7                40   6\n") {
		t.Errorf("String() =\n%s", Glibc())
	}
	if e := (Entry{mp("::1/128"), 50, 0}); e.String() != "::1/128 50 0" {
		t.Errorf("Entry.String() = %q", e.String())
	}
}

func TestEqual(t *testing.T) {
	if !RFC6724().Equal(nil) || !(*Table)(nil).Equal(MustNew(rfc6724Entries)) {
		t.Error("RFC6724 not Equal to nil or to a rebuilt copy")
	}
	if RFC6724().Equal(Draft6724Update()) {
		t.Error("RFC6724 Equal to the draft table")
	}
	// Same rows, different scope rules.
	if RFC6724().Equal(MustNew(rfc6724Entries, WithPrivateIPv4Scope(ScopeSiteLocal))) {
		t.Error("Equal ignores the IPv4 scope rules")
	}
	// Row order does not matter.
	rev := slices.Clone(rfc6724Entries)
	slices.Reverse(rev)
	if !MustNew(rev).Equal(RFC6724()) {
		t.Error("Equal depends on row order")
	}
}

func TestCommonPrefixLen(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"2001:db8::1", "2001:db8::1", 128},
		{"2001:db8::1", "2001:db8::2", 126},
		{"fe80::1", "fe80::2", 126},
		{"2001:db8::", "3001:db8::", 3},
		{"::", "8000::", 0},
		{"10.0.0.1", "10.0.0.1", 128},
		{"10.0.0.1", "10.128.0.0", 96 + 8},
		{"10.0.0.1", "::ffff:10.0.0.1", 128},
		{"2001:db8:0:1::", "2001:db8:0:1:8000::", 64},
	}
	for _, tt := range tests {
		if got := CommonPrefixLen(ma(tt.a), ma(tt.b)); got != tt.want {
			t.Errorf("CommonPrefixLen(%s, %s) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestWithPrivateIPv4Scope derives tables the way addrselect does (the
// rows and scope rules of a table t, plus the private-IPv4 override) and
// checks that they give scope s in RFC 1918 space and t's scopes and
// attributes everywhere else.
func TestWithPrivateIPv4Scope(t *testing.T) {
	custom := MustNew(rfc6724Entries, WithScopeV4(
		ScopeRule{mp("0.0.0.0/0"), ScopeOrganizationLocal}, // covers everything: stays outside RFC 1918
		ScopeRule{mp("8.0.0.0/6"), ScopeAdminLocal},        // covers 10/8: stays outside it
		ScopeRule{mp("10.1.0.0/16"), ScopeLinkLocal},       // inside 10/8: overridden
		ScopeRule{mp("172.16.0.0/12"), ScopeGlobal},        // exactly a range: overridden
		ScopeRule{mp("172.31.255.0/24"), 0x3},              // inside: overridden
		ScopeRule{mp("192.168.0.0/15"), ScopeSiteLocal},    // covers 192.168/16 and 192.169/16
		ScopeRule{mp("127.0.0.0/8"), ScopeLinkLocal},
	))
	private := []string{"10.0.0.0", "10.1.2.3", "10.255.255.255", "172.16.0.0", "172.31.255.7", "172.31.255.255",
		"192.168.0.0", "192.168.255.255", "::ffff:10.1.2.3"}
	outside := []string{"9.255.255.255", "11.0.0.0", "8.0.0.1", "172.15.255.255", "172.32.0.0",
		"192.167.255.255", "192.169.0.0", "127.0.0.1", "169.254.1.1", "1.2.3.4", "0.0.0.0", "255.255.255.255",
		"::ffff:11.0.0.0", "2001:db8::1", "fe80::1", "ff05::2", "::1"}
	for _, base := range []struct {
		name string
		t    *Table
	}{{"rfc6724", RFC6724()}, {"glibc", Glibc()}, {"rfc3484", RFC3484()}, {"custom", custom}} {
		for _, s := range []Scope{ScopeGlobal, ScopeSiteLocal, ScopeLinkLocal, 0x3} {
			rules, _ := base.t.ScopeV4()
			derived, err := NewSplit(base.t.Precedences(), base.t.Labels(), WithScopeV4(rules...), WithPrivateIPv4Scope(s))
			if err != nil {
				t.Fatalf("%s: %v", base.name, err)
			}
			reversed, err := NewSplit(base.t.Precedences(), base.t.Labels(), WithPrivateIPv4Scope(s), WithScopeV4(rules...))
			if err != nil {
				t.Fatalf("%s: %v", base.name, err)
			}
			for _, a := range append(slices.Clone(private), outside...) {
				want := base.t.Scope(ma(a))
				if slices.Contains(private, a) {
					want = s
				}
				if got := derived.Scope(ma(a)); got != want {
					t.Errorf("%s with WithPrivateIPv4Scope(%v): Scope(%s) = %v; want %v", base.name, s, a, got, want)
				}
				if got := reversed.Scope(ma(a)); got != want {
					t.Errorf("%s, options reversed: Scope(%s) = %v; want %v", base.name, a, got, want)
				}
				if derived.Lookup(ma(a)) != base.t.Lookup(ma(a)) {
					t.Errorf("%s: derived Lookup(%s) differs", base.name, a)
				}
			}
		}
	}
	// RFC 3484's table is the RFC 6724 scopes plus site-local RFC 1918
	// space (RFC 3484 section 3.2).
	want := []ScopeRule{{mp("10.0.0.0/8"), ScopeSiteLocal}, {mp("127.0.0.0/8"), ScopeLinkLocal},
		{mp("169.254.0.0/16"), ScopeLinkLocal}, {mp("172.16.0.0/12"), ScopeSiteLocal}, {mp("192.168.0.0/16"), ScopeSiteLocal}}
	if got, explicit := RFC3484().ScopeV4(); !slices.Equal(got, want) || !explicit {
		t.Errorf("RFC3484().ScopeV4() = %v, %v; want %v, true", got, explicit, want)
	}
}

// TestLookupLargeBlock covers both search paths of Lookup: blocks of a
// few interval starts (scanned) and blocks of many (binary-searched).
func TestLookupLargeBlock(t *testing.T) {
	entries := slices.Clone(rfc6724Entries)
	for i := range 200 {
		entries = append(entries, Entry{netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i)}), 40), uint8(i), uint8(i / 2)})
	}
	tb := MustNew(entries)
	large := false
	for _, e := range tb.l2 {
		if e&(uniform|coarse) == 0 {
			for c := range uint32(256) {
				large = large || tb.l3[e+c+1]-tb.l3[e+c] > smallBlock
			}
		}
	}
	if !large {
		t.Fatal("no block above smallBlock: the binary search is not exercised")
	}
	for _, a := range probeAddrs(entries) {
		if got, want := tb.Lookup(a), slowLookupEntries(entries, a); got != want {
			t.Errorf("Lookup(%s) = %+v; want %+v", a, got, want)
		}
	}
}

// TestScopeRulesLinear: compiling MaxRows IPv4 scope rules (a gai.conf of
// 65,536 scopev4 lines) costs about what compiling MaxRows label rows
// does. It once compared every rule with every interval: 24 s. Each time
// is the best of three runs, so the ratio does not depend on the machine.
func TestScopeRulesLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tables of MaxRows rows; skipped with -short")
	}
	rules := make([]ScopeRule, 0, MaxRows)
	entries := []Entry{{mp("::/0"), 40, 1}}
	for i := range MaxRows {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
		rules = append(rules, ScopeRule{p, Scope(i % 16)})
		if i > 0 {
			entries = append(entries, Entry{p, uint8(i), uint8(i >> 8)})
		}
	}
	best := func(opts ...Option) (time.Duration, *Table) {
		d, tb := time.Duration(1<<62), (*Table)(nil)
		for range 3 {
			start := time.Now()
			tb = MustNew(entries, opts...)
			d = min(d, time.Since(start))
		}
		return d, tb
	}
	rows, _ := best()
	scoped, tb := best(WithScopeV4(rules...))
	if scoped > 10*rows {
		t.Errorf("New with %d scope rules took %v, against %v without; want within 10x", MaxRows, scoped, rows)
	}
	for _, r := range rules[:64] {
		a := r.Prefix.Addr().Next()
		if got, want := tb.Scope(a), slowScope4(rules, a); got != want {
			t.Errorf("Scope(%s) = %v; want %v", a, got, want)
		}
	}
}

// TestClassify: Classify answers as Lookup and Scope do, for IPv4,
// IPv4-mapped and IPv6 addresses, under tables with and without IPv4 rows
// of their own.
func TestClassify(t *testing.T) {
	split := MustNew([]Entry{
		{Prefix: netip.MustParsePrefix("::/0"), Precedence: 40, Label: 1},
		{Prefix: netip.MustParsePrefix("::ffff:0:0/96"), Precedence: 35, Label: 4},
		{Prefix: netip.MustParsePrefix("::ffff:10.0.0.0/104"), Precedence: 20, Label: 9},
	}, WithPrivateIPv4Scope(ScopeSiteLocal))
	for _, tb := range []*Table{RFC6724(), RFC3484(), Glibc(), split, nil} {
		for _, s := range []string{"10.1.2.3", "::ffff:10.1.2.3", "192.0.2.1", "::ffff:192.0.2.1", "169.254.0.1",
			"2001:db8::1", "fe80::1%eth0", "ff05::2", "::1", "::", "2002:c000:201::1", "fd00::1"} {
			a := netip.MustParseAddr(s)
			at, sc := tb.Classify(a)
			if at != tb.Lookup(a) || sc != tb.Scope(a) {
				t.Errorf("Classify(%s) = %+v, %v; Lookup %+v, Scope %v", a, at, sc, tb.Lookup(a), tb.Scope(a))
			}
		}
	}
	if at, _ := split.Classify(netip.MustParseAddr("::ffff:10.1.2.3")); at.Label != 9 {
		t.Errorf("mapped 10.1.2.3 label %d; want 9 (the more specific IPv4 row)", at.Label)
	}
}
