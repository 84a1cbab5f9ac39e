package mxorder

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"

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
	var buf [entryBuf]entry
	entries, err := p.entries(plan, mx, buf[:0])
	if err != nil {
		return plan, err
	}
	for i := range entries {
		entries[i].ha = lookupAddrs(addrs, &entries[i])
	}
	return p.build(ctx, plan, entries)
}

// entryBuf is the number of MX entries Build keeps on the stack; more
// spill to the heap.
const entryBuf = 16

// build makes the plan from the entries (sorted, with their addresses).
func (p *Planner) build(ctx context.Context, plan *Plan, entries []entry) (*Plan, error) {
	var r rng
	p.newRNG(&r, plan.Domain)
	shuffleRuns(entries, &r)

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
		entries = kept
		if len(entries) == 0 {
			return plan, &domainError{plan.Domain, ErrNoPrimaryRelay}
		}
	}

	senders, err := p.families(ctx, entries)
	if err != nil {
		return plan, &domainError{plan.Domain, err}
	}
	maxAddrs := p.maxHostAddrs()
	total, widest := 0, 0
	for i := range entries {
		n := min(len(entries[i].ha.Addrs), maxAddrs)
		total += n
		widest = max(widest, n)
	}
	// One allocation each for the candidates of all hosts and for the
	// attempts, sized for every address considered; each host's
	// addresses are sorted in a pooled scratch slice, copied to their
	// place in cands once, and appended to the attempts in the same pass.
	cands := make([]Candidate, total)
	var at attemptList
	nc := 0
	sp := getDsts(widest)
	defer putDsts(sp)
	dsts := (*sp)[:widest]
	plan.Hosts = make([]Host, 0, len(entries))
	temporary := false
	for ei := range entries {
		e, ha := &entries[ei], &entries[ei].ha
		failed4 := ha.Err4 != nil && plan.noteLookup(e.name, "ip4", ha.Err4)
		failed6 := ha.Err6 != nil && plan.noteLookup(e.name, "ip6", ha.Err6)
		if (failed4 && senders.Has(IPv4)) || (failed6 && senders.Has(IPv6)) {
			temporary = true
		}
		in := ha.Addrs
		if extra := max(len(in)-maxAddrs, 0) + max(ha.Dropped, 0); extra > 0 {
			plan.Truncated.HostAddrs += extra
			plan.skip(e, netip.Addr{}, SkipHostAddrLimit, strconv.Itoa(extra)+" addresses beyond the limit of "+strconv.Itoa(maxAddrs))
			in = in[:min(len(in), maxAddrs)]
		}
		var fams Family
		n := 0
		noRoute := false
	addrLoop:
		for _, a := range in {
			a = a.Unmap()
			if !a.IsValid() {
				continue
			}
			for i := range dsts[:n] {
				if dsts[i].Addr == a {
					continue addrLoop
				}
			}
			fam := IPv6
			if a.Is4() {
				fam = IPv4
			}
			fams |= fam
			if !senders.Has(fam) {
				// No address of this family has a source: the sender
				// lacks the family (RFC 3974 section 3).
				plan.skip(e, a, SkipFamily, noFamilyDetail(fam))
				continue
			}
			// The destination is written in place (the scratch slice has
			// room for the widest host) and kept only if usable.
			d := &dsts[n]
			if p.Sources == nil {
				d.Source = addrselect.Source{}
			} else {
				src, err := p.Sources.Source(ctx, a)
				if err != nil {
					return plan, &domainError{plan.Domain, fmt.Errorf("source address for %s (MX %s): %w", a, e.name, err)}
				}
				// src.Addr, not src.IsValid: the value receiver
				// would copy the whole Source once more.
				if !src.Addr.IsValid() {
					noRoute = true
					plan.skip(e, a, SkipNoRoute, "no source address")
					continue
				}
				d.Source = src
			}
			d.Addr, d.Unreachable = a, false
			n++
		}
		plan.DomainFamilies |= fams
		if n == 0 {
			switch {
			case fams != 0 && noRoute:
				plan.skip(e, netip.Addr{}, SkipNoRoute, "no route to any address")
			case fams != 0:
				plan.skip(e, netip.Addr{}, SkipFamily, "host is "+fams.Words()+", sender is "+senders.Words())
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
		if n > 1 {
			p.Selector.SortDestinations(dsts[:n])
		}
		hc := cands[nc : nc+n : nc+n]
		nc += n
		for i := range hc {
			// Two assignments, not one of a pair: that would copy
			// through a temporary.
			c, d := &hc[i], &dsts[i]
			c.Addr = d.Addr
			c.Source = d.Source
		}
		if p.Prefer == IPv4 || p.Prefer == IPv6 {
			preferFamily(hc, p.Prefer)
		}
		if at.out == nil {
			at.out = make([]Attempt, total)
		}
		at.add(e.name, e.pref, hc)
		plan.Hosts = plan.Hosts[:len(plan.Hosts)+1]
		h := &plan.Hosts[len(plan.Hosts)-1]
		h.Name, h.Preference, h.Addrs, h.Families = e.name, e.pref, hc, fams
	}
	plan.SenderFamilies = senders

	if len(plan.Hosts) == 0 {
		if plan.Implicit && plan.DomainFamilies == 0 && !temporary && len(plan.LookupErrors) == 0 {
			// No MX and no address records: nothing to deliver to.
			// Through *net.Resolver this is indistinguishable from
			// NXDOMAIN (see the package documentation).
			return plan, &domainError{plan.Domain, ErrNoSuchDomain}
		}
		return plan, &UnreachableError{
			Domain:         plan.Domain,
			DomainFamilies: plan.DomainFamilies,
			SenderFamilies: senders,
			Hosts:          len(entries),
			Temporary:      temporary,
		}
	}
	plan.attempts = p.finishAttempts(plan, &at)
	return plan, nil
}

// dstPool holds the scratch slices Build sorts each host's addresses
// in; addrselect keeps no reference to them after sorting.
var dstPool = sync.Pool{New: func() any { return new([]addrselect.Destination) }}

func getDsts(n int) *[]addrselect.Destination {
	sp := dstPool.Get().(*[]addrselect.Destination)
	if cap(*sp) < n {
		*sp = make([]addrselect.Destination, 0, max(n, DefaultMaxHostAddrs))
	}
	return sp
}

func putDsts(sp *[]addrselect.Destination) {
	if cap(*sp) > 4*DefaultMaxHostAddrs {
		// Do not keep a large slice alive for a rare large host.
		return
	}
	*sp = (*sp)[:0]
	dstPool.Put(sp)
}

// families returns the IP versions the sender can use: Planner.Families,
// narrowed to those Sources has a route for when Sources is set and
// Families is not.
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
	// A probe of a global address in each family; a host routed only to
	// some prefixes (no default route) fails the probe for that family,
	// so any input address with a source shows the family is there.
	// Addresses of a family found missing are skipped for family without
	// asking Sources again.
	probed := p.probedFamilies(ctx)
	maxAddrs := p.maxHostAddrs()
	for ei := 0; ei < len(entries) && probed != DualStack; ei++ {
		ha := &entries[ei].ha
		for _, a := range ha.Addrs[:min(len(ha.Addrs), maxAddrs)] {
			a = a.Unmap()
			f := FamilyOf(a)
			if f == 0 || probed&f != 0 {
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

// mxInputCap bounds the MX records examined at all, whatever MaxMX says:
// a DNS message of at most 65535 octets (RFC 1035 section 4.2.2) holds
// fewer than 4400 MX records, so a longer list does not come from one
// answer. Records beyond it are counted in Truncated.MX and summarised
// in one Skip.
const mxInputCap = 4096

// entries turns the MX records into sorted, validated, bounded entries
// (RFC 5321 section 5.1, RFC 7505), appended to buf.
//
// Work is linear in the records (at most mxInputCap of them are looked
// at) plus O(MaxMX log MaxMX): the MaxMX best records are picked by
// preference with a two-pass radix selection and only they are sorted.
func (p *Planner) entries(plan *Plan, mx []*net.MX, buf []entry) ([]entry, error) {
	records, nulls, beyond := 0, 0, 0
	end := len(mx)
	for i, m := range mx {
		if m == nil {
			continue
		}
		if records == mxInputCap {
			if beyond == 0 {
				end = i
			}
			beyond++
			continue
		}
		records++
		if m.Host == "" || m.Host == "." {
			nulls++
		}
	}
	mx = mx[:end]
	if records == 0 {
		// RFC 5321 section 5.1: no MX records: the domain itself is an
		// implicit MX of preference 0.
		plan.Implicit = true
		return append(buf, entry{name: plan.Domain, raw: plan.Domain}), nil
	}
	if beyond > 0 {
		plan.Truncated.MX += beyond
		plan.Skipped = append(plan.Skipped, Skip{Host: plan.Domain, Reason: SkipMXLimit,
			Detail: strconv.Itoa(beyond) + " MX records beyond the first " + strconv.Itoa(mxInputCap) + " not examined"})
	}
	// RFC 7505 section 3: a null MX is a single "." record; clients must
	// not fall back to address records. A "." among real MX records is a
	// misconfiguration the RFC leaves open: see NullMXPolicy.
	if nulls == records || (nulls > 0 && p.NullMX == NullMXFail) {
		return nil, &domainError{plan.Domain, ErrNullMX}
	}
	entries := slices.Grow(buf[:0], records-nulls)
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
	if limit := p.maxMX(); len(entries) > limit {
		entries = p.keepBest(plan, entries, limit)
	}
	// RFC 5321 section 5.1: lower preference first. Stable, so that
	// equal preferences stay in record order until shuffled.
	// Answers often come sorted already (net.Resolver sorts them).
	for i := 1; i < len(entries); i++ {
		if entries[i].pref < entries[i-1].pref {
			slices.SortStableFunc(entries, func(a, b entry) int { return cmp.Compare(a.pref, b.pref) })
			break
		}
	}
	return dedupHosts(plan, entries), nil
}

// keepBest keeps, in record order, the limit entries that a stable sort
// by preference would put first, and reports the others as over the MX
// limit (in record order). It runs in linear time: a histogram of the
// high byte of the preferences, then of the low byte within the bucket
// where the limit falls, gives the preference of the last kept entry and
// how many entries of that preference are kept.
func (p *Planner) keepBest(plan *Plan, entries []entry, limit int) []entry {
	var hist [256]int
	for i := range entries {
		hist[entries[i].pref>>8]++
	}
	below, hi := 0, 0
	for ; below+hist[hi] < limit; hi++ {
		below += hist[hi]
	}
	hist = [256]int{}
	for i := range entries {
		if int(entries[i].pref>>8) == hi {
			hist[entries[i].pref&0xff]++
		}
	}
	lo := 0
	for ; below+hist[lo] < limit; lo++ {
		below += hist[lo]
	}
	last := uint16(hi<<8 | lo)
	atLast := limit - below // entries of preference last to keep
	plan.Truncated.MX += len(entries) - limit
	plan.Skipped = slices.Grow(plan.Skipped, len(entries)-limit)
	detail := "beyond the limit of " + strconv.Itoa(limit) + " MX records"
	kept := entries[:0]
	for i := range entries {
		e := &entries[i]
		if e.pref < last || (e.pref == last && atLast > 0) {
			if e.pref == last {
				atLast--
			}
			kept = append(kept, *e)
			continue
		}
		plan.skip(e, netip.Addr{}, SkipMXLimit, detail)
	}
	return kept
}

// dedupHosts keeps the first (best) entry of each host name and reports
// the others. Names are compared through a small open-addressing hash
// table on the stack (a map beyond dedupTable/2 entries), so that n
// names cost n hashes rather than n²/2 comparisons.
func dedupHosts(plan *Plan, entries []entry) []entry {
	if len(entries) < 2 {
		return entries
	}
	var (
		table [dedupTable]uint16 // kept index + 1; 0 is empty
		seen  map[string]struct{}
	)
	if len(entries) > dedupTable/2 {
		seen = make(map[string]struct{}, len(entries))
	}
	kept := entries[:0]
	for i := range entries {
		e := &entries[i]
		dup := false
		if seen != nil {
			_, dup = seen[e.name]
			seen[e.name] = struct{}{}
		} else {
			slot := maphash.String(dedupSeed, e.name) % dedupTable
			for table[slot] != 0 {
				if kept[table[slot]-1].name == e.name {
					dup = true
					break
				}
				slot = (slot + 1) % dedupTable
			}
			if !dup {
				table[slot] = uint16(len(kept) + 1)
			}
		}
		if dup {
			plan.skip(e, netip.Addr{}, SkipDuplicate, "host listed more than once")
			continue
		}
		if len(kept) == i {
			kept = kept[:i+1] // in place: no copy
			continue
		}
		kept = append(kept, *e)
	}
	return kept
}

// dedupTable is the size of dedupHosts' hash table.
const dedupTable = 64

var dedupSeed = maphash.MakeSeed()

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

func lookupAddrs(addrs map[string]HostAddrs, e *entry) HostAddrs {
	if ha, ok := addrs[e.name]; ok {
		return ha
	}
	return addrs[e.raw]
}

// findSelf returns the index of the best-preference entry that is the
// local host, or -1.
func (p *Planner) findSelf(entries []entry) (int, error) {
	if len(entries) == 0 || (len(p.LocalNames) == 0 && len(p.LocalAddrs) == 0) {
		return -1, nil
	}
	// Normalise the local names once, not once per entry.
	var buf [4]string
	local := buf[:0]
	for _, ln := range p.LocalNames {
		n, reason := normalize(ln)
		if reason != "" {
			return -1, &NameError{Name: ln, Reason: "local name: " + reason}
		}
		local = append(local, n)
	}
	maxAddrs := p.maxHostAddrs()
	for i := range entries {
		e := &entries[i]
		if slices.Contains(local, e.name) {
			return i, nil
		}
		for _, a := range e.ha.Addrs[:min(len(e.ha.Addrs), maxAddrs)] {
			if !a.IsValid() {
				continue
			}
			a = a.Unmap()
			for _, l := range p.LocalAddrs {
				if l.Unmap() == a {
					return i, nil
				}
			}
		}
	}
	return -1, nil
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

// attemptList builds the attempt list while the hosts are made: each
// host's addresses are appended in order, leaving out addresses already
// listed for a better host.
type attemptList struct {
	out    []Attempt // len: every address considered; n used
	n      int
	n4, n6 int
	// dups reports the addresses left out as duplicates, in order; they
	// go to Plan.Skipped after the hosts' own skips.
	dups []Skip
	// seen is a 256-bit Bloom filter over the addresses in out: the
	// linear duplicate search runs only when it reports a possible match,
	// which keeps the common case linear.
	seen [4]uint64
}

// add appends the candidates of the host name (preference pref).
func (l *attemptList) add(name string, pref uint16, hc []Candidate) {
	out := l.out
cand:
	for ci := range hc {
		c := &hc[ci]
		x := addrHash(c.Addr)
		w, bit := x>>62, uint64(1)<<(x>>56&63)
		if l.seen[w]&bit != 0 {
			for ai := range out[:l.n] {
				if out[ai].Addr == c.Addr {
					l.dups = append(l.dups, Skip{Host: name, Preference: pref, Addr: c.Addr, Reason: SkipDuplicate, Detail: "address already listed for " + out[ai].Host})
					continue cand
				}
			}
		}
		l.seen[w] |= bit
		if c.Addr.Is4() {
			l.n4++
		} else {
			l.n6++
		}
		a := &out[l.n]
		a.Host, a.Preference, a.Addr, a.Source = name, pref, c.Addr, c.Source.Addr
		l.n++
	}
}

// addrHash mixes the bits of a for the Bloom filter. AsSlice, inlined,
// leaves its bytes on the stack where the loads below find them; As16
// copies them once more, and the wide load of that copy waits for the
// two narrower stores (about three times slower).
func addrHash(a netip.Addr) uint64 {
	s := a.AsSlice()
	var x uint64
	switch len(s) {
	case 4:
		x = uint64(binary.BigEndian.Uint32(s))
	case 16:
		x = binary.BigEndian.Uint64(s[:8]) ^ binary.BigEndian.Uint64(s[8:])
	}
	return x * 0x9e3779b97f4a7c15
}

// finishAttempts reports the duplicates left out, then applies
// MaxAddresses, balanced across families when asked.
func (p *Planner) finishAttempts(plan *Plan, l *attemptList) []Attempt {
	out := l.out[:l.n:l.n]
	plan.Skipped = append(plan.Skipped, l.dups...)
	limit := p.MaxAddresses
	if limit <= 0 || len(out) <= limit {
		return out
	}
	n4, n6 := l.n4, l.n6
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
