// Package mxordertest provides an in-memory DNS [Resolver] for unit tests
// of code that uses [github.com/dualstack/dualstack/mxorder]: MX, A, AAAA,
// CNAME and TXT records, NXDOMAIN, no-data answers, SERVFAIL, timeouts and
// delays, per name and query type.
//
// Its errors are *net.DNSError values with the same IsNotFound,
// IsTemporary and IsTimeout flags *net.Resolver sets, so code tested
// against it behaves the same against the real resolver. As with
// *net.Resolver, NXDOMAIN and no-data answers both come back as
// IsNotFound errors.
package mxordertest

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dualstack/dualstack/mxorder"
)

// QType is a DNS query type the Resolver answers.
type QType uint8

// The query types. AnyType in a failure or delay applies to every type.
const (
	AnyType QType = iota
	TypeMX
	TypeA
	TypeAAAA
	TypeCNAME
	TypeTXT
)

// String returns "MX", "A", "AAAA", "CNAME", "TXT" or "ANY".
func (t QType) String() string {
	if t > AnyType && t <= TypeTXT {
		return [...]string{TypeMX: "MX", TypeA: "A", TypeAAAA: "AAAA", TypeCNAME: "CNAME", TypeTXT: "TXT"}[t]
	}
	return "ANY"
}

// Query is one lookup the Resolver received.
type Query struct {
	Type QType  // the record type asked for
	Name string // canonical: lower case, no trailing dot
}

type failure uint8

const (
	failNone failure = iota
	failServ
	failTimeout
)

type node struct {
	mx      []*net.MX
	a, aaaa []netip.Addr
	cname   string
	txt     []string
	nx      bool
	fail    [TypeTXT + 1]failure
	delay   [TypeTXT + 1]time.Duration
}

// Resolver is an in-memory implementation of [mxorder.Resolver],
// [mxorder.CNAMEResolver] and [mxorder.TXTResolver]. Build it with [New]
// and the chaining methods, which panic on malformed literals (they are
// meant for hard-coded test data); then use it from any number of
// goroutines. Names are compared case-insensitively, with or without a
// trailing dot. A name never mentioned is NXDOMAIN.
type Resolver struct {
	mu      sync.Mutex
	nodes   map[string]*node
	queries []Query
}

var (
	_ mxorder.Resolver      = (*Resolver)(nil)
	_ mxorder.CNAMEResolver = (*Resolver)(nil)
	_ mxorder.TXTResolver   = (*Resolver)(nil)
)

// New returns an empty Resolver: every name is NXDOMAIN.
func New() *Resolver { return &Resolver{nodes: make(map[string]*node)} }

