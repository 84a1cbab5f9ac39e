package mxorder

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// mxInputCap bounds the MX records examined at all, whatever MaxMX says:
// a DNS message of at most 65535 octets (RFC 1035 section 4.2.2) holds
// fewer than 4400 MX records.
const mxInputCap = 4096

// entries turns the MX records into sorted, validated, bounded entries
// (RFC 5321 section 5.1, RFC 7505).
func (p *Planner) entries(plan *Plan, mx []*net.MX) ([]entry, error) {
	mx, records, nulls := capRecords(plan, mx)
	if records == 0 {
		// RFC 5321 section 5.1: no MX records: the domain itself is an
		// implicit MX of preference 0.
		plan.Implicit = true
		return []entry{{name: plan.Domain, raw: plan.Domain}}, nil
	}
	// RFC 7505 section 3: a null MX is a single "." record, without
	// fallback to address records; for "." among others see NullMXPolicy.
	if nulls == records || (nulls > 0 && p.NullMX == NullMXFail) {
		return nil, &domainError{plan.Domain, ErrNullMX}
	}
	entries := make([]entry, 0, records-nulls)
	for _, m := range mx {
		switch {
		case m == nil:
		case isNullMX(m):
			plan.skip(&entry{name: ".", pref: m.Pref}, netip.Addr{}, SkipNullMX, "null MX mixed with other MX records (RFC 7505 section 3)")
		default:
			n, reason := normalize(m.Host)
			if reason != "" {
				plan.skip(&entry{name: printableName(m.Host), pref: m.Pref}, netip.Addr{}, SkipInvalidName, reason)
				continue
			}
			entries = append(entries, entry{name: n, raw: m.Host, pref: m.Pref})
		}
	}
	// RFC 5321 section 5.1: lower preference first. Stable, so that
	// equal preferences stay in record order until shuffled.
	slices.SortStableFunc(entries, func(a, b entry) int { return cmp.Compare(a.pref, b.pref) })
	if limit := p.maxMX(); len(entries) > limit {
		plan.Truncated.MX += len(entries) - limit
		detail := "beyond the limit of " + strconv.Itoa(limit) + " MX records"
		for i := range entries[limit:] {
			plan.skip(&entries[limit+i], netip.Addr{}, SkipMXLimit, detail)
		}
		entries = entries[:limit]
	}
	return dedupHosts(plan, entries), nil
}

// capRecords returns the first mxInputCap records of mx (nil ones do
// not count), how many that is and how many are null MX; the rest are
// counted in Truncated.MX and summarised in one Skip.
func capRecords(plan *Plan, mx []*net.MX) (capped []*net.MX, records, nulls int) {
	end, beyond := len(mx), 0
	for i, m := range mx {
		switch {
		case m == nil:
		case records == mxInputCap:
			end = min(end, i)
			beyond++
		default:
			records++
			if isNullMX(m) {
				nulls++
			}
		}
	}
	if beyond > 0 {
		plan.Truncated.MX += beyond
		plan.Skipped = append(plan.Skipped, Skip{Host: plan.Domain, Reason: SkipMXLimit,
			Detail: strconv.Itoa(beyond) + " MX records beyond the first " + strconv.Itoa(mxInputCap) + " not examined"})
	}
	return mx[:end], records, nulls
}

// maxPrintedName bounds the text of an invalid exchange name kept in a
// Skip (a name from DNS is at most 255 octets, RFC 1035 section 2.3.4).
const maxPrintedName = 256

// printableName returns an invalid exchange name as a Skip keeps it:
// valid UTF-8 and at most maxPrintedName bytes, a cut marked "...".
func printableName(n string) string {
	n = strings.ToValidUTF8(n, "\uFFFD")
	if len(n) <= maxPrintedName {
		return n
	}
	cut := maxPrintedName
	for cut > 0 && !utf8.RuneStart(n[cut]) {
		cut--
	}
	return n[:cut] + "..."
}

// isNullMX reports whether m is a null MX record, exchange "." (RFC 7505
// section 3); an empty exchange is an invalid name instead.
func isNullMX(m *net.MX) bool { return m.Host == "." }

// dedupHosts keeps the first (best) entry of each host name and reports
// the others.
func dedupHosts(plan *Plan, entries []entry) []entry {
	seen := make(map[string]struct{}, len(entries))
	return slices.DeleteFunc(entries, func(e entry) bool {
		if _, dup := seen[e.name]; dup {
			plan.skip(&e, netip.Addr{}, SkipDuplicate, "host listed more than once")
			return true
		}
		seen[e.name] = struct{}{}
		return false
	})
}

// shuffleRuns randomises the order within each run of equal preference
// (RFC 5321 section 5.1: equal preferences MUST be randomised to spread
// the load) with a Fisher-Yates shuffle.
func shuffleRuns(entries []entry, r *rng) {
	for i := 0; i < len(entries); {
		j := i + 1
		for j < len(entries) && entries[j].pref == entries[i].pref {
			j++
		}
		run := entries[i:j]
		for k := len(run) - 1; k > 0; k-- {
			m := r.intn(k + 1)
			run[k], run[m] = run[m], run[k]
		}
		i = j
	}
}

func lookupAddrs(addrs map[string]HostAddrs, e *entry) HostAddrs {
	if ha, ok := addrs[e.name]; ok {
		return ha
	}
	return addrs[e.raw]
}

func noFamilyDetail(f Family) string {
	if f == IPv4 {
		return "sender cannot use IPv4"
	}
	return "sender cannot use IPv6"
}

func (plan *Plan) skip(e *entry, a netip.Addr, r SkipReason, detail string) {
	plan.Skipped = append(plan.Skipped, Skip{Host: e.name, Preference: e.pref, Addr: a, Reason: r, Detail: detail})
}
