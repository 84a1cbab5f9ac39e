package mxorder

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Resolver is the DNS interface the [Planner] needs, a subset of the
// method set of [*net.Resolver]; mxordertest.Resolver is an in-memory
// one for tests. Implementations should report "no such name" and "no
// records" as a *net.DNSError with IsNotFound, and temporary failures
// with IsTemporary or IsTimeout, as *net.Resolver does.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CNAMEResolver is an optional extension of [Resolver] (*net.Resolver
// has it) with which [Planner.Audit] reports MX exchanges that are
// aliases (RFC 2181 section 10.3, RFC 5321 section 5.1).
type CNAMEResolver interface {
	LookupCNAME(ctx context.Context, host string) (string, error)
}

var (
	_ Resolver      = (*net.Resolver)(nil)
	_ CNAMEResolver = (*net.Resolver)(nil)
)

func (p *Planner) resolver() Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

// Plan looks up the MX records of domain and the A and AAAA records of
// each exchange, then builds the plan with [Planner.Build].
//
// The domain is queried in A-labels as an absolute name: search domains
// never apply (RFC 5321 section 5.1). A and AAAA are queried
// concurrently for every host and both answers awaited: a failure of one
// family does not hide the other's addresses, and is recorded in
// [Plan.LookupErrors]. A temporary failure of the MX lookup is returned
// wrapped (the *net.DNSError is reachable with errors.As): queue the
// message. A "not found" MX answer means an implicit MX or
// [ErrNoSuchDomain], as the package documentation says.
//
// When ctx ends first, even with a Resolver that ignores it, Plan
// returns at once the plan so far (none before the MX answer), with the
// unanswered lookups in LookupErrors as timed out and an error that
// unwraps to ctx's error.
func (p *Planner) Plan(ctx context.Context, domain string) (*Plan, error) {
	return p.PlanWith(ctx, domain, nil)
}

// PlanWith is [Planner.Plan] for a delivery with a history and a TLS
// policy (st, nil for none), as [Planner.BuildWith] describes. Without
// an MTA-STS policy in st, it takes one from Planner.STS, if set; a
// failure to get it is recorded in Plan.LookupErrors (network
// "mta-sts") and delivery proceeds with the last good policy cached, or
// none (RFC 8461 sections 3.3 and 5.1).
func (p *Planner) PlanWith(ctx context.Context, domain string, st *DeliveryState) (*Plan, error) {
	d, reason := normalize(domain)
	if reason != "" {
		return nil, &NameError{Name: domain, Reason: reason}
	}
	p, nat64Err, err := p.discoverNAT64(ctx)
	if err != nil {
		return nil, err
	}
	mx, mxErr, err := p.lookupMX(ctx, d)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Domain: d, MaxSessions: p.MaxSessions}
	plan.noteLookup(nat64Host, "ip6", nat64Err)
	st = p.withSTS(ctx, plan, st)
	entries, err := p.entries(plan, mx)
	switch {
	case err != nil:
		err = p.nullMXPlan(ctx, plan, err)
	default:
		addrs := p.resolveHosts(ctx, entryNames(entries))
		for i := range entries {
			entries[i].ha = addrs[entries[i].name]
		}
		if err = ctx.Err(); err != nil {
			// The deadline passed while resolving: list the lookups.
			for i := range entries {
				plan.noteLookup(entries[i].name, "ip4", entries[i].ha.Err4)
				plan.noteLookup(entries[i].name, "ip6", entries[i].ha.Err6)
			}
			err = &domainError{d, err}
			break
		}
		plan, err = p.build(ctx, plan, entries, st)
	}
	if plan != nil && mxErr != nil {
		plan.noteLookup(d, "mx", mxErr)
	}
	return plan, err
}

// withSTS returns st with the MTA-STS policy of the plan's domain from
// Planner.STS when st has none, and records a failure to get it.
func (p *Planner) withSTS(ctx context.Context, plan *Plan, st *DeliveryState) *DeliveryState {
	if p.STS == nil || (st != nil && st.STS != nil) {
		return st
	}
	r := p.resolver()
	if tr, ok := r.(TXTResolver); ok {
		r = guardedTXT{r, tr, p}
	}
	pol, err := p.STS.Policy(ctx, r, plan.Domain)
	if err != nil {
		plan.LookupErrors = append(plan.LookupErrors, LookupError{Host: plan.Domain, Network: "mta-sts",
			Temporary: true, Message: err.Error(), Err: err})
	}
	if pol == nil {
		return st
	}
	var out DeliveryState
	if st != nil {
		out = *st
	}
	out.STS = pol
	return &out
}

