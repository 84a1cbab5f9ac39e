package mxorder

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
)

// FailureClass says how an earlier connection attempt to a domain
// failed, as far as the choice of the next address is concerned.
type FailureClass uint8

// The failure classes.
const (
	// FailureConnect: the connection was refused or unreachable.
	FailureConnect FailureClass = iota + 1
	// FailureTimeout: the connection or the greeting timed out.
	FailureTimeout
	// FailureGreylisted: a transient 4yz reply that asks the client to
	// come back later (greylisting): the receiver recognises the retry
	// by the triple of client address, sender and recipient.
	FailureGreylisted
	// FailurePolicy: a rejection for policy: a blocklist, a missing or
	// mismatched reverse DNS name, a per-family reputation (Spamhaus
	// lists IPv6 senders by /64).
	FailurePolicy
	// FailureRejected: any other rejection.
	FailureRejected
)

var failureNames = [...]string{
	FailureConnect:    "connect-failed",
	FailureTimeout:    "timed-out",
	FailureGreylisted: "greylisted",
	FailurePolicy:     "policy-rejected",
	FailureRejected:   "rejected",
}

// String returns the class's short name, such as "greylisted", and
// "failure(N)" for a value that is not a class.
func (c FailureClass) String() string { return enumString(failureNames[:], uint8(c), "failure") }

// MarshalText implements [encoding.TextMarshaler] with String.
func (c FailureClass) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText is the inverse of MarshalText.
func (c *FailureClass) UnmarshalText(b []byte) error {
	return unmarshalEnum(c, failureNames[:], b, "failure")
}

// switches reports whether a failure of this class makes
// [Planner.SwitchFamily] start the next attempt with the other family:
// the connection did not get through (a per-family routing or
// filtering fault) or the receiver rejected the sender for policy (a
// per-family reputation or reverse DNS).
func (c FailureClass) switches() bool {
	return c == FailureConnect || c == FailureTimeout || c == FailurePolicy
}

// PastAttempt is one earlier connection attempt to the domain.
type PastAttempt struct {
	Host   string     `json:"host,omitempty"`  // the MX host
	Addr   netip.Addr `json:"addr"`            // the address connected to
	Source netip.Addr `json:"source,omitzero"` // the local address used
	// Family is the family of Addr; 0 means FamilyOf(Addr).
	Family  Family       `json:"family,omitempty"`
	Failure FailureClass `json:"failure"` // how it ended
}

func (a *PastAttempt) family() Family {
	if a.Family == IPv4 || a.Family == IPv6 {
		return a.Family
	}
	return FamilyOf(a.Addr)
}

// History is what happened before to deliveries to one domain: the
// number of the delivery attempt being planned and the connection
// attempts of the earlier ones, oldest first. The zero History is a
// first attempt.
type History struct {
	// Attempt is the number of the delivery attempt (queue run) being
	// planned: 1 for the first, 2 for the first retry. 0 means 1.
	Attempt int `json:"attempt,omitempty"`
	// Past are the earlier connection attempts, oldest first; the last
	// one is the most recent.
	Past []PastAttempt `json:"past,omitempty"`
}

func (h *History) attempt() int { return max(h.Attempt, 1) }

// AttemptReason says why an [Attempt] is where it is in the plan.
type AttemptReason uint8

// The reasons, from the weakest to the strongest rule.
const (
	// ReasonMXOrder: MX preference (RFC 5321 section 5.1), then the
	// Selector's order of the host's addresses (RFC 6724).
	ReasonMXOrder AttemptReason = iota + 1
	// ReasonAttemptFamily: the families of this attempt number
	// ([Planner.AttemptFamilies]) allow this address; the others are
	// skipped.
	ReasonAttemptFamily
	// ReasonPreferredFamily: the address is in [Planner.Prefer]'s family
	// and moved before the host's other addresses.
	ReasonPreferredFamily
	// ReasonFallbackFamily: the address is in the family that is not
	// preferred (or not switched to), tried after the other.
	ReasonFallbackFamily
	// ReasonSwitchedFamily: the last attempt failed in the other family
	// ([Planner.SwitchFamily]), so this family comes first.
	ReasonSwitchedFamily
	// ReasonGreylistRetry: the address was greylisted before and is
	// retried first, from the same source ([Planner.GreylistRetry]).
	ReasonGreylistRetry
)

var reasonNames = [...]string{
	ReasonMXOrder:         "mx-order",
	ReasonAttemptFamily:   "attempt-family",
	ReasonPreferredFamily: "preferred-family",
	ReasonFallbackFamily:  "fallback-family",
	ReasonSwitchedFamily:  "switched-family",
	ReasonGreylistRetry:   "greylist-retry",
}

