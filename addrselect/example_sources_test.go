package addrselect_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/dualstack/dualstack/addrselect"
)

// A described host (no sockets): which address would it talk to first,
// and from which source?
func ExampleSelector_Sort() {
	host, err := addrselect.ParseHost(`
		2001:db8:1::2/64 dev eth0, 2001:db8:1::99/64 temporary dev eth0, fe80::2/64 dev eth0
		10.1.2.4/8 dev eth0
		route v4 default via 10.0.0.1
		route v6 default via fe80::1 dev eth0`)
	if err != nil {
		fmt.Println(err)
		return
	}
	dsts := []netip.Addr{
		netip.MustParseAddr("198.51.100.7"),
		netip.MustParseAddr("2001:db8:2::25"),
		netip.MustParseAddr("fe80::25"), // no zone: no link to send it on
	}
	sorted, err := addrselect.RFC6724().Sort(context.Background(), dsts, host)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range sorted {
		if !d.Source.IsValid() {
			fmt.Printf("%-15s unusable\n", d.Addr)
			continue
		}
		fmt.Printf("%-15s from %s\n", d.Addr, d.Source.Addr)
	}
	// Output:
	// 2001:db8:2::25  from 2001:db8:1::99
	// 198.51.100.7    from 10.1.2.4
	// fe80::25        unusable
}

func ExampleParseHost() {
	h, err := addrselect.ParseHost("2001:db8::1/64 temporary, 192.0.2.10/24, fe80::1/64 dev eth0; route v4 default; route v6 default")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h)

	_, err = addrselect.ParseHost("2001:db8::1/64 temprary")
	var pe *addrselect.HostParseError
	if errors.As(err, &pe) {
		fmt.Printf("offset %d, token %q: %s\n", pe.Offset, pe.Token, pe.Msg)
	}
	// Output:
	// 2001:db8::1/64 temporary, 192.0.2.10/24, fe80::1/64 dev eth0
	// route v4 default
	// route v6 default
	// offset 15, token "temprary": unknown address flag (want deprecated, preferred_lft N, temporary, home, care-of, tunnel, dev NAME or via ADDR)
}

func ExampleHost_Source() {
	h, _ := addrselect.ParseHost("192.0.2.10/24 dev eth0, 198.51.100.5/24 dev eth0; route v4 default via 192.0.2.1")
	for _, dst := range []string{"198.51.100.80", "203.0.113.1"} {
		src, _ := h.Source(context.Background(), netip.MustParseAddr(dst))
		fmt.Println(dst, "from", src.Addr)
	}
	// Output:
	// 198.51.100.80 from 198.51.100.5
	// 203.0.113.1 from 192.0.2.10
}

// exampleResolver answers every name with both loopback addresses.
type exampleResolver struct{}

func (exampleResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if network == "ip6" {
		return []netip.Addr{netip.IPv6Loopback()}, nil
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// A Dialer tries ::1 first (RFC 6724: precedence 50), finds nobody
// listening there and falls back to 127.0.0.1 at once.
func ExampleDialer() {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	host, _ := addrselect.ParseHost("::1/128 dev lo, 127.0.0.1/8 dev lo")
	var nd net.Dialer
	d := &addrselect.Dialer{
		Resolver: exampleResolver{},
		Sources:  host,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			ap := netip.MustParseAddrPort(address)
			fmt.Println("attempt", ap.Addr())
			return nd.DialContext(ctx, network, address)
		},
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	c, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort("mail.example", port))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println("connected to", c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr())
	// Output:
	// attempt ::1
	// attempt 127.0.0.1
	// connected to 127.0.0.1
}

// The running system: which source would the kernel use, with which
// flags? (Not run as a test: the answer depends on the machine.)
func ExampleSystem() {
	var sys addrselect.System
	defer sys.Close()
	for _, dst := range []string{"2001:4860:4860::8888", "8.8.8.8", "::1"} {
		src, err := sys.Source(context.Background(), netip.MustParseAddr(dst))
		switch {
		case err != nil:
			fmt.Println(dst, err)
		case !src.IsValid():
			fmt.Println(dst, "unreachable from here")
		default:
			fmt.Printf("%s from %s/%d on %s (deprecated %v, temporary %v)\n",
				dst, src.Addr, src.PrefixLen, src.Interface, src.Deprecated, src.Temporary)
		}
	}
}

// A System that keeps each answer for up to half a second, for a program
// that sorts the same few names again and again: repeated destinations
// then cost no system call. (Not run as a test: the answer depends on the
// machine.)
func ExampleSystem_cached() {
	sys := &addrselect.System{CacheSize: 256, CacheTTL: 500 * time.Millisecond}
	defer sys.Close()
	addrs := []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.1")}
	for range 3 {
		sorted, err := addrselect.RFC6724().Sort(context.Background(), addrs, sys)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(sorted[0].Addr)
	}
}
