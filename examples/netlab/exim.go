//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dualstack/dualstack/mxorder"
)

// Exim 4.96 runs beside Postfix from an unpacked copy of Debian's
// packages (exim4-base, exim4-daemon-light and libidn12, dpkg -x into
// one directory; Debian's exim4 and postfix packages conflict). The copy
// needs three things a packaged Exim has:
//   - its library libidn.so.12: LD_LIBRARY_PATH, which the dynamic
//     linker ignores for a set-user-id program, so the copy's exim4 has
//     its set-user-id bit cleared (the lab runs as root anyway);
//   - its own path for re-executing itself (exim_path; the compiled-in
//     one is /usr/sbin/exim4);
//   - the user Debian-exim, compiled in and looked up at start: the lab
//     gives Exim's namespace its own /etc/passwd and /etc/group with that
//     user (ip netns exec mounts /etc/netns/NAME/* over /etc/*), so no
//     user is added to the system.

// eximEnv names the directory holding the unpacked packages.
const eximEnv = "NETLAB_EXIM_ROOT"

// eximUID is the user and group id of Debian-exim in Exim's namespace.
const eximUID = 64901

// eximRoot returns the directory of the unpacked Exim, or why there is
// none: $NETLAB_EXIM_ROOT, or dualstack-exim4 in the temporary directory
// (where .ci/run unpacks it).
func eximRoot() (string, error) {
	root := os.Getenv(eximEnv)
	if root == "" {
		root = filepath.Join(os.TempDir(), "dualstack-exim4")
	}
	bin := filepath.Join(root, "usr/sbin/exim4")
	fi, err := os.Stat(bin)
	if err != nil {
		return "", fmt.Errorf("no unpacked Exim (set %s, or run: apt-get download exim4-base exim4-daemon-light libidn12 && for f in *.deb; do dpkg -x $f %s; done && chmod u-s %s): %w", eximEnv, root, bin, err)
	}
	if fi.Mode()&os.ModeSetuid != 0 {
		return "", fmt.Errorf("%s is set-user-id: the dynamic linker would ignore LD_LIBRARY_PATH (chmod u-s %s)", bin, bin)
	}
	return root, nil
}

// exim is the Exim instance on a host.
type exim struct {
	host *host
	root string // the unpacked packages
	dir  string // DIR/exim.conf, DIR/spool, DIR/log
}

func (e *exim) bin() string     { return filepath.Join(e.root, "usr/sbin/exim4") }
func (e *exim) conf() string    { return filepath.Join(e.dir, "exim.conf") }
func (e *exim) mainlog() string { return filepath.Join(e.dir, "log", "mainlog") }

// config is Exim's configuration: a relay for the lab's networks that
// routes by DNS, in the host's families, with fast retries, and that
// gives up on an undeliverable bounce (which Exim freezes) after a few
// seconds instead of weeks.
func (e *exim) config() string {
	return fmt.Sprintf(`exim_path = %[1]s
primary_hostname = %[2]s
spool_directory = %[3]s/spool
log_file_path = %[3]s/log/%%slog
pid_file_path = %[3]s/exim.pid
keep_environment = LD_LIBRARY_PATH
daemon_smtp_ports = 25
local_interfaces = <; 0.0.0.0 ; ::0
disable_ipv6 = %[4]t
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
acl_smtp_rcpt = acl_check_rcpt
domainlist local_domains = %[2]s
hostlist relay_from_hosts = <; 192.0.2.0/24 ; 2001:db8:1::/64
ignore_bounce_errors_after = 1s
begin acl
acl_check_rcpt:
  accept hosts = +relay_from_hosts
  deny
begin routers
dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  no_more
begin transports
remote_smtp:
  driver = smtp
  connect_timeout = 2s
begin retry
* * F,4s,1s
`, e.bin(), e.host.name, e.dir, !e.host.families().Has(mxorder.IPv6))
}

// startExims starts Exim on every Exim host, if the unpacked copy is
// there; without it the lab runs without Exim and says why.
func (l *lab) startExims(ctx context.Context) error {
	root, err := eximRoot()
	if err != nil {
		l.eximErr = err
		l.logf("lab: Exim not run: %v", err)
		return nil
	}
	for i := range hosts {
		h := &hosts[i]
		if h.kind != kindExim {
			continue
		}
		e := &exim{host: h, root: root, dir: filepath.Join(l.dir, "exim-"+h.ns)}
		if err := l.startExim(ctx, e); err != nil {
			return err
		}
		l.exim[h.ns] = e
	}
	return nil
}

