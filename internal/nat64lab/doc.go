// Package nat64lab builds, for tests, an IPv6-only network that reaches
// IPv4 through NAT64 (RFC 6146) and DNS64 (RFC 6147) from real
// components, in network namespaces of one Linux host:
//
//	client (IPv6 only) ─┐
//	                    ├─ router: tayga (NAT64, 64:ff9b::/96), unbound (DNS64), NSD ─ server (IPv4 only, SMTP)
//	dual (IPv4 + IPv6) ─┘
//
// [Start] sets it up and registers its removal with the test: every
// process it starts is stopped by its process id and every namespace is
// deleted, also when the test fails. Code runs in a namespace in two
// ways: [Lab.Do] runs a function on an OS thread moved into it (sockets
// it creates stay there), and [Lab.RunChild] runs the test binary itself
// inside it, for code that starts goroutines of its own (a resolver, a
// dialer); the child finds its job with [ChildJob] from TestMain and
// answers with [Reply].
//
// Nothing leaves the namespaces: the router has no link to the host's
// network. It needs root and the Debian packages iproute2, tayga,
// unbound and nsd (listed in .ci/apt-packages); without them [Start]
// ends the test through internal/testenv (skip, or fail in CI). The
// set-up facts (tayga's address restrictions, unbound's stub zones) are
// in the comments of lab_linux.go.
package nat64lab
