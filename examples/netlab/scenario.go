//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder"
)

// Row is one line of a scenario's agreement table: one thing Postfix did
// next to what mxorder planned for the same sender.
type Row struct {
	Aspect  string `json:"aspect"`
	Postfix string `json:"postfix"`
	Plan    string `json:"plan"`
	Agree   bool   `json:"agree"`
	// Reason explains a difference (and, where the two agree for a
	// reason worth saying, that reason).
	Reason string `json:"reason,omitempty"`
}

// LibRow is what the relay built on mxorder did with a message, next to
// its plan.
type LibRow struct {
	Relay    string `json:"relay"`
	To       string `json:"to"`
	Did      string `json:"did"`     // attempts made and the outcome
	Planned  string `json:"planned"` // the plan's attempts, or its error
	Followed bool   `json:"followed"`
}

// Result is what one scenario observed and compared.
type Result struct {
	Number int    `json:"number"`
	Name   string `json:"name"`
	Title  string `json:"title"`
	// Postfix is what the Postfix instances did, hop by hop.
	Postfix []string `json:"postfix"`
	// Plans are mxorder's plans, audits and bounce checks.
	Plans []string `json:"plans"`
	Rows  []Row    `json:"rows"`
	// LibRows are what the relay built on mxorder (Plan.Deliver with
	// net/smtp) did with the same messages, against its plans.
	LibRows  []LibRow  `json:"library_rows,omitempty"`
	Sessions []Session `json:"sessions"` // every SMTP session the sinks recorded
	Elapsed  Duration  `json:"elapsed"`
	Err      string    `json:"error,omitempty"`

	// facts are the observed values the tests assert, by name.
	facts map[string]string
}

// Duration marshals as a string ("1.5s").
type Duration time.Duration

// MarshalText writes the duration rounded to milliseconds.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).Round(time.Millisecond).String()), nil
}

// scenario is one of the study's scenarios.
type scenario struct {
	number int
	name   string
	title  string
	run    func(ctx context.Context, l *lab, r *Result) error
}

// scenarios are the scenarios in order.
var scenarios = []scenario{
	{1, "relay-bounce", "Relay bounce: IPv4-only relay, dual-stack recipient MX, IPv6-only sender domain", runRelayBounce},
	{2, "mx-routing", "MX routing across families: mx10 down, mx20 IPv6-only, mx30 dual-stack; bounce to an IPv4-only domain", runMXRouting},
	{3, "round-robin", "Equal preferences and several addresses per host: the first address over repeated deliveries", runRoundRobin},
	{4, "null-implicit", "Null MX (RFC 7505) and implicit MX (no MX records)", runNullImplicit},
	{5, "family-limits", "Family limits: IPv6-only MX hosts before IPv4 ones under smtp_mx_address_limit", runFamilyLimits},
	{6, "nat64-bounce", "NAT64: IPv6-only relay behind tayga, dual-stack recipient MX, bounce to an IPv4-only sender domain", runNAT64Bounce},
}

// fact records an observed value for the tests.
func (r *Result) fact(key, value string) {
	if r.facts == nil {
		r.facts = map[string]string{}
	}
	r.facts[key] = value
}

// planner returns the Planner that models the MTA on host h: its
// families and addresses (as the lab configures them), the NAT64 prefix
// of a host behind the translator, its own names
// (RFC 5321 section 5.1), and Postfix's limits (smtp_mx_address_limit,
// smtp_mx_session_limit, smtp_balance_inet_protocols).
func (l *lab) planner(h *host, addrLimit int, seed uint64) (*mxorder.Planner, error) {
	src, err := addrselect.ParseHost(h.description())
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", h.ns, err)
	}
	var prefixes []netip.Prefix
	if h.nat64 {
		prefixes = []netip.Prefix{netip.MustParsePrefix(nat64Prefix)}
	}
	return &mxorder.Planner{
		NAT64:        prefixes,
		Resolver:     l.res,
		Sources:      src,
		Families:     h.families(),
		LocalNames:   []string{h.name},
		MaxAddresses: addrLimit,
		MaxSessions:  pfSessionLimit,
		Balance:      true,
		Seeded:       true,
		Seed:         seed,
	}, nil
}

