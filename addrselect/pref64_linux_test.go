//go:build linux

package addrselect

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect/nat64"
)

// pref64Netns is a goroutine whose OS thread has moved into a new, empty
// network namespace, running functions there on request; commands they
// start inherit the namespace. The thread is never unlocked, so when the
// goroutine ends the runtime discards it, and the namespace goes once no
// socket or interface refers to it: nothing is left to remove, also on
// failure.
type pref64Netns struct {
	tid  int // the thread's id: /proc/TID/ns/net names the namespace
	jobs chan func()
}

// newPREF64Netns starts the goroutine; stop ends it.
func newPREF64Netns() (*pref64Netns, error) {
	ns := &pref64Netns{jobs: make(chan func())}
	ready := make(chan error)
	go func() {
		runtime.LockOSThread()
		if err := syscall.Unshare(syscall.CLONE_NEWNET); err != nil {
			ready <- errors.Join(errPREF64Skip, err)
			return
		}
		ns.tid = syscall.Gettid()
		// No duplicate address detection: link-local addresses are
		// usable at once, not tentative.
		if err := os.WriteFile("/proc/sys/net/ipv6/conf/default/accept_dad", []byte("0"), 0); err != nil {
			ready <- errors.Join(errPREF64Skip, err)
			return
		}
		ready <- nil
		for job := range ns.jobs {
			job()
		}
	}()
	return ns, <-ready
}

// do runs f in the namespace and returns its error.
func (ns *pref64Netns) do(f func() error) error {
	errc := make(chan error, 1)
	ns.jobs <- func() { errc <- f() }
	return <-errc
}

func (ns *pref64Netns) stop() { close(ns.jobs) }

var errPREF64Skip = errors.New("network namespace set-up failed")

// pref64Run runs a command in the calling thread's namespace.
func pref64Run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return errors.Join(errPREF64Skip, errors.New(strings.Join(args, " ")+": "+err.Error()+": "+strings.TrimSpace(string(out))))
	}
	return nil
}

// pref64Up runs the commands, brings dev up and returns its index.
func pref64Up(dev string, cmds ...[]string) (int, error) {
	for _, cmd := range append(cmds, []string{"ip", "link", "set", dev, "up"}) {
		if err := pref64Run(cmd...); err != nil {
			return 0, err
		}
	}
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}

