// Command seedlab replays the mixed IPv4/IPv6 mail scenarios of the 2010
// field study this project starts from, on built-in data and without any
// network, and explains every decision dualstack makes: which address or
// mail exchanger wins, the RFC rule that decided and the values compared,
// what goes wrong in the real world, and what to do about it.
//
// Usage:
//
//	go run ./examples/seedlab                     # every scenario
//	go run ./examples/seedlab -list               # scenario numbers and names
//	go run ./examples/seedlab -list -json         # the same as JSON
//	go run ./examples/seedlab -scenario mx-routing # or -scenario 5
//	go run ./examples/seedlab -json               # machine-readable results
//	go run ./examples/seedlab -v                  # with full rule traces
//
// The scenarios:
//
//  1. round-robin: DNS round robin defeated by destination rule 9.
//  2. private-ula: private IPv4 against native IPv6 and ULAs.
//  3. tunnels: 6to4, Teredo and tunnel interfaces against native paths.
//  4. relay-bounce: an IPv4-only relay that cannot return a bounce.
//  5. mx-routing: a message passed between MX hosts of different families.
//  6. clients: clients without fallback and resolvers that take the first
//     answer, against the RFC 8305 Dialer.
//  7. privacy: temporary against public source addresses.
//  8. nat64: the IPv6-only relay of scenario 5 then and now, behind NAT64
//     and DNS64, and a client on an IPv6-only network dialling an IPv4
//     literal.
//
// Every name and address is from the documentation ranges (example.com,
// 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) except where
// a scenario needs a special prefix (6to4 2002::/16, Teredo 2001::/32, ULA
// fd00::/8, private 10.0.0.0/8, the well-known 192.0.0.170 and
// 192.0.0.171 of ipv4only.arpa). The NAT64 prefix is 2001:db8:64::/96. DNS answers come from an in-memory
// resolver, hosts are described with addrselect.ParseHost, shuffling uses
// fixed seeds and connections are simulated: the output is the same on
// every run and every machine.
//
// The exit status is 0 when the scenarios ran, 1 when one failed to run
// and 2 for a usage error (an unknown scenario, an argument).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/dualstack/dualstack/internal/cli"
)

func main() { os.Exit(mainStatus(os.Args[1:], cli.Std())) }

// help is the -h text after the synopsis.
const help = `Replays the mixed IPv4/IPv6 mail scenarios of the 2010 field study on
built-in data, without network, and explains every decision.

Arguments: none, and standard input is not read. -scenario selects one
scenario by its name or by its number (as -list and the output number
them).

Exit status: 0 done, 1 a scenario failed to run, 2 a usage error (such as
an unknown scenario).`

// mainStatus runs seedlab with the command-line arguments args and
// returns the exit status.
func mainStatus(args []string, s cli.Streams) int {
	cmd := cli.New("seedlab", "", 0, 0, help)
	var (
		sel     = cmd.Flags.String("scenario", "", "run only the scenario `NAME or NUMBER` (see -list)")
		list    = cmd.Flags.Bool("list", false, "list the scenarios (with -json: as JSON) and exit")
		asJSON  = cmd.Flags.Bool("json", false, "print the results as JSON")
		verbose = cmd.Flags.Bool("v", false, "print the full rule traces")
	)
	_, err := cmd.Parse(args)
	if err == nil {
		err = seedlab(s.Out, *sel, *list, *asJSON, *verbose)
	}
	return cmd.Exit(s, err)
}

// seedlab does what the flags ask: list the scenarios or run the selected
// ones (all when sel is empty).
func seedlab(w io.Writer, sel string, list, asJSON, verbose bool) error {
	name, err := scenarioName(sel)
	if err != nil {
		return err
	}
	switch {
	case list && asJSON:
		return listJSON(w)
	case list:
		listScenarios(w)
		return nil
	}
	return run(context.Background(), w, name, asJSON, verbose)
}

// scenarioName returns the name of the scenario sel selects, by name or
// by number (from 1, as the output numbers them); "" selects all.
func scenarioName(sel string) (string, error) {
	if sel == "" {
		return "", nil
	}
	n, err := strconv.Atoi(sel)
	for i, s := range scenarios {
		if s.name == sel || err == nil && n == i+1 {
			return s.name, nil
		}
	}
	return "", cli.Usagef("-scenario %q: no such scenario; want a name or a number from 1 to %d (see -list)", sel, len(scenarios))
}

