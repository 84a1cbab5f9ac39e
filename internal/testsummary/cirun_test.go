package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTools writes shell scripts named after the commands .ci/run calls
// into a new directory and returns it, for the front of PATH. The fake
// dpkg reports every package missing; the fake gofmt reports a file, so
// that a run reaching the gofmt step stops there without running tests.
func fakeTools(t *testing.T, uid, aptStatus string) string {
	t.Helper()
	dir := t.TempDir()
	tools := map[string]string{
		"id":      "echo " + uid,
		"dpkg":    "exit 1",
		"apt-get": "echo 'E: Unable to locate package nsd' >&2; exit " + aptStatus,
		"go":      `[ "$1" = env ] && echo /nonexistent; exit 0`,
		"git":     "echo fake.go",
		"gofmt":   "echo fake.go",
	}
	for name, body := range tools {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCIRunPackages runs .ci/run's package step with fake tools: a failed
// apt-get install stops the run, and so do missing packages in CI when
// they cannot be installed.
func TestCIRunPackages(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash to run .ci/run")
	}
	tests := []struct {
		name      string
		uid, apt  string
		ci        string
		want      string
		reachTest bool // the run goes on to gofmt
	}{
		{"apt-fails", "0", "100", "true", "apt-get failed", false},
		{"apt-fails-outside-ci", "0", "100", "false", "apt-get failed", false},
		{"not-root-in-ci", "1000", "0", "true", "missing Debian packages", false},
		{"not-root-outside-ci", "1000", "0", "false", "not installing the missing packages", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bash, filepath.Join("..", "..", ".ci", "run"))
			cmd.Env = append(os.Environ(),
				"PATH="+fakeTools(t, tt.uid, tt.apt)+string(os.PathListSeparator)+os.Getenv("PATH"),
				"CI="+tt.ci, "TMPDIR="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf(".ci/run succeeded; want a failure (the fake gofmt always complains):\n%s", out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf(".ci/run output lacks %q:\n%s", tt.want, out)
			}
			if reached := strings.Contains(string(out), "== gofmt"); reached != tt.reachTest {
				t.Errorf(".ci/run reached the gofmt step: %v; want %v:\n%s", reached, tt.reachTest, out)
			}
		})
	}
}
