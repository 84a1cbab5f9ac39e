package addrselect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RFC 8305 section 8 defaults and bounds.
const (
	// DefaultResolutionDelay is how long a [Dialer] waits for AAAA
	// answers once A answers arrived (RFC 8305 section 3).
	DefaultResolutionDelay = 50 * time.Millisecond
	// DefaultAttemptDelay is the Connection Attempt Delay (RFC 8305
	// section 5): the time between the starts of two attempts.
	DefaultAttemptDelay = 250 * time.Millisecond
	// MinAttemptDelay and MaxAttemptDelay bound Dialer.AttemptDelay: RFC
	// 8305 section 5 forbids less than 10 ms and recommends at most 2 s.
	MinAttemptDelay = 10 * time.Millisecond
	MaxAttemptDelay = 2 * time.Second
)

// MaxDialAddrs bounds how many distinct addresses a [Dialer] considers
// for one dial. DialAddrs rejects longer lists with [ErrTooManyAddrs];
// resolver answers beyond the bound are ignored and counted in
// [DialError].Ignored.
const MaxDialAddrs = 64

// Resolver looks up the addresses of a host. *net.Resolver implements it;
// network is "ip4" (A records) or "ip6" (AAAA records). A [Dialer] with a
// nil Resolver uses net.DefaultResolver.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Dialer connects to a name or to a list of addresses in [Selector] order,
// with the Happy Eyeballs behaviour of RFC 8305, so a client never sticks
// to one broken family:
//
//   - it asks for AAAA and A at once and starts as soon as AAAA answers;
//     when A answers first, or AAAA holds only addresses DNS64
//     synthesized inside a known NAT64 prefix, it waits up to
//     ResolutionDelay for the other answer (section 3);
//   - it sorts the addresses with the Selector, finding sources as
//     [Selector.FindSource] does (RFC 6724 section 6, RFC 8305 section 4),
//     then interleaves the families: FirstFamilyCount addresses of the
//     first family, then alternately;
//   - it starts one attempt, then the next after AttemptDelay or as soon
//     as an attempt fails, never within 10 ms of the previous start and
//     never several at once (section 5);
//   - the first connection wins; the other attempts are cancelled and any
//     connection they still make is closed;
//   - answers that arrive during the race join the untried addresses
//     (section 6); lookups still running when the dial ends are cancelled
//     (a caching Resolver can detach its own context to finish them).
//
// On an IPv6-only network (RFC 8305 section 7) an IPv4 address without a
// source is dialed through NAT64, as the address synthesized (RFC 6052)
// with a known prefix (see the NAT64 field), for IPv4 literals (section
// 7.1) and for names with only A records. The Selector learns the
// prefixes ([WithNAT64], unless it has its own), so a DNS64 answer ranks
// as the IPv4 address it stands for and keeps off the translator when
// native IPv4 reaches that address.
//
// Timing: where IPv6 is refused outright the Dialer connects about 10 ms
// later than net.Dialer, which retries at once; where IPv6 packets are
// dropped it falls back after AttemptDelay, sooner than net.Dialer's
// 300 ms. Synthesis with a known prefix adds no lookup.
//
// Each attempt and each lookup runs in its own goroutine; a loser's ends
// when its Dial returns, which it must do promptly once its context is
// cancelled.
//
// The zero Dialer works: RFC6724(), the running [System], the default
// resolver and a [net.Dialer]. A Dialer is safe for concurrent use if its
// fields are not modified.
type Dialer struct {
	// Selector orders the addresses; nil means RFC6724().
	Selector *Selector
	// Sources finds the source for each address; nil means a shared
	// [System].
	Sources Sources
	// Resolver looks names up; nil means net.DefaultResolver.
	Resolver Resolver
	// ResolutionDelay: see [DefaultResolutionDelay]; zero means the
	// default, a negative value means not to wait for AAAA.
	ResolutionDelay time.Duration
	// AttemptDelay is the Connection Attempt Delay; zero means
	// [DefaultAttemptDelay]. It is clamped to [MinAttemptDelay,
	// MaxAttemptDelay].
	AttemptDelay time.Duration
	// FirstFamilyCount is how many addresses of the preferred family are
	// tried before the first of the other family; zero means 1.
	FirstFamilyCount int
	// Dial makes one connection attempt to a literal "addr:port"; nil
	// means (&net.Dialer{}).DialContext. It must return when ctx is done.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// NAT64 lists the NAT64 prefixes (RFC 6052) to synthesize with, in
	// order of preference; prefixes that nat64.CheckPrefix refuses are
	// ignored. Empty means those a [System] learned from router
	// advertisements (RFC 8781, whose section 5.1 prefers them to DNS64's;
	// Sources nil or a *System), else discovery when DiscoverNAT64 is set
	// (RFC 7050), else no synthesis.
	NAT64 []netip.Prefix
	// DiscoverNAT64 asks the Resolver for the prefix (nat64.Discover)
	// when no prefix is known and an IPv4 address has no route: one AAAA
	// lookup of ipv4only.arpa per such dial, which attempts to addresses
	// without a source wait for. Callers that dial often discover once
	// and set NAT64.
	DiscoverNAT64 bool
}