func canon(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// edit applies f to the node of name, made if needed, and returns r.
func (r *Resolver) edit(name string, f func(*node)) *Resolver {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := canon(name)
	if r.nodes[n] == nil {
		r.nodes[n] = &node{}
	}
	f(r.nodes[n])
	return r
}

// MX adds the record "domain MX pref host". host "." makes a null MX
// (RFC 7505); an empty host stays empty, as a broken server or resolver
// might answer.
func (r *Resolver) MX(domain string, pref uint16, host string) *Resolver {
	if host != "." && host != "" {
		host = strings.TrimSuffix(host, ".") + "."
	}
	return r.edit(domain, func(n *node) { n.mx = append(n.mx, &net.MX{Host: host, Pref: pref}) })
}

// TXT adds a TXT record to name (its strings already concatenated, as
// *net.Resolver returns them), for example the MTA-STS record
// TXT("_mta-sts.example.com", "v=STSv1; id=1").
func (r *Resolver) TXT(name, record string) *Resolver {
	return r.edit(name, func(n *node) { n.txt = append(n.txt, record) })
}

// NullMX publishes the null MX "domain MX 0 ." (RFC 7505).
func (r *Resolver) NullMX(domain string) *Resolver { return r.MX(domain, 0, ".") }

// Host adds address records for host: A for IPv4 and AAAA for IPv6
// literals, in the order given.
func (r *Resolver) Host(host string, addrs ...string) *Resolver {
	return r.edit(host, func(n *node) {
		for _, s := range addrs {
			a := netip.MustParseAddr(s)
			if a.Is4() {
				n.a = append(n.a, a)
			} else {
				n.aaaa = append(n.aaaa, a)
			}
		}
	})
}

// A adds A records; every literal must be IPv4.
func (r *Resolver) A(host string, addrs ...string) *Resolver {
	for _, s := range addrs {
		if !netip.MustParseAddr(s).Is4() {
			panic("mxordertest: A record with non-IPv4 address " + s)
		}
	}
	return r.Host(host, addrs...)
}

// AAAA adds AAAA records; every literal must be IPv6.
func (r *Resolver) AAAA(host string, addrs ...string) *Resolver {
	for _, s := range addrs {
		if netip.MustParseAddr(s).Is4() {
			panic("mxordertest: AAAA record with IPv4 address " + s)
		}
	}
	return r.Host(host, addrs...)
}

// CNAME makes alias a CNAME for target: lookups of alias follow it.
func (r *Resolver) CNAME(alias, target string) *Resolver {
	return r.edit(alias, func(n *node) { n.cname = canon(target) })
}

// NXDomain makes name not exist, even if records were added for it.
func (r *Resolver) NXDomain(name string) *Resolver {
	return r.edit(name, func(n *node) { n.nx = true })
}

// NoData makes name exist with no records (each query gets a no-data
// answer) until records are added.
func (r *Resolver) NoData(name string) *Resolver { return r.edit(name, func(*node) {}) }

// ServFail makes queries of the given types for name fail with SERVFAIL
// (IsTemporary); no types means every type.
func (r *Resolver) ServFail(name string, types ...QType) *Resolver {
	return r.setFail(name, failServ, types)
}

// Timeout makes queries of the given types for name time out (IsTimeout
// and IsTemporary) at once; combine with Delay for a slow timeout.
func (r *Resolver) Timeout(name string, types ...QType) *Resolver {
	return r.setFail(name, failTimeout, types)
}

func (r *Resolver) setFail(name string, f failure, types []QType) *Resolver {
	return r.eachType(name, types, func(n *node, t QType) { n.fail[t] = f })
}

// Delay makes queries of the given types for name wait d before
// answering (or until the context ends); no types means every type.
func (r *Resolver) Delay(name string, d time.Duration, types ...QType) *Resolver {
	return r.eachType(name, types, func(n *node, t QType) { n.delay[t] = d })
}

// eachType calls f for the node of name and each of types (AnyType when
// none).
func (r *Resolver) eachType(name string, types []QType, f func(*node, QType)) *Resolver {
	if len(types) == 0 {
		types = []QType{AnyType}
	}
	return r.edit(name, func(n *node) {
		for _, t := range types {
			f(n, t)
		}
	})
}

// Queries returns the queries received so far, in order.
func (r *Resolver) Queries() []Query {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.queries)
}

// Count returns how many queries of type t (AnyType: all) for name were
// received.
func (r *Resolver) Count(t QType, name string) int {
	n := canon(name)
	c := 0
	for _, q := range r.Queries() {
		if q.Name == n && (t == AnyType || q.Type == t) {
			c++
		}
	}
	return c
}

// Errors as *net.Resolver words them.
const (
	msgNoSuchHost = "no such host"
	msgServFail   = "server misbehaving"
	msgTimeout    = "i/o timeout"
	server        = "mxordertest"
)

