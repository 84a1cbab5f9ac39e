//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/dualstack/dualstack/addrselect/nat64"
	"github.com/dualstack/dualstack/internal/netns"
	"github.com/dualstack/dualstack/mxorder"
)

// startDaemon starts cmd with its output in the file out and registers
// its stop.
func (l *lab) startDaemon(name, out string, cmd *exec.Cmd) error {
	d, err := netns.StartDaemon(name, out, cmd)
	if err != nil {
		return err
	}
	l.onClose(func() { d.Stop() })
	return nil
}

// taygaConf is tayga's configuration. With a network-specific prefix it
// derives nothing from the well-known prefix; its own IPv6 address is
// given outside the prefix.
func taygaConf(dataDir string) string {
	return "tun-device nat64\nipv4-addr " + nat64Own + "\nipv6-addr 2001:db8:1:ffff::70\n" +
		"prefix " + nat64Prefix + "\ndynamic-pool " + nat64Pool + "\ndata-dir " + dataDir + "\n"
}

// unboundConf is a DNS64 (RFC 6147) on the translator's address that
// asks the lab's NSD for lab. and synthesizes AAAA records under the
// translator's prefix for names with A records only. Without a trust
// anchor it validates nothing; without root hints in use it sends
// nothing outside the lab.
func unboundConf(dir string) string {
	return fmt.Sprintf(`server:
	interface: %[1]s
	access-control: 2001:db8:1::/64 allow
	chroot: ""
	username: ""
	directory: %[2]q
	pidfile: "%[2]s/unbound.pid"
	logfile: ""
	use-syslog: no
	num-threads: 1
	module-config: "dns64 iterator"
	dns64-prefix: %[3]s
	cache-max-ttl: 60
remote-control:
	control-enable: no
stub-zone:
	name: "lab."
	stub-addr: %[4]s
`, nat64V6, dir, nat64Prefix, dnsV4)
}

