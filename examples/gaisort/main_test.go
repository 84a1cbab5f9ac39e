package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/internal/cli"
	"github.com/dualstack/dualstack/internal/cli/clitest"
	"github.com/dualstack/dualstack/policytable"
)

// The described host: native IPv6, a ULA and private IPv4.
const hostDesc = "2001:db8:1::5/64, fd12:3456:789a:1::5/64, 10.1.2.5/24; route v4 default; route v6 default"

func testHost(t *testing.T) *addrselect.Host {
	t.Helper()
	h, err := addrselect.ParseHost(hostDesc)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// conf reads testdata/name with readGaiConf and returns the table and
// what was written to the warning stream.
func conf(t *testing.T, name string) (*policytable.Table, string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var warn bytes.Buffer
	tab, err := readGaiConf(f, name, &warn)
	if err != nil {
		t.Fatalf("readGaiConf(%s): %v", name, err)
	}
	return tab, warn.String()
}

// sortOut runs sortAndPrint and returns the sorted addresses (the first
// field of each numbered line) and the output.
func sortOut(t *testing.T, tab *policytable.Table, in []string, explain bool) ([]string, string) {
	t.Helper()
	as, err := parseArgs(in)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := sortAndPrint(context.Background(), &buf, tab, testHost(t), as, explain); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, line := range strings.Split(buf.String(), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasSuffix(f[0], ".") {
			order = append(order, f[1])
		}
	}
	return order, buf.String()
}

// libOrder is the order the library gives directly.
func libOrder(t *testing.T, tab *policytable.Table, in []string) []string {
	t.Helper()
	as, _ := parseArgs(in)
	ds, err := addrselect.Glibc(addrselect.WithTable(tab)).Sort(context.Background(), as, testHost(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.Addr.String())
	}
	return out
}

func TestGaiConfChangesOrder(t *testing.T) {
	in := []string{"fd12:3456:789a:2::25", "10.1.1.25", "2001:db8:2::25", "203.0.113.25"}
	prefer4, _ := conf(t, "prefer-ipv4.conf")
	rfc, _ := conf(t, "rfc6724.conf")
	tests := []struct {
		name  string
		table *policytable.Table
		// first is what the table's precedences say must come first.
		first func(netip.Addr) bool
	}{
		// glibc's built-in table: RFC 3484 precedences, IPv6 (ULA
		// included, 40) above IPv4 (10).
		{"builtin", policytable.Glibc(), netip.Addr.Is6},
		// precedence ::ffff:0:0/96 100: IPv4 first.
		{"prefer-ipv4", prefer4, netip.Addr.Is4},
		// RFC 6724: global IPv6 (40) above IPv4 (35) above ULA (3).
		{"rfc6724", rfc, func(a netip.Addr) bool { return a.Is6() && !netip.MustParsePrefix("fc00::/7").Contains(a) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, out := sortOut(t, tt.table, in, false)
			want := libOrder(t, tt.table, in)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("order %v; want %v\n%s", got, want, out)
			}
			if len(got) != len(in) || !tt.first(netip.MustParseAddr(got[0])) {
				t.Errorf("first %v; not what the table's precedences prefer\n%s", got, out)
			}
		})
	}
	// The ULA's place differs between the built-in table and RFC 6724.
	b, _ := sortOut(t, policytable.Glibc(), in, false)
	r, _ := sortOut(t, rfc, in, false)
	if strings.Join(b, " ") == strings.Join(r, " ") {
		t.Errorf("built-in and RFC 6724 tables give the same order %v; want the ULA moved", b)
	}
}

func TestRulesBetweenNeighbours(t *testing.T) {
	in := []string{"2002:c000:201::1", "203.0.113.5", "fd00::1", "2001:db8:2::1"}
	tab := policytable.Glibc()
	_, out := sortOut(t, tab, in, true)
	as, _ := parseArgs(in)
	sel := addrselect.Glibc(addrselect.WithTable(tab))
	ds, err := sel.Sort(context.Background(), as, testHost(t))
	if err != nil {
		t.Fatal(err)
	}
	trace := sel.Trace(ds)
	if len(trace) != len(in)-1 {
		t.Fatalf("Trace gave %d decisions; want %d", len(trace), len(in)-1)
	}
	for _, d := range trace {
		if !strings.Contains(out, d.String()) {
			t.Errorf("output lacks the decision %q:\n%s", d, out)
		}
	}
	// -explain prints the compared values of both sides.
	if n := strings.Count(out, ", precedence "); n != 2*len(trace) {
		t.Errorf("-explain printed %d fact lines; want %d:\n%s", n, 2*len(trace), out)
	}
}

