package mxorder_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dualstack/dualstack/mxorder"
)

// rfc8461Policy is the example policy of RFC 8461 section 3.2.
const rfc8461Policy = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n"

func TestParseSTSPolicy(t *testing.T) {
	good := func(name, in string, want *mxorder.STSPolicy) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			got, err := mxorder.ParseSTSPolicy(strings.NewReader(in))
			if err != nil {
				t.Fatalf("ParseSTSPolicy(%q): %v", in, err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("ParseSTSPolicy(%q) (-want +got):\n%s", in, d)
			}
			// The writer's output parses to the same policy.
			back, err := mxorder.ParseSTSPolicy(strings.NewReader(got.String()))
			if err != nil {
				t.Fatalf("ParseSTSPolicy(String()) = %v for %q", err, got.String())
			}
			if d := cmp.Diff(got, back); d != "" {
				t.Errorf("round trip (-parsed +reparsed):\n%s", d)
			}
		})
	}
	// bad expects an *STSParseError at line:column naming field.
	bad := func(name, in string, line, col int, field string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			_, err := mxorder.ParseSTSPolicy(strings.NewReader(in))
			var pe *mxorder.STSParseError
			if !errors.As(err, &pe) || !errors.Is(err, mxorder.ErrInvalidSTS) {
				t.Fatalf("ParseSTSPolicy(%q) = %v; want *STSParseError", in, err)
			}
			if pe.Line != line || pe.Column != col || pe.Field != field || pe.Input != "policy" {
				t.Errorf("ParseSTSPolicy(%q) error at line %d column %d field %q; want %d:%d %q (%v)", in, pe.Line, pe.Column, pe.Field, line, col, field, err)
			}
		})
	}
	week := 604800 * time.Second
	good("rfc8461-example", rfc8461Policy, &mxorder.STSPolicy{Mode: mxorder.STSModeEnforce,
		MX: []string{"mail.example.com", "*.example.net", "backupmx.example.com"}, MaxAge: week})
	good("lf-no-final-newline", "version: STSv1\nmode: testing\nmx: MX.Example.COM\nmax_age: 86400",
		&mxorder.STSPolicy{Mode: mxorder.STSModeTesting, MX: []string{"mx.example.com"}, MaxAge: 86400 * time.Second})
	good("none-without-mx", "version: STSv1\nmode: none\nmax_age: 0\n",
		&mxorder.STSPolicy{Mode: mxorder.STSModeNone, MX: []string{}})
	good("extensions-and-duplicates", "version: STSv1\nmode: enforce\nmode: none\nfoo_bar: some value \nmx: a.example\nmax_age:31557600\nmax_age: 99999999999\n",
		&mxorder.STSPolicy{Mode: mxorder.STSModeEnforce, MX: []string{"a.example"}, MaxAge: mxorder.MaxSTSAge,
			Extensions: []mxorder.STSExtension{{Key: "foo_bar", Value: "some value"}}})
	good("utf8-extension-and-blank-lines", "version: STSv1\n\nmode: enforce\nnote: grüße\nmx: xn--bcher-kva.example\nmax_age: 1\n",
		&mxorder.STSPolicy{Mode: mxorder.STSModeEnforce, MX: []string{"xn--bcher-kva.example"}, MaxAge: time.Second,
			Extensions: []mxorder.STSExtension{{Key: "note", Value: "grüße"}}})

	bad("version", "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", 1, 10, "version")
	bad("mode", "version: STSv1\nmode:  strict\nmx: a.example\nmax_age: 1\n", 2, 8, "mode")
	bad("mode-numeric-form", "version: STSv1\nmode: mode(1)\nmx: a.example\nmax_age: 1\n", 2, 7, "mode")
	bad("max-age-too-big", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", 4, 10, "max_age")
	bad("max-age-eleven-digits", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 00000000001\n", 4, 10, "max_age")
	bad("max-age-negative", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", 4, 10, "max_age")
	bad("wildcard-inside", "version: STSv1\nmode: enforce\nmx: mail.*.example\nmax_age: 1\n", 3, 5, "mx")
	bad("bare-wildcard", "version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", 3, 5, "mx")
	bad("u-label", "version: STSv1\nmode: enforce\nmx: bücher.example\nmax_age: 1\n", 3, 5, "mx")
	bad("no-colon", "version: STSv1\nmode enforce\n", 2, 1, "")
	bad("bad-key", "version: STSv1\nmo de: enforce\n", 2, 1, "mo de")
	bad("empty-value", "version: STSv1\nmode:\n", 2, 6, "mode")
	bad("control-char", "version: STSv1\nmode: enforce\nnote: a\x01b\nmx: a.example\nmax_age: 1\n", 3, 8, "note")
	bad("bare-cr", "version: STSv1\rmode: enforce\n", 1, 15, "version")
	bad("missing-mode", "version: STSv1\nmx: a.example\nmax_age: 1\n", 0, 0, "mode")
	bad("missing-version", "mode: enforce\nmx: a.example\nmax_age: 1\n", 0, 0, "version")
	bad("missing-max-age", "version: STSv1\nmode: enforce\nmx: a.example\n", 0, 0, "max_age")
	bad("enforce-without-mx", "version: STSv1\nmode: enforce\nmax_age: 1\n", 0, 0, "mx")
	bad("too-long", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nx: "+strings.Repeat("y", mxorder.MaxSTSPolicySize)+"\n", 0, 0, "")
}

func TestParseSTSRecord(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  *mxorder.STSRecord
		col   int    // for errors: the column
		field string // for errors: the field
	}{
		{name: "rfc8461-example", in: "v=STSv1; id=20160831085700Z;", want: &mxorder.STSRecord{ID: "20160831085700Z"}},
		{name: "no-trailing-delimiter", in: "v=STSv1;id=abc", want: &mxorder.STSRecord{ID: "abc"}},
		{name: "spaces-and-tabs", in: "v=STSv1 ;\tid=abc ; ", want: &mxorder.STSRecord{ID: "abc"}},
		{name: "extension-and-duplicate-id", in: "v=STSv1; ext.a-b=x:y; id=one; id=two;",
			want: &mxorder.STSRecord{ID: "one", Extensions: []mxorder.STSExtension{{Key: "ext.a-b", Value: "x:y"}}}},
		{name: "wrong-version", in: "v=STSv2; id=1", col: 1, field: "v"},
		{name: "leading-space", in: " v=STSv1; id=1", col: 1, field: "v"},
		{name: "no-id", in: "v=STSv1;", col: 0, field: "id"},
		{name: "id-too-long", in: "v=STSv1; id=" + strings.Repeat("a", 33), col: 13, field: "id"},
		{name: "id-bad-char", in: "v=STSv1; id=a-b", col: 13, field: "id"},
		{name: "no-delimiter", in: "v=STSv1 id=1", col: 9, field: ""},
		{name: "empty-value", in: "v=STSv1; id=", col: 13, field: "id"},
		{name: "equals-in-value", in: "v=STSv1; id=1; x=a=b", col: 19, field: "x"},
		{name: "bad-name", in: "v=STSv1; _x=1; id=1", col: 10, field: "_x"},
		{name: "field-without-equals", in: "v=STSv1; id", col: 10, field: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mxorder.ParseSTSRecord(tt.in)
			if tt.want == nil {
				var pe *mxorder.STSParseError
				if !errors.As(err, &pe) || pe.Input != "record" || pe.Column != tt.col || pe.Field != tt.field {
					t.Fatalf("ParseSTSRecord(%q) = %v (%#v); want an error at column %d field %q", tt.in, err, pe, tt.col, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSTSRecord(%q): %v", tt.in, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ParseSTSRecord(%q) (-want +got):\n%s", tt.in, d)
			}
			back, err := mxorder.ParseSTSRecord(got.String())
			if err != nil || !cmp.Equal(got, back) {
				t.Errorf("ParseSTSRecord(%q) = %v, %v; want %v", got.String(), back, err, got)
			}
		})
	}
}

func TestSTSPolicyMatch(t *testing.T) {
	p, err := mxorder.ParseSTSPolicy(strings.NewReader(rfc8461Policy))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want bool
	}{
		{"mail.example.com", true},
		{"MAIL.Example.com.", true},
		{"backupmx.example.com", true},
		{"mx1.example.net", true},        // one label for "*"
		{"example.net", false},           // "*" is not empty
		{"a.b.example.net", false},       // nor two labels
		{"mail.example.com.evil", false}, // no suffix tricks
		{"xmail.example.com", false},
		{"other.example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := p.Match(tt.host); got != tt.want {
			t.Errorf("Match(%q) = %v; want %v", tt.host, got, tt.want)
		}
	}
}
