//go:build linux

package nat64lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect/nat64"
	"github.com/dualstack/dualstack/internal/netns"
	"github.com/dualstack/dualstack/internal/testenv"
)

// The lab's addresses. The IPv4 server is numbered from the Shared
// Address Space 100.64.0.0/10 (RFC 6598): with the well-known prefix
// 64:ff9b::/96, tayga 0.9.2 drops RFC 1918 and documentation addresses
// (RFC 6052 section 3.1), and 100.64/10 is neither.
var (
	// Prefix is the translator's prefix, the well-known one.
	Prefix = netip.MustParsePrefix("64:ff9b::/96")
	// ClientAddr is the IPv6-only client's address.
	ClientAddr = netip.MustParseAddr("2001:db8:1::10")
	// DualAddr6 and DualAddr4 are the dual-stack client's addresses.
	DualAddr6 = netip.MustParseAddr("2001:db8:4::10")
	DualAddr4 = netip.MustParseAddr("100.64.4.10")
	// ServerAddr is the IPv4-only server; its SMTP listener is on
	// SMTPPort.
	ServerAddr = netip.MustParseAddr("100.64.0.80")
	// Synthesized is ServerAddr under Prefix (RFC 6052 section 2.2).
	Synthesized = func() netip.Addr {
		a, err := nat64.Synthesize(Prefix, ServerAddr)
		if err != nil {
			panic("nat64lab: " + err.Error())
		}
		return a
	}()
	// RefusedAddr is an IPv6 address of the router where nothing
	// listens: a TCP attempt is refused with a reset at once.
	RefusedAddr = netip.MustParseAddr("2001:db8:2::1")
	// DroppedAddr is routed into a blackhole on the router: a TCP
	// attempt is silently dropped.
	DroppedAddr = netip.MustParseAddr("2001:db8:3::80")
	// DNS64 is unbound with its dns64 module, as the client sees it.
	DNS64 = netip.MustParseAddrPort("[2001:db8:1::1]:53")
	// NSDClient and NSDDual are NSD (no DNS64) as the client and the
	// dual-stack client see it.
	NSDClient = netip.MustParseAddrPort("[2001:db8:1::1]:5300")
	NSDDual   = netip.MustParseAddrPort("[2001:db8:4::1]:5300")
)

// SMTPPort is the server's SMTP port.
const SMTPPort = 25

// Names in the test zone (NSD serves test. and ipv4only.arpa.).
const (
	NameV4Only  = "v4only.test"  // A ServerAddr only
	NameRefused = "refused.test" // AAAA RefusedAddr, A ServerAddr
	NameDropped = "dropped.test" // AAAA DroppedAddr, A ServerAddr
	MailDomain  = "v4mail.test"  // MX 10 v4only.test
)

const testZone = `$ORIGIN test.
$TTL 60
@        IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@        IN NS  ns.test.
ns       IN AAAA 2001:db8:1::1
v4only   IN A    100.64.0.80
refused  IN AAAA 2001:db8:2::1
refused  IN A    100.64.0.80
dropped  IN AAAA 2001:db8:3::80
dropped  IN A    100.64.0.80
v4mail   IN MX   10 v4only.test.
`

// ipv4only.arpa (RFC 8880): the two well-known IPv4 addresses, which a
// DNS64 answers with as synthesized AAAA records (RFC 7050 section 3).
const arpaZone = `$ORIGIN ipv4only.arpa.
$TTL 60
@        IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@        IN NS  ns.test.
@        IN A   192.0.0.170
@        IN A   192.0.0.171
`

// Lab is a running lab; see the package documentation. Its fields are
// the namespaces' names.
type Lab struct {
	Client, Dual, Router, Server *netns.NS
	// SMTP is the IPv4-only server's listener.
	SMTP *SMTPServer

	t     testing.TB
	dir   string
	procs []*netns.Daemon
}