func TestUnreachableLast(t *testing.T) {
	// A link-local destination without a zone has no source (RFC 6724
	// section 4: it needs an outgoing interface), so rule 1 puts it last.
	got, out := sortOut(t, policytable.Glibc(), []string{"fe80::1", "203.0.113.5"}, false)
	if got[len(got)-1] != "fe80::1" || !strings.Contains(out, "no source") {
		t.Errorf("order %v; want the unusable fe80::1 last, marked without source\n%s", got, out)
	}
}

func TestWarnings(t *testing.T) {
	_, warn := conf(t, "broken.conf")
	for _, want := range []string{"line 2", "line 3", string(policytable.CodeIPv4Preferred)} {
		if !strings.Contains(warn, want) {
			t.Errorf("warnings lack %q:\n%s", want, warn)
		}
	}
	_, warn = conf(t, "rfc6724.conf")
	if warn != "" {
		t.Errorf("the RFC 6724 table drew warnings:\n%s", warn)
	}
}

func TestReadAddrs(t *testing.T) {
	as, err := readAddrs(strings.NewReader("2001:db8::1 192.0.2.1\n# comment\n\n  fd00::1 # trailing\n"))
	if err != nil || len(as) != 3 || as[2] != netip.MustParseAddr("fd00::1") {
		t.Fatalf("readAddrs = %v, %v; want three addresses", as, err)
	}
	tests := []struct {
		name, in, where string
		cause           error
	}{
		{"bad-address", "192.0.2.1\n192.0.2.300\n", "line 2", nil},
		{"too-many", strings.Repeat("192.0.2.1 ", maxAddrs+1), "line 1", errTooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAddrs(strings.NewReader(tt.in))
			var ie *InputError
			if !errors.As(err, &ie) || ie.Where != tt.where {
				t.Fatalf("readAddrs error = %v; want an *InputError at %s", err, tt.where)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("readAddrs error = %v; want cause %v", err, tt.cause)
			}
		})
	}
	if _, err := readAddrs(strings.NewReader("# nothing\n")); err == nil {
		t.Error("readAddrs(no addresses) = nil error; want an error")
	}
	_, err = parseArgs([]string{"192.0.2.1", "bogus"})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Where != "argument 2" || ie.Text != "bogus" {
		t.Errorf("parseArgs error = %v; want an *InputError for argument 2", err)
	}
}

// terminal is standard input on a terminal (cli.IsTerminal asks it).
type terminal struct{ io.Reader }

func (terminal) IsTerminal() bool { return true }

// runMain runs gaisort's command line and returns the exit status and
// what was written to standard error.
func runMain(t *testing.T, stdin io.Reader, args ...string) (status int, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = mainStatus(args, cli.Streams{In: stdin, Out: &out, Err: &errOut})
	return status, errOut.String()
}

func TestMainStatus(t *testing.T) {
	clitest.Run(t, "gaisort", mainStatus, []clitest.Case{
		{Name: "sorted", Args: []string{"-host", hostDesc, "192.0.2.1", "2001:db8:2::1"}, Status: 0, Stdout: " 2. 192.0.2.1"},
		{Name: "stdin", Args: []string{"-host", hostDesc}, Stdin: "192.0.2.1\n2001:db8:2::1 # web\n", Status: 0, Stdout: " 2. 192.0.2.1"},
		// -h lists the positional arguments and standard input; exit 0.
		{Name: "help", Args: []string{"-h"}, Status: 0, Stdout: "ADDR...  the addresses to sort"},
		{Name: "flag-after-address", Args: []string{"-host", hostDesc, "192.0.2.1", "-explain"}, Status: 2,
			Stderr: `flag -explain after the argument "192.0.2.1"`},
		{Name: "dash-dash", Args: []string{"-host", hostDesc, "--", "-explain"}, Status: 1, Stderr: `argument 1: "-explain"`},
		{Name: "unknown-flag", Args: []string{"-bogus"}, Status: 2, Stderr: "flag provided but not defined: -bogus"},
		{Name: "bad-host", Args: []string{"-host", "no such form", "192.0.2.1"}, Status: 2, Stderr: "-host:"},
		{Name: "bad-address", Args: []string{"-host", hostDesc, "192.0.2.300"}, Status: 1, Stderr: `argument 1: "192.0.2.300"`},
		{Name: "bad-stdin", Args: []string{"-host", hostDesc}, Stdin: "192.0.2.1\nnope\n", Status: 1, Stderr: `line 2: "nope"`},
		{Name: "no-gaiconf", Args: []string{"-host", hostDesc, "-gaiconf", filepath.Join("testdata", "missing.conf"), "192.0.2.1"},
			Status: 1, Stderr: "missing.conf"},
	})
}

