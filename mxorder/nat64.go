package mxorder

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/dualstack/dualstack/addrselect/nat64"
)

// NAT64 (RFC 6146) lets an IPv6-only sender reach IPv4-only MX hosts
// through a translator: the IPv4 address is embedded in a NAT64 prefix
// (RFC 6052 section 2.2) by a DNS64 (RFC 6147) or by the sender itself
// (RFC 8305 section 7). This file holds what the planner and the audit
// do with [Planner.NAT64].

// Translation says that an address is reached through a NAT64 translator:
// it is the IPv4 address IPv4 embedded in the NAT64 prefix Prefix.
// [Candidate] and [Attempt] hold one (shared) for a synthesized address
// and nil for a native one.
type Translation struct {
	IPv4   netip.Addr   `json:"ipv4"`   // the IPv4 address the synthesized address stands for
	Prefix netip.Prefix `json:"prefix"` // the NAT64 prefix it was synthesized with
	// DNS64 reports that the address came from an AAAA answer that a DNS64
	// synthesized; false means the planner synthesized it from an A
	// record.
	DNS64 bool `json:"dns64,omitempty"`
}

// IsZero reports whether t is the zero Translation.
func (t Translation) IsZero() bool { return t == Translation{} }

// Equal reports whether t == u (for go-cmp, without netip options).
func (t Translation) Equal(u Translation) bool { return t == u }

// String returns "192.0.2.1 via NAT64 64:ff9b::/96", with " (DNS64)"
// for a DNS64 answer, or "" for the zero Translation.
func (t Translation) String() string {
	if t.IsZero() {
		return ""
	}
	s := t.IPv4.String() + " via NAT64 " + t.Prefix.String()
	if t.DNS64 {
		s += " (DNS64)"
	}
	return s
}

// Finding codes of NAT64 and DNS64.
const (
	// CodeDNS64 (address level): an AAAA answer of an MX host lies in a
	// known NAT64 prefix (DNS64 synthesis, RFC 6147); the audit counts
	// the IPv4 address it stands for instead.
	CodeDNS64 Code = "dns64-address"
	// CodeNAT64Sender (domain level): the sender reaches IPv4-only MX
	// hosts only through NAT64, from the translator's IPv4 pool, which
	// the sending domain's SPF record and reverse DNS may not cover.
	CodeNAT64Sender Code = "nat64-sender"
)

// checkNAT64 validates Planner.NAT64 (RFC 6052 section 2.2).
func (p *Planner) checkNAT64() error {
	for i, pfx := range p.NAT64 {
		if err := nat64.CheckPrefix(pfx); err != nil {
			return fmt.Errorf("mxorder: Planner.NAT64[%d]: %w", i, err)
		}
	}
	return nil
}

// discoverNAT64 returns p, or, when p asks for discovery and has no
// prefixes, a copy with those the resolver's DNS64 reveals (RFC 7050
// section 3). lookupErr is a failed lookup's (no DNS64 is an answer);
// err reports an invalid prefix in Planner.NAT64.
func (p *Planner) discoverNAT64(ctx context.Context) (q *Planner, lookupErr, err error) {
	if err := p.checkNAT64(); err != nil {
		return p, nil, err
	}
	if !p.DiscoverNAT64 || len(p.NAT64) > 0 {
		return p, nil, nil
	}
	prefixes, err := guard(p, ctx, "ip6", nat64Host, func(ctx context.Context) ([]netip.Prefix, error) {
		return nat64.Discover(ctx, p.resolver())
	})
	if err != nil {
		if errors.Is(err, nat64.ErrNoDNS64) {
			err = nil
		}
		return p, err, nil
	}
	c := *p
	c.NAT64 = prefixes
	return &c, nil, nil
}

// nat64Host is the name whose AAAA records reveal a DNS64's prefixes,
// as LookupError names it.
const nat64Host = "ipv4only.arpa"

// extract returns the IPv4 address a stands for and the prefix it is in,
// when a lies in one of prefixes: a DNS64 answer (RFC 6052 section 2.3).
func extract(prefixes []netip.Prefix, a netip.Addr) (netip.Addr, netip.Prefix, bool) {
	if a.Zone() != "" {
		return netip.Addr{}, netip.Prefix{}, false
	}
	return nat64.ExtractAny(prefixes, a)
}

