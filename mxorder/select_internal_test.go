package mxorder

import (
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"testing"
)

// TestMXInputCap: beyond mxInputCap records nothing is examined; the
// cut is counted and reported in one Skip, and the kept hosts are the
// best of the examined records.
func TestMXInputCap(t *testing.T) {
	mx := make([]*net.MX, 0, mxInputCap+500)
	for i := range mxInputCap + 500 {
		// The last records have the best preference but are beyond the
		// cap: they must not be chosen.
		pref := uint16(100 + i%7)
		if i >= mxInputCap {
			pref = 1
		}
		mx = append(mx, &net.MX{Host: "mx" + strconv.Itoa(i) + ".example.", Pref: pref})
		if i%100 == 0 {
			mx = append(mx, nil)
		}
	}
	plan := &Plan{Domain: "example"}
	p := Planner{MaxMX: 3}
	entries, err := p.entries(plan, mx)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].pref != 100 || entries[2].pref != 100 {
		t.Errorf("entries = %+v; want three of preference 100", entries)
	}
	if want := mxInputCap + 500 - 3; plan.Truncated.MX != want {
		t.Errorf("Truncated.MX = %d; want %d", plan.Truncated.MX, want)
	}
	summary := slices.IndexFunc(plan.Skipped, func(s Skip) bool { return s.Host == "example" && s.Reason == SkipMXLimit })
	if summary < 0 || plan.Skipped[summary].Detail != "500 MX records beyond the first 4096 not examined" {
		t.Errorf("no summary skip for the records beyond the cap: %+v", plan.Skipped[:min(3, len(plan.Skipped))])
	}
	if n := len(plan.Skipped); n != mxInputCap-3+1 {
		t.Errorf("%d skips; want %d", n, mxInputCap-3+1)
	}
}

// TestDedupHosts: the duplicate removal keeps the first entry of each
// name, in order, and reports every other.
func TestDedupHosts(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 3000 {
		n := r.IntN(100)
		names := 1 + r.IntN(n+1)
		entries := make([]entry, n)
		for i := range entries {
			entries[i] = entry{name: "mx" + strconv.Itoa(r.IntN(names)) + ".example", pref: uint16(i)}
		}
		var want []entry
		for _, e := range entries {
			if !slices.ContainsFunc(want, func(k entry) bool { return k.name == e.name }) {
				want = append(want, e)
			}
		}
		var plan Plan
		got := dedupHosts(&plan, slices.Clone(entries))
		if !slices.EqualFunc(got, want, func(a, b entry) bool { return a.name == b.name && a.pref == b.pref }) {
			t.Fatalf("n=%d: kept %v; want %v", n, got, want)
		}
		if len(plan.Skipped) != n-len(want) {
			t.Fatalf("n=%d: %d skips; want %d", n, len(plan.Skipped), n-len(want))
		}
	}
}
