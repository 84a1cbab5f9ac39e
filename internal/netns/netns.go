//go:build linux

package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrUnavailable reports that network namespaces cannot be used here (not
// root, no ip command, or the kernel or container refuses).
var ErrUnavailable = errors.New("network namespaces unavailable")

// runDir is where ip netns keeps the namespace bind mounts.
const runDir = "/run/netns"

// Check reports whether namespaces can be created and entered, by making
// and removing a probe namespace named probe. The error wraps
// [ErrUnavailable] and says why.
func Check(probe string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: root is needed", ErrUnavailable)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w: no ip command (Debian package iproute2): %v", ErrUnavailable, err)
	}
	ns, err := Add(probe)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer ns.Delete()
	if err := ns.Do(func() error { return nil }); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if out, err := ns.Command("true").CombinedOutput(); err != nil {
		return fmt.Errorf("%w: ip netns exec: %v: %s", ErrUnavailable, err, bytes.TrimSpace(out))
	}
	return nil
}

// NS is a named network namespace.
type NS struct {
	Name string
}

// Add creates the namespace name with its loopback interface up.
func Add(name string) (*NS, error) {
	if err := IP("netns", "add", name); err != nil {
		return nil, err
	}
	ns := &NS{Name: name}
	if err := ns.IP("link", "set", "lo", "up"); err != nil {
		ns.Delete()
		return nil, err
	}
	return ns, nil
}

// AddAll creates the namespaces names with one ip process. Their
// loopback interfaces are down (see [HostLines]).
func AddAll(names ...string) ([]*NS, error) {
	lines := make([]string, len(names))
	for i, name := range names {
		lines[i] = "netns add " + name
	}
	if err := batch(nil, lines); err != nil {
		return nil, err
	}
	out := make([]*NS, len(names))
	for i, name := range names {
		out[i] = &NS{Name: name}
	}
	return out, nil
}

