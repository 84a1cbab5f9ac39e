package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// The mail hosts of scenarios 4 and 5, described as addrselect.ParseHost
// reads them. Their A and AAAA records in the scenario's DNS match.
const (
	// relay.example.com: the site's outgoing relay, IPv4 only.
	relayHost = "192.0.2.25/24; route v4 default"
	// mx30.example.org: dual-stack backup MX.
	mx30Host = "203.0.113.30/24, 2001:db8:30::30/64; route v4 default; route v6 default"
	// mx20.example.org: IPv6-only backup MX.
	mx20Host = "2001:db8:20::20/64; route v6 default"
)

// relayDNS is the DNS of scenarios 4 and 5.
func relayDNS() *mxordertest.Resolver {
	return mxordertest.New().
		// Scenario 4: the recipient's domain, one dual-stack MX.
		MX("example.net", 10, "mx.example.net").
		Host("mx.example.net", "198.51.100.80", "2001:db8:80::25").
		// Scenario 4: the sender's domain, IPv6 only.
		MX("v6.example.com", 10, "mx.v6.example.com").
		Host("mx.v6.example.com", "2001:db8:6::25").
		// Scenario 5: the recipient's domain with three MX hosts.
		MX("example.org", 10, "mx10.example.org").
		MX("example.org", 20, "mx20.example.org").
		MX("example.org", 30, "mx30.example.org").
		Host("mx10.example.org", "198.51.100.10", "2001:db8:10::10").
		Host("mx20.example.org", "2001:db8:20::20").
		Host("mx30.example.org", "203.0.113.30", "2001:db8:30::30").
		// Scenario 5: the sender's domain, IPv4 only.
		MX("v4.example.com", 10, "mx.v4.example.com").
		Host("mx.v4.example.com", "192.0.2.50")
}

// deliver plans domain with p and simulates the delivery: attempts go in
// plan order, hosts in down do not answer, the first other host takes
// the message (and answers with reply). The step's Order lists the plan's
// hosts; handedTo is the host that took the message ("" if none).
func deliver(ctx context.Context, title string, p *mxorder.Planner, domain string, down map[string]bool, reply string) (st Step, handedTo string, err error) {
	st = Step{Title: title}
	plan, err := p.Plan(ctx, domain)
	if plan != nil {
		describePlan(&st, p, plan)
	}
	if err != nil {
		var ue *mxorder.UnreachableError
		if errors.As(err, &ue) || errors.Is(err, mxorder.ErrNoPrimaryRelay) {
			st.Error = err.Error()
			st.Decision = "no MX host can be tried: " + unreachableWords(err)
			st.Rule = "RFC 3974 section 3"
			return st, "", nil
		}
		return st, "", err
	}
	for i, a := range plan.Attempts() {
		line := fmt.Sprintf("attempt %d: %s%s (%s) from %s: ", i+1, a.Addr, viaNAT64(a.NAT64), a.Host, a.Source)
		if down[a.Host] {
			st.Details = append(st.Details, line+"no answer, the host is down")
			continue
		}
		st.Details = append(st.Details, line+reply)
		st.Decision = fmt.Sprintf("hands the message to %s (preference %d) at %s", a.Host, a.Preference, a.Addr)
		st.HandedTo = a.Host
		return st, a.Host, nil
	}
	st.Decision = "every MX host it may use is down: the message stays queued"
	return st, "", nil
}

// unreachableWords explains an error of mxorder.Plan for the decision line.
func unreachableWords(err error) string {
	var ue *mxorder.UnreachableError
	if errors.As(err, &ue) {
		return fmt.Sprintf("the domain's MX hosts are %s and the sender is %s", ue.DomainFamilies.Words(), ue.SenderFamilies.Words())
	}
	return err.Error()
}

// describePlan fills st with the plan: hosts, addresses with sources,
// skipped records and why.
func describePlan(st *Step, p *mxorder.Planner, plan *mxorder.Plan) {
	sel := p.Selector
	if sel == nil {
		sel = addrselect.RFC6724()
	}
	if len(plan.NAT64) > 0 {
		st.Details = append(st.Details, fmt.Sprintf("NAT64 prefixes: %v", plan.NAT64))
	}
	for _, h := range plan.Hosts {
		st.Order = append(st.Order, h.Name)
		var parts []string
		var ds []addrselect.Destination
		for _, c := range h.Addrs {
			parts = append(parts, fmt.Sprintf("%s%s from %s", c.Addr, viaNAT64(c.NAT64), c.Source.Addr))
			ds = append(ds, addrselect.Destination{Addr: c.Addr, Source: c.Source})
		}
		st.Details = append(st.Details, fmt.Sprintf("plan: %s (%d, %s): %s", h.Name, h.Preference, h.Families.Words(), strings.Join(parts, ", ")))
		if len(ds) > 1 {
			for _, t := range traceLines(sel, ds) {
				st.Trace = append(st.Trace, h.Name+": "+t)
			}
		}
	}
	for _, s := range plan.Skipped {
		what := s.Host
		if s.Addr.IsValid() {
			what += " " + s.Addr.String()
		}
		st.Skipped = append(st.Skipped, what+": "+s.Reason.String())
		line := fmt.Sprintf("skipped %s (%d): %s", what, s.Preference, s.Reason)
		if s.Detail != "" {
			line += ": " + s.Detail
		}
		st.Details = append(st.Details, line)
		if st.Reason == "" && !s.Addr.IsValid() {
			st.Rule, st.Reason = "skip:"+s.Reason.String(), line
		}
	}
}

