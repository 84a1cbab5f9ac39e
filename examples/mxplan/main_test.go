package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/internal/cli"
	"github.com/dualstack/dualstack/internal/cli/clitest"
	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// dns is the study's MX set (mx10 dual-stack, mx20 IPv6-only, mx30
// dual-stack) and an IPv6-only domain.
func dns() *mxordertest.Resolver {
	return mxordertest.New().
		MX("example.org", 10, "mx10.example.org").
		MX("example.org", 20, "mx20.example.org").
		MX("example.org", 30, "mx30.example.org").
		Host("mx10.example.org", "198.51.100.10", "2001:db8:10::10").
		Host("mx20.example.org", "2001:db8:20::20").
		Host("mx30.example.org", "203.0.113.30", "2001:db8:30::30").
		MX("v6.example.com", 10, "mx.v6.example.com").
		Host("mx.v6.example.com", "2001:db8:6::25")
}

func host(t *testing.T, desc string) *addrselect.Host {
	t.Helper()
	h, err := addrselect.ParseHost(desc)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// planOf is the plan the library makes for the same inputs.
func planOf(t *testing.T, o options, domain string) (*mxorder.Plan, error) {
	t.Helper()
	p := &mxorder.Planner{Resolver: dns(), Sources: o.Sources, Families: o.Relay}
	if o.Seed >= 0 {
		p.Seeded, p.Seed = true, uint64(o.Seed)
	}
	return p.Plan(context.Background(), domain)
}

func TestPlanText(t *testing.T) {
	o := options{Sources: host(t, "192.0.2.25/24; route v4 default"), Seed: 1}
	var buf bytes.Buffer
	if err := run(context.Background(), &buf, dns(), o, "example.org"); err != nil {
		t.Fatalf("run: %v", err)
	}
	out := buf.String()
	want, err := planOf(t, o, "example.org")
	if err != nil {
		t.Fatal(err)
	}
	// Every attempt appears, numbered in plan order, with its source.
	last := -1
	for i, a := range want.Attempts() {
		line := strings.Join([]string{itoa(i+1) + ".", a.Addr.String(), "port 25 (" + a.Host}, " ")
		at := strings.Index(out, line)
		if at < 0 || at < last {
			t.Errorf("output lacks attempt %q in order:\n%s", line, out)
		}
		last = at
		if !strings.Contains(out, "from "+a.Source.String()) {
			t.Errorf("output lacks the source %s of %s", a.Source, a.Addr)
		}
	}
	// mx20 (IPv6-only) is skipped for the IPv4-only sender, with the
	// reason.
	if !strings.Contains(out, "mx20.example.org (20): "+mxorder.SkipFamily.String()) {
		t.Errorf("output lacks the family skip of mx20:\n%s", out)
	}
	if !strings.Contains(out, "sender: "+mxorder.IPv4.Words()) {
		t.Errorf("output does not name the sender's families:\n%s", out)
	}
}

func TestPlanExplainsOrder(t *testing.T) {
	// A dual-stack sender: each dual-stack host lists two addresses and
	// the rule between them.
	o := options{Sources: host(t, "192.0.2.25/24, 2001:db8:1::25/64; route v4 default; route v6 default"), Seed: 1}
	var buf bytes.Buffer
	if err := run(context.Background(), &buf, dns(), o, "example.org"); err != nil {
		t.Fatalf("run: %v", err)
	}
	d := addrselect.RFC6724().Explain(
		addrselect.Destination{Addr: mustAddr("2001:db8:10::10"), Source: addrselect.Source{Addr: mustAddr("2001:db8:1::25"), PrefixLen: 64}},
		addrselect.Destination{Addr: mustAddr("198.51.100.10"), Source: addrselect.Source{Addr: mustAddr("192.0.2.25"), PrefixLen: 24}})
	if !strings.Contains(buf.String(), d.String()) {
		t.Errorf("output lacks the decision %q:\n%s", d, buf.String())
	}
}

func TestUnreachable(t *testing.T) {
	o := options{Relay: mxorder.IPv4, Seed: 1}
	var buf bytes.Buffer
	err := run(context.Background(), &buf, dns(), o, "v6.example.com")
	var ue *mxorder.UnreachableError
	if !errors.As(err, &ue) || ue.DomainFamilies != mxorder.IPv6 || ue.SenderFamilies != mxorder.IPv4 {
		t.Fatalf("run(v6.example.com, -relay v4) error = %v; want an UnreachableError ipv6/ipv4", err)
	}
	if !strings.Contains(buf.String(), "mx.v6.example.com (10): "+mxorder.SkipFamily.String()) {
		t.Errorf("the plan with the skip is not printed before the error:\n%s", buf.String())
	}
}

func TestJSONAndAudit(t *testing.T) {
	o := options{Relay: mxorder.IPv4, Seed: 3, JSON: true, Audit: true}
	var buf bytes.Buffer
	if err := run(context.Background(), &buf, dns(), o, "example.org"); err != nil {
		t.Fatalf("run: %v", err)
	}
	// mxorder.Severity has no UnmarshalText, so the audit is read
	// loosely.
	var got struct {
		Plan  *mxorder.Plan `json:"plan"`
		Audit *struct {
			Findings []struct {
				Code mxorder.Code `json:"code"`
				Host string       `json:"host"`
			} `json:"findings"`
		} `json:"audit"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("JSON output does not parse: %v\n%s", err, buf.String())
	}
	want, err := planOf(t, o, "example.org")
	if err != nil {
		t.Fatal(err)
	}
	ga, wa := got.Plan.Attempts(), want.Attempts()
	if len(ga) != len(wa) {
		t.Fatalf("JSON attempts %v; want %v", ga, wa)
	}
	for i := range wa {
		if ga[i] != wa[i] {
			t.Errorf("JSON attempt %d = %v; want %v", i, ga[i], wa[i])
		}
	}
	found := false
	for _, f := range got.Audit.Findings {
		found = found || f.Code == mxorder.CodeSingleStack && f.Host == "mx20.example.org"
	}
	if !found {
		t.Errorf("JSON audit lacks the single-stack finding for mx20: %+v", got.Audit)
	}

	// The text audit lists the findings.
	o.JSON = false
	buf.Reset()
	if err := run(context.Background(), &buf, dns(), o, "example.org"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), string(mxorder.CodeSingleStack)) {
		t.Errorf("text audit lacks %s:\n%s", mxorder.CodeSingleStack, buf.String())
	}
}

func TestSeedDeterministic(t *testing.T) {
	r := mxordertest.New().
		MX("example.com", 10, "a.example.com").MX("example.com", 10, "b.example.com").
		MX("example.com", 10, "c.example.com").MX("example.com", 10, "d.example.com").
		Host("a.example.com", "192.0.2.1").Host("b.example.com", "192.0.2.2").
		Host("c.example.com", "192.0.2.3").Host("d.example.com", "192.0.2.4")
	outs := map[string]bool{}
	for seed := range int64(6) {
		var a, b bytes.Buffer
		o := options{Relay: mxorder.IPv4, Seed: seed}
		if err := run(context.Background(), &a, r, o, "example.com"); err != nil {
			t.Fatal(err)
		}
		if err := run(context.Background(), &b, r, o, "example.com"); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() {
			t.Errorf("seed %d: two runs differ", seed)
		}
		outs[a.String()] = true
	}
	if len(outs) < 2 {
		t.Errorf("six seeds gave one order of four equal-preference hosts; want the shuffle to depend on the seed")
	}
}

func TestParseRelay(t *testing.T) {
	for in, want := range map[string]mxorder.Family{"": 0, "v4": mxorder.IPv4, "v6": mxorder.IPv6, "dual": mxorder.DualStack} {
		if got, err := parseRelay(in); err != nil || got != want {
			t.Errorf("parseRelay(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseRelay("v5"); err == nil {
		t.Error("parseRelay(v5) = nil error; want an error")
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func itoa(i int) string { return strconv.Itoa(i) }

// ttyBuffer is standard error on a terminal (cli.IsTerminal asks it).
type ttyBuffer struct{ bytes.Buffer }

func (*ttyBuffer) IsTerminal() bool { return true }

// stuckResolver never answers and ignores its context, as a broken
// resolver may; release lets the lookups end.
type stuckResolver struct{ release chan struct{} }

func (r stuckResolver) LookupMX(context.Context, string) ([]*net.MX, error) {
	<-r.release
	return nil, errors.New("released")
}

func (r stuckResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	<-r.release
	return nil, errors.New("released")
}

// runMain runs mxplan's command line with the system resolver sys and
// returns the exit status, standard output and standard error.
func runMain(t *testing.T, sys mxorder.Resolver, stderr io.Writer, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	e := env{Streams: cli.Streams{In: strings.NewReader(""), Out: &out, Err: stderr}, System: sys, Notice: 50 * time.Millisecond}
	return mainStatus(args, e), out.String()
}

const v4Host = "192.0.2.25/24; route v4 default"

func TestMainStatus(t *testing.T) {
	run := func(args []string, s cli.Streams) int {
		return mainStatus(args, env{Streams: s, System: dns(), Notice: time.Second})
	}
	clitest.Run(t, "mxplan", run, []clitest.Case{
		{Name: "plan", Args: []string{"-host", v4Host, "-seed", "1", "example.org"}, Status: 0, Stdout: "1. 198.51.100.10 port 25"},
		{Name: "json", Args: []string{"-host", v4Host, "-json", "example.org"}, Status: 0, Stdout: `"plan": {`},
		{Name: "unreachable", Args: []string{"-host", v4Host, "v6.example.com"}, Status: 1,
			Stdout: "mx.v6.example.com (10): " + mxorder.SkipFamily.String(), Stderr: "no reachable mail exchanger"},
		{Name: "help", Args: []string{"-h"}, Status: 0, Stdout: "domain  the mail domain"},
		{Name: "no-domain", Args: []string{"-json"}, Status: 2, Stderr: "missing argument: want domain"},
		{Name: "two-domains", Args: []string{"example.org", "example.com"}, Status: 2, Stderr: "too many arguments"},
		{Name: "flag-after-domain", Args: []string{"example.org", "-json"}, Status: 2, Stderr: `flag -json after the argument "example.org"`},
		{Name: "unknown-flag", Args: []string{"-bogus", "example.org"}, Status: 2, Stderr: "flag provided but not defined: -bogus"},
		{Name: "bad-relay", Args: []string{"-relay", "v5", "example.org"}, Status: 2, Stderr: `-relay "v5"`},
		{Name: "bad-host", Args: []string{"-host", "no such form", "example.org"}, Status: 2, Stderr: "-host:"},
		{Name: "bad-server", Args: []string{"-server", "dns.example", "example.org"}, Status: 2, Stderr: `-server "dns.example"`},
		{Name: "bad-timeout", Args: []string{"-timeout", "0s", "example.org"}, Status: 2, Stderr: "-timeout 0s"},
	})
}

// TestServerNamed: with -server, errors name the server asked, not the
// system's (Go's resolver reports the servers of /etc/resolv.conf).
func TestServerNamed(t *testing.T) {
	// A port nothing listens on: the query is refused at once.
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no IPv4 loopback here: %v", err)
	}
	server := c.LocalAddr().String()
	c.Close()
	var errOut bytes.Buffer
	got, _ := runMain(t, dns(), &errOut, "-host", v4Host, "-server", server, "example.org")
	if got != 1 || !strings.Contains(errOut.String(), "on "+server+":") {
		t.Errorf("mxplan -server %s: status %d, stderr %q; want 1 and an error naming %s", server, got, errOut.String(), server)
	}
}

// TestTimeout: -timeout bounds the whole run, against a server that never
// answers and against a resolver that ignores its context; on a terminal,
// mxplan says what it is waiting for.
func TestTimeout(t *testing.T) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no IPv4 loopback here: %v", err)
	}
	defer c.Close()
	server := c.LocalAddr().String()
	stuck := stuckResolver{release: make(chan struct{})}
	defer close(stuck.release)
	tests := []struct {
		name    string
		sys     mxorder.Resolver
		server  string
		tty     bool
		wantErr []string
	}{
		{"silent-server", dns(), server, true, []string{
			"mxplan: waiting for DNS answers about example.org from " + server + " (-timeout 300ms)",
			"-timeout 300ms reached", "no answer from " + server}},
		{"stuck-resolver", stuck, "", true, []string{
			"waiting for DNS answers about example.org from the system's resolver",
			"-timeout 300ms reached: no plan for example.org: no answer from the system's resolver"}},
		{"not-a-terminal", stuck, "", false, []string{"-timeout 300ms reached"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr io.Writer
			tty, plain := &ttyBuffer{}, &bytes.Buffer{}
			stderr = plain
			if tt.tty {
				stderr = tty
			}
			args := []string{"-host", v4Host, "-timeout", "300ms", "example.org"}
			if tt.server != "" {
				args = append([]string{"-server", tt.server}, args...)
			}
			start := time.Now()
			got, _ := runMain(t, tt.sys, stderr, args...)
			took := time.Since(start)
			errText := tty.String() + plain.String()
			if got != 1 || took > 300*time.Millisecond+timeoutGrace+2*time.Second {
				t.Errorf("mxplan -timeout 300ms: status %d after %v; want 1 soon after 300ms\n%s", got, took, errText)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errText, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errText)
				}
			}
			if !tt.tty && strings.Contains(errText, "waiting for") {
				t.Errorf("stderr is not a terminal, but mxplan says what it waits for:\n%s", errText)
			}
		})
	}
}

// TestRoundRobinDefault checks that mxplan follows the planner's default
// (rule 9 on-link only): of two off-link addresses of one MX host, the
// one DNS lists first is tried first, even though the other shares a
// longer prefix with the sender (which RFC 6724's own rule 9 prefers).
func TestRoundRobinDefault(t *testing.T) {
	tests := []struct {
		name  string
		addrs []string
		first string
	}{
		{"near-listed-first", []string{"192.0.2.200", "203.0.113.1"}, "192.0.2.200"},
		{"far-listed-first", []string{"203.0.113.1", "192.0.2.200"}, "203.0.113.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mxordertest.New().MX("rr.example", 10, "mx.rr.example").A("mx.rr.example", tt.addrs...)
			o := options{Sources: host(t, "192.0.2.25/25; route v4 default"), Seed: 1}
			var buf bytes.Buffer
			if err := run(context.Background(), &buf, res, o, "rr.example"); err != nil {
				t.Fatalf("run: %v", err)
			}
			if want := "1. " + tt.first + " port 25"; !strings.Contains(buf.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, buf.String())
			}
		})
	}
}
