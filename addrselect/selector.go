package addrselect

import (
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/dualstack/dualstack/policytable"
)

// Selector is an immutable address-selection configuration: a policy
// table, the variants of the rules that RFC 6724 leaves open, and, for the
// profiles of real stacks, that stack's own algorithm. Build one with a
// profile constructor ([RFC6724], [RFC3484], [GoNet], [Glibc], [Musl],
// [CAres]). The zero Selector and a nil *Selector behave as RFC6724().
// A Selector is safe for concurrent use.
type Selector struct {
	name  string
	table *policytable.Table

	// stack, when non-nil, replaces the RFC engine with the emulation of a
	// real resolver (see profiles_*.go).
	stack stackImpl

	// The RFC engine's variants. Their zero values are RFC 6724's
	// choices, so that the zero Selector is RFC6724().

	// rule9 selects the destination rule 9 variant.
	rule9 Rule9Variant
	// fullPrefix compares all address bits in CommonPrefixLen (RFC 3484
	// section 2.2) instead of stopping at the source's prefix length (RFC
	// 6724 section 2.2).
	fullPrefix bool
	// preferPublic reverses source rule 7: public addresses win over
	// temporary ones (RFC 3484, RFC 5014 IPV6_PREFER_SRC_PUBLIC).
	preferPublic bool
	// privateV4 overrides the table's scope for the RFC 1918 ranges.
	privateV4 privateV4Mode
	// history, when set, adds the RFC 8305 section 4 step between rules 8
	// and 9.
	history History

	// fast is the compiled lookup of table, built by the RFC constructors
	// (see fastTable); nil means "use table.Lookup" (or the default).
	fast *fastTable
	// scope4 is the compiled IPv4 scope map (nil: computed per address).
	scope4 *v4Scopes
	// compiled is set by every constructor; only the zero Selector lacks
	// it, and it then stands for the shared, compiled RFC6724().
	compiled bool
}

type privateV4Mode uint8

const (
	privateV4Table  privateV4Mode = iota // the table's IPv4 scope rules
	privateV4Site                        // RFC 3484: RFC 1918 is site-local
	privateV4Global                      // RFC 6724: RFC 1918 is global
)

// Option configures a Selector built by a profile constructor.
type Option func(*Selector)

// WithTable replaces the profile's policy table. Glibc(WithTable(t)) with t
// from policytable.ParseGaiConf is glibc under that gai.conf.
func WithTable(t *policytable.Table) Option {
	return func(s *Selector) { s.table = t }
}

// Rule9Variant says how destination rule 9 ("use longest matching prefix",
// RFC 6724 section 6) is applied. RFC 6724 applies it to two IPv6 or two
// IPv4 destinations, comparing CommonPrefixLen(Source(D), D) bounded by the
// source's prefix length (section 2.2). Because the rule always favours
// the destination numerically closest to the host, it defeats DNS round
// robin: every client picks the same server. The variants trade
// faithfulness to the RFC against load spreading.
//
// Which to pick:
//
//   - [Rule9RFC] (the default): the RFC as written; IPv4 destinations are
//     compared over 32 bits (or the source's prefix length). Use it to
//     reproduce the RFC or when destinations are few and not load-balanced.
//   - [Rule9IPv6Only]: rule 9 for IPv6 only, bounded by the source's
//     prefix length; IPv4 round robin survives. A good general default.
//   - [Rule9IPv6Cap64]: Go's net package: IPv6 only, at most 64 bits
//     whatever the prefix length.
//   - [Rule9SameSubnet]: glibc: IPv6 over all 128 bits; IPv4 only when
//     source and destination are in the same subnet (source prefix),
//     otherwise a tie.
//   - [Rule9OnLink]: both families, but only "on-link or not" counts (the
//     shared prefix reaches the source's prefix length); destinations in
//     the same group keep the input (DNS) order, so round robin survives
//     while an on-link server still comes first. Recommended for MX hosts
//     and other load-balanced names.
//   - [Rule9Off]: no rule 9 at all: after rule 8 (and history) the input
//     order decides. Pick it when the caller shuffles on purpose.
type Rule9Variant uint8

