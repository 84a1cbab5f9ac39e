package policytable

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/internal/testenv"
)

// glibcCases are gai.conf files that glibc 2.36 reads differently from a
// plain reading of gai.conf(5) (issue 8). Each lists the addresses of one
// name in /etc/hosts order and the order glibc's getaddrinfo returned
// them in, recorded with testdata/glibc/gaiorder.c in a mount and network
// namespace (no network, so no destination has a source address and
// glibc orders by rule 6, precedence, then rule 8, smaller scope, then
// input order). "crash" records that getaddrinfo died with SIGSEGV.
// TestGlibcCases checks each recorded order against the lenient table
// and, with root and gcc, against the glibc of the machine.
var glibcCases = []struct {
	name   string
	conf   string
	hosts  []string
	glibc  []string // recorded order, or {"crash"}
	strict string   // what the strict parser's error says glibc does
	crash  bool
}{
	{
		name: "1: values 256 to INT_MAX are used as int; above INT_MAX ignored",
		conf: "precedence ::/0 40\nprecedence ::ffff:0:0/96 300\nprecedence 2001:db8::/32 2147483647\n" +
			"precedence 2001:db8:1::/48 1000\nprecedence 2001:db8:2::/48 2147483648\n",
		hosts:  []string{"2001:db9::1", "192.0.2.1", "2001:db8:1::1", "2001:db8:2::1", "2001:db8::1"},
		glibc:  []string{"2001:db8:2::1", "2001:db8::1", "2001:db8:1::1", "192.0.2.1", "2001:db9::1"},
		strict: "glibc uses it as the int 300",
	},
	{
		name:   "2: scopev4 values above 15 are used",
		conf:   "scopev4 10.0.0.0/8 16\nscopev4 11.0.0.0/8 1000\nscopev4 0.0.0.0/0 14\n",
		hosts:  []string{"11.0.0.1", "10.0.0.1", "192.0.2.1", "2001:db8::1"},
		glibc:  []string{"2001:db8::1", "192.0.2.1", "10.0.0.1", "11.0.0.1"},
		strict: "glibc uses it as the int 16",
	},
	{
		name: "3: numbers as strtoul reads them",
		conf: "precedence ::/0 40\nprecedence 2001:db8:1::/48 +5\nprecedence 2001:db8:2::/48 -0\n" +
			"precedence 2001:db8:3::/48 +0100\nprecedence 2001:db8:4::/0128 50\nprecedence 2001:db8:5::/+128 60\n" +
			"precedence 3000::/08 70\n",
		hosts:  []string{"2001:db8:1::1", "2001:db8:2::1", "2001:db8:3::1", "2001:db8:4::", "2001:db8:5::", "3000::1", "2001:db8:9::1"},
		glibc:  []string{"2001:db8:3::1", "3000::1", "2001:db8:5::", "2001:db8:4::", "2001:db8:9::1", "2001:db8:1::1", "2001:db8:2::1"},
		strict: `value "+5" (glibc reads it as 5)`,
	},
	{
		name:   "4: an empty length is /0 and replaces the implicit ::/0 row",
		conf:   "precedence ::ffff:192.0.2.5/ 7\nprecedence 2001:db8::/32 9\n",
		hosts:  []string{"192.0.2.1", "2001:db9::1", "2001:db8::1"},
		glibc:  []string{"2001:db8::1", "192.0.2.1", "2001:db9::1"},
		strict: `prefix length "" (glibc reads it as /0)`,
	},
	{
		name:   "4: scopev4 with an empty length covers all IPv4",
		conf:   "precedence ::/0 10\nscopev4 1.2.3.0/ 2\n",
		hosts:  []string{"2001:db8::1", "192.0.2.1"},
		glibc:  []string{"192.0.2.1", "2001:db8::1"},
		strict: `prefix length "" (glibc reads it as /0)`,
	},
	{
		name:   "5: a precedence line without a length is ignored",
		conf:   "precedence ::/0 40\nprecedence 2001:db8::1 100\n",
		hosts:  []string{"2001:db8::2", "2001:db8::1"},
		glibc:  []string{"2001:db8::2", "2001:db8::1"},
		strict: "glibc 2.36 ignores the line",
	},
	{
		name:   "6: a line longer than 4096 bytes is used",
		conf:   "precedence ::/0 40\nprecedence 2001:db8::1/128 100" + strings.Repeat(" ", 70000) + "ignored\n# " + strings.Repeat("x", 10000) + "\n",
		hosts:  []string{"2001:db8::2", "2001:db8::1"},
		glibc:  []string{"2001:db8::1", "2001:db8::2"},
		strict: "glibc reads the whole line",
	},
	{
		name:   "7: scopev4 without a length as the first scopev4 line crashes glibc",
		conf:   "scopev4 10.0.0.0 5\n",
		hosts:  []string{"2001:db8::1", "10.0.0.1"},
		glibc:  []string{"crash"},
		strict: "no earlier scopev4 line has one",
		crash:  true,
	},
	{
		name:   "7: scopev4 without a length after one with a length is /32",
		conf:   "scopev4 10.0.0.0/8 5\nscopev4 192.0.2.1 7\n",
		hosts:  []string{"192.0.2.2", "192.0.2.1"},
		glibc:  []string{"192.0.2.1", "192.0.2.2"},
		strict: "glibc reads /32 after an earlier scopev4 line with a length",
	},
}

