package mxorder

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestCanonicalFastPath: every name the one-pass check accepts is one
// the full normalisation returns unchanged and without complaint, and
// the check accepts the ordinary names it is there for.
func TestCanonicalFastPath(t *testing.T) {
	names := []string{
		"example.com", "mx1.example.com", "a", "1", "a-b.c", "xn.example", "axn--b.example",
		"0a.1b", "1.2.3.4", "1.2.3", "a.1", "xn--bcher-kva.example", "-a.b", "a-.b", "a..b",
		".a", "a.", "Example.com", "exa_mple.com", "::1", "a:b", strings.Repeat("a", 63) + ".b",
		strings.Repeat("a", 64) + ".b", strings.Repeat("a.", 126) + "b", strings.Repeat("a.", 127) + "bc",
	}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcxn0123456789-.-.:X_"
	for range 20000 {
		b := make([]byte, 1+r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		names = append(names, string(b))
	}
	for _, n := range names {
		if !isCanonical(n) {
			continue
		}
		got, reason := normalizeFull(n)
		if reason != "" || got != n {
			t.Errorf("isCanonical(%q) = true; the full path gives %q, %q", n, got, reason)
		}
	}
	for _, n := range []string{"example.com", "mx1.example.com", "a-b.c", "1", "0a.1b", "axn--b.example"} {
		if !isCanonical(n) {
			t.Errorf("isCanonical(%q) = false; want the fast path", n)
		}
	}
	for _, n := range []string{"Example.com", "1.2.3.4", "xn--bcher-kva.example", "a..b", "-a.b", "a-.b", "", strings.Repeat("a", 64) + ".b"} {
		if isCanonical(n) {
			t.Errorf("isCanonical(%q) = true; want the full path", n)
		}
	}
}
