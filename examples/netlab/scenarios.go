//go:build linux

package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dualstack/dualstack/mxorder"
)

// The reasons for the differences the lab expects, in one place.
const (
	whyAddrOrder = "Postfix puts a host's IPv4 and IPv6 addresses in random order (smtp_address_preference = any, smtp_randomize_addresses = yes) where the plan orders them by RFC 6724 (rule 6: IPv6 before IPv4 with the default policy table)"
	whyRetries   = "Postfix retried from its deferred queue until maximal_queue_lifetime; a plan is one pass over the attempts (the retry schedule is the MTA's)"
)

// hop reports what one Postfix instance did with the first message for
// domain, adds the comparison with its plan, and returns the deliveries,
// the plan and the planning error.
func (l *lab) hop(ctx context.Context, r *Result, logs map[string]*mtaLog, ns, domain string, addrLimit int) ([]delivery, *mxorder.Plan, error) {
	h := hostByNS(ns)
	ml := logs[ns]
	ds := ml.message(domain)
	var first []Try
	if len(ds) > 0 {
		first = ds[0].Tries
	}
	fate := fateText(ds, ml)
	r.Postfix = append(r.Postfix, fmt.Sprintf("%s -> %s: %s; %s", h.name, domain, triesText(first), fate))
	for i, d := range ds[min(1, len(ds)):] {
		r.Postfix = append(r.Postfix, fmt.Sprintf("  retry %d: %s; %s", i+1, triesText(d.Tries), d.Status))
	}
	r.fact(ns+" "+domain+" tries", triesText(first))
	r.fact(ns+" "+domain+" fate", fate)
	plan, perr := l.plan(ctx, r, ns, domain, addrLimit)
	if perr != nil {
		sent := len(ds) > 0 && ds[len(ds)-1].Status == evSent
		r.Rows = append(r.Rows, Row{
			Aspect:  h.name + " -> " + domain,
			Postfix: triesText(first) + "; " + fate,
			Plan:    planErrText(perr),
			Agree:   len(first) == 0 && !sent,
		})
		return ds, plan, perr
	}
	row := triesRow(h.name+" -> "+domain, first, plan, whyAddrOrder)
	row.Postfix += "; " + fate
	if len(ds) > 1 && row.Agree {
		row.Reason = whyRetries
	}
	r.Rows = append(r.Rows, row)
	return ds, plan, nil
}