// ErrNoAddresses is [DialError].Err when there was nothing to try: the
// name has no address of a family the network allows. Retrying with
// another network or name may help; retrying the same dial will not.
var ErrNoAddresses = errors.New("no addresses to dial")

// ErrTooManyAddrs is [DialError].Err when DialAddrs was given more than
// [MaxDialAddrs] addresses: the caller should shorten the list.
var ErrTooManyAddrs = errors.New("too many addresses to dial")

// AttemptError is the failure of one connection attempt. The zero
// AttemptError names no address and no cause.
type AttemptError struct {
	Addr netip.AddrPort // the address and port dialled
	Err  error          // the cause, as the dialer returned it
	// SynthesizedFrom is the IPv4 address Addr stands for when Addr lies
	// inside a NAT64 prefix the dial knew (synthesized by the Dialer or
	// by a DNS64); zero otherwise.
	SynthesizedFrom netip.Addr
}

// Error formats the attempt as "addr:port: cause".
func (e *AttemptError) Error() string {
	if e.SynthesizedFrom.IsValid() {
		return fmt.Sprintf("%v (NAT64 for %v): %v", e.Addr, e.SynthesizedFrom, e.Err)
	}
	return fmt.Sprintf("%v: %v", e.Addr, e.Err)
}

// Unwrap returns the attempt's cause.
func (e *AttemptError) Unwrap() error { return e.Err }

// ResolveError is the failure of one address lookup of a [Dialer]
// (Network "ip4" or "ip6"). The zero ResolveError names no lookup and no
// cause.
type ResolveError struct {
	Network, Host string // "ip4" or "ip6", and the name looked up
	Err           error  // the resolver's error
}

// Error names the lookup and its cause.
func (e *ResolveError) Error() string {
	return fmt.Sprintf("lookup %s %s: %v", e.Network, e.Host, e.Err)
}

// Unwrap returns the resolver's error.
func (e *ResolveError) Unwrap() error { return e.Err }

// DialError reports a dial in which no attempt succeeded. errors.Is and
// errors.As look into every member: the attempts, the lookups and Err.
// The zero DialError reports a dial of nothing that failed for no
// stated reason.
type DialError struct {
	// Network and Address are the arguments of the dial (Address is
	// empty for DialAddrs).
	Network, Address string
	// Attempts lists the failed attempts in the order they started.
	Attempts []*AttemptError
	// Lookups lists the failed lookups.
	Lookups []*ResolveError
	// Err is why the dial ended without a connection, if not only
	// because every address failed: the context's error whenever the
	// context was done when the dial ended (errors.Is(err,
	// context.DeadlineExceeded) or context.Canceled then holds), else
	// ErrNoAddresses, ErrTooManyAddrs or an address or port that does
	// not parse. Nil when every address was tried and failed.
	Err error
	// Ignored counts resolver answers left out because the dial already
	// had MaxDialAddrs addresses.
	Ignored int
}

// Error lists the dial, the reason it stopped and every failure.
func (e *DialError) Error() string {
	s, errs := "addrselect: dial "+e.Network, e.Unwrap()
	if e.Address != "" {
		s += " " + e.Address
	}
	if e.Err != nil {
		s, errs = s+": "+e.Err.Error(), errs[1:]
	}
	if e.Ignored > 0 {
		s += "; " + strconv.Itoa(e.Ignored) + " addresses ignored"
	}
	for _, err := range errs {
		s += "; " + err.Error()
	}
	return s
}

