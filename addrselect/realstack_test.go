package addrselect_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/internal/testenv"
	"github.com/dualstack/dualstack/policytable"
)

// The real-stack tests build hosts in Linux network namespaces, put the
// destinations as several lines of one name in the namespace's hosts
// file, and compare the order glibc (getent ahosts), musl (getaddrinfo in
// a program built with musl-gcc), c-ares (ares_getaddrinfo) and Go (the
// pure-Go resolver, which sorts hosts-file answers too) return with the
// order of the matching profile, given the sources the kernel picks in
// that namespace. They need root, iproute2 and the compilers;
// each stack's test skips with the reason when its tools are missing.

const (
	realCases  = 30
	realSeed   = 6724
	realTarget = "rs-target.test"
)

const realScopeV4Conf = `scopev4 ::ffff:169.254.0.0/112 2
scopev4 ::ffff:127.0.0.0/104 2
scopev4 ::ffff:10.0.0.0/104 5
scopev4 ::ffff:172.16.0.0/108 5
scopev4 ::ffff:192.168.0.0/112 5
scopev4 ::ffff:198.51.100.0/120 8
scopev4 ::ffff:0.0.0.0/96 14
`

// realCase is a generated host and destination list.
type realCase struct {
	addrs  []string // "ADDR/PLEN [preferred_lft 0] [home]" on v0
	routes []string // arguments of "ip route add"
	dsts   []string
}

func (c *realCase) hasIPv6() bool {
	_, v6 := c.families()
	return v6
}

// families reports whether the host has IPv4 and IPv6 addresses (besides
// loopback).
func (c *realCase) families() (v4, v6 bool) {
	for _, a := range c.addrs {
		if p, err := netip.ParsePrefix(strings.Fields(a)[0]); err == nil {
			v4 = v4 || p.Addr().Is4()
			v6 = v6 || p.Addr().Is6()
		}
	}
	return v4, v6
}

// wantCount is the number of addresses stack must return: all of them,
// except that glibc's getent asks for AI_ADDRCONFIG and AI_V4MAPPED.
// With IPv4 only, glibc then drops IPv6 entries other than ::1 and
// IPv4-mapped ones; with IPv6 only, it drops the IPv4 and IPv4-mapped
// entries, or, when there is no other IPv6 entry, returns them
// IPv4-mapped. A stack returning
// fewer would mean the namespace's hosts file or host.conf ("multi on")
// was not used.
func (c *realCase) wantCount(stack string) int {
	v4, v6 := c.families()
	if !strings.HasPrefix(stack, "glibc") || v4 == v6 {
		return len(c.dsts)
	}
	n4, n6 := 0, 0
	for _, d := range c.dsts {
		if a := netip.MustParseAddr(d); a.Is4() || a.Is4In6() {
			n4++
		} else {
			n6++
		}
	}
	if v6 {
		if n6 > 0 {
			return n6
		}
		return n4
	}
	n := 0
	for _, d := range c.dsts {
		a := netip.MustParseAddr(d)
		if a.Is4() || a.Is4In6() || a == netip.IPv6Loopback() {
			n++
		}
	}
	return n
}

// realGen draws cases from address pools chosen to exercise every rule
// the stacks disagree on: scopes of 169.254/16 and 127/8, labels of 6to4,
// Teredo, ULA, site-local and IPv4-compatible addresses, deprecated and
// home sources, same-subnet and distant destinations for rule 9, unusable
// destinations (no route, link-local without zone) and IPv4-mapped ones.
type realGen struct{ r *rand.Rand }

func (g realGen) byte() byte { return byte(g.r.IntN(254) + 1) }

func (g realGen) pick(n int) int { return g.r.IntN(n) }

func (g realGen) v4Host() (addr netip.Prefix, gw netip.Addr) {
	type pool struct {
		base [4]byte
		bits int
	}
	pools := []pool{
		{[4]byte{198, 51, 100, 0}, 24},
		{[4]byte{203, 0, 113, 0}, 24},
		{[4]byte{100, 64, 0, 0}, 10},
		{[4]byte{172, 16, 0, 0}, 12},
		{[4]byte{169, 254, 0, 0}, 16},
		{[4]byte{10, 0, 0, 0}, 8},
	}
	p := pools[g.pick(len(pools))]
	b := p.base
	switch p.bits {
	case 8:
		b[1], b[2], b[3] = g.byte(), g.byte(), g.byte()
	case 10, 12:
		b[1] |= byte(g.pick(16))
		b[2], b[3] = g.byte(), g.byte()
	case 16:
		b[2], b[3] = g.byte(), g.byte()
	default:
		b[3] = byte(g.pick(200) + 10)
	}
	a := netip.AddrFrom4(b)
	pfx := netip.PrefixFrom(a, p.bits)
	gwb := pfx.Masked().Addr().As4()
	gwb[3] |= 1
	return pfx, netip.AddrFrom4(gwb)
}

