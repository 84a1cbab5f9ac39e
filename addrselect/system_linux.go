//go:build linux && !386

package addrselect

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Linux interface address flags (linux/if_addr.h). IFA_FLAGS carries all
// 32 bits; the ifa_flags byte of struct ifaddrmsg only the low eight.
const (
	ifaFlagsAttr     = 8 // IFA_FLAGS
	ifaCacheInfoAttr = 6 // IFA_CACHEINFO

	ifaFTemporary   = 0x01
	ifaFOptimistic  = 0x04
	ifaFHomeAddress = 0x10
	ifaFDeprecated  = 0x20
)

// encapsulatedLinkTypes are the ARPHRD_* link types of tunnel interfaces
// (linux/if_arp.h): their addresses count as encapsulated for destination
// rule 7 (RFC 6724 section 6).
var encapsulatedLinkTypes = map[uint16]bool{
	768:    true, // ARPHRD_TUNNEL (ipip)
	769:    true, // ARPHRD_TUNNEL6 (ip6tnl)
	776:    true, // ARPHRD_SIT (6in4, 6rd, ISATAP)
	778:    true, // ARPHRD_IPGRE
	823:    true, // ARPHRD_IP6GRE
	0xfffe: true, // ARPHRD_NONE (tun, WireGuard)
}

// sockSlots is the number of sockets kept per family: concurrent lookups
// take a free one and queue on one only when all are busy.
const sockSlots = 4

type sockSlot struct {
	mu sync.Mutex
	fd int // -1 or 0 before first use: see open
	ok bool
}

// sysOS holds the re-used UDP sockets, per family (0: IPv4, 1: IPv6).
type sysOS struct {
	slots [2][sockSlots]sockSlot
	next  atomic.Uint32
}

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
				if err := syscall.Close(sl.fd); err != nil {
					errs = append(errs, err)
				}
				sl.ok = false
			}
			sl.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// unusableErrno reports whether a connect error means "no route / not
// allowed" (an unusable destination) rather than a failure to answer.
func unusableErrno(e syscall.Errno) bool {
	switch e {
	case syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.EACCES, syscall.EPERM,
		syscall.EINVAL, syscall.EADDRNOTAVAIL, syscall.EAFNOSUPPORT, syscall.ENODEV:
		return true
	}
	return false
}

// probe asks the kernel for the source of dst: on a re-used UDP socket,
// connect(AF_UNSPEC) dissolves the previous association (a connected UDP
// socket stays bound to the source of its first connect otherwise), then
// connect(dst) makes the kernel pick a route and source, and getsockname
// reads it. Raw sockaddrs on the stack keep this free of allocations.
func (o *sysOS) probe(dst netip.Addr, sn *sysSnapshot) (local netip.Addr, index int, zone string, err error) {
	fam := 0
	if dst.Is6() {
		fam = 1
	}
	scope := 0
	if z := dst.Zone(); z != "" {
		if scope, err = zoneIndex(z, sn); err != nil {
			return netip.Addr{}, 0, "", nil // unknown interface: unusable
		}
	}
	sl := o.acquire(fam)
	defer sl.mu.Unlock()
	if !sl.ok {
		domain := syscall.AF_INET
		if fam == 1 {
			domain = syscall.AF_INET6
		}
		fd, err := openProbeSocket(domain)
		if err != nil {
			if err == syscall.EAFNOSUPPORT {
				return netip.Addr{}, 0, "", nil // no IPv6 (or IPv4) at all: unusable
			}
			return netip.Addr{}, 0, "", &net.OpError{Op: "socket", Net: "udp", Err: err}
		}
		sl.fd, sl.ok = fd, true
	}
	fd := uintptr(sl.fd)

	var unspec syscall.RawSockaddr
	unspec.Family = syscall.AF_UNSPEC
	// The error is ignored: dissolving a socket that is not connected
	// is harmless.
	syscall.RawSyscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&unspec)), unsafe.Sizeof(unspec))

	var e syscall.Errno
	if fam == 0 {
		var sa syscall.RawSockaddrInet4
		sa.Family = syscall.AF_INET
		sa.Port = htons(9) // discard; nothing is sent
		sa.Addr = dst.As4()
		_, _, e = syscall.RawSyscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	} else {
		var sa syscall.RawSockaddrInet6
		sa.Family = syscall.AF_INET6
		sa.Port = htons(9)
		sa.Addr = dst.As16()
		sa.Scope_id = uint32(scope)
		_, _, e = syscall.RawSyscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	}
	if e != 0 {
		if unusableErrno(e) {
			return netip.Addr{}, 0, "", nil
		}
		return netip.Addr{}, 0, "", &net.OpError{Op: "connect", Net: "udp", Err: e}
	}
	var rsa syscall.RawSockaddrAny
	n := uint32(unsafe.Sizeof(rsa))
	_, _, e = syscall.RawSyscall(syscall.SYS_GETSOCKNAME, fd, uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return netip.Addr{}, 0, "", &net.OpError{Op: "getsockname", Net: "udp", Err: e}
	}
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		return netip.AddrFrom4(sa.Addr), 0, "", nil
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		return netip.AddrFrom16(sa.Addr), int(sa.Scope_id), "", nil
	}
	return netip.Addr{}, 0, "", nil
}

