//go:build linux

package nat64lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/addrselect/nat64"
)

// TestMain runs the child jobs of Lab.RunChild (in a namespace), else
// the tests.
func TestMain(m *testing.M) {
	if job, arg, ok := ChildJob(); ok {
		res, err := runJob(job, arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := Reply(res); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// jobs are the child jobs by name: each decodes its argument and
// returns its result.
var jobs = map[string]func(arg []byte) (any, error){
	"discover": job(jobDiscover),
	"dial":     job(jobDial),
}

// job adapts f to the jobs table: it decodes the argument into a T and
// gives f a context that ends after 30 s.
func job[T any](f func(ctx context.Context, a T) (any, error)) func(arg []byte) (any, error) {
	return func(arg []byte) (any, error) {
		var a T
		if err := json.Unmarshal(arg, &a); err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return f(ctx, a)
	}
}

func runJob(job string, arg []byte) (any, error) {
	f, ok := jobs[job]
	if !ok {
		return nil, fmt.Errorf("unknown job %q", job)
	}
	return f(arg)
}

// resolverFor is the child's resolver: the server given, over UDP.
func resolverFor(server string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, server)
	}}
}

type discoverResult struct {
	Prefixes []netip.Prefix
	Err      string
	NoDNS64  bool // errors.Is(err, nat64.ErrNoDNS64)
}

// jobDiscover runs nat64.Discover through the resolver given.
func jobDiscover(ctx context.Context, server string) (any, error) {
	ps, err := nat64.Discover(ctx, resolverFor(server))
	res := discoverResult{Prefixes: ps, NoDNS64: errors.Is(err, nat64.ErrNoDNS64)}
	if err != nil {
		res.Err = err.Error()
	}
	return res, nil
}

// dialArg is a dial the child makes with an addrselect.Dialer.
type dialArg struct {
	Resolver string // DNS server address
	Address  string // host:port
	NAT64    []netip.Prefix
	Discover bool
}

type dialResult struct {
	Remote, Local string
	Err           string
	Banner        string   // the server's first line
	Attempts      []string // the failed attempts, as AttemptError writes them
}

func jobDial(ctx context.Context, a dialArg) (any, error) {
	d := newDialer(a)
	c, err := d.DialContext(ctx, "tcp", a.Address)
	if err != nil {
		res := dialResult{Err: err.Error()}
		var de *addrselect.DialError
		if errors.As(err, &de) {
			for _, at := range de.Attempts {
				res.Attempts = append(res.Attempts, at.Error())
			}
		}
		return res, nil
	}
	defer c.Close()
	res := dialResult{Remote: c.RemoteAddr().String(), Local: c.LocalAddr().String()}
	c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 128)
	n, _ := c.Read(buf)
	res.Banner = string(buf[:n])
	return res, nil
}

// newDialer is the Dialer the child jobs use: the running system's
// sources (the namespace's), the resolver given, the prefixes given and
// discovery when asked.
func newDialer(a dialArg) *addrselect.Dialer {
	return &addrselect.Dialer{Resolver: resolverFor(a.Resolver), NAT64: a.NAT64, DiscoverNAT64: a.Discover}
}

// TestEndToEnd runs the IPv6-only client against the IPv4-only server
// through the lab's NAT64 and DNS64: discovery, then dials by name and by
// literal, with and without DNS64; then an MX plan and a delivery.
func TestEndToEnd(t *testing.T) {
	l := Start(t)
	t.Run("discover", func(t *testing.T) { testDiscover(t, l) })
	t.Run("dial", func(t *testing.T) { testDial(t, l) })
	t.Run("mx", func(t *testing.T) { testMX(t, l) })
}

// testDiscover: RFC 7050 discovery from the IPv6-only client finds the
// translator's prefix through unbound's DNS64, and no DNS64 through NSD.
func testDiscover(t *testing.T, l *Lab) {
	tests := []struct {
		name   string
		server netip.AddrPort
		want   []netip.Prefix
		none   bool // errors.Is(err, nat64.ErrNoDNS64)
	}{
		{"dns64", DNS64, []netip.Prefix{Prefix}, false},
		{"nsd, no dns64", NSDClient, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res discoverResult
			if err := l.RunChild(context.Background(), l.Client, "discover", tt.server.String(), &res); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Prefixes, tt.want) || res.NoDNS64 != tt.none || (res.Err != "") != tt.none {
				t.Errorf("Discover through %v: %v, error %q; want %v, ErrNoDNS64 %v", tt.server, res.Prefixes, res.Err, tt.want, tt.none)
			}
		})
	}
}

// testDial: the Dialer reaches the IPv4-only server from the IPv6-only
// client by name through DNS64, by IPv4 literal through local synthesis
// (prefix given or discovered), and by name through NSD (no DNS64) by
// synthesizing from the A record; without a prefix the literal fails,
// and the attempt log names the address.
func testDial(t *testing.T, l *Lab) {
	server := net.JoinHostPort(ServerAddr.String(), "25")
	byName := net.JoinHostPort(NameV4Only, "25")
	synthesized := netip.AddrPortFrom(Synthesized, SMTPPort).String()
	tests := []struct {
		name string
		arg  dialArg
		err  string // "" for a connection to the synthesized address
	}{
		{"name through dns64", dialArg{Resolver: DNS64.String(), Address: byName}, ""},
		{"literal, prefix given", dialArg{Resolver: NSDClient.String(), Address: server, NAT64: []netip.Prefix{Prefix}}, ""},
		{"literal, prefix discovered", dialArg{Resolver: DNS64.String(), Address: server, Discover: true}, ""},
		{"name through nsd, prefix given", dialArg{Resolver: NSDClient.String(), Address: byName, NAT64: []netip.Prefix{Prefix}}, ""},
		{"name through dns64, prefix given", dialArg{Resolver: DNS64.String(), Address: byName, NAT64: []netip.Prefix{Prefix}}, ""},
		{"literal, no prefix", dialArg{Resolver: NSDClient.String(), Address: server}, server + ": "},
		{"translated attempt refused: the log names both addresses", dialArg{Resolver: NSDClient.String(),
			Address: net.JoinHostPort(ServerAddr.String(), "26"), NAT64: []netip.Prefix{Prefix}}, "[64:ff9b::6440:50]:26 (NAT64 for 100.64.0.80): "},
		{"literal, no dns64 to discover", dialArg{Resolver: NSDClient.String(), Address: server, Discover: true}, "lookup ip6 ipv4only.arpa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(l.SMTP.Sessions())
			var res dialResult
			if err := l.RunChild(context.Background(), l.Client, "dial", tt.arg, &res); err != nil {
				t.Fatal(err)
			}
			if tt.err != "" {
				if !strings.Contains(res.Err, tt.err) {
					t.Errorf("dial %s: %+v; want an error with %q", tt.arg.Address, res, tt.err)
				}
				return
			}
			if res.Err != "" || res.Remote != synthesized || !strings.HasPrefix(res.Banner, "220 ") {
				t.Fatalf("dial %s: %+v; want %s and a 220 greeting", tt.arg.Address, res, synthesized)
			}
			// The server saw a client from tayga's IPv4 pool.
			s := l.SMTP.Sessions()
			if len(s) <= before || !s[len(s)-1].Addr().Is4() {
				t.Errorf("server sessions %v: want a new IPv4 peer", s)
			}
		})
	}
}