func (g realGen) v6Host() netip.Prefix {
	bases := []string{"2001:db8:%x::%x", "2606:4700:%x::%x", "fd%02x:1::%x", "2002:c633:64%02x::%x", "2001:0:%x::%x", "fec0:0:0:%x::%x"}
	s := fmt.Sprintf(bases[g.pick(len(bases))], g.pick(200)+1, g.pick(0xfff0)+2)
	return netip.PrefixFrom(netip.MustParseAddr(s), 64)
}

// nearby returns an address in p's network, or sharing only its first
// half with it.
func (g realGen) nearby(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	n := len(b)
	if g.pick(3) == 0 {
		// Change bits in the middle of the network part.
		b[n/4] ^= byte(g.pick(255) + 1)
	}
	b[n-1] = g.byte()
	b[n-2] ^= byte(g.pick(4))
	a, _ := netip.AddrFromSlice(b)
	return a
}

func (g realGen) flags() string {
	var f []string
	if g.pick(6) == 0 {
		f = append(f, "preferred_lft 0")
	}
	if g.pick(8) == 0 {
		f = append(f, "home")
	}
	return strings.Join(f, " ")
}

func (g realGen) next() realCase {
	var c realCase
	var v4s, v6s []netip.Prefix
	var gw4 netip.Addr
	for range g.pick(3) {
		p, gw := g.v4Host()
		if slices.ContainsFunc(v4s, func(q netip.Prefix) bool { return q.Overlaps(p) }) {
			continue
		}
		if len(v4s) == 0 {
			gw4 = gw
		}
		v4s = append(v4s, p)
		c.addrs = append(c.addrs, strings.TrimSpace(p.String()+" "+g.flags()))
	}
	hasLL := false
	if n := g.pick(4); n > 0 || len(v4s) == 0 {
		c.addrs = append(c.addrs, fmt.Sprintf("fe80::%x/64", g.pick(0xfff0)+2))
		hasLL = true
		for range n {
			p := g.v6Host()
			if slices.ContainsFunc(v6s, func(q netip.Prefix) bool { return q.Overlaps(p) }) {
				continue
			}
			v6s = append(v6s, p)
			c.addrs = append(c.addrs, strings.TrimSpace(p.String()+" "+g.flags()))
		}
	}
	if len(v4s) > 0 && g.pick(4) != 0 {
		c.routes = append(c.routes, "default via "+gw4.String()+" dev v0")
	}
	if hasLL {
		switch g.pick(3) {
		case 0:
			c.routes = append(c.routes, "-6 default via fe80::1 dev v0")
		case 1:
			c.routes = append(c.routes, "-6 2000::/3 dev v0")
		}
	}

	kinds := []func() netip.Addr{
		func() netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, g.byte()}) },
		func() netip.Addr {
			return netip.AddrFrom4([4]byte{byte(g.pick(200) + 11), g.byte(), g.byte(), g.byte()})
		},
		func() netip.Addr { return netip.AddrFrom4([4]byte{169, 254, g.byte(), g.byte()}) },
		func() netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, g.byte()}) },
		func() netip.Addr { return netip.AddrFrom4([4]byte{10, g.byte(), g.byte(), g.byte()}) },
		func() netip.Addr {
			return netip.AddrFrom16(netip.AddrFrom4([4]byte{198, 51, 100, g.byte()}).As16())
		},
		func() netip.Addr {
			return netip.MustParseAddr(fmt.Sprintf("::%d.%d.0.%d", g.pick(200)+11, g.byte(), g.byte()))
		},
		func() netip.Addr {
			return netip.MustParseAddr(fmt.Sprintf("2001:db8:%x::%x", g.pick(0xffff), g.pick(0xffff)))
		},
		func() netip.Addr {
			return netip.MustParseAddr(fmt.Sprintf("2400:cb00:%x::%x", g.pick(0xffff), g.pick(0xffff)))
		},
		func() netip.Addr {
			return netip.MustParseAddr(fmt.Sprintf("fd%02x:%x::%x", g.pick(256), g.pick(0xffff), g.pick(0xffff)))
		},
		func() netip.Addr {
			return netip.MustParseAddr(fmt.Sprintf("2002:%x::%x", g.pick(0xffff), g.pick(0xffff)))
		},
		func() netip.Addr {
			return netip.MustParseAddr(fmt.Sprintf("2001:0:%x::%x", g.pick(0xffff), g.pick(0xffff)))
		},
		func() netip.Addr { return netip.MustParseAddr(fmt.Sprintf("fe80::%x", g.pick(0xffff)+1)) },
		func() netip.Addr { return netip.MustParseAddr(fmt.Sprintf("fec0::%x", g.pick(0xffff)+1)) },
		func() netip.Addr {
			return netip.MustParseAddr(fmt.Sprintf("3ffe:%x::%x", g.pick(0xffff), g.pick(0xffff)))
		},
		func() netip.Addr { return netip.IPv6Loopback() },
	}
	n := 2 + g.pick(7)
	seen := map[netip.Addr]bool{}
	for len(c.dsts) < n {
		var a netip.Addr
		local := append(slices.Clone(v4s), v6s...)
		if len(local) > 0 && g.pick(3) == 0 {
			a = g.nearby(local[g.pick(len(local))])
		} else {
			a = kinds[g.pick(len(kinds))]()
		}
		// One spelling per address as a stack may return it: a and
		// ::ffff:a, ::1 and 127.0.0.1 may come back as the same one.
		k := a.Unmap()
		if k == netip.IPv6Loopback() {
			k = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		c.dsts = append(c.dsts, a.String())
	}
	return c
}

