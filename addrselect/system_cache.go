package addrselect

import (
	"hash/fnv"
	"net/netip"
	"sync"
	"time"
)

// maxCacheSize bounds System.CacheSize.
const maxCacheSize = 1 << 16

// destCache is a System's optional per-destination answer cache (RFC
// 6724 section 8 allows state up to one second old): a hash of the
// destination picks a set of cacheWays entries, where a new answer
// replaces the same destination's entry, else an empty one, else the
// oldest. Readers copy the entry out under a read lock: no allocation.
type destCache struct {
	once  sync.Once
	mu    sync.RWMutex
	slots []destSlot // sets of ways consecutive entries
	ways  int
}

const cacheWays = 4 // entries per set

type destSlot struct {
	dst netip.Addr // the zero Addr: an empty entry
	pub bool       // the answer to a request for a public source
	src Source
	at  time.Time // when the answer was asked for
}

// init makes the table on first use: size entries (1 to maxCacheSize),
// rounded down to a whole number of sets.
func (c *destCache) init(size int) {
	c.once.Do(func() {
		size = min(max(size, 1), maxCacheSize)
		c.ways = min(size, cacheWays)
		c.slots = make([]destSlot, size-size%c.ways)
	})
}

// set returns dst's set of entries.
func (c *destCache) set(dst netip.Addr) []destSlot {
	b := dst.As16()
	f := fnv.New64a() // inlined: no allocation (TestSortIntoAllocs)
	f.Write(b[:])
	h := f.Sum64()
	i := int(h%uint64(len(c.slots)/c.ways)) * c.ways
	return c.slots[i : i+c.ways]
}

// get returns the answer cached for dst (with pub, the request for a
// public source) if it was asked for less than ttl before now.
func (c *destCache) get(dst netip.Addr, pub bool, now time.Time, ttl time.Duration) (Source, bool) {
	set := c.set(dst)
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i := range set {
		e := &set[i]
		if e.dst == dst && e.pub == pub && now.Sub(e.at) < ttl && !now.Before(e.at) {
			return e.src, true
		}
	}
	return Source{}, false
}

// put stores the answer src for dst (and pub), asked for at time at.
func (c *destCache) put(dst netip.Addr, pub bool, src Source, at time.Time) {
	set := c.set(dst)
	c.mu.Lock()
	defer c.mu.Unlock()
	victim := 0
	for i := range set {
		if (set[i].dst == dst && set[i].pub == pub) || !set[i].dst.IsValid() {
			victim = i
			break
		}
		if set[i].at.Before(set[victim].at) {
			victim = i
		}
	}
	set[victim] = destSlot{dst: dst, pub: pub, src: src, at: at}
}

// cacheTTL is CacheTTL within (0, 1s], one second when it is not.
func (s *System) cacheTTL() time.Duration {
	if s.CacheTTL <= 0 || s.CacheTTL > time.Second {
		return time.Second
	}
	return s.CacheTTL
}

// clock returns the current time (tests replace it).
func (s *System) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}
