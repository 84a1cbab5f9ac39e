//go:build unix

package mxorder_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dualstack/dualstack/internal/testenv"
	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// The zone served by NSD for TestRealDNS: the study's scenarios, a null
// MX, an implicit MX, an MX pointing at an alias, a domain alias, a
// domain with neither MX nor addresses, and an MX set mixing "." with a
// real exchange.
const testZone = `$ORIGIN test.
$TTL 60
@                IN SOA   ns.test. hostmaster.test. 1 3600 600 86400 60
@                IN NS    ns.test.
ns               IN A     127.0.0.1
example          IN MX    10 mx10.example
example          IN MX    20 mx20.example
example          IN MX    30 mx30.example
mx10.example     IN A     192.0.2.10
mx10.example     IN AAAA  2001:db8::10
mx20.example     IN AAAA  2001:db8::20
mx30.example     IN A     192.0.2.30
mx30.example     IN AAAA  2001:db8::30
v6only           IN MX    10 mx.v6only
mx.v6only        IN AAAA  2001:db8:6::25
v4only           IN MX    10 mx.v4only
mx.v4only        IN A     203.0.113.25
nullmx           IN MX    0 .
mixednull        IN MX    0 .
mixednull        IN MX    10 mx.mixednull
mx.mixednull     IN A     192.0.2.70
implicit         IN A     192.0.2.40
implicit         IN AAAA  2001:db8::40
cnamemx          IN MX    10 alias.cnamemx
alias.cnamemx    IN CNAME real.cnamemx
real.cnamemx     IN A     192.0.2.50
real.cnamemx     IN AAAA  2001:db8::50
aliasdomain      IN CNAME example
nomail           IN TXT   "neither MX nor address"
xn--bcher-kva    IN MX    10 mx.xn--bcher-kva
mx.xn--bcher-kva IN A     192.0.2.60
`

