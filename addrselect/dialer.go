package addrselect

import (
	"context"
	"errors"
	"net"
	"net/netip"
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
//     when A answers first it waits up to ResolutionDelay for AAAA
//     (section 3);
//   - it sorts the addresses with the Selector, finding sources with
//     Sources as [Selector.FindSource] does, so the Selector's source
//     rules apply (RFC 6724 section 6, RFC 8305 section 4), then interleaves
//     the families: FirstFamilyCount addresses of the first family, then
//     one of the other, then alternately;
//   - it starts one attempt, then the next after AttemptDelay or as soon
//     as an attempt fails (but never within 10 ms of the previous start),
//     never several at once (section 5);
//   - the first connection wins; the other attempts are cancelled and any
//     connection they still make is closed;
//   - answers that arrive during the race are sorted into the untried
//     addresses (section 6); lookups still running when the dial ends
//     are cancelled (RFC 8305 lets a resolver go on filling its cache;
//     a caching Resolver can detach its own context for that).
//
// Each attempt and each lookup runs in its own goroutine; the losers'
// goroutines end when their Dial returns, which it must do promptly once
// its context is cancelled.
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
}

// Error formats the attempt as "addr:port: cause".
func (e *AttemptError) Error() string { return e.Addr.String() + ": " + errText(e.Err) }

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
	return "lookup " + e.Network + " " + e.Host + ": " + errText(e.Err)
}

// Unwrap returns the resolver's error.
func (e *ResolveError) Unwrap() error { return e.Err }

// errText is err's message, "<nil>" for nil as fmt writes it.
func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

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
	var b strings.Builder
	b.WriteString("addrselect: dial ")
	b.WriteString(e.Network)
	if e.Address != "" {
		b.WriteString(" ")
		b.WriteString(e.Address)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Ignored > 0 {
		b.WriteString("; ")
		b.WriteString(strconv.Itoa(e.Ignored))
		b.WriteString(" addresses ignored")
	}
	for _, l := range e.Lookups {
		b.WriteString("; ")
		b.WriteString(l.Error())
	}
	for _, a := range e.Attempts {
		b.WriteString("; ")
		b.WriteString(a.Error())
	}
	return b.String()
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

func (d *Dialer) attemptDelay() time.Duration {
	switch v := d.AttemptDelay; {
	case v == 0:
		return DefaultAttemptDelay
	case v < MinAttemptDelay:
		return MinAttemptDelay
	case v > MaxAttemptDelay:
		return MaxAttemptDelay
	default:
		return v
	}
}

func (d *Dialer) resolutionDelay() time.Duration {
	switch v := d.ResolutionDelay; {
	case v == 0:
		return DefaultResolutionDelay
	case v < 0:
		return 0
	default:
		return v
	}
}

// families returns which address families network allows.
func families(network string) (v4, v6 bool) {
	switch {
	case strings.HasSuffix(network, "4"):
		return true, false
	case strings.HasSuffix(network, "6"):
		return false, true
	}
	return true, true
}

// DialContext connects to address, "host:port", on network ("tcp",
// "tcp4", "tcp6", or another network Dial understands). The host may be a
// name or a literal address; the port a number or a service name.
// On failure the error is a *[DialError].
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, &DialError{Network: network, Address: address, Err: err}
	}
	port, err := parsePort(ctx, network, portStr)
	if err != nil {
		return nil, &DialError{Network: network, Address: address, Err: err}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return d.dial(ctx, network, address, []netip.Addr{a}, port, nil, 0)
	}
	v4, v6 := families(network)
	r := d.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel() // stop lookups still running when the race ends
	answers := make(chan lookupAnswer, 2)
	pending := 0
	lookup := func(n string) {
		pending++
		go func() {
			addrs, err := r.LookupNetIP(lctx, n, host)
			answers <- lookupAnswer{v6: n == "ip6", addrs: addrs, err: err, network: n, host: host}
		}()
	}
	// RFC 8305 section 3: AAAA first, then A, without waiting.
	if v6 {
		lookup("ip6")
	}
	if v4 {
		lookup("ip4")
	}
	return d.dial(ctx, network, address, nil, port, answers, pending)
}

func parsePort(ctx context.Context, network, s string) (uint16, error) {
	if p, err := strconv.ParseUint(s, 10, 16); err == nil {
		return uint16(p), nil
	}
	p, err := net.DefaultResolver.LookupPort(ctx, network, s)
	if err != nil {
		return 0, err
	}
	return uint16(p), nil
}

// DialAddrs connects to port on one of addrs, in Selector order with
// staggered attempts as described at [Dialer]; there is nothing to
// resolve. Addresses of a family network does not allow are skipped.
// On failure the error is a *[DialError].
func (d *Dialer) DialAddrs(ctx context.Context, network string, addrs []netip.Addr, port uint16) (net.Conn, error) {
	if len(addrs) > MaxDialAddrs {
		return nil, &DialError{Network: network, Err: ErrTooManyAddrs}
	}
	return d.dial(ctx, network, "", addrs, port, nil, 0)
}

