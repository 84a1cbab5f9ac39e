//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dualstack/dualstack/internal/netns"
	"github.com/dualstack/dualstack/mxorder"
)

// postfix is one Postfix instance with its own configuration, queue and
// data directories (postfix -c DIR), started inside its host's namespace.
type postfix struct {
	host *host
	ns   *netns.NS
	dir  string // DIR/etc, DIR/spool, DIR/data, DIR/mbox, DIR/maillog
}

// The lab's Postfix settings that mxorder's planner mirrors.
const (
	pfAddressLimit = 5 // smtp_mx_address_limit (Postfix's default)
	pfSessionLimit = 2 // smtp_mx_session_limit (Postfix's default)
	pfLimited      = 2 // smtp_mx_address_limit of the "limited" transport (scenario 5)
)

// limitedDomains use the "limited" transport (scenario 5).
var limitedDomains = []string{"lim5.lab", "v6only5.lab"}

func (p *postfix) etc() string     { return filepath.Join(p.dir, "etc") }
func (p *postfix) maillog() string { return filepath.Join(p.dir, "maillog") }

// mainCF returns main.cf. Retries are fast (seconds) so that a deferred
// message expires and bounces within a scenario: maximal_queue_lifetime
// and bounce_queue_lifetime are a few seconds.
func (p *postfix) mainCF() string {
	protocols := map[mxorder.Family]string{mxorder.IPv4: "ipv4", mxorder.IPv6: "ipv6", mxorder.DualStack: "all"}[p.host.families()]
	var transports []string
	for _, d := range limitedDomains {
		transports = append(transports, "{"+d+"=limited:}")
	}
	kv := [][2]string{
		{"compatibility_level", "3.6"},
		{"queue_directory", filepath.Join(p.dir, "spool")},
		{"data_directory", filepath.Join(p.dir, "data")},
		{"syslog_name", "postfix-" + p.host.ns},
		{"maillog_file", p.maillog()},
		{"maillog_file_prefixes", p.dir},
		{"myhostname", p.host.name},
		{"mydomain", "lab"},
		{"myorigin", "$myhostname"},
		{"mydestination", "$myhostname, localhost"},
		{"inet_interfaces", "all"},
		{"inet_protocols", protocols},
		{"mynetworks", "127.0.0.0/8 [::1]/128 192.0.2.0/24 [2001:db8:1::]/64"},
		{"relay_domains", p.host.relayDomains},
		{"smtpd_relay_restrictions", "permit_mynetworks, reject_unauth_destination"},
		{"alias_maps", "inline:{ {postmaster=" + filepath.Join(p.dir, "mbox", "postmaster") + "} }"},
		{"alias_database", ""},
		{"local_recipient_maps", "$alias_maps"},
		{"transport_maps", "inline:{ " + strings.Join(transports, " ") + " }"},
		{"smtp_host_lookup", "dns"},
		{"disable_dns_lookups", "no"},
		{"smtp_mx_address_limit", strconv.Itoa(pfAddressLimit)},
		{"smtp_mx_session_limit", strconv.Itoa(pfSessionLimit)},
		{"smtp_connection_cache_on_demand", "no"},
		{"smtp_connect_timeout", "2s"},
		{"minimal_backoff_time", "1s"},
		{"maximal_backoff_time", "2s"},
		{"queue_run_delay", "1s"},
		{"maximal_queue_lifetime", "4s"},
		{"bounce_queue_lifetime", "4s"},
		{"delay_warning_time", "0"},
		{"notify_classes", "resource, software, 2bounce"},
		{"biff", "no"},
		{"append_dot_mydomain", "no"},
		{"smtputf8_enable", "no"},
		{"readme_directory", "no"},
	}
	var b strings.Builder
	for _, e := range kv {
		b.WriteString(e[0] + " = " + e[1] + "\n")
	}
	return b.String()
}

// configure writes main.cf and master.cf (Debian's, with chroot off so
// that the SMTP client reads the namespace's resolv.conf, and a
// "limited" SMTP transport). postfix start creates the queue directories
// (a separate postfix check takes seconds more).
func (p *postfix) configure() error {
	for _, d := range []string{"etc", "spool", "mbox"} {
		if err := os.MkdirAll(filepath.Join(p.dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(p.dir, "mbox"), 0o1777); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(p.etc(), "main.cf"), []byte(p.mainCF()), 0o644); err != nil {
		return err
	}
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		return fmt.Errorf("postfix: Debian's master.cf: %w", err)
	}
	if err := os.WriteFile(filepath.Join(p.etc(), "master.cf"), master, 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"-F", "*/*/chroot = n"},
		{"-M", "limited/unix=limited unix - - n - - smtp -o smtp_mx_address_limit=" + strconv.Itoa(pfLimited)},
	} {
		if err := p.run("postconf", args...); err != nil {
			return err
		}
	}
	return nil
}

// run runs a Postfix command with -c for this instance, in the host's
// namespace.
func (p *postfix) run(cmd string, args ...string) error {
	return p.ns.Run(mustPath(cmd), append([]string{"-c", p.etc()}, args...)...)
}

// start starts the instance and waits for its master process. The output
// of postfix start goes to a file: its background checks keep running
// after the master is up, and a pipe would make us wait for them.
func (p *postfix) start(ctx context.Context) error {
	out, err := os.Create(filepath.Join(p.dir, "start.out"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := p.ns.Command(mustPath("postfix"), "-c", p.etc(), "start")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		return fmt.Errorf("postfix %s start: %v: %s", p.host.ns, err, bytes.TrimSpace(b))
	}
	deadline := time.Now().Add(15 * time.Second)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if p.masterPid() > 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postfix %s: waiting for the master: %w", p.host.ns, err)
	}
	return fmt.Errorf("postfix %s did not start; see %s", p.host.ns, p.maillog())
}

// masterPid returns the pid of the running master process, 0 if none.
func (p *postfix) masterPid() int {
	b, err := os.ReadFile(filepath.Join(p.dir, "spool", "pid", "master.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// stop stops the instance by its master's pid, as postfix stop does
// (SIGTERM: the master stops its children), then SIGKILL if it is still
// there after two seconds; the namespace's removal ends whatever is left.
func (p *postfix) stop() {
	pid := p.masterPid()
	if pid == 0 {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// queueLen returns the number of messages in the queue.
func (p *postfix) queueLen() (int, error) {
	out, err := exec.Command(mustPath("postqueue"), "-c", p.etc(), "-j").Output()
	if err != nil {
		return 0, fmt.Errorf("postqueue %s: %w", p.host.ns, err)
	}
	n := 0
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			return 0, fmt.Errorf("postqueue %s: %w", p.host.ns, err)
		}
		n++
	}
	return n, nil
}

// logOffset returns the current size of the maillog, where a scenario's
// lines start.
func (p *postfix) logOffset() int64 {
	fi, err := os.Stat(p.maillog())
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logSince returns the maillog lines written after off.
func (p *postfix) logSince(off int64) ([]string, error) {
	f, err := os.Open(p.maillog())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(off, 0); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(f); err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(b.String(), "\n"), "\n"), nil
}