// Start builds the lab and registers its removal with t.Cleanup. It ends
// the test through testenv when root, network namespaces or a command
// is missing, and fails it when the set-up does not work.
func Start(t testing.TB) *Lab {
	t.Helper()
	start := time.Now()
	testenv.NeedNetns(t)
	bins := map[string]string{}
	for name, pkg := range map[string]string{"tayga": "tayga", "unbound": "unbound", "nsd": "nsd"} {
		bins[name] = testenv.NeedCommand(t, name, pkg)
	}
	l := &Lab{t: t, dir: t.TempDir()}
	t.Cleanup(l.stop)
	if err := l.network(fmt.Sprintf("n64lab%d", os.Getpid()%100000)); err != nil {
		t.Fatalf("nat64lab: network: %v", err)
	}
	if err := l.writeConfigs(); err != nil {
		t.Fatalf("nat64lab: %v", err)
	}
	srv, err := l.listenSMTP()
	if err != nil {
		t.Fatalf("nat64lab: SMTP listener: %v", err)
	}
	l.SMTP = srv
	if err := l.daemons(bins); err != nil {
		t.Fatalf("nat64lab: %v", err)
	}
	if err := l.waitReady(10 * time.Second); err != nil {
		t.Fatalf("nat64lab: not ready: %v\n%s", err, l.logs())
	}
	t.Logf("nat64lab: up in %v", time.Since(start).Round(time.Millisecond))
	return l
}

// link is one veth pair: names, namespaces and fixed MAC addresses, so
// that static neighbour entries can be set (without them the router
// drops the first packet of each new neighbour and the peer retransmits
// after a second).
type link struct {
	a, aNS, aMAC string
	b, bNS, bMAC string
}

// network creates the namespaces (named base plus a letter), links,
// addresses and routes.
func (l *Lab) network(base string) error {
	for _, n := range []struct {
		ns   **netns.NS
		name string
	}{{&l.Client, "c"}, {&l.Dual, "d"}, {&l.Router, "r"}, {&l.Server, "s"}} {
		ns, err := netns.Add(base + n.name)
		if err != nil {
			return err
		}
		*n.ns = ns
	}
	links := []link{
		{"c0", l.Client.Name, "02:64:00:01:00:10", "r0", l.Router.Name, "02:64:00:01:00:01"},
		{"r1", l.Router.Name, "02:64:00:00:00:01", "s0", l.Server.Name, "02:64:00:00:00:80"},
		{"d0", l.Dual.Name, "02:64:00:04:00:10", "r2", l.Router.Name, "02:64:00:04:00:01"},
	}
	for _, k := range links {
		if err := netns.IP("link", "add", k.a, "netns", k.aNS, "address", k.aMAC, "type", "veth",
			"peer", "name", k.b, "netns", k.bNS, "address", k.bMAC); err != nil {
			return err
		}
	}
	if err := l.Router.Run("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", "net.ipv4.ip_forward=1"); err != nil {
		return err
	}
	if err := l.Server.Run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"); err != nil {
		return err
	}
	for ns, lines := range l.addressing() {
		if err := ns.Batch(lines...); err != nil {
			return err
		}
	}
	return nil
}

