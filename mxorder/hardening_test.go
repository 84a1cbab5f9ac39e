package mxorder_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// hostileResolver wraps a Resolver and misbehaves for the names in its
// maps: it panics, or blocks without looking at the context until
// release is closed, or answers with a fixed (shared) address list.
type hostileResolver struct {
	mxorder.Resolver
	panicOn map[string]bool         // "TYPE name" (TYPE mx, ip4, ip6, cname, txt)
	blockOn map[string]bool         // same keys
	answers map[string][]netip.Addr // same keys, ip4/ip6 only
	release chan struct{}
	active  atomic.Int32 // calls in progress
}

// misbehave panics or blocks for key; the caller defers the returned
// function, which marks the call as finished.
func (h *hostileResolver) misbehave(key string) (done func()) {
	if h.panicOn[key] {
		panic("resolver bug for " + key)
	}
	h.active.Add(1)
	if h.blockOn[key] {
		<-h.release // ignores the context
	}
	return func() { h.active.Add(-1) }
}

func key(qtype, name string) string { return qtype + " " + strings.TrimSuffix(name, ".") }

func (h *hostileResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	defer h.misbehave(key("mx", name))()
	return h.Resolver.LookupMX(ctx, name)
}

func (h *hostileResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	defer h.misbehave(key("txt", name))()
	return h.Resolver.(mxorder.TXTResolver).LookupTXT(ctx, name)
}

func (h *hostileResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	defer h.misbehave(key(network, host))()
	if a, ok := h.answers[key(network, host)]; ok {
		return a, nil
	}
	return h.Resolver.LookupNetIP(ctx, network, host)
}

func (h *hostileResolver) LookupCNAME(ctx context.Context, host string) (string, error) {
	defer h.misbehave(key("cname", host))()
	return h.Resolver.(mxorder.CNAMEResolver).LookupCNAME(ctx, host)
}

