package fuzz

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/policytable"
)

// gaiSeeds are the gai.conf inputs of the policytable unit tests.
var gaiSeeds = []string{
	"",
	"label ::1/128 0\nlabel ::/0 1\nprecedence ::ffff:0:0/96 100\n",
	"precedence ::1/128 50\nprecedence ::/0 40\nprecedence 2002::/16 30\nprecedence ::/96 20\nprecedence ::ffff:0:0/96 100\n",
	"scopev4 ::ffff:169.254.0.0/112 2\nscopev4 10.0.0.0/8 5\nscopev4 192.0.2.1 8\nscopev4 ::ffff:0.0.0.0/96 14\n",
	"# comment\n\n\tprecedence\t::1/128\t50 # trailing\r\n  label ::1 0#x\nreload yes\n",
	"label ::1/128\nlabel 10.0.0.0/8 4\nprecedence 2001:db8::1/32 5\nlabels x y\nreload maybe\nscopev4 10.0.0.0/8 16\n",
	"label ::1/128 0\nlabel ::1/128 5\nlabel ::1/129 0\nlabel ::1/128 256\n",
}

func addFileSeed(f *testing.F, name string) {
	b, err := os.ReadFile(filepath.Join("..", "policytable", "testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
}

// FuzzGaiConf: ParseGaiConf and ParseGaiConfLenient never panic; a table
// either accepts is written by WriteGaiConf and read back Equal (strictly
// too, unless it holds an IPv4 scope above 15, which only glibc and the
// lenient reader accept); strict acceptance implies a lenient parse with
// no warnings and the same table; every problem has a line number inside
// the input; the warnings and their texts are bounded.
func FuzzGaiConf(f *testing.F) {
	for _, s := range gaiSeeds {
		f.Add(s)
	}
	addFileSeed(f, "debian-gai.conf")
	f.Fuzz(func(t *testing.T, in string) {
		lines := strings.Count(in, "\n") + 1
		strict, err := policytable.ParseGaiConf(strings.NewReader(in))
		lenient, warnings, lerr := policytable.ParseGaiConfLenient(strings.NewReader(in))
		var pe *policytable.ParseError
		if err != nil && errors.As(err, &pe) && (pe.Line < 1 || pe.Line > lines || len(pe.Error()) > maxErrorLen) {
			t.Fatalf("ParseError line %d outside 1..%d or %d bytes long", pe.Line, lines, len(pe.Error()))
		}
		checkWarnings(t, warnings, lines)
		if err == nil {
			if lerr != nil || len(warnings) != 0 || !lenient.Equal(strict) {
				t.Fatalf("strict accepted, lenient = %v, %v, %v", lenient, warnings, lerr)
			}
		}
		for _, tb := range []*policytable.Table{strict, lenient} {
			if tb != nil {
				checkGaiRoundTrip(t, tb)
			}
		}
	})
}

// maxErrorLen bounds the text of one error: messages quote at most 80
// bytes of the line and of at most two fields, and %q writes a byte of
// invalid UTF-8 as 4 characters.
const maxErrorLen = 1500

func checkWarnings(t *testing.T, warnings []*policytable.ParseError, lines int) {
	t.Helper()
	if len(warnings) > 101 {
		t.Fatalf("%d warnings; want at most 100 and a count of the rest", len(warnings))
	}
	for _, w := range warnings {
		if w.Line < 1 || w.Line > lines || w.Err == nil || len(w.Error()) > maxErrorLen {
			t.Fatalf("warning %v outside 1..%d or too long", w, lines)
		}
	}
}

// checkGaiRoundTrip writes tb as gai.conf and reads it back.
func checkGaiRoundTrip(t *testing.T, tb *policytable.Table) {
	t.Helper()
	var b bytes.Buffer
	if err := tb.WriteGaiConf(&b); err != nil {
		t.Fatal(err)
	}
	back, warnings, err := policytable.ParseGaiConfLenient(bytes.NewReader(b.Bytes()))
	if err != nil || !back.Equal(tb) {
		t.Fatalf("reading what WriteGaiConf wrote: %v, %v\n%s", err, warnings, b.String())
	}
	rules, _ := tb.ScopeV4()
	wide := slices.ContainsFunc(rules, func(r policytable.ScopeRule) bool { return r.Scope > 15 })
	strict, err := policytable.ParseGaiConf(bytes.NewReader(b.Bytes()))
	if (err != nil) != wide || err == nil && !strict.Equal(tb) {
		t.Fatalf("strict read of what WriteGaiConf wrote = %v (scopes above 15: %v)\n%s", err, wide, b.String())
	}
}

// FuzzLint: Lint of any table the lenient reader builds is deterministic,
// bounded by the rows, uses only the documented codes in their order,
// and says the same of the table after a gai.conf round trip.
func FuzzLint(f *testing.F) {
	for _, s := range gaiSeeds {
		f.Add(s)
	}
	f.Add("label ::/0 1\nlabel 2001:db8:1::/48 14\nlabel fd00:1::/48 14\nlabel fd00:2::/48 14\nprecedence ::ffff:0:0/96 100\n")
	f.Add("precedence fc00::/7 50\nprecedence 2000::/3 40\nlabel 2001:db8::/32 1\nscopev4 10.0.0.0/8 5\n")
	addFileSeed(f, "debian-gai.conf")
	order := map[string]int{policytable.CodeMissingRow: 0, policytable.CodeIPv4Preferred: 1, policytable.CodeULAPreferred: 2,
		policytable.CodeRedundantRow: 3, policytable.CodeSharedLabel: 4, policytable.CodeScopeNoLinkLocal: 5}
	f.Fuzz(func(t *testing.T, in string) {
		tb, _, err := policytable.ParseGaiConfLenient(strings.NewReader(in))
		if err != nil {
			return
		}
		got := policytable.Lint(tb)
		// 16 missing rows, 2 preferences, one redundant or shared-label
		// finding per row, 2 scopes.
		if limit := 20 + len(tb.Precedences()) + 2*len(tb.Labels()); len(got) > limit {
			t.Fatalf("%d findings for %d+%d rows", len(got), len(tb.Precedences()), len(tb.Labels()))
		}
		for i, fd := range got {
			o, ok := order[fd.Code]
			if !ok || fd.Message == "" || len(fd.String()) > maxErrorLen || !fd.Prefix.IsValid() {
				t.Fatalf("finding %q: unknown code, empty or too long", fd)
			}
			if i > 0 && order[got[i-1].Code] > o {
				t.Fatalf("findings out of code order: %v", got)
			}
		}
		var b bytes.Buffer
		if err := tb.WriteGaiConf(&b); err != nil {
			t.Fatal(err)
		}
		back, _, err := policytable.ParseGaiConfLenient(&b)
		if err != nil {
			t.Fatal(err)
		}
		if again := policytable.Lint(back); !slices.Equal(again, got) {
			t.Fatalf("Lint after a round trip = %v; want %v", again, got)
		}
	})
}

// FuzzKnownLocal: KnownLocalPrefix accepts exactly the addresses of
// fd00::/8 and returns their /48; AddKnownLocal either rejects a prefix
// with a *TableError naming it, or gives every known-local prefix the
// draft's precedence 45 and label 14, changes nothing outside them, is
// idempotent and survives a gai.conf round trip.
func FuzzKnownLocal(f *testing.F) {
	pfx := func(s string) []byte {
		p := netip.MustParsePrefix(s)
		b := p.Addr().As16()
		return append(b[:], byte(p.Bits()))
	}
	addr := func(s string) []byte { b := netip.MustParseAddr(s).As16(); return b[:] }
	f.Add(addr("fd01:1:1::1"), slices.Concat(pfx("fd01:1:1::/48"), pfx("fd02:2:2::/48")))
	f.Add(addr("fc00::1"), slices.Concat(pfx("fd01:1:1::/48"), pfx("fd01:1:1:8000::/49")))
	f.Add(addr("::ffff:10.0.0.1"), pfx("fd00::/39"))
	f.Add(addr("fd12:3456:789a::1"), slices.Concat(pfx("fc00::/48"), pfx("fd00::/40")))
	base := policytable.Draft6724Update()
	f.Fuzz(func(t *testing.T, a []byte, raw []byte) {
		if len(a) < 16 {
			return
		}
		x := netip.AddrFrom16([16]byte(a[:16]))
		kp, ok := policytable.KnownLocalPrefix(x)
		if inFD := x.As16()[0] == 0xfd && !x.Is4In6(); ok != inFD || ok && (kp.Bits() != 48 || !kp.Contains(x)) {
			t.Fatalf("KnownLocalPrefix(%s) = %s, %v", x, kp, ok)
		}
		var prefixes []netip.Prefix
		for len(raw) >= 17 && len(prefixes) < 200 {
			prefixes = append(prefixes, netip.PrefixFrom(netip.AddrFrom16([16]byte(raw[:16])), int(raw[16])%129))
			raw = raw[17:]
		}
		if ok {
			prefixes = append(prefixes, kp)
		}
		checkKnownLocal(t, base, prefixes, x)
	})
}

func checkKnownLocal(t *testing.T, base *policytable.Table, prefixes []netip.Prefix, x netip.Addr) {
	t.Helper()
	tb, err := base.AddKnownLocal(prefixes...)
	if err != nil {
		var te *policytable.TableError
		if !errors.As(err, &te) || tb != nil || !slices.Contains(prefixes, te.Prefix) || len(err.Error()) > maxErrorLen {
			t.Fatalf("AddKnownLocal(%v) = %v, %v; want a *TableError naming one of them", prefixes, tb, err)
		}
		return
	}
	want := policytable.Attr{Precedence: policytable.KnownLocalPrecedence, Label: policytable.KnownLocalLabel}
	inside := false
	for _, p := range prefixes {
		if got := tb.Lookup(p.Addr()); got != want {
			t.Fatalf("Lookup(%s) = %+v after adding %s; want %+v", p.Addr(), got, p, want)
		}
		inside = inside || p.Contains(x)
	}
	if !inside && tb.Lookup(x) != base.Lookup(x) {
		t.Fatalf("Lookup(%s) changed outside the known-local prefixes", x)
	}
	if again, err := tb.AddKnownLocal(prefixes...); err != nil || !again.Equal(tb) {
		t.Fatalf("adding the prefixes again = %v; want the same table", err)
	}
	checkGaiRoundTrip(t, tb)
}

// combinedRoundTrip checks a parse of a combined-table format: on
// success, write and read back gives the same Entries (and an Equal
// table: parsed tables are never split and have default scopes).
func combinedRoundTrip(t *testing.T, tb *policytable.Table, err error, write func(*policytable.Table, io.Writer) error, parse func(io.Reader) (*policytable.Table, error)) {
	t.Helper()
	if err != nil {
		if tb != nil {
			t.Fatalf("error %v with a table", err)
		}
		return
	}
	var b bytes.Buffer
	if err := write(tb, &b); err != nil {
		t.Fatal(err)
	}
	back, err := parse(&b)
	if err != nil {
		t.Fatalf("reading what was written: %v\n%s", err, b.String())
	}
	if !slices.Equal(back.Entries(), tb.Entries()) || !back.Equal(tb) {
		t.Fatalf("round trip changed the table:\n%s\nwant\n%s", back, tb)
	}
}

// FuzzIP6addrctl covers both FreeBSD formats: "ip6addrctl show" output
// and the "ip6addrctl install" file.
func FuzzIP6addrctl(f *testing.F) {
	for _, s := range []string{
		"Prefix                          Prec Label      Use\n::1/128                           50     0      412\n::/0                              40     1  1234567\n::ffff:0.0.0.0/96                 35     4       88\n",
		"no source-address-selection policy is installed\n",
		"::1/128 50 0\n::/0 40 1\n::ffff:0:0/96 35 4\n2002::/16 30 2 # 6to4\n",
		"# comment\n::/0 40 1\nfoo/8 1 1\n::/0 256 1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tb, err := policytable.ParseIP6addrctl(strings.NewReader(in))
		combinedRoundTrip(t, tb, err, (*policytable.Table).WriteIP6addrctl, policytable.ParseIP6addrctl)
		tb, err = policytable.ParseIP6addrctlConf(strings.NewReader(in))
		combinedRoundTrip(t, tb, err, (*policytable.Table).WriteIP6addrctlConf, policytable.ParseIP6addrctlConf)
	})
}

// FuzzNetsh covers "netsh interface ipv6 show prefixpolicies" output.
func FuzzNetsh(f *testing.F) {
	for _, s := range []string{
		"Querying active state...\r\n\r\nPrecedence  Label  Prefix\r\n----------  -----  --------------------------------\r\n        50      0  ::1/128\r\n        40      1  ::/0\r\n        35      4  ::ffff:0:0/96\r\n\r\n",
		"Precedence  Label  Prefix\n----------  -----  ------\n40 1 ::/0\n40 300 ::/0\n",
		"Precedence Label Prefix\n-- -- --\n40 1 ::/0\n3 13 fc00::/7\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tb, err := policytable.ParseNetsh(strings.NewReader(in))
		combinedRoundTrip(t, tb, err, (*policytable.Table).WriteNetsh, policytable.ParseNetsh)
	})
}

