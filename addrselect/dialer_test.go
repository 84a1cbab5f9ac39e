package addrselect_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect"
)

var (
	v6a = netip.MustParseAddr("2001:db8:a::1")
	v6b = netip.MustParseAddr("2001:db8:a::2")
	v4a = netip.MustParseAddr("198.51.100.1")
	v4b = netip.MustParseAddr("198.51.100.2")
)

// dialHost has a source in each family, so RFC 6724 puts the IPv6
// destinations first (precedence 40 over 35, rule 6).
const dialHost = "2001:db8:1::100/64 dev eth0, 192.0.2.100/24 dev eth0; route v4 default dev eth0; route v6 default dev eth0"

// behaviour is what a fake attempt does.
type behaviour func(ctx context.Context) (net.Conn, error)

var errRefused = errors.New("fake: connection refused")

func hang(ctx context.Context) (net.Conn, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func refuse(context.Context) (net.Conn, error) { return nil, errRefused }

// connectAfter succeeds after d, whether or not the attempt is cancelled
// (as a handshake that completes while being abandoned).
func connectAfter(d time.Duration, f *fakeNet) behaviour {
	return func(ctx context.Context) (net.Conn, error) {
		time.Sleep(d)
		return f.newConn(), nil
	}
}

type fakeAttempt struct {
	addr netip.Addr
	at   time.Duration
}

// fakeNet is a Dial func that records the order and time of attempts
// and acts per address.
type fakeNet struct {
	t      *testing.T
	start  time.Time
	behave map[netip.Addr]behaviour

	mu        sync.Mutex
	attempts  []fakeAttempt
	conns     []*fakeConn
	cancelled atomic.Int32
}

func newFakeNet(t *testing.T, behave map[netip.Addr]behaviour) *fakeNet {
	if behave == nil {
		behave = make(map[netip.Addr]behaviour)
	}
	return &fakeNet{t: t, start: time.Now(), behave: behave}
}

type fakeConn struct {
	net.Conn
	closed atomic.Bool
}

func (c *fakeConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

func (f *fakeNet) newConn() *fakeConn {
	a, b := net.Pipe()
	b.Close()
	c := &fakeConn{Conn: a}
	f.mu.Lock()
	f.conns = append(f.conns, c)
	f.mu.Unlock()
	return c
}

func (f *fakeNet) dial(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		f.t.Errorf("Dial got %q; want a literal addr:port", address)
		return nil, err
	}
	if ap.Port() != 25 {
		f.t.Errorf("Dial got port %d; want 25", ap.Port())
	}
	f.mu.Lock()
	f.attempts = append(f.attempts, fakeAttempt{ap.Addr(), time.Since(f.start)})
	f.mu.Unlock()
	b := f.behave[ap.Addr()]
	if b == nil {
		b = refuse
	}
	c, err := b(ctx)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		f.cancelled.Add(1)
	}
	return c, err
}

func (f *fakeNet) order() []netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []netip.Addr
	for _, a := range f.attempts {
		out = append(out, a.addr)
	}
	return out
}

func (f *fakeNet) times() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Duration
	for _, a := range f.attempts {
		out = append(out, a.at)
	}
	return out
}

// eventually polls cond for up to a second.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 100 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("timed out waiting for: %s", what)
}

func TestDialerInterleaveAndStagger(t *testing.T) {
	f := newFakeNet(t, map[netip.Addr]behaviour{v6a: hang, v6b: hang, v4a: hang})
	f.behave[v4b] = connectAfter(0, f)
	d := &addrselect.Dialer{Sources: mustHost(t, dialHost), AttemptDelay: 20 * time.Millisecond, Dial: f.dial}
	c, err := d.DialAddrs(context.Background(), "tcp", []netip.Addr{v4a, v4b, v6a, v6b}, 25)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// RFC 6724 puts IPv6 first; RFC 8305 section 4 interleaves.
	want := []netip.Addr{v6a, v4a, v6b, v4b}
	if got := f.order(); !slices.Equal(got, want) {
		t.Fatalf("attempt order = %v; want %v", got, want)
	}
	ts := f.times()
	for i := 1; i < len(ts); i++ {
		if gap := ts[i] - ts[i-1]; gap < 15*time.Millisecond {
			t.Errorf("attempt %d started %v after the previous; want about the 20ms attempt delay", i, gap)
		}
	}
	if c.(*fakeConn) != f.conns[0] {
		t.Errorf("DialAddrs returned a connection the winner did not make")
	}
	// The three hanging attempts are cancelled once v4b wins.
	eventually(t, "losers cancelled", func() bool { return f.cancelled.Load() == 3 })
}

