//go:build linux && !386

package addrselect_test

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/internal/testenv"
)

// inNetns runs fn on an OS thread moved into a new, empty network
// namespace, after running the shell commands in setup there (ip runs as
// a child of that thread and inherits its namespace). It skips unless the
// test runs as root with iproute2 installed.
func inNetns(t *testing.T, setup []string, fn func(t *testing.T)) {
	t.Helper()
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "ip", "iproute2")
	done := make(chan struct{})
	var skip string
	go func() {
		defer close(done)
		// The thread is never unlocked: when this goroutine ends, the
		// runtime throws the thread, and its namespace, away.
		runtime.LockOSThread()
		if err := syscall.Unshare(syscall.CLONE_NEWNET); err != nil {
			skip = "unshare(CLONE_NEWNET): " + err.Error()
			return
		}
		for _, cmd := range setup {
			out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
			if err != nil {
				// A kernel without veth or tun support, for example.
				skip = "network namespace setup failed (kernel feature missing?): " + cmd + ": " + err.Error() + ": " + strings.TrimSpace(string(out))
				return
			}
		}
		fn(t)
	}()
	<-done
	if skip != "" {
		testenv.Missing(t, skip)
	}
}

func TestSystemNetlinkFlags(t *testing.T) {
	setup := []string{
		"ip link set lo up",
		// No duplicate address detection: v0's link-local address must be
		// usable at once, not tentative.
		"echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad",
		"ip link add v0 type veth peer name v1",
		"ip link set v0 up",
		"ip link set v1 up",
		"ip addr add 2001:db8:1::1/64 dev v0 nodad",
		"ip addr add 2001:db8:1::2/64 dev v0 nodad preferred_lft 0",
		"ip addr add 2001:db8:1::3/64 dev v0 nodad home",
		"ip addr add 2001:db8:2::4/56 dev v0 nodad",
		"ip addr add 192.0.2.1/24 dev v0",
		"ip addr add 198.51.100.7/25 dev v0 preferred_lft 0",
	}
	inNetns(t, setup, func(t *testing.T) {
		var sys addrselect.System
		defer sys.Close()
		ctx := context.Background()
		tests := []struct {
			name string
			dst  string
			want addrselect.Source
		}{
			{"preferred", "2001:db8:1::1", addrselect.Source{Addr: netip.MustParseAddr("2001:db8:1::1"), PrefixLen: 64, Interface: "v0"}},
			{"deprecated-v6", "2001:db8:1::2", addrselect.Source{Addr: netip.MustParseAddr("2001:db8:1::2"), PrefixLen: 64, Interface: "v0", Deprecated: true}},
			{"home", "2001:db8:1::3", addrselect.Source{Addr: netip.MustParseAddr("2001:db8:1::3"), PrefixLen: 64, Interface: "v0", Home: true}},
			{"prefix-56", "2001:db8:2::4", addrselect.Source{Addr: netip.MustParseAddr("2001:db8:2::4"), PrefixLen: 56, Interface: "v0"}},
			{"v4", "192.0.2.1", addrselect.Source{Addr: netip.MustParseAddr("192.0.2.1"), PrefixLen: 24, Interface: "v0"}},
			{"deprecated-v4", "198.51.100.7", addrselect.Source{Addr: netip.MustParseAddr("198.51.100.7"), PrefixLen: 25, Interface: "v0", Deprecated: true}},
			// On-link destinations: the kernel's choice, with its flags.
			{"on-link-v4", "192.0.2.99", addrselect.Source{Addr: netip.MustParseAddr("192.0.2.1"), PrefixLen: 24, Interface: "v0"}},
			// No default route in the namespace: unusable.
			{"no-route-v6", "2001:db8:99::1", addrselect.Source{}},
			{"no-route-v4", "203.0.113.1", addrselect.Source{}},
		}
		for _, tt := range tests {
			got, err := sys.Source(ctx, netip.MustParseAddr(tt.dst))
			if err != nil {
				t.Errorf("%s: Source(%s): %v", tt.name, tt.dst, err)
				continue
			}
			if got != tt.want {
				t.Errorf("%s: Source(%s) = %+v; want %+v", tt.name, tt.dst, got, tt.want)
			}
		}

		// A link-local destination with the zone: the source is v0's
		// link-local address (the kernel assigns one when v0 comes up).
		var ll netip.Addr
		for range 500 { // up to 5 s: duplicate address detection takes about 1 s
			if ll = linkLocalOf(t, "v0"); ll.IsValid() {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !ll.IsValid() {
			t.Fatal("v0 has no link-local address")
		}
		got, err := sys.Source(ctx, netip.MustParseAddr("fe80::99%v0"))
		if err != nil {
			t.Fatal(err)
		}
		if got.Addr != ll || got.Interface != "v0" || got.PrefixLen != 64 {
			t.Errorf("Source(fe80::99%%v0) = %+v; want %v/64 on v0", got, ll)
		}
	})
}

// TestSystemCacheAge checks that a change of flags is seen once the cache
// is older than MaxAge (RFC 6724 section 8), and not earlier.
func TestSystemCacheAge(t *testing.T) {
	setup := []string{
		"ip link set lo up",
		"ip addr add 2001:db8:5::1/64 dev lo nodad",
	}
	inNetns(t, setup, func(t *testing.T) {
		sys := addrselect.System{MaxAge: 50 * time.Millisecond}
		defer sys.Close()
		ctx := context.Background()
		dst := netip.MustParseAddr("2001:db8:5::1")
		src, err := sys.Source(ctx, dst)
		if err != nil || src.Deprecated {
			t.Fatalf("Source(%v) = %+v, %v; want a preferred address", dst, src, err)
		}
		out, err := exec.Command("ip", "addr", "change", "2001:db8:5::1/64", "dev", "lo", "preferred_lft", "0").CombinedOutput()
		if err != nil {
			t.Fatalf("ip addr change: %v\n%s", err, out)
		}
		if src, _ = sys.Source(ctx, dst); src.Deprecated {
			t.Errorf("Source(%v) right after the change = %+v; want the cached (preferred) state", dst, src)
		}
		time.Sleep(60 * time.Millisecond)
		if src, _ = sys.Source(ctx, dst); !src.Deprecated {
			t.Errorf("Source(%v) after MaxAge = %+v; want Deprecated", dst, src)
		}
	})
}

// TestSystemPreferPublic checks that a Selector preferring public
// addresses (source rule 7 reversed, RFC 6724 section 5) makes System ask
// the kernel for a public source (RFC 5014), that the kernel's default
// (temporary preferred, use_tempaddr=2) stays for everything else, and
// that the cache keeps the two answers apart.
func TestSystemPreferPublic(t *testing.T) {
	setup := []string{
		"ip link set lo up",
		"echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad",
		"echo 2 > /proc/sys/net/ipv6/conf/default/use_tempaddr",
		"ip link add v0 type veth peer name v1",
		"ip link set v1 up",
		"ip link set v0 up",
		// The kernel makes a temporary address from this one (RFC 8981).
		"ip addr add 2001:db8:1::1/64 dev v0 nodad mngtmpaddr",
		"ip -6 route add default dev v0",
		"ip addr add 192.0.2.1/24 dev v0",
		"ip route add default dev v0",
	}
	inNetns(t, setup, func(t *testing.T) {
		public := netip.MustParseAddr("2001:db8:1::1")
		dst := netip.MustParseAddr("2001:db8:77::1")
		dst4 := netip.MustParseAddr("198.51.100.1")
		ctx := context.Background()
		preferPublic := addrselect.RFC6724(addrselect.WithPreferPublic(true))
		for _, size := range []int{0, 16} {
			sys := &addrselect.System{CacheSize: size}
			defer sys.Close()
			tests := []struct {
				name string
				ask  func() (addrselect.Source, error)
				temp bool // want the temporary address, else the public one
			}{
				{"source", func() (addrselect.Source, error) { return sys.Source(ctx, dst) }, true},
				{"rfc6724-sort", func() (addrselect.Source, error) { return sortOne(ctx, addrselect.RFC6724(), dst, sys) }, true},
				{"prefer-public-sort", func() (addrselect.Source, error) { return sortOne(ctx, preferPublic, dst, sys) }, false},
				{"prefer-public-find", func() (addrselect.Source, error) { return preferPublic.FindSource(ctx, sys, dst) }, false},
				{"source-again", func() (addrselect.Source, error) { return sys.Source(ctx, dst) }, true},
			}
			for _, tt := range tests {
				src, err := tt.ask()
				if err != nil {
					t.Fatalf("cache %d, %s: %v", size, tt.name, err)
				}
				if tt.temp != src.Temporary || (src.Addr == public) == tt.temp || !src.Addr.IsValid() {
					t.Errorf("cache %d, %s: source %+v; want temporary %v (public is %v)", size, tt.name, src, tt.temp, public)
				}
			}
			// IPv4 (also IPv4-mapped) has no temporary addresses: the
			// preference changes nothing.
			for _, d := range []netip.Addr{dst4, netip.AddrFrom16(dst4.As16())} {
				if src, err := preferPublic.FindSource(ctx, sys, d); err != nil || src.Addr != netip.MustParseAddr("192.0.2.1") {
					t.Errorf("cache %d: FindSource(%v) = %+v, %v; want 192.0.2.1", size, d, src, err)
				}
			}
		}
	})
}

// sortOne sorts the one destination dst with sel and returns its source.
func sortOne(ctx context.Context, sel *addrselect.Selector, dst netip.Addr, src addrselect.Sources) (addrselect.Source, error) {
	out, err := sel.Sort(ctx, []netip.Addr{dst}, src)
	if err != nil {
		return addrselect.Source{}, err
	}
	return out[0].Source, nil
}

// A tentative address (duplicate address detection still running) is not
// returned: the kernel does not use it as a source yet.
func linkLocalOf(t *testing.T, dev string) netip.Addr {
	out, err := exec.Command("ip", "-6", "-o", "addr", "show", "dev", dev, "scope", "link").Output()
	if err != nil {
		t.Fatalf("ip addr show: %v", err)
	}
	if strings.Contains(string(out), "tentative") {
		return netip.Addr{}
	}
	f := strings.Fields(string(out))
	for i, w := range f {
		if w == "inet6" && i+1 < len(f) {
			if p, err := netip.ParsePrefix(f[i+1]); err == nil {
				return p.Addr()
			}
		}
	}
	return netip.Addr{}
}

// TestSystemTunnel: addresses on a tun device (link type ARPHRD_NONE)
// count as encapsulated (destination rule 7).
func TestSystemTunnel(t *testing.T) {
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		testenv.Missing(t, "needs /dev/net/tun to create a tun device")
	}
	setup := []string{
		"ip link set lo up",
		"ip tuntap add t0 mode tun",
		"ip link set t0 up",
		"ip addr add 2001:db8:9::1/64 dev t0 nodad",
		"ip addr add 10.9.9.1/24 dev t0",
		"ip addr add 2001:db8:1::1/64 dev lo nodad",
	}
	inNetns(t, setup, func(t *testing.T) {
		var sys addrselect.System
		defer sys.Close()
		for _, tt := range []struct {
			dst   string
			iface string
			encap bool
		}{
			{"2001:db8:9::1", "t0", true},
			{"10.9.9.1", "t0", true},
			{"2001:db8:1::1", "lo", false},
		} {
			got, err := sys.Source(context.Background(), netip.MustParseAddr(tt.dst))
			if err != nil {
				t.Fatal(err)
			}
			if got.Addr != netip.MustParseAddr(tt.dst) || got.Interface != tt.iface || got.Encapsulated != tt.encap {
				t.Errorf("Source(%s) = %+v; want itself on %s, Encapsulated %v", tt.dst, got, tt.iface, tt.encap)
			}
		}
	})
}

// TestSystemMatchesRecorded rebuilds recorded cases in live network
// namespaces and checks that System answers what the recording kernel
// answered, with the flags the case gave the address.
func TestSystemMatchesRecorded(t *testing.T) {
	// Every 8th case: a sample across the file keeps the test near one
	// second (all 300 agree too; run with -run and a smaller stride).
	all := loadRecordedHostCases(t)
	var cases []recordedHostCase
	for i := 0; i < len(all); i += 8 {
		cases = append(cases, all[i])
	}
	for _, c := range cases {
		setup := []string{
			"echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad",
			"ip link set lo up",
			"ip link add v0 type veth peer name v1",
			"ip link set v0 up",
			"ip link set v1 up",
		}
		flags := map[netip.Addr]string{}
		for _, a := range c.Host.Addrs {
			setup = append(setup, "ip addr add "+a+" dev v0 nodad")
			f := strings.Fields(a)
			flags[netip.MustParsePrefix(f[0]).Addr()] = strings.Join(f[1:], " ")
		}
		for _, r := range c.Host.Routes {
			if rest, ok := strings.CutPrefix(r, "-6 "); ok {
				setup = append(setup, "ip -6 route add "+rest)
			} else {
				setup = append(setup, "ip route add "+r)
			}
		}
		inNetns(t, setup, func(t *testing.T) {
			var sys addrselect.System
			defer sys.Close()
			for i, d := range c.Dsts {
				got, err := sys.Source(context.Background(), netip.MustParseAddr(d))
				if err != nil {
					t.Fatalf("%s: Source(%s): %v", c.ID, d, err)
				}
				want := netip.Addr{}
				if c.KernelSrcs[i] != nil {
					want = netip.MustParseAddr(*c.KernelSrcs[i]).Unmap()
				}
				if got.Addr != want {
					t.Errorf("%s: Source(%s) = %v; the recording kernel chose %v", c.ID, d, got.Addr, want)
					continue
				}
				if !want.IsValid() {
					continue
				}
				fl, iface := flags[want], "v0"
				if want.IsLoopback() {
					iface = "lo"
				}
				if got.Deprecated != strings.Contains(fl, "preferred_lft 0") || got.Home != strings.Contains(fl, "home") || got.Interface != iface {
					t.Errorf("%s: Source(%s) = %+v; want the flags %q on %s", c.ID, d, got, fl, iface)
				}
			}
		})
	}
}
