// Command gaisort sorts addresses the way glibc's getaddrinfo would under a
// given /etc/gai.conf (RFC 6724 section 6 with glibc's tables and rules),
// and says which rule put each address before the next.
//
// Usage:
//
//	go run ./examples/gaisort [-gaiconf FILE] [-host 'DESC'] [-explain] [ADDR...]
//
//	-gaiconf FILE  read the policy table from a gai.conf (default: glibc's
//	               built-in table, as with an empty /etc/gai.conf)
//	-host 'DESC'   describe the host whose sources count, in
//	               addrselect.ParseHost form, instead of asking this
//	               machine's kernel: '2001:db8::5/64, 192.0.2.5/24;
//	               route v4 default; route v6 default'
//	-explain       print the compared values of each decision too
//
// Without ADDR arguments the addresses are read from standard input,
// separated by blanks or newlines; '#' starts a comment. The gai.conf is
// read the lenient way glibc reads it: lines glibc would ignore are reported
// on standard error, followed by the linter's remarks on the table
// (policytable.Lint); neither stops the sort. A remark about rows the file
// does not give (glibc keeps its built-in label or precedence rows when
// the file has no line of that kind) names those rows, not the file.
//
// The exit status is 0 when the addresses were sorted, 1 when an address,
// the gai.conf or the host's sources could not be read, and 2 for a usage
// error (flags go before the addresses).
//
// For example:
//
//	go run ./examples/gaisort -gaiconf /etc/gai.conf 2001:db8::1 192.0.2.1 fd00::1
//	echo 2002:c000:201::1 203.0.113.5 | go run ./examples/gaisort -explain \
//	    -host '2001:db8:1::5/64, 10.1.2.5/24; route v4 default; route v6 default'
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/internal/cli"
	"github.com/dualstack/dualstack/policytable"
)

// maxAddrs bounds the addresses read (glibc sorts any number; a list this
// long is a mistake).
const maxAddrs = 4096

// InputError reports an address that cannot be read: where it was (an
// argument number or a line of standard input), the text and why.
type InputError struct {
	Where string
	Text  string
	Err   error
}

// Error returns "WHERE: "TEXT": CAUSE".
func (e *InputError) Error() string {
	return fmt.Sprintf("%s: %q: %v", e.Where, e.Text, e.Err)
}

// Unwrap returns the cause.
func (e *InputError) Unwrap() error { return e.Err }

// errTooMany is the cause of an InputError past maxAddrs.
var errTooMany = fmt.Errorf("more than %d addresses", maxAddrs)

func main() { os.Exit(mainStatus(os.Args[1:], cli.Std())) }

// help is the -h text after the synopsis.
const help = `Sorts addresses the way glibc's getaddrinfo would under a gai.conf and
says which RFC 6724 rule put each address before the next.

Arguments:
  ADDR...  the addresses to sort (IPv4 or IPv6). Without arguments they are
           read from standard input, separated by blanks or newlines; '#'
           starts a comment.

Exit status: 0 sorted, 1 an address, the gai.conf or the host's sources
could not be read, 2 a usage error.`

// mainStatus runs gaisort with the command-line arguments args and returns
// the exit status.
func mainStatus(args []string, s cli.Streams) int {
	cmd := cli.New("gaisort", "[ADDR...]", 0, -1, help)
	var (
		conf    = cmd.Flags.String("gaiconf", "", "read the policy table from gai.conf `FILE` (default: glibc's built-in table)")
		hostArg = cmd.Flags.String("host", "", "describe the host (addrselect.ParseHost `form`) instead of asking the kernel")
		explain = cmd.Flags.Bool("explain", false, "print the compared values of each decision")
	)
	addrs, err := cmd.Parse(args)
	if err == nil {
		err = gaisort(s, *conf, *hostArg, *explain, addrs)
	}
	return cmd.Exit(s, err)
}

// gaisort reads the table (glibc's built-in one when conf is empty), the
// host and the addresses (from standard input when args is empty), then
// sorts and prints.
func gaisort(s cli.Streams, conf, hostArg string, explain bool, args []string) error {
	src, done, err := cli.Sources(hostArg)
	if err != nil {
		return err
	}
	defer done()
	table := policytable.Glibc()
	if conf != "" {
		f, err := os.Open(conf)
		if err != nil {
			return err
		}
		table, err = readGaiConf(f, conf, s.Err)
		f.Close()
		if err != nil {
			return err
		}
	}
	var as []netip.Addr
	if len(args) > 0 {
		as, err = parseArgs(args)
	} else {
		if cli.IsTerminal(s.In) {
			fmt.Fprintln(s.Err, "gaisort: reading addresses from standard input (blanks or newlines between them; end with Ctrl-D)")
		}
		as, err = readAddrs(s.In)
	}
	if err != nil {
		return err
	}
	return sortAndPrint(context.Background(), s.Out, table, src, as, explain)
}

