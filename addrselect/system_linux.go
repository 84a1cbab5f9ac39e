//go:build linux && !386

package addrselect

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// sockSlots is the number of sockets kept per family; lookups queue
// only when all are busy.
const sockSlots = 4

type sockSlot struct {
	mu  sync.Mutex
	fd  int  // valid when ok
	ok  bool // the socket is open
	pub bool // IPv6: the socket asks for public sources (IPV6_PREFER_SRC_PUBLIC)
}

// RFC 5014 source address preferences of an IPv6 socket (linux/in6.h):
// public sources, or the system's default (the use_tempaddr sysctl).
const (
	ipv6AddrPreferences        = 72
	ipv6PreferSrcPublic        = 0x0002
	ipv6PreferSrcPubTmpDefault = 0x0100
)

// sysOS holds the re-used UDP sockets, per family (0: IPv4, 1: IPv6).
type sysOS struct {
	slots [2][sockSlots]sockSlot
	next  atomic.Uint32
}

// acquire locks a free socket of family fam, else waits for one.
func (o *sysOS) acquire(fam int) *sockSlot {
	for i := range o.slots[fam] {
		if o.slots[fam][i].mu.TryLock() {
			return &o.slots[fam][i]
		}
	}
	sl := &o.slots[fam][o.next.Add(1)%sockSlots]
	sl.mu.Lock()
	return sl
}

func (o *sysOS) close() error {
	var errs []error
	for f := range o.slots {
		for i := range o.slots[f] {
			sl := &o.slots[f][i]
			sl.mu.Lock()
			if sl.ok {
				errs = append(errs, syscall.Close(sl.fd))
				sl.ok = false
			}
			sl.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// unusableErrnos are the connect errors that mean an unusable
// destination (no route, not allowed) rather than a failure to answer.
var unusableErrnos = []syscall.Errno{syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.EACCES,
	syscall.EPERM, syscall.EINVAL, syscall.EADDRNOTAVAIL, syscall.EAFNOSUPPORT, syscall.ENODEV}

// opError is the error of the system call op on a probe socket.
func opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "udp", Err: err}
}

// probe asks the kernel for the source of dst, a public one if pub is
// set (IPv6 only): on a re-used UDP socket, connect(AF_UNSPEC) dissolves
// the previous association (which would keep its source), connect(dst)
// picks a route and source, and getsockname reads it; raw sockaddrs on
// the stack keep it free of allocations. A zero local address and a nil
// error mean an unusable destination.
func (o *sysOS) probe(dst netip.Addr, sn *sysSnapshot, pub bool) (local netip.Addr, index int, zone string, err error) {
	fam, domain, scope := 0, syscall.AF_INET, 0
	if dst.Is6() {
		fam, domain = 1, syscall.AF_INET6
	}
	if z := dst.Zone(); z != "" {
		if scope, err = zoneIndex(z, sn); err != nil {
			return local, 0, "", nil // unknown interface
		}
	}
	sl := o.acquire(fam)
	defer sl.mu.Unlock()
	if !sl.ok {
		if sl.fd, err = openProbeSocket(domain); err == syscall.EAFNOSUPPORT {
			return local, 0, "", nil // no IPv6 (or IPv4) at all
		} else if err != nil {
			return local, 0, "", opError("socket", err)
		}
		sl.ok, sl.pub = true, false
	}
	if fam == 1 && sl.pub != pub {
		// RFC 5014: public addresses, or the system's default.
		v := ipv6PreferSrcPubTmpDefault
		if pub {
			v = ipv6PreferSrcPublic
		}
		if err := syscall.SetsockoptInt(sl.fd, syscall.IPPROTO_IPV6, ipv6AddrPreferences, v); err != nil {
			return local, 0, "", opError("setsockopt", err)
		}
		sl.pub = pub
	}
	if e := sl.connect(dst, scope); e != 0 {
		if slices.Contains(unusableErrnos, e) {
			return local, 0, "", nil
		}
		return local, 0, "", opError("connect", e)
	}
	return sl.localAddr()
}

// connect dissolves the socket's association (which fails harmlessly
// when there is none) and connects it to dst (with scope, an interface
// index, for IPv6) on the discard port; nothing is sent.
func (sl *sockSlot) connect(dst netip.Addr, scope int) syscall.Errno {
	rawConnect(sl.fd, &syscall.RawSockaddr{Family: syscall.AF_UNSPEC})
	discard := [2]byte{0, 9} // port 9 in network byte order
	if dst.Is4() {
		sa := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: dst.As4()}
		*(*[2]byte)(unsafe.Pointer(&sa.Port)) = discard
		return rawConnect(sl.fd, &sa)
	}
	sa := syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: dst.As16(), Scope_id: uint32(scope)}
	*(*[2]byte)(unsafe.Pointer(&sa.Port)) = discard
	return rawConnect(sl.fd, &sa)
}

