package mxorder_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/dualstack/dualstack/mxorder"
)

// printAttempts prints each attempt with its reason.
func printAttempts(plan *mxorder.Plan) {
	for _, a := range plan.Attempts() {
		fmt.Println(a.Host, a.Addr, a.Reason)
	}
}

// Postfix's smtp_address_preference = ipv4 tries IPv4 first and falls
// back to IPv6: Planner.Prefer. (Postfix sorts by family across all MX
// hosts of equal preference; the planner does it within each host, so
// that hosts keep their shuffled order.) Receivers that reject IPv6
// senders without matching reverse DNS are the usual reason.
func ExamplePlanner_PlanWith_preferIPv4() {
	p := mxorder.Planner{Resolver: twoDualMX(), Prefer: mxorder.IPv4}
	plan, _ := p.PlanWith(context.Background(), "example.org", nil)
	printAttempts(plan)
	// Output:
	// mx10.example.org 192.0.2.10 preferred-family
	// mx10.example.org 2001:db8::10 fallback-family
	// mx20.example.org 192.0.2.20 preferred-family
	// mx20.example.org 2001:db8::20 fallback-family
}

// Stalwart's per-retry IP strategy (and KumoMTA's) chooses the families
// by attempt number: here IPv6 only on the first attempt, both on every
// later one (Planner.AttemptFamilies).
func ExamplePlanner_PlanWith_familiesByAttempt() {
	p := mxorder.Planner{Resolver: twoDualMX(), AttemptFamilies: []mxorder.Family{mxorder.IPv6, mxorder.DualStack}}
	for n := 1; n <= 2; n++ {
		st := &mxorder.DeliveryState{History: mxorder.History{Attempt: n}}
		plan, _ := p.PlanWith(context.Background(), "example.org", st)
		fmt.Println("attempt", n)
		printAttempts(plan)
	}
	// Output:
	// attempt 1
	// mx10.example.org 2001:db8::10 attempt-family
	// mx20.example.org 2001:db8::20 attempt-family
	// attempt 2
	// mx10.example.org 2001:db8::10 mx-order
	// mx10.example.org 192.0.2.10 mx-order
	// mx20.example.org 2001:db8::20 mx-order
	// mx20.example.org 192.0.2.20 mx-order
}

// mox switches family after a failed connection (to get around a broken
// route or a per-family blocklist; Spamhaus lists IPv6 senders by /64):
// Planner.SwitchFamily.
func ExamplePlanner_PlanWith_switchFamily() {
	p := mxorder.Planner{Resolver: twoDualMX(), SwitchFamily: true}
	st := &mxorder.DeliveryState{History: mxorder.History{Attempt: 2, Past: []mxorder.PastAttempt{
		{Host: "mx10.example.org", Addr: netip.MustParseAddr("2001:db8::10"), Failure: mxorder.FailureConnect},
	}}}
	plan, _ := p.PlanWith(context.Background(), "example.org", st)
	printAttempts(plan)
	fmt.Println(plan.Attempts()[0].Detail)
	// Output:
	// mx10.example.org 192.0.2.10 switched-family
	// mx10.example.org 2001:db8::10 fallback-family
	// mx20.example.org 192.0.2.20 switched-family
	// mx20.example.org 2001:db8::20 fallback-family
	// the last attempt (2001:db8::10) connect-failed over ipv6
}

// mox also retries a greylisted delivery at the same address from the
// same source address, so that the receiver recognises the retry:
// Planner.GreylistRetry.
func ExamplePlanner_PlanWith_greylistRetry() {
	p := mxorder.Planner{Resolver: twoDualMX(), GreylistRetry: true}
	st := &mxorder.DeliveryState{History: mxorder.History{Attempt: 2, Past: []mxorder.PastAttempt{
		{Host: "mx10.example.org", Addr: netip.MustParseAddr("2001:db8::10"), Failure: mxorder.FailureTimeout},
		{Host: "mx20.example.org", Addr: netip.MustParseAddr("192.0.2.20"), Source: netip.MustParseAddr("198.51.100.9"), Failure: mxorder.FailureGreylisted},
	}}}
	plan, _ := p.PlanWith(context.Background(), "example.org", st)
	a := plan.Attempts()[0]
	fmt.Println(a.Host, a.Addr, "from", a.Source, a.Reason)
	// Output:
	// mx20.example.org 192.0.2.20 from 198.51.100.9 greylist-retry
}