// readGaiConf reads a gai.conf as glibc does and writes to warn the lines
// glibc would ignore or misread and the linter's findings.
func readGaiConf(r io.Reader, name string, warn io.Writer) (*policytable.Table, error) {
	t, warnings, err := policytable.ParseGaiConfLenient(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var crash error
	for _, w := range warnings {
		if errors.Is(w, policytable.ErrGlibcCrash) {
			crash = cmp.Or(crash, error(w)) // the first such line
			continue
		}
		fmt.Fprintf(warn, "gaisort: %s: warning: %v\n", name, w)
	}
	if crash != nil {
		// glibc's getaddrinfo crashes on this file: no order to show.
		return nil, fmt.Errorf("%s: %w", name, crash)
	}
	findings := policytable.Lint(t)
	builtin := builtinFindings(t, findings)
	for _, f := range findings {
		if set, ok := builtin[f]; ok {
			fmt.Fprintf(warn, "gaisort: glibc's built-in %s rows (%s has no usable %s line): lint: %s\n", set, name, set, f)
			continue
		}
		fmt.Fprintf(warn, "gaisort: %s: lint: %s\n", name, f)
	}
	return t, nil
}

// builtinFindings returns those of findings, policytable.Lint(t), that are
// about glibc's built-in rows rather than the file's, with the name of
// their set ("precedence" or "label"). A gai.conf without usable lines of
// one kind keeps glibc's built-in rows of that kind (gai.conf(5)); a
// finding is about those rows when it goes away with RFC 6724's rows of
// that kind in their place (RFC 6724's table has no findings, and each
// lint check looks at one set). The IPv4 scope rules are left out: glibc
// has none built in, so their findings are always the file's.
func builtinFindings(t *policytable.Table, findings []policytable.Finding) map[policytable.Finding]string {
	g, rfc := policytable.Glibc(), policytable.RFC6724()
	sets := []struct {
		name        string
		builtin     bool
		prec, label []policytable.Row
	}{
		{"precedence", slices.Equal(t.Precedences(), g.Precedences()), rfc.Precedences(), t.Labels()},
		{"label", slices.Equal(t.Labels(), g.Labels()), t.Precedences(), rfc.Labels()},
	}
	out := map[policytable.Finding]string{}
	for _, set := range sets {
		if !set.builtin {
			continue
		}
		swapped, err := policytable.NewSplit(set.prec, set.label)
		if err != nil {
			continue // cannot happen: both sets come from valid tables
		}
		stays := map[policytable.Finding]bool{}
		for _, f := range policytable.Lint(swapped) {
			stays[f] = true
		}
		for _, f := range findings {
			if f.Code != policytable.CodeScopeNoLinkLocal && !stays[f] {
				out[f] = set.name
			}
		}
	}
	return out
}

// parseArgs parses command-line addresses.
func parseArgs(args []string) ([]netip.Addr, error) {
	if len(args) > maxAddrs {
		return nil, &InputError{Where: fmt.Sprintf("argument %d", maxAddrs+1), Text: args[maxAddrs], Err: errTooMany}
	}
	out := make([]netip.Addr, 0, len(args))
	for i, s := range args {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, &InputError{Where: fmt.Sprintf("argument %d", i+1), Text: s, Err: err}
		}
		out = append(out, a)
	}
	return out, nil
}

// readAddrs reads addresses separated by blanks and newlines; '#' starts
// a comment.
func readAddrs(r io.Reader) ([]netip.Addr, error) {
	var out []netip.Addr
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		for _, f := range strings.Fields(text) {
			where := fmt.Sprintf("line %d", line)
			if len(out) == maxAddrs {
				return nil, &InputError{Where: where, Text: f, Err: errTooMany}
			}
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, &InputError{Where: where, Text: f, Err: err}
			}
			out = append(out, a)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading addresses: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("no addresses given")
	}
	return out, nil
}

// sortAndPrint sorts as with glibc under table, finding sources with src,
// and prints the order with the deciding rule between neighbours.
func sortAndPrint(ctx context.Context, w io.Writer, table *policytable.Table, src addrselect.Sources, as []netip.Addr, explain bool) error {
	sel := addrselect.Glibc(addrselect.WithTable(table))
	sorted, err := sel.Sort(ctx, as, src)
	if err != nil {
		return err
	}
	trace := sel.Trace(sorted)
	for i, d := range sorted {
		source := "no source (unreachable)"
		if d.Source.IsValid() {
			source = "from " + d.Source.Addr.String()
		}
		at := table.Lookup(d.Addr)
		fmt.Fprintf(w, "%2d. %-40s %-28s prec %2d label %2d scope %s\n", i+1, d.Addr, source, at.Precedence, at.Label, table.Scope(d.Addr))
		if i < len(trace) {
			dec := trace[i]
			fmt.Fprintf(w, "      %s\n", dec)
			if explain {
				fmt.Fprintf(w, "        %s: %s\n", dec.A.Addr, facts(dec.A))
				fmt.Fprintf(w, "        %s: %s\n", dec.B.Addr, facts(dec.B))
			}
		}
	}
	return nil
}

// facts formats the values a decision compared for one side.
func facts(f addrselect.Facts) string {
	if !f.Usable {
		return "unusable (no source)"
	}
	var flags []string
	for _, fl := range []struct {
		on   bool
		name string
	}{{f.Deprecated, "deprecated"}, {f.Home, "home"}, {f.CareOf, "care-of"}, {f.Temporary, "temporary"}, {f.Encapsulated, "encapsulated"}} {
		if fl.on {
			flags = append(flags, fl.name)
		}
	}
	s := fmt.Sprintf("source %s, scope %s/%s, label %d/%d, precedence %d, common prefix %d",
		f.Source, f.Scope, f.SourceScope, f.Label, f.SourceLabel, f.Precedence, f.CommonPrefixLen)
	if len(flags) > 0 {
		s += ", source " + strings.Join(flags, " ")
	}
	return s
}