// plan plans delivery to domain for the MTA on host ns and describes it.
func (l *lab) plan(ctx context.Context, r *Result, ns, domain string, addrLimit int) (*mxorder.Plan, error) {
	h := hostByNS(ns)
	p, err := l.planner(h, addrLimit, 1)
	if err != nil {
		return nil, err
	}
	plan, err := p.Plan(ctx, domain)
	if err != nil {
		r.Plans = append(r.Plans, fmt.Sprintf("plan %s -> %s: %v", h.name, domain, err))
		return plan, err
	}
	r.Plans = append(r.Plans, fmt.Sprintf("plan %s -> %s: %s", h.name, domain, attemptsText(plan.Attempts())))
	for _, s := range plan.Skipped {
		what := s.Host
		if s.Addr.IsValid() {
			what += "[" + s.Addr.String() + "]"
		}
		r.Plans = append(r.Plans, fmt.Sprintf("  skipped %s: %s %s", what, s.Reason, s.Detail))
	}
	return plan, nil
}

// audit adds the audit findings of domain, without the address-range
// warnings every lab address draws (the lab uses documentation ranges).
func (l *lab) audit(ctx context.Context, r *Result, domain string) error {
	return l.auditFrom(ctx, r, "relay46", domain)
}

// auditFrom is audit as the relay on host ns sees domain.
func (l *lab) auditFrom(ctx context.Context, r *Result, ns, domain string) error {
	p, err := l.planner(hostByNS(ns), pfAddressLimit, 1)
	if err != nil {
		return err
	}
	label := domain
	if ns != "relay46" {
		label += " from " + p.LocalNames[0]
	}
	rep, err := p.Audit(ctx, domain)
	if err != nil {
		r.Plans = append(r.Plans, fmt.Sprintf("audit %s: %v", label, err))
		return nil
	}
	for _, f := range rep.Findings {
		if f.Code == mxorder.CodeDocumentation {
			continue
		}
		r.Plans = append(r.Plans, fmt.Sprintf("audit %s: %s", label, f))
	}
	return nil
}

// checkBounce runs CheckBounce for a relay on host ns and reports
// whether it predicts that the bounce is lost.
func (l *lab) checkBounce(ctx context.Context, r *Result, ns, rcptDomain, senderDomain string) (lost bool, why string, err error) {
	h := hostByNS(ns)
	p, err := l.planner(h, pfAddressLimit, 1)
	if err != nil {
		return false, "", err
	}
	br, err := p.CheckBounce(ctx, h.families(), rcptDomain, senderDomain)
	if err != nil {
		return false, "", err
	}
	var msgs []string
	for _, f := range br.Findings {
		r.Plans = append(r.Plans, fmt.Sprintf("bounce check %s (%s) %s -> %s: %s", h.name, h.families().Words(), rcptDomain, senderDomain, f))
		if f.Code == mxorder.CodeBounceLost {
			lost = true
			msgs = append(msgs, f.Message)
		}
	}
	if len(br.Findings) == 0 {
		r.Plans = append(r.Plans, fmt.Sprintf("bounce check %s (%s) %s -> %s: ok", h.name, h.families().Words(), rcptDomain, senderDomain))
	}
	return lost, strings.Join(msgs, "; "), nil
}

// attemptsText lists planned attempts as "host[addr], ...".
func attemptsText(as []mxorder.Attempt) string {
	if len(as) == 0 {
		return "no attempts"
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.Host + "[" + a.Addr.String() + "]"
	}
	return strings.Join(parts, ", ")
}

// triesText lists observed attempts as "host[addr] result, ...".
func triesText(ts []Try) string {
	if len(ts) == 0 {
		return "no connection"
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.Host + "[" + t.Addr.String() + "] " + t.Result
	}
	return strings.Join(parts, ", ")
}

