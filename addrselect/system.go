package addrselect

import (
	"cmp"
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// System implements [Sources] for the running host: it asks the kernel
// which source it would use for a destination by connecting a UDP socket
// (no packet is sent) and reading the socket's local address, so routing,
// policy routing and the kernel's own RFC 6724 source selection all take
// part, as RFC 6724 section 8 suggests and Go, c-ares and glibc do.
//
// Beyond the address, System reports the prefix length and the interface
// (from [net.Interfaces]; on Linux from route netlink, RTM_GETADDR and
// IFA_FLAGS, with the flags deprecated, also for optimistic addresses as
// RFC 4429 asks, temporary and home, and Encapsulated for addresses on
// tunnel, SIT, GRE and point-to-point interfaces such as tun and
// WireGuard). Linux has no care-of flag.
//
// The address table is cached for at most one second, the staleness
// RFC 6724 section 8 allows. On Linux a System keeps a few UDP sockets
// per family open and re-uses them, so a lookup costs three system calls
// and does not allocate; [System.Close] releases them. Every
// [System.Source] asks the kernel, so a route change is seen at once,
// unless CacheSize keeps answers per destination for up to CacheTTL.
// [Selector.FindSource] passes the sorting Selector's choice of public
// addresses (source rule 7) on to the kernel.
//
// The zero System is ready to use: no per-destination cache, an address
// table at most one second old. A System must not be copied after first
// use. It is safe for concurrent use.
type System struct {
	// MaxAge bounds the age of the cached address table. Zero means one
	// second; values above one second are treated as one second (RFC 6724
	// section 8); a negative value disables the cache (every lookup reads
	// the table again).
	MaxAge time.Duration

	// CacheSize, when positive, enables the per-destination cache with
	// that many entries (at most 65536), in sets of four picked by a hash
	// of the destination; in a full set a new destination replaces the
	// oldest (which costs a system call, never a wrong answer). Zero or
	// negative: no cache (the default). Set it before first use.
	CacheSize int
	// CacheTTL bounds the age of a cached answer, counted from before the
	// kernel was asked. Zero, negative or above one second mean one
	// second. An error is never cached; an unusable destination is.
	CacheTTL time.Duration

	mu    sync.Mutex // serialises refreshes of snap
	snap  atomic.Pointer[sysSnapshot]
	os    sysOS
	cache destCache
	now   func() time.Time // the clock; nil means time.Now (tests replace it)

	pref64 pref64Learner // NAT64 prefixes from router advertisements
}

// defaultSystem answers for a nil Sources.
var defaultSystem = new(System)

// sysKey identifies an address in the table (see keyOf).
type sysKey struct {
	addr  netip.Addr // without zone
	index int        // interface index for link-local addresses, else 0
}

// sysSnapshot is the host's address table at one moment.
type sysSnapshot struct {
	at      time.Time
	addrs   map[sysKey]Source
	ifIndex map[string]int // interface name to index
}

// zoned reports whether a is an IPv6 link-local address, unique only
// with its interface (RFC 4007).
func zoned(a netip.Addr) bool { return a.Is6() && a.IsLinkLocalUnicast() }

// keyOf is the key of address a on the interface of the given index.
func keyOf(a netip.Addr, index int) sysKey {
	if !zoned(a) {
		index = 0
	}
	return sysKey{a, index}
}

// snapshot returns an address table no older than MaxAge, reading a new
// one when needed, or an empty one when it cannot be read.
func (s *System) snapshot() *sysSnapshot {
	maxAge := min(cmp.Or(s.MaxAge, time.Second), time.Second) // negative: no cache
	if sn := s.snap.Load(); sn != nil && maxAge > 0 && time.Since(sn.at) < maxAge {
		return sn
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sn := s.snap.Load(); sn != nil && maxAge > 0 && time.Since(sn.at) < maxAge {
		return sn // refreshed while we waited
	}
	start := time.Now()
	sn, err := loadSnapshot()
	if err != nil {
		// Bare addresses until this empty table is stale.
		sn = &sysSnapshot{addrs: map[sysKey]Source{}, ifIndex: map[string]int{}}
	}
	sn.at = start // age counts from before the read
	s.snap.Store(sn)
	return sn
}

// Source implements [Sources]: it returns the source address the kernel
// would use for dst, with the flags described at [System]. A destination
// the kernel has no route for (or refuses, like a link-local address
// without a zone) gives a zero Source and a nil error. An IPv4-mapped
// destination is treated as IPv4.
//
// On Linux, Source does not allocate once the address table is cached
// (except for zoned destinations); a cached answer (CacheSize) costs no
// system call.
func (s *System) Source(ctx context.Context, dst netip.Addr) (Source, error) {
	return s.sourceFor(ctx, nil, dst)
}

// sourceFor implements selectorSources: when sel prefers public
// addresses (source rule 7), the kernel is asked for a public IPv6
// source; see [Selector.FindSource].
func (s *System) sourceFor(ctx context.Context, sel *Selector, dst netip.Addr) (Source, error) {
	if err := ctx.Err(); err != nil {
		return Source{}, err
	}
	dst = dst.Unmap()
	if !dst.IsValid() || dst.IsUnspecified() {
		return Source{}, nil
	}
	pub := dst.Is6() && sel.orZero().preferPublic
	if s.CacheSize <= 0 {
		return s.ask(dst, pub)
	}
	s.cache.init(s.CacheSize)
	now := s.clock()
	if src, ok := s.cache.get(dst, pub, now, s.cacheTTL()); ok {
		return src, nil
	}
	src, err := s.ask(dst, pub)
	if err == nil {
		s.cache.put(dst, pub, src, now)
	}
	return src, err
}

// ask asks the kernel for the source of dst, public if pub, and
// completes it from the address table.
func (s *System) ask(dst netip.Addr, pub bool) (Source, error) {
	sn := s.snapshot()
	local, index, zone, err := s.os.probe(dst, sn, pub)
	if err != nil || !local.IsValid() {
		return Source{}, err
	}
	if zone != "" && index == 0 {
		index = sn.ifIndex[zone]
	}
	if src, ok := sn.addrs[keyOf(local, index)]; ok {
		return src, nil
	}
	return Source{Addr: local, Interface: zone}, nil
}

// Close releases the sockets the System keeps open. The System stays
// usable: a later lookup opens new sockets.
func (s *System) Close() error {
	s.pref64.close()
	return s.os.close()
}

// NAT64Prefixes returns the still valid NAT64 prefixes (RFC 8781 PREF64
// options) routers advertised on this host's links. The first call
// starts listening to the kernel's ND user options (Linux; elsewhere it
// returns nothing), so a prefix appears with the next router
// advertisement; [System.Close] stops listening.
func (s *System) NAT64Prefixes() []netip.Prefix { return s.pref64.prefixes(time.Now(), nil) }