// The rule 9 variants; see [Rule9Variant].
const (
	Rule9RFC        Rule9Variant = iota // both families, bounded by the source prefix length
	Rule9IPv6Only                       // IPv6 only, bounded by the source prefix length
	Rule9IPv6Cap64                      // IPv6 only, at most 64 bits (Go)
	Rule9SameSubnet                     // IPv6 128 bits; IPv4 only within the source's subnet (glibc)
	Rule9OnLink                         // both families, on-link vs not; input order inside a group
	Rule9Off                            // never applied
)

var rule9Names = [...]string{"rfc", "ipv6-only", "ipv6-cap64", "same-subnet", "on-link", "off"}

// String returns the variant's short name, such as "ipv6-only".
func (v Rule9Variant) String() string {
	if int(v) < len(rule9Names) {
		return rule9Names[v]
	}
	return "rule9(?)"
}

// WithRule9 selects how destination rule 9 is applied; see [Rule9Variant].
// An unknown variant behaves as [Rule9Off].
func WithRule9(v Rule9Variant) Option {
	return func(s *Selector) { s.rule9 = v }
}

// WithFullPrefixMatch makes CommonPrefixLen compare every address bit, as
// RFC 3484 section 2.2 did, instead of stopping at the source's prefix
// length (RFC 6724 section 2.2, Appendix B rule change 1). It affects
// source rule 8 and destination rule 9 ([Rule9RFC], [Rule9IPv6Only]).
func WithFullPrefixMatch(full bool) Option {
	return func(s *Selector) { s.fullPrefix = full }
}

// WithPreferPublic sets the direction of source rule 7. With false (the
// RFC 6724 default) temporary addresses (RFC 8981) win over public ones;
// with true public addresses win, as in RFC 3484 and as RFC 5014's
// IPV6_PREFER_SRC_PUBLIC asks. Servers and MTAs, whose peers check
// reverse DNS or allow-lists, usually want true.
func WithPreferPublic(public bool) Option {
	return func(s *Selector) { s.preferPublic = public }
}

// WithPrivateIPv4SiteLocal overrides the scope of the RFC 1918 ranges
// 10.0.0.0/8, 172.16.0.0/12 and 192.168.0.0/16. With true they are
// site-local, as in RFC 3484 section 3.2 (and older glibc), so that
// destination rule 2 prefers native IPv6 (even 6to4) over a NATed IPv4
// path; with false they are global, as RFC 6724 section 3.2 says (Appendix
// B rule change 4), leaving the choice to the policy table. Without this
// option the table's own IPv4 scope rules apply (gai.conf scopev4, see
// [policytable.WithScopeV4]). The table itself is not modified; other
// IPv4 addresses keep the table's scopes.
func WithPrivateIPv4SiteLocal(siteLocal bool) Option {
	return func(s *Selector) {
		if siteLocal {
			s.privateV4 = privateV4Site
		} else {
			s.privateV4 = privateV4Global
		}
	}
}

// History gives measured connection history per destination, for the
// RFC 8305 section 4 step between destination rules 8 and 9: a
// destination with history sorts before one without, and a lower round
// trip time first. Lookup must be fast, must not block and must be safe for
// concurrent use; it must return the same answer for an address during one
// sort, or the order is undefined (it stays a permutation). RFC 8305 says
// history must not be shared across interfaces and should be flushed when
// the network changes: that is the implementation's job.
type History interface {
	// Lookup returns the smoothed round-trip time measured to addr and
	// whether there is any history for it.
	Lookup(addr netip.Addr) (rtt time.Duration, ok bool)
}

// WithHistory enables the RFC 8305 section 4 history step (rule
// [DstHistory]). A nil h disables it (the default).
func WithHistory(h History) Option {
	return func(s *Selector) { s.history = h }
}

// RFC6724 returns the default Selector: RFC 6724 followed literally. The
// policy table is [policytable.RFC6724] with its IPv4 scopes (RFC 1918 is
// global), rule 9 applies to both families ([Rule9RFC]), CommonPrefixLen
// stops at the source's prefix length (0 means 64 for IPv6 and 32 for
// IPv4) and source rule 7 prefers temporary addresses. Options adjust it.
func RFC6724(opts ...Option) *Selector {
	return build(&Selector{name: "rfc6724", table: policytable.RFC6724()}, opts)
}

