//go:build linux && !386

package addrselect

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"
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

// loadSnapshot reads the interfaces (names and link types) and the
// addresses (prefix lengths and flags) through route netlink.
func loadSnapshot() (*sysSnapshot, error) {
	links, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return nil, err
	}
	addrs, err := syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_UNSPEC)
	if err != nil {
		return nil, err
	}
	return parseSnapshot(links, addrs)
}

// parseSnapshot builds the address table from the kernel's answers to
// RTM_GETLINK (links) and RTM_GETADDR (addrs), in the host's byte order;
// it is pure, for tests and fuzzing. A dump that is not a sequence of
// netlink messages is an error wrapping syscall.EINVAL; a message it cannot use (too
// short, bad attributes, an address of the wrong family or IPv4-mapped,
// a prefix longer than the address) is skipped.
func parseSnapshot(links, addrs []byte) (*sysSnapshot, error) {
	lmsgs, err := syscall.ParseNetlinkMessage(links)
	if err != nil {
		return nil, fmt.Errorf("addrselect: netlink link dump: %w", err)
	}
	amsgs, err := syscall.ParseNetlinkMessage(addrs)
	if err != nil {
		return nil, fmt.Errorf("addrselect: netlink address dump: %w", err)
	}
	sn := &sysSnapshot{addrs: make(map[sysKey]Source), ifIndex: make(map[string]int)}
	byIndex := make(map[int]sysLink)
	for i := range lmsgs {
		if index, l, ok := parseLink(&lmsgs[i]); ok {
			byIndex[index] = l
			sn.ifIndex[l.name] = index
		}
	}
	for i := range amsgs {
		if k, src, ok := parseAddr(&amsgs[i], byIndex); ok {
			sn.addrs[k] = src
		}
	}
	return sn, nil
}

// sysLink is what the address table needs of an interface.
type sysLink struct {
	name  string
	encap bool // a tunnel: see encapsulatedLinkTypes
}

// parseLink reads an RTM_NEWLINK message: struct ifinfomsg (family, pad,
// type, index, flags, change), then attributes; ok is false for other
// messages and links without a name.
func parseLink(m *syscall.NetlinkMessage) (index int, l sysLink, ok bool) {
	if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
		return 0, l, false
	}
	typ := binary.NativeEndian.Uint16(m.Data[2:4])
	index = int(int32(binary.NativeEndian.Uint32(m.Data[4:8])))
	bad := routeAttrs(m.Data[syscall.SizeofIfInfomsg:], func(t uint16, v []byte) {
		if t == syscall.IFLA_IFNAME {
			name, _, _ := bytes.Cut(v, []byte{0})
			l, ok = sysLink{string(name), encapsulatedLinkTypes[typ]}, true
		}
	})
	return index, l, ok && bad < 0
}

// parseAddr reads an RTM_NEWADDR message: struct ifaddrmsg (family,
// prefix length, flags, scope, index), then attributes. ok is false for
// other messages and for addresses the table cannot hold.
func parseAddr(m *syscall.NetlinkMessage, byIndex map[int]sysLink) (k sysKey, src Source, ok bool) {
	if m.Header.Type != syscall.RTM_NEWADDR || len(m.Data) < syscall.SizeofIfAddrmsg {
		return k, src, false
	}
	family, plen, flags := m.Data[0], int(m.Data[1]), uint32(m.Data[2])
	index := int(binary.NativeEndian.Uint32(m.Data[4:8]))
	var local, address netip.Addr
	preferredZero := false
	bad := routeAttrs(m.Data[syscall.SizeofIfAddrmsg:], func(t uint16, v []byte) {
		switch t {
		case syscall.IFA_ADDRESS:
			address, _ = netip.AddrFromSlice(v)
		case syscall.IFA_LOCAL:
			local, _ = netip.AddrFromSlice(v)
		case ifaFlagsAttr:
			if len(v) >= 4 {
				flags = binary.NativeEndian.Uint32(v)
			}
		case ifaCacheInfoAttr:
			// struct ifa_cacheinfo: preferred, valid, cstamp, tstamp.
			if len(v) >= 4 && binary.NativeEndian.Uint32(v) == 0 {
				preferredZero = true
			}
		}
	})
	if bad >= 0 {
		return k, src, false
	}
	// For IPv4 point-to-point links IFA_ADDRESS is the peer and
	// IFA_LOCAL our own address.
	addr := cmp.Or(local, address)
	if !addr.IsValid() || addr.Is4In6() || (family == syscall.AF_INET) != addr.Is4() || plen > addr.BitLen() {
		return k, src, false
	}
	l := byIndex[index]
	src = Source{
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
	return keyOf(addr, index), src, true
}
