package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/internal/cli"
	"github.com/dualstack/dualstack/policytable"
)

func TestRunPrintsTableAndLookups(t *testing.T) {
	for name, mk := range presets {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := run(&buf, []string{"-table", name, "10.1.2.3", "fd00::1"}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			tb := mk()
			for _, e := range tb.Entries() {
				row := fmt.Sprintf("%-22s %4d %5d\n", e.Prefix, e.Precedence, e.Label)
				if !strings.Contains(out, row) {
					t.Errorf("output lacks row %q", row)
				}
			}
			for _, s := range []string{"10.1.2.3", "fd00::1"} {
				a := netip.MustParseAddr(s)
				at := tb.Lookup(a)
				line := fmt.Sprintf("%-22s %4d %5d  %s\n", a, at.Precedence, at.Label, tb.Scope(a))
				if !strings.Contains(out, line) {
					t.Errorf("output lacks lookup %q", line)
				}
			}
		})
	}
}

func TestRunDefaultsToRFC6724(t *testing.T) {
	var buf bytes.Buffer
	if err := run(&buf, nil); err != nil {
		t.Fatal(err)
	}
	// RFC 6724 section 2.1: IPv4 (mapped) has precedence 35 and label 4.
	if !strings.Contains(buf.String(), fmt.Sprintf("%-22s %4d %5d  %s\n", "192.0.2.1", 35, 4, policytable.ScopeGlobal)) {
		t.Errorf("default run does not show RFC 6724 values for 192.0.2.1:\n%s", buf.String())
	}
}

func TestRunErrors(t *testing.T) {
	for _, args := range [][]string{{"-table", "nope"}, {"not-an-address"}, {"-bogus"}} {
		if err := run(&bytes.Buffer{}, args); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}

func TestMainStatus(t *testing.T) {
	tests := []struct {
		name             string
		args             []string
		want             int
		wantOut, wantErr string // parts of standard output and standard error
	}{
		{"default", nil, 0, "rfc6724 policy table", ""},
		{"lookup", []string{"-table", "glibc", "10.1.2.3"}, 0, "glibc policy table", ""},
		{"help", []string{"-h"}, 0, "ADDR...  addresses to look up", ""},
		{"unknown-table", []string{"-table", "nope"}, 2, "", `-table "nope": want rfc6724`},
		{"unknown-flag", []string{"-bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{"flag-after-address", []string{"10.1.2.3", "-table", "glibc"}, 2, "", `flag -table after the argument "10.1.2.3"`},
		{"bad-address", []string{"10.1.2.3", "not-an-address"}, 1, "", "argument 2: ParseAddr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			got := mainStatus(tt.args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
			if got != tt.want {
				t.Errorf("policydump %q: status %d; want %d\n%s", tt.args, got, tt.want, errOut.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) || !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("policydump %q: stdout %q, stderr %q; want %q and %q in them", tt.args, out.String(), errOut.String(), tt.wantOut, tt.wantErr)
			}
			// The error once, no table printed before it.
			if tt.want != 0 && (strings.Count(errOut.String(), tt.wantErr) != 1 || out.Len() != 0) {
				t.Errorf("policydump %q: stdout %q, stderr %q; want the error once and no output", tt.args, out.String(), errOut.String())
			}
		})
	}
}
