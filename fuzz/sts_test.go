package fuzz

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/dualstack/dualstack/mxorder"
)

// Fuzz targets for the MTA-STS parsers of mxorder (RFC 8461 sections
// 3.1 and 3.2). Invariants: no panic; an error is an
// *mxorder.STSParseError unwrapping to ErrInvalidSTS whose line and
// column lie inside the input; a parsed value obeys the RFC's limits,
// and writing it out and parsing it again gives it back; matching
// follows section 4.1 for every pattern.

// stsPolicySeeds are the policies of the unit tests, good and bad.
var stsPolicySeeds = []string{
	"version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n",
	"version: STSv1\nmode: testing\nmx: MX.Example.COM\nmax_age: 86400",
	"version: STSv1\nmode: none\nmax_age: 0\n",
	"version: STSv1\nmode: enforce\nmode: none\nfoo_bar: some value \nmx: a.example\nmax_age:31557600\nmax_age: 99999999999\n",
	"version: STSv1\nmode: enforce\nmx: mail.*.example\nmax_age: 1\n",
	"version: STSv1\rmode: enforce\n",
	"version: STSv1\nmode: enforce\nnote: gr\xfc\xdfe\nmx: a.example\nmax_age: 1\n",
}

func FuzzParseSTSPolicy(f *testing.F) {
	for _, s := range stsPolicySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := mxorder.ParseSTSPolicy(strings.NewReader(in))
		if err != nil {
			checkSTSError(t, err, "policy", in)
			return
		}
		if len(in) > mxorder.MaxSTSPolicySize {
			t.Fatalf("accepted %d bytes; the limit is %d", len(in), mxorder.MaxSTSPolicySize)
		}
		if p.MaxAge < 0 || p.MaxAge > mxorder.MaxSTSAge {
			t.Errorf("MaxAge = %v; want 0 to %v", p.MaxAge, mxorder.MaxSTSAge)
		}
		if p.Mode != mxorder.STSModeEnforce && p.Mode != mxorder.STSModeTesting && p.Mode != mxorder.STSModeNone {
			t.Errorf("Mode = %v", p.Mode)
		}
		if len(p.MX) == 0 && p.Mode != mxorder.STSModeNone {
			t.Errorf("mode %v without mx patterns", p.Mode)
		}
		for _, pat := range p.MX {
			checkPattern(t, p, pat)
		}
		back, err := mxorder.ParseSTSPolicy(strings.NewReader(p.String()))
		if err != nil {
			t.Fatalf("ParseSTSPolicy(String()) = %v\n%q", err, p.String())
		}
		if d := cmp.Diff(p, back); d != "" {
			t.Errorf("round trip (-parsed +reparsed):\n%s", d)
		}
	})
}

// checkPattern checks section 4.1 for one pattern of p: a host name
// matches itself; "*.d" matches one label more than d, not d, not two
// labels more.
func checkPattern(t *testing.T, p *mxorder.STSPolicy, pat string) {
	t.Helper()
	if pat != strings.ToLower(pat) {
		t.Errorf("pattern %q is not lower case", pat)
	}
	d, wild := strings.CutPrefix(pat, "*.")
	if strings.Contains(d, "*") {
		t.Errorf("pattern %q has a wildcard inside", pat)
	}
	if !wild {
		if !p.Match(pat) || !p.Match(strings.ToUpper(pat)+".") {
			t.Errorf("Match(%q) = false for its own pattern", pat)
		}
		return
	}
	if !p.Match("mx." + d) {
		t.Errorf("Match(%q) = false; pattern %q", "mx."+d, pat)
	}
	if !slicesContainsMatch(p, d) && p.Match(d) {
		t.Errorf("Match(%q) = true for wildcard %q", d, pat)
	}
	if !slicesContainsMatch(p, "mx."+d) && p.Match("a.mx."+d) {
		t.Errorf("Match(%q) = true: the wildcard of %q took two labels", "a.mx."+d, pat)
	}
}

// slicesContainsMatch reports whether another pattern of p could match
// host (so that a match is not the wildcard's doing).
func slicesContainsMatch(p *mxorder.STSPolicy, host string) bool {
	for _, q := range p.MX {
		if q == host || strings.HasPrefix(q, "*.") && strings.HasSuffix(host, q[1:]) {
			return true
		}
	}
	return false
}

// checkSTSError checks that err is a positioned *STSParseError for in.
func checkSTSError(t *testing.T, err error, input, in string) {
	t.Helper()
	var pe *mxorder.STSParseError
	if !errors.As(err, &pe) || !errors.Is(err, mxorder.ErrInvalidSTS) {
		t.Fatalf("error %v (%T) is not an *STSParseError", err, err)
	}
	if pe.Input != input || pe.Reason == "" || !utf8.ValidString(pe.Error()) && utf8.ValidString(in) {
		t.Errorf("error %#v: wrong input kind or no reason", pe)
	}
	lines := strings.Split(in, "\n")
	if pe.Line < 0 || pe.Line > len(lines) {
		t.Fatalf("error at line %d of %d: %v", pe.Line, len(lines), err)
	}
	if pe.Line > 0 && (pe.Column < 0 || pe.Column > len(lines[pe.Line-1])+1) {
		t.Errorf("error at column %d of a %d-byte line: %v", pe.Column, len(lines[pe.Line-1]), err)
	}
	if pe.Line == 0 && pe.Column != 0 {
		t.Errorf("error with a column (%d) but no line: %v", pe.Column, err)
	}
}

var stsRecordSeeds = []string{
	"v=STSv1; id=20160831085700Z;",
	"v=STSv1;id=abc",
	"v=STSv1 ;\tid=abc ; ",
	"v=STSv1; ext.a-b=x:y; id=one; id=two;",
	"v=STSv2; id=1",
	"v=STSv1; id=a-b",
	"v=STSv1; id=1; x=a=b",
	"v=STSv1; id",
}

func FuzzParseSTSRecord(f *testing.F) {
	for _, s := range stsRecordSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := mxorder.ParseSTSRecord(in)
		if err != nil {
			checkSTSError(t, err, "record", strings.ReplaceAll(in, "\n", " "))
			return
		}
		if !strings.HasPrefix(in, "v=STSv1") {
			t.Errorf("accepted %q, which does not begin with v=STSv1", in)
		}
		if len(r.ID) == 0 || len(r.ID) > 32 || strings.Trim(r.ID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			t.Errorf("ID %q is not 1 to 32 letters and digits", r.ID)
		}
		back, err := mxorder.ParseSTSRecord(r.String())
		if err != nil {
			t.Fatalf("ParseSTSRecord(%q) = %v", r.String(), err)
		}
		if d := cmp.Diff(r, back); d != "" {
			t.Errorf("round trip (-parsed +reparsed):\n%s", d)
		}
	})
}