// startExim writes the configuration and the namespace's passwd and
// group, starts the daemon in the foreground (queue runs every second)
// and waits until it listens.
func (l *lab) startExim(ctx context.Context, e *exim) error {
	n := l.ns[e.host.ns]
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{"spool", "log"} {
		if err := os.MkdirAll(filepath.Join(e.dir, d), 0o750); err != nil {
			return err
		}
		if err := os.Chown(filepath.Join(e.dir, d), eximUID, eximUID); err != nil {
			return err
		}
	}
	if err := os.WriteFile(e.conf(), []byte(e.config()), 0o644); err != nil {
		return err
	}
	for file, line := range map[string]string{
		"passwd": "Debian-exim:x:" + strconv.Itoa(eximUID) + ":" + strconv.Itoa(eximUID) + "::/nonexistent:/usr/sbin/nologin\n",
		"group":  "Debian-exim:x:" + strconv.Itoa(eximUID) + ":\n",
	} {
		sys, err := os.ReadFile("/etc/" + file)
		if err != nil {
			return err
		}
		if err := n.WriteEtc(file, string(sys)+line); err != nil {
			return err
		}
	}
	cmd := n.Command(e.bin(), "-C", e.conf(), "-bdf", "-q1s")
	libs, _ := filepath.Glob(filepath.Join(e.root, "usr/lib/*/libidn.so.12"))
	if len(libs) == 0 {
		return fmt.Errorf("exim: no libidn.so.12 under %s/usr/lib (unpack libidn12 there too)", e.root)
	}
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Dir(libs[0]))
	if err := l.startDaemon("exim "+e.host.ns, filepath.Join(e.dir, "daemon.out"), cmd); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		b, _ := os.ReadFile(e.mainlog())
		if strings.Contains(string(b), "daemon started") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ := os.ReadFile(filepath.Join(e.dir, "daemon.out"))
	return errors.Join(fmt.Errorf("exim %s did not start", e.host.ns), ctx.Err(), fmt.Errorf("%s", out))
}

// eximMsg is what Exim's mainlog says about one message.
type eximMsg struct {
	id     string
	tries  []Try    // hosts and addresses of deliveries and failures
	lines  []string // the message's lines, without time stamps
	bounce string   // id of the bounce Exim made for it
	done   bool     // Completed
	frozen bool
}

var (
	reEximLine = regexp.MustCompile(`^\S+ \S+ (\w{6}-\w{6}-\w{2}) (.*)$`)
	reEximHost = regexp.MustCompile(`H=(\S+) \[([0-9a-fA-F.:]+)\]`)
	reEximFrom = regexp.MustCompile(`^<= <> R=(\w{6}-\w{6}-\w{2}) `)
)

// parseEximLog reads a mainlog from offset off.
func parseEximLog(path string, off int64) (map[string]*eximMsg, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if _, err := f.Seek(off, 0); err != nil {
		return nil, nil, err
	}
	msgs := map[string]*eximMsg{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := reEximLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		id, rest := m[1], m[2]
		em := msgs[id]
		if em == nil {
			em = &eximMsg{id: id}
			msgs[id] = em
			order = append(order, id)
		}
		if !slices.Contains(em.lines, rest) {
			em.lines = append(em.lines, rest)
		}
		eximEvent(msgs, em, rest)
	}
	return msgs, order, sc.Err()
}

// eximEvent applies one mainlog line to its message.
func eximEvent(msgs map[string]*eximMsg, em *eximMsg, rest string) {
	if b := reEximFrom.FindStringSubmatch(rest); b != nil {
		if orig := msgs[b[1]]; orig != nil {
			orig.bounce = em.id
		}
	}
	result := ""
	switch {
	case strings.HasPrefix(rest, "=> "):
		result = "sent"
	case strings.HasPrefix(rest, "** "):
		result = "bounced"
	case strings.HasPrefix(rest, "== "):
		result = "deferred"
	case rest == "Completed":
		em.done = true
	case strings.HasPrefix(rest, "Frozen"):
		em.frozen = true
	}
	if h := reEximHost.FindStringSubmatch(rest); h != nil && result != "" {
		if a, err := netip.ParseAddr(h[2]); err == nil {
			em.tries = append(em.tries, Try{Host: h[1], Addr: a, Result: result})
		}
	}
}

