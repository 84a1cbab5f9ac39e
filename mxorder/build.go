package mxorder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/internal/addrbits"
)

// HostAddrs is what the address lookups found for one host, the input of
// [Planner.Build] for that host.
type HostAddrs struct {
	Addrs []netip.Addr // the A and AAAA answers, in the resolver's order
	// Err4 and Err6 are the errors of the A and AAAA lookups; a
	// *net.DNSError with IsNotFound is an answer (no records), not a
	// failure.
	Err4, Err6 error
	// Dropped counts addresses the caller already left out of Addrs;
	// Build adds them to Truncated.HostAddrs.
	Dropped int
}

// Probe destinations used to ask Sources which families the local host
// has (a.root-servers.net: global unicast, routed by any default route).
var (
	probe4 = netip.AddrFrom4([4]byte{198, 41, 0, 4})
	probe6 = netip.MustParseAddr("2001:503:ba3e::2:30")
)

type entry struct {
	name string // canonical
	raw  string // as in the record
	pref uint16
	ha   HostAddrs
}

// Build is the pure core of the planner: it makes the plan for domain
// from its MX records and the addresses of each exchange, without DNS.
// addrs is keyed by exchange name, canonical ([NormalizeName]) or as in
// the MX record, or by the domain for an implicit MX (mx empty); a host
// missing from it has no addresses. ctx is passed to the Sources. With
// [ErrNullMX], [ErrNoSuchDomain], [ErrNoPrimaryRelay] and
// [*UnreachableError] the plan describes what was found; it is nil for
// an invalid domain name.
func (p *Planner) Build(ctx context.Context, domain string, mx []*net.MX, addrs map[string]HostAddrs) (*Plan, error) {
	return p.BuildWith(ctx, domain, mx, addrs, nil)
}

// BuildWith is [Planner.Build] for a delivery with a history and a TLS
// policy (st, nil for none; BuildWith fetches no MTA-STS policy). The
// plan says per attempt why it is where it is and what TLS it requires.
// Besides Build's errors it returns [*PolicyError] when the TLS policy
// leaves no MX host and [ErrFamilyDeferred] when the attempt number's
// families leave no address, both temporary. With Seeded, the same st
// gives the same plan.
func (p *Planner) BuildWith(ctx context.Context, domain string, mx []*net.MX, addrs map[string]HostAddrs, st *DeliveryState) (*Plan, error) {
	d, reason := normalize(domain)
	if reason != "" {
		return nil, &NameError{Name: domain, Reason: reason}
	}
	plan := &Plan{Domain: d, MaxSessions: p.MaxSessions}
	entries, err := p.entries(plan, mx)
	if err != nil {
		return plan, p.nullMXPlan(ctx, plan, err)
	}
	for i := range entries {
		entries[i].ha = lookupAddrs(addrs, &entries[i])
	}
	return p.build(ctx, plan, entries, st)
}

// build makes the plan from the entries (sorted by preference, with
// their addresses): shuffle equal preferences, drop the local host and
// the MX hosts not better than it, find the sender's families, add each
// host with its usable addresses, apply the strategies and limits.
func (p *Planner) build(ctx context.Context, plan *Plan, entries []entry, st *DeliveryState) (*Plan, error) {
	if err := p.checkNAT64(); err != nil {
		return nil, err
	}
	plan.NAT64 = slices.Clone(p.NAT64)
	if st == nil {
		st = &noState
	}
	plan.Attempt = st.History.Attempt
	var r rng
	p.newRNG(&r, plan.Domain, st.History.attempt())
	shuffleRuns(entries, &r)
	entries, err := p.dropSelf(plan, entries)
	if err != nil {
		if errors.Is(err, ErrInvalidName) {
			return nil, err
		}
		return plan, err
	}
	senders, err := p.families(ctx, entries)
	if err != nil {
		return plan, &domainError{plan.Domain, err}
	}
	plan.SenderFamilies = senders
	if st.STS != nil {
		plan.STS = &STSApplied{Mode: st.STS.Mode, ID: st.STS.ID, Unlisted: []string{}}
	}
	var b planBuilder
	b.init(p, plan, entries)
	b.st = st
	for i := range entries {
		tls, ok := b.hostPolicy(&entries[i])
		if !ok {
			continue
		}
		if err := b.addHost(ctx, &entries[i], tls); err != nil {
			return plan, err
		}
	}
	if len(plan.Hosts) == 0 {
		if err := b.policyError(); err != nil {
			return plan, err
		}
		return plan, b.noHostError(len(entries))
	}
	plan.Skipped = append(plan.Skipped, b.dups...)
	attempts, err := p.applyStrategies(plan, b.attempts, &st.History)
	if err != nil {
		return plan, err
	}
	plan.attempts = p.limitAttempts(plan, attempts)
	return plan, nil
}