type lookupAnswer struct {
	v6            bool
	addrs         []netip.Addr
	err           error
	network, host string
}

type attemptResult struct {
	addr netip.AddrPort
	conn net.Conn
	err  error
}

// race is the state of one dial.
type race struct {
	d       *Dialer
	src     Sources
	v4, v6  bool
	port    uint16
	seen    map[netip.Addr]bool
	pool    []Destination // untried, in arrival order
	order   []Destination // untried, in attempt order
	started int
	dErr    DialError
}

// add takes new addresses into the pool, with their sources.
func (r *race) add(ctx context.Context, addrs []netip.Addr) error {
	for _, a := range addrs {
		a = a.Unmap()
		if !a.IsValid() || (a.Is4() && !r.v4) || (a.Is6() && !r.v6) || r.seen[a] {
			continue
		}
		if len(r.seen) >= MaxDialAddrs {
			r.dErr.Ignored++
			continue
		}
		r.seen[a] = true
		s, err := r.d.Selector.findSource(ctx, r.src, a)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s = Source{} // unknown source: sorts last but is still tried
		}
		r.pool = append(r.pool, Destination{Addr: a, Source: s})
	}
	r.reorder()
	return nil
}

// reorder sorts the untried addresses with the Selector (RFC 8305
// section 4 step 1) and interleaves the families (step 2). After the
// first attempt, First Address Family Count no longer applies: the
// families simply alternate.
func (r *race) reorder() {
	r.order = append(r.order[:0], r.pool...)
	r.d.Selector.SortDestinations(r.order)
	if len(r.order) < 3 {
		return
	}
	first := 1
	if r.started == 0 && r.d.FirstFamilyCount > 1 {
		first = r.d.FirstFamilyCount
	}
	fam := r.order[0].Addr.Is4()
	var same, other []Destination
	for _, dst := range r.order {
		if dst.Addr.Is4() == fam {
			same = append(same, dst)
		} else {
			other = append(other, dst)
		}
	}
	out := r.order[:0]
	for len(same) > 0 || len(other) > 0 {
		n := min(first, len(same))
		out = append(out, same[:n]...)
		same = same[n:]
		first = 1
		if len(other) > 0 {
			out = append(out, other[0])
			other = other[1:]
		}
		if len(same) == 0 {
			out = append(out, other...)
			other = nil
		}
	}
	r.order = out
}

// next removes and returns the next address to try.
func (r *race) next() netip.Addr {
	a := r.order[0].Addr
	r.order = r.order[1:]
	for i := range r.pool {
		if r.pool[i].Addr == a {
			r.pool = append(r.pool[:i], r.pool[i+1:]...)
			break
		}
	}
	r.started++
	return a
}

func (d *Dialer) dial(ctx context.Context, network, address string, addrs []netip.Addr, port uint16, answers <-chan lookupAnswer, pending int) (net.Conn, error) {
	r := &race{d: d, src: d.Sources, port: port, seen: make(map[netip.Addr]bool)}
	r.dErr.Network, r.dErr.Address = network, address
	if r.src == nil {
		r.src = defaultSystem
	}
	r.v4, r.v6 = families(network)
	if err := r.add(ctx, addrs); err != nil {
		return nil, r.fail(err)
	}
	l := newDialLoop(ctx, r, network, answers, pending)
	defer l.stop()
	return l.run()
}

// fail returns the dial's error, stopped for the reason err.
func (r *race) fail(err error) error {
	r.dErr.Err = err
	e := r.dErr
	return &e
}

// dialLoop runs one dial's attempts and lookups (RFC 8305 sections 3
// and 5): it starts attempts, takes lookup answers and attempt results,
// and ends with the first connection or when nothing is left to try.
type dialLoop struct {
	ctx     context.Context
	r       *race
	network string
	dial    func(ctx context.Context, network, address string) (net.Conn, error)

	// Attempts: their context, results, and how many still run.
	attemptCtx     context.Context
	cancelAttempts context.CancelFunc
	results        chan attemptResult
	inflight       int

	// Lookups: their answers and how many are still pending.
	answers <-chan lookupAnswer
	pending int

	// Readiness (RFC 8305 section 3): with nothing to resolve, at once;
	// else when AAAA answers with addresses, when both have answered, or
	// when A has answered and the resolution delay has passed.
	ready, gotV4, gotV6, wantV6 bool
	resDelay                    *time.Timer
	resDelayC                   <-chan time.Time

	// Pacing (RFC 8305 section 5): the next attempt may start when
	// canStart is set, after the attempt delay or a failure.
	attemptTimer *time.Timer
	attemptC     <-chan time.Time
	canStart     bool
	lastStart    time.Time
}

