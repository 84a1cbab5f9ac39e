// Package clitest checks that a program follows the conventions of
// package cli: the exit status, the output, an error printed once and,
// for a usage error, the pointer to -h.
package clitest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/internal/cli"
)

// Case is one command line and what it must produce.
type Case struct {
	Name  string
	Args  []string
	Stdin string
	// Status is the exit status wanted.
	Status int
	// Stdout and Stderr must appear in standard output and standard
	// error; Stderr once when Status is not 0. With Status 0 and Stderr
	// empty, standard error must be empty.
	Stdout, Stderr string
}

// Run runs each case as a subtest of t through run, the program's
// command line (arguments without the program name), and checks it. name
// is the program's name, which starts its error lines.
func Run(t *testing.T, name string, run func(args []string, s cli.Streams) int, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			status := run(c.Args, cli.Streams{In: strings.NewReader(c.Stdin), Out: &out, Err: &errOut})
			stdout, stderr := out.String(), errOut.String()
			if status != c.Status {
				t.Errorf("%s %q: status %d; want %d\nstderr:\n%s", name, c.Args, status, c.Status, stderr)
			}
			if !strings.Contains(stdout, c.Stdout) || !strings.Contains(stderr, c.Stderr) {
				t.Errorf("%s %q:\nstdout:\n%s\nstderr:\n%s\nwant %q in stdout and %q in stderr", name, c.Args, stdout, stderr, c.Stdout, c.Stderr)
			}
			switch {
			case c.Status == cli.StatusOK && c.Stderr == "" && stderr != "":
				t.Errorf("%s %q: stderr %q; want nothing", name, c.Args, stderr)
			case c.Status != cli.StatusOK && (strings.Count(stderr, name+": ") != 1 || c.Stderr != "" && strings.Count(stderr, c.Stderr) != 1):
				t.Errorf("%s %q: stderr %q; want the error printed once", name, c.Args, stderr)
			}
			if hint := strings.Contains(stderr, name+" -h for help"); hint != (c.Status == cli.StatusUsage) {
				t.Errorf("%s %q: pointer to -h on stderr: %v; want it for usage errors only:\n%s", name, c.Args, hint, stderr)
			}
		})
	}
}