func TestDialerFirstFamilyCountAndFallback(t *testing.T) {
	f := newFakeNet(t, nil) // everything refuses at once
	d := &addrselect.Dialer{Sources: mustHost(t, dialHost), AttemptDelay: time.Second, FirstFamilyCount: 2, Dial: f.dial}
	start := time.Now()
	_, err := d.DialAddrs(context.Background(), "tcp", []netip.Addr{v4a, v4b, v6a, v6b}, 25)
	elapsed := time.Since(start)
	want := []netip.Addr{v6a, v6b, v4a, v4b}
	if got := f.order(); !slices.Equal(got, want) {
		t.Fatalf("attempt order = %v; want %v (First Address Family Count 2)", got, want)
	}
	// A failed attempt starts the next at once: no 1s attempt delay, but
	// not within 10ms of the previous start (RFC 8305 section 5).
	if elapsed > 500*time.Millisecond {
		t.Errorf("four refused attempts took %v; want no waiting for the attempt delay", elapsed)
	}
	ts := f.times()
	for i := 1; i < len(ts); i++ {
		// The gap is measured inside the attempts' goroutines, which
		// may start late: allow some slack below 10ms.
		if gap := ts[i] - ts[i-1]; gap < 6*time.Millisecond {
			t.Errorf("attempt %d started %v after the previous; want at least 10ms", i, gap)
		}
	}
	var de *addrselect.DialError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v; want *DialError", err)
	}
	if de.Err != nil || len(de.Attempts) != 4 {
		t.Fatalf("DialError = %+v; want 4 attempts and no Err", de)
	}
	for i, a := range de.Attempts {
		if a.Addr != netip.AddrPortFrom(want[i], 25) || !errors.Is(a, errRefused) {
			t.Errorf("attempt %d = %v; want %v refused", i, a, want[i])
		}
	}
	if !errors.Is(err, errRefused) {
		t.Errorf("errors.Is(err, errRefused) = false; want the members visible")
	}
	var ae *addrselect.AttemptError
	if !errors.As(err, &ae) || ae.Addr.Addr() != v6a {
		t.Errorf("errors.As(err, *AttemptError) = %v; want the first attempt (%v)", ae, v6a)
	}
}

func TestDialerLoserConnectionClosed(t *testing.T) {
	f := newFakeNet(t, nil)
	f.behave[v6a] = connectAfter(40*time.Millisecond, f)
	f.behave[v4a] = connectAfter(30*time.Millisecond, f)
	d := &addrselect.Dialer{Sources: mustHost(t, dialHost), AttemptDelay: 10 * time.Millisecond, Dial: f.dial}
	c, err := d.DialAddrs(context.Background(), "tcp", []netip.Addr{v6a, v4a}, 25)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "both attempts connected", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.conns) == 2
	})
	f.mu.Lock()
	conns := slices.Clone(f.conns)
	f.mu.Unlock()
	var winner, loser *fakeConn
	for _, fc := range conns {
		if fc == c.(*fakeConn) {
			winner = fc
		} else {
			loser = fc
		}
	}
	if winner == nil || loser == nil {
		t.Fatalf("returned conn is not one of the two made")
	}
	eventually(t, "the losing connection closed", loser.closed.Load)
	if winner.closed.Load() {
		t.Errorf("the winning connection was closed")
	}
	c.Close()
}

func TestDialerCancel(t *testing.T) {
	f := newFakeNet(t, map[netip.Addr]behaviour{v6a: hang, v4a: hang})
	d := &addrselect.Dialer{Sources: mustHost(t, dialHost), AttemptDelay: 10 * time.Millisecond, Dial: f.dial}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := d.DialAddrs(ctx, "tcp", []netip.Addr{v6a, v4a}, 25)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Errorf("returned after %v; want soon after the 40ms deadline", el)
	}
	if got := f.order(); !slices.Equal(got, []netip.Addr{v6a, v4a}) {
		t.Errorf("attempts = %v; want %v then %v", got, v6a, v4a)
	}
	eventually(t, "attempts cancelled", func() bool { return f.cancelled.Load() == 2 })
}