// glibcOrder is the order glibc gives addrs when no destination has a
// source address: rule 6 (higher precedence), rule 8 (smaller scope),
// rule 10 (input order), RFC 6724 section 6.
func glibcOrder(t *Table, addrs []string) []string {
	out := slices.Clone(addrs)
	slices.SortStableFunc(out, func(a, b string) int {
		x, y := netip.MustParseAddr(a), netip.MustParseAddr(b)
		if c := int(t.Precedence(y)) - int(t.Precedence(x)); c != 0 {
			return c
		}
		return int(t.Scope(x)) - int(t.Scope(y))
	})
	return out
}

func TestGlibcCases(t *testing.T) {
	for _, tt := range glibcCases {
		t.Run(tt.name, func(t *testing.T) {
			tb, warnings, err := ParseGaiConfLenient(strings.NewReader(tt.conf))
			if err != nil || len(warnings) == 0 {
				t.Fatalf("ParseGaiConfLenient = %v, %v; want warnings", warnings, err)
			}
			crash := slices.ContainsFunc(warnings, func(w *ParseError) bool { return errors.Is(w, ErrGlibcCrash) })
			if crash != tt.crash {
				t.Errorf("warnings = %v; ErrGlibcCrash among them: %v, want %v", warnings, crash, tt.crash)
			}
			if !tt.crash {
				if got := glibcOrder(tb, tt.hosts); !slices.Equal(got, tt.glibc) {
					t.Errorf("order by the lenient table = %v; glibc gave %v", got, tt.glibc)
				}
			}
			_, err = ParseGaiConf(strings.NewReader(tt.conf))
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.strict) {
				t.Errorf("ParseGaiConf = %v; want a *ParseError saying %q", err, tt.strict)
			}
			if tt.crash && !errors.Is(err, ErrGlibcCrash) {
				t.Errorf("ParseGaiConf = %v; want ErrGlibcCrash", err)
			}
		})
	}
}