// Comparison of observed attempts with planned ones.
const (
	matchExact    = iota // the same addresses in the same order
	matchHostRuns        // the same hosts in the same order, addresses of a host in another order
	matchNone
)

// compareTries compares the attempts an MTA made (it may stop early, by
// delivering) with the start of a plan's attempts.
func compareTries(tries []Try, plan []mxorder.Attempt) int {
	if len(tries) > len(plan) {
		return matchNone
	}
	p := plan[:len(tries)]
	exact := true
	for i := range tries {
		if tries[i].Addr != p[i].Addr {
			exact = false
		}
	}
	if exact {
		return matchExact
	}
	// Same hosts in the same runs, and per run the same address set.
	i := 0
	for i < len(tries) {
		j := i
		for j < len(tries) && tries[j].Host == tries[i].Host {
			j++
		}
		var a, b []netip.Addr
		for k := i; k < j; k++ {
			a = append(a, tries[k].Addr)
			if p[k].Host != tries[i].Host {
				return matchNone
			}
			b = append(b, p[k].Addr)
		}
		slices.SortFunc(a, netip.Addr.Compare)
		slices.SortFunc(b, netip.Addr.Compare)
		if !slices.Equal(a, b) {
			return matchNone
		}
		i = j
	}
	return matchHostRuns
}

// triesRow compares one hop. orderReason explains a difference in the
// order of one host's addresses.
func triesRow(aspect string, tries []Try, plan *mxorder.Plan, orderReason string) Row {
	row := Row{Aspect: aspect, Postfix: triesText(tries)}
	if plan == nil {
		row.Plan = "no plan"
		return row
	}
	row.Plan = attemptsText(plan.Attempts())
	switch compareTries(tries, plan.Attempts()) {
	case matchExact:
		row.Agree = true
	case matchHostRuns:
		row.Reason = "same hosts in the same order; " + orderReason
	default:
		row.Reason = "Postfix's attempts are not the start of the plan"
	}
	return row
}

// planErrText describes a planning error the way an MTA would act on it.
func planErrText(err error) string {
	var ue *mxorder.UnreachableError
	switch {
	case err == nil:
		return "deliverable"
	case errors.Is(err, mxorder.ErrNullMX):
		return "null MX: return at once (RFC 7505)"
	case errors.As(err, &ue):
		if ue.Temporary {
			return "no reachable MX (temporary): " + err.Error()
		}
		return "no reachable MX (permanent): " + err.Error()
	}
	return err.Error()
}

// fateText summarises a message's deliveries at one MTA.
func fateText(ds []delivery, ml *mtaLog) string {
	if len(ds) == 0 {
		return "no delivery logged"
	}
	last := ds[len(ds)-1]
	s := string(last.Status) + " dsn=" + last.DSN
	if n := len(ds); n > 1 {
		s = fmt.Sprintf("%d delivery attempts, last %s", n, s)
	}
	if ml.expired[last.Queue] {
		s += ", expired (maximal_queue_lifetime)"
	}
	return s
}

// bounceFate follows the bounce of the message with queue id q: where it
// went and whether the postmaster got the double bounce. lost reports
// that it never reached the sender.
func bounceFate(ml *mtaLog, q string) (text string, lost bool) {
	bq, ok := ml.dsn[q]
	if !ok {
		return "no bounce", false
	}
	ds := ml.byQueue(bq)
	if len(ds) == 0 {
		return "bounce " + bq + " not delivered yet", true
	}
	last := ds[len(ds)-1]
	text = "bounce to <" + last.To + ">: " + triesText(last.Tries) + "; " + string(last.Status) + " dsn=" + last.DSN
	if last.Status != evSent {
		text += " (" + last.Detail + ")"
		lost = true
	}
	if _, ok := ml.double[bq]; ok {
		text += "; postmaster of the relay gets the double bounce"
	}
	return text, lost
}