// fakeResolver answers each family after a delay, with addresses or an
// error.
type fakeResolver struct {
	delay   map[string]time.Duration // "ip4", "ip6"
	answers map[string][]netip.Addr
	errs    map[string]error

	mu      sync.Mutex
	queries []string
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	r.queries = append(r.queries, network)
	r.mu.Unlock()
	select {
	case <-time.After(r.delay[network]):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := r.errs[network]; err != nil {
		return nil, err
	}
	return r.answers[network], nil
}

var errNXDomain = errors.New("fake: no such host")

func TestDialerResolution(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name      string
		delay4    time.Duration
		delay6    time.Duration
		answers4  []netip.Addr
		err6      error
		resDelay  time.Duration
		behave    map[netip.Addr]string // "hang", "ok"; default refuse
		wantOrder []netip.Addr
		// wantFirstAfter/Before bound the start of the first attempt,
		// wantSecondAfter the second's.
		wantFirstAfter, wantFirstBefore, wantSecondAfter time.Duration
	}{
		{
			name: "aaaa-within-resolution-delay", delay4: 0, delay6: ms(20), answers4: []netip.Addr{v4a},
			resDelay: ms(80), behave: map[netip.Addr]string{v6a: "ok"},
			wantOrder: []netip.Addr{v6a}, wantFirstAfter: ms(15), wantFirstBefore: ms(70),
		},
		{
			name: "aaaa-late-is-merged", delay4: 0, delay6: ms(100), answers4: []netip.Addr{v4a},
			resDelay: ms(20), behave: map[netip.Addr]string{v4a: "hang", v6a: "ok"},
			wantOrder: []netip.Addr{v4a, v6a}, wantFirstAfter: ms(15), wantFirstBefore: ms(90), wantSecondAfter: ms(95),
		},
		{
			name: "aaaa-first-starts-at-once", delay4: ms(80), delay6: 0, answers4: []netip.Addr{v4a},
			resDelay: ms(50), behave: map[netip.Addr]string{v6a: "hang", v4a: "ok"},
			wantOrder: []netip.Addr{v6a, v4a}, wantFirstBefore: ms(40), wantSecondAfter: ms(75),
		},
		{
			name: "empty-a-first-waits-for-aaaa", delay4: 0, delay6: ms(60), answers4: nil,
			resDelay: ms(10), behave: map[netip.Addr]string{v6a: "ok"},
			wantOrder: []netip.Addr{v6a}, wantFirstAfter: ms(55),
		},
		{
			name: "aaaa-error-uses-a", delay4: ms(20), delay6: 0, answers4: []netip.Addr{v4a}, err6: errNXDomain,
			resDelay: ms(50), behave: map[netip.Addr]string{v4a: "ok"},
			wantOrder: []netip.Addr{v4a}, wantFirstAfter: ms(15), wantFirstBefore: ms(60),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeNet(t, map[netip.Addr]behaviour{})
			for a, b := range tt.behave {
				switch b {
				case "hang":
					f.behave[a] = hang
				case "ok":
					f.behave[a] = connectAfter(0, f)
				}
			}
			r := &fakeResolver{
				delay:   map[string]time.Duration{"ip4": tt.delay4, "ip6": tt.delay6},
				answers: map[string][]netip.Addr{"ip4": tt.answers4, "ip6": {v6a}},
				errs:    map[string]error{"ip6": tt.err6},
			}
			d := &addrselect.Dialer{Sources: mustHost(t, dialHost), Resolver: r, ResolutionDelay: tt.resDelay,
				AttemptDelay: ms(10), Dial: f.dial}
			c, err := d.DialContext(context.Background(), "tcp", "mx.example:25")
			if err != nil {
				t.Fatalf("DialContext: %v", err)
			}
			c.Close()
			if got := f.order(); !slices.Equal(got, tt.wantOrder) {
				t.Fatalf("attempt order = %v; want %v", got, tt.wantOrder)
			}
			ts := f.times()
			if ts[0] < tt.wantFirstAfter || (tt.wantFirstBefore > 0 && ts[0] > tt.wantFirstBefore) {
				t.Errorf("first attempt at %v; want in [%v, %v]", ts[0], tt.wantFirstAfter, tt.wantFirstBefore)
			}
			if len(ts) > 1 && ts[1] < tt.wantSecondAfter {
				t.Errorf("second attempt at %v; want after %v", ts[1], tt.wantSecondAfter)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.queries) != 2 || r.queries[0] != "ip6" && r.queries[1] != "ip6" {
				t.Errorf("queries = %v; want ip6 and ip4", r.queries)
			}
		})
	}
}