// RFC3484 returns the Selector of the obsoleted RFC 3484: its policy table
// ([policytable.RFC3484]: IPv4 below 6to4, no ULA row), RFC 1918 space
// site-local (also under a table given by [WithTable]), CommonPrefixLen
// over all bits, rule 9 for both families, and source rule 7 preferring
// public addresses. Many deployed stacks still behave so.
func RFC3484(opts ...Option) *Selector {
	s := &Selector{
		name:         "rfc3484",
		table:        policytable.RFC3484(),
		fullPrefix:   true,
		preferPublic: true,
		privateV4:    privateV4Site,
	}
	return build(s, opts)
}

// build applies opts to the profile s and compiles it: every profile
// constructor ends here.
func build(s *Selector, opts []Option) *Selector {
	for _, o := range opts {
		o(s)
	}
	return s.compile()
}

// compile builds the fast lookups of the final table (policy attributes
// and IPv4 scopes); they answer exactly as the table does.
func (s *Selector) compile() *Selector {
	switch {
	case s.table == nil:
	case s.table == policytable.RFC6724(): // the shared preset
		s.fast = defaultFastTable()
	default:
		s.fast = newFastTable(s.table)
	}
	s.scope4 = newV4Scopes(s)
	s.compiled = true
	return s
}

// Name returns the profile's name ("rfc6724", "rfc3484", ...).
func (s *Selector) Name() string {
	if s == nil || s.name == "" {
		return "rfc6724"
	}
	return s.name
}

// Table returns the policy table the Selector uses; never nil.
func (s *Selector) Table() *policytable.Table {
	if s == nil || s.table == nil {
		return policytable.RFC6724()
	}
	return s.table
}

// stackImpl is the hook through which a profile of a real stack replaces
// the RFC engine.
type stackImpl interface {
	// sort orders dsts in place as the stack would.
	sort(s *Selector, dsts []Destination)
	// compare reports how the stack's comparator orders a before b
	// (negative: a first) and which rule decided.
	compare(s *Selector, a, b *Destination) (int, Rule)
	// attrs returns the values the stack compares for d, for Explain:
	// its scopes, labels and precedence, and in cpl and r9 its own rule 9
	// count (0 where it does not apply rule 9).
	attrs(s *Selector, d *Destination) dattr
	// rule9Note describes, for a rule 9 reason, the family compared and
	// how the stack counts the common prefix.
	rule9Note(w, l *dattr) string
}

// defaultSelector is what a nil or zero *Selector stands for.
var defaultSelector = sync.OnceValue(func() *Selector { return RFC6724() })

// orZero returns s, or for a nil or zero Selector the shared RFC6724()
// with its compiled lookups, so that the zero value is as fast as the
// constructor's.
func (s *Selector) orZero() *Selector {
	if s == nil || (!s.compiled && s.stack == nil) {
		return defaultSelector()
	}
	return s
}

// smallN is the largest input SortDestinations sorts without allocating.
const smallN = 64

// rec is one destination's sort record: the key of rules 1-8 and history
// (larger first), the rule 9 value (larger first, only within a family),
// the family and the input position.
type rec struct {
	key uint64
	r9  uint8
	v4  bool
	idx int32
}

// SortDestinations sorts dsts in place by RFC 6724 section 6 (or by the
// profile's stack). It does not allocate for up to 64 destinations.
//
// The order is consistent whatever the input: every pair of destinations
// that rules 1 to 9 order (as this package implements them, see the
// package documentation for rule 4) comes out in that order;
// destinations of one family that no rule orders keep their input order
// (rule 10); and among destinations tied on rules 1 to 8, the families
// appear in the same sequence of positions as in the input.
// Rule 9 only relates destinations of one family, so a pairwise comparator
// is not transitive; SortDestinations instead sorts stably by the rules 1-8
// (and history) key, then, inside each run of equal key, reorders each
// family's members by rule 9 among the positions that family occupies,
// the other family's members staying in place. The result is a
// deterministic function of the input order.
func (s *Selector) SortDestinations(dsts []Destination) {
	if s != nil && s.stack != nil {
		s.stack.sort(s, dsts)
		return
	}
	n := len(dsts)
	if n < 2 {
		return
	}
	s = s.orZero()
	switch {
	case n <= 16:
		var (
			keys [16]uint64
			perm [16]int32
		)
		s.orderSmall(dsts, keys[:n], perm[:n])
		permute(dsts, perm[:n])
	case n <= smallN:
		var (
			keys [smallN]uint64
			perm [smallN]int32
		)
		s.orderSmall(dsts, keys[:n], perm[:n])
		permute(dsts, perm[:n])
	default:
		perm := make([]int32, n)
		s.order(dsts, make([]rec, n), perm)
		permute(dsts, perm)
	}
}

