package policytable

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// rowsOf renders a set for failure messages and comparisons.
func rowsOf(rs []Row) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s=%d ", r.Prefix, r.Value)
	}
	return strings.TrimSpace(b.String())
}

func TestParseGaiConfDebian(t *testing.T) {
	// Debian's /etc/gai.conf: every line a comment, so glibc uses its
	// built-in tables.
	f, err := os.Open(filepath.Join("testdata", "debian-gai.conf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tb, err := ParseGaiConf(f)
	if err != nil {
		t.Fatal(err)
	}
	if !tb.Equal(Glibc()) {
		t.Errorf("Debian gai.conf =\n%s\nwant Glibc()\n%s", tb, Glibc())
	}
	if _, explicit := tb.ScopeV4(); explicit {
		t.Error("commented scopev4 lines made the scopes explicit")
	}
}

// The commented default rows of Debian's gai.conf, uncommented, are
// glibc's built-in table (the file documents them as the defaults).
func TestParseGaiConfDebianUncommented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "debian-gai.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#label ") || strings.HasPrefix(l, "#precedence ") {
			lines = append(lines, l[1:])
		}
	}
	if len(lines) != 8+5+1 {
		t.Fatalf("found %d commented rows; want 14 (8 labels, 5 precedences, 1 IPv4 alternative)", len(lines))
	}
	// The last precedence line is the "prefer IPv4" alternative to the
	// ::ffff:0:0/96 row: use it in a second parse.
	def := strings.Join(lines[:13], "\n")
	tb, err := ParseGaiConf(strings.NewReader(def))
	if err != nil {
		t.Fatal(err)
	}
	if !tb.Equal(Glibc()) {
		t.Errorf("uncommented defaults =\n%s\nwant Glibc()", tb)
	}
	if _, err := ParseGaiConf(strings.NewReader(strings.Join(lines, "\n"))); !errors.Is(err, ErrDuplicate) {
		t.Errorf("both ::ffff:0:0/96 precedence lines: err = %v; want ErrDuplicate", err)
	}
}

func readGaiJSON(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "recorded-stacks.gai-conf.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseGaiConfRecorded(t *testing.T) {
	m := readGaiJSON(t)
	// The gai.conf used to record glibc with the RFC 6724 table.
	tb, err := ParseGaiConf(strings.NewReader(m["glibc_rfc6724"]))
	if err != nil {
		t.Fatal(err)
	}
	if !tb.Equal(RFC6724()) || tb.Split() {
		t.Errorf("glibc_rfc6724 =\n%s\nwant RFC6724()\n%s", tb, RFC6724())
	}
	empty, err := ParseGaiConf(strings.NewReader(m["glibc_default"]))
	if err != nil || !empty.Equal(Glibc()) {
		t.Errorf("empty gai.conf = %v, %v; want Glibc()", empty, err)
	}
	// Prefer IPv4: precedence rows replaced, labels still built in.
	v4, err := ParseGaiConf(strings.NewReader(m["glibc_prefer_ipv4"]))
	if err != nil {
		t.Fatal(err)
	}
	wantPrec := "::/0=40 ::/96=20 ::1/128=50 ::ffff:0.0.0.0/96=100 2002::/16=30"
	if got := rowsOf(v4.Precedences()); got != wantPrec {
		t.Errorf("prefer_ipv4 precedences = %s; want %s", got, wantPrec)
	}
	if !slices.Equal(v4.Labels(), Glibc().Labels()) {
		t.Errorf("prefer_ipv4 labels = %s; want glibc's", rowsOf(v4.Labels()))
	}
	if got := v4.Lookup(ma("192.0.2.1")); got != (Attr{100, 4}) {
		t.Errorf("prefer_ipv4 Lookup(192.0.2.1) = %+v; want {100 4}", got)
	}
}