// noState is the DeliveryState of a plan made without one.
var noState DeliveryState

// nullMXPlan completes the plan of a domain whose MX records failed
// with err, which it returns: for a null MX (RFC 7505) the plan says so
// and names the sender's families.
func (p *Planner) nullMXPlan(ctx context.Context, plan *Plan, err error) error {
	if errors.Is(err, ErrNullMX) {
		plan.NullMX = true
		if f, ferr := p.families(ctx, nil); ferr == nil {
			plan.SenderFamilies = f
		}
	}
	return err
}

// dropSelf drops (and reports) the local host and every MX at or above
// its preference (RFC 5321 section 5.1, RFC 3974 section 3 step 2); no
// MX left is [ErrNoPrimaryRelay], an invalid local name a [*NameError].
func (p *Planner) dropSelf(plan *Plan, entries []entry) ([]entry, error) {
	self, err := p.findSelf(entries)
	if err != nil || self < 0 {
		return entries, err
	}
	selfPref := entries[self].pref
	plan.Self, plan.SelfPreference = entries[self].name, selfPref
	kept := entries[:0]
	for i := range entries {
		e := &entries[i]
		switch {
		case i == self:
			plan.skip(e, netip.Addr{}, SkipSelf, "the local host")
		case e.pref >= selfPref:
			plan.skip(e, netip.Addr{}, SkipNotBetter, "preference "+strconv.Itoa(int(e.pref))+" >= local host's "+strconv.Itoa(int(selfPref)))
		default:
			kept = append(kept, *e)
		}
	}
	if len(kept) == 0 {
		return nil, &domainError{plan.Domain, ErrNoPrimaryRelay}
	}
	return kept, nil
}

// planBuilder holds what build gathers while it adds the hosts one by
// one.
type planBuilder struct {
	p         *Planner
	plan      *Plan
	senders   Family
	maxAddrs  int
	temporary bool // an address lookup failed in a family the sender can use
	// cands holds the usable addresses of all hosts (each host's Addrs is
	// a slice of it); dsts is the scratch where one host's are sorted.
	cands    []Candidate
	dsts     []addrselect.Destination
	attempts []Attempt
	listed   []addrbits.U128 // the address of each attempt (unmapped)
	// dups are the addresses already listed for a better host, in
	// attempt order; they follow the hosts' own skips.
	dups []Skip
	nat  nat64State
	st   *DeliveryState // the delivery state
}

// init sizes every slice for all the addresses of the entries, so that
// the number of allocations does not grow with the input.
func (b *planBuilder) init(p *Planner, plan *Plan, entries []entry) {
	maxAddrs := p.maxHostAddrs()
	total, widest := 0, 0
	for i := range entries {
		n := min(len(entries[i].ha.Addrs), maxAddrs)
		total += n
		widest = max(widest, n)
	}
	plan.Hosts = make([]MXHost, 0, len(entries))
	*b = planBuilder{
		p: p, plan: plan, senders: plan.SenderFamilies, maxAddrs: maxAddrs,
		cands:    make([]Candidate, 0, total),
		dsts:     make([]addrselect.Destination, 0, widest),
		attempts: make([]Attempt, 0, total),
		listed:   make([]addrbits.U128, 0, total),
	}
}

