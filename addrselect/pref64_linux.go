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
// advertisements the Linux kernel processes, which it passes to user
// space as RTM_NEWNDUSEROPT messages (route netlink group
// RTNLGRP_ND_USEROPT) on interfaces that accept router advertisements
// (accept_ra 1 without forwarding, or accept_ra 2). Earlier
// advertisements are not repeated: the prefix comes with the next one.
//
// The listener only reports; keeping prefixes, lifetimes and interfaces
// is the caller's job ([nat64.PREF64.ValidAt]). It is opened in the
// network namespace of the thread that calls [ListenPREF64]. Next must
// not be called concurrently; Close may be called at any time and makes
// a blocked Next return.
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
	// 8 KiB holds any message: one option (at most 2040 octets) and its
	// source.
	return &PREF64Listener{f: f, rc: rc, buf: make([]byte, 8192)}, nil
}

// Next returns the next PREF64 option a router advertisement brought,
// blocking until one arrives, ctx ends or the listener is closed; other
// ND user options are skipped. A zero Lifetime withdraws the prefix. A
// malformed option (ignored by RFC 8781 section 4) gives an
// [*NDUserOptError] wrapping a [*nat64.OptionError], a malformed message
// an [*NDUserOptError], and messages dropped for a full socket buffer an
// error wrapping syscall.ENOBUFS; Next can be called again after these.
func (l *PREF64Listener) Next(ctx context.Context) (RouterPREF64, error) {
	d, _ := ctx.Deadline() // zero: none
	l.f.SetReadDeadline(d)
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

// learnPREF64s feeds t from l until ctx ends or l fails (malformed
// options, RFC 8781 section 4, and lost messages do not stop it), and
// returns ctx's error or the listener's.
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

// pref64Learner, a System's, listens for PREF64 options from its first
// use until close, keeping them in a table; the zero value is ready.
type pref64Learner struct {
	once     sync.Once
	table    pref64Table
	stop     func() // set by once
	stopOnce sync.Once
	err      error // why listening failed, if it did; set by once
}

// prefixes starts listening on first use (in the calling thread's
// network namespace) and appends the prefixes valid at now to out. The
// next advertisement brings them (at most MaxRtrAdvInterval later, 600
// seconds by default, RFC 4861 section 6.2.1).
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

// close stops listening; prefixes then reports what was learned.
func (lr *pref64Learner) close() {
	lr.once.Do(func() {})
	if lr.stop != nil {
		lr.stopOnce.Do(lr.stop)
	}
}
