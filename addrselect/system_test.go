package addrselect_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
)

// loopbackUp reports whether a can be bound on this host.
func loopbackUp(a netip.Addr) bool {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestSystemLoopback(t *testing.T) {
	var sys addrselect.System
	defer sys.Close()
	ctx := context.Background()
	tests := []struct {
		dst, want string
		plen      int
	}{
		{"127.0.0.1", "127.0.0.1", 8},
		{"127.0.0.77", "127.0.0.1", 8},
		{"::ffff:127.0.0.1", "127.0.0.1", 8}, // IPv4-mapped is treated as IPv4
		{"::1", "::1", 128},
	}
	for _, tt := range tests {
		want := netip.MustParseAddr(tt.want)
		if !loopbackUp(want) {
			t.Logf("skip %s: %s is not configured on this host", tt.dst, tt.want)
			continue
		}
		got, err := sys.Source(ctx, netip.MustParseAddr(tt.dst))
		if err != nil {
			t.Fatalf("Source(%s): %v", tt.dst, err)
		}
		if got.Addr != want {
			t.Errorf("Source(%s).Addr = %v; want %v", tt.dst, got.Addr, want)
		}
		if got.PrefixLen != tt.plen {
			t.Errorf("Source(%s).PrefixLen = %d; want %d", tt.dst, got.PrefixLen, tt.plen)
		}
		if got.Interface == "" {
			t.Errorf("Source(%s).Interface is empty; want the loopback interface", tt.dst)
		}
		if got.Deprecated || got.Temporary || got.Home || got.CareOf || got.Encapsulated {
			t.Errorf("Source(%s) = %+v; want no flags on loopback", tt.dst, got)
		}
	}
}

func TestSystemUnusable(t *testing.T) {
	var sys addrselect.System
	defer sys.Close()
	ctx := context.Background()
	for _, dst := range []netip.Addr{
		{},
		netip.IPv4Unspecified(),
		netip.IPv6Unspecified(),
		netip.MustParseAddr("fe80::1"), // link-local without a zone
		netip.MustParseAddr("fe80::1%no-such-interface0"),
	} {
		got, err := sys.Source(ctx, dst)
		if err != nil || got.IsValid() {
			t.Errorf("Source(%v) = %+v, %v; want a zero Source and no error", dst, got, err)
		}
	}
}

func TestSystemCancelled(t *testing.T) {
	var sys addrselect.System
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sys.Source(ctx, netip.MustParseAddr("127.0.0.1"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Source with a cancelled context: err = %v; want context.Canceled", err)
	}
}

// TestSystemConcurrent runs more lookups at once than the System keeps
// sockets, with different destinations, and checks every answer: a socket
// shared wrongly would hand one goroutine another's source.
func TestSystemConcurrent(t *testing.T) {
	var sys addrselect.System
	defer sys.Close()
	lo := netip.MustParseAddr("127.0.0.1")
	if !loopbackUp(lo) {
		t.Skip("127.0.0.1 is not configured on this host")
	}
	// 127.0.0.0/8 is all local on Linux: each destination is its own
	// source there. Elsewhere only 127.0.0.1 may be.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				dst := netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + (g*50+i)%200)})
				src, err := sys.Source(context.Background(), dst)
				if err != nil {
					errs <- err
					return
				}
				if !src.Addr.IsLoopback() || src.Addr.Is6() {
					errs <- errors.New("Source(" + dst.String() + ") = " + src.Addr.String() + "; want an IPv4 loopback address")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := sys.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	// Still usable after Close.
	if src, err := sys.Source(context.Background(), lo); err != nil || src.Addr != lo {
		t.Errorf("after Close: Source(%v) = %v, %v; want %v", lo, src.Addr, err, lo)
	}
}