// IP runs the ip command with args in the host's namespace.
func IP(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// batch runs ip commands (without the leading "ip", one per line) in one
// ip process (ip -batch), inside the namespace n or, for nil, the host's.
func batch(n *NS, lines []string) error {
	var args []string
	if n != nil {
		args = []string{"-n", n.Name}
	}
	cmd := exec.Command("ip", append(args, "-batch", "-")...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s -batch: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Batch runs ip commands inside the namespace with one ip process: each
// line is an ip command line without "ip" and without options (for
// example "addr add 192.0.2.1/24 dev eth0"; "route add ::/0 dev eth0"
// for IPv6).
func (n *NS) Batch(lines ...string) error { return batch(n, lines) }

// IP runs the ip command with args inside the namespace (ip -n NAME).
func (n *NS) IP(args ...string) error {
	return IP(append([]string{"-n", n.Name}, args...)...)
}

// Command returns a command that runs name with args inside the
// namespace through ip netns exec (which also mounts the files of
// /etc/netns/NAME over those of /etc).
func (n *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Run runs name with args inside the namespace and returns an error with
// its output when it fails.
func (n *NS) Run(name string, args ...string) error {
	out, err := n.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %s %s: %v: %s", n.Name, name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Do calls f on an OS thread switched into the namespace, so that the
// sockets f creates (listeners, connections) belong to it; they stay
// there after Do returns. f runs on a goroutine of its own, locked to
// that thread: goroutines f starts, and the caller, stay in their own
// namespace, and a thread that cannot be switched back ends with that
// goroutine instead of being reused.
func (n *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- n.do(f) }()
	return <-errc
}

// do is Do on the calling goroutine, which it leaves locked to its
// thread when the thread cannot leave the namespace.
func (n *NS) do(f func() error) error {
	target, err := os.Open(filepath.Join(runDir, n.Name))
	if err != nil {
		return fmt.Errorf("namespace %s: %w", n.Name, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("namespace of this thread: %w", err)
	}
	defer self.Close()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter namespace %s: %w", n.Name, err)
	}
	ferr := f()
	if err := setns(self); err != nil {
		// Leave the thread locked: the runtime ends it with this
		// goroutine's exit rather than reuse it in the wrong namespace.
		return fmt.Errorf("leave namespace %s: %w", n.Name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// DialContext dials address with d (nil: a zero net.Dialer) from inside
// the namespace.
func (n *NS) DialContext(ctx context.Context, d *net.Dialer, network, address string) (net.Conn, error) {
	if d == nil {
		d = &net.Dialer{}
	}
	var c net.Conn
	err := n.Do(func() (err error) {
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// Listen listens on address inside the namespace.
func (n *NS) Listen(network, address string) (net.Listener, error) {
	var ln net.Listener
	err := n.Do(func() (err error) {
		ln, err = net.Listen(network, address)
		return err
	})
	return ln, err
}

func setns(f *os.File) error {
	_, _, e := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0)
	if e != 0 {
		return e
	}
	return nil
}

// Pids returns the ids of the processes running in the namespace.
func (n *NS) Pids() ([]int, error) {
	out, err := exec.Command("ip", "netns", "pids", n.Name).Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns pids %s: %w", n.Name, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

// KillAll stops every process in the namespace, by process id: SIGTERM,
// then SIGKILL for those still there after grace. Only processes started
// inside the namespace can be there, so nothing else is touched.
func (n *NS) KillAll(grace time.Duration) error {
	pids, err := n.Pids()
	if err != nil || len(pids) == 0 {
		return err
	}
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if pids, _ = n.Pids(); len(pids) == 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	return nil
}

// Delete stops the processes left in the namespace, removes it (with its
// interfaces; a veth pair goes with either end) and its /etc/netns
// directory.
func (n *NS) Delete() error {
	n.KillAll(2 * time.Second)
	err := IP("netns", "del", n.Name)
	if rerr := os.RemoveAll(n.EtcDir()); err == nil && rerr != nil {
		err = rerr
	}
	return err
}

// EtcDir is /etc/netns/NAME: files there replace those of /etc for the
// programs run with [NS.Command].
func (n *NS) EtcDir() string { return filepath.Join("/etc/netns", n.Name) }

// WriteEtc writes /etc/netns/NAME/file (for example resolv.conf).
func (n *NS) WriteEtc(file, content string) error {
	if err := os.MkdirAll(n.EtcDir(), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(n.EtcDir(), file), []byte(content), 0o644)
}

// PlugLines returns the ip commands, to run in n, that join peer to
// the bridge bridge of n with a veth pair: the end outer stays in n,
// enslaved to the bridge; the end inner is created in peer.
func (n *NS) PlugLines(bridge, outer string, peer *NS, inner string) []string {
	return []string{
		"link add " + outer + " type veth peer name " + inner + " netns " + peer.Name,
		"link set " + outer + " master " + bridge,
		"link set " + outer + " up",
	}
}

// HostLines returns the ip commands, to run in a namespace, that bring
// up its loopback and dev (without automatic link-local addresses, so the
// host has exactly the addresses it is given), add the prefixes (IPv6
// ones without duplicate address detection, so they are usable at once)
// and a default route through dev for each family present.
func HostLines(dev string, prefixes []string) []string {
	lines := []string{"link set lo up", "link set " + dev + " addrgenmode none", "link set " + dev + " up"}
	var v4, v6 bool
	for _, p := range prefixes {
		if strings.Contains(p, ":") {
			lines = append(lines, "addr add "+p+" dev "+dev+" nodad")
			v6 = true
		} else {
			lines = append(lines, "addr add "+p+" dev "+dev)
			v4 = true
		}
	}
	if v4 {
		lines = append(lines, "route add 0.0.0.0/0 dev "+dev)
	}
	if v6 {
		lines = append(lines, "route add ::/0 dev "+dev)
	}
	return lines
}