// Unwrap returns Err, the lookup errors and the attempt errors.
func (e *DialError) Unwrap() []error {
	errs := make([]error, 0, 1+len(e.Lookups)+len(e.Attempts))
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	for _, l := range e.Lookups {
		errs = append(errs, l)
	}
	for _, a := range e.Attempts {
		errs = append(errs, a)
	}
	return errs
}

// DialContext connects to address, "host:port", on network ("tcp",
// "tcp4", "tcp6", or another network Dial understands). The host may be a
// name or a literal address; the port a number or a service name.
// On failure the error is a *[DialError].
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(address)
	var port uint16
	if err == nil {
		port, err = parsePort(ctx, network, portStr)
	}
	if err != nil {
		return nil, &DialError{Network: network, Address: address, Err: err}
	}
	l := d.newDialLoop(ctx, network, address, port)
	if a, err := netip.ParseAddr(host); err == nil {
		return l.run([]netip.Addr{a})
	}
	// RFC 8305 section 3: AAAA first, then A, without waiting.
	if l.v6 {
		l.lookup("ip6", host)
	}
	if l.v4 {
		l.lookup("ip4", host)
	}
	return l.run(nil)
}

// resolver is the Resolver, or net.DefaultResolver.
func (d *Dialer) resolver() Resolver { return cmp.Or(d.Resolver, Resolver(net.DefaultResolver)) }

// parsePort reads a port number or a service name.
func parsePort(ctx context.Context, network, s string) (uint16, error) {
	if p, err := strconv.ParseUint(s, 10, 16); err == nil {
		return uint16(p), nil
	}
	p, err := net.DefaultResolver.LookupPort(ctx, network, s)
	return uint16(p), err
}

// DialAddrs connects to port on one of addrs, in Selector order with
// staggered attempts as described at [Dialer]; there is nothing to
// resolve. Addresses of a family network does not allow are skipped.
// On failure the error is a *[DialError].
func (d *Dialer) DialAddrs(ctx context.Context, network string, addrs []netip.Addr, port uint16) (net.Conn, error) {
	if len(addrs) > MaxDialAddrs {
		return nil, &DialError{Network: network, Err: ErrTooManyAddrs}
	}
	return d.newDialLoop(ctx, network, "", port).run(addrs)
}

// lookupAnswer is a lookup's answer: addresses, or for a NAT64 prefix
// discovery (nat64 set) prefixes.
type lookupAnswer struct {
	network, host string
	nat64         bool
	addrs         []netip.Addr
	prefixes      []netip.Prefix
	err           error
}

type attemptResult struct {
	addr netip.AddrPort
	conn net.Conn
	err  error
}

// dialLoop is the state of one dial (RFC 8305 sections 3 to 6): it
// starts attempts, takes lookup answers and attempt results, and ends
// with the first connection or when nothing is left to try.
type dialLoop struct {
	ctx    context.Context
	d      *Dialer
	v4, v6 bool // the families the network allows
	port   uint16
	dial   func(ctx context.Context, network, address string) (net.Conn, error)
	dErr   DialError // the failures so far
	sel    *Selector // the Dialer's, knowing the dial's NAT64 prefixes

	// NAT64 (dialer_nat64.go): the known prefixes, and whether their
	// discovery runs or has run.
	nat64                   []netip.Prefix
	discovering, discovered bool

	// The addresses seen, and the untried ones in arrival and in
	// attempt order.
	seen  map[netip.Addr]bool
	pool  []Destination
	order []Destination

	// raceCtx ends the attempts and lookups still running at the end.
	raceCtx    context.Context
	cancelRace context.CancelFunc
	results    chan attemptResult
	inflight   int // attempts running
	answers    chan lookupAnswer
	pending    int // lookups running

	// ready: attempts may start (section 3); gotV6: AAAA has answered;
	// resDelayC: set while waiting for AAAA.
	ready, gotV6 bool
	resDelayC    <-chan time.Time

	// Pacing (section 5): the next attempt may start when attemptC is
	// nil. Timers are not stopped: an unreferenced timer is collected.
	attemptC  <-chan time.Time
	lastStart time.Time // zero before the first attempt
}

