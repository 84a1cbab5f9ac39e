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
// network is "ip4" (A records) or "ip6" (AAAA records).
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
//     Sources (RFC 6724 section 6, RFC 8305 section 4), then interleaves
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

// ErrNoAddresses means there was nothing to try: the name has no address
// of a family the network allows.
var ErrNoAddresses = errors.New("no addresses to dial")

// ErrTooManyAddrs means DialAddrs was given more than [MaxDialAddrs]
// addresses.
var ErrTooManyAddrs = errors.New("too many addresses to dial")

// AttemptError is the failure of one connection attempt.
type AttemptError struct {
	Addr netip.AddrPort // the address and port dialled
	Err  error          // the cause, as the dialer returned it
}

// Error formats the attempt as "addr:port: cause".
func (e *AttemptError) Error() string { return e.Addr.String() + ": " + e.Err.Error() }

// Unwrap returns the attempt's cause.
func (e *AttemptError) Unwrap() error { return e.Err }

// LookupError is the failure of one address lookup (Network "ip4" or
// "ip6").
type LookupError struct {
	Network, Host string // "ip4" or "ip6", and the name looked up
	Err           error  // the resolver's error
}

// Error names the lookup and its cause.
func (e *LookupError) Error() string {
	return "lookup " + e.Network + " " + e.Host + ": " + e.Err.Error()
}

// Unwrap returns the resolver's error.
func (e *LookupError) Unwrap() error { return e.Err }

// DialError reports a dial in which no attempt succeeded. errors.Is and
// errors.As look into every member: the attempts, the lookups and Err.
type DialError struct {
	// Network and Address are the arguments of the dial.
	Network, Address string
	// Attempts lists the failed attempts in the order they started.
	Attempts []*AttemptError
	// Lookups lists the failed lookups.
	Lookups []*LookupError
	// Err is why the dial stopped before every address failed, if it
	// did: the context's error, ErrNoAddresses or ErrTooManyAddrs. Nil
	// when every address was tried and failed.
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
	b.WriteString(" ")
	b.WriteString(e.Address)
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
		s, err := r.src.Source(ctx, a)
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
	fail := func(err error) (net.Conn, error) {
		r.dErr.Err = err
		e := r.dErr
		return nil, &e
	}
	if err := r.add(ctx, addrs); err != nil {
		return fail(err)
	}
	dial := d.Dial
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}

	attemptCtx, cancelAttempts := context.WithCancel(ctx)
	defer cancelAttempts()
	results := make(chan attemptResult)
	inflight := 0
	defer func() {
		// Losers: wait for them in the background and close what they
		// still connect (RFC 8305 section 5).
		if inflight > 0 {
			n := inflight
			go func() {
				for range n {
					if res := <-results; res.conn != nil {
						res.conn.Close()
					}
				}
			}()
		}
	}()

	// Readiness (RFC 8305 section 3): with nothing to resolve, at once;
	// else when AAAA answers with addresses, when both have answered, or
	// when A has answered and the resolution delay has passed.
	ready := answers == nil
	var gotV4, gotV6 bool
	var resDelay *time.Timer
	var resDelayC <-chan time.Time
	defer func() {
		if resDelay != nil {
			resDelay.Stop()
		}
	}()
	wantV6 := r.v6 && answers != nil

	attemptTimer := time.NewTimer(time.Hour)
	attemptTimer.Stop()
	defer attemptTimer.Stop()
	var attemptC <-chan time.Time
	canStart := true
	var lastStart time.Time

	for {
		if ready && canStart && len(r.order) > 0 {
			a := netip.AddrPortFrom(r.next(), port)
			inflight++
			go func() {
				c, err := dial(attemptCtx, network, a.String())
				results <- attemptResult{addr: a, conn: c, err: err}
			}()
			canStart = false
			lastStart = time.Now()
			attemptTimer.Reset(d.attemptDelay())
			attemptC = attemptTimer.C
		}
		if inflight == 0 && pending == 0 && len(r.order) == 0 {
			if len(r.dErr.Attempts) == 0 {
				return fail(ErrNoAddresses)
			}
			return fail(nil)
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case ans := <-answers:
			pending--
			if ans.err != nil {
				r.dErr.Lookups = append(r.dErr.Lookups, &LookupError{Network: ans.network, Host: ans.host, Err: ans.err})
			}
			if err := r.add(ctx, ans.addrs); err != nil {
				return fail(err)
			}
			if ans.v6 {
				gotV6 = true
			} else {
				gotV4 = true
			}
			switch {
			case ready:
				// Late answers were merged into the untried list
				// (RFC 8305 section 6).
			case ans.v6 && len(ans.addrs) > 0, pending == 0, !wantV6 || gotV6:
				ready = true
			case gotV4 && len(r.order) > 0:
				// A first: wait up to the resolution delay for AAAA.
				if rd := d.resolutionDelay(); rd <= 0 {
					ready = true
				} else if resDelay == nil {
					resDelay = time.NewTimer(rd)
					resDelayC = resDelay.C
				}
			}
		case <-resDelayC:
			resDelayC = nil
			ready = true
		case <-attemptC:
			attemptC = nil
			canStart = true
		case res := <-results:
			inflight--
			if res.err == nil {
				return res.conn, nil
			}
			r.dErr.Attempts = append(r.dErr.Attempts, &AttemptError{Addr: res.addr, Err: res.err})
			// A failed attempt lets the next start at once, but never
			// within 10 ms of the previous start (RFC 8305 section 5).
			if wait := MinAttemptDelay - time.Since(lastStart); wait > 0 {
				attemptTimer.Reset(wait)
				attemptC = attemptTimer.C
			} else {
				canStart = true
			}
		}
	}
}
