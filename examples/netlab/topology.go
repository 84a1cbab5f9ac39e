//go:build linux

package main

import (
	"net/netip"
	"strings"

	"github.com/dualstack/dualstack/mxorder"
)

// kind is what runs on a lab host.
type kind uint8

const (
	kindClient  kind = iota // the submitting client (this program, net/smtp)
	kindDNS                 // NSD, authoritative for lab.
	kindPostfix             // a Postfix instance
	kindSink                // a recording SMTP sink written in Go
	kindDown                // addresses of mail hosts that are down: nothing listens
	kindLib                 // the relay built on mxorder (this program)
	kindNAT64               // tayga (NAT64) and unbound (DNS64), scenario 6
	kindExim                // an Exim instance (an unpacked copy, see exim.go)
)

// host is one network namespace of the lab. Every host has one
// interface, eth0, on the lab's bridge, with the listed addresses and a
// default route through eth0 for each family it has: the lab is one link,
// and the routes make every address of a family on it reachable (no
// traffic can leave: the bridge has no other port).
type host struct {
	ns    string   // short name; the namespace is PREFIX-ns
	name  string   // its name in DNS (myhostname), "" for none
	addrs []string // addresses, IPv4 /24 and IPv6 /64
	kind  kind
	// users are the local parts a sink accepts (nil: all).
	users []string
	// relayDomains is Postfix's relay_domains (backup MX hosts).
	relayDomains string
	// nat64 puts the host behind the lab's translator: its resolver is
	// the DNS64, the NAT64 prefix is routed to the translator, and its
	// planner knows the prefix (Planner.NAT64).
	nat64 bool
	// routes are extra ip route commands (ip -batch lines).
	routes []string
}

// families returns the IP versions of the host's addresses.
func (h *host) families() mxorder.Family {
	var f mxorder.Family
	for _, a := range h.addrs {
		f |= mxorder.FamilyOf(netip.MustParseAddr(a))
	}
	return f
}

// prefixes returns the addresses with their prefix lengths.
func (h *host) prefixes() []string {
	out := make([]string, len(h.addrs))
	for i, a := range h.addrs {
		if strings.Contains(a, ":") {
			out[i] = a + "/64"
		} else {
			out[i] = a + "/24"
		}
	}
	return out
}

// description is the host in addrselect.ParseHost's form: its addresses
// and a default route per family, as the lab configures it.
func (h *host) description() string {
	var b strings.Builder
	b.WriteString(strings.Join(h.prefixes(), ", "))
	f := h.families()
	if f.Has(mxorder.IPv4) {
		b.WriteString("; route v4 default dev eth0")
	}
	if f.Has(mxorder.IPv6) {
		b.WriteString("; route v6 default dev eth0")
	}
	return b.String()
}

// The lab's addresses: one link carrying 192.0.2.0/24 and
// 2001:db8:1::/64 (RFC 5737 and RFC 3849 documentation ranges), plus
// 198.51.100.0/24 and 2001:db8:2::/64 for hosts with several addresses.
const (
	dnsV4 = "192.0.2.53"
	dnsV6 = "2001:db8:1::53"
)

// The translator of scenario 6. Debian 12's tayga 0.9.2 refuses
// documentation and private IPv4 addresses under the well-known prefix
// 64:ff9b::/96 (RFC 6052 section 3.1), and the lab's IPv4 hosts are
// numbered from 192.0.2.0/24, so the lab uses a network-specific prefix
// (RFC 6052 section 2.2) in both tayga and unbound's dns64-prefix. IPv4
// hosts see translated clients as addresses of the dynamic pool.
const (
	nat64V4     = "192.0.2.70"
	nat64V6     = "2001:db8:1::70"
	nat64Prefix = "2001:db8:64::/96"
	nat64Pool   = "192.168.255.0/24"
	// nat64Own is tayga's own IPv4 address, in its pool.
	nat64Own = "192.168.255.1"
)

