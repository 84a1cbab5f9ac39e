// Command policydump prints a policy table and looks addresses up in it.
//
// With no flags it prints the RFC 6724 default table (section 2.1) and the
// precedence, label and scope of a few representative addresses. With
// -table it prints another preset (rfc3484, glibc, draft); with
// -gaiconf FILE it reads a glibc gai.conf instead. Extra arguments are
// addresses to look up.
//
//	go run ./examples/policydump
//	go run ./examples/policydump -table glibc 2001:db8::1 10.1.2.3
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"

	"github.com/dualstack/dualstack/policytable"
)

func main() {
	preset := flag.String("table", "rfc6724", "preset: rfc6724, rfc3484, glibc or draft")
	flag.Parse()

	var t *policytable.Table
	switch *preset {
	case "rfc6724":
		t = policytable.RFC6724()
	case "rfc3484":
		t = policytable.RFC3484()
	case "glibc":
		t = policytable.Glibc()
	case "draft":
		t = policytable.Draft6724Update()
	default:
		fmt.Fprintf(os.Stderr, "policydump: unknown table %q\n", *preset)
		os.Exit(2)
	}

	fmt.Printf("%s policy table (longest prefix first):\n", *preset)
	fmt.Printf("%-22s %4s %5s\n", "prefix", "prec", "label")
	for _, e := range t.Entries() {
		fmt.Printf("%-22s %4d %5d\n", e.Prefix, e.Precedence, e.Label)
	}

	addrs := flag.Args()
	if len(addrs) == 0 {
		addrs = []string{"::1", "2001:db8::1", "fd12:3456::1", "2002:c000:201::1", "2001:0:5ef5:79fd::1",
			"192.0.2.1", "10.1.2.3", "169.254.7.7", "fe80::1", "ff05::2"}
	}
	fmt.Printf("\n%-22s %4s %5s  %s\n", "address", "prec", "label", "scope")
	for _, s := range addrs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "policydump: %v\n", err)
			os.Exit(1)
		}
		at := t.Lookup(a)
		fmt.Printf("%-22s %4d %5d  %s\n", a, at.Precedence, at.Label, t.Scope(a))
	}
}
