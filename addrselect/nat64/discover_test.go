package nat64_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/addrselect/nat64"
)

var _ nat64.Resolver = net.DefaultResolver

// fakeResolver answers every lookup with addrs or err and records the
// question.
type fakeResolver struct {
	addrs         []netip.Addr
	err           error
	network, host string
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.network, r.host = network, host
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.addrs, r.err
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, mustAddr(s))
	}
	return out
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, mustPrefix(s))
	}
	return out
}

// repeat returns n copies of s.
func repeat(n int, s string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name    string
		answers []netip.Addr
		want    []netip.Prefix
		ignored int
		skipped int
	}{
		{"wkp", addrs("64:ff9b::192.0.0.170", "64:ff9b::192.0.0.171"), prefixes("64:ff9b::/96"), 0, 0},
		{"wkp-one-record", addrs("64:ff9b::192.0.0.171"), prefixes("64:ff9b::/96"), 0, 0},
		// Each RFC 6052 prefix length, the RFC 6052 section 2.4 prefixes
		// carrying the well-known addresses.
		{"nsp-32", addrs("2001:db8:c000:aa::", "2001:db8:c000:ab::"), prefixes("2001:db8::/32"), 0, 0},
		{"nsp-40", addrs("2001:db8:1c0:0:aa::"), prefixes("2001:db8:100::/40"), 0, 0},
		{"nsp-48", addrs("2001:db8:122:c000:0:ab00::"), prefixes("2001:db8:122::/48"), 0, 0},
		{"nsp-56", addrs("2001:db8:122:3c0:0:aa::"), prefixes("2001:db8:122:300::/56"), 0, 0},
		{"nsp-64", addrs("2001:db8:122:344:c0:0:aa00:0"), prefixes("2001:db8:122:344::/64"), 0, 0},
		{"nsp-96", addrs("2001:db8:122:344::192.0.0.171"), prefixes("2001:db8:122:344::/96"), 0, 0},
		{"local-use", addrs("64:ff9b:1::192.0.0.170"), prefixes("64:ff9b:1::/96"), 0, 0},
		// RFC 7050 section 3.4's example: three prefixes, in the order received.
		{"rfc7050-example", addrs("2001:db8:42::192.0.0.170", "2001:db8:43::192.0.0.170", "64:ff9b::192.0.0.170"),
			prefixes("2001:db8:42::/96", "2001:db8:43::/96", "64:ff9b::/96"), 0, 0},
		{"order-kept", addrs("2001:db8:43::192.0.0.170", "2001:db8:42::192.0.0.171", "2001:db8:43::192.0.0.171"),
			prefixes("2001:db8:43::/96", "2001:db8:42::/96"), 0, 0},
		{"mixed-lengths", addrs("2001:db8:c000:aa::", "64:ff9b::192.0.0.170"),
			prefixes("2001:db8::/32", "64:ff9b::/96"), 0, 0},
		// The prefix holds 192.0.0.170 at the /32 position: the .170
		// record is ambiguous (found twice) and ignored; the .171 record
		// reads as a /32 with a non-zero suffix or as a /96 with none,
		// and the /96 wins.
		{"wka-inside-prefix", addrs("2001:db8:c000:aa::192.0.0.170", "2001:db8:c000:aa::192.0.0.171"),
			prefixes("2001:db8:c000:aa::/96"), 1, 0},
		{"suffix-not-zero", addrs("2001:db8:c000:aa:0:1:2:3"), prefixes("2001:db8::/32"), 0, 0},
		{"junk-around-one", addrs("2001:db8::1", "64:ff9b::192.0.0.170", "192.0.0.170", "::ffff:192.0.0.171"),
			prefixes("64:ff9b::/96"), 3, 0},
		{"duplicates", append(addrs(repeat(40, "64:ff9b::192.0.0.170")...), addrs(repeat(40, "64:ff9b::192.0.0.171")...)...),
			prefixes("64:ff9b::/96"), 0, 80 - nat64.MaxAnswers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeResolver{addrs: tt.answers}
			got, err := nat64.Discover(context.Background(), r)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Discover = %v, %v; want %v", got, err, tt.want)
			}
			if r.network != "ip6" || r.host != "ipv4only.arpa." {
				t.Errorf("Discover asked LookupNetIP(%q, %q); want (\"ip6\", \"ipv4only.arpa.\")", r.network, r.host)
			}
			d := nat64.ReadAnswers(tt.answers)
			if d.Ignored != tt.ignored || d.Skipped != tt.skipped || d.Examined != len(tt.answers)-tt.skipped {
				t.Errorf("ReadAnswers: examined %d, ignored %d, skipped %d; want %d, %d, %d",
					d.Examined, d.Ignored, d.Skipped, len(tt.answers)-tt.skipped, tt.ignored, tt.skipped)
			}
			for _, p := range got {
				if _, err := nat64.Synthesize(p, mustAddr("8.8.8.8")); err != nil {
					t.Errorf("discovered prefix %s unusable: %v", p, err)
				}
			}
		})
	}
}