// listScenarios prints the number, name and title of each scenario.
func listScenarios(w io.Writer) {
	for i, s := range scenarios {
		fmt.Fprintf(w, "%d. %-13s %s\n", i+1, s.name, s.title)
	}
}

// listEntry is one scenario in the -list -json output.
type listEntry struct {
	Number int    `json:"number"`
	Name   string `json:"name"`
	Title  string `json:"title"`
}

// listJSON prints the scenarios as a JSON array of listEntry.
func listJSON(w io.Writer) error {
	out := make([]listEntry, len(scenarios))
	for i, s := range scenarios {
		out[i] = listEntry{i + 1, s.name, s.title}
	}
	return writeJSON(w, out)
}

// writeJSON writes v indented, without HTML escaping.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// run runs one scenario (name) or all of them (name == "") and writes
// the results to w as text or JSON.
func run(ctx context.Context, w io.Writer, name string, asJSON, verbose bool) error {
	results, err := runScenarios(ctx, name)
	if err != nil {
		return err
	}
	if asJSON {
		if !verbose {
			for i := range results {
				for j := range results[i].Steps {
					results[i].Steps[j].Trace = nil
				}
			}
		}
		return writeJSON(w, results)
	}
	for i, r := range results {
		if i > 0 {
			fmt.Fprintln(w)
		}
		writeResult(w, r, verbose)
	}
	return nil
}

// runScenarios runs the named scenario, or all when name is empty.
func runScenarios(ctx context.Context, name string) ([]Result, error) {
	var results []Result
	for i, s := range scenarios {
		if name != "" && s.name != name {
			continue
		}
		r, err := s.run(ctx)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", s.name, err)
		}
		r.Number, r.Name, r.Title = i+1, s.name, s.title
		results = append(results, r)
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("unknown scenario %q (try -list)", name)
	}
	return results, nil
}

// Result is what one scenario found.
type Result struct {
	Number int    `json:"number"`
	Name   string `json:"name"`
	Title  string `json:"title"`
	// Study is what the field study observed.
	Study string `json:"study"`
	Steps []Step `json:"steps"`
	// Consequence is what goes wrong in the real world.
	Consequence string   `json:"consequence"`
	Advice      []string `json:"advice"`
}

// Step is one decision of a scenario.
type Step struct {
	Title string `json:"title"`
	// Decision is what dualstack decided, in one line.
	Decision string `json:"decision"`
	// Rule and Reason say why: the deciding rule (such as "dst-9" or
	// "skip:family") and the compared values.
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Details are lines shown under the decision (plans, tables).
	Details []string `json:"details,omitempty"`
	// Trace is the full rule trace, shown with -v.
	Trace []string `json:"trace,omitempty"`

	// Structured results, for -json users and the tests.
	Order    []string `json:"order,omitempty"`     // addresses or hosts in the decided order
	Skipped  []string `json:"skipped,omitempty"`   // "host: reason"
	Findings []string `json:"findings,omitempty"`  // audit findings ("code host addr")
	HandedTo string   `json:"handed_to,omitempty"` // the MX host that took the message
	Error    string   `json:"error,omitempty"`
}

// writeResult prints one scenario's result for people.
func writeResult(w io.Writer, r Result, verbose bool) {
	head := fmt.Sprintf("== %d. %s: %s ", r.Number, r.Name, r.Title)
	fmt.Fprintln(w, head+strings.Repeat("=", max(3, 78-len(head))))
	fmt.Fprintln(w, "Study:", r.Study)
	for _, s := range r.Steps {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "--", s.Title)
		fmt.Fprintln(w, "   decision:", s.Decision)
		if s.Reason != "" {
			if s.Rule != "" {
				fmt.Fprintf(w, "   why:      [%s] %s\n", s.Rule, s.Reason)
			} else {
				fmt.Fprintln(w, "   why:     ", s.Reason)
			}
		}
		if s.Error != "" {
			fmt.Fprintln(w, "   error:   ", s.Error)
		}
		for _, d := range s.Details {
			fmt.Fprintln(w, "     ", d)
		}
		if verbose && len(s.Trace) > 0 {
			fmt.Fprintln(w, "   trace:")
			for _, t := range s.Trace {
				fmt.Fprintln(w, "     ", t)
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Consequence:", r.Consequence)
	fmt.Fprintln(w, "Advice:")
	for _, a := range r.Advice {
		fmt.Fprintln(w, "  -", a)
	}
}