// nat64State holds the translation of every synthesized address of the
// plan being built.
type nat64State struct {
	addrs []netip.Addr
	trans []Translation
}

// translation returns the translation of a usable address a, nil for a
// native one. The pointer is into b.nat.trans: an append that moves the
// array later leaves it pointing at the old copy, whose value is the same.
func (b *planBuilder) translation(a netip.Addr) *Translation {
	for i, x := range b.nat.addrs {
		if x == a {
			return &b.nat.trans[i]
		}
	}
	return nil
}

func (b *planBuilder) noteTranslation(a netip.Addr, t Translation) {
	if b.translation(a) == nil {
		b.nat.addrs = append(b.nat.addrs, a)
		b.nat.trans = append(b.nat.trans, t)
	}
}

// viaNAT64 returns the address to try for a, an address of the host of
// e, and the family a has for the host (IPv4 for a DNS64 answer); ok is
// false when a is skipped. With known prefixes, a DNS64 answer is tried
// as its IPv4 address by a sender with IPv4 (reported as a duplicate),
// as itself otherwise; an IPv4 address, for a sender with IPv6 only, as
// synthesized under the first prefix that can carry it (RFC 6052
// section 3.1 keeps non-global addresses out of the well-known prefix).
func (b *planBuilder) viaNAT64(e *entry, a netip.Addr) (try netip.Addr, fam Family, ok bool) {
	prefixes := b.plan.NAT64
	if len(prefixes) == 0 {
		return a, FamilyOf(a), true
	}
	if v4, pfx, ok := extract(prefixes, a); ok {
		if b.senders.Has(IPv4) {
			v4s := v4.String()
			b.plan.skip(e, a, SkipDuplicate, "synthesized by DNS64 from "+v4s+" (NAT64 prefix "+pfx.String()+"): tried as "+v4s+" directly, not through the translator")
			return v4, IPv4, true
		}
		b.noteTranslation(a, Translation{IPv4: v4, Prefix: pfx, DNS64: true})
		return a, IPv4, true
	}
	if !a.Is4() || b.senders.Has(IPv4) || !b.senders.Has(IPv6) {
		return a, FamilyOf(a), true
	}
	for _, pfx := range prefixes {
		if s, err := nat64.Synthesize(pfx, a); err == nil {
			b.noteTranslation(s, Translation{IPv4: a, Prefix: pfx})
			return s, IPv4, true
		}
	}
	b.plan.skip(e, a, SkipFamily, "sender cannot use IPv4, and no known NAT64 prefix may carry "+a.String()+" (RFC 6052 section 3.1)")
	return a, IPv4, false
}

// nativeFirst moves the native addresses of a host before those reached
// through a translator, keeping the order within each group: native IPv6
// avoids the translator's state and sends from the sender's own address,
// which its SPF record and reverse DNS cover.
func (b *planBuilder) nativeFirst(c []Candidate) {
	if len(b.nat.addrs) > 0 {
		moveFirst(c, func(c *Candidate) bool { return c.NAT64 == nil })
	}
}

// reachesIPv4 reports whether the sender can use IPv4 addresses:
// natively, or through a known NAT64 prefix.
func (b *planBuilder) reachesIPv4() bool {
	return b.p.relayReach(b.senders).Has(IPv4)
}

// auditDNS64 returns the IPv4 address a DNS64 answer a of the host of e
// stands for, with a finding; otherwise a itself.
func (p *Planner) auditDNS64(r *Report, e *entry, a netip.Addr) netip.Addr {
	v4, pfx, ok := extract(p.NAT64, a)
	if !ok {
		return a
	}
	r.add(AuditFinding{Code: CodeDNS64, Severity: SeverityInfo, Host: e.name, Preference: int(e.pref), Addr: a,
		Message: e.name + " has the AAAA answer " + a.String() + ", which a DNS64 synthesized from " + v4.String() +
			" (NAT64 prefix " + pfx.String() + ", RFC 6147): it is counted as that IPv4 address"})
	return v4
}

// relayReach returns the families a relay with families relay reaches:
// with IPv6 and a NAT64 prefix, IPv4 too.
func (p *Planner) relayReach(relay Family) Family {
	if relay.Has(IPv6) && len(p.NAT64) > 0 {
		return relay | IPv4
	}
	return relay
}

