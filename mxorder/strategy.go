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
	FailureConnect FailureClass = iota + 1 // the connection was refused or unreachable
	FailureTimeout                         // the connection or the greeting timed out
	// FailureGreylisted: a transient 4yz reply asking the client to come
	// back later; the receiver recognises the retry by client address,
	// sender and recipient.
	FailureGreylisted
	// FailurePolicy: a rejection for policy: a blocklist, reverse DNS, a
	// per-family reputation (Spamhaus lists IPv6 senders by /64).
	FailurePolicy
	FailureRejected // any other rejection
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
// [Planner.SwitchFamily] start the next attempt with the other family: a
// per-family fault of routing, filtering, reputation or reverse DNS.
func (c FailureClass) switches() bool {
	return c == FailureConnect || c == FailureTimeout || c == FailurePolicy
}

// PastAttempt is one earlier connection attempt to the domain.
type PastAttempt struct {
	Host    string       `json:"host,omitempty"`   // the MX host
	Addr    netip.Addr   `json:"addr"`             // the address connected to
	Source  netip.Addr   `json:"source,omitzero"`  // the local address used
	Family  Family       `json:"family,omitempty"` // the family of Addr; 0 means FamilyOf(Addr)
	Failure FailureClass `json:"failure"`          // how it ended
}

func (a *PastAttempt) family() Family {
	if a.Family == IPv4 || a.Family == IPv6 {
		return a.Family
	}
	return FamilyOf(a.Addr)
}

// History is what happened before to deliveries to one domain. The zero
// History is a first attempt.
type History struct {
	// Attempt is the number of the delivery attempt (queue run) being
	// planned: 1 for the first, 2 for the first retry. 0 means 1.
	Attempt int           `json:"attempt,omitempty"`
	Past    []PastAttempt `json:"past,omitempty"` // the earlier connection attempts, oldest first
}

func (h *History) attempt() int { return max(h.Attempt, 1) }

// AttemptReason says why an [Attempt] is where it is in the plan.
type AttemptReason uint8

// The reasons, from the weakest to the strongest rule.
const (
	// ReasonMXOrder: MX preference (RFC 5321 section 5.1), then the
	// Selector's order of the host's addresses (RFC 6724).
	ReasonMXOrder         AttemptReason = iota + 1
	ReasonAttemptFamily                 // allowed on this attempt number ([Planner.AttemptFamilies]); others skipped
	ReasonPreferredFamily               // in [Planner.Prefer]'s family, moved before the host's others
	ReasonFallbackFamily                // in the family not preferred (or not switched to), tried after the other
	ReasonSwitchedFamily                // the last attempt failed in the other family ([Planner.SwitchFamily])
	ReasonGreylistRetry                 // greylisted before, retried first from the same source ([Planner.GreylistRetry])
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

// ErrFamilyDeferred: [Planner.AttemptFamilies] allows none of the
// families of the domain's usable addresses on this attempt number (the
// plan lists them as [SkipAttemptFamily]). Queue the message: a later
// attempt may allow them.
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

// applyStrategies filters and orders the attempts by, in turn, the
// families of the attempt number, the family switch or preference
// within each host, and the greylisted address; each gets its reason.
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
	fallback := "after " + first.String() + ": " + detail // shared by the attempts
	for i := range out {
		if FamilyOf(out[i].Addr) == first {
			out[i].Reason, out[i].Detail = reason, detail
		} else {
			out[i].Reason, out[i].Detail = ReasonFallbackFamily, fallback
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
