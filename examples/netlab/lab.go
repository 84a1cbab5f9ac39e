//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dualstack/dualstack/internal/netns"
	"github.com/dualstack/dualstack/mxorder"
)

// lab is the running laboratory: namespaces, NSD, sinks and Postfix
// instances, and what to undo.
type lab struct {
	prefix string // namespace name prefix, unique per run
	dir    string // working directory (configurations, queues, logs)
	logw   io.Writer

	lan     *netns.NS // the namespace holding the bridge
	ns      map[string]*netns.NS
	all     []*netns.NS // every namespace made, for removal
	sinks   map[string]*sink
	postfix map[string]*postfix
	exim    map[string]*exim // empty when eximErr says why
	eximErr error
	res     *labResolver

	mu       sync.Mutex
	cleanups []func() // run in reverse order by close
	closed   bool
}

// requirements returns why the lab cannot run here, or nil.
func requirements() error {
	if os.Geteuid() != 0 {
		return errors.New("the lab needs root (network namespaces, Postfix, NSD)")
	}
	for _, bin := range []string{"ip", "nsd", "nsd-checkzone", "postfix", "postconf", "postqueue", "tayga", "unbound", "sysctl"} {
		if _, err := lookPath(bin); err != nil {
			return fmt.Errorf("%s not found (install the Debian packages iproute2, nsd, postfix, tayga and unbound): %w", bin, err)
		}
	}
	return netns.Check(fmt.Sprintf("nl%x-probe", os.Getpid()&0xffff))
}

