// Command mxplan prints the delivery plan for a mail domain: the MX hosts in
// the order an SMTP client should try them (RFC 5321 section 5.1), the
// addresses of each in RFC 6724 order with the source address that would be
// used and the rule that decided, what was skipped and why (RFC 3974: hosts
// the sender shares no IP version with), and the list of attempts.
//
// Usage:
//
//	go run ./examples/mxplan [flags] domain
//
//	-relay v4|v6|dual   the IP versions the sending host may use (default:
//	                    the families the host has routes for)
//	-host 'DESC'        describe the sending host instead of asking this
//	                    machine's kernel, in addrselect.ParseHost form:
//	                    '192.0.2.25/24; route v4 default'
//	-seed N             shuffle equal preferences with seed N (default: random)
//	-server ADDR:PORT   ask this DNS server instead of the system's resolver
//	                    (port 53 if only an address is given); errors name it
//	-timeout D          give up after D (default 30s): lookups, plan and audit
//	-audit              also print the audit findings for mixed-stack mail
//	-json               print the plan (and audit) as JSON
//
// Flags go before the domain. When standard error is a terminal and no
// answer has come after a second, mxplan says there what it is waiting for.
//
// For example:
//
//	go run ./examples/mxplan -relay v4 -audit example.org
//	go run ./examples/mxplan -host '2001:db8::25/64; route v6 default' -json example.org
//
// mxplan only looks records up (with net.DefaultResolver, or a Go resolver
// sending to -server); it never connects to a mail server. The exit status
// is 0 when the plan has a host to try, 1 when no MX host can be tried or
// the lookups failed or timed out (after printing the plan found), and 2
// for a usage error.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/internal/cli"
	"github.com/dualstack/dualstack/mxorder"
)

// options are the settings of one run.
type options struct {
	Relay   mxorder.Family       // 0: the families Sources has routes for
	Sources addrselect.Sources   // nil: no source information
	Seed    int64                // < 0: random shuffling
	Audit   bool                 // also audit the domain
	JSON    bool                 // JSON output
	Sel     *addrselect.Selector // nil: the planner's default (mxorder.DefaultSelector)
}

func main() {
	os.Exit(mainStatus(os.Args[1:], env{Streams: cli.Std(), System: net.DefaultResolver, Notice: time.Second}))
}

// help is the -h text after the synopsis.
const help = `Prints the delivery plan for a mail domain: the MX hosts in the order to
try them, their addresses in RFC 6724 order (rule 9 on-link only, so
that DNS round robin survives) with the source address, what
was skipped and why, and the attempts.

Arguments:
  domain  the mail domain (IDNA names are fine). Standard input is not read.

Exit status: 0 a plan with a host to try, 1 no host can be tried or the
lookups failed (the plan found so far is printed), 2 a usage error.`

// env is what a run takes from its surroundings; tests replace it.
type env struct {
	cli.Streams
	// System is the resolver used without -server.
	System mxorder.Resolver
	// Notice is how long mxplan waits before it says, when standard
	// error is a terminal, what it is waiting for.
	Notice time.Duration
}

// flags are the values of mxplan's flags.
type flags struct {
	relay, host, server *string
	seed                *int64
	audit, asJSON       *bool
	timeout             *time.Duration
}

// mainStatus runs mxplan with the command-line arguments args and returns
// the exit status.
func mainStatus(args []string, e env) int {
	cmd := cli.New("mxplan", "domain", 1, 1, help)
	f := flags{
		relay:   cmd.Flags.String("relay", "", "IP versions the sender may use: `v4`, v6 or dual (default: from the host's routes)"),
		host:    cmd.Flags.String("host", "", "describe the sending host (addrselect.ParseHost `form`) instead of asking the kernel"),
		seed:    cmd.Flags.Int64("seed", -1, "shuffle equal preferences with seed `N` (negative: random)"),
		server:  cmd.Flags.String("server", "", "DNS server `addr:port` to ask instead of the system's resolver (port 53 if left out)"),
		audit:   cmd.Flags.Bool("audit", false, "also print the audit findings"),
		asJSON:  cmd.Flags.Bool("json", false, "print JSON"),
		timeout: cmd.Flags.Duration("timeout", 30*time.Second, "give up after `duration` (the whole run: lookups, plan and audit)"),
	}
	pos, err := cmd.Parse(args)
	if err == nil {
		err = mxplan(e, f, pos[0])
	}
	return cmd.Exit(e.Streams, err)
}

