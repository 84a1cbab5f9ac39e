package addrselect

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/dualstack/dualstack/addrselect/nat64"
)

// RouterPREF64 is a NAT64 prefix a router announced in a router
// advertisement's PREF64 option (RFC 8781), as the Linux kernel passes it
// to user space (see [PREF64Listener]).
type RouterPREF64 struct {
	nat64.PREF64
	// Interface is the index of the interface the advertisement arrived
	// on: RFC 8781 section 5.1 asks hosts to treat the prefix as
	// specific to it.
	Interface int
	// Router is the advertisement's (link-local) source address, without
	// a zone; the zero Addr when the kernel did not say.
	Router netip.Addr
}

// Route netlink's ND user option messages (linux/rtnetlink.h): a netlink
// header, struct nduseroptmsg, the options, then attributes.
const (
	rtmNewNDUserOpt  = 68 // RTM_NEWNDUSEROPT
	rtnlGrpNDUserOpt = 20 // RTNLGRP_ND_USEROPT
	ndUserOptSrcAddr = 1  // NDUSEROPT_SRCADDR attribute
	nlmsgHdrLen      = 16 // struct nlmsghdr
	ndUserOptMsgLen  = 16 // struct nduseroptmsg
	afInet6          = 10 // AF_INET6 on Linux
	icmpRouterAdvert = 134
)

// NDUserOptError reports a malformed ND user option message from the
// kernel, or a PREF64 option in it that RFC 8781 section 4 asks to
// ignore (Err is then a [*nat64.OptionError]).
type NDUserOptError struct {
	Offset int // octet offset in the buffer read from the socket
	Err    error
}

// Error says which ND user option message was bad and why.
func (e *NDUserOptError) Error() string {
	return "addrselect: netlink ND user option at octet " + strconv.Itoa(e.Offset) + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *NDUserOptError) Unwrap() error { return e.Err }

var (
	errNLTruncated  = errors.New("message truncated")
	errNDOptLength  = errors.New("ND option length zero or past the options")
	errNDAttrLength = errors.New("attribute length out of range")
)

// parseNDUserOpts appends to out the PREF64 options in b, one datagram
// read from a route netlink socket in group RTNLGRP_ND_USEROPT (headers
// in host byte order), and returns the first error met. Other messages,
// families, ICMPv6 types and ND options are skipped. A malformed message
// ends the parse; a malformed PREF64 option is skipped (RFC 8781 section
// 4) and reported, and the rest is still read.
func parseNDUserOpts(b []byte, learned time.Time, out []RouterPREF64) ([]RouterPREF64, error) {
	var first error
	for off := 0; off < len(b); {
		if len(b)-off < nlmsgHdrLen {
			return out, &NDUserOptError{Offset: off, Err: errNLTruncated}
		}
		n := int(binary.NativeEndian.Uint32(b[off:]))
		typ := binary.NativeEndian.Uint16(b[off+4:])
		if n < nlmsgHdrLen || n > len(b)-off {
			return out, &NDUserOptError{Offset: off, Err: errNLTruncated}
		}
		if typ == rtmNewNDUserOpt {
			var err error
			out, err = parseNDUserOpt(b[off+nlmsgHdrLen:off+n], off+nlmsgHdrLen, learned, out)
			if err != nil && first == nil {
				first = err
			}
		}
		off += (n + 3) &^ 3 // NLMSG_ALIGN
	}
	return out, first
}

