package addrselect

import (
	"fmt"
	"math/bits"
	"net/netip"

	"github.com/dualstack/dualstack/policytable"
)

// Glibc returns a Selector that orders destinations exactly as glibc's
// getaddrinfo (sysdeps/posix/getaddrinfo.c, rfc3484_sort; checked against
// glibc 2.36 of Debian 12) does with the same sources:
//
//   - glibc's built-in tables ([policytable.Glibc]: the RFC 3484
//     precedences, labels with extra rows for fec0::/10, fc00::/7 and
//     2001::/32, IPv4 127.0.0.0/8 and 169.254.0.0/16 link-local).
//     Glibc(WithTable(t)) with t from a gai.conf is glibc under that
//     gai.conf, its scopev4 rules included;
//   - rules 1 to 9 of RFC 3484/6724 section 6, with rule 3 (deprecated)
//     and rule 4 (home) read from Source.Deprecated and Source.Home, and
//     rule 7 from Source.Encapsulated (glibc asks the kernel whether the
//     interface is a tunnel; it compares only sources on different
//     interfaces);
//   - an unusable destination (no source) is still ordered against
//     another unusable one by rules 6 (precedence) and 8 (scope), and by
//     input position;
//   - IPv4-mapped destinations are IPv6 to glibc: global scope whatever
//     the IPv4 address (only true IPv4 destinations get the scopev4
//     rules), and rule 9 compares them as IPv6;
//   - rule 9 for IPv6 compares all 128 bits (no /64 bound); for IPv4 it
//     counts common bits only when destination and source are in the
//     same subnet by the source's prefix length, else 0. Source.PrefixLen
//     0 is what glibc has when it has no address information: on a host
//     without any IPv6 address (link-local included) glibc reads no
//     address flags and no prefix lengths, so pass Sources with
//     PrefixLen 0 and no flags there. Its netmask then keeps all 32
//     bits, so only a destination equal to its source gets a rule 9
//     value;
//   - the IPv4 loopback: glibc takes the flags and prefix length of
//     127.0.0.1 for any 127.0.0.0/8 source; pass those;
//   - the comparator breaks ties by input position (rule 10) but is not
//     transitive (rule 9 relates one family only, rules 2-5 look at the
//     sources), so the result depends on the sort algorithm: the profile
//     sorts like glibc's qsort_r of 2.36 and earlier, a top-down merge
//     sort that splits n into n/2 and n-n/2 and takes the left element on
//     ties.
//
// A Destination with Unreachable set counts as unusable (rule 1).
//
// Not reproduced: gai.conf reload, rule 7's interface probing (only
// Source.Encapsulated is used; rule 7 is not covered by the recorded
// cases), and glibc releases whose qsort is not this merge sort (for
// example when glibc falls back to quicksort for huge inputs), which may
// order intransitive inputs differently.
func Glibc(opts ...Option) *Selector {
	return build(&Selector{name: "glibc", table: policytable.Glibc(), stack: glibcStack{}}, opts)
}

// glibcStack emulates glibc's rfc3484_sort under qsort_r (msort).
type glibcStack struct{}

// glibcRec holds what glibc's comparator looks at for one destination.
type glibcRec struct {
	usable     bool
	v4         bool // destination family AF_INET (IPv4-mapped is AF_INET6)
	scopeMatch bool
	labelMatch bool
	deprecated bool
	home       bool
	encap      bool
	scope      policytable.Scope
	prec       uint8
	r9         uint8 // rule 9 value: common bits (IPv4: within the subnet)
	iface      string
}

func (glibcStack) sort(s *Selector, dsts []Destination) {
	if len(dsts) < 2 {
		return
	}
	var buf [stackN]glibcRec
	recs := buf[:0]
	if len(dsts) > stackN {
		recs = make([]glibcRec, 0, len(dsts))
	}
	for i := range dsts {
		recs = append(recs, glibcRecord(s, &dsts[i]))
	}
	mergeSortIndices(dsts, func(i, j int32) int {
		c, _ := glibcCompareRecs(&recs[i], &recs[j])
		return c
	})
}

func (glibcStack) compare(s *Selector, a, b *Destination) (int, Rule) {
	ra, rb := glibcRecord(s, a), glibcRecord(s, b)
	return glibcCompareRecs(&ra, &rb)
}

