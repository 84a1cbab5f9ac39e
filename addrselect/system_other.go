//go:build !linux || 386

package addrselect

import (
	"net"
	"net/netip"
)

// sysOS has no state here: each lookup dials its own socket.
type sysOS struct{}

func (o *sysOS) close() error { return nil }

// probe asks the kernel for the source of dst with a connected UDP socket
// (no packet is sent). A request for a public source (pub) is not passed
// on: the kernel's default decides.
func (o *sysOS) probe(dst netip.Addr, _ *sysSnapshot, _ bool) (local netip.Addr, index int, zone string, err error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
	if err != nil {
		// Without a portable way to tell "no route" from other failures,
		// every failure counts as an unusable destination.
		return netip.Addr{}, 0, "", nil
	}
	defer c.Close()
	ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
	a := ap.Addr().Unmap()
	return a.WithZone(""), 0, a.Zone(), nil
}

// loadSnapshot reads prefix lengths and interface names with
// net.Interfaces; flags are not available portably.
func loadSnapshot() (*sysSnapshot, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	sn := &sysSnapshot{addrs: make(map[sysKey]Source), ifIndex: make(map[string]int)}
	for _, ifi := range ifs {
		sn.ifIndex[ifi.Name] = ifi.Index
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			ones, _ := ipn.Mask.Size()
			sn.addrs[keyOf(ip, ifi.Index)] = Source{Addr: ip, PrefixLen: ones, Interface: ifi.Name}
		}
	}
	return sn, nil
}