// parseNDUserOpt reads one RTM_NEWNDUSEROPT payload p, found at octet
// base of the datagram.
func parseNDUserOpt(p []byte, base int, learned time.Time, out []RouterPREF64) ([]RouterPREF64, error) {
	if len(p) < ndUserOptMsgLen {
		return out, &NDUserOptError{Offset: base, Err: errNLTruncated}
	}
	optsLen := int(binary.NativeEndian.Uint16(p[2:]))
	if optsLen > len(p)-ndUserOptMsgLen {
		return out, &NDUserOptError{Offset: base + 2, Err: errNLTruncated}
	}
	if p[0] != afInet6 || p[8] != icmpRouterAdvert || p[9] != 0 {
		return out, nil
	}
	r := RouterPREF64{Interface: int(int32(binary.NativeEndian.Uint32(p[4:])))}
	attrs := min((ndUserOptMsgLen+optsLen+3)&^3, len(p))
	if at := routeAttrs(p[attrs:], func(typ uint16, v []byte) {
		if typ == ndUserOptSrcAddr && len(v) == 16 {
			r.Router = netip.AddrFrom16([16]byte(v))
		}
	}); at >= 0 {
		return out, &NDUserOptError{Offset: base + attrs + at, Err: errNDAttrLength}
	}
	opts := p[ndUserOptMsgLen : ndUserOptMsgLen+optsLen]
	var first error
	for i := 0; i < len(opts); {
		l := 0
		if len(opts)-i >= 2 {
			l = int(opts[i+1]) * 8
		}
		if l == 0 || l > len(opts)-i {
			return out, &NDUserOptError{Offset: base + ndUserOptMsgLen + i, Err: errNDOptLength}
		}
		if opts[i] == nat64.OptionType {
			pref, err := nat64.ParseOption(opts[i:i+l], learned)
			if err == nil {
				r.PREF64 = pref
				out = append(out, r)
			} else if first == nil {
				first = &NDUserOptError{Offset: base + ndUserOptMsgLen + i, Err: err}
			}
		}
		i += l
	}
	return out, first
}

// routeAttrs calls fn with the type and value of each route attribute in
// b (struct rtattr: length and type in host byte order, then the value,
// padded to 4 bytes). It returns -1 when b is well formed (fn has then
// seen every attribute), else the offset of the first attribute whose
// length is below its header or past b. Unlike
// syscall.ParseNetlinkRouteAttr, it does not panic on padding past the
// end (found by FuzzParseSnapshot).
func routeAttrs(b []byte, fn func(typ uint16, val []byte)) int {
	for off := 0; len(b)-off >= 4; {
		n := int(binary.NativeEndian.Uint16(b[off:]))
		if n < 4 || n > len(b)-off {
			return off
		}
		fn(binary.NativeEndian.Uint16(b[off+2:]), b[off+4:off+n])
		off += (n + 3) &^ 3
	}
	return -1 // up to 3 bytes of padding may remain
}

// maxPREF64s bounds a pref64Table: beyond it, the entry that expires
// first goes.
const maxPREF64s = 16

// pref64Table keeps the PREF64s learned from router advertisements with
// their lifetimes, one entry per interface and prefix. It is safe for
// concurrent use; the zero value is empty and ready.
type pref64Table struct {
	mu      sync.Mutex
	entries []RouterPREF64
}

// learn records r, replacing (renewing) the entry of its prefix on its
// interface; a zero lifetime removes it (RFC 8781 section 4.1). An
// option learned at an unknown time would never be valid: it is dropped.
func (t *pref64Table) learn(r RouterPREF64) {
	if r.Learned.IsZero() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries = slices.DeleteFunc(t.entries, func(e RouterPREF64) bool {
		return e.Interface == r.Interface && e.Prefix == r.Prefix || !e.ValidAt(r.Learned)
	})
	if r.Lifetime <= 0 {
		return
	}
	if len(t.entries) >= maxPREF64s {
		i := 0
		for j, e := range t.entries {
			if e.Expires().Before(t.entries[i].Expires()) {
				i = j
			}
		}
		t.entries = slices.Delete(t.entries, i, i+1)
	}
	t.entries = append(t.entries, r)
}

// prefixes appends to out the distinct prefixes valid at now, in the
// order they were learned (RFC 8781 section 5 defers to RFC 7050 section
// 3, which asks to use all of them, in order).
func (t *pref64Table) prefixes(now time.Time, out []netip.Prefix) []netip.Prefix {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.entries {
		if e.ValidAt(now) && !slices.Contains(out, e.Prefix) {
			out = append(out, e.Prefix)
		}
	}
	return out
}