// nat64Caveat is the explanation of a [CodeNAT64Sender] finding.
func nat64Caveat(prefixes []netip.Prefix) string {
	s := "the mail leaves from the IPv4 address pool of the translator (NAT64 prefix " + prefixes[0].String()
	if len(prefixes) > 1 {
		s += " and " + strconv.Itoa(len(prefixes)-1) + " more"
	}
	return s + "), not from the sender's own address: the SPF record (RFC 7208) and reverse DNS of the sending domain may not match it, and receivers that check them may reject or mark the mail"
}

// auditNAT64 adds to r the failure of NAT64 prefix discovery
// (discoverErr), and [CodeNAT64Sender] when the sender lacks IPv4 and
// reaches an IPv4-only MX host through NAT64.
func (p *Planner) auditNAT64(ctx context.Context, r *Report, discoverErr error) {
	if discoverErr != nil {
		r.add(nat64LookupFinding(discoverErr))
	}
	if len(p.NAT64) == 0 {
		return
	}
	senders, err := p.families(ctx, nil)
	if err != nil || senders.Has(IPv4) || !senders.Has(IPv6) {
		return
	}
	var hosts []string
	for _, h := range r.Hosts {
		if h.Families == IPv4 {
			hosts = append(hosts, h.Name+" ("+strconv.Itoa(int(h.Preference))+")")
		}
	}
	if len(hosts) == 0 {
		return
	}
	r.add(AuditFinding{Code: CodeNAT64Sender, Severity: SeverityWarning, Preference: noPreference, Clients: IPv6,
		Message: "this IPv6-only sender reaches the IPv4-only " + joinNames(hosts) + " only through NAT64 (RFC 6146): " + nat64Caveat(p.NAT64)})
}

// joinNames lists names as "a", "a and b" or "a, b and c".
func joinNames(names []string) string {
	last := len(names) - 1
	if last == 0 {
		return names[0]
	}
	return strings.Join(names[:last], ", ") + " and " + names[last]
}

// nat64LookupFinding reports a failed NAT64 prefix discovery.
func nat64LookupFinding(err error) AuditFinding {
	return AuditFinding{Code: CodeLookupFailed, Severity: SeverityWarning, Host: nat64Host, Preference: noPreference,
		Message: "NAT64 prefix discovery (AAAA " + nat64Host + ", RFC 7050 section 3) failed: " + err.Error() + "; the audit assumes no NAT64"}
}

// hostReach returns the families the MX host h reaches: its own, and
// through NAT64 as relayReach says when h is the local host (local holds
// the local names, from localNames).
func (p *Planner) hostReach(local []string, h AuditHost) Family {
	if p.isLocalHost(local, h.Name, h.Addrs) {
		return p.relayReach(h.Families)
	}
	return h.Families
}

// bounceNAT64 adds to b the failure of NAT64 prefix discovery
// (discoverErr), and [CodeNAT64Sender] when the relay reaches one of the
// domains only through NAT64.
func (p *Planner) bounceNAT64(b *BounceReport, relay Family, discoverErr error) {
	if discoverErr != nil {
		b.add(nat64LookupFinding(discoverErr))
	}
	if p.relayReach(relay) == relay {
		return
	}
	var via []string
	if !b.RecipientNullMX && b.RecipientFamilies&relay == 0 && b.RecipientFamilies.Has(IPv4) {
		via = append(via, "the recipient domain "+b.Recipient)
	}
	if b.SenderFamilies&relay == 0 && b.SenderFamilies.Has(IPv4) {
		via = append(via, "the sender domain "+b.Sender)
	}
	if len(via) == 0 {
		return
	}
	b.add(AuditFinding{Code: CodeNAT64Sender, Severity: SeverityWarning, Preference: noPreference, Clients: relay,
		Message: "the " + relay.Words() + " relay reaches " + joinNames(via) + " (IPv4-only) only through NAT64 (RFC 6146), so its mail and bounces arrive; but " + nat64Caveat(p.NAT64) +
			" (a bounce has an empty return path, so receivers check SPF against the relay's HELO name, RFC 7208)"})
}
