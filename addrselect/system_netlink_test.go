//go:build linux && !386

package addrselect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Builders of route netlink messages in the host's byte order, as the
// kernel sends them (linux/netlink.h, linux/rtnetlink.h).

func nlAlign(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// nlMsg is a message: struct nlmsghdr, then data.
func nlMsg(typ uint16, data []byte) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(syscall.NLMSG_HDRLEN+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, make([]byte, 10)...) // flags, seq, pid
	return nlAlign(append(b, data...))
}

// nlAttr is a route attribute: struct rtattr, then the value.
func nlAttr(typ uint16, val []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(syscall.SizeofRtAttr+len(val)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	return nlAlign(append(b, val...))
}

// nlLink is an RTM_NEWLINK message: struct ifinfomsg, then attributes.
func nlLink(index int32, linkType uint16, attrs ...[]byte) []byte {
	b := []byte{syscall.AF_UNSPEC, 0}
	b = binary.NativeEndian.AppendUint16(b, linkType)
	b = binary.NativeEndian.AppendUint32(b, uint32(index))
	b = append(b, make([]byte, 8)...) // flags, change
	return nlMsg(syscall.RTM_NEWLINK, append(b, bytes.Join(attrs, nil)...))
}

// nlAddr is an RTM_NEWADDR message: struct ifaddrmsg, then attributes.
func nlAddr(family, plen, flags byte, index uint32, attrs ...[]byte) []byte {
	b := []byte{family, plen, flags, 0}
	b = binary.NativeEndian.AppendUint32(b, index)
	return nlMsg(syscall.RTM_NEWADDR, append(b, bytes.Join(attrs, nil)...))
}

func nlName(name string) []byte { return nlAttr(syscall.IFLA_IFNAME, append([]byte(name), 0)) }

func nlIP(typ uint16, s string) []byte {
	return nlAttr(typ, netip.MustParseAddr(s).AsSlice())
}

func nlU32(typ uint16, v uint32) []byte {
	return nlAttr(typ, binary.NativeEndian.AppendUint32(nil, v))
}

var nlDone = nlMsg(syscall.NLMSG_DONE, make([]byte, 4))

func concat(msgs ...[]byte) []byte { return bytes.Join(msgs, nil) }

var snapCmpOpts = cmp.Options{cmp.AllowUnexported(sysKey{}), cmpopts.EquateComparable(netip.Addr{})}

// TestParseSnapshot feeds built dumps, good and malformed, to the pure
// parser: no kernel needed.
func TestParseSnapshot(t *testing.T) {
	links := concat(
		nlLink(1, 772, nlName("lo")),
		nlLink(2, 1, nlName("eth0")),
		nlLink(3, 0xfffe, nlName("wg0")),
		nlLink(4, 1), // no name: left out
		nlDone,
	)
	tests := []struct {
		name  string
		addrs []byte
		want  map[sysKey]Source
	}{
		{
			"flags",
			concat(
				nlAddr(syscall.AF_INET6, 64, 0, 2, nlIP(syscall.IFA_ADDRESS, "2001:db8::1"), nlU32(ifaFlagsAttr, ifaFTemporary|ifaFHomeAddress)),
				nlAddr(syscall.AF_INET6, 64, ifaFOptimistic, 2, nlIP(syscall.IFA_ADDRESS, "2001:db8::2")),
				// IFA_CACHEINFO with a preferred lifetime of 0.
				nlAddr(syscall.AF_INET6, 64, 0, 2, nlIP(syscall.IFA_ADDRESS, "2001:db8::3"), nlAttr(ifaCacheInfoAttr, make([]byte, 16))),
				nlAddr(syscall.AF_INET6, 64, 0, 2, nlIP(syscall.IFA_ADDRESS, "fe80::1")),
				nlAddr(syscall.AF_INET, 32, 0, 3, nlIP(syscall.IFA_LOCAL, "10.0.0.1"), nlIP(syscall.IFA_ADDRESS, "10.0.0.2")),
				nlDone,
			),
			map[sysKey]Source{
				{addr: mustAddr("2001:db8::1")}:       {Addr: mustAddr("2001:db8::1"), PrefixLen: 64, Temporary: true, Home: true, Interface: "eth0"},
				{addr: mustAddr("2001:db8::2")}:       {Addr: mustAddr("2001:db8::2"), PrefixLen: 64, Deprecated: true, Interface: "eth0"},
				{addr: mustAddr("2001:db8::3")}:       {Addr: mustAddr("2001:db8::3"), PrefixLen: 64, Deprecated: true, Interface: "eth0"},
				{addr: mustAddr("fe80::1"), index: 2}: {Addr: mustAddr("fe80::1"), PrefixLen: 64, Interface: "eth0"},
				{addr: mustAddr("10.0.0.1")}:          {Addr: mustAddr("10.0.0.1"), PrefixLen: 32, Encapsulated: true, Interface: "wg0"},
			},
		},
		{
			"unusable-messages-skipped",
			concat(
				nlAddr(syscall.AF_INET6, 200, 0, 2, nlIP(syscall.IFA_ADDRESS, "2001:db8::5")),    // prefix longer than the address
				nlAddr(syscall.AF_INET, 24, 0, 2, nlIP(syscall.IFA_ADDRESS, "2001:db8::6")),      // family and address disagree
				nlAddr(syscall.AF_INET6, 64, 0, 2, nlAttr(syscall.IFA_ADDRESS, []byte{1, 2, 3})), // no address
				nlMsg(syscall.RTM_NEWADDR, []byte{syscall.AF_INET6, 64}),                         // ifaddrmsg cut short
				nlAddr(syscall.AF_INET6, 64, 0, 2, []byte{3, 0, 1, 0}),                           // attribute shorter than its header
				nlMsg(syscall.RTM_NEWROUTE, make([]byte, 12)),                                    // not an address
				nlAddr(syscall.AF_INET6, 128, 0, 9, nlIP(syscall.IFA_ADDRESS, "2001:db8::7")),    // unknown interface: kept
				nlDone,
			),
			map[sysKey]Source{
				{addr: mustAddr("2001:db8::7")}: {Addr: mustAddr("2001:db8::7"), PrefixLen: 128},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sn, err := parseSnapshot(links, tt.addrs)
			if err != nil {
				t.Fatalf("parseSnapshot: %v", err)
			}
			if diff := cmp.Diff(tt.want, sn.addrs, snapCmpOpts); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
			wantIdx := map[string]int{"lo": 1, "eth0": 2, "wg0": 3}
			if diff := cmp.Diff(wantIdx, sn.ifIndex); diff != "" {
				t.Errorf("interfaces (-want +got):\n%s", diff)
			}
		})
	}

	// A dump that is not a sequence of messages is an error.
	good := nlAddr(syscall.AF_INET6, 64, 0, 2, nlIP(syscall.IFA_ADDRESS, "2001:db8::1"))
	for _, bad := range [][]byte{good[:len(good)-3], append(binary.NativeEndian.AppendUint32(nil, 1000), good[4:]...), append([]byte{8, 0, 0, 0}, good[4:]...)} {
		_, err := parseSnapshot(links, bad)
		if !errors.Is(err, syscall.EINVAL) || !strings.HasPrefix(err.Error(), "addrselect: netlink address dump: ") {
			t.Errorf("parseSnapshot(% x) = %v; want an address dump error wrapping EINVAL", bad, err)
		}
	}
}

// readRecordedDump returns the dumps of testdata/netlink, recorded on a
// little-endian host.
func readRecordedDump(t testing.TB) (links, addrs []byte) {
	t.Helper()
	var err error
	if links, err = os.ReadFile(filepath.Join("testdata", "netlink", "netns-links.bin")); err != nil {
		t.Fatal(err)
	}
	if addrs, err = os.ReadFile(filepath.Join("testdata", "netlink", "netns-addrs.bin")); err != nil {
		t.Fatal(err)
	}
	return links, addrs
}

// TestParseSnapshotRecorded parses dumps recorded from a real kernel
// (testdata/netlink/README says how).
func TestParseSnapshotRecorded(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the recorded dumps are little-endian; netlink uses the host's byte order")
	}
	links, addrs := readRecordedDump(t)
	sn, err := parseSnapshot(links, addrs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want Source
	}{
		{"127.0.0.1", Source{PrefixLen: 8, Interface: "lo"}},
		{"::1", Source{PrefixLen: 128, Interface: "lo"}},
		{"2001:db8:1::1", Source{PrefixLen: 64, Interface: "v0"}},
		{"2001:db8:1::2", Source{PrefixLen: 64, Interface: "v0", Deprecated: true}},
		{"2001:db8:1::3", Source{PrefixLen: 64, Interface: "v0", Home: true}},
		{"2001:db8:2::4", Source{PrefixLen: 56, Interface: "v0"}},
		{"192.0.2.1", Source{PrefixLen: 24, Interface: "v0"}},
		{"198.51.100.7", Source{PrefixLen: 25, Interface: "v0", Deprecated: true}},
		// Point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer.
		{"10.9.9.1", Source{PrefixLen: 32, Interface: "t0", Encapsulated: true}},
		{"2001:db8:9::1", Source{PrefixLen: 64, Interface: "t0", Encapsulated: true}},
	}
	for _, tt := range tests {
		a := mustAddr(tt.addr)
		tt.want.Addr = a
		if got, ok := sn.addrs[keyOf(a, 0)]; !ok || got != tt.want {
			t.Errorf("addrs[keyOf(%s, 0)] = %+v, %v; want %+v", a, got, ok, tt.want)
		}
	}
	if _, ok := sn.addrs[keyOf(mustAddr("10.9.9.2"), 0)]; ok {
		t.Errorf("the point-to-point peer 10.9.9.2 is in the table")
	}
	// Three link-local addresses (lo has none): one each on v0, v1, t0?
	// t0 is a tun without carrier and gets none; v0 and v1 one each.
	ll := 0
	for k := range sn.addrs {
		if zoned(k.addr) {
			ll++
			if k.index != 2 && k.index != 3 {
				t.Errorf("link-local %v with interface index %d; want 2 (v1) or 3 (v0)", k.addr, k.index)
			}
		}
	}
	if ll != 2 || len(sn.addrs) != len(tests)+ll {
		t.Errorf("%d addresses, %d link-local; want %d and 2", len(sn.addrs), ll, len(tests)+2)
	}
	if diff := cmp.Diff(map[string]int{"lo": 1, "v1": 2, "v0": 3, "t0": 4}, sn.ifIndex); diff != "" {
		t.Errorf("interfaces (-want +got):\n%s", diff)
	}
}

