//go:build linux

// Command netlab runs the study's mixed IPv4/IPv6 mail scenarios live:
// as root on Linux it builds a small mail internet in network namespaces
// (IPv4-only, IPv6-only and dual-stack hosts on one bridge, and IPv6-only
// hosts behind a tayga NAT64 with an unbound DNS64), serves the lab's
// zone with NSD, relays with real Postfix instances, records with
// SMTP sinks written in Go, and prints, for every scenario, what Postfix
// did next to what mxorder planned for the same sender, and whether they
// agree (with the reason for every difference). A second relay built on
// the library (Plan.Deliver with net/smtp) runs the same messages.
// Exim 4.96, from an unpacked copy of Debian's packages ($NETLAB_EXIM_ROOT,
// see exim.go), relays the messages of scenarios 1 and 6 beside Postfix.
//
// Usage (Debian packages postfix, nsd, tayga, unbound and iproute2
// installed):
//
//	sudo go run ./examples/netlab                   # every scenario
//	sudo go run ./examples/netlab -scenario 2       # one scenario (number or name)
//	sudo go run ./examples/netlab -json             # results as JSON
//	sudo go run ./examples/netlab -keep             # leave the lab up
//	sudo go run ./examples/netlab -clean nl1a2b     # remove what -keep left
//	sudo go run ./examples/netlab -q                # no progress on stderr
//
// Without -keep everything the lab started is stopped and removed when
// it ends, fails or is interrupted (SIGINT, SIGTERM, SIGHUP): processes
// (by pid, through their namespaces), namespaces, /etc/netns entries and
// files. After -keep, netlab -clean PREFIX removes them. No traffic
// leaves the lab: its bridge has no uplink and every address in its zone
// belongs to one of its namespaces.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	var (
		which  = flag.String("scenario", "", "run only the scenario `N` (number or name)")
		asJSON = flag.Bool("json", false, "print the results as JSON")
		keep   = flag.Bool("keep", false, "leave the namespaces and processes up for inspection")
		quiet  = flag.Bool("q", false, "no progress messages on stderr")
		remove = flag.String("clean", "", "remove what the lab with namespace prefix `PREFIX` left (after -keep) and exit")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "netlab: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if *remove != "" {
		if err := clean(*remove); err != nil {
			fmt.Fprintln(os.Stderr, "netlab:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	var progress io.Writer = os.Stderr
	if *quiet {
		progress = nil
	}
	os.Exit(run(ctx, os.Stdout, progress, *which, *asJSON, *keep))
}

// run runs the lab and returns the exit code: 0 when every scenario ran
// (agreements and explained differences alike), 1 on failure, 2 on bad
// usage.
func run(ctx context.Context, stdout, progress io.Writer, which string, asJSON, keep bool) int {
	sel, err := selectScenarios(which)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netlab:", err)
		return 2
	}
	if err := requirements(); err != nil {
		fmt.Fprintln(os.Stderr, "netlab:", err)
		return 1
	}
	start := time.Now()
	results, l, err := runLab(ctx, progress, sel)
	if l != nil {
		if keep {
			fmt.Fprintf(os.Stderr, "netlab: -keep: namespaces %s-* (ip netns exec %s-relay4 ...), files in %s; remove all with: netlab -clean %s\n", l.prefix, l.prefix, l.dir, l.prefix)
		} else {
			l.close()
		}
	}
	total := time.Since(start)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(struct {
			Scenarios []*Result `json:"scenarios"`
			Elapsed   Duration  `json:"elapsed"`
		}{results, Duration(total)})
	} else {
		for _, r := range results {
			printResult(stdout, r)
		}
		fmt.Fprintf(stdout, "lab run time: %v\n", total.Round(time.Millisecond))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "netlab:", err)
		return 1
	}
	return 0
}

// selectScenarios returns the scenarios named by which ("" for all).
func selectScenarios(which string) ([]scenario, error) {
	if which == "" {
		return scenarios, nil
	}
	for _, s := range scenarios {
		if which == s.name || which == strconv.Itoa(s.number) {
			return []scenario{s}, nil
		}
	}
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = strconv.Itoa(s.number) + " " + s.name
	}
	return nil, fmt.Errorf("no scenario %q (number or name: %s)", which, strings.Join(names, ", "))
}

// runLab builds the lab and runs the scenarios. The lab is returned
// (also on error) for the caller to close or keep.
func runLab(ctx context.Context, progress io.Writer, sel []scenario) ([]*Result, *lab, error) {
	l, err := newLab(ctx, progress)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			l.close()
			panic(p)
		}
	}()
	var results []*Result
	for _, s := range sel {
		r := &Result{Number: s.number, Name: s.name, Title: s.title}
		start := time.Now()
		err := s.run(ctx, l, r)
		r.Elapsed = Duration(time.Since(start))
		if err != nil {
			r.Err = err.Error()
		}
		results = append(results, r)
		l.logf("scenario %d %s: %v", s.number, s.name, time.Duration(r.Elapsed).Round(time.Millisecond))
		if err != nil {
			return results, l, fmt.Errorf("scenario %d (%s): %w", s.number, s.name, err)
		}
	}
	return results, l, nil
}
