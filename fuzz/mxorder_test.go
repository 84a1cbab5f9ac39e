package fuzz

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder"
)

// Fuzz target for the pure core of mxorder. The input is a small text
// form of an MX set: one record per line, "PREF EXCHANGE [ADDR...]"; the
// addresses are that exchange's A/AAAA answers. Invariants: no panic;
// every planned address was an input address of that host; hosts and
// attempts are in preference order; no attempt is in a family the
// sender lacks; no address is attempted twice; the address and MX limits
// hold, keep the best and report every cut; errors are the documented
// ones.

// mxFuzzInput parses the text form, bounded so the checks stay cheap.
func mxFuzzInput(s string) ([]*net.MX, map[string]mxorder.HostAddrs) {
	var mx []*net.MX
	addrs := map[string]mxorder.HostAddrs{}
	for i, line := range strings.Split(s, "\n") {
		if i >= 64 {
			break
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		pref, err := strconv.ParseUint(f[0], 10, 16)
		if err != nil {
			continue
		}
		mx = append(mx, &net.MX{Pref: uint16(pref), Host: f[1]})
		ha := addrs[f[1]]
		for _, a := range f[2:min(len(f), 40)] {
			if ip, err := netip.ParseAddr(a); err == nil {
				ha.Addrs = append(ha.Addrs, ip)
			}
		}
		addrs[f[1]] = ha
	}
	return mx, addrs
}

// mxFamilySources gives a source for the families in f only.
type mxFamilySources mxorder.Family

func (f mxFamilySources) Source(_ context.Context, a netip.Addr) (addrselect.Source, error) {
	fam := mxorder.FamilyOf(a)
	if mxorder.Family(f)&fam == 0 {
		return addrselect.Source{}, nil
	}
	if fam == mxorder.IPv4 {
		return addrselect.Source{Addr: netip.MustParseAddr("198.51.100.7"), PrefixLen: 24}, nil
	}
	return addrselect.Source{Addr: netip.MustParseAddr("2001:db8:ffff::7"), PrefixLen: 64}, nil
}

func FuzzPlan(f *testing.F) {
	f.Add("10 mx10.example.org 192.0.2.10 2001:db8::10\n20 mx20.example.org 2001:db8::20\n30 mx30.example.org 192.0.2.30 2001:db8::30", uint8(1), uint64(1), uint8(0), false, uint8(0), "")
	f.Add("10 mx10.example.org 192.0.2.10 2001:db8::10\n20 mx20.example.org 2001:db8::20\n30 mx30.example.org 192.0.2.30 2001:db8::30", uint8(3), uint64(7), uint8(2), true, uint8(2), "mx30.example.org")
	f.Add("0 .", uint8(3), uint64(0), uint8(0), false, uint8(0), "")
	f.Add("0 .\n10 a.example 192.0.2.1", uint8(3), uint64(0), uint8(0), false, uint8(0), "")
	f.Add("10 192.0.2.1 192.0.2.1\n20 [::1] ::1\n30 B\u00fccher.example 2001:db8::1", uint8(2), uint64(3), uint8(1), false, uint8(1), "")
	f.Add("10 a.example 192.0.2.1 192.0.2.1 ::ffff:192.0.2.1\n10 b.example 192.0.2.1\n10 A.EXAMPLE. 2001:db8::1", uint8(1), uint64(9), uint8(3), true, uint8(1), "b.example")
	f.Add("", uint8(3), uint64(0), uint8(0), false, uint8(0), "")
	f.Fuzz(func(t *testing.T, text string, senders uint8, seed uint64, maxAddrs uint8, balance bool, prefer uint8, self string) {
		mx, addrs := mxFuzzInput(text)
		fams := mxorder.Family(senders) & mxorder.DualStack
		p := &mxorder.Planner{
			Sources:      mxFamilySources(fams),
			Seeded:       true,
			Seed:         seed,
			MaxAddresses: int(maxAddrs % 8),
			Balance:      balance,
			Prefer:       mxorder.Family(prefer % 3),
			MaxMX:        16,
			MaxHostAddrs: 8,
		}
		if n, err := mxorder.NormalizeName(self); err == nil {
			p.LocalNames = []string{n}
		}
		if len(mx) == 0 {
			// Implicit MX: the domain's own addresses.
			addrs["example.com"] = addrs[""]
		}
		plan, err := p.Build(context.Background(), "example.com", mx, addrs)
		if err != nil {
			var ue *mxorder.UnreachableError
			switch {
			case errors.Is(err, mxorder.ErrNullMX), errors.Is(err, mxorder.ErrNoSuchDomain), errors.Is(err, mxorder.ErrNoPrimaryRelay):
			case errors.As(err, &ue):
				if plan == nil || len(plan.Hosts) != 0 {
					t.Fatalf("unreachable error with hosts: %v", plan)
				}
			case errors.Is(err, mxorder.ErrInvalidName):
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		// Input addresses per canonical host name.
		inputs := map[string][]netip.Addr{}
		bestPref := map[string]uint16{}
		for _, m := range mx {
			n, err := mxorder.NormalizeName(m.Host)
			if err != nil {
				continue
			}
			for _, a := range addrs[m.Host].Addrs {
				inputs[n] = append(inputs[n], a.Unmap())
			}
			if b, ok := bestPref[n]; !ok || m.Pref < b {
				bestPref[n] = m.Pref
			}
		}
		if len(mx) == 0 {
			for _, a := range addrs["example.com"].Addrs {
				inputs["example.com"] = append(inputs["example.com"], a.Unmap())
			}
			bestPref["example.com"] = 0
		}
		for i, h := range plan.Hosts {
			if i > 0 && plan.Hosts[i-1].Preference > h.Preference {
				t.Fatalf("hosts out of preference order: %v", plan.Hosts)
			}
			if bestPref[h.Name] != h.Preference {
				t.Fatalf("host %s preference %d; best input preference %d", h.Name, h.Preference, bestPref[h.Name])
			}
			if len(h.Addrs) == 0 {
				t.Fatalf("host %s without addresses in Hosts", h.Name)
			}
			for _, c := range h.Addrs {
				if !slices.Contains(inputs[h.Name], c.Addr) {
					t.Fatalf("host %s: address %v not in input %v", h.Name, c.Addr, inputs[h.Name])
				}
				if !fams.Has(mxorder.FamilyOf(c.Addr)) {
					t.Fatalf("host %s: address %v in a family the sender lacks (%v)", h.Name, c.Addr, fams)
				}
			}
		}
		att := plan.Attempts()
		if p.MaxAddresses > 0 && len(att) > p.MaxAddresses {
			t.Fatalf("%d attempts; limit %d", len(att), p.MaxAddresses)
		}
		seen := map[netip.Addr]bool{}
		for i, a := range att {
			if seen[a.Addr] {
				t.Fatalf("address %v attempted twice", a.Addr)
			}
			seen[a.Addr] = true
			if i > 0 && att[i-1].Preference > a.Preference {
				t.Fatalf("attempts out of preference order")
			}
			if !fams.Has(mxorder.FamilyOf(a.Addr)) || !slices.Contains(inputs[a.Host], a.Addr) {
				t.Fatalf("attempt %v for %s not a usable input address", a.Addr, a.Host)
			}
		}
		// Every cut is counted and listed, and the MX limit keeps the
		// best preferences.
		var mxCut, addrCut int
		worstKept := -1
		for _, h := range plan.Hosts {
			worstKept = max(worstKept, int(h.Preference))
		}
		for _, sk := range plan.Skipped {
			switch sk.Reason {
			case mxorder.SkipMXLimit:
				mxCut++
				if int(sk.Preference) < worstKept {
					t.Fatalf("MX %s (preference %d) cut while preference %d was kept", sk.Host, sk.Preference, worstKept)
				}
			case mxorder.SkipAddressLimit:
				addrCut++
			}
		}
		if mxCut != plan.Truncated.MX || addrCut != plan.Truncated.Attempts {
			t.Fatalf("skips: %d mx-limit, %d address-limit; Truncated %+v", mxCut, addrCut, plan.Truncated)
		}
		if len(plan.Hosts) > p.MaxMX {
			t.Fatalf("%d hosts; MaxMX %d", len(plan.Hosts), p.MaxMX)
		}
		if p.LocalNames != nil {
			for _, h := range plan.Hosts {
				if h.Name == p.LocalNames[0] || (plan.Self != "" && h.Preference >= plan.SelfPreference) {
					t.Fatalf("host %s kept at or above the local host", h.Name)
				}
			}
		}
	})
}

// FuzzPlanNormalizeName: NormalizeName is idempotent, returns lower-case
// LDH names within the DNS limits and never an IP literal, and every
// rejection is a *NameError carrying the input.
func FuzzPlanNormalizeName(f *testing.F) {
	for _, s := range []string{"Example.COM.", "Bücher.example", "xn--bcher-kva.example", "192.0.2.1", "[::1]", "1.2.3", "a..b", "-a.b", "", ".", "exa mple", "xn--zz.example", strings.Repeat("a", 64) + ".b", "ÅÄÖ.se", "münchen.de.", "\u200d.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := mxorder.NormalizeName(s)
		if err != nil {
			var ne *mxorder.NameError
			if !errors.As(err, &ne) || ne.Name != s || ne.Reason == "" || !errors.Is(err, mxorder.ErrInvalidName) {
				t.Fatalf("NormalizeName(%q) error %v is not a proper *NameError", s, err)
			}
			return
		}
		if len(n) == 0 || len(n) > 253 || strings.HasSuffix(n, ".") {
			t.Fatalf("NormalizeName(%q) = %q: bad length or trailing dot", s, n)
		}
		for i := 0; i < len(n); i++ {
			c := n[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
				t.Fatalf("NormalizeName(%q) = %q: byte %q", s, n, c)
			}
		}
		if _, err := netip.ParseAddr(n); err == nil {
			t.Fatalf("NormalizeName(%q) = %q, an IP literal", s, n)
		}
		again, err := mxorder.NormalizeName(n)
		if err != nil || again != n {
			t.Fatalf("NormalizeName(%q) = %q, %v; want idempotent %q", n, again, err, n)
		}
	})
}

// FuzzPlanCheck: the pure audit never panics, lists the hosts in
// preference order, and every host-level finding names a listed host or
// an invalid exchange of the input.
func FuzzPlanCheck(f *testing.F) {
	f.Add("10 mx10.example.org 192.0.2.10 2001:db8::10\n20 mx20.example.org 2001:db8::20\n30 mx30.example.org 192.0.2.30 2001:db8::30")
	f.Add("0 .\n10 a.example 10.0.0.1 fe80::1 2002::1 2001::1 fd00::1 100.64.0.1 ::ffff:1.2.3.4")
	f.Add("10 192.0.2.1\n20 b.example")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		mx, addrs := mxFuzzInput(text)
		r, err := mxorder.Check("example.com", mx, addrs)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for i, h := range r.Hosts {
			names[h.Name] = true
			if i > 0 && r.Hosts[i-1].Preference > h.Preference {
				t.Fatalf("hosts out of order: %v", r.Hosts)
			}
		}
		raw := map[string]bool{}
		for _, m := range mx {
			raw[m.Host] = true
		}
		for _, fd := range r.Findings {
			if fd.Message == "" || fd.Severity < mxorder.SeverityInfo || fd.Severity > mxorder.SeverityError {
				t.Fatalf("bad finding %+v", fd)
			}
			if fd.Host != "" && !names[fd.Host] && !raw[fd.Host] && fd.Host != "example.com" {
				t.Fatalf("finding for unknown host %q: %+v", fd.Host, fd)
			}
		}
		if len(r.Reach) != 3 {
			t.Fatalf("Reach has %d entries; want 3", len(r.Reach))
		}
	})
}