// rawConnect connects fd to the raw sockaddr sa.
func rawConnect[T any](fd int, sa *T) syscall.Errno {
	_, _, e := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(sa)), unsafe.Sizeof(*sa))
	return e
}

// localAddr reads the connected socket's local address: the source the
// kernel chose, with its interface index for IPv6.
func (sl *sockSlot) localAddr() (local netip.Addr, index int, zone string, err error) {
	var rsa syscall.RawSockaddrAny
	n := uint32(unsafe.Sizeof(rsa))
	_, _, e := syscall.RawSyscall(syscall.SYS_GETSOCKNAME, uintptr(sl.fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return local, 0, "", opError("getsockname", e)
	}
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		return netip.AddrFrom4(sa.Addr), 0, "", nil
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		return netip.AddrFrom16(sa.Addr), int(sa.Scope_id), "", nil
	}
	return local, 0, "", nil
}

// openProbeSocket opens a UDP socket bound to a fixed port, which the
// kernel keeps across connect(AF_UNSPEC) (otherwise each connect searches
// a new port: about 40% of a lookup). The port is found with a throwaway
// socket; if another process takes it in between, the socket stays
// unbound, which is slower but correct.
func openProbeSocket(domain int) (int, error) {
	fd, err := udpSocket(domain)
	if err != nil {
		return -1, err
	}
	// Nothing is read: keep datagrams sent to the port from piling up.
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1)
	for range 3 {
		port, err := freeUDPPort(domain)
		if err != nil || syscall.Bind(fd, anyAddr(domain, port)) == nil {
			break
		}
	}
	return fd, nil
}

// udpSocket opens a UDP socket; an IPv6 one is IPv6 only.
func udpSocket(domain int) (int, error) {
	fd, err := syscall.Socket(domain, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err == nil && domain == syscall.AF_INET6 {
		syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 1)
	}
	return fd, err
}

// anyAddr is the wildcard address of domain with port.
func anyAddr(domain, port int) syscall.Sockaddr {
	if domain == syscall.AF_INET6 {
		return &syscall.SockaddrInet6{Port: port}
	}
	return &syscall.SockaddrInet4{Port: port}
}

// freeUDPPort asks the kernel for a UDP port that is free right now.
func freeUDPPort(domain int) (int, error) {
	fd, err := udpSocket(domain)
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, anyAddr(domain, 0)); err != nil {
		return 0, err
	}
	got, err := syscall.Getsockname(fd)
	if err != nil {
		return 0, err
	}
	switch a := got.(type) {
	case *syscall.SockaddrInet4:
		return a.Port, nil
	case *syscall.SockaddrInet6:
		return a.Port, nil
	}
	return 0, fmt.Errorf("addrselect: free UDP port: socket of domain %d bound to a %T", domain, got)
}

// zoneIndex resolves an IPv6 zone (an interface name or number).
func zoneIndex(z string, sn *sysSnapshot) (int, error) {
	if i, ok := sn.ifIndex[z]; ok {
		return i, nil
	}
	if i, err := strconv.Atoi(z); err == nil && i > 0 {
		return i, nil
	}
	ifi, err := net.InterfaceByName(z)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}