// glibcScope is glibc's get_scope: IPv4 addresses get the table's IPv4
// scope rules (gai.conf scopev4, by default RFC 6724 section 3.2); every
// IPv6 address, IPv4-mapped included, gets its RFC 6724 section 3.1 scope
// (multicast scope field, link-local for fe80::/10 and ::1, site-local
// for fec0::/10, else global).
//
// The compiled IPv4 scopes answer as the table does unless
// WithPrivateIPv4SiteLocal changed them, which glibc has no notion of.
func glibcScope(s *Selector, a netip.Addr) policytable.Scope {
	x := toBits(a)
	if !a.Is4() {
		return scope6(x) // an IPv4-mapped address is global here
	}
	if s.scope4 != nil && s.privateV4 == privateV4Table {
		return s.scope4.lookup(uint32(x.lo))
	}
	return s.Table().Scope(a)
}

// glibcSource returns the source as glibc sees it for destination d: an
// IPv4 address for an IPv4 destination, IPv6 (IPv4-mapped if needed)
// otherwise, and false when d is unusable.
func glibcSource(d *Destination) (netip.Addr, bool) {
	src := d.Source.Addr
	if !src.IsValid() || d.Unreachable {
		return netip.Addr{}, false
	}
	if d.Addr.Is4() {
		return src.Unmap(), true
	}
	if src.Is4() {
		return netip.AddrFrom16(src.As16()), true
	}
	return src, true
}

// glibcVals computes what glibc's comparator looks at for d; cpl is
// glibc's rule 9 count (IPv4: common bits inside the source's subnet,
// else 0; IPv6: all 128 bits).
func glibcVals(s *Selector, d *Destination, v *stackVals) {
	attr := s.tableAttr(d.Addr)
	*v = stackVals{
		v4:    d.Addr.Is4(),
		scope: glibcScope(s, d.Addr),
		label: attr.Label,
		prec:  attr.Precedence,
		plen:  128,
	}
	src, ok := glibcSource(d)
	if !ok {
		return
	}
	v.usable = true
	v.srcScope = glibcScope(s, src)
	v.srcLabel = s.tableAttr(src).Label
	if v.v4 {
		v.plen = 32
		if p := d.Source.PrefixLen; p > 0 && p <= 32 {
			v.plen = uint8(p)
		}
		v.cpl = uint8(glibcSubnetBits(src, d.Addr, d.Source.PrefixLen))
	} else {
		v.cpl = prefix128(toBits(src), toBits(d.Addr))
	}
}

// glibcRecord computes glibc's attributes of d.
func glibcRecord(s *Selector, d *Destination) glibcRec {
	var v stackVals
	glibcVals(s, d, &v)
	r := glibcRec{
		usable:     v.usable,
		v4:         v.v4,
		scopeMatch: v.matchScope(),
		labelMatch: v.matchLabel(),
		scope:      v.scope,
		prec:       v.prec,
		r9:         v.cpl,
	}
	if v.usable {
		r.deprecated, r.home = d.Source.Deprecated, d.Source.Home
		r.encap, r.iface = d.Source.Encapsulated, d.Source.Interface
	}
	return r
}

func (glibcStack) attrs(s *Selector, d *Destination) dattr {
	var v stackVals
	glibcVals(s, d, &v)
	return v.attrs(d)
}

func (glibcStack) rule9Note(w, _ *dattr) string {
	if w.v4 {
		return fmt.Sprintf("IPv4, counted only when destination and source share the source's /%d subnet", w.plen)
	}
	return "IPv6 (IPv4-mapped included), all 128 bits"
}