func TestDialerLookupFailure(t *testing.T) {
	r := &fakeResolver{errs: map[string]error{"ip4": errNXDomain, "ip6": errNXDomain}}
	f := newFakeNet(t, nil)
	d := &addrselect.Dialer{Sources: mustHost(t, dialHost), Resolver: r, Dial: f.dial}
	_, err := d.DialContext(context.Background(), "tcp", "nx.example:25")
	var de *addrselect.DialError
	if !errors.As(err, &de) || !errors.Is(err, addrselect.ErrNoAddresses) || !errors.Is(err, errNXDomain) {
		t.Fatalf("err = %v; want a *DialError with ErrNoAddresses and the lookup errors", err)
	}
	if len(de.Lookups) != 2 || len(de.Attempts) != 0 || de.Address != "nx.example:25" {
		t.Errorf("DialError = %+v; want 2 lookup errors, no attempts", de)
	}
	if len(f.order()) != 0 {
		t.Errorf("attempts = %v; want none", f.order())
	}
}

func TestDialerNetworkFamily(t *testing.T) {
	r := &fakeResolver{answers: map[string][]netip.Addr{"ip4": {v4a}, "ip6": {v6a}}}
	f := newFakeNet(t, nil)
	d := &addrselect.Dialer{Sources: mustHost(t, dialHost), Resolver: r, Dial: f.dial}
	_, err := d.DialContext(context.Background(), "tcp4", "mx.example:25")
	if !errors.Is(err, errRefused) {
		t.Fatalf("err = %v; want the refused attempt", err)
	}
	if got := f.order(); !slices.Equal(got, []netip.Addr{v4a}) {
		t.Errorf("tcp4 attempts = %v; want only %v", got, v4a)
	}
	if !slices.Equal(r.queries, []string{"ip4"}) {
		t.Errorf("tcp4 queries = %v; want only ip4", r.queries)
	}
	f2 := newFakeNet(t, nil)
	d.Dial = f2.dial
	d.DialAddrs(context.Background(), "tcp6", []netip.Addr{v4a, v6b, v4b}, 25)
	if got := f2.order(); !slices.Equal(got, []netip.Addr{v6b}) {
		t.Errorf("tcp6 attempts = %v; want only %v", got, v6b)
	}
	// Nothing of the allowed family.
	_, err = d.DialAddrs(context.Background(), "tcp6", []netip.Addr{v4a}, 25)
	if !errors.Is(err, addrselect.ErrNoAddresses) {
		t.Errorf("tcp6 with IPv4 addresses only: %v; want ErrNoAddresses", err)
	}
	// Bad address syntax.
	_, err = d.DialContext(context.Background(), "tcp", "no-port")
	var de *addrselect.DialError
	if !errors.As(err, &de) {
		t.Errorf("DialContext(no-port) = %v; want *DialError", err)
	}
}

// listenBoth listens on ::1 and 127.0.0.1 on one port.
func listenBoth(t *testing.T) (l6, l4 net.Listener, port uint16) {
	t.Helper()
	if !loopbackUp(netip.MustParseAddr("::1")) || !loopbackUp(netip.MustParseAddr("127.0.0.1")) {
		t.Skip("needs both ::1 and 127.0.0.1 configured")
	}
	for range 20 {
		l6, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			t.Fatal(err)
		}
		port := uint16(l6.Addr().(*net.TCPAddr).Port)
		l4, err := net.Listen("tcp4", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String())
		if err == nil {
			return l6, l4, port
		}
		l6.Close()
	}
	// Twenty ports in a row taken on 127.0.0.1 is not chance: fail, do
	// not skip quietly.
	t.Fatal("no port free on both loopback addresses after 20 tries")
	return nil, nil, 0
}

