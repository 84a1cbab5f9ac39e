package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/internal/cli/clitest"
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
	clitest.Run(t, "policydump", mainStatus, []clitest.Case{
		{Name: "default", Status: 0, Stdout: "rfc6724 policy table"},
		{Name: "lookup", Args: []string{"-table", "glibc", "10.1.2.3"}, Status: 0, Stdout: "glibc policy table"},
		{Name: "help", Args: []string{"-h"}, Status: 0, Stdout: "ADDR...  addresses to look up"},
		{Name: "unknown-table", Args: []string{"-table", "nope"}, Status: 2, Stderr: `-table "nope": want rfc6724`},
		{Name: "unknown-flag", Args: []string{"-bogus"}, Status: 2, Stderr: "flag provided but not defined: -bogus"},
		{Name: "flag-after-address", Args: []string{"10.1.2.3", "-table", "glibc"}, Status: 2, Stderr: `flag -table after the argument "10.1.2.3"`},
		{Name: "bad-address", Args: []string{"10.1.2.3", "not-an-address"}, Status: 1, Stderr: "argument 2: ParseAddr"},
	})
}
