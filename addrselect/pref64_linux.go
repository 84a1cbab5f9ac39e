package addrselect

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
)

// PREF64Listener receives the PREF64 options (RFC 8781) of the router
// advertisements the Linux kernel processes. The kernel handles some
// Neighbor Discovery options itself and passes the others, PREF64 among
// them, to user space as RTM_NEWNDUSEROPT messages on the route netlink
// group RTNLGRP_ND_USEROPT; it does so only on interfaces that accept
// router advertisements (accept_ra 1 without forwarding, or accept_ra 2).
// Advertisements that arrived before the listener was opened are not
// repeated: a host learns the prefix with the next one (routers send
// them every few minutes, and answer router solicitations).
//
// The listener only reports; keeping the prefixes, their lifetimes and
// their interfaces is the caller's job ([nat64.PREF64.ValidAt]). A
// PREF64Listener is opened in the network namespace of the thread that
// calls [ListenPREF64]. Next must not be called concurrently; Close may
// be called at any time and makes a blocked Next return.
type PREF64Listener struct {
	f       *os.File
	rc      syscall.RawConn
	buf     []byte
	pending []RouterPREF64
}

// solNetlink is SOL_NETLINK (linux/socket.h), missing from package syscall.
const solNetlink = 270

// ListenPREF64 opens a route netlink socket subscribed to the kernel's
// ND user options. Subscribing needs no privilege.
func ListenPREF64() (*PREF64Listener, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, syscall.NETLINK_ROUTE)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	if err := syscall.SetsockoptInt(fd, solNetlink, syscall.NETLINK_ADD_MEMBERSHIP, rtnlGrpNDUserOpt); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setsockopt NETLINK_ADD_MEMBERSHIP", err)
	}
	f := os.NewFile(uintptr(fd), "netlink-nduseropt")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	// An ND user option message holds one option (at most 2040 octets)
	// and its source address: 8 KiB holds any.
	return &PREF64Listener{f: f, rc: rc, buf: make([]byte, 8192)}, nil
}

// Next returns the next PREF64 option a router advertisement brought,
// blocking until one arrives, ctx ends or the listener is closed. Other
// ND user options (RDNSS, DNSSL, captive portal) are skipped. A PREF64
// option that RFC 8781 section 4 asks to ignore (malformed) gives an
// [*NDUserOptError] wrapping a [*nat64.OptionError], a malformed message
// an [*NDUserOptError] (test with errors.As), and messages the kernel
// dropped because the socket's buffer was full an error wrapping
// syscall.ENOBUFS. After any of these, Next can be called again. A zero
// Lifetime means the router withdraws the prefix.
func (l *PREF64Listener) Next(ctx context.Context) (RouterPREF64, error) {
	if d, ok := ctx.Deadline(); ok {
		l.f.SetReadDeadline(d)
	} else {
		l.f.SetReadDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { l.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for len(l.pending) == 0 {
		if err := ctx.Err(); err != nil {
			return RouterPREF64{}, err
		}
		n, err := l.read()
		if err != nil {
			return RouterPREF64{}, readError(ctx, err)
		}
		l.pending, err = parseNDUserOpts(l.buf[:n], time.Now(), l.pending[:0])
		if err != nil {
			return RouterPREF64{}, err
		}
	}
	r := l.pending[0]
	l.pending = l.pending[1:]
	return r, nil
}

// readError turns the deadline Next set from ctx back into ctx's error,
// which ctx may not report yet when the deadline passes.
func readError(ctx context.Context, err error) error {
	if ctxErr := ctxEnded(ctx); ctxErr != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return ctxErr
	}
	return err
}

// read receives one datagram from the kernel (port id 0); messages from
// other sockets are dropped.
func (l *PREF64Listener) read() (int, error) {
	for {
		var n int
		var from syscall.Sockaddr
		var err error
		rerr := l.rc.Read(func(fd uintptr) bool {
			n, from, err = syscall.Recvfrom(int(fd), l.buf, 0)
			return err != syscall.EAGAIN
		})
		if rerr != nil {
			return 0, rerr
		}
		if err != nil {
			return 0, os.NewSyscallError("recvfrom", err)
		}
		if nl, ok := from.(*syscall.SockaddrNetlink); ok && nl.Pid == 0 {
			return n, nil
		}
	}
}

// Close closes the socket; a blocked Next returns an error.
func (l *PREF64Listener) Close() error { return l.f.Close() }

// learnPREF64s feeds t from l until ctx ends or l fails. Malformed
// options (ignored, RFC 8781 section 4) and messages lost to a full
// socket buffer (the next advertisement repeats them) do not stop it.
// It returns ctx's error, or the listener's.
func learnPREF64s(ctx context.Context, l *PREF64Listener, t *pref64Table) error {
	for {
		r, err := l.Next(ctx)
		var ne *NDUserOptError
		switch {
		case err == nil:
			t.learn(r)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &ne), errors.Is(err, syscall.ENOBUFS):
		default:
			return err
		}
	}
}

// pref64Learner listens for PREF64 options from its first use until
// close, keeping what it learns in a pref64Table; the zero value is
// ready. It is the piece a System holds to answer with the prefixes
// routers advertise.
type pref64Learner struct {
	once     sync.Once
	table    pref64Table
	stop     func() // set by once
	stopOnce sync.Once
	err      error // why listening failed, if it did; set by once
}

// prefixes starts listening on first use (in the network namespace of
// the calling thread) and appends the prefixes valid at now to out.
// Options are learned from the next advertisement on: routers repeat
// them every few minutes (RFC 4861 section 6.2.1's MaxRtrAdvInterval,
// 600 seconds by default).
func (lr *pref64Learner) prefixes(now time.Time, out []netip.Prefix) []netip.Prefix {
	lr.once.Do(func() {
		l, err := ListenPREF64()
		if err != nil {
			lr.err = err
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			learnPREF64s(ctx, l, &lr.table)
		}()
		lr.stop = func() { cancel(); l.Close(); <-done }
	})
	return lr.table.prefixes(now, out)
}

// close stops listening; later calls of prefixes report what was
// learned until then, as lifetimes allow.
func (lr *pref64Learner) close() {
	lr.once.Do(func() {})
	if lr.stop != nil {
		lr.stopOnce.Do(lr.stop)
	}
}
