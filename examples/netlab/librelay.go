//go:build linux

package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/dualstack/dualstack/mxorder"
)

// libOutcome is what the relay built on mxorder did with one message.
type libOutcome struct {
	Plan    *mxorder.Plan
	PlanErr error
	Tries   []Try
	Fate    string // delivered, returned (permanent), deferred (would queue and retry)
	Bounce  string // what happened to its bounce, "" when none
	Lost    bool   // the bounce could not be delivered
	// Followed reports that the attempts made are exactly the start of
	// the plan's attempts.
	Followed bool
}

// libRelay relays one message from the namespace of host ns the way a
// relay built on the library does: Planner.Plan for the recipient domain,
// then Plan.Deliver with net/smtp. A permanent failure (a 5yz reply, a
// null MX, no reachable MX) returns the message to the sender with the
// same machinery; a temporary one would be queued (the lab makes one
// pass). seed varies the shuffling of equal preferences.
func (l *lab) libRelay(ctx context.Context, ns, from, to string, seed uint64) *libOutcome {
	h := hostByNS(ns)
	out := &libOutcome{}
	var permanent bool
	out.Tries, out.Plan, out.PlanErr, permanent = l.libDeliver(ctx, h, from, to, seed)
	switch {
	case out.PlanErr == nil && len(out.Tries) > 0 && out.Tries[len(out.Tries)-1].Result == mxorder.OutcomeDelivered.String():
		out.Fate = "delivered"
	case permanent:
		out.Fate = "returned"
	default:
		out.Fate = "deferred (would queue and retry)"
	}
	if out.Plan != nil {
		out.Followed = compareTries(out.Tries, out.Plan.Attempts()) == matchExact
	}
	if !permanent || from == "" {
		return out
	}
	tries, _, perr, _ := l.libDeliver(ctx, h, "", from, seed)
	switch {
	case perr != nil:
		out.Bounce, out.Lost = "bounce to <"+from+"> not sent: "+planErrText(perr), true
	case len(tries) > 0 && tries[len(tries)-1].Result == mxorder.OutcomeDelivered.String():
		out.Bounce = "bounce to <" + from + ">: " + triesText(tries)
	default:
		out.Bounce, out.Lost = "bounce to <"+from+"> failed: "+triesText(tries), true
	}
	return out
}

// libDeliver plans and runs one delivery. permanent reports that the
// message must be returned.
func (l *lab) libDeliver(ctx context.Context, h *host, from, to string, seed uint64) (tries []Try, plan *mxorder.Plan, planErr error, permanent bool) {
	_, domain, _ := strings.Cut(to, "@")
	p, err := l.planner(h, pfAddressLimit, seed)
	if err != nil {
		return nil, nil, err, false
	}
	if limited(domain) {
		p.MaxAddresses = pfLimited
	}
	plan, err = p.Plan(ctx, domain)
	if err != nil {
		var ue *mxorder.UnreachableError
		perm := errors.Is(err, mxorder.ErrNullMX) || errors.Is(err, mxorder.ErrNoSuchDomain) ||
			(errors.As(err, &ue) && !ue.Temporary)
		return nil, plan, err, perm
	}
	subject := "relayed by " + h.name
	if from == "" {
		subject = "Undelivered Mail Returned to Sender (" + h.name + ")"
	}
	msg := message(from, to, subject)
	derr := plan.Deliver(ctx, func(ctx context.Context, a mxorder.Attempt) (mxorder.Outcome, error) {
		o, err := l.libTry(ctx, h, a.Addr, from, to, msg)
		tries = append(tries, Try{Host: a.Host, Addr: a.Addr, Result: o.String()})
		return o, err
	})
	var de *mxorder.DeliveryError
	if errors.As(derr, &de) && de.Permanent {
		permanent = true
	}
	return tries, plan, nil, permanent
}

func limited(domain string) bool {
	for _, d := range limitedDomains {
		if d == domain {
			return true
		}
	}
	return false
}

// libTry is one attempt: connect from the host's namespace and run an
// SMTP transaction with net/smtp.
func (l *lab) libTry(ctx context.Context, h *host, addr netip.Addr, from, to string, msg []byte) (mxorder.Outcome, error) {
	conn, err := l.ns[h.ns].DialContext(ctx, &net.Dialer{Timeout: 2 * time.Second}, "tcp", netip.AddrPortFrom(addr, 25).String())
	if err != nil {
		return mxorder.OutcomeNoSession, err
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := smtp.NewClient(conn, addr.String())
	if err != nil {
		conn.Close()
		return mxorder.OutcomeNoSession, err
	}
	defer c.Close()
	if err := sendMail(c, h.name, from, to, msg); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 500 {
			return mxorder.OutcomePermanent, err
		}
		return mxorder.OutcomeSession, err
	}
	c.Quit()
	return mxorder.OutcomeDelivered, nil
}
