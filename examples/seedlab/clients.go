package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// Scenario 6. The study's clients: Outlook 2007/2010 took the first
// address and never fell back to IPv4; macOS 10.6's mDNSResponder sent the
// A and AAAA queries at once and used whichever answer came first, so an
// IPv6-only host failed whenever the empty A answer (NOERROR, no data)
// arrived before the AAAA answer. addrselect.Dialer does what RFC 8305
// asks instead: wait for AAAA within the resolution delay, try the
// addresses of both families in turn, fall back on failure.
//
// Nothing here touches the network: DNS is an in-memory resolver and the
// connection attempts are a fake dial function.

// A dual-stack client on a network with working IPv4 and IPv6.
const clientHost = "2001:db8:1::11/64, 192.0.2.11/24; route v4 default; route v6 default"

// clientDNS: smtp.example.com publishes an AAAA although its submission
// service listens on IPv4 only; imap.v6.example.com has only an AAAA, and
// its (empty) A answer comes back 150 ms before the AAAA answer (a wide
// margin, so that the race has the same winner on a loaded machine).
func clientDNS() *mxordertest.Resolver {
	return mxordertest.New().
		Host("smtp.example.com", "2001:db8:87::587", "192.0.2.87").
		Host("imap.v6.example.com", "2001:db8:6::143").
		Delay("imap.v6.example.com", 150*time.Millisecond, mxordertest.TypeAAAA)
}

// refused lists the simulated servers' addresses that refuse connections:
// the submission service does not listen on IPv6.
var refused = map[netip.Addr]bool{netip.MustParseAddr("2001:db8:87::587"): true}

// fakeNet records the connection attempts and answers them from refused.
type fakeNet struct {
	mu       sync.Mutex
	attempts []string
}

func (f *fakeNet) dial(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.attempts = append(f.attempts, ap.Addr().String())
	f.mu.Unlock()
	if refused[ap.Addr()] {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: net.TCPAddrFromAddrPort(ap), Err: syscall.ECONNREFUSED}
	}
	c, peer := net.Pipe()
	peer.Close()
	return c, nil
}

func (f *fakeNet) tried() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.attempts...)
}

func clients(ctx context.Context) (Result, error) {
	r := Result{
		Study: "Outlook 2007/2010 never fell back to IPv4; macOS 10.6's mDNSResponder queried A and AAAA at once and took only the first answer: " +
			"twice the DNS load, a random family, no fallback, and failure when only AAAA exists but the empty A answer arrives first.",
		Consequence: "announcing an AAAA for a service that does not answer over IPv6 locks out every client without fallback, " +
			"and IPv6-only services are unreachable for first-answer resolvers whenever the A answer wins the race.",
		Advice: []string{adviceAAAA, adviceFallback, adviceMonitor},
	}
	host := mustHost(clientHost, nil)
	sel := addrselect.RFC6724()

	// a. A client that takes the first address and never falls back.
	dns := clientDNS()
	var found []netip.Addr
	for _, n := range []string{"ip6", "ip4"} {
		as, err := dns.LookupNetIP(ctx, n, "smtp.example.com")
		if err != nil {
			return r, err
		}
		found = append(found, as...)
	}
	sorted, err := sel.Sort(ctx, found, host)
	if err != nil {
		return r, err
	}
	fn := &fakeNet{}
	st := Step{Title: "a client without fallback (Outlook 2007/2010) submits to smtp.example.com:587"}
	st.Rule, st.Reason = explain(profile{"rfc6724", sel}, sorted)
	if _, err := fn.dial(ctx, "tcp", netip.AddrPortFrom(sorted[0].Addr, 587).String()); err != nil {
		st.Error = err.Error()
		st.Decision = fmt.Sprintf("tries only %s, the first address, which refuses; %s is never tried: submission fails", sorted[0].Addr, sorted[1].Addr)
	} else {
		st.Decision = fmt.Sprintf("connects to %s", sorted[0].Addr)
	}
	st.Order = fn.tried()
	st.Details = []string{"sorted: " + orderLine(sorted), "attempts: " + strings.Join(st.Order, ", ")}
	r.Steps = append(r.Steps, st)

	// b. The same with addrselect.Dialer.
	st, err = dialStep(ctx, "addrselect.Dialer (RFC 8305) submits to smtp.example.com:587", host, "smtp.example.com:587")
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, st)

	// c. A resolver that takes the first of the A and AAAA answers.
	dns = clientDNS()
	st = Step{Title: "a first-answer resolver (macOS 10.6 mDNSResponder) looks up imap.v6.example.com"}
	network, as, err := firstAnswer(ctx, dns, "imap.v6.example.com")
	queries := dns.Count(mxordertest.AnyType, "imap.v6.example.com")
	st.Details = []string{fmt.Sprintf("%d queries for one lookup (A and AAAA at once); the first answer is the %s one", queries, network)}
	if err != nil {
		st.Error = err.Error()
		st.Decision = "the empty A answer arrives first and is taken as the result: no address, the IPv6-only host is unreachable"
	} else {
		st.Decision = "uses " + joinAddrs(as)
		st.Order = []string{as[0].String()}
	}
	st.Rule, st.Reason = "RFC 8305 section 3", "an empty or early A answer must not end the lookup: the AAAA answer is still pending"
	r.Steps = append(r.Steps, st)

	// d. The same with addrselect.Dialer.
	st, err = dialStep(ctx, "addrselect.Dialer (RFC 8305) connects to imap.v6.example.com:993", host, "imap.v6.example.com:993")
	if err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, st)
	return r, nil
}

