package fuzz

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect"
)

// dialNetworks are the networks FuzzDialerAddress picks from.
var dialNetworks = []string{"tcp", "tcp4", "tcp6", "udp", "udp6", ""}

// dialerSeeds are addresses from the addrselect unit tests and examples,
// good and bad.
var dialerSeeds = []string{
	"[2001:db8::1]:25",
	"192.0.2.1:587",
	"mail.example.org:25",
	"mail.example.org:smtp",
	"[fe80::1%eth0]:993",
	"[::ffff:192.0.2.1]:25",
	"192.0.2.1:65536",
	"192.0.2.1:-1",
	"192.0.2.1:+25",
	"[2001:db8::1]",
	"2001:db8::1:25",
	"host",
	":0",
	"[]:1",
	"a:b:c",
	"[::1%]:80",
	"xn--bcher-kva.example:25",
}

// fuzzDialResolver answers each family with addresses from the fuzz
// input, or fails, and records what it was asked.
type fuzzDialResolver struct {
	answers map[string][]netip.Addr
	fail    map[string]bool

	mu    sync.Mutex
	asked []string // "network host"
}

var errFuzzLookup = errors.New("fuzz: no such host")

func (r *fuzzDialResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	r.asked = append(r.asked, network+" "+host)
	r.mu.Unlock()
	if r.fail[network] {
		return nil, errFuzzLookup
	}
	return r.answers[network], nil
}

// nopConn is the connection every fuzzed attempt makes.
type nopConn struct{ net.Conn }

func (nopConn) Close() error { return nil }

// dialFuzzHost routes both families, so that no address is unusable.
var dialFuzzHost = func() *addrselect.Host {
	h, err := addrselect.ParseHost("2001:db8:1::2/64 dev eth0, 192.0.2.2/24 dev eth0, fe80::2/64 dev eth0; route v4 default dev eth0; route v6 default dev eth0")
	if err != nil {
		panic(err)
	}
	return h
}()

// FuzzDialerAddress: Dialer.DialContext parses "host:port" (a literal or
// a name, a port number or service name) without panicking, on any
// network. Every attempt succeeds, so:
//   - a dial of a literal address with a numeric port of an allowed
//     family connects to exactly that address and port, without a lookup;
//   - a dial that connects made one attempt, to an address the resolver
//     gave (or the literal), of a family the network allows, on the
//     parsed port;
//   - a dial that fails returns a *DialError for the same network and
//     address, with a reason (Err), no failed attempt, at most one failed
//     lookup per family, and a message bounded by the input;
//   - the resolver is asked only for the host part, only for families
//     the network allows.
func FuzzDialerAddress(f *testing.F) {
	for i, s := range dialerSeeds {
		f.Add(byte(i), s, []byte{0x21, 2, 192, 0, 2, 5, 0x20, 1, 0x0d, 0xb8, 15: 9}, byte(i&3))
	}
	f.Fuzz(func(t *testing.T, netSel byte, address string, answers []byte, failMask byte) {
		network := dialNetworks[int(netSel)%len(dialNetworks)]
		res := fuzzDialResolver{
			answers: fuzzAnswers(answers),
			fail:    map[string]bool{"ip4": failMask&1 != 0, "ip6": failMask&2 != 0},
		}
		var mu sync.Mutex
		var dialled []string
		d := &addrselect.Dialer{
			Selector: addrselect.RFC6724(),
			Sources:  dialFuzzHost,
			Resolver: &res,
			// Do not wait for AAAA: the answers are all there.
			ResolutionDelay: -1,
			Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
				mu.Lock()
				dialled = append(dialled, address)
				mu.Unlock()
				return nopConn{}, nil
			},
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := d.DialContext(ctx, network, address)
		mu.Lock()
		defer mu.Unlock()
		host, portText, splitErr := net.SplitHostPort(address)
		checkResolverAsked(t, network, host, &res)
		if err != nil {
			checkDialFailure(t, network, address, host, err)
			if lit, ok := literalDial(network, host, portText, splitErr); ok {
				t.Fatalf("DialContext(%q, %q) = %v; want a connection to %v", network, address, err, lit)
			}
			return
		}
		if conn == nil || len(dialled) != 1 || splitErr != nil {
			t.Fatalf("DialContext(%q, %q): conn %v, attempts %q, split error %v; want one attempt", network, address, conn, dialled, splitErr)
		}
		got, perr := netip.ParseAddrPort(dialled[0])
		if perr != nil {
			t.Fatalf("DialContext(%q, %q) dialled %q: %v", network, address, dialled[0], perr)
		}
		if p, nerr := strconv.ParseUint(portText, 10, 16); nerr == nil && uint16(p) != got.Port() {
			t.Fatalf("DialContext(%q, %q) dialled port %d; want %d", network, address, got.Port(), p)
		}
		if !familyAllowed(network, got.Addr()) {
			t.Fatalf("DialContext(%q, %q) dialled %v, of a family %q does not allow", network, address, got, network)
		}
		if lit, ok := literalDial(network, host, portText, splitErr); ok && got != lit {
			t.Fatalf("DialContext(%q, %q) dialled %v; want %v", network, address, got, lit)
		}
		if _, isLit := netip.ParseAddr(host); isLit != nil && !slices.ContainsFunc(append(res.answers["ip4"], res.answers["ip6"]...), func(a netip.Addr) bool { return a.Unmap() == got.Addr() }) {
			t.Fatalf("DialContext(%q, %q) dialled %v, which the resolver did not give", network, address, got)
		}
	})
}

