package addrselecttest_test

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/addrselect/addrselecttest"
)

// fakeTB records failures. Fatal ends the calling goroutine as the real
// testing.T does, so calls run through run().
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	fatal  bool
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
	f.fatal = true
	f.mu.Unlock()
	runtime.Goexit()
}

// run calls fn with a fresh fakeTB in its own goroutine.
func run(fn func(tb testing.TB)) *fakeTB {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

const host = "2001:db8:1::2/64 dev eth0, 10.1.2.4/8 dev eth0; route v4 default dev eth0; route v6 default dev eth0"

func TestAssertOrderPasses(t *testing.T) {
	f := run(func(tb testing.TB) {
		if !addrselecttest.AssertOrderText(tb, addrselect.RFC6724(), host, "10.1.2.3, 2001:db8:1::1", "2001:db8:1::1, 10.1.2.3") {
			tb.Errorf("AssertOrderText returned false")
		}
	})
	if len(f.errors) != 0 {
		t.Fatalf("a correct order failed: %v", f.errors)
	}
}

func TestAssertOrderFails(t *testing.T) {
	f := run(func(tb testing.TB) {
		if addrselecttest.AssertOrderText(tb, addrselect.RFC6724(), host, "2001:db8:1::1, 10.1.2.3", "10.1.2.3, 2001:db8:1::1") {
			tb.Errorf("AssertOrderText returned true for a wrong order")
		}
	})
	if f.fatal || len(f.errors) != 1 {
		t.Fatalf("errors = %q (fatal %v); want exactly one Errorf", f.errors, f.fatal)
	}
	msg := f.errors[0]
	// The message names the pair, the deciding rule and the reason.
	for _, want := range []string{
		"got 2001:db8:1::1 before 10.1.2.3",
		"want 10.1.2.3 first",
		"dst-6 (prefer higher precedence)",
		"40 > 35",
		"-want +got",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
}

func TestCheckOrderDecision(t *testing.T) {
	sel := addrselect.RFC6724()
	h, err := addrselect.ParseHost(host)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		dsts      string
		want      string
		first     string
		rule      addrselect.Rule
		permuted  bool
		wantError bool
	}{
		{"precedence", "2001:db8:1::1, 10.1.2.3", "10.1.2.3, 2001:db8:1::1", "2001:db8:1::1", addrselect.Dst6, true, true},
		// No source for fe80::1 without a zone: rule 1 puts it last.
		{"unusable", "fe80::1, 2001:db8:1::1", "fe80::1, 2001:db8:1::1", "2001:db8:1::1", addrselect.Dst1, true, true},
		// Equal in every respect: rule 10 keeps the input order.
		{"input-order", "2001:db8:1::7, 2001:db8:1::8", "2001:db8:1::8, 2001:db8:1::7", "2001:db8:1::7", addrselect.Dst10, true, true},
		{"not-a-permutation", "2001:db8:1::1", "2001:db8:1::9", "", addrselect.RuleNone, false, true},
		{"equal", "10.1.2.3, 2001:db8:1::1", "2001:db8:1::1, 10.1.2.3", "", addrselect.RuleNone, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := addrselecttest.CheckOrder(sel, h, addrselecttest.Addrs(t, tt.dsts), addrselecttest.Addrs(t, tt.want))
			if !tt.wantError {
				if err != nil {
					t.Fatalf("CheckOrder = %v; want nil", err)
				}
				return
			}
			var oe *addrselecttest.OrderError
			if !errors.As(err, &oe) {
				t.Fatalf("CheckOrder = %v; want *OrderError", err)
			}
			if !tt.permuted {
				if oe.First.IsValid() || !strings.Contains(oe.Summary(), "not the same addresses") {
					t.Errorf("Summary = %q; want a note that the lists differ", oe.Summary())
				}
				return
			}
			if oe.First != netip.MustParseAddr(tt.first) || oe.Decision.Rule != tt.rule || oe.Decision.Order >= 0 == (oe.Decision.A.Addr == oe.First) {
				t.Errorf("OrderError first %v rule %v (order %d, A %v); want first %s decided by %v",
					oe.First, oe.Decision.Rule, oe.Decision.Order, oe.Decision.A.Addr, tt.first, tt.rule)
			}
		})
	}
}

func TestHostAndAddrsFailFatally(t *testing.T) {
	f := run(func(tb testing.TB) {
		addrselecttest.Host(tb, "2001:db8::1/64 bogus")
		tb.Errorf("not reached")
	})
	if !f.fatal || len(f.errors) != 1 || !strings.Contains(f.errors[0], "bogus") {
		t.Errorf("Host with a bad description: %q (fatal %v); want one fatal error naming the token", f.errors, f.fatal)
	}
	f = run(func(tb testing.TB) {
		addrselecttest.Addrs(tb, "2001:db8::1, 10.1.2.300")
		tb.Errorf("not reached")
	})
	if !f.fatal || len(f.errors) != 1 || !strings.Contains(f.errors[0], "10.1.2.300") {
		t.Errorf("Addrs with a bad address: %q (fatal %v); want one fatal error", f.errors, f.fatal)
	}
	if got := addrselecttest.Addrs(t, " 2001:db8::1,10.1.2.3\t::1 "); len(got) != 3 || got[2] != netip.IPv6Loopback() {
		t.Errorf("Addrs = %v; want 3 addresses", got)
	}
}

func TestAssertSource(t *testing.T) {
	h := addrselecttest.Host(t, host)
	f := run(func(tb testing.TB) {
		if !addrselecttest.AssertSource(tb, h, netip.MustParseAddr("2001:db8:7::1"), netip.MustParseAddr("2001:db8:1::2")) {
			tb.Errorf("returned false")
		}
		if addrselecttest.AssertSource(tb, h, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8:1::2")) {
			tb.Errorf("returned true for a wrong source")
		}
	})
	if len(f.errors) != 1 || !strings.Contains(f.errors[0], "source for fe80::1 = none (unusable); want 2001:db8:1::2") {
		t.Errorf("errors = %q; want one mismatch for fe80::1", f.errors)
	}
}