// lookPath finds bin on PATH or in the sbin directories, which a user's
// PATH may lack.
func lookPath(bin string) (string, error) {
	if p, err := exec.LookPath(bin); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(d, bin)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// newLab builds and starts the lab. On error everything started so far
// is undone.
func newLab(ctx context.Context, logw io.Writer) (_ *lab, err error) {
	l := &lab{
		prefix:  fmt.Sprintf("nl%x", os.Getpid()&0xffff),
		logw:    logw,
		ns:      map[string]*netns.NS{},
		sinks:   map[string]*sink{},
		postfix: map[string]*postfix{},
		exim:    map[string]*exim{},
	}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	if l.dir, err = os.MkdirTemp("", "netlab-"+l.prefix+"-"); err != nil {
		return nil, err
	}
	// Postfix's unprivileged processes must reach their queue under it.
	if err = os.Chmod(l.dir, 0o755); err != nil {
		return nil, err
	}
	l.onClose(func() { os.RemoveAll(l.dir) })
	steps := []struct {
		what string
		f    func(context.Context) error
	}{
		{"network", l.network},
		{"DNS", l.startDNS},
		{"NAT64", l.startNAT64},
		{"sinks", l.startSinks},
		{"Postfix", l.startPostfixes},
		{"Exim", l.startExims},
	}
	for _, s := range steps {
		if err = ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		if err = s.f(ctx); err != nil {
			return nil, fmt.Errorf("lab %s: %w", s.what, err)
		}
		l.logf("lab: %s up (%v)", s.what, time.Since(start).Round(time.Millisecond))
	}
	return l, nil
}

func (l *lab) logf(format string, args ...any) {
	if l.logw != nil {
		fmt.Fprintf(l.logw, format+"\n", args...)
	}
}

// onClose registers f to run when the lab is closed.
func (l *lab) onClose(f func()) {
	l.mu.Lock()
	l.cleanups = append(l.cleanups, f)
	l.mu.Unlock()
}

// close undoes everything, last first. It is safe to call more than once
// and from a signal handler's goroutine.
func (l *lab) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	cs := l.cleanups
	l.cleanups = nil
	l.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// nsName is the namespace name of a host.
func (l *lab) nsName(short string) string { return l.prefix + "-" + short }

// deleteNamespaces removes every namespace made so far, at once; each
// removal first stops the processes left in it, by pid.
func (l *lab) deleteNamespaces() {
	l.mu.Lock()
	all := l.all
	l.all = nil
	l.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range all {
		wg.Go(func() { n.Delete() })
	}
	wg.Wait()
}

// network creates the bridge namespace and one namespace per host, joined
// by veth pairs, with addresses, routes and a resolv.conf naming NSD in
// the host's families. It runs one ip process per namespace (ip -batch).
func (l *lab) network(context.Context) error {
	l.onClose(l.deleteNamespaces)
	names := []string{l.nsName("lan")}
	for _, h := range hosts {
		names = append(names, l.nsName(h.ns))
	}
	// Names already taken belong to an earlier run of this program with
	// the same pid (see clean); refuse rather than touch them. After the
	// check every namespace with these names is ours to remove, even when
	// AddAll fails halfway.
	for _, n := range names {
		if _, err := os.Stat(filepath.Join("/run/netns", n)); err == nil {
			return fmt.Errorf("namespace %s exists: remove what an earlier run left with: netlab -clean %s", n, l.prefix)
		}
	}
	l.mu.Lock()
	for _, n := range names {
		l.all = append(l.all, &netns.NS{Name: n})
	}
	l.mu.Unlock()
	all, err := netns.AddAll(names...)
	if err != nil {
		return err
	}
	l.lan = all[0]
	lan := []string{"link set lo up", "link add br0 type bridge", "link set br0 up"}
	for i := range hosts {
		h := &hosts[i]
		n := all[i+1]
		l.ns[h.ns] = n
		lan = append(lan, l.lan.PlugLines("br0", "v"+h.ns, n, "eth0")...)
	}
	if err := l.lan.Batch(lan...); err != nil {
		return err
	}
	for i := range hosts {
		h := &hosts[i]
		n := l.ns[h.ns]
		lines := append(netns.HostLines("eth0", h.prefixes()), h.routes...)
		if h.nat64 {
			lines = append(lines, "route add "+nat64Prefix+" via "+nat64V6)
		}
		if err := n.Batch(lines...); err != nil {
			return err
		}
		if err := n.WriteEtc("resolv.conf", resolvConf(h)); err != nil {
			return err
		}
	}
	l.res = &labResolver{ns: l.ns["dns"], server: netip.AddrPortFrom(netip.MustParseAddr(dnsV4), 53)}
	return nil
}

// resolvConf names NSD by its address in each family the host has, or,
// behind the translator, the DNS64.
func resolvConf(h *host) string {
	var b strings.Builder
	f := h.families()
	if h.nat64 {
		f = 0
		b.WriteString("nameserver " + nat64V6 + "\n")
	}
	if f.Has(mxorder.IPv4) {
		b.WriteString("nameserver " + dnsV4 + "\n")
	}
	if f.Has(mxorder.IPv6) {
		b.WriteString("nameserver " + dnsV6 + "\n")
	}
	b.WriteString("options timeout:1 attempts:2\n")
	return b.String()
}

// startDNS writes NSD's configuration and zone and starts it in the dns
// namespace; it returns when NSD answers.
func (l *lab) startDNS(ctx context.Context) error {
	dir := filepath.Join(l.dir, "nsd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	conf := fmt.Sprintf(`server:
	ip-address: %[1]s
	ip-address: %[2]s
	port: 53
	username: ""
	chroot: ""
	database: ""
	zonesdir: %[3]q
	zonelistfile: "%[3]s/zone.list"
	xfrdfile: "%[3]s/xfrd.state"
	xfrdir: %[3]q
	pidfile: "%[3]s/nsd.pid"
	logfile: "%[3]s/nsd.log"
	server-count: 1
	verbosity: 1
remote-control:
	control-enable: no
zone:
	name: lab
	zonefile: lab.zone
`, dnsV4, dnsV6, dir)
	confFile := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "lab.zone"), []byte(zone), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command(mustPath("nsd-checkzone"), "lab", filepath.Join(dir, "lab.zone")).CombinedOutput(); err != nil {
		return fmt.Errorf("nsd-checkzone: %v: %s", err, out)
	}
	if err := l.ns["dns"].Run(mustPath("nsd"), "-c", confFile); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		qctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := l.res.LookupNetIP(qctx, "ip4", "ns.lab")
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("nsd does not answer: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mustPath returns the path of a binary requirements has found.
func mustPath(bin string) string {
	p, err := lookPath(bin)
	if err != nil {
		return bin
	}
	return p
}

// startSinks starts a recording SMTP sink on port 25 in each sink
// namespace.
func (l *lab) startSinks(context.Context) error {
	for i := range hosts {
		h := &hosts[i]
		if h.kind != kindSink {
			continue
		}
		s := &sink{name: h.name, users: h.users}
		ln, err := l.ns[h.ns].Listen("tcp", ":25")
		if err != nil {
			return fmt.Errorf("sink %s: %w", h.name, err)
		}
		s.serve(ln)
		l.sinks[h.ns] = s
		l.onClose(s.close)
	}
	return nil
}

// startPostfixes configures and starts every Postfix instance, in
// parallel.
func (l *lab) startPostfixes(ctx context.Context) error {
	l.onClose(l.stopPostfixes)
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i := range hosts {
		h := &hosts[i]
		if h.kind != kindPostfix {
			continue
		}
		p := &postfix{host: h, ns: l.ns[h.ns], dir: filepath.Join(l.dir, "postfix-"+h.ns)}
		l.postfix[h.ns] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.configure(); err != nil {
				errs[i] = err
				return
			}
			errs[i] = p.start(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stopPostfixes stops every instance, at once.
func (l *lab) stopPostfixes() {
	var wg sync.WaitGroup
	for _, p := range l.postfix {
		wg.Go(p.stop)
	}
	wg.Wait()
}

// takeSessions returns and forgets what every sink recorded.
func (l *lab) takeSessions() []Session {
	var out []Session
	for i := range hosts {
		if s := l.sinks[hosts[i].ns]; s != nil {
			out = append(out, s.take()...)
		}
	}
	slices.SortStableFunc(out, func(a, b Session) int { return a.Time.Compare(b.Time) })
	return out
}

// mark returns the current end of every maillog: a scenario reads the
// lines after it.
func (l *lab) mark() map[string]int64 {
	m := map[string]int64{}
	for ns, p := range l.postfix {
		m[ns] = p.logOffset()
	}
	return m
}

// logs parses every maillog from mark on.
func (l *lab) logs(mark map[string]int64) (map[string]*mtaLog, error) {
	out := map[string]*mtaLog{}
	for ns, p := range l.postfix {
		lines, err := p.logSince(mark[ns])
		if err != nil {
			return nil, err
		}
		out[ns] = parseMaillog(lines)
	}
	return out, nil
}

// submitVia submits a message with net/smtp from the client namespace to
// the Postfix relay on host relay (its first address).
func (l *lab) submitVia(ctx context.Context, relay, from, to, subject string) error {
	h := hostByNS(relay)
	return submit(ctx, l.ns["client"], netip.MustParseAddr(h.addrs[0]), from, to, subject)
}

// settle waits until the queues of the named instances are empty, read
// in the order given (put the hops of a chain in order: a message handed
// on is in the next queue before it leaves the previous one), twice in a
// row.
func (l *lab) settle(ctx context.Context, timeout time.Duration, instances ...string) error {
	deadline := time.Now().Add(timeout)
	empty := 0
	for empty < 2 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			var queued []string
			for _, ns := range instances {
				out, _ := exec.Command(mustPath("postqueue"), "-c", l.postfix[ns].etc(), "-p").CombinedOutput()
				queued = append(queued, ns+": "+string(out))
			}
			return fmt.Errorf("queues of %s not empty after %v:\n%s", strings.Join(instances, ", "), timeout, strings.Join(queued, "\n"))
		}
		time.Sleep(150 * time.Millisecond)
		n := 0
		for _, ns := range instances {
			q, err := l.postfix[ns].queueLen()
			if err != nil {
				return err
			}
			n += q
		}
		if n == 0 {
			empty++
		} else {
			empty = 0
		}
	}
	return nil
}

// clean removes what a lab run with the namespace prefix prefix left
// behind (with -keep, or after being killed): the processes in its
// namespaces (by pid), the namespaces, their /etc/netns directories and
// its working directories.
func clean(prefix string) error {
	if !strings.HasPrefix(prefix, "nl") || strings.ContainsAny(prefix, "/-. ") {
		return fmt.Errorf("-clean: %q is not a lab prefix (nl followed by hex digits)", prefix)
	}
	entries, err := os.ReadDir("/run/netns")
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var errs []error
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			errs = append(errs, (&netns.NS{Name: e.Name()}).Delete())
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "netlab-"+prefix+"-*"))
	for _, d := range dirs {
		errs = append(errs, os.RemoveAll(d))
	}
	return errors.Join(errs...)
}