// bounceRows follows the bounce of the message ds at instance ns to the
// sender domain and compares it with the plan for the bounce, and with
// CheckBounce for the whole path as seen from relay, the first relay of
// the message.
func (l *lab) bounceRows(ctx context.Context, r *Result, logs map[string]*mtaLog, relay, ns string, ds []delivery, rcptDomain, senderDomain, senderSink string) error {
	h := hostByNS(ns)
	var q string
	if len(ds) > 0 {
		q = ds[0].Queue
	}
	text, lost := bounceFate(logs[ns], q)
	arrived := 0
	for _, s := range r.Sessions {
		if s.Sink == senderSink && s.From == "" && s.Data {
			arrived++
		}
	}
	if arrived > 0 {
		lost = false
	}
	r.Postfix = append(r.Postfix, fmt.Sprintf("%s: %s; bounces arrived at %s: %d", h.name, text, senderSink, arrived))
	_, perr := l.plan(ctx, r, ns, senderDomain, pfAddressLimit)
	planLost := perr != nil
	r.Rows = append(r.Rows, Row{
		Aspect:  "bounce " + h.name + " -> " + senderDomain,
		Postfix: yesNo(lost, "not delivered", "delivered") + ": " + text,
		Plan:    planErrText(perr),
		Agree:   lost == planLost,
	})
	predicted, why, err := l.checkBounce(ctx, r, relay, rcptDomain, senderDomain)
	if err != nil {
		return err
	}
	row := Row{
		Aspect:  "bounce lost (" + rcptDomain + " from " + senderDomain + ")",
		Postfix: yesNo(lost, "lost: the sender never learns", "returned to the sender"),
		Plan:    yesNo(predicted, "CheckBounce: "+why, "CheckBounce: the bounce path works"),
		Agree:   lost == predicted,
	}
	r.Rows = append(r.Rows, row)
	r.fact(ns+" bounce lost", strconv.FormatBool(lost))
	r.fact(senderSink+" bounces", strconv.Itoa(arrived))
	return nil
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// libRow runs the library relay on host ns for the same message and adds
// whether it did what its plan says.
func (l *lab) libRow(ctx context.Context, r *Result, ns, from, to string) *libOutcome {
	h := hostByNS(ns)
	o := l.libRelay(ctx, ns, from, to, 1)
	row := LibRow{Relay: h.name, To: to, Did: triesText(o.Tries) + "; " + o.Fate, Followed: o.Followed}
	if o.PlanErr != nil {
		row.Planned = planErrText(o.PlanErr)
		row.Followed = len(o.Tries) == 0
	} else {
		row.Planned = attemptsText(o.Plan.Attempts())
	}
	if o.Bounce != "" {
		row.Did += "; " + o.Bounce
	}
	r.LibRows = append(r.LibRows, row)
	r.fact(ns+" "+to+" lib tries", triesText(o.Tries))
	r.fact(ns+" "+to+" lib bounce lost", strconv.FormatBool(o.Lost))
	return o
}

// send is one message a scenario submits to a Postfix relay.
type send struct{ relay, from, to string }

// exchange submits the messages, waits until the queues of instances
// (in the order of the chain) are empty, and returns what the maillogs
// say; the sinks' sessions go into r.
func (l *lab) exchange(ctx context.Context, r *Result, sends []send, timeout time.Duration, instances ...string) (map[string]*mtaLog, error) {
	mark := l.mark()
	for _, s := range sends {
		if err := l.submitVia(ctx, s.relay, s.from, s.to, "scenario "+strconv.Itoa(r.Number)); err != nil {
			return nil, err
		}
	}
	if err := l.settle(ctx, timeout, instances...); err != nil {
		return nil, err
	}
	// A sink records a session when the client closes it, just after
	// Postfix has removed the message.
	time.Sleep(200 * time.Millisecond)
	r.Sessions = l.takeSessions()
	return l.logs(mark)
}

// finish adds the audits of domains and runs the library relay (on the
// host named by each send's relay) on the messages.
func (l *lab) finish(ctx context.Context, r *Result, domains []string, lib []send) error {
	for _, d := range domains {
		if err := l.audit(ctx, r, d); err != nil {
			return err
		}
	}
	for _, s := range lib {
		l.libRow(ctx, r, s.relay, s.from, s.to)
	}
	// The library relay's sessions are not Postfix's: drop them.
	l.takeSessions()
	return nil
}

// relayBounce sends a message from sender to the unknown recipient
// nobody@rcpt1.lab through the Postfix relay on host ns, compares the hop
// and the bounce to the sender's domain (whose MX is senderSink), and
// returns the relay's deliveries and log.
func (l *lab) relayBounce(ctx context.Context, r *Result, ns, sender, senderSink string) ([]delivery, *mtaLog, error) {
	logs, err := l.exchange(ctx, r, []send{{ns, sender, "nobody@rcpt1.lab"}}, 20*time.Second, ns)
	if err != nil {
		return nil, nil, err
	}
	ds := l.rejectedHop(ctx, r, logs, ns)
	_, senderDomain, _ := strings.Cut(sender, "@")
	return ds, logs[ns], l.bounceRows(ctx, r, logs, ns, ns, ds, "rcpt1.lab", senderDomain, senderSink)
}

func runRelayBounce(ctx context.Context, l *lab, r *Result) error {
	if _, _, err := l.relayBounce(ctx, r, "relay4", "alice@v6sender.lab", "mx.v6sender.lab"); err != nil {
		return err
	}
	if err := l.eximRows(ctx, r, "exim4", "alice@v6sender.lab", "nobody@rcpt1.lab", "mx.v6sender.lab"); err != nil {
		return err
	}
	return l.finish(ctx, r, []string{"v6sender.lab"}, []send{{"lib4", "alice@v6sender.lab", "nobody@rcpt1.lab"}})
}

// rejectedHop compares the hop of relay ns to rcpt1.lab, whose MX
// rejects the recipient, and returns its deliveries.
func (l *lab) rejectedHop(ctx context.Context, r *Result, logs map[string]*mtaLog, ns string) []delivery {
	ds, _, _ := l.hop(ctx, r, logs, ns, "rcpt1.lab", pfAddressLimit)
	rejected := len(ds) > 0 && ds[len(ds)-1].Status == evBounced && strings.HasPrefix(ds[len(ds)-1].DSN, "5.")
	r.Rows = append(r.Rows, Row{
		Aspect:  "unknown recipient at mx.rcpt1.lab",
		Postfix: yesNo(rejected, "550 5.1.1: message bounced at once", "not bounced"),
		Plan:    "a 5yz reply ends Plan.Deliver with a permanent DeliveryError: return the message (RFC 3974 section 3 step 9)",
		Agree:   rejected,
	})
	return ds
}

func runMXRouting(ctx context.Context, l *lab, r *Result) error {
	logs, err := l.exchange(ctx, r, []send{{"relay4", "bob@v4sender.lab", "user@rcpt2.lab"}}, 40*time.Second, "relay4", "s2mx30", "s2mx20")
	if err != nil {
		return err
	}
	var last []delivery
	for _, ns := range []string{"relay4", "s2mx30", "s2mx20"} {
		last, _, _ = l.hop(ctx, r, logs, ns, "rcpt2.lab", pfAddressLimit)
	}
	if err := l.bounceRows(ctx, r, logs, "relay4", "s2mx20", last, "rcpt2.lab", "v4sender.lab", "mx.v4sender.lab"); err != nil {
		return err
	}
	return l.finish(ctx, r, []string{"rcpt2.lab"}, []send{{"lib4", "bob@v4sender.lab", "user@rcpt2.lab"}})
}

// rrRuns is how many messages scenario 3 sends through each relay.
const rrRuns = 10

func runRoundRobin(ctx context.Context, l *lab, r *Result) error {
	var sends []send
	for i := range rrRuns {
		sends = append(sends, send{"relay46", "bob@v4sender.lab", fmt.Sprintf("user%d@rr3.lab", i)})
	}
	if _, err := l.exchange(ctx, r, sends, 20*time.Second, "relay46"); err != nil {
		return err
	}
	var firsts []string
	for _, s := range r.Sessions {
		firsts = append(firsts, s.Sink+"["+s.Local.Addr().String()+"]")
	}
	var planned []string
	for seed := range uint64(rrRuns) {
		p, err := l.planner(hostByNS("relay46"), pfAddressLimit, seed+1)
		if err != nil {
			return err
		}
		plan, err := p.Plan(ctx, "rr3.lab")
		if err != nil {
			return err
		}
		if seed == 0 {
			r.Plans = append(r.Plans, "plan relay46.lab -> rr3.lab (seed 1): "+attemptsText(plan.Attempts()))
		}
		a := plan.Attempts()[0]
		planned = append(planned, a.Host+"["+a.Addr.String()+"]")
	}
	var libFirst []string
	for seed := range uint64(rrRuns) {
		o := l.libRelay(ctx, "lib46", "bob@v4sender.lab", fmt.Sprintf("lib%d@rr3.lab", seed), seed+1)
		if len(o.Tries) > 0 {
			libFirst = append(libFirst, o.Tries[0].Host+"["+o.Tries[0].Addr.String()+"]")
		}
	}
	l.takeSessions()
	r.Postfix = append(r.Postfix, "relay46.lab first addresses over "+strconv.Itoa(rrRuns)+" messages: "+strings.Join(firsts, " "))
	r.Plans = append(r.Plans, "first planned address with seeds 1.."+strconv.Itoa(rrRuns)+": "+strings.Join(planned, " "))
	r.Rows = append(r.Rows, rrRows(firsts, planned)...)
	r.LibRows = append(r.LibRows, LibRow{
		Relay: "lib46.lab", To: "rr3.lab (" + strconv.Itoa(rrRuns) + " messages, seeds 1.." + strconv.Itoa(rrRuns) + ")",
		Did:      "first addresses " + strings.Join(distinct(libFirst), ", "),
		Planned:  "first addresses " + strings.Join(distinct(planned), ", "),
		Followed: slices.Equal(libFirst, planned),
	})
	r.fact("postfix distinct first", strconv.Itoa(len(distinct(firsts))))
	r.fact("postfix distinct hosts", strconv.Itoa(len(distinct(hostsOf(firsts)))))
	r.fact("plan first", strings.Join(distinct(planned), " "))
	r.fact("plan distinct hosts", strconv.Itoa(len(distinct(hostsOf(planned)))))
	r.fact("lib agrees", strconv.FormatBool(slices.Equal(libFirst, planned)))
	return nil
}

// rrRows compares the spread of the first addresses.
func rrRows(firsts, planned []string) []Row {
	dp, dq := distinct(firsts), distinct(planned)
	return []Row{
		{
			Aspect:  "equal-preference hosts used first",
			Postfix: strings.Join(distinct(hostsOf(firsts)), ", "),
			Plan:    strings.Join(distinct(hostsOf(planned)), ", "),
			Agree:   len(distinct(hostsOf(firsts))) == len(distinct(hostsOf(planned))),
			Reason:  "both shuffle MX hosts of equal preference (RFC 5321 section 5.1): round robin between hosts is kept",
		},
		{
			Aspect:  "addresses used first",
			Postfix: fmt.Sprintf("%d distinct: %s", len(dp), strings.Join(dp, ", ")),
			Plan:    fmt.Sprintf("%d distinct: %s", len(dq), strings.Join(dq, ", ")),
			Agree:   len(dp) == len(dq),
			Reason:  "Postfix shuffles the addresses of a host (smtp_randomize_addresses) and picks the family at random (smtp_address_preference = any), so round robin over a host's addresses is kept; the plan orders them by RFC 6724 (rule 6 puts IPv6 first, rule 9 the address sharing the longest prefix with the source), so every delivery starts at the same address of each host: round robin within a host is defeated, as the study found for rule 9",
		},
	}
}

func distinct(xs []string) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

func hostsOf(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i], _, _ = strings.Cut(x, "[")
	}
	return out
}
