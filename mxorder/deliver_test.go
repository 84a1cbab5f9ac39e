package mxorder_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/dualstack/dualstack/mxorder"
)

var errRefused = errors.New("connection refused")

func TestDeliver(t *testing.T) {
	// Five attempts: mx10 (two addresses), mx20, mx30 (two addresses).
	p := mxorder.Planner{Families: mxorder.IPv4, MaxSessions: 2}
	plan, err := p.Build(context.Background(), "example.com", mxs(10, "a.example", 20, "b.example", 30, "c.example"),
		map[string]mxorder.HostAddrs{"a.example": ha(v4a, "192.0.2.11"), "b.example": ha(v4b), "c.example": ha(v4c, "192.0.2.13")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		outcomes  map[string]mxorder.Outcome // by address; missing = no session
		tried     []string
		ok        bool
		permanent bool
		limit     bool
	}{
		{"first-delivers", map[string]mxorder.Outcome{v4a: mxorder.OutcomeDelivered}, []string{v4a}, true, false, false},
		{"primary-down", map[string]mxorder.Outcome{v4b: mxorder.OutcomeDelivered}, []string{v4a, "192.0.2.11", v4b}, true, false, false},
		{"permanent-stops", map[string]mxorder.Outcome{"192.0.2.11": mxorder.OutcomePermanent, v4b: mxorder.OutcomeDelivered}, []string{v4a, "192.0.2.11"}, false, true, false},
		{"session-limit", map[string]mxorder.Outcome{v4a: mxorder.OutcomeSession, v4b: mxorder.OutcomeSession, v4c: mxorder.OutcomeDelivered}, []string{v4a, "192.0.2.11", v4b}, false, false, true},
		{"all-down", nil, []string{v4a, "192.0.2.11", v4b, v4c, "192.0.2.13"}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tried []string
			err := plan.Deliver(context.Background(), func(_ context.Context, a mxorder.Attempt) (mxorder.Outcome, error) {
				tried = append(tried, a.Addr.String())
				o := tt.outcomes[a.Addr.String()]
				if o == mxorder.OutcomeDelivered {
					return o, nil
				}
				return o, fmt.Errorf("%s: %w", a.Addr, errRefused)
			})
			if !slices.Equal(tried, tt.tried) {
				t.Errorf("tried %v; want %v", tried, tt.tried)
			}
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v; want success %v", err, tt.ok)
			}
			if err == nil {
				return
			}
			var de *mxorder.DeliveryError
			if !errors.As(err, &de) || de.Permanent != tt.permanent || de.SessionLimit != tt.limit || len(de.Attempts) != len(tt.tried) {
				t.Errorf("err = %#v; want permanent %v, session limit %v, %d attempts", err, tt.permanent, tt.limit, len(tt.tried))
			}
			if !errors.Is(err, errRefused) {
				t.Errorf("err = %v does not unwrap to the attempts' errors", err)
			}
		})
	}
}

func TestDeliverContext(t *testing.T) {
	p := mxorder.Planner{}
	plan, err := p.Build(context.Background(), "example.com", mxs(10, "a.example"), map[string]mxorder.HostAddrs{"a.example": ha(v4a, v6a)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = plan.Deliver(ctx, func(context.Context, mxorder.Attempt) (mxorder.Outcome, error) {
		n++
		cancel()
		return mxorder.OutcomeNoSession, errRefused
	})
	if n != 1 || !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: %d tries, err %v; want 1 and context.Canceled", n, err)
	}
}

// Deliver runs the delivery loop; here the primary is down and the
// backup accepts.
func ExamplePlan_Deliver() {
	p := mxorder.Planner{Resolver: studyDNS(), Families: mxorder.IPv4}
	plan, err := p.Plan(context.Background(), "example.org")
	if err != nil {
		fmt.Println(err)
		return
	}
	down := netip.MustParseAddr("192.0.2.10")
	err = plan.Deliver(context.Background(), func(_ context.Context, a mxorder.Attempt) (mxorder.Outcome, error) {
		fmt.Println("connect", a.Host, a.Addr)
		if a.Addr == down {
			return mxorder.OutcomeNoSession, errors.New("connection timed out")
		}
		return mxorder.OutcomeDelivered, nil
	})
	fmt.Println("error:", err)
	// Output:
	// connect mx10.example.org 192.0.2.10
	// connect mx30.example.org 192.0.2.30
	// error: <nil>
}