// TestResolverPanic: a Resolver that panics inside a lookup (which runs
// in a goroutine of the planner) does not crash the process: the lookup
// fails with a *ResolverPanicError, and everything else goes on.
func TestResolverPanic(t *testing.T) {
	tests := []struct {
		name    string
		panicOn []string
		run     func(p *mxorder.Planner) error
	}{
		{
			name:    "plan-address-lookup",
			panicOn: []string{"ip6 mx10.example.org", "ip4 mx20.example.org"},
			run: func(p *mxorder.Planner) error {
				plan, err := p.Plan(context.Background(), "example.org")
				if err != nil {
					return err
				}
				var panics int
				for _, l := range plan.LookupErrors {
					var pe *mxorder.ResolverPanicError
					// The error names the host as the plan does, without the
					// root's dot the query adds.
					if errors.As(l.Err, &pe) && pe.Value != nil && strings.Contains(l.Message, "panicked") && l.Temporary && !strings.HasSuffix(pe.Name, ".") {
						panics++
					}
				}
				if panics != 2 {
					t.Errorf("LookupErrors = %+v; want 2 temporary *ResolverPanicError", plan.LookupErrors)
				}
				if got := attemptAddrs(plan); !slices.Contains(got, "192.0.2.10") || !slices.Contains(got, "2001:db8::20") {
					t.Errorf("attempts %v; want the addresses of the lookups that answered", got)
				}
				return nil
			},
		},
		{
			name:    "plan-mx-lookup",
			panicOn: []string{"mx example.org"},
			run: func(p *mxorder.Planner) error {
				_, err := p.Plan(context.Background(), "example.org")
				var pe *mxorder.ResolverPanicError
				if !errors.As(err, &pe) || pe.Query != "mx" || pe.Name != "example.org" {
					t.Errorf("err = %v; want a *ResolverPanicError of the MX lookup", err)
				}
				return nil
			},
		},
		{
			// The MTA-STS record lookup goes through the same guard.
			name:    "plan-sts-record",
			panicOn: []string{"txt _mta-sts.example.org"},
			run: func(p *mxorder.Planner) error {
				p.STS = &mxorder.STSCache{}
				plan, err := p.Plan(context.Background(), "example.org")
				if err != nil {
					return err
				}
				var pe *mxorder.ResolverPanicError
				if !slices.ContainsFunc(plan.LookupErrors, func(l mxorder.LookupError) bool {
					return l.Network == "mta-sts" && errors.As(l.Err, &pe) && pe.Query == "txt" && pe.Name == "_mta-sts.example.org"
				}) {
					t.Errorf("LookupErrors = %+v; want the panicked MTA-STS record lookup", plan.LookupErrors)
				}
				return nil
			},
		},
		{
			name:    "audit",
			panicOn: []string{"ip4 mx10.example.org", "cname mx20.example.org"},
			run: func(p *mxorder.Planner) error {
				r, err := p.Audit(context.Background(), "example.org")
				if err != nil {
					return err
				}
				if !slices.ContainsFunc(r.Findings, func(f mxorder.AuditFinding) bool {
					return f.Code == mxorder.CodeLookupFailed && f.Host == "mx10.example.org" && strings.Contains(f.Message, "panicked")
				}) {
					t.Errorf("findings %v; want the panicked A lookup as lookup-failed", r.Findings)
				}
				return nil
			},
		},
		{
			name:    "check-bounce",
			panicOn: []string{"ip6 mx.v6only.example"},
			run: func(p *mxorder.Planner) error {
				b, err := p.CheckBounce(context.Background(), mxorder.IPv4, "example.org", "v6only.example")
				if err != nil {
					return err
				}
				if b.SenderFamilies != 0 || !slices.ContainsFunc(b.Findings, func(f mxorder.AuditFinding) bool { return f.Code == mxorder.CodeBounceLost }) {
					t.Errorf("report %+v; want the sender domain without addresses", b)
				}
				return nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &hostileResolver{Resolver: studyDNS(), panicOn: map[string]bool{}}
			for _, k := range tt.panicOn {
				h.panicOn[k] = true
			}
			if err := tt.run(&mxorder.Planner{Resolver: h, Seeded: true}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestResolverIgnoresContext: a Resolver that ignores its context does
// not hold Plan, Audit or CheckBounce past the caller's deadline. The
// lookups that did not answer are reported as timed out, the resolver's
// late answers change nothing already returned, and no goroutine
// outlives the resolver's own calls.
func TestResolverIgnoresContext(t *testing.T) {
	const deadline = 100 * time.Millisecond
	tests := []struct {
		name    string
		blockOn []string
		run     func(ctx context.Context, p *mxorder.Planner) (any, error)
		check   func(t *testing.T, v any)
	}{
		{
			name:    "plan",
			blockOn: []string{"ip4 mx10.example.org", "ip6 mx10.example.org"},
			run:     planExampleOrg,
			check: func(t *testing.T, v any) {
				plan := v.(*mxorder.Plan)
				var timeouts []string
				for _, l := range plan.LookupErrors {
					if l.Timeout && l.Temporary && errors.Is(l.Err, context.DeadlineExceeded) {
						timeouts = append(timeouts, l.Network+" "+l.Host)
					}
				}
				slices.Sort(timeouts)
				if want := []string{"ip4 mx10.example.org", "ip6 mx10.example.org"}; !slices.Equal(timeouts, want) {
					t.Errorf("timed-out lookups %q; want %q (all: %+v)", timeouts, want, plan.LookupErrors)
				}
			},
		},
		{
			name:    "plan-mx",
			blockOn: []string{"mx example.org"},
			run:     planExampleOrg,
		},
		{
			name:    "audit",
			blockOn: []string{"ip6 mx20.example.org", "cname mx30.example.org"},
			run: func(ctx context.Context, p *mxorder.Planner) (any, error) {
				r, err := p.Audit(ctx, "example.org")
				return r, err
			},
			check: func(t *testing.T, v any) {
				r := v.(*mxorder.Report)
				if r == nil || !slices.ContainsFunc(r.Findings, func(f mxorder.AuditFinding) bool {
					return f.Code == mxorder.CodeLookupFailed && f.Host == "mx20.example.org"
				}) {
					t.Errorf("report %v; want the AAAA lookup of mx20 as failed", r)
				}
			},
		},
		{
			name:    "check-bounce",
			blockOn: []string{"ip6 mx.v6only.example"},
			run: func(ctx context.Context, p *mxorder.Planner) (any, error) {
				b, err := p.CheckBounce(ctx, mxorder.IPv4, "example.org", "v6only.example")
				return b, err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &hostileResolver{Resolver: studyDNS(), blockOn: map[string]bool{}, release: make(chan struct{})}
			for _, k := range tt.blockOn {
				h.blockOn[k] = true
			}
			// The resolver answers at the latest after 1.5 s, as a slow
			// server would; a planner that waits for it is late.
			var once sync.Once
			release := func() { once.Do(func() { close(h.release) }) }
			late := time.AfterFunc(1500*time.Millisecond, release)
			defer late.Stop()
			before := runtime.NumGoroutine()
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			v, err := tt.run(ctx, &mxorder.Planner{Resolver: h, Seeded: true})
			if took := time.Since(start); took > deadline+time.Second {
				t.Errorf("returned after %v; deadline %v", took, deadline)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v; want context.DeadlineExceeded", err)
			}
			if tt.check != nil {
				tt.check(t, v)
			}
			snapshot, _ := json.Marshal(v)
			release()
			// Every goroutine ends with the resolver's call.
			waitGoroutines(t, before, &h.active)
			if again, _ := json.Marshal(v); string(again) != string(snapshot) {
				t.Errorf("the result changed after the resolver answered late:\n%s\n%s", snapshot, again)
			}
		})
	}
}

func planExampleOrg(ctx context.Context, p *mxorder.Planner) (any, error) {
	plan, err := p.Plan(ctx, "example.org")
	return plan, err
}

// waitGoroutines waits until no more than n goroutines run and no
// resolver call is active.
func waitGoroutines(t *testing.T, n int, active *atomic.Int32) {
	t.Helper()
	for range 400 {
		if runtime.NumGoroutine() <= n && active.Load() == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("%d goroutines still running (%d before), %d resolver calls", runtime.NumGoroutine(), n, active.Load())
}

// TestHugeAnswerTrimmedWhileCopying: an answer of a million addresses
// is cut to MaxHostAddrs while it is copied (memory stays small) and
// the rest is counted.
func TestHugeAnswerTrimmedWhileCopying(t *testing.T) {
	const n = 1_000_000
	huge := make([]netip.Addr, n)
	for i := range huge {
		huge[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
	}
	h := &hostileResolver{
		Resolver: mxordertest.New().MX("example.org", 10, "mx.example.org").Host("mx.example.org", "192.0.2.1"),
		answers:  map[string][]netip.Addr{"ip6 mx.example.org": huge},
	}
	p := &mxorder.Planner{Resolver: h, Seeded: true}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	plan, err := p.Plan(context.Background(), "example.org")
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	// A copy of the answer alone would be 24 MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("Plan allocated %d bytes for a %d-address answer; want under 1 MiB", alloc, n)
	}
	if want := n + 1 - mxorder.DefaultMaxHostAddrs; plan.Truncated.HostAddrs != want {
		t.Errorf("Truncated.HostAddrs = %d; want %d", plan.Truncated.HostAddrs, want)
	}
	if got := len(plan.Hosts[0].Addrs); got != mxorder.DefaultMaxHostAddrs {
		t.Errorf("%d addresses kept; want %d", got, mxorder.DefaultMaxHostAddrs)
	}
}

// TestZonedAddress: an address with a zone from a Resolver is dropped
// and reported, never tried, by the planner and the audit.
func TestZonedAddress(t *testing.T) {
	zoned := netip.MustParseAddr("fe80::1%eth0")
	h := &hostileResolver{
		Resolver: mxordertest.New().MX("example.org", 10, "mx.example.org").Host("mx.example.org", "192.0.2.1", "2001:db8::1"),
		answers:  map[string][]netip.Addr{"ip6 mx.example.org": {zoned, netip.MustParseAddr("2001:db8::1")}},
	}
	p := &mxorder.Planner{Resolver: h, Seeded: true}
	plan, err := p.Plan(context.Background(), "example.org")
	checkPlan(t, plan, err, want{skips: []string{"mx.example.org fe80::1 zoned-address"}})
	for _, a := range plan.Attempts() {
		if a.Addr.Zone() != "" {
			t.Errorf("attempt %v has a zone", a.Addr)
		}
	}
	if got := attemptAddrs(plan); len(got) != 2 {
		t.Errorf("attempts %v; want the two addresses without zone", got)
	}
	r, err := p.Audit(context.Background(), "example.org")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(r.Hosts[0].Addrs, zoned) || !slices.ContainsFunc(r.Findings, func(f mxorder.AuditFinding) bool {
		return f.Addr == zoned.WithZone("") && strings.Contains(f.Message, `zone "eth0"`)
	}) {
		t.Errorf("audit: host addresses %v, findings %v; want the zoned address left out and reported", r.Hosts[0].Addrs, r.Findings)
	}
}

// TestDeliverStops: an Outcome value Deliver does not know stops the
// loop with an error, and a context cancelled during the last try is
// reported.
func TestDeliverStops(t *testing.T) {
	p := mxorder.Planner{}
	plan, err := p.Build(context.Background(), "example.com", mxs(10, "a.example"), map[string]mxorder.HostAddrs{"a.example": ha(v4a, v6a)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = plan.Deliver(context.Background(), func(context.Context, mxorder.Attempt) (mxorder.Outcome, error) {
		n++
		return mxorder.Outcome(42), nil
	})
	var oe *mxorder.OutcomeError
	if n != 1 || !errors.As(err, &oe) || oe.Outcome != 42 {
		t.Errorf("unknown outcome: %d tries, err %v; want 1 and an *OutcomeError", n, err)
	}

	one, err := p.Build(context.Background(), "example.com", mxs(10, "a.example"), map[string]mxorder.HostAddrs{"a.example": ha(v4a)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []mxorder.Outcome{mxorder.OutcomeNoSession, mxorder.OutcomeSession, mxorder.OutcomePermanent} {
		ctx, cancel := context.WithCancel(context.Background())
		err := one.Deliver(ctx, func(context.Context, mxorder.Attempt) (mxorder.Outcome, error) {
			cancel()
			return o, errRefused
		})
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errRefused) {
			t.Errorf("cancelled during the last try (%v): err %v; want context.Canceled and the try's error", o, err)
		}
	}
}

// TestNullMXAndNoDataJSON: JSON has lists where lists are meant; a
// null-MX plan says so and keeps the sender's families; a domain with
// neither MX nor address records is not an implicit MX; the bounce check
// tells a null-MX domain from one without connectivity.
func TestNullMXAndNoDataJSON(t *testing.T) {
	r := studyDNS().NullMX("null.example").NoData("empty.example")
	p := &mxorder.Planner{Resolver: r, Families: mxorder.IPv4}
	plan, err := p.Plan(context.Background(), "null.example")
	if !errors.Is(err, mxorder.ErrNullMX) || plan == nil {
		t.Fatalf("Plan(null.example) = %v, %v; want a plan and ErrNullMX", plan, err)
	}
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"hosts":[]`, `"attempts":[]`, `"null_mx":true`, `"sender_families":"ipv4"`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("null-MX plan JSON %s lacks %s", b, s)
		}
	}
	plan, err = p.Plan(context.Background(), "empty.example")
	if !errors.Is(err, mxorder.ErrNoSuchDomain) || plan == nil || plan.Implicit {
		t.Errorf("Plan(empty.example) = %+v, %v; want ErrNoSuchDomain and Implicit false", plan, err)
	}
	if b, _ := json.Marshal(plan); strings.Contains(string(b), "null") || strings.Contains(string(b), "implicit_mx") {
		t.Errorf("no-data plan JSON %s has null or implicit_mx", b)
	}

	sender, err := p.CheckBounce(context.Background(), mxorder.IPv4, "v4only.example", "null.example")
	if err != nil || !sender.SenderNullMX || sender.RecipientNullMX {
		t.Errorf("CheckBounce(sender null MX) = %+v, %v; want SenderNullMX", sender, err)
	}
	rcpt, err := p.CheckBounce(context.Background(), mxorder.IPv4, "null.example", "v4only.example")
	if err != nil || !rcpt.RecipientNullMX || !rcpt.OK() || slices.ContainsFunc(rcpt.Findings, func(f mxorder.AuditFinding) bool {
		return f.Code == mxorder.CodeRelayUnreachable || strings.Contains(f.Message, mxorder.Family(0).Words())
	}) {
		t.Errorf("CheckBounce(recipient null MX) = %+v, %v; want RecipientNullMX, no error finding, no word of missing connectivity", rcpt, err)
	}
}
