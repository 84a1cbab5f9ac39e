package policytable

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// benchAddrs is a fixed mix of the address kinds a resolver sorts.
var benchAddrs = []netip.Addr{
	netip.MustParseAddr("2001:db8::1"),
	netip.MustParseAddr("192.0.2.1"),
	netip.MustParseAddr("::1"),
	netip.MustParseAddr("2002:c000:204::1"),
	netip.MustParseAddr("2001:0:4136:e378:8000:63bf:3fff:fdd2"),
	netip.MustParseAddr("fd12:3456::1"),
	netip.MustParseAddr("fe80::1"),
	netip.MustParseAddr("2a00:1450:4001:82a::200e"),
}

// randomTable builds a deterministic table of n rows (plus ::/0) with
// prefixes of random lengths spread over the whole address space.
func randomTable(tb testing.TB, seed uint64, n int) *Table {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	seen := map[netip.Prefix]bool{}
	entries := []Entry{{mp("::/0"), 40, 1}}
	seen[mp("::/0")] = true
	for len(entries) < n+1 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		p := netip.PrefixFrom(netip.AddrFrom16(b), 1+r.IntN(128)).Masked()
		if seen[p] {
			continue
		}
		seen[p] = true
		entries = append(entries, Entry{p, uint8(r.Uint32()), uint8(r.Uint32())})
	}
	t, err := New(entries)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func benchLookup(b *testing.B, t *Table, addrs []netip.Addr) {
	b.ReportAllocs()
	var sink Attr
	mask := len(addrs) - 1
	i := 0
	for b.Loop() {
		sink = t.Lookup(addrs[i&mask])
		i++
	}
	_ = sink
}

func BenchmarkLookup(b *testing.B) {
	b.Run("rfc6724", func(b *testing.B) { benchLookup(b, RFC6724(), benchAddrs) })
	b.Run("glibc", func(b *testing.B) { benchLookup(b, Glibc(), benchAddrs) })
	big := randomTable(b, 42, 1000)
	// Addresses inside the table's prefixes, so the search reaches the
	// deep intervals, plus the fixed mix.
	addrs := make([]netip.Addr, 0, 1024)
	addrs = append(addrs, benchAddrs...)
	for _, e := range big.Entries() {
		if len(addrs) == cap(addrs) {
			break
		}
		addrs = append(addrs, e.Prefix.Addr())
	}
	for len(addrs) < cap(addrs) {
		addrs = append(addrs, benchAddrs[len(addrs)%len(benchAddrs)])
	}
	b.Run("random1000", func(b *testing.B) { benchLookup(b, big, addrs) })
	b.Run("linear-rfc6724", func(b *testing.B) {
		b.ReportAllocs()
		es := RFC6724().Entries()
		var sink uint8
		i := 0
		for b.Loop() {
			sink += slowLookupEntries(es, benchAddrs[i&(len(benchAddrs)-1)]).Precedence
			i++
		}
		_ = sink
	})
}

// BenchmarkScope measures Table.Scope, which addrselect calls for
// sources: the IPv4 rules and the IPv6 classification.
func BenchmarkScope(b *testing.B) { benchScope(b, benchAddrs, false) }

// classifyAddrs is the mix addrselect classifies most: global, ULA and
// link-local IPv6, and public, private and loopback IPv4.
var classifyAddrs = []netip.Addr{
	netip.MustParseAddr("2001:db8::1"),
	netip.MustParseAddr("192.0.2.1"),
	netip.MustParseAddr("2600::1"),
	netip.MustParseAddr("10.1.2.3"),
	netip.MustParseAddr("fd00::1"),
	netip.MustParseAddr("192.168.1.1"),
	netip.MustParseAddr("fe80::1"),
	netip.MustParseAddr("127.0.0.1"),
}

// BenchmarkClassify measures Table.Classify, which addrselect calls once
// per destination.
func BenchmarkClassify(b *testing.B) { benchScope(b, classifyAddrs, true) }

var (
	sinkAttr  Attr
	sinkScope Scope
)

// benchScope runs Scope, or Classify, over addrs (a power of two of
// them) on the RFC 6724 and RFC 3484 tables.
func benchScope(b *testing.B, addrs []netip.Addr, classify bool) {
	for _, tt := range []struct {
		name string
		t    *Table
	}{{"rfc6724", RFC6724()}, {"rfc3484", RFC3484()}} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				a := addrs[i&(len(addrs)-1)]
				if classify {
					sinkAttr, sinkScope = tt.t.Classify(a)
				} else {
					sinkScope = tt.t.Scope(a)
				}
				i++
			}
		})
	}
}