func TestParseGaiConf(t *testing.T) {
	glibcLabels := rowsOf(Glibc().Labels())
	glibcPrecs := rowsOf(Glibc().Precedences())
	tests := []struct {
		name        string
		in          string
		prec, label string // "" = glibc's built-in rows
		scopes      string // "" = not explicit
	}{
		{
			name:  "precedence only: labels stay built in, ::/0 implicit 40",
			in:    "precedence ::ffff:0:0/96 100\n",
			prec:  "::/0=40 ::ffff:0.0.0.0/96=100",
			label: glibcLabels,
		},
		{
			name:  "label only, ::/0 implicit label 1",
			in:    "label ::1/128 0\nlabel 2001:db8::/32 9\n",
			prec:  glibcPrecs,
			label: "::/0=1 ::1/128=0 2001:db8::/32=9",
		},
		{
			name:  "explicit ::/0 replaces the implicit one",
			in:    "label ::/0 7\nprecedence ::/0 9\n",
			prec:  "::/0=9",
			label: "::/0=7",
		},
		{
			name:  "comments, blank lines, tabs, CRLF, leading space",
			in:    "# comment\n\n   \n\tprecedence\t::1/128\t50 # trailing comment\r\n  label ::1/128 0#x\n#label fc00::/7 6\n",
			prec:  "::/0=40 ::1/128=50",
			label: "::/0=1 ::1/128=0",
		},
		{
			name:  "reload yes and no are accepted",
			in:    "reload yes\nreload no\n",
			prec:  glibcPrecs,
			label: glibcLabels,
		},
		{
			name:   "scopev4: mapped, plain IPv4, mapped /96 default",
			in:     "scopev4 ::ffff:169.254.0.0/112 2\nscopev4 10.0.0.0/8 5\nscopev4 192.0.2.1/32 8\nscopev4 ::ffff:0.0.0.0/96 14\nscopev4 ::ffff:127.0.0.1/128 2\n",
			prec:   glibcPrecs,
			label:  glibcLabels,
			scopes: "0.0.0.0/0=14 10.0.0.0/8=5 127.0.0.1/32=2 169.254.0.0/16=2 192.0.2.1/32=8",
		},
		{
			name:  "values 0 and 255",
			in:    "precedence ::/0 0\nprecedence 2001:db8::/32 255\n",
			prec:  "::/0=0 2001:db8::/32=255",
			label: glibcLabels,
		},
		{
			name:  "final line without newline",
			in:    "precedence ::1/128 50",
			prec:  "::/0=40 ::1/128=50",
			label: glibcLabels,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := ParseGaiConf(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ParseGaiConf: %v", err)
			}
			if got := rowsOf(tb.Precedences()); got != tt.prec {
				t.Errorf("precedences = %s; want %s", got, tt.prec)
			}
			if got := rowsOf(tb.Labels()); got != tt.label {
				t.Errorf("labels = %s; want %s", got, tt.label)
			}
			rules, explicit := tb.ScopeV4()
			var got []string
			for _, r := range rules {
				got = append(got, fmt.Sprintf("%s=%d", r.Prefix, r.Scope))
			}
			if explicit != (tt.scopes != "") || (explicit && strings.Join(got, " ") != tt.scopes) {
				t.Errorf("scopes = %v (explicit %v); want %q", got, explicit, tt.scopes)
			}
			// Strict and lenient agree on clean input.
			lt, warnings, err := ParseGaiConfLenient(strings.NewReader(tt.in))
			if err != nil || len(warnings) != 0 || !lt.Equal(tb) {
				t.Errorf("lenient = %v, %v, %v; want the same table and no warnings", lt, warnings, err)
			}
		})
	}
}

