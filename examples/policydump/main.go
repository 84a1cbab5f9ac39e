// Command policydump prints a policy table and looks addresses up in it.
//
// With no flags it prints the RFC 6724 default table (section 2.1) and the
// precedence, label and scope of a few representative addresses. With
// -table it prints another preset (rfc3484, glibc, draft). Extra
// arguments are addresses to look up. The exit status is 0 on success, 1
// when an address cannot be read and 2 for a usage error.
//
//	go run ./examples/policydump
//	go run ./examples/policydump -table glibc 2001:db8::1 10.1.2.3
package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/dualstack/dualstack/internal/cli"
	"github.com/dualstack/dualstack/policytable"
)

var presets = map[string]func() *policytable.Table{
	"rfc6724": policytable.RFC6724,
	"rfc3484": policytable.RFC3484,
	"glibc":   policytable.Glibc,
	"draft":   policytable.Draft6724Update,
}

var defaultAddrs = []string{"::1", "2001:db8::1", "fd12:3456::1", "2002:c000:201::1", "2001:0:5ef5:79fd::1",
	"192.0.2.1", "10.1.2.3", "169.254.7.7", "fe80::1", "ff05::2"}

func main() { os.Exit(mainStatus(os.Args[1:], cli.Std())) }

// help is the -h text after the synopsis.
const help = `Prints a policy table, longest prefix first, and the precedence, label
and scope of addresses in it.

Arguments:
  ADDR...  addresses to look up (default: a few representative ones, from
           loopback to multicast). Standard input is not read.

Exit status: 0 printed, 1 an address could not be read, 2 a usage error.`

// newCommand returns the command line and the -table flag's value.
func newCommand() (*cli.Command, *string) {
	cmd := cli.New("policydump", "[ADDR...]", 0, -1, help)
	preset := cmd.Flags.String("table", "rfc6724", "the preset `table` to print: rfc6724, rfc3484, glibc or draft")
	return cmd, preset
}

// mainStatus runs policydump with the command-line arguments args and
// returns the exit status.
func mainStatus(args []string, s cli.Streams) int {
	cmd, _ := newCommand()
	return cmd.Exit(s, run(s.Out, args))
}

// run parses the command line args and prints the table and the lookups
// to w. A command-line mistake is a *cli.UsageError, -h flag.ErrHelp.
func run(w io.Writer, args []string) error {
	cmd, preset := newCommand()
	in, err := cmd.Parse(args)
	if err != nil {
		return err
	}
	mk, ok := presets[*preset]
	if !ok {
		return cli.Usagef("-table %q: want rfc6724, rfc3484, glibc or draft", *preset)
	}
	t := mk()
	addrs := make([]netip.Addr, 0, len(defaultAddrs))
	if len(in) == 0 {
		in = defaultAddrs
	}
	for i, s := range in {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("argument %d: %w", i+1, err)
		}
		addrs = append(addrs, a)
	}

	fmt.Fprintf(w, "%s policy table (longest prefix first):\n", *preset)
	fmt.Fprintf(w, "%-22s %4s %5s\n", "prefix", "prec", "label")
	for _, e := range t.Entries() {
		fmt.Fprintf(w, "%-22s %4d %5d\n", e.Prefix, e.Precedence, e.Label)
	}
	fmt.Fprintf(w, "\n%-22s %4s %5s  %s\n", "address", "prec", "label", "scope")
	for _, a := range addrs {
		at := t.Lookup(a)
		fmt.Fprintf(w, "%-22s %4d %5d  %s\n", a, at.Precedence, at.Label, t.Scope(a))
	}
	return nil
}