// routerAdvertisement is an RA (RFC 4861 section 4.2) with router
// lifetime 0 and the given options; the kernel fills in the checksum.
func routerAdvertisement(t *testing.T, options ...[]byte) []byte {
	t.Helper()
	b := []byte{134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for _, o := range options {
		b = append(b, o...)
	}
	return b
}

func pref64Option(t *testing.T, prefix string, lifetime time.Duration) []byte {
	t.Helper()
	b, err := nat64.PREF64{Prefix: netip.MustParsePrefix(prefix), Lifetime: lifetime}.AppendOption(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPREF64FromRouterAdvertisement sends a real router advertisement
// with PREF64 options (RFC 8781) from one end of a veth pair, in one new
// network namespace, and reads them with a PREF64Listener at the other
// end, in another.
func TestPREF64FromRouterAdvertisement(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces and send raw ICMPv6")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip command (Debian package iproute2)")
	}
	router, err := newPREF64Netns()
	if err != nil {
		t.Skip("kernel feature missing? ", err)
	}
	defer router.stop()
	host, err := newPREF64Netns()
	if err != nil {
		t.Skip("kernel feature missing? ", err)
	}
	defer host.stop()
	var lis *PREF64Listener
	var learner pref64Learner
	var routerFD, routerIndex, hostIndex int
	steps := []struct {
		ns *pref64Netns
		f  func() error
	}{
		// r0 goes to the router's namespace, named by its thread id.
		{host, func() error {
			return pref64Run("ip", "link", "add", "h0", "type", "veth", "peer", "name", "r0", "netns", strconv.Itoa(router.tid))
		}},
		{router, func() (err error) {
			routerIndex, err = pref64Up("r0", []string{"ip", "addr", "add", "fe80::1/64", "dev", "r0", "nodad"})
			if err != nil {
				return err
			}
			routerFD, err = rawICMPv6(routerIndex)
			if err == nil {
				t.Cleanup(func() { syscall.Close(routerFD) })
			}
			return err
		}},
		{host, func() (err error) {
			// A host takes RAs with accept_ra 1 and forwarding off, the
			// defaults; the kernel passes options up only then.
			hostIndex, err = pref64Up("h0", []string{"sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/h0/accept_ra"})
			if err != nil {
				return err
			}
			lis, err = ListenPREF64()
			if err != nil {
				return err
			}
			t.Cleanup(func() { lis.Close() })
			learner.prefixes(time.Now(), nil) // starts it, in this namespace
			t.Cleanup(learner.close)
			return learner.err
		}},
	}
	for _, st := range steps {
		err := st.ns.do(st.f)
		if errors.Is(err, errPREF64Skip) {
			t.Skip("kernel feature missing? ", err)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	ra := routerAdvertisement(t,
		pref64Option(t, "2001:db8:64::/96", 1800*time.Second),
		// PLC 7: RFC 8781 section 4 says to ignore the option.
		[]byte{38, 2, 0, 7, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0},
		// RDNSS (RFC 8106): passed up too, and skipped by the listener.
		[]byte{25, 3, 0, 0, 0, 0, 7, 8, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53},
		pref64Option(t, "64:ff9b::/40", 600*time.Second),
	)
	checkPREF64s(t, lis, &learner, routerFD, routerIndex, hostIndex, ra)
}

// checkPREF64s sends ra every 100 ms until the listener has reported
// both PREF64 options and the malformed one, and the learner has learned
// both, or 10 seconds pass.
func checkPREF64s(t *testing.T, lis *PREF64Listener, learner *pref64Learner, fd, routerIndex, hostIndex int, ra []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The sender keeps going through errors: until both ends of the veth
	// pair are up, the link has no carrier and sendto fails with
	// ENETUNREACH. Its last error explains a timeout.
	sent := make(chan error, 1)
	go func() {
		var last error
		dst := &syscall.SockaddrInet6{Addr: [16]byte{0: 0xff, 1: 0x02, 15: 1}, ZoneId: uint32(routerIndex)}
		for ctx.Err() == nil {
			if err := syscall.Sendto(fd, ra, 0, dst); err != nil {
				last = err
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
		sent <- last
	}()
	defer func() {
		cancel()
		if err := <-sent; t.Failed() && err != nil {
			t.Logf("the sender's last error: sendto ff02::1: %v", err)
		}
	}()

	start := time.Now()
	want := map[netip.Prefix]time.Duration{
		netip.MustParsePrefix("2001:db8:64::/96"): 1800 * time.Second,
		netip.MustParsePrefix("64:ff9b::/40"):     600 * time.Second,
	}
	malformed := false
	for len(want) > 0 || !malformed {
		got, err := lis.Next(ctx)
		var oe *nat64.OptionError
		switch {
		case errors.As(err, &oe) && oe.Offset == 3: // the PLC
			malformed = true
			continue
		case err != nil:
			t.Fatalf("Next: %v (still expecting %v, malformed option seen %v)", err, want, malformed)
		}
		if got.Interface != hostIndex || got.Router != netip.MustParseAddr("fe80::1") {
			t.Errorf("Next = %+v; want interface %d, router fe80::1", got, hostIndex)
		}
		if got.Learned.Before(start) || got.Learned.After(time.Now()) || !got.ValidAt(time.Now()) {
			t.Errorf("Next = %+v: learned outside the test's run, or not valid now", got)
		}
		if lt, ok := want[got.Prefix]; ok {
			if got.Lifetime != lt {
				t.Errorf("Next = %+v; want lifetime %v", got, lt)
			}
			delete(want, got.Prefix)
		} else if got.Prefix != netip.MustParsePrefix("2001:db8:64::/96") && got.Prefix != netip.MustParsePrefix("64:ff9b::/40") {
			t.Errorf("Next = %+v: a prefix the router did not send", got)
		}
	}
	checkLearned(t, learner)
}

// checkLearned waits until the learner holds both prefixes, then stops
// it, and checks that what it learned stays.
func checkLearned(t *testing.T, learner *pref64Learner) {
	want := []netip.Prefix{netip.MustParsePrefix("64:ff9b::/40"), netip.MustParsePrefix("2001:db8:64::/96")}
	sorted := func() []netip.Prefix {
		got := learner.prefixes(time.Now(), nil)
		slices.SortFunc(got, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
		return got
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && len(sorted()) < 2; {
		time.Sleep(20 * time.Millisecond)
	}
	learner.close()
	if got := sorted(); !slices.Equal(got, want) {
		t.Errorf("the learner learned %v; want %v", got, want)
	}
}

// rawICMPv6 opens a raw ICMPv6 socket that sends from fe80::1 on the
// interface with hop limit 255, as RFC 4861 section 6.1.2 requires of a
// router advertisement.
func rawICMPv6(index int) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.IPPROTO_ICMPV6)
	if err != nil {
		return -1, err
	}
	for _, opt := range []int{syscall.IPV6_MULTICAST_HOPS, syscall.IPV6_UNICAST_HOPS} {
		if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, opt, 255); err != nil {
			syscall.Close(fd)
			return -1, err
		}
	}
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_IF, index); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	src := &syscall.SockaddrInet6{Addr: [16]byte{0: 0xfe, 1: 0x80, 15: 1}, ZoneId: uint32(index)}
	if err := syscall.Bind(fd, src); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}