// eximRun submits from -> to to the Exim relay on host ns and waits until
// Exim is done with the message and with its bounce, if any.
func (l *lab) eximRun(ctx context.Context, ns, from, to string, timeout time.Duration) (*eximMsg, map[string]*eximMsg, []Session, error) {
	e := l.exim[ns]
	var off int64
	if fi, err := os.Stat(e.mainlog()); err == nil {
		off = fi.Size()
	}
	l.takeSessions()
	if err := l.submitVia(ctx, ns, from, to, "exim"); err != nil {
		return nil, nil, nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		msgs, order, err := parseEximLog(e.mainlog(), off)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(order) > 0 {
			m := msgs[order[0]]
			b := msgs[m.bounce]
			if m.done && (m.bounce == "" || b != nil && b.done) {
				time.Sleep(200 * time.Millisecond)
				return m, msgs, l.takeSessions(), nil
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		if time.Now().After(deadline) {
			return nil, nil, nil, fmt.Errorf("exim %s: message to %s not done after %v", ns, to, timeout)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// eximRows runs the message of a bounce scenario through the Exim relay
// on host ns and compares what Exim did with the plan and CheckBounce.
// Without Exim it says why in the scenario's output.
func (l *lab) eximRows(ctx context.Context, r *Result, ns, from, to, senderSink string) error {
	if len(l.exim) == 0 {
		r.Postfix = append(r.Postfix, "Exim: not run: "+l.eximErr.Error())
		return nil
	}
	h := hostByNS(ns)
	_, rcptDomain, _ := strings.Cut(to, "@")
	_, senderDomain, _ := strings.Cut(from, "@")
	m, msgs, sessions, err := l.eximRun(ctx, ns, from, to, 30*time.Second)
	if err != nil {
		return err
	}
	r.Postfix = append(r.Postfix, fmt.Sprintf("Exim %s -> %s: %s", h.name, rcptDomain, strings.Join(m.lines[1:], "; ")))
	r.fact("exim "+ns+" "+rcptDomain+" tries", triesText(m.tries))
	plan, perr := l.plan(ctx, r, ns, rcptDomain, pfAddressLimit)
	row := triesRow("Exim "+h.name+" -> "+rcptDomain, m.tries, plan, "Exim orders a host's addresses as the resolver returns them")
	if perr != nil {
		row.Plan = planErrText(perr)
	}
	r.Rows = append(r.Rows, row)
	arrived := 0
	for _, s := range sessions {
		if s.Sink == senderSink && s.From == "" && s.Data {
			arrived++
		}
	}
	lost := m.bounce != "" && arrived == 0
	if b := msgs[m.bounce]; b != nil {
		r.Postfix = append(r.Postfix, fmt.Sprintf("Exim %s: bounce %s: %s; bounces arrived at %s: %d", h.name, b.id, strings.Join(b.lines, "; "), senderSink, arrived))
		r.fact("exim "+ns+" bounce frozen", strconv.FormatBool(b.frozen))
	}
	predicted, why, err := l.checkBounce(ctx, r, ns, rcptDomain, senderDomain)
	if err != nil {
		return err
	}
	r.Rows = append(r.Rows, Row{
		Aspect:  "Exim: bounce lost (" + rcptDomain + " from " + senderDomain + ")",
		Postfix: yesNo(lost, "lost: the sender never learns", "returned to the sender"),
		Plan:    yesNo(predicted, "CheckBounce: "+why, "CheckBounce: the bounce path works"),
		Agree:   lost == predicted,
	})
	r.fact("exim "+ns+" bounce lost", strconv.FormatBool(lost))
	if b := msgs[m.bounce]; b != nil && b.frozen {
		r.Rows = append(r.Rows, Row{
			Aspect:  "Exim: the undeliverable bounce",
			Postfix: "frozen, then discarded after ignore_bounce_errors_after (\"error ignored\"); nobody is told",
			Plan:    "CheckBounce: lost",
			Agree:   lost && predicted,
			Reason:  "where Postfix sends the relay's postmaster a double bounce (notify_classes 2bounce), Exim freezes the bounce and later drops it; a plan says that the bounce is lost, not what the MTA does with it",
		})
	}
	for _, s := range sessions {
		if s.Sink == senderSink && s.From == "" {
			r.fact("exim "+ns+" bounce peer", s.Peer.Addr().String())
		}
	}
	return nil
}