// TestGlibcCasesReal runs each case against the machine's glibc: the
// gai.conf, hosts, host.conf and nsswitch.conf of the case are
// bind-mounted over /etc in a new mount namespace, with a new network
// namespace so that no destination has a source address.
func TestGlibcCasesReal(t *testing.T) {
	testenv.NeedRoot(t) // mount and network namespaces
	for _, tool := range [][2]string{{"gcc", "gcc"}, {"unshare", "util-linux"}, {"mount", "mount"}} {
		testenv.NeedCommand(t, tool[0], tool[1])
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "gaiorder")
	if b, err := exec.Command("gcc", "-O2", "-o", prog, filepath.Join("testdata", "glibc", "gaiorder.c")).CombinedOutput(); err != nil {
		testenv.Missingf(t, "cannot build the getaddrinfo program: %v\n%s", err, b)
	}
	if b, err := exec.Command("unshare", "-m", "-n", "true").CombinedOutput(); err != nil {
		testenv.Missingf(t, "cannot create namespaces (unshare: %v: %s)", err, bytes.TrimSpace(b))
	}
	for i, tt := range glibcCases {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"gai.conf": tt.conf, "host.conf": "multi on\n", "nsswitch.conf": "hosts: files\n"}
			var hosts strings.Builder
			for _, a := range tt.hosts {
				fmt.Fprintf(&hosts, "%s glibc-case.test\n", a)
			}
			files["hosts"] = hosts.String()
			var script strings.Builder
			for name, text := range files {
				p := filepath.Join(dir, fmt.Sprintf("%d-%s", i, name))
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&script, "mount --bind %s /etc/%s && ", p, name)
			}
			fmt.Fprintf(&script, "exec %s glibc-case.test", prog)
			out, err := exec.Command("unshare", "-m", "-n", "sh", "-c", script.String()).Output()
			if tt.crash {
				if err == nil || !strings.Contains(err.Error(), "signal") && !strings.Contains(err.Error(), "139") {
					t.Errorf("getaddrinfo = %q, %v; want a crash", out, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("getaddrinfo: %v", err)
			}
			if got := strings.Fields(string(out)); !slices.Equal(got, tt.glibc) {
				t.Errorf("glibc order = %v; recorded %v", got, tt.glibc)
			}
		})
	}
}

// TestGaiConfWideValues: values above 255 (glibc's int) are stored in 8
// bits keeping what glibc compares: label equality and precedence order.
func TestGaiConfWideValues(t *testing.T) {
	conf := "label ::/0 1\nlabel 2001:db8::/32 256\nlabel fd00::/8 256\nlabel 2002::/16 1000\nlabel ::1/128 255\n" +
		"precedence ::/0 40\nprecedence 2001:db8::/32 70000\nprecedence fd00::/8 255\nprecedence 2002::/16 254\n"
	tb, warnings, err := ParseGaiConfLenient(strings.NewReader(conf))
	if err != nil || len(warnings) != 4 {
		t.Fatalf("ParseGaiConfLenient = %v, %v; want 4 warnings (values 256, 256, 1000 and 70000)", warnings, err)
	}
	l := func(s string) uint8 { return tb.Label(ma(s)) }
	if l("2001:db8::1") != l("fd00::1") {
		t.Error("labels 256 and 256 differ")
	}
	labels := []uint8{l("2001:db8::1"), l("2002::1"), l("::1"), l("3000::1")}
	if slices.Sort(labels); len(slices.Compact(labels)) != 4 {
		t.Errorf("labels 256, 1000, 255, 1 = %v; want four different values", labels)
	}
	p := func(s string) uint8 { return tb.Precedence(ma(s)) }
	if !(p("2001:db8::1") > p("fd00::1") && p("fd00::1") > p("2002::1") && p("2002::1") > p("3000::1")) {
		t.Errorf("precedences 70000, 255, 254, 40 = %d %d %d %d; want that order", p("2001:db8::1"), p("fd00::1"), p("2002::1"), p("3000::1"))
	}

	// More distinct values than 8 bits hold: those above 255 become 255.
	var b strings.Builder
	b.WriteString("precedence ::/0 0\n")
	for i := range 300 {
		fmt.Fprintf(&b, "precedence 2001:db8:%x::/48 %d\n", i, i+1)
	}
	tb, warnings, err = ParseGaiConfLenient(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(warnings); n != 2*45 {
		t.Errorf("%d warnings; want %d (45 values above 255 twice: read, then stored as 255)", n, 2*45)
	}
	if got := tb.Precedence(ma("2001:db8:12b::1")); got != 255 {
		t.Errorf("precedence 300 stored as %d; want 255", got)
	}
	if got := tb.Precedence(ma("2001:db8:fe::1")); got != 255 {
		t.Errorf("precedence 255 stored as %d; want 255", got)
	}
	if got := tb.Precedence(ma("2001:db8:9::1")); got != 10 {
		t.Errorf("precedence 10 stored as %d; want 10", got)
	}
}
