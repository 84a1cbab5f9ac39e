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
//	-audit              also print the audit findings for mixed-stack mail
//	-json               print the plan (and audit) as JSON
//
// For example:
//
//	go run ./examples/mxplan -relay v4 -audit example.org
//	go run ./examples/mxplan -host '2001:db8::25/64; route v6 default' -json example.org
//
// mxplan only looks records up (with net.DefaultResolver, or a Go resolver
// sending to -server); it never connects to a mail server. The exit status
// is 1 when no MX host can be tried.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder"
)

// options are the settings of one run.
type options struct {
	Relay   mxorder.Family       // 0: the families Sources has routes for
	Sources addrselect.Sources   // nil: no source information
	Seed    int64                // < 0: random shuffling
	Audit   bool                 // also audit the domain
	JSON    bool                 // JSON output
	Sel     *addrselect.Selector // nil: RFC 6724
}

func main() {
	var (
		relay  = flag.String("relay", "", "IP versions the sender may use: `v4`, v6 or dual (default: from the host's routes)")
		host   = flag.String("host", "", "describe the sending host (addrselect.ParseHost `form`) instead of asking the kernel")
		seed   = flag.Int64("seed", -1, "shuffle equal preferences with seed `N` (negative: random)")
		server = flag.String("server", "", "DNS server `addr:port` to ask instead of the system's resolver")
		audit  = flag.Bool("audit", false, "also print the audit findings")
		asJSON = flag.Bool("json", false, "print JSON")
	)
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: mxplan [flags] domain")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	o := options{Seed: *seed, Audit: *audit, JSON: *asJSON}
	var err error
	if o.Relay, err = parseRelay(*relay); err != nil {
		fmt.Fprintln(os.Stderr, "mxplan:", err)
		os.Exit(2)
	}
	if *host != "" {
		h, err := addrselect.ParseHost(*host)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mxplan: -host:", err)
			os.Exit(2)
		}
		o.Sources = h
	} else {
		sys := &addrselect.System{}
		defer sys.Close()
		o.Sources = sys
	}
	res := mxorder.Resolver(net.DefaultResolver)
	if *server != "" {
		res = serverResolver(*server)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout, res, o, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "mxplan:", err)
		os.Exit(1)
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

// serverResolver is a Go resolver that sends every query to server.
func serverResolver(server string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
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
		sel = addrselect.RFC6724()
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