// TestParseGaiConfMalformed gives every kind of bad line: strict parsing
// fails with a *ParseError naming the line and the cause; lenient
// parsing warns and does what glibc does.
func TestParseGaiConfMalformed(t *testing.T) {
	longLine := "label ::1/128 0 #" + strings.Repeat("x", MaxLineLength)
	tests := []struct {
		name string
		in   string // the bad line is the last line
		want error
		// lenientPrec/lenientLabel: rows after lenient parsing.
		lenientPrec, lenientLabel string
	}{
		{"missing value", "label ::1/128", errSyntax, "", "::/0=1 ::1/128=0"},
		{"missing prefix", "label", errSyntax, "", ""},
		{"extra field", "label ::1/128 0 extra", errSyntax, "", "::/0=1 ::1/128=0"},
		{"IPv4 prefix in label", "label 10.0.0.0/8 4", errIPv4Prefix, "", ""},
		{"IPv4 address in precedence", "precedence 10.0.0.1 4", errIPv4Prefix, "", ""},
		{"host bits", "precedence 2001:db8::1/32 5", errNotCanonical, "::/0=40 2001:db8::/32=5", ""},
		{"prefix length too long", "label ::1/129 0", errInvalidPrefix, "", ""},
		{"not an address", "label example.com/8 0", errInvalidPrefix, "", ""},
		{"zone", "label fe80::1%eth0 0", errInvalidPrefix, "", ""},
		// glibc uses any int: the lenient table keeps its order (256 is
		// stored as 255, above the implicit ::/0 label 1).
		{"value above 255", "label ::1/128 256", errValueRange, "", "::/0=1 ::1/128=255"},
		{"value above uint64", "label ::1/128 99999999999999999999999", errValueRange, "", ""},
		// strtoul reads -1 as ULONG_MAX, above INT_MAX: ignored.
		{"negative value", "label ::1/128 -1", errValueRange, "", ""},
		{"value not a number", "label ::1/128 x", errSyntax, "", ""},
		{"hex value", "label ::1/128 0x1", errSyntax, "", ""},
		{"unknown directive", "labels ::1/128 0", errUnknownDirective, "", ""},
		{"directives are case-sensitive", "LABEL ::1/128 0", errUnknownDirective, "", ""},
		{"duplicate label", "label ::1/128 0\nlabel ::1/128 5", ErrDuplicate, "", "::/0=1 ::1/128=0"},
		{"duplicate after masking", "label 2001:db8::/32 1\nlabel 2001:db8::1/32 2", errNotCanonical, "", "::/0=1 2001:db8::/32=1"}, // and ErrDuplicate
		{"scopev4 IPv6 prefix", "scopev4 2001:db8::/32 5", errNotIPv4, "", ""},
		{"scopev4 mapped shorter than /96", "scopev4 ::ffff:0:0/80 5", errNotIPv4, "", ""},
		{"scopev4 IPv4 /33", "scopev4 10.0.0.0/33 5", errInvalidPrefix, "", ""},
		{"scopev4 value above 15", "scopev4 10.0.0.0/8 16", errValueRange, "", ""},
		{"scopev4 host bits", "scopev4 10.0.0.1/8 5", errNotCanonical, "", ""},
		{"scopev4 missing scope", "scopev4 10.0.0.0/8", errSyntax, "", ""},
		{"scopev4 duplicate", "scopev4 10.0.0.0/8 5\nscopev4 ::ffff:10.0.0.0/104 2", ErrDuplicate, "", ""},
		{"reload without value", "reload", errSyntax, "", ""},
		{"reload maybe", "reload maybe", errSyntax, "", ""},
		{"reload extra", "reload yes please", errSyntax, "", ""},
		// glibc reads the whole line; its fields end within what the
		// lenient reader keeps, so it is used.
		{"line too long", longLine, ErrLineTooLong, "", "::/0=1 ::1/128=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := "# gai.conf\n" + tt.in + "\n"
			wantLine := strings.Count(in, "\n")
			lastLine := tt.in[strings.LastIndex(tt.in, "\n")+1:]
			_, err := ParseGaiConf(strings.NewReader(in))
			var pe *ParseError
			if !errors.Is(err, tt.want) || !errors.As(err, &pe) {
				t.Fatalf("ParseGaiConf = %v; want a *ParseError wrapping %v", err, tt.want)
			}
			wantText := errText(lastLine) // long lines are cut
			if tt.want == ErrLineTooLong && wantText != lastLine[:maxErrText]+"..." {
				t.Errorf("errText did not cut the long line: %q", wantText)
			}
			if pe.Line != wantLine || pe.Text != wantText || pe.Format != "gai.conf" {
				t.Errorf("ParseError{Line %d, Text %q}; want line %d, text %q", pe.Line, pe.Text, wantLine, wantText)
			}
			if !strings.Contains(pe.Error(), fmt.Sprintf("line %d", wantLine)) {
				t.Errorf("Error() = %q; does not name the line", pe.Error())
			}

			lt, warnings, err := ParseGaiConfLenient(strings.NewReader(in))
			if err != nil {
				t.Fatalf("lenient: %v", err)
			}
			wantWarns := 1
			if tt.name == "duplicate after masking" {
				wantWarns = 2
			}
			if len(warnings) != wantWarns || !errors.Is(warnings[0], tt.want) || warnings[0].Line != wantLine {
				t.Errorf("lenient warnings = %v; want one %v on line %d", warnings, tt.want, wantLine)
			}
			wantPrec, wantLabel := tt.lenientPrec, tt.lenientLabel
			if wantPrec == "" {
				wantPrec = rowsOf(Glibc().Precedences())
			}
			if wantLabel == "" {
				wantLabel = rowsOf(Glibc().Labels())
			}
			if got := rowsOf(lt.Precedences()); got != wantPrec {
				t.Errorf("lenient precedences = %s; want %s", got, wantPrec)
			}
			if got := rowsOf(lt.Labels()); got != wantLabel {
				t.Errorf("lenient labels = %s; want %s", got, wantLabel)
			}
		})
	}
}

