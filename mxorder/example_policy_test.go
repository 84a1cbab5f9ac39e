package mxorder_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dualstack/dualstack/mxorder"
)

// The example policy of RFC 8461 section 3.2 and its mx matching
// (section 4.1): a wildcard stands for exactly one label.
func ExampleParseSTSPolicy() {
	p, err := mxorder.ParseSTSPolicy(strings.NewReader(
		"version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Mode, p.MaxAge)
	for _, h := range []string{"mail.example.com", "mx1.example.net", "example.net", "a.b.example.net"} {
		fmt.Println(h, p.Match(h))
	}
	_, err = mxorder.ParseSTSPolicy(strings.NewReader("version: STSv1\nmode: strict\n"))
	fmt.Println(err)
	// Output:
	// enforce 168h0m0s
	// mail.example.com true
	// mx1.example.net true
	// example.net false
	// a.b.example.net false
	// mxorder: MTA-STS policy line 2 column 7 (mode): unknown mode "strict" (want enforce, testing or none)
}

// Under an enforced MTA-STS policy, an MX host the policy does not list
// is skipped, and the others require an authenticated certificate; DANE
// (usable TLSA records) takes over authentication where it applies.
func ExamplePlanner_PlanWith_tlsPolicy() {
	pol, _ := mxorder.ParseSTSPolicy(strings.NewReader("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 86400\n"))
	st := &mxorder.DeliveryState{
		STS: pol,
		DANE: &mxorder.DANEStatus{MXSecure: true, TLSA: map[string]mxorder.TLSAStatus{
			"mx1.example.net": mxorder.TLSAUsable,
		}},
	}
	p := mxorder.Planner{Resolver: policyDNS(), Families: mxorder.IPv4}
	plan, err := p.PlanWith(context.Background(), "example.com", st)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range plan.Attempts() {
		fmt.Println(a.Host, a.TLS, a.TLSAuth)
	}
	for _, s := range plan.Skipped {
		fmt.Println("skip", s.Host, s.Reason)
	}
	// Output:
	// mail.example.com authenticated pkix
	// mx1.example.net authenticated dane
	// skip rogue.example.org mta-sts-unlisted
}

// A policy that lists none of the MX hosts defers the message: the error
// is temporary, never a bounce (RFC 8461 section 5).
func ExamplePolicyError() {
	pol, _ := mxorder.ParseSTSPolicy(strings.NewReader("version: STSv1\nmode: enforce\nmx: *.moved.example\nmax_age: 86400\n"))
	p := mxorder.Planner{Resolver: policyDNS(), Families: mxorder.IPv4}
	_, err := p.PlanWith(context.Background(), "example.com", &mxorder.DeliveryState{STS: pol})
	var pe *mxorder.PolicyError
	fmt.Println(errors.As(err, &pe), pe.Temporary(), errors.Is(err, mxorder.ErrNoPolicyMX))
	fmt.Println(pe.STSUnlisted)
	// Output:
	// true true true
	// [mail.example.com mx1.example.net rogue.example.org]
}
