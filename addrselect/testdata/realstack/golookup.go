//go:build ignore

// Command golookup prints, one a line, the addresses Go's own resolver
// (net.Resolver with PreferGo) returns for the name given as the only
// argument, in the order it returns them: Go sorts them with its RFC 6724
// implementation (net/addrselect.go). Written for the addrselect
// real-stack tests, which build it with "go build golookup.go".
package main

import (
	"context"
	"fmt"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: golookup NAME")
		os.Exit(2)
	}
	r := &net.Resolver{PreferGo: true}
	addrs, err := r.LookupIPAddr(context.Background(), os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "golookup:", err)
		os.Exit(1)
	}
	for _, a := range addrs {
		fmt.Println(a.IP)
	}
}