// guardedTXT is a Planner's resolver whose TXT lookups (MTA-STS records)
// go through guard like every other lookup of a plan: bounded by
// LookupTimeout, a panic reported as a ResolverPanicError.
type guardedTXT struct {
	Resolver
	txt TXTResolver
	p   *Planner
}

// LookupTXT looks name up through guard.
func (g guardedTXT) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return guard(g.p, ctx, "txt", strings.TrimSuffix(name, "."), func(ctx context.Context) ([]string, error) {
		return g.txt.LookupTXT(ctx, name)
	})
}

// lookupMX returns the MX records, a non-fatal error that came with
// records (*net.Resolver drops invalid records and reports them), and a
// fatal error.
func (p *Planner) lookupMX(ctx context.Context, d string) ([]*net.MX, error, error) {
	mx, err := guard(p, ctx, "mx", d, func(ctx context.Context) ([]*net.MX, error) {
		return p.resolver().LookupMX(ctx, d+".")
	})
	if err == nil {
		return mx, nil, nil
	}
	if len(mx) > 0 {
		return mx, err, nil
	}
	if notFound, _, _ := classify(err); notFound {
		// NXDOMAIN or NODATA: the address lookups of the implicit MX
		// tell them apart as far as possible.
		return nil, nil, nil
	}
	return nil, nil, fmt.Errorf("mxorder: MX lookup for %q: %w", d, err)
}

func (p *Planner) lookupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.LookupTimeout > 0 {
		return context.WithTimeout(ctx, p.LookupTimeout)
	}
	return context.WithCancel(ctx)
}

// entryNames returns the names of the entries.
func entryNames(entries []entry) []string {
	names := make([]string, len(entries))
	for i := range entries {
		names[i] = entries[i].name
	}
	return names
}

// resolveHosts looks up A and AAAA for every name, Concurrency names at a
// time, both families of a name in parallel.
func (p *Planner) resolveHosts(ctx context.Context, names []string) map[string]HostAddrs {
	out := make(map[string]HostAddrs, len(names))
	var mu sync.Mutex
	p.eachName(names, func(name string) {
		ha := p.resolveHost(ctx, name)
		mu.Lock()
		out[name] = ha
		mu.Unlock()
	})
	return out
}

// eachName calls f for every name, in goroutines, at most Concurrency at
// a time, and returns when all calls have.
func (p *Planner) eachName(names []string, f func(name string)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, p.concurrency())
	for _, n := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(n)
		})
	}
	wg.Wait()
}

// resolveHost looks up the A and AAAA records of name, in parallel.
// Each family keeps at most MaxHostAddrs addresses; the rest are counted
// in Dropped, so that the excess is reported while memory stays bounded.
func (p *Planner) resolveHost(ctx context.Context, name string) HostAddrs {
	var wg sync.WaitGroup
	var a4 []netip.Addr
	var d4 int
	var err4 error
	wg.Go(func() { a4, d4, err4 = p.lookupIP(ctx, "ip4", name) })
	a6, d6, err6 := p.lookupIP(ctx, "ip6", name)
	wg.Wait()
	// IPv6 first, as Go's resolver lists them; the Selector orders them.
	return HostAddrs{Addrs: slices.Concat(a6, a4), Err4: err4, Err6: err6, Dropped: d4 + d6}
}

// lookupIP returns the addresses of the family network ("ip4" or "ip6")
// of host (canonical, asked as an absolute name): at most MaxHostAddrs of
// them, copied (the resolver's slice may be shared), and how many more
// the answer held. Errors name host as it is.
func (p *Planner) lookupIP(ctx context.Context, network, host string) ([]netip.Addr, int, error) {
	addrs, err := guard(p, ctx, network, host, func(ctx context.Context) ([]netip.Addr, error) {
		return p.resolver().LookupNetIP(ctx, network, host+".")
	})
	limit := p.maxHostAddrs()
	kept := make([]netip.Addr, 0, min(len(addrs), limit))
	dropped := 0
	for _, a := range addrs {
		// Keep only the family asked for; an IPv4-mapped AAAA stays
		// mapped for the audit to flag (Build treats it as IPv4).
		switch {
		case network == "ip4" && a.Unmap().Is4():
			a = a.Unmap()
		case network == "ip6" && a.Is6():
		default:
			continue
		}
		if len(kept) == limit {
			dropped++
			continue
		}
		kept = append(kept, a)
	}
	return kept, dropped, err
}