func TestStdinNotice(t *testing.T) {
	const notice = "reading addresses from standard input"
	tests := []struct {
		name  string
		stdin io.Reader
		want  bool
	}{
		{"terminal", terminal{strings.NewReader("192.0.2.1\n")}, true},
		{"pipe", strings.NewReader("192.0.2.1\n"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, errOut := runMain(t, tt.stdin, "-host", hostDesc)
			if status != 0 || strings.Contains(errOut, notice) != tt.want {
				t.Errorf("gaisort with stdin %s: status %d, stderr %q; want status 0 and the notice %v", tt.name, status, errOut, tt.want)
			}
		})
	}
	// With arguments, standard input is not read and nothing is said.
	if _, errOut := runMain(t, terminal{strings.NewReader("")}, "-host", hostDesc, "192.0.2.1"); errOut != "" {
		t.Errorf("gaisort with arguments on a terminal: stderr %q; want nothing", errOut)
	}
}

// TestLintNamesBuiltinRows: broken.conf gives precedence lines and only an
// unusable label line, so glibc keeps its built-in label rows (which lack
// 3ffe::/16); the lint line about them says so instead of blaming the file.
func TestLintNamesBuiltinRows(t *testing.T) {
	_, warn := conf(t, "broken.conf")
	var builtin, file []string
	for _, line := range strings.Split(strings.TrimSpace(warn), "\n") {
		switch {
		case strings.HasPrefix(line, "gaisort: glibc's built-in label rows (broken.conf has no usable label line): lint: "):
			builtin = append(builtin, line)
		case strings.HasPrefix(line, "gaisort: broken.conf: lint: "):
			file = append(file, line)
		}
	}
	if len(builtin) != 1 || !strings.Contains(builtin[0], "missing-row 3ffe::/16: the label set") {
		t.Errorf("lint lines about the built-in label rows %q; want the one missing-row 3ffe::/16 line:\n%s", builtin, warn)
	}
	for _, line := range file {
		if strings.Contains(line, "label set") {
			t.Errorf("lint line %q blames broken.conf for a built-in label row", line)
		}
	}
	if len(file) == 0 || !strings.Contains(warn, "broken.conf: lint: "+string(policytable.CodeIPv4Preferred)) {
		t.Errorf("lint lines about the file's precedence rows missing:\n%s", warn)
	}
	// A file with lines of both kinds has no built-in rows to speak of.
	if _, warn := conf(t, "rfc6724.conf"); strings.Contains(warn, "built-in") {
		t.Errorf("rfc6724.conf drew remarks about built-in rows:\n%s", warn)
	}
}

// TestGlibcCrashIsAnError: a gai.conf on which glibc's getaddrinfo
// crashes (a scopev4 line without /LEN before any with one) is an error
// of gaisort, not a warning (issue 8).
func TestGlibcCrashIsAnError(t *testing.T) {
	var warn bytes.Buffer
	_, err := readGaiConf(strings.NewReader("scopev4 ::ffff:10.0.0.0 14\n"), "crash.conf", &warn)
	if err == nil || !errors.Is(err, policytable.ErrGlibcCrash) || !strings.Contains(err.Error(), "crash.conf") {
		t.Fatalf("readGaiConf = %v; want an error wrapping ErrGlibcCrash naming the file", err)
	}
}
