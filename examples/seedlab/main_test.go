package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/internal/cli"
	"github.com/dualstack/dualstack/internal/cli/clitest"
	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/policytable"
)

var update = flag.Bool("update", false, "rewrite testdata/seedlab.golden")

// result runs one scenario.
func result(t *testing.T, name string) Result {
	t.Helper()
	rs, err := runScenarios(context.Background(), name)
	if err != nil {
		t.Fatalf("runScenarios(%q): %v", name, err)
	}
	if len(rs) != 1 {
		t.Fatalf("runScenarios(%q) = %d results; want 1", name, len(rs))
	}
	return rs[0]
}

// step returns the only step whose title contains part and ends with
// suffix.
func step(t *testing.T, r Result, part, suffix string) Step {
	t.Helper()
	var found []Step
	for _, s := range r.Steps {
		if strings.Contains(s.Title, part) && strings.HasSuffix(s.Title, suffix) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d steps match %q...%q; want 1", r.Name, len(found), part, suffix)
	}
	return found[0]
}

// source returns the source the described host uses for dst.
func source(t *testing.T, desc string, dst string) addrselect.Source {
	t.Helper()
	h, err := addrselect.ParseHost(desc)
	if err != nil {
		t.Fatal(err)
	}
	src, err := h.Source(context.Background(), netip.MustParseAddr(dst))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestRoundRobin(t *testing.T) {
	r := result(t, "round-robin")
	// The client's IPv4 address shares 5 leading bits with 198.51.100.25
	// and 4 with 203.0.113.25: rule 9 as in RFC 3484 and RFC 6724 favours
	// the closer one for every client (the study's finding).
	c := netip.MustParseAddr("192.0.2.11")
	if a, b := policytable.CommonPrefixLen(c, rrA[0]), policytable.CommonPrefixLen(c, rrA[1]); a <= b {
		t.Fatalf("test data: CommonPrefixLen %d <= %d; want the first A record closer", a, b)
	}
	for _, tt := range []struct {
		fam, profile string
		defeated     bool
		rule         string
	}{
		{"A (IPv4)", "clients, rfc3484", true, "dst-9"},
		{"A (IPv4)", "clients, rfc6724", true, "dst-9"},
		{"A (IPv4)", "clients, glibc", false, "dst-10"},
		{"A (IPv4)", "clients, go", false, "dst-10"},
		{"A (IPv4)", "clients, rfc6724+on-link", false, "dst-10"},
		{"AAAA (IPv6)", "clients, rfc3484", true, "dst-9"},
		{"AAAA (IPv6)", "clients, rfc6724", true, "dst-9"},
		{"AAAA (IPv6)", "clients, glibc", true, "dst-9"},
		{"AAAA (IPv6)", "clients, go", true, "dst-9"},
		{"AAAA (IPv6)", "clients, rfc6724+on-link", false, "dst-10"},
	} {
		st := step(t, r, tt.fam, tt.profile)
		set := rrA
		if strings.HasPrefix(tt.fam, "AAAA") {
			set = rrAAAA
		}
		if len(st.Order) != len(rrClients) {
			t.Fatalf("%s: %d first picks; want one per client (%d)", st.Title, len(st.Order), len(rrClients))
		}
		if st.Rule != tt.rule {
			t.Errorf("%s: rule %s; want %s", st.Title, st.Rule, tt.rule)
		}
		distinct := len(slices.Compact(slices.Sorted(slices.Values(st.Order))))
		if tt.defeated && distinct != 1 {
			t.Errorf("%s: first picks %v; want every client on one address", st.Title, st.Order)
		}
		if !tt.defeated {
			// The DNS order survives: client i tries the head of
			// rotation i.
			for i, got := range st.Order {
				if want := rotate(set, i)[0].String(); got != want {
					t.Errorf("%s: client %d tries %s; want the DNS head %s", st.Title, i, got, want)
				}
			}
		}
	}
	// Equal-preference MX hosts are shuffled (RFC 5321 section 5.1): over
	// eight seeds both hosts come first at least once.
	mx := step(t, r, "MX hosts of preference 10", "")
	if n := len(slices.Compact(slices.Sorted(slices.Values(mx.Order)))); n != 2 {
		t.Errorf("first MX hosts over 8 seeds %v; want both hosts", mx.Order)
	}
}

func TestPrivateULA(t *testing.T) {
	r := result(t, "private-ula")
	// A ULA-only host: RFC 3484 (no ULA row) goes to the Internet over
	// IPv6 from its ULA source, which is not routed; RFC 6724 and glibc
	// use IPv4.
	ula := netip.MustParsePrefix("fc00::/7")
	st := step(t, r, "ULA-only", "rfc3484")
	first := netip.MustParseAddr(st.Order[0])
	if !first.Is6() || !ula.Contains(source(t, ulaOnlyHost, st.Order[0]).Addr) {
		t.Errorf("%s: first %s; want an IPv6 destination reached from a ULA source", st.Title, first)
	}
	for _, prof := range []string{"rfc6724", "glibc"} {
		st := step(t, r, "ULA-only", prof)
		if !netip.MustParseAddr(st.Order[0]).Is4() || st.Rule != "dst-5" {
			t.Errorf("%s: first %s by %s; want IPv4 by dst-5 (label mismatch)", st.Title, st.Order[0], st.Rule)
		}
	}
	// Private IPv4 against native IPv6: both pick IPv6, RFC 3484 by scope
	// (rule 2, private IPv4 is site-local), RFC 6724 by precedence.
	for prof, rule := range map[string]string{"rfc3484": "dst-2", "rfc6724": "dst-6"} {
		st := step(t, r, "office host (private", ", "+prof)
		if !netip.MustParseAddr(st.Order[0]).Is6() || st.Rule != rule {
			t.Errorf("%s: first %s by %s; want IPv6 by %s", st.Title, st.Order[0], st.Rule, rule)
		}
	}
	// The intranet server: RFC 6724 puts ULAs below IPv4; the draft and
	// its known-local rows put them above.
	want := map[string]bool{"rfc3484": true, "rfc6724": false, "draft-update": true, "draft-update+known-local": true}
	for prof, ulaFirst := range want {
		st := step(t, r, "intranet", ", "+prof)
		got := ula.Contains(netip.MustParseAddr(st.Order[0]))
		if got != ulaFirst {
			t.Errorf("%s: first %s; want ULA first = %v", st.Title, st.Order[0], ulaFirst)
		}
	}
	st = step(t, r, "intranet", "known-local")
	if want := "45 >"; !strings.Contains(st.Reason, want) || policytable.KnownLocalPrecedence != 45 {
		t.Errorf("%s: reason %q; want the known-local precedence %d", st.Title, st.Reason, policytable.KnownLocalPrecedence)
	}
}

func TestTunnels(t *testing.T) {
	r := result(t, "tunnels")
	sixToFour := netip.MustParsePrefix("2002::/16")
	teredo := netip.MustParsePrefix("2001::/32")
	for _, tt := range []struct {
		host, desc string
		tunnel     netip.Prefix
	}{{"6to4 host", sixToFourHost, sixToFour}, {"Teredo host", teredoHost, teredo}} {
		st := step(t, r, tt.host, "rfc3484")
		if src := source(t, tt.desc, st.Order[0]).Addr; !tt.tunnel.Contains(src) {
			t.Errorf("%s: first %s from %s; want the tunnel source under RFC 3484", st.Title, st.Order[0], src)
		}
		st = step(t, r, tt.host, "rfc6724")
		if !netip.MustParseAddr(st.Order[0]).Is4() || st.Rule != "dst-5" {
			t.Errorf("%s: first %s by %s; want IPv4 by dst-5", st.Title, st.Order[0], st.Rule)
		}
	}
	// Rule 7: RFC 6724 prefers the native path; Go skips rule 7.
	st := step(t, r, "tunnel interface", "rfc6724")
	if src := source(t, tunnelHost, st.Order[0]); src.Encapsulated || st.Rule != "dst-7" {
		t.Errorf("%s: first %s (encapsulated %v) by %s; want the native path by dst-7", st.Title, st.Order[0], src.Encapsulated, st.Rule)
	}
	st = step(t, r, "tunnel interface", "go")
	if src := source(t, tunnelHost, st.Order[0]); !src.Encapsulated {
		t.Errorf("%s: first %s; want the tunnelled address (Go has no rule 7)", st.Title, st.Order[0])
	}
	// Transition AAAA records are not used first under RFC 6724 and are
	// audit findings.
	st = step(t, r, "publishing 6to4", "rfc6724")
	if a := netip.MustParseAddr(st.Order[0]); sixToFour.Contains(a) || teredo.Contains(a) {
		t.Errorf("%s: first %s; want no transition address first", st.Title, a)
	}
	audit := step(t, r, "audit", "")
	for _, a := range transitionMX {
		if !sixToFour.Contains(a) && !teredo.Contains(a) {
			continue
		}
		if want := string(mxorder.CodeTransition) + " mx.example.org " + a.String(); !slices.Contains(audit.Findings, want) {
			t.Errorf("audit findings %q; want %q", audit.Findings, want)
		}
	}
}

func TestRelayBounce(t *testing.T) {
	r := result(t, "relay-bounce")
	st := step(t, r, "delivers to example.net", "")
	if st.HandedTo != "mx.example.net" || !slices.Contains(st.Skipped, "mx.example.net 2001:db8:80::25: "+mxorder.SkipFamily.String()) {
		t.Errorf("%s: handed to %q, skipped %q; want mx.example.net over IPv4 with its AAAA skipped", st.Title, st.HandedTo, st.Skipped)
	}
	st = step(t, r, "returns the bounce", "")
	if st.HandedTo != "" || !strings.Contains(st.Error, mxorder.IPv6.Words()) || !strings.Contains(st.Error, mxorder.IPv4.Words()) {
		t.Errorf("%s: handed to %q, error %q; want an unreachable error naming both families", st.Title, st.HandedTo, st.Error)
	}
	st = step(t, r, "bounce check", "")
	if !slices.Contains(st.Findings, string(mxorder.CodeBounceLost)) {
		t.Errorf("%s: findings %q; want %s", st.Title, st.Findings, mxorder.CodeBounceLost)
	}
}

func TestMXRouting(t *testing.T) {
	r := result(t, "mx-routing")
	// The study: the IPv4-only relay skips mx20 (no shared family) and
	// hands to mx30.
	st := step(t, r, "relay.example.com (IPv4-only)", "")
	if want := []string{"mx10.example.org", "mx30.example.org"}; !slices.Equal(st.Order, want) {
		t.Errorf("relay plan hosts %q; want %q", st.Order, want)
	}
	if want := "mx20.example.org: " + mxorder.SkipFamily.String(); !slices.Contains(st.Skipped, want) || st.Rule != "skip:family" {
		t.Errorf("relay skipped %q (rule %s); want %q", st.Skipped, st.Rule, want)
	}
	if st.HandedTo != "mx30.example.org" {
		t.Errorf("relay handed to %q; want mx30.example.org", st.HandedTo)
	}
	// mx30 prunes itself (RFC 5321 section 5.1) and, mx10 being down,
	// passes to mx20.
	st = step(t, r, "mx30.example.org (dual-stack backup) relays", "")
	if !slices.Contains(st.Skipped, "mx30.example.org: "+mxorder.SkipSelf.String()) || st.HandedTo != "mx20.example.org" {
		t.Errorf("mx30: skipped %q, handed to %q; want itself skipped and mx20", st.Skipped, st.HandedTo)
	}
	// mx20 may only hand to mx10, which stays down.
	st = step(t, r, "mx20.example.org (IPv6-only backup) relays", "")
	if !slices.Equal(st.Order, []string{"mx10.example.org"}) || st.HandedTo != "" {
		t.Errorf("mx20: hosts %q, handed to %q; want only mx10 and no hand-over", st.Order, st.HandedTo)
	}
	// The bounce from IPv6-only mx20 cannot reach the IPv4-only sender.
	st = step(t, r, "returns the expired message", "")
	if !strings.Contains(st.Error, "IPv4-only") || !strings.Contains(st.Error, "IPv6-only") {
		t.Errorf("bounce from mx20: error %q; want the families named", st.Error)
	}
	st = step(t, r, "audit of example.org", "")
	if !slices.Contains(st.Findings, string(mxorder.CodeSingleStack)+" mx20.example.org") {
		t.Errorf("audit findings %q; want single-stack mx20", st.Findings)
	}
	st = step(t, r, "bounce check", "")
	if !slices.Contains(st.Findings, string(mxorder.CodeBounceLost)+" mx20.example.org") {
		t.Errorf("bounce check findings %q; want bounce-lost for mx20", st.Findings)
	}
}

func TestClients(t *testing.T) {
	r := result(t, "clients")
	st := step(t, r, "without fallback", "")
	if len(st.Order) != 1 || !refused[netip.MustParseAddr(st.Order[0])] || st.Error == "" {
		t.Errorf("%s: attempts %q, error %q; want one refused attempt and a failure", st.Title, st.Order, st.Error)
	}
	st = step(t, r, "Dialer (RFC 8305) submits", "")
	if len(st.Order) != 2 || !refused[netip.MustParseAddr(st.Order[0])] || refused[netip.MustParseAddr(st.Order[1])] || st.Error != "" {
		t.Errorf("%s: attempts %q, error %q; want the refused address, then the other family", st.Title, st.Order, st.Error)
	}
	st = step(t, r, "first-answer", "")
	if st.Error == "" || len(st.Order) != 0 {
		t.Errorf("%s: order %q, error %q; want the empty A answer to end the lookup", st.Title, st.Order, st.Error)
	}
	st = step(t, r, "Dialer (RFC 8305) connects", "")
	if !slices.Equal(st.Order, []string{"2001:db8:6::143"}) || st.Error != "" {
		t.Errorf("%s: attempts %q, error %q; want the AAAA address", st.Title, st.Order, st.Error)
	}
}

func TestPrivacy(t *testing.T) {
	r := result(t, "privacy")
	h, err := addrselect.ParseHost(privacyHost)
	if err != nil {
		t.Fatal(err)
	}
	temporary := map[string]bool{}
	for _, a := range h.Addrs {
		temporary[a.Addr.String()] = a.Temporary
	}
	for prof, wantTemp := range map[string]bool{"client": true, "mta": false, "rfc3484": false} {
		st := step(t, r, ", "+prof, "")
		if got := temporary[st.Order[0]]; got != wantTemp || st.Rule != "src-7" {
			t.Errorf("%s: source %s (temporary %v) by %s; want temporary %v by src-7", st.Title, st.Order[0], got, st.Rule, wantTemp)
		}
	}
}

// TestGolden keeps the output for people under review: run with -update
// after an intended change and read the diff.
func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		file    string
		verbose bool
	}{{"seedlab.golden", false}, {"seedlab-v.golden", true}} {
		var buf bytes.Buffer
		if err := run(context.Background(), &buf, "", false, tt.verbose); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", tt.file)
		if *update {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); got != string(want) {
			t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", path, lineDiff(string(want), got))
		}
	}
}