func newDialLoop(ctx context.Context, r *race, network string, answers <-chan lookupAnswer, pending int) *dialLoop {
	l := &dialLoop{
		ctx: ctx, r: r, network: network, dial: r.d.Dial,
		results: make(chan attemptResult),
		answers: answers, pending: pending,
		ready: answers == nil, wantV6: r.v6 && answers != nil,
		attemptTimer: time.NewTimer(time.Hour),
		canStart:     true,
	}
	l.attemptTimer.Stop()
	if l.dial == nil {
		var nd net.Dialer
		l.dial = nd.DialContext
	}
	l.attemptCtx, l.cancelAttempts = context.WithCancel(ctx)
	return l
}

// run is the loop: it returns the first connection, or the dial's error.
func (l *dialLoop) run() (net.Conn, error) {
	r := l.r
	for {
		if l.ready && l.canStart && len(r.order) > 0 {
			l.start()
		}
		if l.inflight == 0 && l.pending == 0 && len(r.order) == 0 {
			// The last attempt or lookup may have failed because the
			// context ended: say so.
			if err := ctxEnded(l.ctx); err != nil {
				return nil, r.fail(err)
			}
			if len(r.dErr.Attempts) == 0 {
				return nil, r.fail(ErrNoAddresses)
			}
			return nil, r.fail(nil)
		}
		select {
		case <-l.ctx.Done():
			return nil, r.fail(l.ctx.Err())
		case ans := <-l.answers:
			if err := l.answer(ans); err != nil {
				return nil, r.fail(err)
			}
		case <-l.resDelayC:
			l.resDelayC = nil
			l.ready = true
		case <-l.attemptC:
			l.attemptC = nil
			l.canStart = true
		case res := <-l.results:
			if c := l.result(res); c != nil {
				return c, nil
			}
		}
	}
}

// ctxEnded returns ctx's error, or context.DeadlineExceeded once ctx's
// deadline has passed even if ctx has not said so yet: net.Dialer ends
// a connect at the context's deadline with an "i/o timeout" of its own
// timer, which may come before the context's.
func ctxEnded(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// start starts an attempt to the next address.
func (l *dialLoop) start() {
	a := netip.AddrPortFrom(l.r.next(), l.r.port)
	l.inflight++
	ctx, network, dial, results := l.attemptCtx, l.network, l.dial, l.results
	go func() {
		c, err := dial(ctx, network, a.String())
		results <- attemptResult{addr: a, conn: c, err: err}
	}()
	l.canStart = false
	l.lastStart = time.Now()
	l.attemptTimer.Reset(l.r.d.attemptDelay())
	l.attemptC = l.attemptTimer.C
}

// answer takes a lookup's answer into the race.
func (l *dialLoop) answer(ans lookupAnswer) error {
	r := l.r
	l.pending--
	if ans.err != nil {
		r.dErr.Lookups = append(r.dErr.Lookups, &ResolveError{Network: ans.network, Host: ans.host, Err: ans.err})
	}
	if err := r.add(l.ctx, ans.addrs); err != nil {
		return err
	}
	if ans.v6 {
		l.gotV6 = true
	} else {
		l.gotV4 = true
	}
	switch {
	case l.ready:
		// Late answers were merged into the untried list (RFC 8305
		// section 6).
	case ans.v6 && len(ans.addrs) > 0, l.pending == 0, !l.wantV6 || l.gotV6:
		l.ready = true
	case l.gotV4 && len(r.order) > 0:
		// A first: wait up to the resolution delay for AAAA.
		if rd := r.d.resolutionDelay(); rd <= 0 {
			l.ready = true
		} else if l.resDelay == nil {
			l.resDelay = time.NewTimer(rd)
			l.resDelayC = l.resDelay.C
		}
	}
	return nil
}

// result takes an attempt's result: the connection if it succeeded, else
// nil, with the failure recorded and the next attempt allowed.
func (l *dialLoop) result(res attemptResult) net.Conn {
	l.inflight--
	if res.err == nil {
		return res.conn
	}
	l.r.dErr.Attempts = append(l.r.dErr.Attempts, &AttemptError{Addr: res.addr, Err: res.err})
	// A failed attempt lets the next start at once, but never within
	// 10 ms of the previous start (RFC 8305 section 5).
	if wait := MinAttemptDelay - time.Since(l.lastStart); wait > 0 {
		l.attemptTimer.Reset(wait)
		l.attemptC = l.attemptTimer.C
	} else {
		l.canStart = true
	}
	return nil
}

// stop cancels the attempts still running and stops the timers. The
// losers are waited for in the background, and what they still connect
// is closed (RFC 8305 section 5).
func (l *dialLoop) stop() {
	l.cancelAttempts()
	l.attemptTimer.Stop()
	if l.resDelay != nil {
		l.resDelay.Stop()
	}
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
