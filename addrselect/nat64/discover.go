package nat64

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
)

// Resolver looks up the addresses of a name. [*net.Resolver] satisfies
// it, so net.DefaultResolver can be passed as is.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// WellKnownName is the name whose AAAA records reveal the prefixes of a
// DNS64 (RFC 7050 section 3, RFC 8880 section 7.1): it has only A records,
// 192.0.0.170 and 192.0.0.171, so every AAAA answer is synthesized. The
// final dot keeps resolvers from trying search domains.
const WellKnownName = "ipv4only.arpa."

// The well-known IPv4 addresses of [WellKnownName] (RFC 7050 section
// 2.2, RFC 8880 section 2).
var (
	WellKnownAddr1 = netip.AddrFrom4([4]byte{192, 0, 0, 170})
	WellKnownAddr2 = netip.AddrFrom4([4]byte{192, 0, 0, 171})
)

// MaxAnswers bounds the AAAA records [ReadAnswers] examines. A DNS64
// answers with one record per prefix and well-known address, so real
// answers hold a handful; records past the bound are counted as Skipped.
const MaxAnswers = 64

// ErrNoDNS64 means the network's resolver does not synthesize AAAA
// records: the AAAA lookup of [WellKnownName] was answered but holds no
// usable prefix (no records, NXDOMAIN, NODATA, or records without the
// well-known addresses at an RFC 6052 position). RFC 7050 section 3
// asks to honour the negative answer's TTL before asking again; local
// synthesis then needs a prefix from elsewhere (a router advertisement,
// see [PREF64], or configuration).
var ErrNoDNS64 = errors.New("no DNS64: no NAT64 prefix in the AAAA records of ipv4only.arpa")

// Discovery is what the AAAA records of [WellKnownName] reveal.
type Discovery struct {
	// Prefixes holds every distinct prefix found, in the order of the
	// records that first showed it (RFC 7050 section 3 asks to use them
	// in the order received).
	Prefixes []netip.Prefix
	Examined int // records examined, at most MaxAnswers
	Ignored  int // examined records that showed no prefix
	Skipped  int // records past MaxAnswers, not examined
}

// DiscoverError is the error of [Discover]: the lookup failed, or its
// answer showed no prefix. errors.Is(err, ErrNoDNS64) reports a definite
// negative (see [ErrNoDNS64]); a failed lookup's error is wrapped too, so
// a timeout can be told from a negative answer.
type DiscoverError struct {
	Discovery Discovery // what the answer held; zero when the lookup failed
	Err       error     // the resolver's error, or nil
}

// Error says what the discovery found and why it failed.
func (e *DiscoverError) Error() string {
	s := "nat64: discovery through " + WellKnownName + ": "
	if e.Err != nil {
		return s + e.Err.Error()
	}
	d := e.Discovery
	s += ErrNoDNS64.Error()
	if n := d.Examined + d.Skipped; n > 0 {
		s += " (" + strconv.Itoa(n) + " records, " + strconv.Itoa(d.Ignored) + " ignored, " +
			strconv.Itoa(d.Skipped) + " not examined)"
	}
	return s
}

// Unwrap returns ErrNoDNS64 when the answer was a definite negative,
// and the resolver's error when there is one.
func (e *DiscoverError) Unwrap() []error {
	var dnsErr *net.DNSError
	switch {
	case e.Err == nil:
		return []error{ErrNoDNS64}
	case errors.As(e.Err, &dnsErr) && dnsErr.IsNotFound:
		return []error{ErrNoDNS64, e.Err}
	}
	return []error{e.Err}
}