// realEnv holds the tools the real-stack tests run.
type realEnv struct {
	dir    string
	srcs   string // kernel source printer (gcc)
	musl   string // getaddrinfo built with musl-gcc, "" if unavailable
	cares  string // ares_getaddrinfo program, "" if unavailable
	golang string // Go resolver program, "" if unavailable
	why    map[string]string
}

func newRealEnv(t *testing.T) *realEnv {
	t.Helper()
	// Network namespaces need root, CAP_SYS_ADMIN and, for "ip netns
	// exec", a private mount namespace; some containers allow neither.
	testenv.NeedNetns(t)
	testenv.NeedCommand(t, "getent", "libc-bin")
	testenv.NeedCommand(t, "gcc", "gcc")
	var err error
	e := &realEnv{dir: t.TempDir(), why: map[string]string{}}
	src := filepath.Join("testdata", "realstack")
	build := func(cc, out, file string, extra ...string) (string, error) {
		bin := filepath.Join(e.dir, out)
		args := append([]string{"-O2", "-o", bin, filepath.Join(src, file)}, extra...)
		if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("%s %s: %v\n%s", cc, file, err, b)
		}
		return bin, nil
	}
	if e.srcs, err = build("gcc", "srcs", "srcs.c"); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("musl-gcc"); err != nil {
		e.why["musl"] = "musl-gcc not installed (Debian package musl-tools)"
	} else if e.musl, err = build("musl-gcc", "gai-musl", "gai.c", "-static"); err != nil {
		t.Fatal(err)
	}
	if e.cares, err = build("gcc", "cares", "cares.c", "-lcares"); err != nil {
		e.cares = ""
		e.why["cares"] = fmt.Sprintf("cannot build against c-ares (Debian package libc-ares-dev): %v", err)
	}
	if goTool, err := exec.LookPath("go"); err != nil {
		e.why["go"] = fmt.Sprintf("no go command to build the Go resolver program: %v", err)
	} else {
		e.golang = filepath.Join(e.dir, "golookup")
		cmd := exec.Command(goTool, "build", "-o", e.golang, filepath.Join(src, "golookup.go"))
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build golookup.go: %v\n%s", err, b)
		}
	}
	return e
}

// netns is a network namespace set up for one case.
type netns struct {
	name string
	etc  string // /etc/netns/NAME
}

func realRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func newNetns(t *testing.T, name string, c *realCase) *netns {
	t.Helper()
	ns := &netns{name: name, etc: filepath.Join("/etc/netns", name)}
	if b, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		testenv.Missingf(t, "cannot create a network namespace (ip netns add: %v: %s)", err, bytes.TrimSpace(b))
	}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", name).Run()
		os.RemoveAll(ns.etc)
	})
	ip := func(args ...string) { realRun(t, "ip", append([]string{"-n", name}, args...)...) }
	ip("link", "set", "lo", "up")
	ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
	// No automatic link-local addresses: the host has exactly the
	// listed ones (and loopback).
	ip("link", "set", "v0", "addrgenmode", "none")
	ip("link", "set", "v1", "addrgenmode", "none")
	ip("link", "set", "v1", "up")
	ip("link", "set", "v0", "up")
	for _, a := range c.addrs {
		f := strings.Fields(a)
		args := []string{"addr", "add", f[0], "dev", "v0"}
		if strings.Contains(f[0], ":") {
			args = append(args, "nodad")
		}
		if strings.Contains(a, "preferred_lft 0") {
			args = append(args, "valid_lft", "forever", "preferred_lft", "0")
		}
		if strings.Contains(a, "home") {
			args = append(args, "home")
		}
		ip(args...)
	}
	for _, r := range c.routes {
		f := strings.Fields(r)
		if f[0] == "-6" {
			ip(append([]string{"-6", "route", "add"}, f[1:]...)...)
		} else {
			ip(append([]string{"route", "add"}, f...)...)
		}
	}
	if err := os.MkdirAll(ns.etc, 0o755); err != nil {
		t.Fatal(err)
	}
	var hosts strings.Builder
	for _, d := range c.dsts {
		fmt.Fprintf(&hosts, "%s %s\n", d, realTarget)
	}
	ns.write(t, "hosts", hosts.String())
	ns.write(t, "host.conf", "multi on\n")
	ns.write(t, "nsswitch.conf", "hosts: files\n")
	ns.write(t, "gai.conf", "")
	return ns
}

func (ns *netns) write(t *testing.T, file, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(ns.etc, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (ns *netns) exec(t *testing.T, args ...string) string {
	t.Helper()
	return realRun(t, "ip", append([]string{"netns", "exec", ns.name}, args...)...)
}

// uniqueLines returns the first field of each line, without repeats.
func uniqueLines(out string) []string {
	var addrs []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || slices.Contains(addrs, f[0]) {
			continue
		}
		addrs = append(addrs, f[0])
	}
	return addrs
}

// stackView returns the destinations of the hosts file as the stack
// passed them to its sort, in hosts-file order: only those it returned
// (glibc's getent asks for AI_ADDRCONFIG, which drops a family the host
// has no address of) and in the family it returned them (with only IPv6
// configured, glibc returns IPv4 entries as IPv4-mapped; with only IPv4,
// it returns ::1 as 127.0.0.1 and ::ffff:a.b.c.d as a.b.c.d).
func stackView(t *testing.T, stack string, hosts, got []string) []netip.Addr {
	t.Helper()
	gotSet := map[netip.Addr]bool{}
	for _, g := range got {
		a, err := netip.ParseAddr(g)
		if err != nil {
			t.Fatalf("%s printed %q: %v", stack, g, err)
		}
		gotSet[a] = true
	}
	var view []netip.Addr
	for _, h := range hosts {
		a := netip.MustParseAddr(h)
		alts := []netip.Addr{a, netip.AddrFrom16(a.As16()), a.Unmap()}
		if a == netip.IPv6Loopback() {
			alts = append(alts, netip.AddrFrom4([4]byte{127, 0, 0, 1}))
		}
		for _, alt := range alts {
			if gotSet[alt] {
				delete(gotSet, alt)
				view = append(view, alt)
				break
			}
		}
	}
	if len(gotSet) > 0 {
		t.Fatalf("%s returned addresses not in the hosts file: %v (hosts %v)", stack, got, hosts)
	}
	return view
}

// profileOrder sorts view with sel, with the sources the kernel picks in
// the namespace.
func profileOrder(t *testing.T, ns *netns, env *realEnv, sel *addrselect.Selector, c *realCase, view []netip.Addr, withInfo bool) ([]string, []string) {
	t.Helper()
	var addrs []hostAddr
	for _, s := range c.addrs {
		a, err := parseHostAddr(s)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, a)
	}
	args := []string{env.srcs}
	for _, a := range view {
		args = append(args, a.String())
	}
	srcs := firstFields(ns.exec(t, args...))
	if len(srcs) != len(view) {
		t.Fatalf("srcs printed %d lines for %d destinations", len(srcs), len(view))
	}
	dsts := make([]addrselect.Destination, len(view))
	for i, a := range view {
		dsts[i].Addr = a
		if srcs[i] == "-" {
			continue
		}
		src, err := netip.ParseAddr(srcs[i])
		if err != nil {
			t.Fatalf("kernel source %q: %v", srcs[i], err)
		}
		if dsts[i].Source, err = recordedSource(addrs, src, withInfo); err != nil {
			t.Fatal(err)
		}
	}
	sel.SortDestinations(dsts)
	out := make([]string, len(dsts))
	for i, d := range dsts {
		out[i] = d.Addr.String()
	}
	return out, srcs
}