// addHost adds the MX host of e to the plan with its usable addresses
// in delivery order, or records why it has none.
func (b *planBuilder) addHost(ctx context.Context, e *entry, tls hostTLS) error {
	failed := b.noteLookups(e)
	fams, noRoute, err := b.usable(ctx, e, b.limitAddrs(e))
	if err != nil {
		return err
	}
	b.plan.DomainFamilies |= fams
	if len(b.dsts) == 0 {
		b.skipHost(e, fams, noRoute, failed)
		return nil
	}
	// RFC 5321 section 5.1: the addresses of a multihomed host are tried
	// in the order the resolver's address selection gives (RFC 6724
	// section 6).
	b.p.selector().SortDestinations(b.dsts)
	start, end := len(b.cands), len(b.cands)+len(b.dsts)
	b.cands = slices.Grow(b.cands, len(b.dsts))[:end] // init made room
	hc := b.cands[start:end:end]
	for i := range b.dsts {
		d, c := &b.dsts[i], &hc[i]
		c.Addr, c.Source, c.NAT64 = d.Addr, d.Source, b.translation(d.Addr)
	}
	b.nativeFirst(hc)
	if f := b.p.Prefer; f == IPv4 || f == IPv6 {
		moveFirst(hc, func(c *Candidate) bool { return FamilyOf(c.Addr) == f })
	}
	b.addAttempts(e, hc, tls)
	b.plan.Hosts = append(b.plan.Hosts, MXHost{Name: e.name, Preference: e.pref, Addrs: hc, Families: fams})
	return nil
}

// noteLookups records the failed address lookups of e and reports
// whether any failed.
func (b *planBuilder) noteLookups(e *entry) bool {
	ha := &e.ha
	failed4 := ha.Err4 != nil && b.plan.noteLookup(e.name, "ip4", ha.Err4)
	failed6 := ha.Err6 != nil && b.plan.noteLookup(e.name, "ip6", ha.Err6)
	if (failed4 && b.reachesIPv4()) || (failed6 && b.senders.Has(IPv6)) {
		b.temporary = true
	}
	return failed4 || failed6
}

// limitAddrs returns the first MaxHostAddrs addresses of e and reports
// the rest (and those the caller dropped already).
func (b *planBuilder) limitAddrs(e *entry) []netip.Addr {
	in := e.ha.Addrs
	extra := max(len(in)-b.maxAddrs, 0) + max(e.ha.Dropped, 0)
	if extra > 0 {
		b.plan.Truncated.HostAddrs += extra
		b.plan.skip(e, netip.Addr{}, SkipHostAddrLimit, strconv.Itoa(extra)+" addresses beyond the limit of "+strconv.Itoa(b.maxAddrs))
	}
	return in[:min(len(in), b.maxAddrs)]
}

// usable fills b.dsts with the addresses of in the sender can use, once
// each, with their sources, and reports the others; it returns the
// families of all and whether one had no route.
func (b *planBuilder) usable(ctx context.Context, e *entry, in []netip.Addr) (Family, bool, error) {
	var fams Family
	noRoute := false
	b.dsts = b.dsts[:0]
	for _, a := range in {
		a = a.Unmap()
		if !a.IsValid() || b.inHost(a) {
			continue
		}
		if a.Zone() != "" {
			b.plan.skip(e, a.WithZone(""), SkipZonedAddr, "zone "+quotedZone(a)+": an address from DNS has none")
			continue
		}
		a, fam, ok := b.viaNAT64(e, a)
		fams |= fam
		if !ok || b.inHost(a) {
			continue
		}
		if fam = FamilyOf(a); !b.senders.Has(fam) {
			// No address of this family has a source: the sender lacks
			// the family (RFC 3974 section 3).
			b.plan.skip(e, a, SkipFamily, noFamilyDetail(fam))
			continue
		}
		var src addrselect.Source
		if b.p.Sources != nil {
			var err error
			// The Planner's Selector governs the source rules (a Host
			// without a Selector of its own, a System asked for public
			// sources).
			if src, err = b.p.selector().FindSource(ctx, b.p.Sources, a); err != nil {
				return fams, noRoute, &domainError{b.plan.Domain, fmt.Errorf("source address for %s (MX %s): %w", a, e.name, err)}
			}
			if !src.IsValid() { // no source: no route
				noRoute = true
				b.plan.skip(e, a, SkipNoRoute, "no source address")
				continue
			}
		}
		b.dsts = append(b.dsts, addrselect.Destination{Addr: a, Source: src})
	}
	return fams, noRoute, nil
}