// glibcCompareRecs is glibc's comparator for rules 1 to 9 (RFC 6724
// section 6, with glibc's variants). 0 (with Dst10) means rule 10
// decides by input position.
func glibcCompareRecs(a, b *glibcRec) (int, Rule) {
	// Rule 1: avoid unusable destinations.
	if a.usable != b.usable {
		return preferIf(a.usable), Dst1
	}
	if a.usable {
		// Rule 2: prefer matching scope (only between usable
		// destinations, as are rules 3, 4, 5, 7 and 9).
		if a.scopeMatch != b.scopeMatch {
			return preferIf(a.scopeMatch), Dst2
		}
		// Rule 3: avoid deprecated addresses.
		if a.deprecated != b.deprecated {
			return preferIf(!a.deprecated), Dst3
		}
		// Rule 4: prefer home addresses.
		if a.home != b.home {
			return preferIf(a.home), Dst4
		}
		// Rule 5: prefer matching label.
		if a.labelMatch != b.labelMatch {
			return preferIf(a.labelMatch), Dst5
		}
	}
	// Rule 6: prefer higher precedence.
	if a.prec != b.prec {
		return preferIf(a.prec > b.prec), Dst6
	}
	// Rule 7: prefer native transport (glibc only looks when the sources
	// are on different interfaces).
	if a.usable && a.encap != b.encap && (a.iface != b.iface || a.iface == "") {
		return preferIf(!a.encap), Dst7
	}
	// Rule 8: prefer smaller scope.
	if a.scope != b.scope {
		return preferIf(a.scope < b.scope), Dst8
	}
	// Rule 9: longest matching prefix, within one address family.
	if a.usable && a.v4 == b.v4 && a.r9 != b.r9 {
		return preferIf(a.r9 > b.r9), Dst9
	}
	return 0, Dst10
}

// glibcSubnetBits is glibc's IPv4 rule 9 value: the number of leading
// bits src and dst share when they are in the same subnet by the source's
// prefix length, else 0. A prefix length of 0 (or out of range) leaves
// glibc with an all-ones netmask.
func glibcSubnetBits(src, dst netip.Addr, plen int) int {
	if !src.Is4() || !dst.Is4() {
		// An IPv6 source for an IPv4 destination (a caller's mistake;
		// the kernel never picks one) shares no subnet with it.
		return 0
	}
	s4, d4 := src.As4(), dst.As4()
	s := uint32(s4[0])<<24 | uint32(s4[1])<<16 | uint32(s4[2])<<8 | uint32(s4[3])
	d := uint32(d4[0])<<24 | uint32(d4[1])<<16 | uint32(d4[2])<<8 | uint32(d4[3])
	mask := ^uint32(0)
	if plen > 0 && plen <= 32 {
		mask <<= 32 - plen
	}
	if s&mask != d&mask {
		return 0
	}
	return bits.LeadingZeros32(s ^ d)
}

// mergeSortIndices sorts dsts the way glibc's msort (qsort and qsort_r
// up to glibc 2.36, which c-ares also uses) does: top-down, the first half
// holding n/2 elements, merging by taking the left element unless cmp
// says the right one goes first. cmp compares the destinations at input
// positions i and j and returns 0 when only the input position decides;
// ties then go to the lower input position, as the stacks' own rule 10
// comparisons do. It allocates nothing for up to stackN destinations.
func mergeSortIndices(dsts []Destination, cmp func(i, j int32) int) {
	n := len(dsts)
	if n < 2 {
		return
	}
	var ordBuf, tmpBuf [stackN]int32
	ord, tmp := ordBuf[:0], tmpBuf[:0]
	if n > stackN {
		ord, tmp = make([]int32, 0, n), make([]int32, 0, n)
	}
	ord, tmp = ord[:n], tmp[:n]
	for i := range ord {
		ord[i] = int32(i)
	}
	msort(ord, tmp, func(i, j int32) int {
		if c := cmp(i, j); c != 0 {
			return c
		}
		if i < j {
			return -1
		}
		return 1
	})
	permute(dsts, ord)
}

// stackN is the largest input the stack profiles sort without
// allocating.
const stackN = 64

// msort is glibc's msort_with_tmp on an index array.
func msort(b, tmp []int32, cmp func(i, j int32) int) {
	n := len(b)
	if n <= 1 {
		return
	}
	n1 := n / 2
	b1, b2 := b[:n1], b[n1:]
	msort(b1, tmp, cmp)
	msort(b2, tmp, cmp)
	k := 0
	i, j := 0, 0
	for i < len(b1) && j < len(b2) {
		if cmp(b1[i], b2[j]) <= 0 {
			tmp[k] = b1[i]
			i++
		} else {
			tmp[k] = b2[j]
			j++
		}
		k++
	}
	// The rest of b2 is already in place; copy the rest of b1 after the
	// merged part, then the merged part back.
	k += copy(tmp[k:], b1[i:])
	copy(b, tmp[:k])
}
