package cli

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
)

// newTest is a command like mxplan's: one argument and two flags.
func newTest() (*Command, *bool) {
	c := New("tool", "domain", 1, 1, "Arguments:\n  domain  the mail domain\n\nStandard input is not read.")
	v := c.Flags.Bool("json", false, "print JSON")
	c.Flags.String("server", "", "DNS server `addr:port`")
	return c, v
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantPos  []string
		wantErr  string // part of the error; "" for none
		wantHelp bool
	}{
		{"plain", []string{"-json", "example.org"}, []string{"example.org"}, "", false},
		{"help", []string{"-h"}, nil, "", true},
		{"help-long", []string{"-help"}, nil, "", true},
		{"flag-after-argument", []string{"example.org", "-json"}, nil, `flag -json after the argument "example.org"`, false},
		{"value-flag-after-argument", []string{"example.org", "-server", "127.0.0.1:53"}, nil, "flag -server after the argument", false},
		{"dash-dash", []string{"--", "-odd"}, []string{"-odd"}, "", false},
		{"unknown-flag", []string{"-bogus", "x"}, nil, "flag provided but not defined: -bogus", false},
		{"bad-value", []string{"-json=maybe", "x"}, nil, "invalid boolean value", false},
		{"missing", []string{"-json"}, nil, "missing argument: want domain", false},
		{"too-many", []string{"a", "b"}, nil, `too many arguments ["a" "b"]: want domain`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTest()
			pos, err := c.Parse(tt.args)
			var ue *UsageError
			switch {
			case tt.wantHelp:
				if !errors.Is(err, flag.ErrHelp) {
					t.Errorf("Parse(%q) error = %v; want flag.ErrHelp", tt.args, err)
				}
			case tt.wantErr != "":
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Parse(%q) error = %v; want a *UsageError with %q", tt.args, err, tt.wantErr)
				}
			case err != nil || strings.Join(pos, " ") != strings.Join(tt.wantPos, " "):
				t.Errorf("Parse(%q) = %q, %v; want %q", tt.args, pos, err, tt.wantPos)
			}
		})
	}
	c := New("none", "", 0, 0, "")
	if _, err := c.Parse([]string{"x"}); err == nil || !strings.Contains(err.Error(), "none takes none") {
		t.Errorf("Parse(x) for a command without arguments: %v; want an unexpected-argument error", err)
	}
}

func TestExit(t *testing.T) {
	tests := []struct {
		name             string
		err              error
		want             int
		wantOut, wantErr string
	}{
		{"ok", nil, StatusOK, "", ""},
		{"help", flag.ErrHelp, StatusOK, "usage: tool [flags] domain\n\nArguments:\n  domain  the mail domain", ""},
		{"usage", Usagef("-relay %q: want v4, v6 or dual", "v5"), StatusUsage, "",
			"tool: -relay \"v5\": want v4, v6 or dual\nusage: tool [flags] domain (tool -h for help)\n"},
		{"failed", errors.New("lookup failed"), StatusFailed, "", "tool: lookup failed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTest()
			var out, errOut bytes.Buffer
			got := c.Exit(Streams{Out: &out, Err: &errOut}, tt.err)
			if got != tt.want {
				t.Errorf("Exit(%v) = %d; want %d", tt.err, got, tt.want)
			}
			if !strings.HasPrefix(out.String(), tt.wantOut) || errOut.String() != tt.wantErr {
				t.Errorf("Exit(%v) wrote stdout %q, stderr %q; want stdout starting %q, stderr %q", tt.err, out.String(), errOut.String(), tt.wantOut, tt.wantErr)
			}
		})
	}
	// The help lists the flags too.
	c, _ := newTest()
	var out bytes.Buffer
	c.Exit(Streams{Out: &out, Err: &out}, flag.ErrHelp)
	if !strings.Contains(out.String(), "-server addr:port") || !strings.Contains(out.String(), "Standard input is not read.") {
		t.Errorf("help lacks the flags or the standard input line:\n%s", out.String())
	}
}

type fakeTTY struct{}

func (fakeTTY) IsTerminal() bool { return true }

func TestIsTerminal(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name string
		v    any
		want bool
	}{
		{"null-device", null, false}, // a character device, not a terminal
		{"file", f, false},
		{"buffer", &bytes.Buffer{}, false},
		{"double", fakeTTY{}, true},
		{"nil-file", (*os.File)(nil), false},
	}
	for _, tt := range tests {
		if got := IsTerminal(tt.v); got != tt.want {
			t.Errorf("IsTerminal(%s) = %v; want %v", tt.name, got, tt.want)
		}
	}
}
