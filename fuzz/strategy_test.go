package fuzz

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dualstack/dualstack/mxorder"
)

// Fuzz target for the family strategies of mxorder. The MX set is the
// text form of FuzzPlan; the history is one earlier attempt per line,
// "ADDR CLASS [SOURCE]" with CLASS 1 to 5 (mxorder.FailureClass).
// Invariants: no panic; the same inputs give the same plan; with the
// strategies the attempts are the addresses of the plan without them
// (restricted to the attempt's families), in MX preference order except
// for one greylist retry at the front; every attempt has a reason and a
// TLS requirement; the only new error is ErrFamilyDeferred.

func historyFuzzInput(s string, attempt uint8) mxorder.History {
	h := mxorder.History{Attempt: int(attempt % 6)}
	for _, f := range fuzzLines(s, 2) {
		a, err := netip.ParseAddr(f[0])
		c, cerr := strconv.Atoi(f[1])
		if err != nil || cerr != nil {
			continue
		}
		pa := mxorder.PastAttempt{Addr: a, Failure: mxorder.FailureClass(c)}
		if len(f) > 2 {
			pa.Source, _ = netip.ParseAddr(f[2])
		}
		h.Past = append(h.Past, pa)
	}
	return h
}

func FuzzPlanHistory(f *testing.F) {
	const study = "10 mx10.example.org 192.0.2.10 2001:db8::10\n20 mx20.example.org 2001:db8::20\n30 mx30.example.org 192.0.2.30 2001:db8::30"
	f.Add(study, "2001:db8::10 1\n192.0.2.10 2\n2001:db8::20 4", uint8(4), uint8(0x0f), uint64(1))
	f.Add(study, "192.0.2.30 3 198.51.100.9", uint8(2), uint8(0x02), uint64(2))
	f.Add("10 a.example 192.0.2.1 192.0.2.2\n10 b.example 2001:db8::1", "", uint8(1), uint8(0x10), uint64(3))
	f.Add("10 v4.example 192.0.2.1", "", uint8(1), uint8(0x10), uint64(0))
	f.Fuzz(func(t *testing.T, text, hist string, attempt, flags uint8, seed uint64) {
		mx, addrs := mxFuzzInput(text)
		if len(mx) == 0 {
			return // FuzzPlan covers the implicit MX
		}
		h := historyFuzzInput(hist, attempt)
		base := mxorder.Planner{Sources: mxFamilySources(mxorder.DualStack), Seeded: true, Seed: seed, MaxMX: 16, MaxHostAddrs: 8}
		p := base
		p.SwitchFamily, p.GreylistRetry = flags&1 != 0, flags&2 != 0
		p.Prefer = mxorder.Family(flags>>2) & mxorder.DualStack
		if flags&0x10 != 0 {
			p.AttemptFamilies = []mxorder.Family{mxorder.IPv6, mxorder.DualStack}
		}
		ctx := context.Background()
		want, werr := base.BuildWith(ctx, "example.com", mx, addrs, &mxorder.DeliveryState{History: mxorder.History{Attempt: h.Attempt}})
		got, err := p.BuildWith(ctx, "example.com", mx, addrs, &mxorder.DeliveryState{History: h})
		again, _ := p.BuildWith(ctx, "example.com", mx, addrs, &mxorder.DeliveryState{History: h})
		if werr != nil {
			if err == nil || err.Error() != werr.Error() {
				t.Fatalf("error %v; the plan without strategies failed with %v", err, werr)
			}
			return
		}
		allowed := mxorder.DualStack
		if len(p.AttemptFamilies) > 0 && max(h.Attempt, 1) == 1 {
			allowed = mxorder.IPv6
		}
		var wantAddrs []netip.Addr
		for _, a := range want.Attempts() {
			if mxorder.FamilyOf(a.Addr)&allowed != 0 {
				wantAddrs = append(wantAddrs, a.Addr)
			}
		}
		if err != nil {
			if !errors.Is(err, mxorder.ErrFamilyDeferred) || len(wantAddrs) != 0 {
				t.Fatalf("error %v with %d addresses in the allowed families", err, len(wantAddrs))
			}
			return
		}
		if d := cmp.Diff(got.Attempts(), again.Attempts(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
			t.Fatalf("not deterministic (-first +second):\n%s", d)
		}
		checkStrategyAttempts(t, got.Attempts(), wantAddrs)
	})
}

// checkStrategyAttempts checks the attempts of a plan with strategies
// against the addresses of the plan without them.
func checkStrategyAttempts(t *testing.T, at []mxorder.Attempt, wantAddrs []netip.Addr) {
	t.Helper()
	var gotAddrs []netip.Addr
	for i, a := range at {
		gotAddrs = append(gotAddrs, a.Addr)
		if a.Reason < mxorder.ReasonMXOrder || a.Reason > mxorder.ReasonGreylistRetry || a.TLS != mxorder.TLSOpportunistic {
			t.Errorf("attempt %d: reason %v, TLS %v", i, a.Reason, a.TLS)
		}
		if a.Reason == mxorder.ReasonGreylistRetry && i != 0 {
			t.Errorf("greylist retry at position %d", i)
		}
	}
	cmpAddr := func(a, b netip.Addr) int { return a.Compare(b) }
	slices.SortFunc(gotAddrs, cmpAddr)
	slices.SortFunc(wantAddrs, cmpAddr)
	if !slices.Equal(gotAddrs, wantAddrs) {
		t.Fatalf("attempted %v; want the addresses %v", gotAddrs, wantAddrs)
	}
	rest := at
	if len(at) > 0 && at[0].Reason == mxorder.ReasonGreylistRetry {
		rest = at[1:]
	}
	for i := 1; i < len(rest); i++ {
		if rest[i].Preference < rest[i-1].Preference {
			t.Errorf("attempt %v (%d) after %v (%d): MX order broken", rest[i].Addr, rest[i].Preference, rest[i-1].Addr, rest[i-1].Preference)
		}
	}
}