// lineDiff shows the first differing line.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n-" + a + "\n+" + b
		}
	}
	return ""
}

func TestJSON(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		var buf bytes.Buffer
		if err := run(context.Background(), &buf, "mx-routing", true, verbose); err != nil {
			t.Fatal(err)
		}
		var rs []Result
		if err := json.Unmarshal(buf.Bytes(), &rs); err != nil {
			t.Fatalf("-json output does not parse: %v", err)
		}
		if len(rs) != 1 || rs[0].Name != "mx-routing" || len(rs[0].Steps) == 0 {
			t.Fatalf("-json -scenario mx-routing: %d results; want the one scenario with its steps", len(rs))
		}
		traced := false
		for _, s := range rs[0].Steps {
			traced = traced || len(s.Trace) > 0
		}
		if traced != verbose {
			t.Errorf("-json with -v=%v: traces present = %v", verbose, traced)
		}
	}
}

func TestScenarioNames(t *testing.T) {
	var buf bytes.Buffer
	listScenarios(&buf)
	for _, s := range scenarios {
		if !strings.Contains(buf.String(), s.name) {
			t.Errorf("-list output lacks %s", s.name)
		}
	}
	if _, err := runScenarios(context.Background(), "no-such"); err == nil {
		t.Error("runScenarios(no-such) = nil error; want an unknown-scenario error")
	}
	all, err := runScenarios(context.Background(), "")
	if err != nil || len(all) != len(scenarios) {
		t.Fatalf("runScenarios(\"\") = %d results, %v; want %d", len(all), err, len(scenarios))
	}
	for _, r := range all {
		if r.Study == "" || r.Consequence == "" || len(r.Advice) == 0 || len(r.Steps) == 0 {
			t.Errorf("%s: study, consequence, advice and steps must all be present", r.Name)
		}
		for _, s := range r.Steps {
			if s.Decision == "" {
				t.Errorf("%s: step %q has no decision", r.Name, s.Title)
			}
		}
	}
}

