package mxorder

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// Resolver is the DNS interface the [Planner] needs. It is exactly a
// subset of the method set of [*net.Resolver], so [net.DefaultResolver]
// and any configured *net.Resolver work unchanged; mxordertest.Resolver is
// an in-memory implementation for tests.
//
// Implementations should report "no such name" and "no records of this
// type" as a *net.DNSError with IsNotFound set, and temporary failures
// with IsTemporary or IsTimeout set, as *net.Resolver does.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CNAMEResolver is an optional extension of [Resolver]: when the resolver
// also implements it (as *net.Resolver does), [Planner.Audit] reports MX
// exchanges that are aliases (RFC 2181 section 10.3, RFC 5321 section
// 5.1). It is found by type assertion so that Resolver keeps two methods.
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
// The domain is converted to A-labels (IDNA) and queried as an absolute
// name: search domains never apply (RFC 5321 section 5.1). A and AAAA are
// queried concurrently for every host (at most Concurrency hosts at once)
// and both answers are awaited: a failure or timeout of one family does
// not hide the other's addresses, and is recorded in
// [Plan.LookupErrors]. Both families are always queried, even for a
// single-stack sender (RFC 5321 section 5.2 allows skipping), so that the
// plan can say which families the domain offers.
//
// A temporary failure of the MX lookup is returned wrapped (the
// *net.DNSError is reachable with errors.As); the message should be
// queued. A "not found" MX answer is handled as described in the package
// documentation (implicit MX or [ErrNoSuchDomain]).
//
// Plan does not wait for a Resolver past ctx's deadline, even one that
// ignores its context: when ctx ends first, Plan returns at once the plan
// so far (none when the MX lookup did not answer), whose LookupErrors
// list the address lookups that did not answer as timed out, with an
// error that unwraps to ctx's error.
func (p *Planner) Plan(ctx context.Context, domain string) (*Plan, error) {
	return p.PlanWith(ctx, domain, nil)
}

// PlanWith is [Planner.Plan] for a delivery with a history and a TLS
// policy (st, nil for none), as [Planner.BuildWith] describes. When
// Planner.STS is set and st carries no MTA-STS policy, the policy is
// taken from that cache (fetched if needed, through the Planner's
// Resolver); a failure to get one is recorded in Plan.LookupErrors
// (network "mta-sts") and delivery proceeds without a policy, or with
// the last good one still cached (RFC 8461 sections 3.3 and 5.1).
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
	// The records are validated and normalised once, here; Build's own
	// path (Planner.Build) is for records the caller already has.
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
			// The caller's deadline passed while resolving: say which
			// lookups did not answer, and stop.
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
	pol, err := p.STS.Policy(ctx, p.resolver(), plan.Domain)
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
	var (
		wg         sync.WaitGroup
		a4, a6     []netip.Addr
		d4, d6     int
		err4, err6 error
	)
	q := name + "."
	wg.Go(func() { a4, d4, err4 = p.lookupIP(ctx, "ip4", q) })
	a6, d6, err6 = p.lookupIP(ctx, "ip6", q)
	wg.Wait()
	// Interleave nothing here: the Selector orders the addresses. IPv6
	// first mirrors how Go's resolver lists them before sorting.
	all := make([]netip.Addr, 0, len(a4)+len(a6))
	all = append(all, a6...)
	all = append(all, a4...)
	return HostAddrs{Addrs: all, Err4: err4, Err6: err6, Dropped: d4 + d6}
}

// lookupIP returns the addresses of the family network ("ip4" or "ip6")
// of host: at most MaxHostAddrs of them, copied (the resolver's slice may
// be shared), and how many more the answer held.
func (p *Planner) lookupIP(ctx context.Context, network, host string) ([]netip.Addr, int, error) {
	addrs, err := guard(p, ctx, network, host, func(ctx context.Context) ([]netip.Addr, error) {
		return p.resolver().LookupNetIP(ctx, network, host)
	})
	limit := p.maxHostAddrs()
	kept := make([]netip.Addr, 0, min(len(addrs), limit))
	dropped := 0
	for _, a := range addrs {
		// Keep only the family asked for: a resolver may return
		// IPv4-mapped or stray records. An IPv4-mapped AAAA stays
		// mapped so that the audit can flag it; Build treats it as
		// IPv4.
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