// String returns the reason's short name, such as "greylist-retry", and
// "reason(N)" for a value that is not a reason.
func (r AttemptReason) String() string { return enumString(reasonNames[:], uint8(r), "reason") }

// MarshalText implements [encoding.TextMarshaler] with String.
func (r AttemptReason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText is the inverse of MarshalText.
func (r *AttemptReason) UnmarshalText(b []byte) error {
	return unmarshalEnum(r, reasonNames[:], b, "reason")
}

// ErrFamilyDeferred: the families [Planner.AttemptFamilies] allows on
// this attempt number are not among those the domain's usable addresses
// have. The plan lists the skipped addresses ([SkipAttemptFamily]); a
// later attempt may allow them, so the message should be queued, not
// returned.
var ErrFamilyDeferred = errors.New("no usable address in the families allowed on this attempt: retry later")

// attemptFamilies returns the families allowed on attempt n (1-based),
// or DualStack.
func (p *Planner) attemptFamilies(n int) Family {
	if len(p.AttemptFamilies) == 0 {
		return DualStack
	}
	f := p.AttemptFamilies[min(n, len(p.AttemptFamilies))-1]
	if f&DualStack == 0 {
		return DualStack
	}
	return f & DualStack
}

// applyStrategies orders and filters the attempts by the family
// strategies and the history, in this order: the families of the
// attempt number, the family switch or preference within each host,
// and the greylisted address first. Each attempt gets its reason.
func (p *Planner) applyStrategies(plan *Plan, out []Attempt, h *History) ([]Attempt, error) {
	n := h.attempt()
	allowed := p.attemptFamilies(n)
	if allowed != DualStack {
		detail := "attempt " + strconv.Itoa(n) + " uses " + allowed.Words() + " addresses"
		kept := out[:0]
		for _, a := range out {
			if FamilyOf(a.Addr)&allowed == 0 {
				plan.Skipped = append(plan.Skipped, Skip{Host: a.Host, Preference: a.Preference, Addr: a.Addr, Reason: SkipAttemptFamily, Detail: detail})
				continue
			}
			a.Reason, a.Detail = ReasonAttemptFamily, detail
			kept = append(kept, a)
		}
		if len(kept) == 0 {
			return kept, &domainError{plan.Domain, ErrFamilyDeferred}
		}
		out = kept
	}
	p.orderFamilies(out, h)
	if p.GreylistRetry {
		greylistFirst(out, h)
	}
	return out, nil
}

// orderFamilies puts one family first within each host: the family
// other than the one of the last failure when SwitchFamily applies,
// else Planner.Prefer (which addHost already applied).
func (p *Planner) orderFamilies(out []Attempt, h *History) {
	first, reason, detail := p.Prefer, ReasonPreferredFamily, ""
	if first == IPv4 || first == IPv6 {
		detail = "preferred family " + first.String() + " (Planner.Prefer)"
	}
	if last := len(h.Past) - 1; p.SwitchFamily && last >= 0 && h.Past[last].Failure.switches() {
		pa := &h.Past[last]
		first = DualStack &^ pa.family()
		reason = ReasonSwitchedFamily
		detail = "the last attempt (" + pa.Addr.String() + ") " + pa.Failure.String() + " over " + pa.family().String()
		for start := 0; start < len(out); {
			end := start + 1
			for end < len(out) && out[end].Host == out[start].Host {
				end++
			}
			moveFirst(out[start:end], func(a *Attempt) bool { return FamilyOf(a.Addr) == first })
			start = end
		}
	}
	if first != IPv4 && first != IPv6 {
		return
	}
	for i := range out {
		if FamilyOf(out[i].Addr) == first {
			out[i].Reason, out[i].Detail = reason, detail
		} else {
			out[i].Reason, out[i].Detail = ReasonFallbackFamily, "after "+first.String()+": "+detail
		}
	}
}

// greylistFirst moves the address of the most recent greylisted
// attempt to the front, to be tried from the same source: a greylisting
// receiver accepts the retry only from the client address it saw.
func greylistFirst(out []Attempt, h *History) {
	for i := len(h.Past) - 1; i >= 0; i-- {
		pa := &h.Past[i]
		if pa.Failure != FailureGreylisted {
			continue
		}
		j := slices.IndexFunc(out, func(a Attempt) bool { return a.Addr == pa.Addr.Unmap() })
		if j < 0 {
			continue
		}
		a := out[j]
		copy(out[1:j+1], out[:j])
		a.Reason, a.Detail = ReasonGreylistRetry, "greylisted before"
		if pa.Source.IsValid() {
			a.Source = pa.Source.Unmap()
			a.Detail += "; same source " + a.Source.String()
		}
		out[0] = a
		return
	}
}
