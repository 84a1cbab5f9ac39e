//go:build linux

package main

import (
	"fmt"
	"io"
	"time"
)

// printResult writes one scenario for people: what Postfix did, what the
// plans say, what the library relay did, and the agreement table.
func printResult(w io.Writer, r *Result) {
	fmt.Fprintf(w, "== %d. %s (%s)\n", r.Number, r.Title, r.Name)
	section := func(name string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(w, "%s:\n", name)
		for _, l := range lines {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	section("Postfix did", r.Postfix)
	section("mxorder planned", r.Plans)
	fmt.Fprintln(w, "side by side:")
	for _, row := range r.Rows {
		verdict := "AGREE"
		if !row.Agree {
			verdict = "DIFFER"
		}
		fmt.Fprintf(w, "  [%s] %s\n", verdict, row.Aspect)
		fmt.Fprintf(w, "      Postfix: %s\n", row.Postfix)
		fmt.Fprintf(w, "      plan:    %s\n", row.Plan)
		if row.Reason != "" {
			fmt.Fprintf(w, "      why:     %s\n", row.Reason)
		}
	}
	if len(r.LibRows) > 0 {
		fmt.Fprintln(w, "library relay against its plan:")
	}
	for _, row := range r.LibRows {
		verdict := "FOLLOWED"
		if !row.Followed {
			verdict = "DEVIATED"
		}
		fmt.Fprintf(w, "  [%s] %s -> %s\n", verdict, row.Relay, row.To)
		fmt.Fprintf(w, "      did:     %s\n", row.Did)
		fmt.Fprintf(w, "      planned: %s\n", row.Planned)
	}
	if r.Err != "" {
		fmt.Fprintf(w, "error: %s\n", r.Err)
	}
	fmt.Fprintf(w, "(%d SMTP sessions recorded by the sinks; scenario took %s)\n\n", len(r.Sessions), time.Duration(r.Elapsed).Round(time.Millisecond))
}
