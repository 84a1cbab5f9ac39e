//go:build !linux

// Command netlab runs the study's mail scenarios live with Postfix and
// NSD in Linux network namespaces; see main.go. It needs Linux.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "netlab: the lab needs Linux network namespaces")
	os.Exit(1)
}
