package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files in testdata are "go test -json" output of small modules (times
// removed): fail.jsonl has a passing, a failing and two skipped tests, a
// package without tests and one that does not build; pass.jsonl has a
// passing and a skipped test.
func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		wantStatus int
		want       []string // lines or parts of lines, in this order
		notWant    []string
	}{
		{
			name:       "failures",
			file:       "fail.jsonl",
			wantStatus: 1,
			want: []string{
				"b/b.go:2:12: undefined: undefined",
				"FAIL\texample.com/tsfix/b [build failed]",
				"?   \texample.com/tsfix/q\t[no test files]",
				"p_test.go:7: got 1; want 2",
				"--- FAIL: TestFail",
				"FAIL\texample.com/tsfix/p",
				"== test summary: 6 tests and subtests ran: 3 passed, 1 failed, 2 skipped",
				"packages: 0 ok, 2 failed, 1 without tests; 1 builds failed",
				"skipped (2):",
				"example.com/tsfix/p TestSkip: needs the nsd command (Debian package nsd)",
				"example.com/tsfix/p TestParent/skipped: no IPv4 loopback here",
				"failed (1):",
				"example.com/tsfix/p TestFail",
			},
			// Passing tests print nothing, and -v's lines are left out.
			notWant: []string{"TestPass", "=== RUN", "PASS\n"},
		},
		{
			name:       "pass-with-skip",
			file:       "pass.jsonl",
			wantStatus: 0,
			want: []string{
				"ok  \texample.com/tsfix/r",
				"2 tests and subtests ran: 1 passed, 0 failed, 1 skipped",
				"example.com/tsfix/r TestSkip: needs root (running as uid 1000): it creates network namespaces",
			},
			notWant: []string{"failed (", "FAIL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if got := run(bytes.NewReader(in), &out); got != tt.wantStatus {
				t.Errorf("run(%s) = %d; want %d", tt.file, got, tt.wantStatus)
			}
			text := out.String()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(text[at:], w)
				if i < 0 {
					t.Fatalf("output lacks %q after offset %d:\n%s", w, at, text)
				}
				at += i + len(w)
			}
			for _, nw := range tt.notWant {
				if strings.Contains(text, nw) {
					t.Errorf("output has %q:\n%s", nw, text)
				}
			}
		})
	}
}

func TestRunNoEvents(t *testing.T) {
	var out bytes.Buffer
	if got := run(strings.NewReader("go: cannot find main module\n"), &out); got != 1 {
		t.Errorf("run(no events) = %d; want 1", got)
	}
	if !strings.Contains(out.String(), "cannot find main module") || !strings.Contains(out.String(), "no go test -json events") {
		t.Errorf("run(no events) printed %q; want the input line and the complaint", out.String())
	}
}

func TestSkipReasonBounded(t *testing.T) {
	o := &testOutput{}
	line := strings.Repeat("x", 1000) + "\n"
	for range 2 * maxTestOutput / len(line) {
		o.add(line)
	}
	if o.text.Len() > maxTestOutput || o.dropped == 0 {
		t.Errorf("kept %d bytes, dropped %d; want at most %d kept and the rest counted", o.text.Len(), o.dropped, maxTestOutput)
	}
}
