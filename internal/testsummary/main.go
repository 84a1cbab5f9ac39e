// Command testsummary reads the output of "go test -json" on standard
// input and writes what a plain "go test" prints (each package's ok or
// FAIL line, the output of failing tests, build errors), followed by a
// summary: how many tests and subtests ran, passed, failed and were
// skipped, and every skipped test with its reason. .ci/run uses it so that
// a green run shows which tests did not run.
//
// Usage:
//
//	go test -json ./... | go run ./internal/testsummary
//
// The exit status is 1 when a test, a package or a build failed, or when
// the input holds no test event at all; 0 otherwise. Lines that are not
// JSON are copied as they are.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

func main() {
	os.Exit(run(os.Stdin, os.Stdout))
}

// event is one line of "go test -json" (cmd/test2json) output.
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output and build-fail events
}

// maxTestOutput bounds the output kept per running test; the excess is
// counted and reported instead.
const maxTestOutput = 1 << 20

// testOutput is the output of one test seen so far.
type testOutput struct {
	text    strings.Builder
	dropped int
}

// skip is a skipped test and why.
type skip struct {
	pkg, test, reason string
}

// summary accumulates the events of one run.
type summary struct {
	out                     io.Writer
	running                 map[[2]string]*testOutput // package, test
	ran, passed             int
	skips                   []skip
	failures                []string
	pkgOK, pkgFail, pkgNone int
	buildFail               int
}

// run reads the event stream from in, writes to out and returns the exit
// status.
func run(in io.Reader, out io.Writer) int {
	s := &summary{out: out, running: map[[2]string]*testOutput{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	events := 0
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(out, sc.Text())
			continue
		}
		events++
		s.add(e)
	}
	status := 0
	if err := sc.Err(); err != nil {
		fmt.Fprintf(out, "testsummary: reading go test -json output: %v\n", err)
		status = 1
	}
	if events == 0 {
		fmt.Fprintln(out, "testsummary: no go test -json events in the input")
		return 1
	}
	s.write()
	if len(s.failures) > 0 || s.pkgFail > 0 || s.buildFail > 0 {
		status = 1
	}
	return status
}

// add takes one event into account.
func (s *summary) add(e event) {
	switch e.Action {
	case "build-output":
		io.WriteString(s.out, e.Output)
	case "build-fail":
		s.buildFail++
	}
	if e.Test == "" {
		s.addPackage(e)
		return
	}
	k := [2]string{e.Package, e.Test}
	switch e.Action {
	case "run":
		s.ran++
		s.running[k] = &testOutput{}
	case "output":
		if o := s.running[k]; o != nil {
			o.add(e.Output)
		}
	case "pass":
		s.passed++
		delete(s.running, k)
	case "skip":
		s.skips = append(s.skips, skip{e.Package, e.Test, skipReason(s.running[k])})
		delete(s.running, k)
	case "fail":
		s.failures = append(s.failures, e.Package+" "+e.Test)
		if o := s.running[k]; o != nil {
			for _, line := range strings.SplitAfter(o.text.String(), "\n") {
				if !strings.HasPrefix(line, "=== ") { // "=== RUN" and such: -v only
					io.WriteString(s.out, line)
				}
			}
			if o.dropped > 0 {
				fmt.Fprintf(s.out, "    [testsummary: %d more bytes of output not kept]\n", o.dropped)
			}
		}
		delete(s.running, k)
	}
}

// addPackage takes a package-level event into account: its output lines
// are the ones plain "go test" prints (without the "PASS" line that only
// -v shows).
func (s *summary) addPackage(e event) {
	switch e.Action {
	case "output":
		if e.Output != "PASS\n" {
			io.WriteString(s.out, e.Output)
		}
	case "skip": // no test files
		s.pkgNone++
	case "pass":
		s.pkgOK++
	case "fail":
		s.pkgFail++
	}
}

func (o *testOutput) add(line string) {
	if o.text.Len()+len(line) > maxTestOutput {
		o.dropped += len(line)
		return
	}
	o.text.WriteString(line)
}

// logPrefix is the "file_test.go:123: " that t.Log and t.Skip put before
// a message.
var logPrefix = regexp.MustCompile(`^\S+\.go:\d+: `)

// skipReason returns the messages a skipped test logged, without the
// framework's own lines.
func skipReason(o *testOutput) string {
	if o == nil {
		return "(no output)"
	}
	var msgs []string
	for _, line := range strings.Split(o.text.String(), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "=== ") || strings.HasPrefix(line, "--- ") {
			continue
		}
		msgs = append(msgs, logPrefix.ReplaceAllString(line, ""))
	}
	if len(msgs) == 0 {
		return "(no reason given)"
	}
	return strings.Join(msgs, " / ")
}

// write prints the summary.
func (s *summary) write() {
	w := s.out
	fmt.Fprintf(w, "\n== test summary: %d tests and subtests ran: %d passed, %d failed, %d skipped\n",
		s.ran, s.passed, len(s.failures), len(s.skips))
	fmt.Fprintf(w, "   packages: %d ok, %d failed, %d without tests; %d builds failed\n",
		s.pkgOK, s.pkgFail, s.pkgNone, s.buildFail)
	if len(s.skips) > 0 {
		fmt.Fprintf(w, "skipped (%d):\n", len(s.skips))
		for _, sk := range s.skips {
			fmt.Fprintf(w, "  %s %s: %s\n", sk.pkg, sk.test, sk.reason)
		}
	}
	if len(s.failures) > 0 {
		fmt.Fprintf(w, "failed (%d):\n", len(s.failures))
		for _, f := range s.failures {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
}
