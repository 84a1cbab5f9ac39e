package mxorder

import (
	"context"
	"strconv"
)

// Outcome is what one delivery attempt came to, as the caller's try
// function reports it to [Plan.Deliver].
type Outcome uint8

// The outcomes.
const (
	// OutcomeNoSession: no SMTP session (connection refused or timed out,
	// no greeting): the next address is tried, at no session's cost.
	OutcomeNoSession Outcome = iota
	// OutcomeSession: a session did not deliver (a transient 4yz reply, a
	// lost connection): the next address is tried (RFC 3974 section 3
	// step 9), and the session counts against MaxSessions.
	OutcomeSession
	OutcomeDelivered // the message was accepted: delivery stops
	// OutcomePermanent: a permanent 5yz reply: delivery stops and the
	// message is returned (RFC 3974 section 3 step 9).
	OutcomePermanent
)

var outcomeNames = [...]string{OutcomeNoSession: "no-session", OutcomeSession: "session",
	OutcomeDelivered: "delivered", OutcomePermanent: "permanent"}

// String returns "no-session", "session", "delivered" or "permanent", and
// "outcome(N)" for a value that is none of these.
func (o Outcome) String() string { return enumString(outcomeNames[:], uint8(o), "outcome") }

// AttemptResult is one attempt made by [Plan.Deliver].
type AttemptResult struct {
	Attempt
	Outcome Outcome // what the try function reported
	Err     error   // the try function's error
}

// DeliveryError reports a delivery that did not succeed. It unwraps to
// the attempts' errors (and to the context's error when it ended).
type DeliveryError struct {
	Domain   string          // the plan's domain
	Attempts []AttemptResult // the attempts made, in order
	// Permanent reports a permanent failure: the message should be
	// returned. Otherwise it should be queued and retried (RFC 5321
	// section 4.5.4.1).
	Permanent bool
	// SessionLimit reports that MaxSessions sessions were used up before
	// the attempts ran out.
	SessionLimit bool
	// ctxErr is the context's error when it ended the loop (or ended
	// during the last try); badOutcome is the *OutcomeError of a value
	// try should not have returned.
	ctxErr, badOutcome error
}

// OutcomeError is the error of [Plan.Deliver] when the try function
// returns an [Outcome] that is none of the defined values: the loop
// stops there (the message is not delivered and should be queued), as
// no safe reading of such a value exists.
type OutcomeError struct {
	Outcome Outcome // the value try returned
	Attempt Attempt // the attempt it returned it for
}

// Error names the value and the attempt.
func (e *OutcomeError) Error() string {
	return "mxorder: try returned " + e.Outcome.String() + ", not an Outcome, for " + e.Attempt.Host + " " + e.Attempt.Addr.String()
}

// Error describes the failure and the last attempt's error.
func (e *DeliveryError) Error() string {
	s := "mxorder: delivery to " + strconv.Quote(e.Domain)
	switch {
	case e.Permanent:
		s += " failed permanently"
	case e.SessionLimit:
		s += " stopped at the session limit"
	case e.badOutcome != nil:
		s += " stopped: " + e.badOutcome.Error()
	case e.ctxErr != nil:
		s += " interrupted: " + e.ctxErr.Error()
	default:
		s += " failed for now"
	}
	s += " after " + strconv.Itoa(len(e.Attempts)) + " attempts"
	if n := len(e.Attempts); n > 0 && e.Attempts[n-1].Err != nil {
		last := e.Attempts[n-1]
		s += "; last: " + last.Host + " " + last.Addr.String() + ": " + last.Err.Error()
	}
	return s
}

// Unwrap returns the attempts' errors and the context's error.
func (e *DeliveryError) Unwrap() []error {
	var errs []error
	for _, a := range e.Attempts {
		if a.Err != nil {
			errs = append(errs, a.Err)
		}
	}
	for _, err := range []error{e.badOutcome, e.ctxErr} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Deliver runs the delivery loop of RFC 5321 section 5.1 over the plan:
// it calls try for each attempt in order until one delivers, one fails
// permanently, MaxSessions attempts have had a session (Postfix's
// smtp_mx_session_limit), the attempts run out or ctx ends. It returns
// nil when the message was delivered, and a [*DeliveryError] otherwise;
// when ctx ended, even during the last try, the error unwraps to ctx's
// error, and when try returned a value that is not an [Outcome], to an
// [*OutcomeError]. try is called from the calling goroutine, one attempt
// at a time.
func (p *Plan) Deliver(ctx context.Context, try func(ctx context.Context, a Attempt) (Outcome, error)) error {
	e := &DeliveryError{Domain: p.Domain}
	sessions := 0
	for _, a := range p.attempts {
		if err := ctx.Err(); err != nil {
			e.ctxErr = err
			return e
		}
		o, err := try(ctx, a)
		e.Attempts = append(e.Attempts, AttemptResult{Attempt: a, Outcome: o, Err: err})
		switch o {
		case OutcomeDelivered:
			return nil
		case OutcomePermanent:
			e.Permanent = true
			return e.ended(ctx)
		case OutcomeSession:
			sessions++
			if p.MaxSessions > 0 && sessions >= p.MaxSessions {
				e.SessionLimit = len(e.Attempts) < len(p.attempts)
				return e.ended(ctx)
			}
		case OutcomeNoSession:
		default:
			e.badOutcome = &OutcomeError{Outcome: o, Attempt: a}
			return e.ended(ctx)
		}
	}
	return e.ended(ctx)
}

// ended records that ctx ended, if it did, before e is returned.
func (e *DeliveryError) ended(ctx context.Context) *DeliveryError {
	if err := ctx.Err(); err != nil {
		e.ctxErr = err
	}
	return e
}