// Scenario 4. A client of an IPv6-only domain submits through an
// IPv4-only relay; the recipient's dual-stack MX rejects the recipient;
// the relay must return a bounce to the IPv6-only sender domain and
// cannot.
func relayBounce(ctx context.Context) (Result, error) {
	r := Result{
		Study: "a client submitted to an IPv4-only relay; the recipient domain's dual-stack MX rejected an unknown user; " +
			"the bounce had to go to the sender's IPv6-only domain, which the relay could not reach.",
		Consequence: "the message is lost and the sender never learns: the relay can neither deliver nor return it.",
		Advice:      []string{adviceDualStack, adviceMonitor},
	}
	dns := relayDNS()
	relay := &mxorder.Planner{Resolver: dns, Sources: mustHost(relayHost, nil), Seeded: true, Seed: 1}
	r.Steps = append(r.Steps, Step{
		Title:    "submission",
		Decision: "alice@v6.example.com submits a message for nobody@example.net to relay.example.com (192.0.2.25, IPv4 only)",
	})

	st, _, err := deliver(ctx, "relay.example.com delivers to example.net", relay, "example.net", nil,
		"550 5.1.1 <nobody@example.net>: user unknown")
	if err != nil {
		return r, err
	}
	st.Decision += "; it rejects the recipient, so the relay must return a bounce"
	r.Steps = append(r.Steps, st)

	st, _, err = deliver(ctx, "relay.example.com returns the bounce to v6.example.com", relay, "v6.example.com", nil, "250 ok")
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, st)

	b, err := (&mxorder.Planner{Resolver: dns}).CheckBounce(ctx, mxorder.IPv4, "example.net", "v6.example.com")
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, bounceStep("bounce check: IPv4-only relay, example.net, sender v6.example.com", b))
	return r, nil
}

// bounceStep reports a CheckBounce.
func bounceStep(title string, b *mxorder.BounceReport) Step {
	st := Step{Title: title + " (mxorder CheckBounce)"}
	if b.OK() {
		st.Decision = "bounces can get back to the sender"
	} else {
		st.Decision = fmt.Sprintf("bounces can be lost: relay %s, recipient MX %s, sender MX %s",
			b.Relay.Words(), b.RecipientFamilies.Words(), b.SenderFamilies.Words())
	}
	for _, f := range b.Findings {
		st.Findings = append(st.Findings, findingKey(f))
		st.Details = append(st.Details, f.String())
	}
	return st
}

// Scenario 5. An IPv4-only relay and the MX set mx10 (dual-stack, down),
// mx20 (IPv6-only backup), mx30 (dual-stack backup); the sender's domain
// is IPv4-only.
func mxRouting(ctx context.Context) (Result, error) {
	r := Result{
		Study: "an IPv4-only relay skipped the IPv6-only mx20 and handed to mx30; mx30, finding mx10 still down, passed to mx20; " +
			"when the message finally failed, the bounce had to reach an IPv4-only sender domain from the IPv6-only mx20, and could not.",
		Consequence: "the message travels to a host that can never return it: when it expires on mx20 the bounce is lost and the sender never learns.",
		Advice:      []string{adviceDualStack, adviceMonitor},
	}
	dns := relayDNS()
	down := map[string]bool{"mx10.example.org": true}

	relay := &mxorder.Planner{Resolver: dns, Sources: mustHost(relayHost, nil), Seeded: true, Seed: 1}
	st, _, err := deliver(ctx, "relay.example.com (IPv4-only) delivers to example.org; mx10 is down", relay, "example.org", down, "250 queued")
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, st)

	// mx30 relays as an MX of the domain: it drops itself and every MX at
	// or above its preference (RFC 5321 section 5.1).
	mx30 := &mxorder.Planner{Resolver: dns, Sources: mustHost(mx30Host, nil), LocalNames: []string{"mx30.example.org"}, Seeded: true, Seed: 1}
	st, _, err = deliver(ctx, "mx30.example.org (dual-stack backup) relays; mx10 is still down", mx30, "example.org", down, "250 queued")
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, st)

	mx20 := &mxorder.Planner{Resolver: dns, Sources: mustHost(mx20Host, nil), LocalNames: []string{"mx20.example.org"}, Seeded: true, Seed: 1}
	st, _, err = deliver(ctx, "mx20.example.org (IPv6-only backup) relays; mx10 stays down until the message expires", mx20, "example.org", down, "250 queued")
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, st)

	st, _, err = deliver(ctx, "mx20.example.org returns the expired message to v4.example.com", mx20, "v4.example.com", nil, "250 ok")
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, st)

	audit, err := (&mxorder.Planner{Resolver: dns}).Audit(ctx, "example.org")
	if err != nil {
		return r, err
	}
	st = Step{Title: "audit of example.org (mxorder Audit)"}
	for _, f := range audit.Findings {
		if f.Code == mxorder.CodeDocumentation {
			continue // the scenario's own documentation addresses
		}
		st.Findings = append(st.Findings, findingKey(f))
		st.Details = append(st.Details, f.String())
	}
	for _, re := range audit.Reach {
		st.Details = append(st.Details, fmt.Sprintf("%s senders reach: %s", re.Sender.Words(), strings.Join(re.Hosts, ", ")))
	}
	st.Decision = fmt.Sprintf("%d findings: single-stack MX hosts break the chain of backups (RFC 3974 section 4)", len(st.Findings))
	r.Steps = append(r.Steps, st)

	b, err := (&mxorder.Planner{Resolver: dns}).CheckBounce(ctx, mxorder.IPv4, "example.org", "v4.example.com")
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, bounceStep("bounce check: IPv4-only relay, example.org, sender v4.example.com", b))
	return r, nil
}
