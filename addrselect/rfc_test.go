package addrselect

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/policytable"
)

// The worked examples of RFC 6724 section 10 and RFC 3484 section 10, and
// the derived vectors, copied from shared/testdata (see its README for the
// columns and the known typos of the RFC text).

type vector map[string]string

func readTSV(t *testing.T, name string) []vector {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("test vectors: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var header []string
	var rows []vector
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = cols
			continue
		}
		if len(cols) != len(header) {
			t.Fatalf("%s: row %q has %d columns, want %d", name, cols[0], len(cols), len(header))
		}
		v := vector{}
		for i, h := range header {
			v[h] = cols[i]
		}
		rows = append(rows, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no rows", name)
	}
	return rows
}

// policyTables builds every table of policy-tables.tsv with policytable.New.
func policyTables(t *testing.T) map[string]*policytable.Table {
	t.Helper()
	rows := map[string][]policytable.Entry{}
	for _, r := range readTSV(t, "policy-tables.tsv") {
		if strings.HasPrefix(r["table"], "impl-") {
			continue // implementation tables, for comparison only
		}
		if strings.HasPrefix(r["prefix"], "$") {
			continue // a placeholder row ($known_local) of the symbolic draft table
		}
		prec, err1 := strconv.Atoi(r["precedence"])
		label, err2 := strconv.Atoi(r["label"])
		p, err3 := netip.ParsePrefix(r["prefix"])
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("policy-tables.tsv: bad row %v", r)
		}
		rows[r["table"]] = append(rows[r["table"]], policytable.Entry{Prefix: p, Precedence: uint8(prec), Label: uint8(label)})
	}
	tables := map[string]*policytable.Table{}
	for name, es := range rows {
		tb, err := policytable.New(es)
		if err != nil {
			t.Fatalf("policy %s: %v", name, err)
		}
		tables[name] = tb
	}
	return tables
}

// parseCandidates reads "addr;prop;prop,addr" into Sources.
func parseCandidates(t *testing.T, s string) []Source {
	t.Helper()
	var out []Source
	for _, c := range strings.Split(s, ",") {
		parts := strings.Split(c, ";")
		src := Source{Addr: netip.MustParseAddr(parts[0])}
		for _, p := range parts[1:] {
			switch p {
			case "deprecated":
				src.Deprecated = true
			case "temporary":
				src.Temporary = true
			case "public":
			case "home":
				src.Home = true
			case "care-of":
				src.CareOf = true
			default:
				t.Fatalf("unknown candidate property %q", p)
			}
		}
		out = append(out, src)
	}
	return out
}