func (d *Dialer) newDialLoop(ctx context.Context, network, address string, port uint16) *dialLoop {
	l := &dialLoop{
		ctx: ctx, d: d, port: port, sel: d.Selector, dial: d.Dial,
		v4:      !strings.HasSuffix(network, "6"),
		v6:      !strings.HasSuffix(network, "4"),
		dErr:    DialError{Network: network, Address: address},
		seen:    make(map[netip.Addr]bool),
		results: make(chan attemptResult),
		answers: make(chan lookupAnswer, 2),
		ready:   true,
	}
	if l.dial == nil {
		l.dial = (&net.Dialer{}).DialContext
	}
	l.useNAT64(d.nat64Prefixes())
	l.raceCtx, l.cancelRace = context.WithCancel(ctx)
	return l
}

// lookup starts looking host up on network ("ip4" or "ip6").
func (l *dialLoop) lookup(network, host string) {
	l.pending++
	l.ready = false
	ctx, answers, r := l.raceCtx, l.answers, l.d.resolver()
	go func() {
		addrs, err := r.LookupNetIP(ctx, network, host)
		answers <- lookupAnswer{network: network, host: host, addrs: addrs, err: err}
	}()
}

// run takes addrs, then runs the dial: it returns the first connection,
// or the dial's error.
func (l *dialLoop) run(addrs []netip.Addr) (net.Conn, error) {
	defer l.stop()
	if err := l.add(addrs); err != nil {
		return nil, l.fail(err)
	}
	for {
		if l.ready && l.attemptC == nil && len(l.order) > 0 && !l.holdForNAT64() {
			l.start()
		}
		if l.inflight == 0 && l.pending == 0 && len(l.order) == 0 {
			// The last attempt or lookup may have failed because the
			// context ended: say so.
			err := ctxEnded(l.ctx)
			if err == nil && len(l.dErr.Attempts) == 0 {
				err = ErrNoAddresses
			}
			return nil, l.fail(err)
		}
		select {
		case <-l.ctx.Done():
			return nil, l.fail(l.ctx.Err())
		case ans := <-l.answers:
			if err := l.answer(ans); err != nil {
				return nil, l.fail(err)
			}
		case <-l.resDelayC:
			l.resDelayC, l.ready = nil, true
		case <-l.attemptC:
			l.attemptC = nil
		case res := <-l.results:
			if c := l.result(res); c != nil {
				return c, nil
			}
		}
	}
}

// fail returns the dial's error, stopped for the reason err.
func (l *dialLoop) fail(err error) error {
	e := l.dErr
	e.Err = err
	return &e
}