// startNAT64 starts tayga and unbound in the nat64 namespace (a router
// between the link's IPv6 hosts and its IPv4 hosts) and returns when the
// DNS64 answers an IPv6-only host with a synthesized address.
func (l *lab) startNAT64(ctx context.Context) error {
	n := l.ns["nat64"]
	dir := filepath.Join(l.dir, "nat64")
	if err := os.MkdirAll(filepath.Join(dir, "tayga"), 0o755); err != nil {
		return err
	}
	taygaFile, unboundFile := filepath.Join(dir, "tayga.conf"), filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(taygaFile, []byte(taygaConf(filepath.Join(dir, "tayga"))), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(unboundFile, []byte(unboundConf(dir)), 0o644); err != nil {
		return err
	}
	if err := n.Run(mustPath("sysctl"), "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"); err != nil {
		return err
	}
	// tayga creates its TUN device only after it has started: make it
	// first, so that the routes into it can be added now.
	if err := n.Run(mustPath("tayga"), "-c", taygaFile, "--mktun"); err != nil {
		return err
	}
	if err := n.Batch("link set nat64 up", "route add "+nat64Prefix+" dev nat64", "route add "+nat64Pool+" dev nat64"); err != nil {
		return err
	}
	if err := l.startDaemon("tayga", filepath.Join(dir, "tayga.out"), n.Command(mustPath("tayga"), "-c", taygaFile, "-d")); err != nil {
		return err
	}
	if err := l.startDaemon("unbound", filepath.Join(dir, "unbound.out"), n.Command(mustPath("unbound"), "-d", "-c", unboundFile)); err != nil {
		return err
	}
	return l.waitDNS64(ctx, dir)
}

// waitDNS64 waits until the DNS64 answers relay6's AAAA query for the
// IPv4-only mx.v4sender.lab with the address synthesized under the
// prefix.
func (l *lab) waitDNS64(ctx context.Context, dir string) error {
	want := synthesize(netip.MustParseAddr(hostByNS("s2snd").addrs[0]))
	dns64 := l.dns64()
	deadline := time.Now().Add(10 * time.Second)
	for {
		qctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		got, err := dns64.LookupNetIP(qctx, "ip6", "mx.v4sender.lab")
		cancel()
		if err == nil && slices.Contains(got, want) {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("answered %v, want %v", got, want)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			out, _ := os.ReadFile(filepath.Join(dir, "unbound.out"))
			return errors.Join(fmt.Errorf("DNS64 does not answer: %w", err), fmt.Errorf("unbound: %s", out))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dns64 is the DNS64 as relay6 (and its Postfix) asks it.
func (l *lab) dns64() *labResolver {
	return &labResolver{ns: l.ns["relay6"], server: netip.AddrPortFrom(netip.MustParseAddr(nat64V6), 53)}
}

// synthesize embeds an IPv4 address in the lab's /96 NAT64 prefix (RFC
// 6052 section 2.2).
func synthesize(a netip.Addr) netip.Addr {
	s, err := nat64.Synthesize(netip.MustParsePrefix(nat64Prefix), a)
	if err != nil {
		panic("netlab: the lab's own NAT64 prefix and addresses: " + err.Error())
	}
	return s
}

func runNAT64Bounce(ctx context.Context, l *lab, r *Result) error {
	ds, ml, err := l.relayBounce(ctx, r, "relay6", "bob@v4sender.lab", "mx.v4sender.lab")
	if err != nil {
		return err
	}
	if err := l.nat64Rows(ctx, r, ml, firstQueue(ds)); err != nil {
		return err
	}
	if err := l.eximRows(ctx, r, "exim6", "bob@v4sender.lab", "nobody@rcpt1.lab", "mx.v4sender.lab"); err != nil {
		return err
	}
	if err := l.dns64Row(ctx, r); err != nil {
		return err
	}
	if err := l.auditFrom(ctx, r, "relay6", "v4sender.lab"); err != nil {
		return err
	}
	return l.finish(ctx, r, nil, []send{{"lib6", "bob@v4sender.lab", "nobody@rcpt1.lab"}})
}

// nat64Rows compares the addresses relay6's bounce (of the message with
// queue id q) used with the plan, and the address the IPv4-only sender
// MX saw with CheckBounce's NAT64 caveat.
func (l *lab) nat64Rows(ctx context.Context, r *Result, ml *mtaLog, q string) error {
	p, err := l.planner(hostByNS("relay6"), pfAddressLimit, 1)
	if err != nil {
		return err
	}
	var tries []Try
	if bds := ml.byQueue(ml.dsn[q]); len(bds) > 0 {
		tries = bds[len(bds)-1].Tries
	}
	plan, perr := p.Plan(ctx, "v4sender.lab")
	if perr != nil {
		plan = nil
	}
	row := triesRow("bounce relay6.lab -> v4sender.lab addresses", tries, plan, whyAddrOrder)
	row.Reason = "Postfix got the synthesized AAAA record from the DNS64 (RFC 6147); the plan synthesized the same address from the A record with Planner.NAT64 (RFC 6052 section 2.2)"
	r.Rows = append(r.Rows, row)
	r.fact("relay6 bounce tries", triesText(tries))
	// relay6's bounces arrive from the pool (or, wrongly, from relay6
	// itself); a bounce another relay sends bob@v4sender.lab late, from
	// an earlier scenario, is not the one this row compares.
	var peers []string
	inPool := 0
	pool := netip.MustParsePrefix(nat64Pool)
	for _, s := range r.Sessions {
		peer := s.Peer.Addr()
		if s.Sink != "mx.v4sender.lab" || s.From != "" || !pool.Contains(peer) && !slices.Contains(hostByNS("relay6").addrs, peer.String()) {
			continue
		}
		peers = append(peers, peer.String())
		if pool.Contains(peer) {
			inPool++
		}
	}
	br, err := p.CheckBounce(ctx, hostByNS("relay6").families(), "rcpt1.lab", "v4sender.lab")
	if err != nil {
		return err
	}
	caveat := slices.ContainsFunc(br.Findings, func(f mxorder.AuditFinding) bool { return f.Code == mxorder.CodeNAT64Sender })
	r.Rows = append(r.Rows, Row{
		Aspect:  "client address the IPv4-only sender MX saw",
		Postfix: fmt.Sprintf("%v (tayga's pool %s, not relay6.lab's address)", peers, nat64Pool),
		Plan:    yesNo(caveat, "CheckBounce nat64-sender: the bounce leaves from the translator's IPv4 address", "no NAT64 caveat"),
		Agree:   caveat && inPool > 0 && inPool == len(peers),
		Reason:  "the receiver sees the translator, so SPF and reverse DNS of the relay do not apply: the caveat the plan reports",
	})
	r.fact("mx.v4sender.lab bounce peers in pool", fmt.Sprintf("%d of %d", inPool, len(peers)))
	r.fact("nat64-sender caveat", fmt.Sprint(caveat))
	return nil
}

// whyDNS64 explains the one difference of scenario 6.
const whyDNS64 = "a DNS64 synthesizes AAAA records only for names without any (RFC 6147 section 5.1.6), so Postfix behind it never learns the IPv4 address of a dual-stack MX and has no fallback through the translator if the native IPv6 address fails; the plan (Planner.NAT64) adds the translated IPv4 address after the native ones. Not exercised here: the 5yz reply at the first address ends both"

// dns64Row compares the IPv6 addresses Postfix on relay6 gets for the
// dual-stack mx.rcpt1.lab from the DNS64 with the ones the plan uses.
func (l *lab) dns64Row(ctx context.Context, r *Result) error {
	got, err := l.dns64().LookupNetIP(ctx, "ip6", "mx.rcpt1.lab")
	if err != nil {
		return fmt.Errorf("DNS64: %w", err)
	}
	p, err := l.planner(hostByNS("relay6"), pfAddressLimit, 1)
	if err != nil {
		return err
	}
	plan, err := p.Plan(ctx, "rcpt1.lab")
	if err != nil {
		return err
	}
	var planned []netip.Addr
	for _, a := range plan.Attempts() {
		planned = append(planned, a.Addr)
	}
	r.Rows = append(r.Rows, Row{
		Aspect:  "addresses of the dual-stack mx.rcpt1.lab behind NAT64",
		Postfix: fmt.Sprintf("DNS64 answers %v", got),
		Plan:    fmt.Sprintf("%v", planned),
		Agree:   slices.Equal(got, planned),
		Reason:  whyDNS64,
	})
	r.fact("dns64 mx.rcpt1.lab", fmt.Sprint(got))
	r.fact("plan mx.rcpt1.lab", fmt.Sprint(planned))
	return nil
}