// addressing lists, per namespace, the ip commands that number and
// route the lab, with static neighbour entries.
func (l *Lab) addressing() map[*netns.NS][]string {
	return map[*netns.NS][]string{
		l.Client: {
			"addr add 2001:db8:1::10/64 dev c0 nodad", "link set c0 up",
			"route add ::/0 via 2001:db8:1::1",
			"neigh replace 2001:db8:1::1 lladdr 02:64:00:01:00:01 dev c0 nud permanent",
		},
		l.Dual: {
			"addr add 2001:db8:4::10/64 dev d0 nodad", "addr add 100.64.4.10/24 dev d0", "link set d0 up",
			"route add ::/0 via 2001:db8:4::1", "route add default via 100.64.4.1",
			"neigh replace 2001:db8:4::1 lladdr 02:64:00:04:00:01 dev d0 nud permanent",
			"neigh replace 100.64.4.1 lladdr 02:64:00:04:00:01 dev d0 nud permanent",
		},
		l.Server: {
			"addr add 100.64.0.80/24 dev s0", "link set s0 up", "route add default via 100.64.0.1",
			"neigh replace 100.64.0.1 lladdr 02:64:00:00:00:01 dev s0 nud permanent",
		},
		l.Router: {
			"addr add 2001:db8:1::1/64 dev r0 nodad", "addr add 100.64.0.1/24 dev r1",
			"addr add 2001:db8:4::1/64 dev r2 nodad", "addr add 100.64.4.1/24 dev r2",
			"addr add 2001:db8:2::1/128 dev lo",
			"link set r0 up", "link set r1 up", "link set r2 up",
			"route add blackhole 2001:db8:3::/64",
			"neigh replace 2001:db8:1::10 lladdr 02:64:00:01:00:10 dev r0 nud permanent",
			"neigh replace 100.64.0.80 lladdr 02:64:00:00:00:80 dev r1 nud permanent",
			"neigh replace 2001:db8:4::10 lladdr 02:64:00:04:00:10 dev r2 nud permanent",
			"neigh replace 100.64.4.10 lladdr 02:64:00:04:00:10 dev r2 nud permanent",
		},
	}
}

// path names a file in the lab's directory.
func (l *Lab) path(name string) string { return filepath.Join(l.dir, name) }