func TestParseGaiConfLenientScopes(t *testing.T) {
	// glibc keeps a masked scopev4 rule; a bad one is dropped.
	tb, warnings, err := ParseGaiConfLenient(strings.NewReader("scopev4 10.0.0.1/8 5\nscopev4 10.0.0.0/8 99\nscopev4 ::ffff:127.0.0.0/104\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Host bits; scope 99 above 15 and a duplicate; no scope.
	if len(warnings) != 4 {
		t.Errorf("warnings = %v; want 4", warnings)
	}
	if got := tb.Scope(ma("10.1.1.1")); got != ScopeSiteLocal {
		t.Errorf("Scope(10.1.1.1) = %v; want site-local from the masked rule", got)
	}
	if got := tb.Scope(ma("127.0.0.1")); got != 0 {
		t.Errorf("Scope(127.0.0.1) = %v; want 0 (glibc reads a missing scope as 0)", got)
	}
}

func TestParseGaiConfTooManyRows(t *testing.T) {
	var b bytes.Buffer
	for i := range MaxRows + 1 {
		fmt.Fprintf(&b, "precedence 2001:%x:%x::/48 1\n", i>>16, i&0xffff)
	}
	for _, lenient := range []bool{false, true} {
		_, _, err := parseGaiConf(bytes.NewReader(b.Bytes()), lenient)
		var pe *ParseError
		if !errors.Is(err, ErrTooManyRows) || !errors.As(err, &pe) || pe.Line != MaxRows+1 {
			t.Errorf("lenient=%v: err = %v; want ErrTooManyRows on line %d", lenient, err, MaxRows+1)
		}
	}
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("boom")
	r := func() io.Reader { return io.MultiReader(strings.NewReader("\n"), iotest.ErrReader(boom)) }
	if _, err := ParseGaiConf(r()); !errors.Is(err, boom) {
		t.Errorf("ParseGaiConf = %v; want the read error", err)
	}
	if _, _, err := ParseGaiConfLenient(r()); !errors.Is(err, boom) {
		t.Errorf("ParseGaiConfLenient = %v; want the read error", err)
	}
	if _, err := ParseIP6addrctl(r()); !errors.Is(err, boom) {
		t.Errorf("ParseIP6addrctl = %v; want the read error", err)
	}
	if _, err := ParseIP6addrctlConf(r()); !errors.Is(err, boom) {
		t.Errorf("ParseIP6addrctlConf = %v; want the read error", err)
	}
	if _, err := ParseNetsh(r()); !errors.Is(err, boom) {
		t.Errorf("ParseNetsh = %v; want the read error", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	tb := RFC6724()
	for name, write := range map[string]func(io.Writer) error{
		"gai.conf": tb.WriteGaiConf, "ip6addrctl": tb.WriteIP6addrctl,
		"ip6addrctl.conf": tb.WriteIP6addrctlConf, "netsh": tb.WriteNetsh,
	} {
		if err := write(failWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: err = %v; want the write error", name, err)
		}
	}
}

// roundTripTables are the tables every format must round trip.
func roundTripTables(t *testing.T) map[string]*Table {
	t.Helper()
	kl, err := Draft6724Update().AddKnownLocal(mp("fd01:1:1::/48"), mp("fd02:2:2::/48"))
	if err != nil {
		t.Fatal(err)
	}
	scoped := MustNew(rfc6724Entries, WithScopeV4(ScopeRule{mp("10.0.0.0/8"), ScopeSiteLocal}, ScopeRule{mp("127.0.0.0/8"), ScopeLinkLocal}))
	return map[string]*Table{
		"RFC6724": RFC6724(), "RFC3484": RFC3484(), "Glibc": Glibc(), "Draft6724Update": Draft6724Update(),
		"Draft6724Update+known-local": kl, "scopev4": scoped, "random": randomTable(t, 9, 200),
	}
}

func TestGaiConfRoundTrip(t *testing.T) {
	for name, tb := range roundTripTables(t) {
		var b bytes.Buffer
		if err := tb.WriteGaiConf(&b); err != nil {
			t.Fatal(err)
		}
		back, err := ParseGaiConf(&b)
		if err != nil {
			t.Fatalf("%s: reading what WriteGaiConf wrote: %v", name, err)
		}
		if !back.Equal(tb) {
			t.Errorf("%s: round trip =\n%s\nwant\n%s", name, back, tb)
		}
		_, e1 := back.ScopeV4()
		_, e2 := tb.ScopeV4()
		if e1 != e2 {
			t.Errorf("%s: explicit scopes %v after the round trip; want %v", name, e1, e2)
		}
	}
	// An explicit empty rule set is written as "all global".
	var b bytes.Buffer
	if err := MustNew(rfc6724Entries, WithScopeV4()).WriteGaiConf(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "scopev4    ::ffff:0.0.0.0/96             14\n") {
		t.Errorf("empty scope rules written as\n%s", b.String())
	}
	back, err := ParseGaiConf(&b)
	if err != nil || back.Scope(ma("127.0.0.1")) != ScopeGlobal {
		t.Errorf("empty scope rules read back as %v, %v", back, err)
	}
}

func TestWriteGaiConfGolden(t *testing.T) {
	var b bytes.Buffer
	if err := RFC6724().WriteGaiConf(&b); err != nil {
		t.Fatal(err)
	}
	want := `label      ::1/128                        0
label      ::/96                          3
label      ::ffff:0.0.0.0/96              4
label      2001::/32                      5
label      2002::/16                      2
label      3ffe::/16                     12
label      fec0::/10                     11
label      fc00::/7                      13
label      ::/0                           1
precedence ::1/128                       50
precedence ::/96                          1
precedence ::ffff:0.0.0.0/96             35
precedence 2001::/32                      5
precedence 2002::/16                     30
precedence 3ffe::/16                      1
precedence fec0::/10                      1
precedence fc00::/7                       3
precedence ::/0                          40
`
	got := b.String()
	if i := strings.Index(got, "\nlabel "); i < 0 || got[i+1:] != want {
		t.Errorf("WriteGaiConf(RFC6724) =\n%s\nwant (after the comment lines)\n%s", got, want)
	}
}

// A FreeBSD "ip6addrctl show" listing of the RFC 6724 table, in the
// layout ip6addrctl prints (prefix padded to 30, then 5, 5 and 8 wide).
const freebsdShow = `Prefix                          Prec Label      Use
::1/128                           50     0      412
::/0                              40     1  1234567
::ffff:0.0.0.0/96                 35     4       88
2002::/16                         30     2        0
2001::/32                          5     5        0
fc00::/7                           3    13        0
::/96                              1     3        0
fec0::/10                          1    11        0
3ffe::/16                          1    12        0
`

const freebsdConf = `# /etc/ip6addrctl.conf: RFC 6724 defaults
#
# Format:
#   Prefix                  Precedence Label
::1/128                         50      0
::/0                            40      1
::ffff:0:0/96                   35      4
2002::/16                       30      2
2001::/32                        5      5
fc00::/7                         3     13
::/96                            1      3
fec0::/10                        1     11
3ffe::/16                        1     12  # 6bone
`

// Windows 10 "netsh interface ipv6 show prefixpolicies".
const windowsNetsh = "Querying active state...\r\n\r\n" +
	"Precedence  Label  Prefix\r\n" +
	"----------  -----  --------------------------------\r\n" +
	"        50      0  ::1/128\r\n" +
	"        40      1  ::/0\r\n" +
	"        35      4  ::ffff:0:0/96\r\n" +
	"        30      2  2002::/16\r\n" +
	"         5      5  2001::/32\r\n" +
	"         3     13  fc00::/7\r\n" +
	"         1     11  fec0::/10\r\n" +
	"         1     12  3ffe::/16\r\n" +
	"         1      3  ::/96\r\n" +
	"\r\n"

func TestParseCombinedFormats(t *testing.T) {
	for _, tt := range []struct {
		name  string
		parse func(io.Reader) (*Table, error)
		in    string
	}{
		{"ip6addrctl", ParseIP6addrctl, freebsdShow},
		{"ip6addrctl.conf", ParseIP6addrctlConf, freebsdConf},
		{"netsh", ParseNetsh, windowsNetsh},
		{"netsh without the Querying line, LF", ParseNetsh, strings.ReplaceAll(windowsNetsh[len("Querying active state...\r\n"):], "\r", "")},
	} {
		tb, err := tt.parse(strings.NewReader(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !tb.Equal(RFC6724()) {
			t.Errorf("%s =\n%s\nwant RFC6724()", tt.name, tb)
		}
	}
}

func TestParseCombinedFormatsMalformed(t *testing.T) {
	showHeader := "Prefix                          Prec Label      Use\n"
	netshHeader := "Precedence  Label  Prefix\n----------  -----  ------\n"
	tests := []struct {
		name  string
		parse func(io.Reader) (*Table, error)
		in    string
		want  error
		line  int // the *ParseError's line; -1: not a *ParseError
	}{
		{"show: no header", ParseIP6addrctl, "::/0 40 1 0\n", errSyntax, 1},
		{"show: empty", ParseIP6addrctl, "", errSyntax, 0},
		{"show: no policy", ParseIP6addrctl, "no source-address-selection policy is installed\n", ErrNoDefault, 1},
		{"show: 3 fields", ParseIP6addrctl, showHeader + "::/0 40 1\n", errSyntax, 2},
		{"show: bad use", ParseIP6addrctl, showHeader + "::/0 40 1 x\n", errSyntax, 2},
		{"show: no length", ParseIP6addrctl, showHeader + "::1 50 0 0\n", errInvalidPrefix, 2},
		{"show: IPv4", ParseIP6addrctl, showHeader + "10.0.0.0/8 50 0 0\n", errIPv4Prefix, 2},
		{"show: host bits", ParseIP6addrctl, showHeader + "::1/64 50 0 0\n", errNotCanonical, 2},
		{"show: precedence 256", ParseIP6addrctl, showHeader + "::/0 256 1 0\n", errValueRange, 2},
		{"show: label -1", ParseIP6addrctl, showHeader + "::/0 40 -1 0\n", errSyntax, 2},
		{"show: duplicate", ParseIP6addrctl, showHeader + "::/0 40 1 0\n::/0 40 1 0\n", ErrDuplicate, 3},
		{"show: no ::/0", ParseIP6addrctl, showHeader + "::1/128 50 0 0\n", ErrNoDefault, -1},
		{"conf: 2 fields", ParseIP6addrctlConf, "::/0 40\n", errSyntax, 1},
		{"conf: 4 fields", ParseIP6addrctlConf, "::/0 40 1 9\n", errSyntax, 1},
		{"conf: bad prefix", ParseIP6addrctlConf, "::/0 40 1\nfoo/8 1 1\n", errInvalidPrefix, 2},
		{"conf: no ::/0", ParseIP6addrctlConf, "# empty\n", ErrNoDefault, -1},
		{"conf: long line", ParseIP6addrctlConf, strings.Repeat(" ", MaxLineLength+1) + "\n", ErrLineTooLong, 1},
		{"netsh: no header", ParseNetsh, "        40      1  ::/0\n", errSyntax, 1},
		{"netsh: no dashes", ParseNetsh, "Precedence  Label  Prefix\n        40      1  ::/0\n", errSyntax, 2},
		{"netsh: empty", ParseNetsh, "Querying active state...\n", errSyntax, 0},
		{"netsh: swapped columns", ParseNetsh, netshHeader + "::/0 40 1\n", errInvalidPrefix, 3},
		{"netsh: label 300", ParseNetsh, netshHeader + "40 300 ::/0\n", errValueRange, 3},
		{"netsh: extra field", ParseNetsh, netshHeader + "40 1 ::/0 x\n", errSyntax, 3},
		{"netsh: duplicate", ParseNetsh, netshHeader + "40 1 ::/0\n40 1 ::/0\n", ErrDuplicate, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := tt.parse(strings.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("parse = %v, %v; want %v", tb, err, tt.want)
			}
			var pe *ParseError
			if errors.As(err, &pe) != (tt.line >= 0) || (pe != nil && pe.Line != tt.line) {
				t.Errorf("err = %#v; want a *ParseError for line %d", err, tt.line)
			}
		})
	}
}

func TestCombinedFormatsRoundTrip(t *testing.T) {
	formats := []struct {
		name  string
		write func(*Table, io.Writer) error
		parse func(io.Reader) (*Table, error)
	}{
		{"ip6addrctl", (*Table).WriteIP6addrctl, ParseIP6addrctl},
		{"ip6addrctl.conf", (*Table).WriteIP6addrctlConf, ParseIP6addrctlConf},
		{"netsh", (*Table).WriteNetsh, ParseNetsh},
	}
	for name, tb := range roundTripTables(t) {
		for _, f := range formats {
			var b bytes.Buffer
			if err := f.write(tb, &b); err != nil {
				t.Fatal(err)
			}
			back, err := f.parse(&b)
			if err != nil {
				t.Fatalf("%s %s: reading what was written: %v\n%s", name, f.name, err, b.String())
			}
			// These formats hold rows only: compare Entries.
			if !slices.Equal(back.Entries(), tb.Entries()) {
				t.Errorf("%s %s: round trip =\n%s\nwant\n%s", name, f.name, back, tb)
			}
			// A table these formats can express fully comes back Equal.
			if _, explicit := tb.ScopeV4(); !tb.Split() && !explicit && !back.Equal(tb) {
				t.Errorf("%s %s: round trip not Equal", name, f.name)
			}
		}
	}
}

func TestWriteCombinedGolden(t *testing.T) {
	var b bytes.Buffer
	if err := RFC6724().WriteNetsh(&b); err != nil {
		t.Fatal(err)
	}
	want := "Querying active state...\r\n\r\n" +
		"Precedence  Label  Prefix\r\n" +
		"----------  -----  --------------------------------\r\n" +
		"        50      0  ::1/128\r\n" +
		"        40      1  ::/0\r\n" +
		"        35      4  ::ffff:0:0/96\r\n" +
		"        30      2  2002::/16\r\n" +
		"         5      5  2001::/32\r\n" +
		"         3     13  fc00::/7\r\n" +
		"         1      3  ::/96\r\n" +
		"         1     12  3ffe::/16\r\n" +
		"         1     11  fec0::/10\r\n" +
		"\r\n"
	if b.String() != want {
		t.Errorf("WriteNetsh =\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	if err := RFC6724().WriteIP6addrctl(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if lines[0] != "Prefix                          Prec Label      Use" ||
		lines[1] != "::1/128                           50     0        0" {
		t.Errorf("WriteIP6addrctl =\n%s", b.String())
	}
	if got := formatMappedHex(mp("::ffff:10.0.0.0/104")); got != "::ffff:a00:0/104" {
		t.Errorf("formatMappedHex = %s", got)
	}
}

// TestParseGaiConfLenientBounded: the lenient reader keeps at most
// maxWarnings warnings, counts the rest in a final one, and cuts the
// text each quotes, so that its memory does not grow with the input (10^5
// bogus lines once kept 10^5 warnings with their whole lines).
func TestParseGaiConfLenientBounded(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		lines int
	}{
		{"many bogus lines", "bogus directive\n", 100000},
		{"long bogus lines", "bogus " + strings.Repeat("x", 4000) + "\n", 2000},
		{"long unparsable fields", "label " + strings.Repeat("1", 3000) + " " + strings.Repeat("2", 900) + "\n", 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Repeat(tt.line, tt.lines)
			_, warnings, err := ParseGaiConfLenient(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != maxWarnings+1 {
				t.Fatalf("%d warnings; want %d and one counting the rest", len(warnings), maxWarnings+1)
			}
			last := warnings[len(warnings)-1]
			if want := fmt.Sprintf("%d more", tt.lines-maxWarnings); !errors.Is(last, errMoreWarnings) || !strings.Contains(last.Error(), want) || last.Line != maxWarnings+1 {
				t.Errorf("last warning = %v (line %d); want %q from line %d", last, last.Line, want, maxWarnings+1)
			}
			for _, w := range warnings {
				if n := len(w.Error()); n > 400 {
					t.Fatalf("warning of %d bytes: %.100s...", n, w.Error())
				}
			}
		})
	}
}

// TestParseGaiConfImplicitRowLimit: MaxRows label lines without ::/0 and
// glibc's implicit ::/0 row make MaxRows+1 rows. That is a *ParseError on
// the line of the last row, in both modes (it was a *TableError without
// a line).
func TestParseGaiConfImplicitRowLimit(t *testing.T) {
	for _, kind := range []string{"label", "precedence"} {
		var b bytes.Buffer
		for i := range MaxRows {
			fmt.Fprintf(&b, "%s 2001:%x:%x::/48 1\n", kind, i>>16, i&0xffff)
		}
		for _, lenient := range []bool{false, true} {
			_, _, err := parseGaiConf(bytes.NewReader(b.Bytes()), lenient)
			var pe *ParseError
			if !errors.Is(err, ErrTooManyRows) || !errors.As(err, &pe) || pe.Line != MaxRows || !strings.Contains(err.Error(), "implicit ::/0") {
				t.Errorf("%s, lenient=%v: err = %v; want a *ParseError on line %d about the implicit ::/0 row", kind, lenient, err, MaxRows)
			}
		}
		// With ::/0 among them, MaxRows lines fit.
		in := strings.Replace(b.String(), kind+" 2001:0:0::/48 1", kind+" ::/0 1", 1)
		if _, err := ParseGaiConf(strings.NewReader(in)); err != nil {
			t.Errorf("%s: MaxRows lines with ::/0: %v", kind, err)
		}
	}
}