// fuzzAnswers decodes the resolver's answers: a byte of form (bit 0:
// IPv6, bit 4: IPv4-mapped, bit 5: a zone), then the address; at most 100
// addresses, more than a Dialer takes (MaxDialAddrs).
func fuzzAnswers(b []byte) map[string][]netip.Addr {
	r := &byteReader{b: b}
	out := map[string][]netip.Addr{}
	for n := 0; n < 100 && !r.empty(); n++ {
		form := r.byte() &^ 0x40 // never the zero Addr
		a := r.addr(form&1 == 0, form)
		if a.Unmap().Is4() {
			out["ip4"] = append(out["ip4"], a)
		} else {
			out["ip6"] = append(out["ip6"], a)
		}
	}
	return out
}

// familyAllowed reports whether network (tcp, tcp4, tcp6, ...) allows
// a's family.
func familyAllowed(network string, a netip.Addr) bool {
	switch {
	case strings.HasSuffix(network, "4"):
		return a.Unmap().Is4()
	case strings.HasSuffix(network, "6"):
		return a.Unmap().Is6()
	}
	return true
}

// literalDial returns the address a dial of a literal host with a numeric
// port must connect to, if the dial is one.
func literalDial(network, host, portText string, splitErr error) (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(host)
	p, perr := strconv.ParseUint(portText, 10, 16)
	if splitErr != nil || err != nil || perr != nil || !familyAllowed(network, a) {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), true
}

// checkResolverAsked checks that the resolver was asked only for host, of
// families network allows, and not at all for a literal.
func checkResolverAsked(t *testing.T, network, host string, res *fuzzDialResolver) {
	t.Helper()
	res.mu.Lock()
	defer res.mu.Unlock()
	if _, err := netip.ParseAddr(host); err == nil && len(res.asked) > 0 {
		t.Fatalf("a dial of the literal %q asked the resolver %q", host, res.asked)
	}
	for _, q := range res.asked {
		fam, name, _ := strings.Cut(q, " ")
		wrongFamily := (fam == "ip4" && strings.HasSuffix(network, "6")) || (fam == "ip6" && strings.HasSuffix(network, "4"))
		if name != host || wrongFamily || (fam != "ip4" && fam != "ip6") {
			t.Fatalf("network %q, host %q: the resolver was asked %q", network, host, q)
		}
	}
}

// checkDialFailure checks a failed dial's error.
func checkDialFailure(t *testing.T, network, address, host string, err error) {
	t.Helper()
	var de *addrselect.DialError
	if !errors.As(err, &de) {
		t.Fatalf("DialContext(%q, %q) = %v; want a *DialError", network, address, err)
	}
	if de.Network != network || de.Address != address || de.Err == nil || len(de.Attempts) != 0 || len(de.Lookups) > 2 {
		t.Fatalf("DialContext(%q, %q) = %+v; want that dial, a reason and no failed attempt", network, address, de)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DialContext(%q, %q) ran into the 5 s deadline: %v", network, address, err)
	}
	for _, l := range de.Lookups {
		if l.Host != host || !errors.Is(l, errFuzzLookup) {
			t.Fatalf("DialContext(%q, %q): lookup error %+v; want one for %q", network, address, l, host)
		}
	}
	if n, limit := len(err.Error()), 512+3*len(address); n > limit {
		t.Fatalf("DialContext(%q, %.80q): a message of %d bytes; want at most %d", network, address, n, limit)
	}
}