// Layout of orderSmall's one-integer records, below the rules 1-8 key.
const (
	smallIdxBits = 6                // 63 minus the input position
	smallR9Shift = smallIdxBits     // the rule 9 value, 8 bits
	smallFamBit  = smallR9Shift + 8 // 1 for IPv4
	smallKeyShft = smallFamBit + 1  // the rules 1-8 (and history) key
)

// The rules 1-8 key has 48 bits (shiftUsable is its top bit): it must fit
// above smallKeyShft.
var _ [64 - smallKeyShft - (shiftUsable + 1)]struct{}

// orderSmall is order for up to 64 destinations. Each record is one
// integer: the rules 1-8 key, then the family, the rule 9 value and the
// inverted input position, so that one descending integer sort orders
// by the key, then, inside a run of equal key, each family by rule 9 with
// ties in input order. A run holding one family is then final. A run
// holding both families (rare: the default table gives IPv4 a precedence
// of its own) is put back to the input's pattern of families by
// mixRun. keys and perm have len(dsts) elements.
func (s *Selector) orderSmall(dsts []Destination, keys []uint64, perm []int32) {
	t, f := s.table, s.fastLookup()
	var m srcMemo
	for i := range dsts {
		r := s.sortRec(t, f, &dsts[i], &m)
		k := r.key<<smallKeyShft | uint64(r.r9)<<smallR9Shift | uint64(63-i)
		if r.v4 {
			k |= 1 << smallFamBit
		}
		keys[i] = k
	}
	// Insertion sort, descending: inputs are small.
	for i := 1; i < len(keys); i++ {
		x := keys[i]
		j := i
		for j > 0 && keys[j-1] < x {
			keys[j] = keys[j-1]
			j--
		}
		keys[j] = x
	}
	for i, k := range keys {
		perm[i] = int32(63 - k&63)
	}
	for start := 0; start < len(keys); {
		end := start + 1
		for end < len(keys) && keys[end]>>smallKeyShft == keys[start]>>smallKeyShft {
			end++
		}
		if (keys[start]^keys[end-1])&(1<<smallFamBit) != 0 {
			mixRun(keys[start:end], perm[start:end])
		}
		start = end
	}
}

// mixRun rearranges a run of equal rules 1-8 key that holds both
// families: the run arrives with the IPv4 members first, each family
// already in its final order (rule 9, then input position); each family
// goes back to the positions it held in the input order of the run.
func mixRun(keys []uint64, perm []int32) {
	var (
		members [smallN]int32  // the run's members as they arrived
		byInput [smallN]uint64 // the run's records in input order
	)
	n := copy(members[:], perm)
	copy(byInput[:], keys)
	in := byInput[:n]
	// Input order is descending inverted position.
	for i := 1; i < n; i++ {
		x := in[i]
		j := i
		for j > 0 && in[j-1]&63 < x&63 {
			in[j] = in[j-1]
			j--
		}
		in[j] = x
	}
	// The IPv4 members come first: members[:n4] and members[n4:].
	n4 := 0
	for _, k := range keys {
		if k&(1<<smallFamBit) != 0 {
			n4++
		}
	}
	i4, i6 := 0, n4
	for p, k := range in {
		if k&(1<<smallFamBit) != 0 {
			perm[p] = members[i4]
			i4++
		} else {
			perm[p] = members[i6]
			i6++
		}
	}
}

// order computes the sorted order of dsts: the new position i holds the
// old dsts[perm[i]]. recs and perm have len(dsts) elements.
func (s *Selector) order(dsts []Destination, recs []rec, perm []int32) {
	t, f := s.table, s.fastLookup()
	var m srcMemo
	for i := range dsts {
		recs[i] = s.sortRec(t, f, &dsts[i], &m)
		recs[i].idx = int32(i)
	}
	sortRecs(recs)
	if s.rule9 != Rule9Off {
		rule9Pass(recs)
	}
	for i := range recs {
		perm[i] = recs[i].idx
	}
}

