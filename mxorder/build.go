package mxorder

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"

	"github.com/dualstack/dualstack/addrselect"
)

// HostAddrs is what the address lookups found for one host, the input of
// [Planner.Build] for that host.
type HostAddrs struct {
	// Addrs are the A and AAAA answers, in the order the resolver
	// returned them.
	Addrs []netip.Addr
	// Err4 and Err6 are the errors of the A ("ip4") and AAAA ("ip6")
	// lookups. A *net.DNSError with IsNotFound means the family has no
	// records (an answer, not a failure); any other error is a failed
	// lookup.
	Err4, Err6 error
	// Dropped counts addresses the caller already left out of Addrs to
	// bound memory; Build adds them to Truncated.HostAddrs.
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
// addrs is keyed by exchange name in canonical form ([NormalizeName]) or
// exactly as written in the MX record; for an implicit MX (mx empty) the
// key is the domain. A host missing from addrs has no addresses. ctx is
// passed to the Planner's Sources.
//
// On error the plan, when not nil, describes what was found: it is
// returned with [ErrNullMX], [ErrNoSuchDomain], [ErrNoPrimaryRelay] and
// [*UnreachableError], and is nil for an invalid domain name.
func (p *Planner) Build(ctx context.Context, domain string, mx []*net.MX, addrs map[string]HostAddrs) (*Plan, error) {
	d, reason := normalize(domain)
	if reason != "" {
		return nil, &NameError{Name: domain, Reason: reason}
	}
	plan := &Plan{Domain: d, MaxSessions: p.MaxSessions}
	entries, err := p.entries(plan, mx)
	if err != nil {
		return plan, err
	}
	var r rng
	p.newRNG(&r, d)
	shuffleRuns(entries, &r)
	for i := range entries {
		entries[i].ha = lookupAddrs(addrs, entries[i])
	}

	// RFC 5321 section 5.1 / RFC 3974 section 3 step 2: if the local host
	// is an MX, drop it and every MX with a preference >= its own.
	self, err := p.findSelf(entries)
	if err != nil {
		return nil, err
	}
	if self >= 0 {
		selfPref := entries[self].pref
		plan.Self, plan.SelfPreference = entries[self].name, selfPref
		kept := entries[:0]
		for i, e := range entries {
			switch {
			case i == self:
				plan.skip(&e, netip.Addr{}, SkipSelf, "the local host")
			case e.pref >= selfPref:
				plan.skip(&e, netip.Addr{}, SkipNotBetter, "preference "+strconv.Itoa(int(e.pref))+" >= local host's "+strconv.Itoa(int(selfPref)))
			default:
				kept = append(kept, e)
			}
		}
		entries = kept
		if len(entries) == 0 {
			return plan, ErrNoPrimaryRelay
		}
	}

	senders, err := p.senderFamilies(ctx)
	if err != nil {
		return plan, err
	}
	// With Sources and no explicit Families, the sender's families are
	// those Sources has a route for: a probe of a global address in each
	// family, or else any input address with a source. An address of
	// another family is skipped for family without asking Sources; an
	// address without a source in a routed family for its route.
	probed := senders
	if p.Sources != nil && p.Families == 0 {
		probed = p.probedFamilies(ctx)
		// A host routed only to some prefixes (no default route) fails
		// the probe for that family; any input address with a source
		// shows the family is there.
		for missing := DualStack &^ probed; missing != 0; missing = DualStack &^ probed {
			found := false
			for ei := range entries {
				for _, a := range entries[ei].ha.Addrs[:min(len(entries[ei].ha.Addrs), p.maxHostAddrs())] {
					a = a.Unmap()
					if f := FamilyOf(a); missing&f != 0 {
						if s, err := p.Sources.Source(ctx, a); err == nil && s.IsValid() {
							probed |= f
							found = true
						}
					}
					if found {
						break
					}
				}
				if found {
					break
				}
			}
			if !found {
				break
			}
		}
	}
	senders &= probed
	maxAddrs := p.maxHostAddrs()
	total, widest := 0, 0
	for _, e := range entries {
		n := min(len(e.ha.Addrs), maxAddrs)
		total += n
		widest = max(widest, n)
	}
	cands := make([]Candidate, 0, total)
	dsts := make([]addrselect.Destination, 0, widest)
	plan.Hosts = make([]Host, 0, len(entries))
	temporary := false
	for ei := range entries {
		e, ha := &entries[ei], &entries[ei].ha
		failed4 := plan.noteLookup(e.name, "ip4", ha.Err4)
		failed6 := plan.noteLookup(e.name, "ip6", ha.Err6)
		if (failed4 && senders.Has(IPv4)) || (failed6 && senders.Has(IPv6)) {
			temporary = true
		}
		in := ha.Addrs
		if extra := max(len(in)-maxAddrs, 0) + max(ha.Dropped, 0); extra > 0 {
			plan.Truncated.HostAddrs += extra
			plan.skip(e, netip.Addr{}, SkipHostAddrLimit, strconv.Itoa(extra)+" addresses beyond the limit of "+strconv.Itoa(maxAddrs))
			in = in[:min(len(in), maxAddrs)]
		}
		h := Host{Name: e.name, Preference: e.pref}
		dsts = dsts[:0]
		noRoute := false
	addrLoop:
		for _, a := range in {
			a = a.Unmap()
			if !a.IsValid() {
				continue
			}
			for i := range dsts {
				if dsts[i].Addr == a {
					continue addrLoop
				}
			}
			fam := FamilyOf(a)
			h.Families |= fam
			if !senders.Has(fam) {
				// No address of this family has a source: the sender
				// lacks the family (RFC 3974 section 3).
				plan.skip(e, a, SkipFamily, noFamilyDetail(fam))
				continue
			}
			var src addrselect.Source
			if p.Sources != nil {
				src, err = p.Sources.Source(ctx, a)
				if err != nil {
					return plan, err
				}
				if !src.IsValid() {
					noRoute = true
					plan.skip(e, a, SkipNoRoute, "no source address")
					continue
				}
			}
			dsts = append(dsts, addrselect.Destination{Addr: a, Source: src})
		}
		plan.DomainFamilies |= h.Families
		if len(dsts) == 0 {
			switch {
			case h.Families != 0 && noRoute:
				plan.skip(e, netip.Addr{}, SkipNoRoute, "no route to any address")
			case h.Families != 0:
				plan.skip(e, netip.Addr{}, SkipFamily, "host is "+h.Families.Words()+", sender is "+senders.Words())
			case failed4 || failed6:
				plan.skip(e, netip.Addr{}, SkipLookupFailed, "address lookups failed")
			default:
				plan.skip(e, netip.Addr{}, SkipNoAddress, "no A or AAAA records")
			}
			continue
		}
		// RFC 5321 section 5.1: the addresses of a multihomed host are
		// tried in the order the resolver's address selection gives
		// (RFC 6724 section 6).
		p.Selector.SortDestinations(dsts)
		start := len(cands)
		for i := range dsts {
			cands = append(cands, Candidate{Addr: dsts[i].Addr, Source: dsts[i].Source})
		}
		h.Addrs = cands[start:len(cands):len(cands)]
		if p.Prefer == IPv4 || p.Prefer == IPv6 {
			preferFamily(h.Addrs, p.Prefer)
		}
		plan.Hosts = append(plan.Hosts, h)
	}
	plan.SenderFamilies = senders

	if len(plan.Hosts) == 0 {
		if plan.Implicit && plan.DomainFamilies == 0 && !temporary && len(plan.LookupErrors) == 0 {
			// No MX and no address records: nothing to deliver to.
			// Through *net.Resolver this is indistinguishable from
			// NXDOMAIN (see the package documentation).
			return plan, ErrNoSuchDomain
		}
		return plan, &UnreachableError{
			Domain:         d,
			DomainFamilies: plan.DomainFamilies,
			SenderFamilies: senders,
			Hosts:          len(entries),
			Temporary:      temporary,
		}
	}
	plan.attempts = p.attempts(plan, total)
	return plan, nil
}

// entries turns the MX records into sorted, validated, bounded entries
// (RFC 5321 section 5.1, RFC 7505).
func (p *Planner) entries(plan *Plan, mx []*net.MX) ([]entry, error) {
	records, nulls := 0, 0
	for _, m := range mx {
		if m == nil {
			continue
		}
		records++
		if m.Host == "" || m.Host == "." {
			nulls++
		}
	}
	if records == 0 {
		// RFC 5321 section 5.1: no MX records: the domain itself is an
		// implicit MX of preference 0.
		plan.Implicit = true
		return []entry{{name: plan.Domain, raw: plan.Domain}}, nil
	}
	// RFC 7505 section 3: a null MX is a single "." record; clients must
	// not fall back to address records. A "." among real MX records is a
	// misconfiguration the RFC leaves open: see NullMXPolicy.
	if nulls == records || (nulls > 0 && p.NullMX == NullMXFail) {
		return nil, ErrNullMX
	}
	entries := make([]entry, 0, records-nulls)
	for _, m := range mx {
		if m == nil {
			continue
		}
		if m.Host == "" || m.Host == "." {
			plan.skip(&entry{name: ".", pref: m.Pref}, netip.Addr{}, SkipNullMX, "null MX mixed with other MX records (RFC 7505 section 3)")
			continue
		}
		n, reason := normalize(m.Host)
		if reason != "" {
			plan.skip(&entry{name: m.Host, pref: m.Pref}, netip.Addr{}, SkipInvalidName, reason)
			continue
		}
		entries = append(entries, entry{name: n, raw: m.Host, pref: m.Pref})
	}
	// RFC 5321 section 5.1: lower preference first. Stable, so that the
	// cap below is a function of the input.
	slices.SortStableFunc(entries, func(a, b entry) int { return cmp.Compare(a.pref, b.pref) })
	if limit := p.maxMX(); len(entries) > limit {
		plan.Truncated.MX = len(entries) - limit
		for _, e := range entries[limit:] {
			plan.skip(&e, netip.Addr{}, SkipMXLimit, "beyond the limit of "+strconv.Itoa(limit)+" MX records")
		}
		entries = entries[:limit]
	}
	// A host listed twice keeps its best preference.
	kept := entries[:0]
	for _, e := range entries {
		dup := false
		for _, k := range kept {
			if k.name == e.name {
				dup = true
				break
			}
		}
		if dup {
			plan.skip(&e, netip.Addr{}, SkipDuplicate, "host listed more than once")
			continue
		}
		kept = append(kept, e)
	}
	return kept, nil
}

// shuffleRuns randomises the order within each run of equal preference
// (RFC 5321 section 5.1: equal preferences MUST be randomised to spread
// the load) with a Fisher-Yates shuffle.
func shuffleRuns(entries []entry, r *rng) {
	for i := 0; i < len(entries); {
		j := i + 1
		for j < len(entries) && entries[j].pref == entries[i].pref {
			j++
		}
		run := entries[i:j]
		for k := len(run) - 1; k > 0; k-- {
			m := r.intn(k + 1)
			run[k], run[m] = run[m], run[k]
		}
		i = j
	}
}

func lookupAddrs(addrs map[string]HostAddrs, e entry) HostAddrs {
	if ha, ok := addrs[e.name]; ok {
		return ha
	}
	return addrs[e.raw]
}

// findSelf returns the index of the best-preference entry that is the
// local host, or -1.
func (p *Planner) findSelf(entries []entry) (int, error) {
	if len(p.LocalNames) == 0 && len(p.LocalAddrs) == 0 {
		return -1, nil
	}
	for i, e := range entries {
		for _, ln := range p.LocalNames {
			n, reason := normalize(ln)
			if reason != "" {
				return -1, &NameError{Name: ln, Reason: "local name: " + reason}
			}
			if n == e.name {
				return i, nil
			}
		}
		if len(p.LocalAddrs) > 0 {
			ha := e.ha
			for _, a := range ha.Addrs[:min(len(ha.Addrs), p.maxHostAddrs())] {
				for _, l := range p.LocalAddrs {
					if a.IsValid() && l.Unmap() == a.Unmap() {
						return i, nil
					}
				}
			}
		}
	}
	return -1, nil
}

// senderFamilies returns the families the local host may use before
// looking at Sources.
func (p *Planner) senderFamilies(ctx context.Context) (Family, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if p.Families != 0 {
		return p.Families & DualStack, nil
	}
	return DualStack, nil
}

// probedFamilies asks Sources about a global destination in each family.
func (p *Planner) probedFamilies(ctx context.Context) Family {
	var f Family
	if s, err := p.Sources.Source(ctx, probe4); err == nil && s.IsValid() {
		f |= IPv4
	}
	if s, err := p.Sources.Source(ctx, probe6); err == nil && s.IsValid() {
		f |= IPv6
	}
	return f
}

// preferFamily moves the addresses of family f first, keeping the order
// within each family (a stable partition in place).
func preferFamily(c []Candidate, f Family) {
	// Insertion-style stable partition: n is small (bounded by
	// MaxHostAddrs) and this allocates nothing.
	k := 0
	for i := range c {
		if FamilyOf(c[i].Addr) == f {
			x := c[i]
			copy(c[k+1:i+1], c[k:i])
			c[k] = x
			k++
		}
	}
}

// attempts flattens the hosts into the attempt list: duplicates removed,
// then MaxAddresses applied, balanced across families when asked.
func (p *Planner) attempts(plan *Plan, total int) []Attempt {
	out := make([]Attempt, 0, total)
	var n4, n6 int
	// seen is a 256-bit Bloom filter over the addresses in out: the
	// linear duplicate search runs only when it reports a possible match,
	// which keeps the common case linear.
	var seen [4]uint64
	for hi := range plan.Hosts {
		h := &plan.Hosts[hi]
	cand:
		for ci := range h.Addrs {
			c := &h.Addrs[ci]
			b := c.Addr.As16()
			x := binary.LittleEndian.Uint64(b[:8]) ^ binary.LittleEndian.Uint64(b[8:])
			x *= 0x9e3779b97f4a7c15
			bit := x >> 56
			if seen[bit>>6]&(1<<(bit&63)) != 0 {
				for ai := range out {
					if out[ai].Addr == c.Addr {
						plan.Skipped = append(plan.Skipped, Skip{Host: h.Name, Preference: h.Preference, Addr: c.Addr, Reason: SkipDuplicate, Detail: "address already listed for " + out[ai].Host})
						continue cand
					}
				}
			}
			seen[bit>>6] |= 1 << (bit & 63)
			if c.Addr.Is4() {
				n4++
			} else {
				n6++
			}
			out = append(out, Attempt{Host: h.Name, Preference: h.Preference, Addr: c.Addr, Source: c.Source.Addr})
		}
	}
	limit := p.MaxAddresses
	if limit <= 0 || len(out) <= limit {
		return out
	}
	detail := "beyond the address limit of " + strconv.Itoa(limit)
	plan.Skipped = slices.Grow(plan.Skipped, len(out)-limit)
	q4, q6 := limit, limit
	if p.Balance && n4 > 0 && n6 > 0 {
		// The family of the first attempt gets the larger half of the
		// budget, unless the other family has fewer addresses than its
		// half; each family leaves what it cannot use to the other.
		first, second := &q4, &q6
		nFirst, nSecond := n4, n6
		if !out[0].Addr.Is4() {
			first, second = &q6, &q4
			nFirst, nSecond = n6, n4
		}
		*first = min(nFirst, limit-min(nSecond, limit/2))
		*second = min(nSecond, limit-*first)
	}
	kept := out[:0]
	for i := range out {
		a := &out[i]
		q := &q6
		if a.Addr.Is4() {
			q = &q4
		}
		if len(kept) < limit && *q > 0 {
			*q--
			kept = append(kept, *a)
			continue
		}
		plan.Truncated.Attempts++
		plan.Skipped = append(plan.Skipped, Skip{Host: a.Host, Preference: a.Preference, Addr: a.Addr, Reason: SkipAddressLimit, Detail: detail})
	}
	return kept
}

func noFamilyDetail(f Family) string {
	if f == IPv4 {
		return "sender cannot use IPv4"
	}
	return "sender cannot use IPv6"
}

func (plan *Plan) skip(e *entry, a netip.Addr, r SkipReason, detail string) {
	plan.Skipped = append(plan.Skipped, Skip{Host: e.name, Preference: e.pref, Addr: a, Reason: r, Detail: detail})
}

// noteLookup records a failed lookup and reports whether err is a
// failure (rather than nil or "no records").
func (plan *Plan) noteLookup(host, network string, err error) bool {
	if err == nil {
		return false
	}
	notFound, temporary, timeout := classify(err)
	if notFound {
		return false
	}
	plan.LookupErrors = append(plan.LookupErrors, LookupError{
		Host: host, Network: network, Temporary: temporary, Timeout: timeout, Message: err.Error(), Err: err,
	})
	return true
}

// classify interprets a resolver error the way *net.Resolver reports
// them.
func classify(err error) (notFound, temporary, timeout bool) {
	var de *net.DNSError
	if errors.As(err, &de) {
		return de.IsNotFound, de.IsTemporary || de.IsTimeout, de.IsTimeout
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return false, true, true
	}
	var te interface{ Temporary() bool }
	if errors.As(err, &te) {
		return false, te.Temporary(), false
	}
	return false, false, false
}
