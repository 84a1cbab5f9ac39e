package mxorder_test

import (
	"context"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/mxorder"
)

// equalPrefDomain: four MX hosts of preference 10 and two of 20.
func equalPrefInput() ([]*net.MX, map[string]mxorder.HostAddrs) {
	mx := mxs(10, "a.example", 10, "b.example", 10, "c.example", 10, "d.example", 20, "e.example", 20, "f.example")
	addrs := map[string]mxorder.HostAddrs{
		"a.example": ha("192.0.2.1"), "b.example": ha("192.0.2.2"), "c.example": ha("192.0.2.3"),
		"d.example": ha("192.0.2.4"), "e.example": ha("192.0.2.5"), "f.example": ha("192.0.2.6"),
	}
	return mx, addrs
}

func order(t *testing.T, p *mxorder.Planner) []string {
	t.Helper()
	mx, addrs := equalPrefInput()
	plan, err := p.Build(context.Background(), "example.com", mx, addrs)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, plan)
	names := hostNames(plan)
	// The preference-20 hosts always follow the preference-10 ones.
	for i, n := range names {
		if want := i >= 4; (n == "e.example" || n == "f.example") != want {
			t.Fatalf("order %v mixes preferences", names)
		}
	}
	return names
}

// TestShuffleUniform checks with a chi-square test that equal preferences
// are shuffled uniformly (RFC 5321 section 5.1). The 4 hosts of
// preference 10 have 24 orders; 24000 plans with the fixed seeds 0..23999
// give 1000 expected per order. The threshold 70.55 is the chi-square
// critical value for 23 degrees of freedom at p = 1e-6: a correct shuffle
// fails with probability 1e-6 for a random seed set, and since the seeds
// are fixed the test is deterministic. The run of preference 20 (2
// orders, 1 degree of freedom) uses 23.93, p = 1e-6.
func TestShuffleUniform(t *testing.T) {
	const n = 24000
	counts := map[string]int{}
	counts20 := map[string]int{}
	for seed := range uint64(n) {
		names := order(t, &mxorder.Planner{Seeded: true, Seed: seed})
		counts[strings.Join(names[:4], ",")]++
		counts20[strings.Join(names[4:], ",")]++
	}
	if len(counts) != 24 {
		t.Fatalf("saw %d orders of 4 hosts; want 24", len(counts))
	}
	chi := func(c map[string]int, cells int) float64 {
		exp := float64(n) / float64(cells)
		x := 0.0
		for _, v := range c {
			d := float64(v) - exp
			x += d * d / exp
		}
		return x
	}
	if x := chi(counts, 24); x > 70.55 {
		t.Errorf("chi-square over 24 orders = %.2f; want <= 70.55 (counts %v)", x, counts)
	}
	if x := chi(counts20, 2); x > 23.93 || len(counts20) != 2 {
		t.Errorf("chi-square over 2 orders = %.2f; want <= 23.93 (counts %v)", x, counts20)
	}
	// A broken shuffle (here: always the input order) must fail the same
	// test, so the threshold has teeth.
	bad := map[string]int{"a,b,c,d": n}
	for i := 1; i < 24; i++ {
		bad[string(rune('A'+i))] = 0
	}
	if x := chi(bad, 24); x <= 70.55 {
		t.Errorf("chi-square of a constant order = %.2f; the test could not fail", x)
	}
}

func TestShuffleReproducible(t *testing.T) {
	for seed := range uint64(50) {
		a := order(t, &mxorder.Planner{Seeded: true, Seed: seed})
		b := order(t, &mxorder.Planner{Seeded: true, Seed: seed})
		if !slices.Equal(a, b) {
			t.Fatalf("seed %d: %v then %v", seed, a, b)
		}
	}
	// Rand: the same source state gives the same order.
	a := order(t, &mxorder.Planner{Rand: rand.NewPCG(1, 2)})
	b := order(t, &mxorder.Planner{Rand: rand.NewPCG(1, 2)})
	if !slices.Equal(a, b) {
		t.Errorf("Rand PCG(1,2): %v then %v", a, b)
	}
	// Seeds and the default source do vary the order.
	for _, p := range []*mxorder.Planner{{}, {Seeded: true}} {
		seen := map[string]bool{}
		for i := range uint64(40) {
			if p.Seeded {
				p.Seed = i
			}
			seen[strings.Join(order(t, p), ",")] = true
		}
		if len(seen) < 5 {
			t.Errorf("Planner{Seeded: %v}: %d distinct orders in 40 plans; want many", p.Seeded, len(seen))
		}
	}
}
