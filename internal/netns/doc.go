// Package netns creates and removes Linux network namespaces, veth pairs
// and bridges for live tests and examples, runs functions and programs
// inside a namespace, and stops what it started by process id. It uses
// only the standard library and the ip command of iproute2; everything
// needs root. The package is empty on systems other than Linux.
//
// A namespace made here is a named one (ip netns add NAME, a bind mount
// under /run/netns), so ip netns exec and /etc/netns/NAME/resolv.conf work
// for the programs started in it.
package netns