// mxplan checks the flags and runs the plan for domain within -timeout.
func mxplan(e env, f flags, domain string) error {
	o := options{Seed: *f.seed, Audit: *f.audit, JSON: *f.asJSON}
	var err error
	if o.Relay, err = parseRelay(*f.relay); err != nil {
		return &cli.UsageError{Err: err}
	}
	if *f.timeout <= 0 {
		return cli.Usagef("-timeout %v: want a positive duration", *f.timeout)
	}
	src, done, err := cli.Sources(*f.host)
	if err != nil {
		return err
	}
	defer done()
	o.Sources = src
	res, from := e.System, "the system's resolver"
	if *f.server != "" {
		addr, err := serverAddr(*f.server)
		if err != nil {
			return &cli.UsageError{Err: err}
		}
		res, from = newServerResolver(addr), addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), *f.timeout)
	defer cancel()
	return runBounded(ctx, e, res, o, domain, waiting{from, *f.timeout})
}

// waiting says what a run waits for: the DNS server asked and -timeout.
type waiting struct {
	from    string
	timeout time.Duration
}

// timeoutGrace is how long runBounded waits past the deadline for the
// planner to return what it found before it gives up without.
const timeoutGrace = 200 * time.Millisecond

// runBounded calls run and returns by the context's deadline (plus
// timeoutGrace) even if the lookups do not: -timeout bounds the whole
// run. When standard error is a terminal it says, after e.Notice, what it
// is waiting for.
func runBounded(ctx context.Context, e env, res mxorder.Resolver, o options, domain string, w waiting) error {
	var out bytes.Buffer // written by run until done, then read here
	done := make(chan error, 1)
	go func() { done <- run(ctx, &out, res, o, domain) }()
	var notice <-chan time.Time
	if cli.IsTerminal(e.Err) {
		t := time.NewTimer(e.Notice)
		defer t.Stop()
		notice = t.C
	}
	finish := func(err error) error {
		e.Out.Write(out.Bytes())
		// The lookups' own deadlines may expire before ctx's timer fires;
		// the planner reports lookups it abandoned at the deadline.
		dl, _ := ctx.Deadline()
		switch {
		case err == nil || time.Now().Before(dl):
			return err
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("-timeout %v reached: no plan for %s: no answer from %s: %w", w.timeout, domain, w.from, err)
		}
		return fmt.Errorf("-timeout %v reached: %w", w.timeout, err)
	}
	for {
		select {
		case err := <-done:
			return finish(err)
		case <-notice:
			fmt.Fprintf(e.Err, "mxplan: waiting for DNS answers about %s from %s (-timeout %v)\n", domain, w.from, w.timeout)
			notice = nil
		case <-ctx.Done():
			select {
			case err := <-done:
				return finish(err)
			case <-time.After(timeoutGrace):
				return fmt.Errorf("-timeout %v reached: no plan for %s: no answer from %s", w.timeout, domain, w.from)
			}
		}
	}
}

// parseRelay reads the -relay flag.
func parseRelay(s string) (mxorder.Family, error) {
	switch s {
	case "":
		return 0, nil
	case "v4", "ipv4", "4":
		return mxorder.IPv4, nil
	case "v6", "ipv6", "6":
		return mxorder.IPv6, nil
	case "dual", "46":
		return mxorder.DualStack, nil
	}
	return 0, fmt.Errorf("-relay %q: want v4, v6 or dual", s)
}

// serverAddr reads the -server flag: addr:port, or an IP address alone
// for port 53.
func serverAddr(s string) (string, error) {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	return "", fmt.Errorf("-server %q: want addr:port, or an IP address for port 53", s)
}

// serverResolver is a Go resolver that sends every query to one server
// and names that server in its errors: Go's resolver names the servers of
// /etc/resolv.conf there even when Dial sends the queries elsewhere.
type serverResolver struct {
	r      *net.Resolver
	server string
}

var (
	_ mxorder.Resolver      = serverResolver{}
	_ mxorder.CNAMEResolver = serverResolver{}
)

func newServerResolver(server string) serverResolver {
	return serverResolver{server: server, r: &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}}
}

// LookupMX looks the MX records of name up.
func (s serverResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	mx, err := s.r.LookupMX(ctx, name)
	return mx, s.named(err)
}

// LookupNetIP looks the addresses of host up.
func (s serverResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	as, err := s.r.LookupNetIP(ctx, network, host)
	return as, s.named(err)
}

// LookupCNAME looks the canonical name of host up (for the audit).
func (s serverResolver) LookupCNAME(ctx context.Context, host string) (string, error) {
	c, err := s.r.LookupCNAME(ctx, host)
	return c, s.named(err)
}

// named puts the server asked into err's *net.DNSError.
func (s serverResolver) named(err error) error {
	var de *net.DNSError
	if errors.As(err, &de) {
		de.Server = s.server
	}
	return err
}

// output is the -json form.
type output struct {
	Plan  *mxorder.Plan   `json:"plan,omitempty"`
	Error string          `json:"error,omitempty"`
	Audit *mxorder.Report `json:"audit,omitempty"`
}

