// Package testenv lets a test state what the machine must provide (root,
// a command from a Debian package, network namespaces) and decides what a
// missing requirement means.
//
// Outside CI the test is skipped with the reason, so that a developer
// without root or without the packages still gets a clean run. In CI (the
// environment variable CI holds a true value, as CI services set it) the
// test fails with the same reason instead: .ci/run installs every package
// of .ci/apt-packages and runs as root, so a missing requirement there
// means the run would otherwise pass without testing what it claims to.
//
// Requirements of the network itself (a configured loopback address, a
// free port) are not this package's business: tests skip on those with
// t.Skip as before, and .ci/run lists every skip with its reason.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// InCI reports whether the tests run in CI: the environment variable CI
// holds a value strconv.ParseBool reads as true ("true", "1", "TRUE").
func InCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// Missing ends the test because the machine lacks what reason names: it
// skips outside CI and fails in CI (see [InCI]).
func Missing(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (CI=%s: a missing requirement fails the test instead of skipping it)", reason, os.Getenv("CI"))
		return
	}
	t.Skip(reason)
}

// Missingf is [Missing] with a formatted reason.
func Missingf(t testing.TB, format string, args ...any) {
	t.Helper()
	Missing(t, fmt.Sprintf(format, args...))
}

// NeedRoot ends the test as [Missing] does unless it runs as root
// (effective user id 0), which network namespaces and the real-stack
// harness need.
func NeedRoot(t testing.TB) {
	t.Helper()
	if uid := os.Geteuid(); uid != 0 {
		Missingf(t, "needs root (running as uid %d): it creates network namespaces", uid)
	}
}

// NeedCommand returns the path of the command name, found in PATH; when
// it is not there the test ends as [Missing] does, naming the Debian
// package that provides the command (listed in .ci/apt-packages).
func NeedCommand(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missingf(t, "needs the %s command (Debian package %s, in .ci/apt-packages): %v", name, debianPackage, err)
	}
	return path
}

// NeedNetns ends the test as [Missing] does unless the test can create
// a named network namespace and run a command in it with iproute2
// ("ip netns add", "ip netns exec"): that needs root, the ip command,
// CAP_SYS_ADMIN and a kernel with network namespaces, which some
// containers do not grant.
func NeedNetns(t testing.TB) {
	t.Helper()
	NeedRoot(t)
	ip := NeedCommand(t, "ip", "iproute2")
	name := fmt.Sprintf("testenv%d-probe", os.Getpid())
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		Missingf(t, "cannot create a network namespace (ip netns add: %v: %s)", err, out)
	}
	out, err := exec.Command(ip, "netns", "exec", name, "true").CombinedOutput()
	exec.Command(ip, "netns", "del", name).Run()
	if err != nil {
		Missingf(t, "cannot run in a network namespace (ip netns exec: %v: %s)", err, out)
	}
}