// quotedZone returns the zone of a quoted, cut to 64 bytes (a zone is
// local text, RFC 4007 section 11, that a broken Resolver may fill).
func quotedZone(a netip.Addr) string {
	z := a.Zone()
	if len(z) > 64 {
		z = z[:64]
	}
	return strconv.Quote(z)
}

// inHost reports whether a is among the usable addresses of the current
// host already (a repeat, dropped silently).
func (b *planBuilder) inHost(a netip.Addr) bool {
	for i := range b.dsts {
		if b.dsts[i].Addr == a {
			return true
		}
	}
	return false
}

// skipHost records why the host of e has no usable address.
func (b *planBuilder) skipHost(e *entry, fams Family, noRoute, failed bool) {
	switch {
	case fams != 0 && noRoute:
		b.plan.skip(e, netip.Addr{}, SkipNoRoute, "no route to any address")
	case fams != 0:
		b.plan.skip(e, netip.Addr{}, SkipFamily, "host is "+fams.Words()+", sender is "+b.senders.Words())
	case failed:
		b.plan.skip(e, netip.Addr{}, SkipLookupFailed, "address lookups failed")
	default:
		b.plan.skip(e, netip.Addr{}, SkipNoAddress, "no A or AAAA records")
	}
}

// addAttempts appends the candidates of the host of e to the attempts,
// leaving out (and reporting) addresses listed for a better host. The
// search is linear: at most MaxMX x MaxHostAddrs addresses (512 by
// default), and a map measured 20% of BenchmarkBuild against 6% for it.
func (b *planBuilder) addAttempts(e *entry, hc []Candidate, tls hostTLS) {
	for i := range hc {
		c := &hc[i]
		key := addrbits.From(c.Addr)
		if j := slices.Index(b.listed, key); j >= 0 {
			b.dups = append(b.dups, Skip{Host: e.name, Preference: e.pref, Addr: c.Addr, Reason: SkipDuplicate, Detail: "address already listed for " + b.attempts[j].Host})
			continue
		}
		b.listed = append(b.listed, key)
		b.attempts = append(b.attempts, Attempt{}) // filled in place
		a := &b.attempts[len(b.attempts)-1]
		a.Host, a.Preference, a.Addr, a.Source, a.NAT64 = e.name, e.pref, c.Addr, c.Source.Addr, c.NAT64
		a.Reason, a.TLS, a.TLSAuth, a.TLSDetail = ReasonMXOrder, tls.req, tls.auth, tls.detail
	}
}

// noHostError is the error of a plan without a usable host.
func (b *planBuilder) noHostError(hosts int) error {
	plan := b.plan
	if plan.Implicit && plan.DomainFamilies == 0 && !b.temporary && len(plan.LookupErrors) == 0 {
		// No MX and no address records: no implicit MX either, and
		// through *net.Resolver indistinguishable from NXDOMAIN.
		plan.Implicit = false
		return &domainError{plan.Domain, ErrNoSuchDomain}
	}
	return &UnreachableError{Domain: plan.Domain, DomainFamilies: plan.DomainFamilies, SenderFamilies: b.senders, Hosts: hosts, Temporary: b.temporary}
}

// limitAttempts applies MaxAddresses to the attempts, balanced across
// families when asked, and reports the addresses cut.
func (p *Planner) limitAttempts(plan *Plan, out []Attempt) []Attempt {
	limit := p.MaxAddresses
	if limit <= 0 || len(out) <= limit {
		return out
	}
	q4, q6 := p.quotas(out, limit)
	detail := "beyond the address limit of " + strconv.Itoa(limit)
	plan.Skipped = slices.Grow(plan.Skipped, len(out)-limit)
	kept := out[:0]
	for _, a := range out {
		q := &q6
		if a.Addr.Is4() {
			q = &q4
		}
		if len(kept) < limit && *q > 0 {
			*q--
			kept = append(kept, a)
			continue
		}
		plan.Truncated.Attempts++
		plan.Skipped = append(plan.Skipped, Skip{Host: a.Host, Preference: a.Preference, Addr: a.Addr, Reason: SkipAddressLimit, Detail: detail})
	}
	return kept
}