func TestMainStatus(t *testing.T) {
	clitest.Run(t, "seedlab", mainStatus, []clitest.Case{
		{Name: "scenario-number", Args: []string{"-scenario", "5"}, Status: 0, Stdout: "== 5. mx-routing:"},
		{Name: "scenario-name", Args: []string{"-scenario", "mx-routing"}, Status: 0, Stdout: "== 5. mx-routing:"},
		{Name: "list", Args: []string{"-list"}, Status: 0, Stdout: "5. mx-routing "},
		{Name: "help", Args: []string{"-h"}, Status: 0, Stdout: "NAME or NUMBER"},
		{Name: "scenario-zero", Args: []string{"-scenario", "0"}, Status: 2, Stderr: `-scenario "0": no such scenario`},
		{Name: "scenario-past-end", Args: []string{"-scenario", strconv.Itoa(len(scenarios) + 1)}, Status: 2,
			Stderr: "no such scenario; want a name or a number from 1 to " + strconv.Itoa(len(scenarios))},
		{Name: "unknown-name", Args: []string{"-scenario", "no-such"}, Status: 2, Stderr: `-scenario "no-such"`},
		{Name: "argument", Args: []string{"mx-routing"}, Status: 2, Stderr: `unexpected arguments ["mx-routing"]`},
		{Name: "flag-after-argument", Args: []string{"x", "-v"}, Status: 2, Stderr: `flag -v after the argument "x"`},
	})
}

func TestMainJSON(t *testing.T) {
	var out bytes.Buffer
	if got := mainStatus([]string{"-list", "-json"}, cli.Streams{Out: &out, Err: &out}); got != 0 {
		t.Fatalf("seedlab -list -json: status %d: %s", got, out.String())
	}
	var list []listEntry
	if err := json.Unmarshal(out.Bytes(), &list); err != nil {
		t.Fatalf("seedlab -list -json does not print JSON: %v\n%s", err, out.String())
	}
	if len(list) != len(scenarios) || list[4] != (listEntry{5, "mx-routing", scenarios[4].title}) {
		t.Errorf("seedlab -list -json = %+v; want %d scenarios, the fifth mx-routing", list, len(scenarios))
	}
	out.Reset()
	if got := mainStatus([]string{"-json", "-scenario", "5"}, cli.Streams{Out: &out, Err: &out}); got != 0 {
		t.Fatalf("seedlab -json -scenario 5: status %d: %s", got, out.String())
	}
	var rs []Result
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil || len(rs) != 1 || rs[0].Number != 5 || rs[0].Name != "mx-routing" {
		t.Errorf("seedlab -json -scenario 5 = %d results (%v); want the one numbered 5, mx-routing", len(rs), err)
	}
}
