package addrselect

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect/nat64"
)

// recordedNDUserOpts are the RTM_NEWNDUSEROPT datagrams Linux 6.18
// (amd64, so the netlink header fields are little-endian) sent for the
// router advertisement of TestPREF64FromRouterAdvertisement, from
// fe80::1 to interface 2: PREF64 2001:db8:64::/96 for 1800 s, a PREF64
// with PLC 7, RDNSS, PREF64 64:ff9b::/40 for 600 s.
var recordedNDUserOpts = []string{
	"440000004400000000000000000000000a0010000200000086000000000000002602070820010db8006400000000000014000100fe800000000000000000000000000001",
	"440000004400000000000000000000000a0010000200000086000000000000002602000720010db8000000000000000014000100fe800000000000000000000000000001",
	"4c0000004400000000000000000000000a001800020000008600000000000000190300000000070820010db800000000000000000000005314000100fe800000000000000000000000000001",
	"440000004400000000000000000000000a0010000200000086000000000000002602025c0064ff9b000000000000000014000100fe800000000000000000000000000001",
}

var pref64Learned = time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)

func TestParseNDUserOptsRecorded(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the recording's netlink headers are little-endian; TestParseNDUserOptsBuilt covers this host")
	}
	router := netip.MustParseAddr("fe80::1")
	tests := []struct {
		name string
		in   string
		want []RouterPREF64
		err  error
	}{
		{"pref64-nsp", recordedNDUserOpts[0], []RouterPREF64{{nat64.PREF64{Prefix: netip.MustParsePrefix("2001:db8:64::/96"), Lifetime: 1800 * time.Second, Learned: pref64Learned}, 2, router}}, nil},
		{"pref64-plc7", recordedNDUserOpts[1], nil, plcError(32)},
		{"rdnss", recordedNDUserOpts[2], nil, nil},
		{"pref64-40", recordedNDUserOpts[3], []RouterPREF64{{nat64.PREF64{Prefix: netip.MustParsePrefix("64:ff9b::/40"), Lifetime: 600 * time.Second, Learned: pref64Learned}, 2, router}}, nil},
		{"all-in-one-read", recordedNDUserOpts[0] + recordedNDUserOpts[1] + recordedNDUserOpts[2] + recordedNDUserOpts[3], []RouterPREF64{
			{nat64.PREF64{Prefix: netip.MustParsePrefix("2001:db8:64::/96"), Lifetime: 1800 * time.Second, Learned: pref64Learned}, 2, router},
			{nat64.PREF64{Prefix: netip.MustParsePrefix("64:ff9b::/40"), Lifetime: 600 * time.Second, Learned: pref64Learned}, 2, router},
		}, plcError(68 + 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.in)
			got, err := parseNDUserOpts(b, pref64Learned, nil)
			if !sameNDUserOptError(err, tt.err) || !equalRouterPREF64s(got, tt.want) {
				t.Fatalf("parseNDUserOpts = %+v, %v; want %+v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

// plcError stands for an *NDUserOptError holding the *nat64.OptionError
// of a PREF64 option's PLC (octet 3), the option at octet at of the
// datagram.
func plcError(at int) error {
	return &NDUserOptError{Offset: at, Err: &nat64.OptionError{Offset: 3, Err: errors.New("PLC 7")}}
}

// sameNDUserOptError reports whether err is nil when want is, or matches
// want's offsets.
func sameNDUserOptError(err, want error) bool {
	if want == nil || err == nil {
		return err == want
	}
	var ne *NDUserOptError
	var oe *nat64.OptionError
	w := want.(*NDUserOptError)
	return errors.As(err, &ne) && errors.As(err, &oe) && ne.Offset == w.Offset && oe.Offset == w.Err.(*nat64.OptionError).Offset
}

func equalRouterPREF64s(a, b []RouterPREF64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ndUserOptMsg builds one RTM_NEWNDUSEROPT message in host byte order,
// as the kernel's ndisc_ra_useropt does: header, nduseroptmsg, the
// options, and the source address attribute unless src is invalid.
func ndUserOptMsg(family, icmpType byte, index int32, opts []byte, src netip.Addr) []byte {
	ne := binary.NativeEndian
	b := make([]byte, 16, 64)
	ne.PutUint16(b[4:], rtmNewNDUserOpt)
	m := make([]byte, 16)
	m[0] = family
	ne.PutUint16(m[2:], uint16(len(opts)))
	ne.PutUint32(m[4:], uint32(index))
	m[8] = icmpType
	b = append(append(b, m...), opts...)
	if src.IsValid() {
		a := src.As16()
		b = ne.AppendUint16(b, 20)
		b = ne.AppendUint16(b, ndUserOptSrcAddr)
		b = append(b, a[:]...)
	}
	ne.PutUint32(b, uint32(len(b)))
	return b
}

func TestParseNDUserOptsBuilt(t *testing.T) {
	router := netip.MustParseAddr("fe80::1")
	wkp, _ := nat64.PREF64{Prefix: nat64.WellKnownPrefix, Lifetime: 1800 * time.Second}.AppendOption(nil)
	nsp, _ := nat64.PREF64{Prefix: netip.MustParsePrefix("2001:db8::/32"), Lifetime: 8 * time.Second}.AppendOption(nil)
	wantWKP := RouterPREF64{nat64.PREF64{Prefix: nat64.WellKnownPrefix, Lifetime: 1800 * time.Second, Learned: pref64Learned}, 7, router}
	wantNSP := RouterPREF64{nat64.PREF64{Prefix: netip.MustParsePrefix("2001:db8::/32"), Lifetime: 8 * time.Second, Learned: pref64Learned}, 7, router}
	good := ndUserOptMsg(afInet6, icmpRouterAdvert, 7, wkp, router)
	other := append(ndUserOptMsg(afInet6, icmpRouterAdvert, 7, nil, router)[:0:0], good...)
	binary.NativeEndian.PutUint16(other[4:], 16) // RTM_NEWLINK
	badOptLen := append([]byte(nil), good...)
	binary.NativeEndian.PutUint16(badOptLen[18:], 200)
	zeroLenOpt := ndUserOptMsg(afInet6, icmpRouterAdvert, 7, append([]byte{38, 0}, make([]byte, 14)...), router)
	badAttr := append([]byte(nil), good...)
	binary.NativeEndian.PutUint16(badAttr[48:], 2)
	tests := []struct {
		name string
		in   []byte
		want []RouterPREF64
		err  error // nil, or a cause errors.Is finds
		bad  bool  // an *NDUserOptError is expected
	}{
		{"one", good, []RouterPREF64{wantWKP}, nil, false},
		{"two-options", ndUserOptMsg(afInet6, icmpRouterAdvert, 7, append(append([]byte(nil), nsp...), wkp...), router), []RouterPREF64{wantNSP, wantWKP}, nil, false},
		{"no-source-attribute", ndUserOptMsg(afInet6, icmpRouterAdvert, 7, wkp, netip.Addr{}), []RouterPREF64{{wantWKP.PREF64, 7, netip.Addr{}}}, nil, false},
		{"other-message-type", other, nil, nil, false},
		{"other-family", ndUserOptMsg(2, icmpRouterAdvert, 7, wkp, router), nil, nil, false},
		{"redirect-not-ra", ndUserOptMsg(afInet6, 137, 7, wkp, router), nil, nil, false},
		{"after-other-type", append(append([]byte(nil), other...), good...), []RouterPREF64{wantWKP}, nil, false},
		{"truncated-header", good[:10], nil, errNLTruncated, true},
		{"length-past-buffer", good[:len(good)-1], nil, errNLTruncated, true},
		{"opts-len-past-message", badOptLen, nil, errNLTruncated, true},
		{"zero-length-option", zeroLenOpt, nil, errNDOptLength, true},
		{"attribute-length", badAttr, nil, errNDAttrLength, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNDUserOpts(tt.in, pref64Learned, nil)
			var ne *NDUserOptError
			if errors.As(err, &ne) != tt.bad || (tt.err != nil && !errors.Is(err, tt.err)) || !equalRouterPREF64s(got, tt.want) {
				t.Fatalf("parseNDUserOpts = %+v, %v; want %+v, error %v", got, err, tt.want, tt.err)
			}
		})
	}
}

// FuzzParseNDUserOpts checks that any datagram parses without panic,
// that errors are *NDUserOptErrors at an offset inside the datagram, and
// that every PREF64 reported is usable for synthesis.
func FuzzParseNDUserOpts(f *testing.F) {
	for _, s := range recordedNDUserOpts {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	wkp, _ := nat64.PREF64{Prefix: nat64.WellKnownPrefix, Lifetime: time.Hour}.AppendOption(nil)
	f.Add(ndUserOptMsg(afInet6, icmpRouterAdvert, 1, wkp, netip.MustParseAddr("fe80::1")))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseNDUserOpts(b, pref64Learned, nil)
		var ne *NDUserOptError
		if err != nil && (!errors.As(err, &ne) || ne.Offset < 0 || ne.Offset > len(b)) {
			t.Fatalf("parseNDUserOpts(% x) error %#v: not an *NDUserOptError inside the datagram", b, err)
		}
		for _, r := range got {
			if _, err := nat64.Synthesize(r.Prefix, netip.MustParseAddr("8.8.8.8")); err != nil || r.Learned != pref64Learned {
				t.Fatalf("parseNDUserOpts(% x) reported %+v: %v", b, r, err)
			}
		}
	})
}

func TestPREF64Table(t *testing.T) {
	at := func(s int) time.Time { return pref64Learned.Add(time.Duration(s) * time.Second) }
	opt := func(prefix string, iface int, lifetime, learned int) RouterPREF64 {
		return RouterPREF64{PREF64: nat64.PREF64{Prefix: netip.MustParsePrefix(prefix), Lifetime: time.Duration(lifetime) * time.Second, Learned: at(learned)}, Interface: iface}
	}
	tests := []struct {
		name  string
		learn []RouterPREF64
		now   int // seconds after pref64Learned
		want  []string
	}{
		{"one", []RouterPREF64{opt("64:ff9b::/96", 2, 1800, 0)}, 10, []string{"64:ff9b::/96"}},
		{"order-learned", []RouterPREF64{opt("2001:db8:64::/96", 2, 1800, 0), opt("64:ff9b::/96", 2, 1800, 1)}, 10, []string{"2001:db8:64::/96", "64:ff9b::/96"}},
		{"expired", []RouterPREF64{opt("64:ff9b::/96", 2, 8, 0)}, 8, nil},
		{"renewed", []RouterPREF64{opt("64:ff9b::/96", 2, 8, 0), opt("64:ff9b::/96", 2, 8, 5)}, 10, []string{"64:ff9b::/96"}},
		{"withdrawn", []RouterPREF64{opt("64:ff9b::/96", 2, 1800, 0), opt("64:ff9b::/96", 2, 0, 5)}, 10, nil},
		{"withdrawn-on-other-interface", []RouterPREF64{opt("64:ff9b::/96", 2, 1800, 0), opt("64:ff9b::/96", 3, 0, 5)}, 10, []string{"64:ff9b::/96"}},
		{"two-interfaces-one-prefix", []RouterPREF64{opt("64:ff9b::/96", 2, 1800, 0), opt("64:ff9b::/96", 3, 1800, 0)}, 10, []string{"64:ff9b::/96"}},
		{"learned-unknown", []RouterPREF64{{PREF64: nat64.PREF64{Prefix: nat64.WellKnownPrefix, Lifetime: time.Hour}}}, 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var table pref64Table
			for _, r := range tt.learn {
				table.learn(r)
			}
			got := table.prefixes(at(tt.now), nil)
			var want []netip.Prefix
			for _, s := range tt.want {
				want = append(want, netip.MustParsePrefix(s))
			}
			if !slices.Equal(got, want) {
				t.Errorf("prefixes(%ds) = %v; want %v", tt.now, got, want)
			}
		})
	}
}

// TestPREF64TableBounded floods the table with distinct prefixes: it
// keeps maxPREF64s entries, those that expire last.
func TestPREF64TableBounded(t *testing.T) {
	var table pref64Table
	for i := range 1000 {
		p := netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)}), 96)
		table.learn(RouterPREF64{PREF64: nat64.PREF64{Prefix: p, Lifetime: time.Duration(8+i) * time.Second, Learned: pref64Learned}, Interface: 2})
	}
	got := table.prefixes(pref64Learned, nil)
	if len(got) != maxPREF64s || len(table.entries) != maxPREF64s {
		t.Fatalf("after 1000 prefixes the table holds %d entries, reports %d; want %d", len(table.entries), len(got), maxPREF64s)
	}
	if first := got[0].Addr().As16(); int(first[4])<<8|int(first[5]) != 1000-maxPREF64s {
		t.Errorf("prefixes()[0] = %s; want the prefix learned %d-th", got[0], 1000-maxPREF64s)
	}
}
