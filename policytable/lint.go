package policytable

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// Codes of the findings [Lint] reports. Each names one kind of
// questionable table; the message of a [Finding] explains the instance.
const (
	// CodeMissingRow: a prefix of the RFC 6724 section 2.1 default table
	// (other than ::/0) has no row in the precedence or the label set, so
	// its addresses fall back to a shorter prefix. Dropping the 6to4
	// (2002::/16) or Teredo (2001::/32) rows makes tunnelled addresses
	// look like native IPv6 (RFC 6724 section 10.7, RFC 7526).
	CodeMissingRow = "missing-row"
	// CodeIPv4Preferred: IPv4 (::ffff:0:0/96) has a higher precedence
	// than native IPv6 (::/0). RFC 6724 section 10.3 shows this as a
	// deliberate choice; by accident it silently disables IPv6.
	CodeIPv4Preferred = "ipv4-preferred"
	// CodeULAPreferred: unique local addresses (fc00::/7) have a higher
	// precedence than global unicast (2000::/3), so a ULA destination
	// wins over a global one even when the ULA is not reachable from
	// here; draft-ietf-6man-rfc6724-update raises only known-local ULA
	// prefixes (section 3.3), and keeps fc00::/7 below ::/0.
	CodeULAPreferred = "ula-preferred"
	// CodeRedundantRow: a row has the value of the next shorter row of
	// its set that covers it, so removing it changes no lookup.
	CodeRedundantRow = "redundant-row"
	// CodeSharedLabel: two unrelated prefixes (neither contains the
	// other) share a label, so a source in one is "matching" for a
	// destination in the other (RFC 6724 section 6 rule 5). Known-local
	// ULA rows (label 14 in fd00::/8) share their label by design.
	CodeSharedLabel = "shared-label"
	// CodeScopeNoLinkLocal: the IPv4 scope rules were configured (gai.conf
	// scopev4) without the link-local rows of RFC 6724 section 3.2, so
	// 127.0.0.0/8 or 169.254.0.0/16 is treated as global scope.
	CodeScopeNoLinkLocal = "scopev4-no-link-local"
)

// Finding is one problem [Lint] found. Prefix is the row (or missing
// row) concerned.
type Finding struct {
	Code    string
	Prefix  netip.Prefix
	Message string
}

// String formats the finding as "code prefix: message".
func (f Finding) String() string { return fmt.Sprintf("%s %s: %s", f.Code, f.Prefix, f.Message) }

// rfc6724Names names the rows of the RFC 6724 section 2.1 table.
var rfc6724Names = map[netip.Prefix]string{
	mp("::1/128"):       "loopback",
	mp("::ffff:0:0/96"): "IPv4-mapped",
	mp("2002::/16"):     "6to4",
	mp("2001::/32"):     "Teredo",
	mp("fc00::/7"):      "ULA",
	mp("::/96"):         "IPv4-compatible",
	mp("fec0::/10"):     "site-local",
	mp("3ffe::/16"):     "6bone",
}

var gua = mp("2000::/3")

// Lint reports questionable properties of t, in the order of the codes
// above and by prefix within a code. A nil or empty result means none
// was found; [RFC6724] and [Draft6724Update] have none. The findings are
// advice: several describe choices an administrator may make on purpose.
func Lint(t *Table) []Finding {
	t = t.compiled()
	var l linter
	l.missingRows(t)
	l.preferences(t)
	l.redundantRows(t)
	l.sharedLabels(t)
	l.scopes(t)
	slices.SortStableFunc(l.out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(codeOrder[a.Code], codeOrder[b.Code]), comparePrefix(a.Prefix, b.Prefix))
	})
	return l.out
}

// codeOrder is the order of the codes in Lint's result.
var codeOrder = map[string]int{CodeMissingRow: 0, CodeIPv4Preferred: 1, CodeULAPreferred: 2,
	CodeRedundantRow: 3, CodeSharedLabel: 4, CodeScopeNoLinkLocal: 5}

// linter collects the findings of one Lint call; each method is one
// check.
type linter struct{ out []Finding }

func (l *linter) add(code string, p netip.Prefix, format string, args ...any) {
	l.out = append(l.out, Finding{code, p, fmt.Sprintf(format, args...)})
}

// namedSet is one prefix set of a table with its name for messages.
type namedSet struct {
	name string
	rows []Row
}