// run plans delivery to domain with res and writes the result to w. It
// returns the planning error (after printing what was found), so that the
// caller can set the exit status.
func run(ctx context.Context, w io.Writer, res mxorder.Resolver, o options, domain string) error {
	p := &mxorder.Planner{Resolver: res, Sources: o.Sources, Families: o.Relay, Selector: o.Sel}
	if o.Seed >= 0 {
		p.Seeded, p.Seed = true, uint64(o.Seed)
	}
	plan, planErr := p.Plan(ctx, domain)
	var report *mxorder.Report
	if o.Audit {
		r, err := p.Audit(ctx, domain)
		if err != nil && planErr == nil {
			return err
		}
		report = r
	}
	if o.JSON {
		out := output{Plan: plan, Audit: report}
		if planErr != nil {
			out.Error = planErr.Error()
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			return err
		}
		return planErr
	}
	if plan != nil {
		writePlan(w, p, plan)
	}
	if report != nil {
		writeAudit(w, report)
	}
	return planErr
}

// writePlan prints a plan for people.
func writePlan(w io.Writer, p *mxorder.Planner, plan *mxorder.Plan) {
	kind := ""
	if plan.Implicit {
		kind = " (no MX records: implicit MX, RFC 5321 section 5.1)"
	}
	fmt.Fprintf(w, "delivery plan for %s%s\n", plan.Domain, kind)
	found := plan.DomainFamilies.Words()
	if plan.DomainFamilies == 0 {
		found = "none"
	}
	fmt.Fprintf(w, "sender: %s; MX addresses found: %s\n", plan.SenderFamilies.Words(), found)
	if plan.Self != "" {
		fmt.Fprintf(w, "local host is %s (preference %d): only better MX hosts are used\n", plan.Self, plan.SelfPreference)
	}
	sel := p.Selector
	if sel == nil {
		// The planner's own default: RFC 6724 with the on-link rule 9,
		// which keeps DNS round robin.
		sel = mxorder.DefaultSelector()
	}
	fmt.Fprintln(w, "\nhosts:")
	if len(plan.Hosts) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, h := range plan.Hosts {
		fmt.Fprintf(w, "  %d %s (%s)\n", h.Preference, h.Name, h.Families.Words())
		ds := make([]addrselect.Destination, len(h.Addrs))
		for i, c := range h.Addrs {
			ds[i] = addrselect.Destination{Addr: c.Addr, Source: c.Source}
		}
		// The plan's order may put one family first (Planner.Prefer);
		// explain each neighbour pair as the Selector sees it.
		for i, c := range h.Addrs {
			src := "no source information"
			if c.Source.IsValid() {
				src = "from " + c.Source.Addr.String()
			}
			fmt.Fprintf(w, "      %-40s %s\n", c.Addr, src)
			if i+1 < len(ds) {
				fmt.Fprintf(w, "        %s\n", sel.Explain(ds[i], ds[i+1]))
			}
		}
	}
	if len(plan.Skipped) > 0 {
		fmt.Fprintln(w, "\nskipped:")
		for _, s := range plan.Skipped {
			what := s.Host
			if s.Addr.IsValid() {
				what += " " + s.Addr.String()
			}
			line := fmt.Sprintf("  %s (%d): %s", what, s.Preference, s.Reason)
			if s.Detail != "" {
				line += ": " + s.Detail
			}
			fmt.Fprintln(w, line)
		}
	}
	if len(plan.LookupErrors) > 0 {
		fmt.Fprintln(w, "\nlookup errors:")
		for _, e := range plan.LookupErrors {
			fmt.Fprintf(w, "  %s %s: %s\n", e.Network, e.Host, e.Message)
		}
	}
	fmt.Fprintln(w, "\nattempts:")
	at := plan.Attempts()
	if len(at) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for i, a := range at {
		src := ""
		if a.Source.IsValid() {
			src = " from " + a.Source.String()
		}
		fmt.Fprintf(w, "  %d. %s port 25 (%s, preference %d)%s\n", i+1, a.Addr, a.Host, a.Preference, src)
	}
}

// writeAudit prints the audit findings.
func writeAudit(w io.Writer, r *mxorder.Report) {
	fmt.Fprintf(w, "\naudit of %s:\n", r.Domain)
	for _, re := range r.Reach {
		hosts := strings.Join(re.Hosts, ", ")
		if hosts == "" {
			hosts = "nothing"
		}
		fmt.Fprintf(w, "  %s senders reach %s\n", re.Sender.Words(), hosts)
	}
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "  no findings")
	}
	for _, f := range r.Findings {
		fmt.Fprintln(w, "  "+f.String())
	}
}