// ctxEnded returns ctx's error, or context.DeadlineExceeded once ctx's
// deadline has passed even if ctx has not said so yet (a timer set to
// the deadline, as net.Dialer's, may fire before the context's).
func ctxEnded(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// add takes new addresses into the pool, with their sources.
func (l *dialLoop) add(addrs []netip.Addr) error {
	for _, a := range addrs {
		a = a.Unmap()
		if !a.IsValid() || (a.Is4() && !l.v4) || (a.Is6() && !l.v6) || l.seen[a] {
			continue
		}
		if len(l.seen) >= MaxDialAddrs {
			l.dErr.Ignored++
			continue
		}
		l.seen[a] = true
		s, err := l.sel.FindSource(l.ctx, l.d.Sources, a)
		if err != nil {
			if l.ctx.Err() != nil {
				return l.ctx.Err()
			}
			s = Source{} // unknown source: sorts last but is still tried
		}
		if a.Is4() && !s.IsValid() && l.v6 {
			// No route to a: through NAT64 (RFC 8305 section 7).
			syn, ok, err := l.synthesize(a)
			if err != nil {
				return err
			}
			if ok {
				if syn.Addr.IsValid() {
					l.pool = append(l.pool, syn)
				}
				continue
			}
			l.needNAT64()
		}
		l.pool = append(l.pool, Destination{Addr: a, Source: s})
	}
	l.reorder()
	return nil
}

// reorder sorts the untried addresses with the Selector (RFC 8305
// section 4 step 1) and interleaves the families (step 2), a translated
// address counting as IPv4 (see pathV4). After the first attempt, First
// Address Family Count no longer applies: the families alternate.
func (l *dialLoop) reorder() {
	l.order = append(l.order[:0], l.pool...)
	l.sel.SortDestinations(l.order)
	if len(l.order) < 3 {
		return
	}
	first := 1
	if l.lastStart.IsZero() {
		first = max(l.d.FirstFamilyCount, 1)
	}
	fam := l.pathV4(l.order[0])
	var same, other []Destination // the first address's family, the other
	for _, d := range l.order {
		if l.pathV4(d) == fam {
			same = append(same, d)
		} else {
			other = append(other, d)
		}
	}
	out := l.order[:0]
	for len(same) > 0 {
		n := min(first, len(same))
		out = append(out, same[:n]...)
		same, first = same[n:], 1
		if len(other) > 0 {
			out, other = append(out, other[0]), other[1:]
		}
	}
	l.order = append(out, other...)
}

// start starts an attempt to the next address.
func (l *dialLoop) start() {
	dst := l.order[0].Addr
	l.order = l.order[1:]
	l.pool = slices.DeleteFunc(l.pool, func(d Destination) bool { return d.Addr == dst })
	a := netip.AddrPortFrom(dst, l.port)
	l.inflight++
	ctx, network, dial, results := l.raceCtx, l.dErr.Network, l.dial, l.results
	go func() {
		c, err := dial(ctx, network, a.String())
		results <- attemptResult{addr: a, conn: c, err: err}
	}()
	l.lastStart = time.Now()
	// RFC 8305 section 5: the Connection Attempt Delay, within bounds.
	delay := cmp.Or(l.d.AttemptDelay, DefaultAttemptDelay)
	l.attemptC = time.After(min(max(delay, MinAttemptDelay), MaxAttemptDelay))
}

// answer takes a lookup's answer into the race.
func (l *dialLoop) answer(ans lookupAnswer) error {
	l.pending--
	if ans.err != nil {
		l.dErr.Lookups = append(l.dErr.Lookups, &ResolveError{Network: ans.network, Host: ans.host, Err: ans.err})
	}
	if ans.nat64 {
		return l.learnNAT64(ans.prefixes)
	}
	if err := l.add(ans.addrs); err != nil {
		return err
	}
	// An AAAA answer of only DNS64 addresses (inside a known NAT64
	// prefix) does not count as IPv6 having answered: it waits, as an A
	// answer does, for the A records it stands for, so that a host with
	// native IPv4 does not start through the translator
	// (draft-ietf-happy-happyeyeballs-v3).
	l.gotV6 = l.gotV6 || ans.network == "ip6" && slices.ContainsFunc(ans.addrs, func(a netip.Addr) bool {
		return !l.translated(a).IsValid()
	})
	switch {
	case l.ready: // a late answer, merged into the untried list (section 6)
	case l.gotV6 || l.pending == 0:
		l.ready = true
	case len(l.order) > 0:
		// A first: wait up to the resolution delay for AAAA.
		if rd := cmp.Or(l.d.ResolutionDelay, DefaultResolutionDelay); rd <= 0 {
			l.ready = true
		} else if l.resDelayC == nil {
			l.resDelayC = time.After(rd)
		}
	}
	return nil
}

// result takes an attempt's result: the connection if it succeeded, else
// nil, with the failure recorded and the next attempt allowed at once,
// but never within 10 ms of the previous start (RFC 8305 section 5).
func (l *dialLoop) result(res attemptResult) net.Conn {
	l.inflight--
	if res.err == nil {
		return res.conn
	}
	l.dErr.Attempts = append(l.dErr.Attempts, &AttemptError{Addr: res.addr, Err: res.err, SynthesizedFrom: l.translated(res.addr.Addr())})
	l.attemptC = nil
	if wait := MinAttemptDelay - time.Since(l.lastStart); wait > 0 {
		l.attemptC = time.After(wait)
	}
	return nil
}

// stop cancels the attempts and lookups still running. The losers are
// waited for in the background, and what they still connect is closed
// (RFC 8305 section 5).
func (l *dialLoop) stop() {
	l.cancelRace()
	if n, results := l.inflight, l.results; n > 0 {
		go func() {
			for range n {
				if res := <-results; res.conn != nil {
					res.conn.Close()
				}
			}
		}()
	}
}