// writeConfigs writes the zones and the daemons' configurations.
func (l *Lab) writeConfigs() error {
	files := map[string]string{
		"test.zone":          testZone,
		"ipv4only.arpa.zone": arpaZone,
		// tayga: with the well-known prefix and a private ipv4-addr it
		// needs an ipv6-addr of its own outside the prefix. The server
		// sees clients as addresses of the dynamic pool.
		"tayga.conf": "tun-device nat64\nipv4-addr 192.168.255.1\nipv6-addr 2001:db8:1:ffff::1\n" +
			"prefix 64:ff9b::/96\ndynamic-pool 192.168.255.0/24\ndata-dir " + l.path("tayga") + "\n",
		"nsd.conf": fmt.Sprintf(`server:
	ip-address: 127.0.0.1@5300
	ip-address: 2001:db8:1::1@5300
	ip-address: 2001:db8:4::1@5300
	username: ""
	chroot: ""
	database: ""
	zonesdir: %q
	zonelistfile: %q
	xfrdfile: %q
	pidfile: %q
	logfile: %q
	server-count: 1
remote-control:
	control-enable: no
zone:
	name: "test."
	zonefile: "test.zone"
zone:
	name: "ipv4only.arpa."
	zonefile: "ipv4only.arpa.zone"
`, l.dir, l.path("zone.list"), l.path("xfrd.state"), l.path("nsd.pid"), l.path("nsd.log")),
		"unbound.conf": l.unboundConf(),
	}
	if err := os.MkdirAll(l.path("tayga"), 0o755); err != nil {
		return err
	}
	for name, text := range files {
		if err := os.WriteFile(l.path(name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// unboundConf is unbound with DNS64 on the client's link, forwarding the
// lab's zones to NSD. Unbound answers NXDOMAIN for test. by default (a
// local zone), queries no localhost server unless told to, and without
// a trust anchor validates nothing.
func (l *Lab) unboundConf() string {
	return fmt.Sprintf(`server:
	interface: 2001:db8:1::1
	interface: 127.0.0.1
	access-control: 2001:db8:1::/64 allow
	access-control: 127.0.0.0/8 allow
	chroot: ""
	username: ""
	directory: %q
	pidfile: %q
	logfile: %q
	use-syslog: no
	do-not-query-localhost: no
	module-config: "dns64 iterator"
	dns64-prefix: 64:ff9b::/96
	local-zone: "test." nodefault
	cache-max-ttl: 60
remote-control:
	control-enable: no
stub-zone:
	name: "test."
	stub-addr: 127.0.0.1@5300
stub-zone:
	name: "ipv4only.arpa."
	stub-addr: 127.0.0.1@5300
`, l.dir, l.path("unbound.pid"), l.path("unbound.log"))
}

// daemons starts tayga, NSD and unbound in the router, in the
// foreground, so that each one's process id is known.
func (l *Lab) daemons(bins map[string]string) error {
	R := l.Router
	// tayga creates its TUN device only after it starts: make it first.
	if err := R.Run(bins["tayga"], "-c", l.path("tayga.conf"), "--mktun"); err != nil {
		return err
	}
	if err := R.Batch("link set nat64 up", "route add 64:ff9b::/96 dev nat64", "route add 192.168.255.0/24 dev nat64"); err != nil {
		return err
	}
	for _, d := range [][]string{
		{"tayga", bins["tayga"], "-c", l.path("tayga.conf"), "-d"},
		{"nsd", bins["nsd"], "-d", "-c", l.path("nsd.conf")},
		{"unbound", bins["unbound"], "-d", "-c", l.path("unbound.conf")},
	} {
		p, err := netns.StartDaemon(d[0], l.path(d[0]+".out"), R.Command(d[1], d[2:]...))
		if err != nil {
			return err
		}
		l.procs = append(l.procs, p)
	}
	return nil
}

// logs returns the daemons' output, for failures.
func (l *Lab) logs() string {
	var b strings.Builder
	for _, name := range []string{"tayga.out", "nsd.out", "nsd.log", "unbound.out", "unbound.log"} {
		text, _ := os.ReadFile(l.path(name))
		fmt.Fprintf(&b, "--- %s\n%s\n", name, text)
	}
	return b.String()
}

// stop stops every process by its id and deletes the namespaces (which
// removes the links and the TUN device).
func (l *Lab) stop() {
	start := time.Now()
	defer func() { l.t.Logf("nat64lab: down in %v", time.Since(start).Round(time.Millisecond)) }()
	for i := len(l.procs) - 1; i >= 0; i-- {
		if err := l.procs[i].Stop(); err != nil {
			l.t.Errorf("nat64lab: %v", err)
		}
	}
	if l.SMTP != nil {
		l.SMTP.Close()
	}
	for _, ns := range []*netns.NS{l.Client, l.Dual, l.Router, l.Server} {
		if ns != nil {
			if err := ns.Delete(); err != nil {
				l.t.Errorf("nat64lab: %v", err)
			}
		}
	}
}

// Resolver returns a resolver in this process that asks server from
// namespace ns.
func (l *Lab) Resolver(ns *netns.NS, server netip.AddrPort) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return ns.DialContext(ctx, nil, network, server.String())
	}}
}

// waitReady waits until NSD and unbound answer and the server answers
// through the translator.
func (l *Lab) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	checks := []struct {
		what  string
		check func(ctx context.Context) error
	}{
		{"nsd", func(ctx context.Context) error {
			_, err := l.Resolver(l.Client, NSDClient).LookupNetIP(ctx, "ip4", NameV4Only)
			return err
		}},
		{"unbound", func(ctx context.Context) error {
			as, err := l.Resolver(l.Client, DNS64).LookupNetIP(ctx, "ip6", "ipv4only.arpa")
			if err == nil && len(as) == 0 {
				err = errors.New("no AAAA for ipv4only.arpa")
			}
			return err
		}},
		{"tayga", func(ctx context.Context) error {
			c, err := l.Client.DialContext(ctx, nil, "tcp", netip.AddrPortFrom(Synthesized, SMTPPort).String())
			if err == nil {
				c.Close()
			}
			return err
		}},
	}
	for _, c := range checks {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			err := c.check(ctx)
			cancel()
			if err == nil {
				break
			}
			for _, p := range l.procs {
				if p.Exited() {
					return fmt.Errorf("%s exited", p)
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %v", c.what, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}