// sortRecs orders recs by key (descending), then input position. The
// order is total, so any algorithm gives the same result.
func sortRecs(recs []rec) {
	if len(recs) <= 16 {
		for i := 1; i < len(recs); i++ {
			x := recs[i]
			j := i
			for j > 0 && recs[j-1].key < x.key {
				recs[j] = recs[j-1]
				j--
			}
			recs[j] = x
		}
		return
	}
	slices.SortFunc(recs, func(a, b rec) int {
		switch {
		case a.key > b.key:
			return -1
		case a.key < b.key:
			return 1
		}
		return int(a.idx - b.idx)
	})
}

// rule9Pass applies destination rule 9 inside each run of equal key: for
// each family, its members are stably sorted by r9 among the positions the
// family holds in the run.
func rule9Pass(recs []rec) {
	for start := 0; start < len(recs); {
		end := start + 1
		for end < len(recs) && recs[end].key == recs[start].key {
			end++
		}
		if end-start > 1 {
			run := recs[start:end]
			sortFamily(run, false)
			sortFamily(run, true)
		}
		start = end
	}
}

// sortFamily stably sorts the members of run whose family is v4 by r9
// (descending), leaving the other members where they are.
func sortFamily(run []rec, v4 bool) {
	m, same := 0, true
	var first uint8
	for i := range run {
		if run[i].v4 == v4 {
			if m == 0 {
				first = run[i].r9
			} else if run[i].r9 != first {
				same = false
			}
			m++
		}
	}
	if same || m < 2 {
		return
	}
	if m > 32 {
		// Long runs: collect, sort stably, put back.
		members := make([]rec, 0, m)
		for i := range run {
			if run[i].v4 == v4 {
				members = append(members, run[i])
			}
		}
		slices.SortStableFunc(members, func(a, b rec) int { return int(b.r9) - int(a.r9) })
		k := 0
		for i := range run {
			if run[i].v4 == v4 {
				run[i] = members[k]
				k++
			}
		}
		return
	}
	// Insertion sort over the family's positions: walk back from each
	// member over the previous members of the family, shifting the ones
	// with a smaller r9 into the next family position.
	for k := range run {
		if run[k].v4 != v4 {
			continue
		}
		x := run[k]
		cur := k
		for p := k - 1; p >= 0; p-- {
			if run[p].v4 != v4 {
				continue
			}
			if run[p].r9 >= x.r9 {
				break
			}
			run[cur] = run[p]
			cur = p
		}
		run[cur] = x
	}
}

// permute reorders dsts so that the new dsts[i] is the old dsts[perm[i]]
// (for the RFC engine and the stack profiles alike). It destroys perm.
func permute(dsts []Destination, perm []int32) {
	for i := range perm {
		if perm[i] < 0 || int(perm[i]) == i {
			continue
		}
		// Follow the cycle starting at i.
		tmp := dsts[i]
		j := i
		for {
			k := int(perm[j])
			perm[j] = -1
			if k == i {
				dsts[j] = tmp
				break
			}
			dsts[j] = dsts[k]
			j = k
		}
	}
}

// Compare orders two destinations by RFC 6724 section 6 rules 1 to 9 (and
// the history step): negative when a goes first, positive when b does, 0
// when no rule orders them (rule 10 then keeps the input order, so sort
// with a stable algorithm). For stack profiles it is the stack's
// comparator.
//
// Compare is meant for callers' own record types. It is a pairwise
// comparator and, because rule 9 only relates destinations of one family,
// it is not transitive on mixed IPv4/IPv6 input (a < b < c < a can
// happen): slices.SortStableFunc with Compare may then give an order that
// depends on the algorithm. Use [Selector.SortDestinations] (and carry an
// index) for an order that is consistent by construction. Compare
// computes every attribute on each call; it does not allocate.
func (s *Selector) Compare(a, b Destination) int {
	if s != nil && s.stack != nil {
		x, y := a, b // only these escape through the interface call
		c, _ := s.stack.compare(s, &x, &y)
		return c
	}
	s = s.orZero()
	da, db := s.dstAttrs(&a), s.dstAttrs(&b)
	ord, _ := compareAttrs(&da, &db)
	return ord
}