// findNSD returns the path of the nsd binary or "".
func findNSD() string {
	if p, err := exec.LookPath("nsd"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nsd", "/usr/local/sbin/nsd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// freePort finds a port free for both UDP and TCP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		pc.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port for UDP and TCP")
	return 0
}

// startNSD runs NSD on 127.0.0.1 with testZone and returns a resolver
// that asks only it.
func startNSD(t *testing.T) *net.Resolver {
	t.Helper()
	bin := findNSD()
	if bin == "" {
		testenv.Missing(t, "nsd not installed (Debian package nsd, listed in .ci/apt-packages): the real-DNS test needs it")
	}
	dir := t.TempDir()
	port := freePort(t)
	conf := fmt.Sprintf(`server:
	ip-address: 127.0.0.1@%[1]d
	port: %[1]d
	username: ""
	chroot: ""
	zonesdir: %[2]q
	database: ""
	zonelistfile: %[3]q
	xfrdfile: %[4]q
	pidfile: %[5]q
	logfile: %[6]q
	server-count: 1
	do-ip6: no
	verbosity: 1
remote-control:
	control-enable: no
zone:
	name: "test."
	zonefile: "test.zone"
`, port, dir, filepath.Join(dir, "zone.list"), filepath.Join(dir, "xfrd.state"),
		filepath.Join(dir, "nsd.pid"), filepath.Join(dir, "nsd.log"))
	if err := os.WriteFile(filepath.Join(dir, "nsd.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "test.zone"), []byte(testZone), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-d", "-c", filepath.Join(dir, "nsd.conf"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	// NSD forks a server and a transfer daemon: give them a process
	// group of their own so that cleanup reaches all of them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nsd: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { stopNSD(t, cmd, done) })
	server := fmt.Sprintf("127.0.0.1:%d", port)
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
	// Wait until NSD answers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err := r.LookupMX(ctx, "example.test.")
		cancel()
		if err == nil {
			return r
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "nsd.log"))
			t.Fatalf("nsd exited: %s\n%s", out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "nsd.log"))
			t.Fatalf("nsd did not answer within 10s: %v\n%s\n%s", err, out.String(), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopNSD stops the NSD started as cmd (whose Wait closes done) and its
// children, and makes sure every one of them is reaped: a process that
// nobody waits for stays a zombie, and in a container whose init does not
// reap orphans it stays one for good.
//
// SIGTERM goes to the main process only: NSD then stops its server and
// transfer daemon and waits for them itself, so they are reaped by their
// own parent. If it has not exited within a few seconds, the whole
// process group gets SIGKILL and the main process is waited for.
func stopNSD(t *testing.T, cmd *exec.Cmd, done <-chan struct{}) {
	t.Helper()
	pid := cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("stopping nsd (pid %d): %v", pid, err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Errorf("nsd (pid %d) ignored SIGTERM for 5s: killing its process group", pid)
		syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
	// The process group outlives the main process while a child runs.
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Errorf("nsd's children (process group %d) still run after it exited: killing them", pid)
			syscall.Kill(-pid, syscall.SIGKILL)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRealDNS plans real lookups through *net.Resolver against NSD.
func TestRealDNS(t *testing.T) {
	r := startNSD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("study-ipv4-relay", func(t *testing.T) {
		p := mxorder.Planner{Resolver: r, Sources: relay4, Seeded: true}
		plan, err := p.Plan(ctx, "Example.TEST.")
		checkPlan(t, plan, err, want{
			hosts:    []string{"mx10.example.test", "mx30.example.test"},
			attempts: []string{"192.0.2.10", "192.0.2.30"},
			skips:    []string{"mx20.example.test family"},
		})
	})
	t.Run("study-mx30-relay", func(t *testing.T) {
		p := mxorder.Planner{Resolver: r, Sources: relay46, LocalNames: []string{"mx30.example.test"}}
		plan, err := p.Plan(ctx, "example.test")
		checkPlan(t, plan, err, want{hosts: []string{"mx10.example.test", "mx20.example.test"}})
	})
	t.Run("ipv4-relay-ipv6-only-domain", func(t *testing.T) {
		p := mxorder.Planner{Resolver: r, Sources: relay4}
		_, err := p.Plan(ctx, "v6only.test")
		var ue *mxorder.UnreachableError
		if !errors.As(err, &ue) || ue.DomainFamilies != mxorder.IPv6 || ue.SenderFamilies != mxorder.IPv4 || ue.Temporary {
			t.Errorf("err = %v; want permanent IPv6-vs-IPv4 *UnreachableError", err)
		}
	})
	t.Run("null-mx", func(t *testing.T) {
		p := mxorder.Planner{Resolver: r}
		if _, err := p.Plan(ctx, "nullmx.test"); !errors.Is(err, mxorder.ErrNullMX) {
			t.Errorf("err = %v; want ErrNullMX", err)
		}
		plan, err := p.Plan(ctx, "mixednull.test")
		checkPlan(t, plan, err, want{hosts: []string{"mx.mixednull.test"}, skips: []string{". null-mx"}})
	})
	t.Run("implicit-mx", func(t *testing.T) {
		p := mxorder.Planner{Resolver: r, Prefer: mxorder.IPv6}
		plan, err := p.Plan(ctx, "implicit.test")
		checkPlan(t, plan, err, want{hosts: []string{"implicit.test"}, attempts: []string{"2001:db8::40", "192.0.2.40"}})
		if plan != nil && !plan.Implicit {
			t.Error("Implicit = false")
		}
	})
	t.Run("nxdomain-and-nodata", func(t *testing.T) {
		p := mxorder.Planner{Resolver: r}
		for _, d := range []string{"nosuchname.test", "nomail.test"} {
			if _, err := p.Plan(ctx, d); !errors.Is(err, mxorder.ErrNoSuchDomain) {
				t.Errorf("Plan(%s) err = %v; want ErrNoSuchDomain", d, err)
			}
		}
	})
	t.Run("idna", func(t *testing.T) {
		p := mxorder.Planner{Resolver: r}
		plan, err := p.Plan(ctx, "BÜCHER.test.")
		checkPlan(t, plan, err, want{hosts: []string{"mx.xn--bcher-kva.test"}, attempts: []string{"192.0.2.60"}})
	})
	t.Run("domain-cname", func(t *testing.T) {
		p := mxorder.Planner{Resolver: r}
		plan, err := p.Plan(ctx, "aliasdomain.test")
		checkPlan(t, plan, err, want{hosts: []string{"mx10.example.test", "mx20.example.test", "mx30.example.test"}})
	})
	t.Run("audit-cname-mx", func(t *testing.T) {
		p := mxorder.Planner{Resolver: r}
		rep, err := p.Audit(ctx, "cnamemx.test")
		if err != nil {
			t.Fatal(err)
		}
		f := findings(rep.Findings, mxorder.CodeCNAME)
		if len(f) != 1 || f[0].Host != "alias.cnamemx.test" || !strings.Contains(f[0].Message, "real.cnamemx.test") {
			t.Errorf("cname findings = %v; want alias.cnamemx.test -> real.cnamemx.test", f)
		}
		if !slices.Equal(rep.Hosts[0].Addrs, ha("192.0.2.50", "2001:db8::50").Addrs) && !slices.Equal(rep.Hosts[0].Addrs, ha("2001:db8::50", "192.0.2.50").Addrs) {
			t.Errorf("addresses through the alias = %v", rep.Hosts[0].Addrs)
		}
	})
	t.Run("audit-study", func(t *testing.T) {
		p := mxorder.Planner{Resolver: r}
		rep, err := p.Audit(ctx, "example.test")
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Has(mxorder.CodeSingleStack) || !rep.Has(mxorder.CodeFamilySplit) || rep.Has(mxorder.CodeCNAME) {
			t.Errorf("findings = %v", rep.Findings)
		}
	})
	t.Run("mxordertest-parity", func(t *testing.T) {
		// The in-memory resolver must fail the way *net.Resolver does.
		mem := mxordertest.New().
			MX("example.test", 10, "mx10.example.test").Host("mx10.example.test", "192.0.2.10", "2001:db8::10").
			Host("mx20.example.test", "2001:db8::20").NoData("nomail.test").
			Host("mx.v4only.test", "203.0.113.25")
		// What a lookup returned: the error flags and the addresses as
		// a sorted set (*net.Resolver sorts "ip" answers by RFC 6724).
		type result struct {
			ok, notFound, temporary, timeout bool
			addrs                            string
		}
		get := func(addrs []netip.Addr, err error) result {
			var de *net.DNSError
			if err == nil {
				s := slices.Clone(addrs)
				slices.SortFunc(s, netip.Addr.Compare)
				return result{ok: true, addrs: fmt.Sprint(s)}
			}
			if !errors.As(err, &de) {
				return result{}
			}
			return result{notFound: de.IsNotFound, temporary: de.IsTemporary, timeout: de.IsTimeout}
		}
		mx := func(name string) func(mxorder.Resolver) ([]netip.Addr, error) {
			return func(r mxorder.Resolver) ([]netip.Addr, error) { _, err := r.LookupMX(ctx, name); return nil, err }
		}
		ip := func(network, name string) func(mxorder.Resolver) ([]netip.Addr, error) {
			return func(r mxorder.Resolver) ([]netip.Addr, error) { return r.LookupNetIP(ctx, network, name) }
		}
		queries := []struct {
			name string
			do   func(mxorder.Resolver) ([]netip.Addr, error)
		}{
			{"mx-nxdomain", mx("nosuchname.test.")},
			{"mx-nodata", mx("nomail.test.")},
			{"mx-nodata-host", mx("mx20.example.test.")},
			{"a-nodata", ip("ip4", "mx20.example.test.")},
			{"aaaa-ok", ip("ip6", "mx20.example.test.")},
			{"aaaa-nxdomain", ip("ip6", "nosuchname.test.")},
			{"ip-dual", ip("ip", "mx10.example.test.")},
			{"ip-aaaa-only", ip("ip", "mx20.example.test.")},
			{"ip-a-only", ip("ip", "mx.v4only.test.")},
			{"ip-nodata", ip("ip", "nomail.test.")},
			{"ip-nxdomain", ip("ip", "nosuchname.test.")},
		}
		for _, q := range queries {
			real, fake := get(q.do(r)), get(q.do(mem))
			if real != fake {
				t.Errorf("%s: net.Resolver %+v, mxordertest %+v", q.name, real, fake)
			}
		}
	})
	t.Run("bounce", func(t *testing.T) {
		p := mxorder.Planner{Resolver: r}
		b, err := p.CheckBounce(ctx, mxorder.IPv6, "example.test", "v4only.test")
		if err != nil {
			t.Fatal(err)
		}
		if b.OK() || b.SenderFamilies != mxorder.IPv4 {
			t.Errorf("CheckBounce = %+v; want a lost bounce to an IPv4-only domain", b)
		}
	})
}
