//go:build linux

package addrselect_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect"
)

// blackhole returns a loopback address and port that silently drops
// connection attempts: a listener with a backlog of 0 whose one queued
// connection is never accepted, so the kernel drops every further SYN
// (Linux drops SYNs to a listener whose accept queue is full). Nothing
// leaves the machine.
func blackhole(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skipf("socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Skipf("bind 127.0.0.1: %v", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatalf("listen: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	// Fill the accept queue.
	c, err := net.DialTimeout("tcp", ap.String(), time.Second)
	if err != nil {
		t.Fatalf("filling the accept queue: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	// Check that the next attempt is dropped, not refused or accepted.
	probe, err := net.DialTimeout("tcp", ap.String(), 50*time.Millisecond)
	if err == nil {
		probe.Close()
		t.Skip("the kernel accepted a connection beyond the backlog: no blackhole")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Skipf("the kernel did not drop the attempt (%v): no blackhole", err)
	}
	return ap
}

// TestDialerContextEndsDial checks that a dial ended by the caller's
// deadline or cancellation says so (errors.Is with the context's error,
// in DialError.Err) every time, also when an attempt to a silently
// dropping address fails at the same moment: net.Dialer's connect then
// ends with an "i/o timeout" that is not context.DeadlineExceeded.
func TestDialerContextEndsDial(t *testing.T) {
	hole := blackhole(t)
	// ::1 on the same port refuses at once (or is unreachable); the
	// attempt to 127.0.0.1 then hangs until the context ends.
	addrs := []netip.Addr{netip.IPv6Loopback(), hole.Addr()}
	h := mustHost(t, "127.0.0.1/8 dev lo, ::1/128 dev lo")
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 30*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(30*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	const runs = 40
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &addrselect.Dialer{Sources: h, AttemptDelay: addrselect.MinAttemptDelay}
			failed := 0
			for i := range runs {
				ctx, cancel := tt.ctx()
				c, err := d.DialAddrs(ctx, "tcp", addrs, hole.Port())
				cancel()
				if err == nil {
					c.Close()
					t.Fatalf("run %d: the dial to a blackhole succeeded", i)
				}
				var de *addrselect.DialError
				if !errors.As(err, &de) || !errors.Is(err, tt.want) || !errors.Is(de.Err, tt.want) {
					failed++
					if failed <= 3 {
						t.Errorf("run %d: err = %v (Err %v); want a *DialError whose Err is %v", i, err, de.Err, tt.want)
					}
				}
			}
			if failed > 0 {
				t.Errorf("%d of %d runs did not report %v", failed, runs, tt.want)
			}
		})
	}
}