// quotas returns how many IPv4 and IPv6 attempts limitAttempts keeps.
// With Balance and both families, the family of the first attempt gets
// the larger half of the budget; each leaves what it cannot use to the
// other.
func (p *Planner) quotas(out []Attempt, limit int) (q4, q6 int) {
	n4 := 0
	for _, a := range out {
		if a.Addr.Is4() {
			n4++
		}
	}
	n6 := len(out) - n4
	if !p.Balance || n4 == 0 || n6 == 0 {
		return limit, limit
	}
	if out[0].Addr.Is4() {
		q4 = min(n4, limit-min(n6, limit/2))
		return q4, min(n6, limit-q4)
	}
	q6 = min(n6, limit-min(n4, limit/2))
	return min(n4, limit-q6), q6
}

// families returns the IP versions the sender can use: Planner.Families,
// or those Sources has a route for.
func (p *Planner) families(ctx context.Context, entries []entry) (Family, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if p.Families != 0 {
		return p.Families & DualStack, nil
	}
	if p.Sources == nil {
		return DualStack, nil
	}
	// A global address probes each family; a host routed only to some
	// prefixes fails the probe, so any input address with a source shows
	// the family is there.
	var probed Family
	for _, a := range [...]netip.Addr{probe4, probe6} {
		if s, err := p.Sources.Source(ctx, a); err == nil && s.IsValid() {
			probed |= FamilyOf(a)
		}
	}
	maxAddrs := p.maxHostAddrs()
	for ei := 0; ei < len(entries) && probed != DualStack; ei++ {
		ha := &entries[ei].ha
		for _, a := range ha.Addrs[:min(len(ha.Addrs), maxAddrs)] {
			a = a.Unmap()
			f := FamilyOf(a)
			if f == 0 || probed&f != 0 || a.Zone() != "" {
				continue
			}
			if s, err := p.Sources.Source(ctx, a); err == nil && s.IsValid() {
				probed |= f
				if probed == DualStack {
					break
				}
			}
		}
	}
	return probed, nil
}

// isLocalAddr reports whether a is one of LocalAddrs.
func (p *Planner) isLocalAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && slices.ContainsFunc(p.LocalAddrs, func(l netip.Addr) bool { return l.Unmap() == a })
}

// findSelf returns the index of the best-preference entry that is the
// local host, or -1.
func (p *Planner) findSelf(entries []entry) (int, error) {
	if len(entries) == 0 || (len(p.LocalNames) == 0 && len(p.LocalAddrs) == 0) {
		return -1, nil
	}
	var buf [4]string
	local, err := p.localNames(buf[:0])
	if err != nil {
		return -1, err
	}
	maxAddrs := p.maxHostAddrs()
	for i := range entries {
		if e := &entries[i]; p.isLocalHost(local, e.name, e.ha.Addrs[:min(len(e.ha.Addrs), maxAddrs)]) {
			return i, nil
		}
	}
	return -1, nil
}

// localNames appends the valid Planner.LocalNames, normalised, to dst
// (once per plan, not once per host), and reports the first invalid one
// as a *NameError.
func (p *Planner) localNames(dst []string) ([]string, error) {
	var err error
	for _, ln := range p.LocalNames {
		n, reason := normalize(ln)
		if reason != "" {
			if err == nil {
				err = &NameError{Name: ln, Reason: "local name: " + reason}
			}
			continue
		}
		dst = append(dst, n)
	}
	return dst, err
}

// isLocalHost reports whether the MX host name, with addrs, is this host
// (RFC 5321 section 5.1): its name is one of local (from localNames) or
// one of its addresses is local.
func (p *Planner) isLocalHost(local []string, name string, addrs []netip.Addr) bool {
	return slices.Contains(local, name) || slices.ContainsFunc(addrs, p.isLocalAddr)
}

// moveFirst moves the elements for which in reports true first, keeping
// the order on both sides: a stable partition in place, without
// allocation.
func moveFirst[T any](s []T, in func(*T) bool) {
	k := 0
	for i := range s {
		if in(&s[i]) {
			x := s[i]
			copy(s[k+1:i+1], s[k:i])
			s[k] = x
			k++
		}
	}
}
