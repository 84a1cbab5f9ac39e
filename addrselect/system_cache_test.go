package addrselect

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for the cache tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestDestCacheExpiry(t *testing.T) {
	var c destCache
	c.init(4)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dst := mustAddr("2001:db8::1")
	src := Source{Addr: mustAddr("2001:db8::5"), PrefixLen: 64, Interface: "eth0"}
	c.put(dst, false, src, t0)
	tests := []struct {
		at   time.Duration
		ttl  time.Duration
		want bool
	}{
		{0, time.Second, true},
		{999 * time.Millisecond, time.Second, true},
		{time.Second, time.Second, false}, // exactly the TTL: stale
		{2 * time.Second, time.Second, false},
		{100 * time.Millisecond, 100 * time.Millisecond, false},
		{99 * time.Millisecond, 100 * time.Millisecond, true},
		{-time.Millisecond, time.Second, false}, // clock went back: not trusted
	}
	for _, tt := range tests {
		got, ok := c.get(dst, false, t0.Add(tt.at), tt.ttl)
		if ok != tt.want || ok && got != src {
			t.Errorf("get at %v, ttl %v = %+v, %v; want hit %v", tt.at, tt.ttl, got, ok, tt.want)
		}
	}
	if _, ok := c.get(mustAddr("2001:db8::2"), false, t0, time.Second); ok {
		t.Errorf("get of an address never put: hit")
	}
	if _, ok := c.get(mustAddr("2001:db8::1%eth0"), false, t0, time.Second); ok {
		t.Errorf("get of the address with a zone: hit; the zone is part of the destination")
	}
	// An answer to a request for a public source is another entry.
	if _, ok := c.get(dst, true, t0, time.Second); ok {
		t.Errorf("get of the public-source answer: hit; only the default answer was put")
	}
	pub := Source{Addr: mustAddr("2001:db8::6"), PrefixLen: 64, Interface: "eth0"}
	c.put(dst, true, pub, t0)
	if got, ok := c.get(dst, true, t0, time.Second); !ok || got != pub {
		t.Errorf("get(public) = %+v, %v; want %+v", got, ok, pub)
	}
	if got, ok := c.get(dst, false, t0, time.Second); !ok || got != src {
		t.Errorf("get(default) after put(public) = %+v, %v; want %+v", got, ok, src)
	}
}

func TestDestCacheBounds(t *testing.T) {
	for _, tt := range []struct{ size, want int }{{1, 1}, {0, 1}, {-3, 1}, {3, 3}, {8, 8}, {10, 8}, {1 << 20, maxCacheSize}} {
		var c destCache
		c.init(tt.size)
		if len(c.slots) != tt.want {
			t.Errorf("init(%d): %d entries; want %d", tt.size, len(c.slots), tt.want)
		}
	}
	var c destCache
	c.init(8)
	t0 := time.Unix(1000, 0)
	srcOf := func(i int) Source { return Source{Addr: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})} }
	dstOf := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}) }
	for i := range 200 {
		c.put(dstOf(i), false, srcOf(i), t0.Add(time.Duration(i)*time.Microsecond))
	}
	now := t0.Add(time.Millisecond)
	if len(c.slots) != 8 {
		t.Fatalf("%d entries after 200 puts; want 8", len(c.slots))
	}
	hits := 0
	for i := range 200 {
		got, ok := c.get(dstOf(i), false, now, time.Second)
		if !ok {
			continue
		}
		hits++
		if got != srcOf(i) {
			t.Errorf("get(%v) = %v; want %v (an entry answered for another destination)", dstOf(i), got.Addr, srcOf(i).Addr)
		}
	}
	if hits != 8 {
		t.Errorf("%d hits among 200 destinations; want 8 (a full cache of 8 entries)", hits)
	}
	// A set holds cacheWays destinations: the last ones put in the set of
	// the last destination are all there, the oldest is evicted first.
	var same []int
	for i := range 200 {
		if &c.set(dstOf(i))[0] == &c.set(dstOf(199))[0] {
			same = append(same, i)
		}
	}
	if len(same) <= cacheWays {
		t.Fatalf("only %d destinations share a set; the test needs more", len(same))
	}
	for k, i := range same {
		_, ok := c.get(dstOf(i), false, now, time.Second)
		if want := k >= len(same)-cacheWays; ok != want {
			t.Errorf("get(%v), %d-th of %d in its set: hit %v; want %v", dstOf(i), k+1, len(same), ok, want)
		}
	}
	// The last destination put is always there.
	if got, ok := c.get(dstOf(199), false, now, time.Second); !ok || got != srcOf(199) {
		t.Errorf("get(last) = %v, %v; want %v", got, ok, srcOf(199))
	}
}