// lookup follows CNAMEs (at most 8, as a loop guard), applies failures
// and delays, and returns the node that answers, or an error.
func (r *Resolver) lookup(ctx context.Context, t QType, name string) (*node, error) {
	n := canon(name)
	r.mu.Lock()
	r.queries = append(r.queries, Query{Type: t, Name: n})
	r.mu.Unlock()
	for range 8 {
		r.mu.Lock()
		nd := r.nodes[n]
		var (
			f failure
			d time.Duration
		)
		if nd != nil {
			f, d = nd.fail[t], nd.delay[t]
			if f == failNone {
				f = nd.fail[AnyType]
			}
			if d == 0 {
				d = nd.delay[AnyType]
			}
		}
		r.mu.Unlock()
		if d > 0 {
			tm := time.NewTimer(d)
			select {
			case <-ctx.Done():
				tm.Stop()
				return nil, ctxError(ctx, name)
			case <-tm.C:
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, ctxError(ctx, name)
		}
		switch f {
		case failServ:
			return nil, &net.DNSError{Err: msgServFail, Name: name, Server: server, IsTemporary: true}
		case failTimeout:
			return nil, &net.DNSError{Err: msgTimeout, Name: name, Server: server, IsTimeout: true, IsTemporary: true}
		}
		if nd == nil || nd.nx {
			return nil, notFound(name)
		}
		if nd.cname == "" || t == TypeCNAME {
			return nd, nil
		}
		n = nd.cname
	}
	return nil, &net.DNSError{Err: "too many CNAMEs", Name: name, Server: server}
}

func ctxError(ctx context.Context, name string) error {
	err := ctx.Err()
	return &net.DNSError{
		Err: err.Error(), Name: name, Server: server,
		IsTimeout: errors.Is(err, context.DeadlineExceeded), IsTemporary: errors.Is(err, context.DeadlineExceeded),
		UnwrapErr: err,
	}
}

func notFound(name string) error {
	return &net.DNSError{Err: msgNoSuchHost, Name: name, Server: server, IsNotFound: true}
}

// LookupMX returns the MX records of name sorted by preference (ties in
// the order added; *net.Resolver shuffles them), with the exchange names
// fully qualified. No MX records gives an IsNotFound error, as
// *net.Resolver does for NODATA.
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	out, err := records(r, ctx, TypeMX, name, func(n *node) []*net.MX { return n.mx })
	for i, m := range out { // records are never modified once added
		c := *m
		out[i] = &c
	}
	slices.SortStableFunc(out, func(a, b *net.MX) int { return cmp.Compare(a.Pref, b.Pref) })
	return out, err
}

// LookupNetIP returns the A ("ip4"), AAAA ("ip6") or both ("ip") records
// of host. No records of the asked family gives an IsNotFound error.
//
// For "ip" it answers as *net.Resolver does: the addresses of both
// families (AAAA first, then A; *net.Resolver sorts them by RFC 6724),
// and no error as long as one family has addresses, even if the other
// query failed or found nothing. Only when neither family has addresses
// is there an error: the failure (SERVFAIL, timeout) of either query if
// one failed, else IsNotFound.
func (r *Resolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	switch network {
	case "ip4":
		return r.lookupFamily(ctx, TypeA, host)
	case "ip6":
		return r.lookupFamily(ctx, TypeAAAA, host)
	case "ip":
	default:
		return nil, &net.DNSError{Err: "unsupported network " + network, Name: host, Server: server}
	}
	a6, err6 := r.lookupFamily(ctx, TypeAAAA, host)
	a4, err4 := r.lookupFamily(ctx, TypeA, host)
	if out := append(a6, a4...); len(out) > 0 {
		return out, nil
	}
	for _, err := range []error{err6, err4} {
		var de *net.DNSError
		if errors.As(err, &de) && !de.IsNotFound {
			return nil, err
		}
	}
	return nil, notFound(host)
}

// lookupFamily answers one address query: a copy of the records of type
// t (TypeA or TypeAAAA), or an IsNotFound error when there are none.
func (r *Resolver) lookupFamily(ctx context.Context, t QType, host string) ([]netip.Addr, error) {
	return records(r, ctx, t, host, func(n *node) []netip.Addr {
		if t == TypeA {
			return n.a
		}
		return n.aaaa
	})
}

// records answers a query of type t for name with a copy of the records
// get selects from the answering node, or an IsNotFound error when there
// are none.
func records[T any](r *Resolver, ctx context.Context, t QType, name string, get func(*node) []T) ([]T, error) {
	nd, err := r.lookup(ctx, t, name)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	out := slices.Clone(get(nd))
	r.mu.Unlock()
	if len(out) == 0 {
		return nil, notFound(name)
	}
	return out, nil
}

// LookupCNAME returns the canonical name of host (fully qualified), after
// following CNAMEs; host itself when it has no CNAME, as *net.Resolver
// does.
func (r *Resolver) LookupCNAME(ctx context.Context, host string) (string, error) {
	n := canon(host)
	for range 8 {
		nd, err := r.lookup(ctx, TypeCNAME, n)
		if err != nil {
			return "", err
		}
		r.mu.Lock()
		next := nd.cname
		r.mu.Unlock()
		if next == "" {
			return n + ".", nil
		}
		n = next
	}
	return "", &net.DNSError{Err: "too many CNAMEs", Name: host, Server: server}
}

// LookupTXT returns the TXT records of name, in the order added. No TXT
// records gives an IsNotFound error, as *net.Resolver does.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return records(r, ctx, TypeTXT, name, func(n *node) []string { return n.txt })
}