// FuzzParseSnapshot feeds recorded and mutated netlink dumps to the
// parser behind System. Properties: no panic; an error is a
// syscall.EINVAL; the table is bounded by the input (at most one entry per
// message, names no longer than the dump) and holds only valid, unzoned
// addresses with a prefix length that fits, each found again by lookup.
func FuzzParseSnapshot(f *testing.F) {
	links, addrs := readRecordedDump(f)
	f.Add(links, addrs)
	f.Add(links[:len(links)/2], addrs[:len(addrs)-1])
	f.Add(links, addrs[:100])
	bent := bytes.Clone(addrs)
	bent[17] = 200 // the first address's prefix length
	f.Add(links, bent)
	f.Add(concat(nlLink(1, 772, nlName("lo")), nlLink(7, 0xfffe, nlName("wg0"))),
		concat(nlAddr(syscall.AF_INET6, 64, 0xff, 7, nlIP(syscall.IFA_ADDRESS, "fe80::1"), nlU32(ifaFlagsAttr, 0xffffffff)),
			nlAddr(syscall.AF_INET, 33, 0, 1, nlIP(syscall.IFA_LOCAL, "127.0.0.1"))))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, links, addrs []byte) {
		sn, err := parseSnapshot(links, addrs)
		if err != nil {
			if !errors.Is(err, syscall.EINVAL) || sn != nil {
				t.Fatalf("parseSnapshot = %v, %v; want an error wrapping EINVAL and no table", sn, err)
			}
			return
		}
		if n := len(addrs) / syscall.NLMSG_HDRLEN; len(sn.addrs) > n {
			t.Fatalf("%d addresses from a %d-byte dump", len(sn.addrs), len(addrs))
		}
		if n := len(links) / syscall.NLMSG_HDRLEN; len(sn.ifIndex) > n {
			t.Fatalf("%d interfaces from a %d-byte dump", len(sn.ifIndex), len(links))
		}
		for k, src := range sn.addrs {
			a := src.Addr
			if !a.IsValid() || a.Zone() != "" || a.Is4In6() || k.addr != a {
				t.Fatalf("entry %v: address %v", k, a)
			}
			if src.PrefixLen < 0 || src.PrefixLen > a.BitLen() || len(src.Interface) > len(links) {
				t.Fatalf("entry %+v: prefix length or interface out of bounds", src)
			}
			if k.index != 0 && !zoned(a) {
				t.Fatalf("entry %v: an interface index on an address that needs none", k)
			}
			if got, ok := sn.addrs[keyOf(a, k.index)]; !ok || got != src {
				t.Fatalf("addrs[keyOf(%v, %d)] = %+v, %v; want %+v", a, k.index, got, ok, src)
			}
		}
	})
}