// TestDiscoverNoDNS64 covers answers with no usable prefix, hostile ones
// included, and failed lookups.
func TestDiscoverNoDNS64(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	junk := addrs(repeat(1000, "2001:db8::1")...)
	junk[999] = mustAddr("64:ff9b::192.0.0.170") // beyond MaxAnswers: not examined
	tests := []struct {
		name     string
		ctx      context.Context
		r        *fakeResolver
		noDNS64  bool  // errors.Is(err, ErrNoDNS64)
		wrapped  error // errors.Is(err, wrapped) when non-nil
		examined int
		ignored  int
	}{
		{"empty", nil, &fakeResolver{}, true, nil, 0, 0},
		{"nxdomain", nil, &fakeResolver{err: &net.DNSError{Err: "no such host", Name: "ipv4only.arpa.", IsNotFound: true}}, true, nil, 0, 0},
		{"timeout", nil, &fakeResolver{err: &net.DNSError{Err: "i/o timeout", IsTimeout: true}}, false, nil, 0, 0},
		{"canceled", canceled, &fakeResolver{}, false, context.Canceled, 0, 0},
		{"plain-aaaa", nil, &fakeResolver{addrs: addrs("2001:db8::1", "2001:db8::2")}, true, nil, 2, 2},
		{"wka-not-on-a-position", nil, &fakeResolver{addrs: addrs("c000:aa::", "2001:c000:aa::", "2001:db8::c000:aa:0")}, true, nil, 3, 3},
		{"u-octet-set", nil, &fakeResolver{addrs: addrs("2001:db8:c000:aa:100::")}, true, nil, 1, 1},
		{"wka-twice", nil, &fakeResolver{addrs: addrs("2001:db8:c000:aa::192.0.0.170")}, true, nil, 1, 1},
		{"both-wkas-suffixes-not-zero", nil, &fakeResolver{addrs: addrs("2001:db8:c000:aa:c0:0:ab00:1")}, true, nil, 1, 1},
		{"ipv4-answers", nil, &fakeResolver{addrs: addrs("192.0.0.170", "::ffff:192.0.0.171")}, true, nil, 2, 2},
		{"hostile-flood", nil, &fakeResolver{addrs: junk}, true, nil, nat64.MaxAnswers, nat64.MaxAnswers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			got, err := nat64.Discover(ctx, tt.r)
			if err == nil || got != nil {
				t.Fatalf("Discover = %v, %v; want an error", got, err)
			}
			if errors.Is(err, nat64.ErrNoDNS64) != tt.noDNS64 {
				t.Errorf("errors.Is(%v, ErrNoDNS64) = %v; want %v", err, !tt.noDNS64, tt.noDNS64)
			}
			if tt.r.err != nil && !errors.Is(err, tt.r.err) {
				t.Errorf("Discover error %v does not wrap the resolver's %v", err, tt.r.err)
			}
			if tt.wrapped != nil && !errors.Is(err, tt.wrapped) {
				t.Errorf("Discover error %v does not wrap %v", err, tt.wrapped)
			}
			var de *nat64.DiscoverError
			if !errors.As(err, &de) {
				t.Fatalf("Discover error %T is not a *DiscoverError", err)
			}
			if de.Discovery.Examined != tt.examined || de.Discovery.Ignored != tt.ignored {
				t.Errorf("Discovery examined %d, ignored %d; want %d, %d", de.Discovery.Examined, de.Discovery.Ignored, tt.examined, tt.ignored)
			}
			if !strings.Contains(err.Error(), "ipv4only.arpa") {
				t.Errorf("error %q does not name the query", err)
			}
		})
	}
}

// TestReadAnswersBounded checks that a huge answer costs no more than
// MaxAnswers records' work: the allocations do not grow with it.
func TestReadAnswersBounded(t *testing.T) {
	small := slices.Repeat(addrs("2001:db8:43::192.0.0.170"), nat64.MaxAnswers)
	huge := slices.Repeat(small, 100000/nat64.MaxAnswers)
	a1 := testing.AllocsPerRun(20, func() { sinkDiscovery = nat64.ReadAnswers(small) })
	a2 := testing.AllocsPerRun(20, func() { sinkDiscovery = nat64.ReadAnswers(huge) })
	if a1 != a2 || a2 > 1 {
		t.Errorf("ReadAnswers allocations: %v for %d records, %v for %d; want equal, at most 1", a1, len(small), a2, len(huge))
	}
	if d := nat64.ReadAnswers(huge); d.Skipped != len(huge)-nat64.MaxAnswers || len(d.Prefixes) != 1 {
		t.Errorf("ReadAnswers(huge) = %+v", d)
	}
}

var sinkDiscovery nat64.Discovery

// FuzzReadAnswers reads any list of IPv6 addresses (16 octets each) and
// checks the counts and that every prefix is usable and covers an
// examined record.
func FuzzReadAnswers(f *testing.F) {
	for _, ss := range [][]string{
		{"64:ff9b::192.0.0.170", "64:ff9b::192.0.0.171"},
		{"2001:db8:c000:aa::192.0.0.170", "2001:db8:c000:aa::192.0.0.171"},
		{"2001:db8:122:344:c0:0:aa00:0", "2001:db8:1c0:0:aa::"},
	} {
		var b []byte
		for _, a := range addrs(ss...) {
			a16 := a.As16()
			b = append(b, a16[:]...)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var answers []netip.Addr
		for ; len(b) >= 16; b = b[16:] {
			answers = append(answers, netip.AddrFrom16([16]byte(b[:16])))
		}
		d := nat64.ReadAnswers(answers)
		if d.Examined+d.Skipped != len(answers) || d.Examined > nat64.MaxAnswers || len(d.Prefixes) > d.Examined-d.Ignored {
			t.Fatalf("ReadAnswers(%v) = %+v: counts do not add up", answers, d)
		}
		for i, p := range d.Prefixes {
			if err := nat64.CheckPrefix(p); err != nil || slices.Contains(d.Prefixes[:i], p) {
				t.Fatalf("ReadAnswers(%v) = %+v: prefix %s invalid (%v) or repeated", answers, d, p, err)
			}
			if !slices.ContainsFunc(answers[:d.Examined], p.Contains) {
				t.Fatalf("ReadAnswers(%v) = %+v: prefix %s covers no record", answers, d, p)
			}
		}
	})
}