func TestDialerLoopback(t *testing.T) {
	l6, l4, port := listenBoth(t)
	defer l4.Close()
	r := &fakeResolver{answers: map[string][]netip.Addr{
		"ip4": {netip.MustParseAddr("127.0.0.1")},
		"ip6": {netip.MustParseAddr("::1")},
	}}
	// Real sockets, real sources (System), real dialing.
	d := &addrselect.Dialer{Resolver: r, AttemptDelay: 50 * time.Millisecond}
	addr := net.JoinHostPort("loopback.test", itoa(port))
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr(); got != netip.MustParseAddr("::1") {
		t.Errorf("connected to %v; want ::1 (RFC 6724 precedence 50 over 35)", got)
	}
	c.Close()

	// ::1 refuses: the fallback to 127.0.0.1 is immediate.
	l6.Close()
	start := time.Now()
	c, err = d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr(); got != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("connected to %v; want 127.0.0.1 after ::1 refused", got)
	}
	if el := time.Since(start); el > 45*time.Millisecond {
		t.Logf("fallback took %v (refusal should start the next attempt at once)", el)
	}
	c.Close()

	// The zero Dialer with a literal.
	var zero addrselect.Dialer
	c, err = zero.DialContext(context.Background(), "tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	// The zero Dialer with a name, through net.DefaultResolver: only
	// 127.0.0.1 still listens.
	// (LookupNetIP may answer IPv4-mapped addresses; the Dialer unmaps.)
	addrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip4", "localhost")
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	if err != nil || !slices.Contains(addrs, netip.MustParseAddr("127.0.0.1")) {
		t.Logf("skipping the name case: localhost does not resolve to 127.0.0.1 here (%v, %v)", addrs, err)
		return
	}
	c, err = zero.DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr(); got != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("zero Dialer to localhost connected to %v; want 127.0.0.1", got)
	}
	c.Close()
}

func itoa(p uint16) string {
	return netip.AddrPortFrom(netip.IPv4Unspecified(), p).String()[len("0.0.0.0:"):]
}

// TestDialerLateAnswerSorted: a late AAAA answer is sorted into the
// untried addresses (RFC 8305 section 6), so the next attempt is the
// IPv6 address, ahead of the untried second IPv4 address.
func TestDialerLateAnswerSorted(t *testing.T) {
	f := newFakeNet(t, map[netip.Addr]behaviour{v4a: hang, v4b: hang})
	f.behave[v6a] = connectAfter(0, f)
	r := &fakeResolver{
		delay:   map[string]time.Duration{"ip4": 0, "ip6": 40 * time.Millisecond},
		answers: map[string][]netip.Addr{"ip4": {v4a, v4b}, "ip6": {v6a, v4a}}, // a repeated address is not tried twice
	}
	d := &addrselect.Dialer{Sources: mustHost(t, dialHost), Resolver: r, ResolutionDelay: 10 * time.Millisecond,
		AttemptDelay: 70 * time.Millisecond, Dial: f.dial}
	c, err := d.DialContext(context.Background(), "tcp", "mx.example:25")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got, want := f.order(), []netip.Addr{v4a, v6a}; !slices.Equal(got, want) {
		t.Fatalf("attempt order = %v; want %v", got, want)
	}
	if ts := f.times(); ts[1] < 60*time.Millisecond {
		t.Errorf("second attempt at %v; want after the 70ms attempt delay", ts[1])
	}
}

func TestDialerBounds(t *testing.T) {
	many := make([]netip.Addr, addrselect.MaxDialAddrs+1)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
	}
	f := newFakeNet(t, nil)
	d := &addrselect.Dialer{Sources: mustHost(t, dialHost), AttemptDelay: time.Millisecond, Dial: f.dial}
	if _, err := d.DialAddrs(context.Background(), "tcp", many, 25); !errors.Is(err, addrselect.ErrTooManyAddrs) {
		t.Errorf("DialAddrs(%d addresses) = %v; want ErrTooManyAddrs", len(many), err)
	}
	if len(f.order()) != 0 {
		t.Errorf("attempts were made: %v", f.order())
	}
	// A resolver answering too much: the excess is ignored and counted.
	r := &fakeResolver{answers: map[string][]netip.Addr{"ip4": many[:40], "ip6": nil}}
	for i := range 40 {
		r.answers["ip6"] = append(r.answers["ip6"], netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}))
	}
	d.Resolver = r
	// Every attempt hangs; the deadline ends the dial quickly.
	for _, a := range slices.Concat(r.answers["ip4"], r.answers["ip6"]) {
		f.behave[a] = hang
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := d.DialContext(ctx, "tcp", "big.example:25")
	var de *addrselect.DialError
	if !errors.As(err, &de) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want *DialError with the deadline", err)
	}
	if de.Ignored != 80-addrselect.MaxDialAddrs {
		t.Errorf("%v: ignored %d; want %d", err, de.Ignored, 80-addrselect.MaxDialAddrs)
	}
}
