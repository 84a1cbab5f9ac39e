//go:build !linux

package addrselect

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// PREF64Listener receives PREF64 options from the kernel; only Linux
// passes them to user space, so elsewhere [ListenPREF64] fails.
type PREF64Listener struct{}

// ListenPREF64 returns an error wrapping [errors.ErrUnsupported]: this
// system does not pass router advertisement options to user space.
func ListenPREF64() (*PREF64Listener, error) {
	return nil, errPREF64Unsupported
}

var errPREF64Unsupported = errors.Join(errors.ErrUnsupported, errors.New("addrselect: PREF64 from router advertisements needs Linux"))

// Next returns an error wrapping [errors.ErrUnsupported].
func (l *PREF64Listener) Next(ctx context.Context) (RouterPREF64, error) {
	return RouterPREF64{}, errPREF64Unsupported
}

// Close does nothing.
func (l *PREF64Listener) Close() error { return nil }

// pref64Learner would listen for PREF64 options; without Linux it
// reports none.
type pref64Learner struct{}

func (lr *pref64Learner) prefixes(now time.Time, out []netip.Prefix) []netip.Prefix { return out }

func (lr *pref64Learner) close() {}