func sets(t *Table) []namedSet { return []namedSet{{"precedence", t.prec}, {"label", t.label}} }

// missingRows: every RFC 6724 prefix except ::/0, in table order.
func (l *linter) missingRows(t *Table) {
	for _, e := range rfc6724Entries {
		if e.Prefix.Bits() == 0 {
			continue
		}
		for _, set := range sets(t) {
			if slices.ContainsFunc(set.rows, func(r Row) bool { return r.Prefix == e.Prefix }) {
				continue
			}
			l.add(CodeMissingRow, e.Prefix, "the %s set has no row for %s (%s, RFC 6724 section 2.1); its addresses get %s %d",
				set.name, e.Prefix, rfc6724Names[e.Prefix], set.name, coveringValue(set.rows, e.Prefix))
		}
	}
}

// preferences: IPv4 above native IPv6, ULA above global unicast.
func (l *linter) preferences(t *Table) {
	ipv4 := mp("::ffff:0:0/96")
	if v4, v6 := coveringValue(t.prec, ipv4), coveringValue(t.prec, defaultPrefix); v4 > v6 {
		l.add(CodeIPv4Preferred, ipv4, "IPv4 has precedence %d, above native IPv6 (::/0) at %d: IPv4 destinations are tried first (RFC 6724 section 10.3)", v4, v6)
	}
	ula := mp("fc00::/7")
	if u, g := coveringValue(t.prec, ula), coveringValue(t.prec, gua); u > g {
		l.add(CodeULAPreferred, ula, "ULA has precedence %d, above global unicast (2000::/3) at %d: ULA destinations are tried before global ones even when unreachable", u, g)
	}
}

// redundantRows compares each row with its parent, the longest row of
// the same set that strictly contains it (one walk per set).
func (l *linter) redundantRows(t *Table) {
	for _, set := range sets(t) {
		var stack []Row
		for _, r := range set.rows {
			for len(stack) > 0 && !containsPrefix(stack[len(stack)-1].Prefix, r.Prefix) {
				stack = stack[:len(stack)-1]
			}
			if len(stack) > 0 && stack[len(stack)-1].Value == r.Value {
				parent := stack[len(stack)-1]
				l.add(CodeRedundantRow, r.Prefix, "%s row %s has the value %d of the covering row %s and changes nothing", set.name, r.Prefix, r.Value, parent.Prefix)
			}
			stack = append(stack, r)
		}
	}
}

// sharedLabels: within the rows of one label, the outermost ones (not
// inside another row of that label) are pairwise unrelated; report
// every outermost row after the first against the first.
func (l *linter) sharedLabels(t *Table) {
	roots := map[uint8][]netip.Prefix{}
	var labelsInOrder []uint8
	knownLocalRoot := false     // a root of label 14 lies in fd00::/8
	for _, r := range t.label { // sorted by prefix: containers come first
		rs := roots[r.Value]
		if len(rs) > 0 && containsPrefix(rs[len(rs)-1], r.Prefix) {
			continue
		}
		inFD := r.Value == KnownLocalLabel && ulaFD.Contains(r.Prefix.Addr())
		if inFD && knownLocalRoot {
			continue // known-local rows share label 14 by design (update draft s3.3)
		}
		knownLocalRoot = knownLocalRoot || inFD
		if len(rs) == 0 {
			labelsInOrder = append(labelsInOrder, r.Value)
		}
		roots[r.Value] = append(rs, r.Prefix)
	}
	for _, v := range labelsInOrder {
		rs := roots[v]
		for _, q := range rs[1:] {
			l.add(CodeSharedLabel, q, "label %d is shared by %s and the unrelated %s: sources in one match destinations in the other (RFC 6724 section 6 rule 5)", v, q, rs[0])
		}
	}
}

// scopes: configured IPv4 scope rules that lose the link-local scopes.
func (l *linter) scopes(t *Table) {
	if !t.scope4Set {
		return
	}
	for _, want := range defaultScope4 {
		if got := t.Scope(want.Prefix.Addr()); got != want.Scope {
			l.add(CodeScopeNoLinkLocal, want.Prefix, "IPv4 scope rules give %s scope %s instead of %s (RFC 6724 section 3.2)", want.Prefix, got, want.Scope)
		}
	}
}