// dialStep connects to address with an addrselect.Dialer over the fake
// network. Order holds the addresses it tried, in order.
func dialStep(ctx context.Context, title string, host *addrselect.Host, address string) (Step, error) {
	fn := &fakeNet{}
	d := &addrselect.Dialer{
		Selector:     addrselect.RFC6724(),
		Sources:      host,
		Resolver:     clientDNS(),
		AttemptDelay: addrselect.MinAttemptDelay,
		// Both answers of smtp.example.com come at once; a long
		// resolution delay makes sure the AAAA answer is waited for
		// even on a loaded machine, so the output never changes.
		ResolutionDelay: time.Second,
		Dial:            fn.dial,
	}
	st := Step{Title: title}
	c, err := d.DialContext(ctx, "tcp", address)
	st.Order = fn.tried()
	st.Details = []string{"attempts: " + strings.Join(st.Order, ", ")}
	if err != nil {
		var de *addrselect.DialError
		if !errors.As(err, &de) {
			return st, err
		}
		st.Error = err.Error()
		st.Decision = "fails"
		return st, nil
	}
	c.Close()
	last := st.Order[len(st.Order)-1]
	st.Decision = "connects to " + last
	if len(st.Order) > 1 {
		st.Decision += fmt.Sprintf(" after %d failed attempt(s): it falls back to the other family", len(st.Order)-1)
		st.Rule, st.Reason = "RFC 8305 section 5", "a failed attempt starts the next address at once, alternating families"
	} else {
		st.Rule, st.Reason = "RFC 8305 section 3", "the Dialer waits for the AAAA answer when the A answer brings no address"
	}
	return st, nil
}

// firstAnswer looks host up the way mDNSResponder did in macOS 10.6: A
// and AAAA at once, the first answer wins, the other is ignored. It
// returns the network ("A" or "AAAA") of the answer it used.
func firstAnswer(ctx context.Context, res addrselect.Resolver, host string) (string, []netip.Addr, error) {
	type answer struct {
		network string
		addrs   []netip.Addr
		err     error
	}
	ch := make(chan answer, 2)
	for _, q := range []struct{ network, name string }{{"ip4", "A"}, {"ip6", "AAAA"}} {
		go func() {
			as, err := res.LookupNetIP(ctx, q.network, host)
			ch <- answer{q.name, as, err}
		}()
	}
	first := <-ch
	<-ch // the second answer arrives, and is ignored
	return first.network, first.addrs, first.err
}