// hosts is the lab: every namespace, its addresses and what runs there.
// zone must agree with it (TestZoneMatchesHosts).
var hosts = []host{
	{ns: "dns", name: "ns.lab", addrs: []string{dnsV4, dnsV6}, kind: kindDNS},
	{ns: "client", name: "client.lab", addrs: []string{"192.0.2.2", "2001:db8:1::2"}, kind: kindClient},
	{ns: "relay4", name: "relay4.lab", addrs: []string{"192.0.2.10"}, kind: kindPostfix},
	{ns: "relay46", name: "relay46.lab", addrs: []string{"192.0.2.11", "2001:db8:1::11"}, kind: kindPostfix},
	{ns: "lib4", name: "lib4.lab", addrs: []string{"192.0.2.12"}, kind: kindLib},
	{ns: "lib46", name: "lib46.lab", addrs: []string{"192.0.2.13", "2001:db8:1::13"}, kind: kindLib},
	{ns: "exim4", name: "exim4.lab", addrs: []string{"192.0.2.16"}, kind: kindExim},
	// Scenario 1.
	{ns: "s1mx", name: "mx.rcpt1.lab", addrs: []string{"192.0.2.21", "2001:db8:1::21"}, kind: kindSink, users: []string{"carol"}},
	{ns: "s1snd", name: "mx.v6sender.lab", addrs: []string{"2001:db8:1::22"}, kind: kindSink},
	// Scenario 2 (and the IPv4-only sender domain of 4 and 5).
	{ns: "s2mx20", name: "mx20.rcpt2.lab", addrs: []string{"2001:db8:1::31"}, kind: kindPostfix, relayDomains: "rcpt2.lab"},
	{ns: "s2mx30", name: "mx30.rcpt2.lab", addrs: []string{"192.0.2.32", "2001:db8:1::32"}, kind: kindPostfix, relayDomains: "rcpt2.lab"},
	// Its route back to NAT64's pool serves scenario 6.
	{ns: "s2snd", name: "mx.v4sender.lab", addrs: []string{"192.0.2.33"}, kind: kindSink, routes: []string{"route add " + nat64Pool + " via " + nat64V4}},
	// Scenario 3.
	{ns: "s3a", name: "a.rr3.lab", addrs: []string{"192.0.2.41", "198.51.100.41", "2001:db8:1::41", "2001:db8:2::41"}, kind: kindSink},
	{ns: "s3b", name: "b.rr3.lab", addrs: []string{"192.0.2.42", "198.51.100.42", "2001:db8:1::42", "2001:db8:2::42"}, kind: kindSink},
	// Scenario 4.
	{ns: "s4impl", name: "implicit.lab", addrs: []string{"192.0.2.51", "2001:db8:1::51"}, kind: kindSink},
	// Scenario 5.
	{ns: "s5d", name: "d.lim5.lab", addrs: []string{"192.0.2.64"}, kind: kindSink},
	// Scenario 6: IPv6-only relays behind the translator.
	{ns: "relay6", name: "relay6.lab", addrs: []string{"2001:db8:1::14"}, kind: kindPostfix, nat64: true},
	{ns: "lib6", name: "lib6.lab", addrs: []string{"2001:db8:1::15"}, kind: kindLib, nat64: true},
	{ns: "exim6", name: "exim6.lab", addrs: []string{"2001:db8:1::16"}, kind: kindExim, nat64: true},
	{ns: "nat64", name: "nat64.lab", addrs: []string{nat64V4, nat64V6}, kind: kindNAT64},
	// Mail hosts that are down: mx10.rcpt2 (scenario 2), a, b and c.lim5
	// (scenario 5). The addresses exist, so connections are refused at
	// once instead of timing out.
	{ns: "down", addrs: []string{"192.0.2.30", "2001:db8:1::30", "2001:db8:1::61", "2001:db8:1::62", "192.0.2.63"}, kind: kindDown},
}

// zone is lab., served by NSD.
const zone = `$ORIGIN lab.
$TTL 60
@            IN SOA  ns.lab. hostmaster.lab. 1 3600 600 86400 60
@            IN NS   ns.lab.
ns           IN A    192.0.2.53
ns           IN AAAA 2001:db8:1::53
client       IN A    192.0.2.2
client       IN AAAA 2001:db8:1::2
relay4       IN A    192.0.2.10
relay46      IN A    192.0.2.11
relay46      IN AAAA 2001:db8:1::11
lib4         IN A    192.0.2.12
lib46        IN A    192.0.2.13
lib46        IN AAAA 2001:db8:1::13
exim4        IN A    192.0.2.16
; 1. relay bounce: dual-stack recipient MX, IPv6-only sender domain
rcpt1        IN MX   10 mx.rcpt1
mx.rcpt1     IN A    192.0.2.21
mx.rcpt1     IN AAAA 2001:db8:1::21
v6sender     IN MX   10 mx.v6sender
mx.v6sender  IN AAAA 2001:db8:1::22
; 2. MX routing: mx10 down, mx20 IPv6-only backup, mx30 dual-stack backup
rcpt2        IN MX   10 mx10.rcpt2
rcpt2        IN MX   20 mx20.rcpt2
rcpt2        IN MX   30 mx30.rcpt2
mx10.rcpt2   IN A    192.0.2.30
mx10.rcpt2   IN AAAA 2001:db8:1::30
mx20.rcpt2   IN AAAA 2001:db8:1::31
mx30.rcpt2   IN A    192.0.2.32
mx30.rcpt2   IN AAAA 2001:db8:1::32
v4sender     IN MX   10 mx.v4sender
mx.v4sender  IN A    192.0.2.33
; 3. equal preferences, several addresses per host
rr3          IN MX   10 a.rr3
rr3          IN MX   10 b.rr3
a.rr3        IN A    192.0.2.41
a.rr3        IN A    198.51.100.41
a.rr3        IN AAAA 2001:db8:1::41
a.rr3        IN AAAA 2001:db8:2::41
b.rr3        IN A    192.0.2.42
b.rr3        IN A    198.51.100.42
b.rr3        IN AAAA 2001:db8:1::42
b.rr3        IN AAAA 2001:db8:2::42
; 4. null MX (RFC 7505) and implicit MX (no MX records)
nullmx       IN MX   0 .
implicit     IN A    192.0.2.51
implicit     IN AAAA 2001:db8:1::51
; 5. family limits: IPv6-only MX hosts before IPv4 ones; only IPv6-only
lim5         IN MX   10 a.lim5
lim5         IN MX   20 b.lim5
lim5         IN MX   30 c.lim5
lim5         IN MX   40 d.lim5
a.lim5       IN AAAA 2001:db8:1::61
b.lim5       IN AAAA 2001:db8:1::62
c.lim5       IN A    192.0.2.63
d.lim5       IN A    192.0.2.64
v6only5      IN MX   10 a.lim5
v6only5      IN MX   20 b.lim5
; 6. NAT64: IPv6-only relays behind tayga, which returns the bounce of
;    scenario 1 to the IPv4-only v4sender.lab
relay6       IN AAAA 2001:db8:1::14
lib6         IN AAAA 2001:db8:1::15
exim6        IN AAAA 2001:db8:1::16
nat64        IN A    192.0.2.70
nat64        IN AAAA 2001:db8:1::70
`

// hostByNS returns the host with the short namespace name ns.
func hostByNS(ns string) *host {
	for i := range hosts {
		if hosts[i].ns == ns {
			return &hosts[i]
		}
	}
	return nil
}