func parseAddrs(s string) []netip.Addr {
	var out []netip.Addr
	for _, a := range strings.Split(s, ",") {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// selectorFor returns the profile a row is written for.
func selectorFor(t *testing.T, v vector, tables map[string]*policytable.Table) *Selector {
	t.Helper()
	tb, ok := tables[v["policy"]]
	if !ok {
		t.Fatalf("%s: unknown policy %q", v["id"], v["policy"])
	}
	if strings.HasPrefix(v["policy"], "rfc3484") {
		// RFC 3484: its IPv4 scopes, full-length prefixes, public first.
		return RFC3484(WithTable(tb))
	}
	if strings.Contains(v["section"], "RFC3484 IPv4 scoping") {
		// derived-D03: RFC 6724 table, RFC 3484 scope for RFC 1918.
		return RFC6724(WithTable(tb), WithPrivateIPv4Scope(policytable.ScopeSiteLocal))
	}
	return RFC6724(WithTable(tb))
}

func TestRFCVectors(t *testing.T) {
	tables := policyTables(t)
	var all []vector
	for _, f := range []string{"rfc6724-examples.tsv", "rfc3484-examples.tsv", "derived-vectors.tsv"} {
		all = append(all, readTSV(t, f)...)
	}
	if len(all) != 32+28+13 {
		t.Fatalf("read %d vectors, want 73", len(all))
	}
	for _, v := range all {
		t.Run(v["id"], func(t *testing.T) {
			s := selectorFor(t, v, tables)
			cands := parseCandidates(t, v["candidates"])
			switch v["kind"] {
			case "source":
				checkSourceVector(t, s, v, cands)
			case "destination":
				checkDestinationVector(t, s, v, cands)
			default:
				t.Fatalf("unknown kind %q", v["kind"])
			}
		})
	}
}

func checkSourceVector(t *testing.T, s *Selector, v vector, cands []Source) {
	dst := netip.MustParseAddr(v["destination"])
	want := netip.MustParseAddr(v["expected"])
	got, ok := s.SelectSource(dst, cands)
	if !ok || got.Addr != want {
		t.Fatalf("SelectSource(%s, %s) = %s, %v; want %s", dst, v["candidates"], got.Addr, ok, want)
	}
	// The runner-up: the best of the others.
	var rest []Source
	for _, c := range cands {
		if c.Addr != got.Addr {
			rest = append(rest, c)
		}
	}
	runner, ok := s.SelectSource(dst, rest)
	if !ok {
		t.Fatalf("no runner-up among %v", rest)
	}
	d := s.ExplainSource(dst, got, runner)
	if d.Rule.String() != v["model_rule_chain"] || d.Rule.String() != v["rule"] {
		t.Errorf("ExplainSource(%s, %s, %s).Rule = %s; want %s (%s)", dst, got.Addr, runner.Addr, d.Rule, v["rule"], d)
	}
	if d.Order >= 0 {
		t.Errorf("ExplainSource(%s, %s, %s).Order = %d; want < 0", dst, got.Addr, runner.Addr, d.Order)
	}
	back := s.ExplainSource(dst, runner, got)
	if back.Rule != d.Rule || back.Order <= 0 {
		t.Errorf("ExplainSource(%s, %s, %s) = %v, %d; want %v, > 0", dst, runner.Addr, got.Addr, back.Rule, back.Order, d.Rule)
	}
	// The pick must not depend on the order of the candidates.
	rev := slices.Clone(cands)
	slices.Reverse(rev)
	if g, _ := s.SelectSource(dst, rev); g.Addr != want {
		t.Errorf("SelectSource(%s, reversed) = %s; want %s", dst, g.Addr, want)
	}
}

func destinationsFor(s *Selector, addrs []netip.Addr, cands []Source) []Destination {
	out := make([]Destination, len(addrs))
	for i, a := range addrs {
		src, _ := s.SelectSource(a, cands)
		out[i] = Destination{Addr: a, Source: src}
	}
	return out
}

func addrsOf(ds []Destination) []netip.Addr {
	out := make([]netip.Addr, len(ds))
	for i, d := range ds {
		out[i] = d.Addr
	}
	return out
}

func checkDestinationVector(t *testing.T, s *Selector, v vector, cands []Source) {
	in := destinationsFor(s, parseAddrs(v["destination"]), cands)
	want := parseAddrs(v["expected"])
	got := slices.Clone(in)
	s.SortDestinations(got)
	if !slices.Equal(addrsOf(got), want) {
		t.Fatalf("SortDestinations(%s) = %v; want %v", v["destination"], addrsOf(got), want)
	}
	for i, pair := range strings.Split(v["expected_sources"], ",") {
		d, src, _ := strings.Cut(pair, "=")
		if got[i].Addr != netip.MustParseAddr(d) || got[i].Source.Addr != netip.MustParseAddr(src) {
			t.Errorf("result %d = %s (src %s); want %s", i, got[i].Addr, got[i].Source.Addr, pair)
		}
	}
	pos := func(a netip.Addr) int {
		return slices.IndexFunc(in, func(d Destination) bool { return d.Addr == a })
	}
	// The deciding rule of each adjacent pair, asked in input order.
	chain := strings.Split(v["model_rule_chain"], ";")
	if len(chain) != len(got)-1 {
		t.Fatalf("model_rule_chain %q has %d rules for %d destinations", v["model_rule_chain"], len(chain), len(got))
	}
	for i := range chain {
		x, y := got[i], got[i+1]
		swapped := pos(x.Addr) > pos(y.Addr)
		if swapped {
			x, y = y, x
		}
		d := s.Explain(x, y)
		if d.Rule.String() != chain[i] {
			t.Errorf("Explain(%s, %s).Rule = %s; want %s (%s)", x.Addr, y.Addr, d.Rule, chain[i], d)
		}
		if (d.Order > 0) != swapped || d.Order == 0 {
			t.Errorf("Explain(%s, %s).Order = %d; want %s", x.Addr, y.Addr, d.Order, map[bool]string{true: "> 0", false: "< 0"}[swapped])
		}
	}
	// The rule the RFC names decides the first pair. rfc6724-D28: the RFC
	// says precedence, but the label (rule 5) decides first (README).
	wantRule := v["rule"]
	if v["id"] == "rfc6724-D28" {
		wantRule = "dst-5"
	}
	if chain[0] != wantRule {
		t.Errorf("rule %s; model_rule_chain starts with %s", wantRule, chain[0])
	}
	// Trace gives the same rules.
	for i, d := range s.Trace(in) {
		if d.Rule.String() != chain[i] || d.A.Addr != got[i].Addr || d.B.Addr != got[i+1].Addr || d.Order >= 0 {
			t.Errorf("Trace[%d] = %v (%s -> %s, order %d); want %s for %s -> %s", i, d.Rule, d.A.Addr, d.B.Addr, d.Order, chain[i], got[i].Addr, got[i+1].Addr)
		}
	}
	// From the other direction: the same order unless rule 10 decided.
	rev := slices.Clone(in)
	slices.Reverse(rev)
	s.SortDestinations(rev)
	wantRev := want
	if slices.Contains(chain, "dst-10") {
		wantRev = slices.Clone(want)
		slices.Reverse(wantRev)
	}
	if !slices.Equal(addrsOf(rev), wantRev) {
		t.Errorf("SortDestinations(reversed input) = %v; want %v", addrsOf(rev), wantRev)
	}
}