// Discover finds the NAT64 prefixes of the network's DNS64 by the
// heuristic of RFC 7050 section 3: it looks up the AAAA records of
// [WellKnownName] through r (net.DefaultResolver when r is nil) and reads
// them with [ReadAnswers]. It returns at least one prefix, or a
// [*DiscoverError].
//
// The answer is not validated (RFC 7050 section 3.1): anyone who can
// answer the node's DNS queries can choose the prefixes. The caller
// caches the result (section 3 asks to repeat discovery ten seconds
// before the records' TTL expires; the TTL is not visible through
// [Resolver]).
func Discover(ctx context.Context, r Resolver) ([]netip.Prefix, error) {
	if r == nil {
		r = net.DefaultResolver
	}
	answers, err := r.LookupNetIP(ctx, "ip6", WellKnownName)
	if err != nil {
		return nil, &DiscoverError{Err: err}
	}
	d := ReadAnswers(answers)
	if len(d.Prefixes) == 0 {
		return nil, &DiscoverError{Discovery: d}
	}
	return d.Prefixes, nil
}

// ReadAnswers finds NAT64 prefixes in the AAAA records of
// [WellKnownName] (RFC 7050 section 3), examining at most [MaxAnswers]
// records. For each record it looks for 192.0.0.170 and 192.0.0.171 on
// every octet boundary of the 120 bits left once bits 64-71 (which must
// be zero) are removed, the view of RFC 6052 section 2.3. A well-known
// address found once, at the position a prefix length allows (RFC 6052
// section 2.2), gives that prefix; one found twice is ambiguous and
// gives nothing, and the record is searched for the other well-known
// address instead (RFC 7050 section 3). When both addresses are found
// once each, the reading that leaves a zero suffix wins (RFC 6052
// section 2.2: the suffix SHOULD be zero); without one the record is
// ignored. Records that are not IPv6 are ignored.
func ReadAnswers(answers []netip.Addr) Discovery {
	var d Discovery
	if len(answers) > MaxAnswers {
		d.Skipped = len(answers) - MaxAnswers
		answers = answers[:MaxAnswers]
	}
	d.Examined = len(answers)
	for _, a := range answers {
		p, ok := readAnswer(a)
		if !ok {
			d.Ignored++
			continue
		}
		if !slices.Contains(d.Prefixes, p) {
			d.Prefixes = append(d.Prefixes, p)
		}
	}
	return d
}

// wkaOffsets maps an octet offset in the 15-octet sequence (the address
// without octet 8) to the prefix length that puts the IPv4 address there;
// zero where no RFC 6052 length does.
var wkaOffsets = [12]uint8{4: 32, 5: 40, 6: 48, 7: 56, 8: 64, 11: 96}

// readAnswer returns the prefix one AAAA record shows.
func readAnswer(a netip.Addr) (netip.Prefix, bool) {
	if !a.Is6() || a.Is4In6() {
		return netip.Prefix{}, false
	}
	b := a.As16()
	if b[8] != 0 { // bits 64-71 must be zero
		return netip.Prefix{}, false
	}
	var s [15]byte
	copy(s[:8], b[:8])
	copy(s[8:], b[9:])
	best := -1
	for _, w := range [2]netip.Addr{WellKnownAddr1, WellKnownAddr2} {
		off, ok := findOnce(&s, w.As4())
		if !ok || wkaOffsets[off] == 0 {
			continue
		}
		switch {
		case best < 0:
			best = off
		case zeroAfter(&s, off+4):
			best = off
		case !zeroAfter(&s, best+4):
			return netip.Prefix{}, false // two readings, neither clean
		}
	}
	if best < 0 {
		return netip.Prefix{}, false
	}
	p := netip.PrefixFrom(a, int(wkaOffsets[best])).Masked()
	return p, CheckPrefix(p) == nil
}

// findOnce returns the octet offset of w in s when w occurs exactly once.
func findOnce(s *[15]byte, w [4]byte) (int, bool) {
	at, n := 0, 0
	for i := 0; i+4 <= len(s); i++ {
		if [4]byte(s[i:i+4]) == w {
			at, n = i, n+1
		}
	}
	return at, n == 1
}

// zeroAfter reports whether s[i:] is all zero.
func zeroAfter(s *[15]byte, i int) bool {
	return !slices.ContainsFunc(s[i:], func(c byte) bool { return c != 0 })
}