// realCanon respells addresses the way netip prints them.
func realCanon(t *testing.T, addrs []string) []string {
	out := make([]string, len(addrs))
	for i, s := range addrs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		out[i] = a.String()
	}
	return out
}

// TestRealStacks compares the profiles with glibc, musl and c-ares
// running in network namespaces on generated cases.
func TestRealStacks(t *testing.T) {
	env := newRealEnv(t)
	tables := gaiConfTables(t)
	confs := gaiConfTexts(t)
	// A gai.conf with scopev4 lines (RFC 3484 section 3.2's site-local
	// RFC 1918 ranges, and 198.51.100.0/24 as organization-local), to
	// check that the profile follows glibc's IPv4 scopes.
	confs["glibc_scopev4"] = realScopeV4Conf
	tab, err := policytable.ParseGaiConf(strings.NewReader(realScopeV4Conf))
	if err != nil {
		t.Fatal(err)
	}
	tables["glibc_scopev4"] = tab
	g := realGen{rand.New(rand.NewPCG(realSeed, realSeed))}
	compared := map[string]int{}
	for i := range realCases {
		c := g.next()
		t.Run(fmt.Sprintf("case%02d", i), func(t *testing.T) {
			ns := newNetns(t, fmt.Sprintf("dsrs%d-%02d", os.Getpid(), i), &c)
			check := func(stack string, sel *addrselect.Selector, got []string, withInfo bool) {
				t.Helper()
				view := stackView(t, stack, c.dsts, got)
				if want := c.wantCount(stack); len(view) != want {
					t.Fatalf("%s returned %d addresses %v, want %d of hosts file %v", stack, len(view), got, want, c.dsts)
				}
				want, srcs := profileOrder(t, ns, env, sel, &c, view, withInfo)
				if diff := cmp.Diff(realCanon(t, got), want); diff != "" {
					t.Errorf("%s: profile %s differs (-real +profile):\n%s\nhost %v routes %v\nstack input %v\nkernel sources %v",
						stack, sel.Name(), diff, c.addrs, c.routes, view, srcs)
				}
				compared[stack]++
			}
			glibcTables := []struct {
				conf  string
				table *policytable.Table
			}{
				{"glibc_default", nil},
				{"glibc_rfc6724", tables["glibc_rfc6724"]},
				{"glibc_prefer_ipv4", tables["glibc_prefer_ipv4"]},
				{"glibc_scopev4", tables["glibc_scopev4"]},
			}
			for _, gt := range glibcTables {
				ns.write(t, "gai.conf", confs[gt.conf])
				got := uniqueLines(ns.exec(t, "getent", "ahosts", realTarget))
				sel := addrselect.Glibc()
				if gt.table != nil {
					sel = addrselect.Glibc(addrselect.WithTable(gt.table))
				}
				check(gt.conf, sel, got, c.hasIPv6())
			}
			ns.write(t, "gai.conf", "")
			if env.golang != "" {
				check("go", addrselect.GoNet(), uniqueLines(ns.exec(t, env.golang, realTarget)), true)
			}
			if env.musl != "" {
				check("musl", addrselect.Musl(), uniqueLines(ns.exec(t, env.musl, realTarget)), true)
			}
			if env.cares != "" {
				check("cares", addrselect.CAres(), uniqueLines(ns.exec(t, env.cares, realTarget)), true)
			}
		})
	}
	for _, stack := range []string{"go", "musl", "cares"} {
		if why, ok := env.why[stack]; ok {
			t.Run(stack, func(t *testing.T) { testenv.Missing(t, why) })
		}
	}
	t.Logf("orders compared: %v", compared)
}

// firstFields returns the first field of every non-empty line, repeats
// included.
func firstFields(out string) []string {
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			lines = append(lines, f[0])
		}
	}
	return lines
}
