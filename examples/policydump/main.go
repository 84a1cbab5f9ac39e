// Command policydump prints a policy table and looks addresses up in it.
//
// With no flags it prints the RFC 6724 default table (section 2.1) and the
// precedence, label and scope of a few representative addresses. With
// -table it prints another preset (rfc3484, glibc, draft). Extra
// arguments are addresses to look up.
//
//	go run ./examples/policydump
//	go run ./examples/policydump -table glibc 2001:db8::1 10.1.2.3
package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"

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

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "policydump:", err)
		os.Exit(2)
	}
}

func run(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("policydump", flag.ContinueOnError)
	preset := fs.String("table", "rfc6724", "preset: rfc6724, rfc3484, glibc or draft")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mk, ok := presets[*preset]
	if !ok {
		return fmt.Errorf("unknown table %q", *preset)
	}
	t := mk()
	addrs := make([]netip.Addr, 0, len(defaultAddrs))
	in := fs.Args()
	if len(in) == 0 {
		in = defaultAddrs
	}
	for _, s := range in {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return err
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