func TestSystemCacheTTL(t *testing.T) {
	for _, tt := range []struct{ in, want time.Duration }{
		{0, time.Second}, {-time.Second, time.Second}, {2 * time.Second, time.Second},
		{300 * time.Millisecond, 300 * time.Millisecond}, {time.Second, time.Second},
	} {
		if got := (&System{CacheTTL: tt.in}).cacheTTL(); got != tt.want {
			t.Errorf("CacheTTL %v: effective %v; want %v", tt.in, got, tt.want)
		}
	}
}

// loopback4 skips the test when 127.0.0.1 cannot be bound (no loopback
// interface in this sandbox).
func loopback4(t *testing.T) netip.Addr {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Skipf("no IPv4 loopback here (listen on 127.0.0.1: %v)", err)
	}
	c.Close()
	return mustAddr("127.0.0.1")
}

func TestSystemSourceCached(t *testing.T) {
	lo := loopback4(t)
	clk := &fakeClock{t: time.Unix(5000, 0)}
	sys := &System{CacheSize: 4, CacheTTL: 200 * time.Millisecond, now: clk.now}
	defer sys.Close()
	ctx := context.Background()
	dst := mustAddr("127.0.0.9")
	want, err := sys.Source(ctx, dst)
	if err != nil || want.Addr != lo {
		t.Fatalf("Source(%v) = %+v, %v; want source %v", dst, want, err, lo)
	}
	if got, ok := sys.cache.get(dst, false, clk.now(), time.Second); !ok || got != want {
		t.Fatalf("cache after Source: %+v, %v; want %+v", got, ok, want)
	}
	// An IPv4-mapped destination is the same destination.
	if got, err := sys.Source(ctx, mustAddr("::ffff:127.0.0.9")); err != nil || got != want {
		t.Errorf("Source(mapped) = %+v, %v; want %+v", got, err, want)
	}
	// Plant a different answer: a hit returns it, so the kernel was not
	// asked; once the TTL has passed the kernel's answer is back.
	planted := Source{Addr: mustAddr("127.0.0.77"), PrefixLen: 8}
	sys.cache.put(dst, false, planted, clk.now())
	clk.advance(199 * time.Millisecond)
	if got, _ := sys.Source(ctx, dst); got != planted {
		t.Errorf("Source within the TTL = %+v; want the cached %+v", got, planted)
	}
	clk.advance(time.Millisecond)
	if got, _ := sys.Source(ctx, dst); got != want {
		t.Errorf("Source after the TTL = %+v; want the kernel's %+v", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = sys.Source(ctx, dst) }); n != 0 {
		t.Errorf("cached Source: %v allocs; want 0", n)
	}
	// A cancelled context is an error, whatever the cache holds.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sys.Source(cctx, dst); err == nil {
		t.Errorf("Source with a cancelled context: nil error")
	}
}

func TestSystemCacheUncachedByDefault(t *testing.T) {
	loopback4(t)
	var sys System
	defer sys.Close()
	if _, err := sys.Source(context.Background(), mustAddr("127.0.0.9")); err != nil {
		t.Fatal(err)
	}
	if sys.cache.slots != nil {
		t.Errorf("the zero System made a cache of %d entries; want none", len(sys.cache.slots))
	}
}

func TestSystemCacheConcurrent(t *testing.T) {
	loopback4(t)
	sys := &System{CacheSize: 4}
	defer sys.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				dst := netip.AddrFrom4([4]byte{127, 0, byte(g), byte(i%7 + 1)})
				src, err := sys.Source(context.Background(), dst)
				if err == nil && !src.Addr.IsLoopback() {
					err = fmt.Errorf("Source(%v) = %v; want a loopback source", dst, src.Addr)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSelectorPublicSrc checks the compiled answer of source rule 7 that
// a System passes on, per Selector, also when Selectors alternate.
func TestSelectorPublicSrc(t *testing.T) {
	pub, def := RFC6724(WithPreferPublic(true)), RFC6724()
	tests := []struct {
		name string
		sel  *Selector
		want bool
	}{
		{"nil", nil, false},
		{"public", pub, true},
		{"default", def, false},
		{"public-again", pub, true},
		{"default-again", def, false},
		{"other-public", RFC3484(WithPreferPublic(true)), true},
		{"first-public-forgotten", pub, true},
		{"glibc", Glibc(), false},
	}
	for _, tt := range tests {
		if got := tt.sel.orZero().preferPublic; got != tt.want {
			t.Errorf("%s: preferPublic = %v; want %v", tt.name, got, tt.want)
		}
	}
}
