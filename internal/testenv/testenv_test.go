package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB whose Skip and Fatal record the call instead
// of ending the test, so that the helpers' decision can be checked.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Skip(args ...any)               { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = fmt.Sprintf(format, a...) }
func (r *recorder) Skipf(format string, a ...any)  { r.skipped = fmt.Sprintf(format, a...) }
func (r *recorder) Fatal(args ...any)              { r.failed = fmt.Sprint(args...) }

func TestInCI(t *testing.T) {
	tests := []struct {
		env  string
		want bool
	}{
		{"", false},
		{"true", true},
		{"1", true},
		{"TRUE", true},
		{"false", false},
		{"0", false},
		{"yes", false}, // not a strconv.ParseBool value: not CI
	}
	for _, tt := range tests {
		t.Run("CI="+tt.env, func(t *testing.T) {
			t.Setenv("CI", tt.env)
			if got := InCI(); got != tt.want {
				t.Errorf("InCI() with CI=%q = %v; want %v", tt.env, got, tt.want)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	tests := []struct {
		name     string
		ci       string
		wantSkip bool
	}{
		{"developer-skips", "", true},
		{"ci-fails", "true", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			Missingf(r, "needs %s", "nsd")
			got, other := r.failed, r.skipped
			if tt.wantSkip {
				got, other = r.skipped, r.failed
			}
			if !strings.Contains(got, "needs nsd") || other != "" {
				t.Errorf("Missingf with CI=%q: skipped %q, failed %q; want only the %s with the reason",
					tt.ci, r.skipped, r.failed, map[bool]string{true: "skip", false: "failure"}[tt.wantSkip])
			}
		})
	}
}

func TestNeedCommand(t *testing.T) {
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	if p := NeedCommand(r, "sh", "dash"); p == "" || r.failed != "" {
		t.Errorf("NeedCommand(sh) = %q, failure %q; want sh's path", p, r.failed)
	}
	r = &recorder{TB: t}
	NeedCommand(r, "no-such-command-dualstack", "nonesuch")
	for _, want := range []string{"no-such-command-dualstack", "Debian package nonesuch", "CI=true"} {
		if !strings.Contains(r.failed, want) {
			t.Errorf("NeedCommand(missing) failure %q; want it to mention %q", r.failed, want)
		}
	}
}