// slowLookup is the reference: scan every row, keep the longest prefix
// containing the address (RFC 6724 section 2.1), IPv4 as IPv4-mapped.
func slowLookup(entries []policytable.Entry, a netip.Addr) policytable.Attr {
	if a.Is4() {
		a = netip.AddrFrom16(a.As16())
	}
	a = a.WithZone("")
	best := -1
	var out policytable.Attr
	for _, e := range entries {
		if e.Prefix.Bits() > best && e.Prefix.Contains(a) {
			best, out = e.Prefix.Bits(), policytable.Attr{Precedence: e.Precedence, Label: e.Label}
		}
	}
	return out
}

// FuzzLookup builds a table from fuzzed rows (16 address bytes, a length,
// a precedence and a label each; ::/0 added when missing) and checks
// Lookup against the slow scan for the fuzzed address, its IPv4 form and
// the edges of every row. Scope must not panic.
func FuzzLookup(f *testing.F) {
	row := func(p string, prec, label byte) []byte {
		pp := netip.MustParsePrefix(p)
		b := pp.Addr().As16()
		return append(b[:], byte(pp.Bits()), prec, label)
	}
	addr := func(s string) []byte { b := netip.MustParseAddr(s).As16(); return b[:] }
	f.Add(addr("2001:db8::1"), slices.Concat(row("2001:db8::/32", 1, 2), row("2001:db8::/48", 3, 4)))
	f.Add(addr("::ffff:10.1.2.3"), slices.Concat(row("::ffff:10.0.0.0/104", 9, 9), row("::ffff:0:0/96", 35, 4), row("::/0", 40, 1)))
	f.Add(addr("::1"), slices.Concat(row("::1/128", 50, 0), row("::/96", 1, 3)))
	f.Add(addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), row("ff00::/8", 7, 7))
	f.Fuzz(func(t *testing.T, a []byte, rows []byte) {
		if len(a) < 16 {
			return
		}
		var entries []policytable.Entry
		seen := map[netip.Prefix]bool{}
		for len(rows) >= 19 && len(entries) < 2000 {
			p := netip.PrefixFrom(netip.AddrFrom16([16]byte(rows[:16])), int(rows[16])%129).Masked()
			if !seen[p] {
				seen[p] = true
				entries = append(entries, policytable.Entry{Prefix: p, Precedence: rows[17], Label: rows[18]})
			}
			rows = rows[19:]
		}
		def := netip.MustParsePrefix("::/0")
		if !seen[def] {
			entries = append(entries, policytable.Entry{Prefix: def, Precedence: 40, Label: 1})
		}
		tb, err := policytable.New(entries)
		if err != nil {
			t.Fatalf("New(%v): %v", entries, err)
		}
		probe := []netip.Addr{netip.AddrFrom16([16]byte(a[:16]))}
		for _, e := range entries {
			first := e.Prefix.Addr()
			b := first.As16()
			for i := e.Prefix.Bits(); i < 128; i++ {
				b[i/8] |= 1 << (7 - i%8)
			}
			last := netip.AddrFrom16(b)
			probe = append(probe, first, first.Prev(), last, last.Next())
		}
		got := tb.Entries()
		for _, x := range probe {
			if !x.IsValid() {
				continue
			}
			want := slowLookup(entries, x)
			if l := tb.Lookup(x); l != want {
				t.Fatalf("Lookup(%s) = %+v; want %+v", x, l, want)
			}
			if e := slowLookup(got, x); e != want {
				t.Fatalf("Entries() scan at %s = %+v; want %+v", x, e, want)
			}
			if x.Is4In6() {
				if l := tb.Lookup(x.Unmap()); l != want {
					t.Fatalf("Lookup(%s) = %+v; want %+v as for %s", x.Unmap(), l, want, x)
				}
				if tb.Scope(x) != tb.Scope(x.Unmap()) {
					t.Fatalf("Scope(%s) != Scope(%s)", x, x.Unmap())
				}
			}
			_ = tb.Scope(x)
		}
	})
}