// openProbeSocket opens a UDP socket bound to a fixed port. Binding an
// explicit port makes the kernel keep it across connect(AF_UNSPEC) (the
// port is "user locked"); otherwise every dissolve releases the port and
// every connect searches a new one, which costs about 40% of a lookup.
// The port is found by binding a throwaway socket to port 0; if another
// process takes it in between, the socket stays unbound (auto-bound on
// connect), which is slower but correct.
func openProbeSocket(domain int) (int, error) {
	fd, err := syscall.Socket(domain, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if domain == syscall.AF_INET6 {
		// Keep off the IPv4 port space.
		syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 1)
	}
	// Nothing is ever read: datagrams someone sends to the port should
	// not pile up (the kernel rounds this up to its minimum).
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1)
	for range 3 {
		port, err := freeUDPPort(domain)
		if err != nil {
			break
		}
		var sa syscall.Sockaddr = &syscall.SockaddrInet4{Port: port}
		if domain == syscall.AF_INET6 {
			sa = &syscall.SockaddrInet6{Port: port}
		}
		if syscall.Bind(fd, sa) == nil {
			break
		}
	}
	return fd, nil
}

// freeUDPPort asks the kernel for a UDP port that is free right now.
func freeUDPPort(domain int) (int, error) {
	fd, err := syscall.Socket(domain, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	var sa syscall.Sockaddr = &syscall.SockaddrInet4{}
	if domain == syscall.AF_INET6 {
		syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 1)
		sa = &syscall.SockaddrInet6{}
	}
	if err := syscall.Bind(fd, sa); err != nil {
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
	return 0, errors.New("unexpected socket address")
}

func htons(p uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], p)
	return binary.NativeEndian.Uint16(b[:])
}

// zoneIndex resolves an IPv6 zone (an interface name or number).
func zoneIndex(z string, sn *sysSnapshot) (int, error) {
	if sn != nil {
		if i, ok := sn.ifIndex[z]; ok {
			return i, nil
		}
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

// loadSnapshot reads the interfaces (RTM_GETLINK: names and link types)
// and the addresses (RTM_GETADDR: prefix lengths and flags) through route
// netlink.
func loadSnapshot() (*sysSnapshot, error) {
	links, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return nil, err
	}
	lmsgs, err := syscall.ParseNetlinkMessage(links)
	if err != nil {
		return nil, err
	}
	type link struct {
		name  string
		encap bool
	}
	byIndex := make(map[int]link)
	sn := &sysSnapshot{addrs: make(map[sysKey]Source), ifIndex: make(map[string]int)}
	for i := range lmsgs {
		m := &lmsgs[i]
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
			continue
		}
		typ := binary.NativeEndian.Uint16(m.Data[2:4])
		index := int(int32(binary.NativeEndian.Uint32(m.Data[4:8])))
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			continue
		}
		for _, a := range attrs {
			if a.Attr.Type == syscall.IFLA_IFNAME {
				name := string(trimNUL(a.Value))
				byIndex[index] = link{name, encapsulatedLinkTypes[typ]}
				sn.ifIndex[name] = index
			}
		}
	}

	addrs, err := syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_UNSPEC)
	if err != nil {
		return nil, err
	}
	amsgs, err := syscall.ParseNetlinkMessage(addrs)
	if err != nil {
		return nil, err
	}
	for i := range amsgs {
		m := &amsgs[i]
		if m.Header.Type != syscall.RTM_NEWADDR || len(m.Data) < syscall.SizeofIfAddrmsg {
			continue
		}
		family, plen, flags8 := m.Data[0], int(m.Data[1]), uint32(m.Data[2])
		index := int(binary.NativeEndian.Uint32(m.Data[4:8]))
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			continue
		}
		var local, address netip.Addr
		flags := flags8
		preferredZero := false
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.IFA_ADDRESS:
				address, _ = netip.AddrFromSlice(a.Value)
			case syscall.IFA_LOCAL:
				local, _ = netip.AddrFromSlice(a.Value)
			case ifaFlagsAttr:
				if len(a.Value) >= 4 {
					flags = binary.NativeEndian.Uint32(a.Value)
				}
			case ifaCacheInfoAttr:
				// struct ifa_cacheinfo: preferred, valid, cstamp, tstamp.
				if len(a.Value) >= 4 && binary.NativeEndian.Uint32(a.Value) == 0 {
					preferredZero = true
				}
			}
		}
		// For IPv4 point-to-point links IFA_ADDRESS is the peer and
		// IFA_LOCAL our own address.
		addr := local
		if !addr.IsValid() {
			addr = address
		}
		if !addr.IsValid() || (family == syscall.AF_INET) != addr.Is4() {
			continue
		}
		l := byIndex[index]
		src := Source{
			Addr:      addr,
			PrefixLen: plen,
			// RFC 4862: a deprecated address has an expired preferred
			// lifetime; RFC 4429 treats optimistic ones alike.
			Deprecated:   flags&(ifaFDeprecated|ifaFOptimistic) != 0 || preferredZero,
			Temporary:    flags&ifaFTemporary != 0,
			Home:         flags&ifaFHomeAddress != 0,
			Encapsulated: l.encap,
			Interface:    l.name,
		}
		k := sysKey{addr: addr}
		if zoned(addr) {
			k.index = index
		}
		sn.addrs[k] = src
	}
	return sn, nil
}

func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}
