package fuzz

import (
	"context"
	"encoding/json"
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

// fuzzLines splits the first 64 lines of s into fields, leaving out
// lines with fewer than n fields.
func fuzzLines(s string, n int) [][]string {
	var out [][]string
	for i, line := range strings.Split(s, "\n") {
		if i >= 64 {
			break
		}
		if f := strings.Fields(line); len(f) >= n {
			out = append(out, f)
		}
	}
	return out
}

// mxFuzzInput parses the text form, bounded so the checks stay cheap.
func mxFuzzInput(s string) ([]*net.MX, map[string]mxorder.HostAddrs) {
	var mx []*net.MX
	addrs := map[string]mxorder.HostAddrs{}
	for _, f := range fuzzLines(s, 2) {
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
	f.Add("10 \xff.example 192.0.2.1")
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
		// Invalid exchanges are named as written, made valid UTF-8 and
		// cut to 256 bytes (marked "...").
		raw := map[string]bool{}
		for _, m := range mx {
			h := strings.ToValidUTF8(m.Host, "\uFFFD")
			raw[h] = true
			for cut := 253; cut <= 256 && cut < len(h); cut++ {
				raw[h[:cut]+"..."] = true
			}
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

// fuzzResolver is an mxorder.Resolver (and CNAMEResolver) whose answers
// and errors come from a text: one directive a line,
//
//	mx NAME PREF EXCHANGE      an MX record ("." for a null MX)
//	ip4 NAME ADDR...           A answers (any address: stray ones too)
//	ip6 NAME ADDR...           AAAA answers
//	many ip4|ip6 NAME N        N generated answers (at most 5000)
//	cname NAME TARGET          NAME is an alias
//	fail mx|ip4|ip6|cname NAME notfound|servfail|timeout|plain|panic
//
// A name without records answers "not found", as *net.Resolver does.
type fuzzResolver struct {
	mx    map[string][]*net.MX
	addrs map[string][]netip.Addr // "ip4 NAME", "ip6 NAME"
	fails map[string]string       // "TYPE NAME" -> kind
	cname map[string]string
}

func fuzzCanon(n string) string { return strings.ToLower(strings.TrimSuffix(n, ".")) }

// newFuzzResolver parses the text, bounded so that each run stays cheap.
func newFuzzResolver(text string) *fuzzResolver {
	r := &fuzzResolver{mx: map[string][]*net.MX{}, addrs: map[string][]netip.Addr{}, fails: map[string]string{}, cname: map[string]string{}}
	for _, f := range fuzzLines(text, 3) {
		k := f[1] + " " + fuzzCanon(f[1+min(1, len(f)-2)])
		switch f[0] {
		case "mx":
			if pref, err := strconv.ParseUint(f[2], 10, 16); err == nil && len(f) > 3 {
				r.mx[fuzzCanon(f[1])] = append(r.mx[fuzzCanon(f[1])], &net.MX{Pref: uint16(pref), Host: f[3]})
			}
		case "ip4", "ip6":
			k = f[0] + " " + fuzzCanon(f[1])
			for _, s := range f[2:min(len(f), 40)] {
				if a, err := netip.ParseAddr(s); err == nil {
					r.addrs[k] = append(r.addrs[k], a)
				}
			}
		case "many":
			n, err := strconv.Atoi(f[len(f)-1])
			if err != nil || len(f) != 4 {
				continue
			}
			for j := range min(max(n, 0), 5000) {
				a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(j >> 8), 15: byte(j)})
				if f[1] == "ip4" {
					a = netip.AddrFrom4([4]byte{198, 18, byte(j >> 8), byte(j)})
				}
				r.addrs[k] = append(r.addrs[k], a)
			}
		case "cname":
			r.cname[fuzzCanon(f[1])] = fuzzCanon(f[2])
		case "fail":
			if len(f) == 4 {
				r.fails[k] = f[3]
			}
		}
	}
	return r
}

// answer applies a failure set for "TYPE NAME", if any.
func (r *fuzzResolver) fail(qtype, name string) error {
	kind, ok := r.fails[qtype+" "+fuzzCanon(name)]
	switch {
	case !ok:
		return nil
	case kind == "panic":
		panic("fuzz resolver panics for " + qtype + " " + name)
	case kind == "servfail":
		return &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	case kind == "timeout":
		return &net.DNSError{Err: "i/o timeout", Name: name, IsTimeout: true, IsTemporary: true}
	case kind == "plain":
		return errors.New("fuzz resolver error")
	}
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r *fuzzResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if err := r.fail("mx", name); err != nil {
		return nil, err
	}
	if mx := r.mx[fuzzCanon(name)]; len(mx) > 0 {
		return mx, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r *fuzzResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	if err := r.fail(network, host); err != nil {
		return nil, err
	}
	if a := r.addrs[network+" "+fuzzCanon(host)]; len(a) > 0 {
		return a, nil // shared: the planner must copy
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (r *fuzzResolver) LookupCNAME(_ context.Context, host string) (string, error) {
	if err := r.fail("cname", host); err != nil {
		return "", err
	}
	if c, ok := r.cname[fuzzCanon(host)]; ok {
		return c + ".", nil
	}
	return fuzzCanon(host) + ".", nil
}

// answered returns every address the resolver gives for host, unmapped.
func (r *fuzzResolver) answered(host string) []netip.Addr {
	var out []netip.Addr
	for _, n := range []string{"ip4", "ip6"} {
		for _, a := range r.addrs[n+" "+host] {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// checkLookupErrors: every failed lookup keeps its error and its text,
// and a resolver panic is a *ResolverPanicError.
func checkLookupErrors(t *testing.T, errs []mxorder.LookupError) {
	t.Helper()
	for _, l := range errs {
		if l.Err == nil || l.Message != l.Err.Error() {
			t.Fatalf("lookup error %+v without its error", l)
		}
		var pe *mxorder.ResolverPanicError
		if strings.Contains(l.Message, "fuzz resolver panics") && (!errors.As(l.Err, &pe) || !l.Temporary) {
			t.Fatalf("resolver panic reported as %#v", l)
		}
	}
}

// checkJSONRoundTrip: v marshals, unmarshals into a fresh *T and
// marshals again to the same bytes, and never writes null.
func checkJSONRoundTrip[T any](t *testing.T, v *T) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil || hasNull(tree) {
		t.Fatalf("JSON has null (or does not parse: %v): %s", err, b)
	}
	var back T
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Unmarshal(%s): %v", b, err)
	}
	again, err := json.Marshal(&back)
	if err != nil || string(again) != string(b) {
		t.Fatalf("JSON round trip:\n%s\n%s (%v)", b, again, err)
	}
}

// hasNull reports whether a decoded JSON value holds a null.
func hasNull(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case []any:
		return slices.ContainsFunc(v, hasNull)
	case map[string]any:
		for _, e := range v {
			if hasNull(e) {
				return true
			}
		}
	}
	return false
}

var resolverSeeds = []string{
	"mx example.org 10 mx10.example.org\nmx example.org 20 mx20.example.org\nip4 mx10.example.org 192.0.2.10\nip6 mx10.example.org 2001:db8::10\nip6 mx20.example.org 2001:db8::20",
	"mx example.org 0 .",
	"mx example.org 0 .\nmx example.org 10 a.example\nip4 a.example 192.0.2.1",
	"mx example.org 10 \nmx example.org 20 b.example\nip6 b.example fe80::1%eth0 2001:db8::2 ::ffff:192.0.2.9",
	"fail mx example.org servfail",
	"fail mx example.org panic",
	"mx example.org 10 a.example\nfail ip4 a.example panic\nip6 a.example 2001:db8::1\ncname a.example b.example",
	"mx example.org 10 a.example\nmany ip6 a.example 5000\nmany ip4 a.example 3\nfail cname a.example panic",
	"ip4 example.org 192.0.2.1\nip6 example.org 2001:db8::1",
	"fail ip4 example.org timeout\nfail ip6 example.org notfound",
	"mx example.org 10 192.0.2.1\nmx example.org 20 a.example\nmx example.org 20 A.EXAMPLE.\nip4 a.example 192.0.2.1 192.0.2.1\nfail ip6 a.example plain",
}

// FuzzPlanResolver: Planner.Plan through a resolver whose answers and
// errors come from the input. The error is one the package documents;
// the plan is bounded by the limits, lists only answered addresses
// (never one with a zone), and its JSON round-trips exactly.
func FuzzPlanResolver(f *testing.F) {
	for _, s := range resolverSeeds {
		f.Add(s, uint8(3), uint8(0))
	}
	f.Fuzz(func(t *testing.T, text string, senders, maxAddrs uint8) {
		r := newFuzzResolver(text)
		p := &mxorder.Planner{Resolver: r, Families: mxorder.Family(senders) & mxorder.DualStack,
			Seeded: true, MaxMX: 8, MaxHostAddrs: 4, MaxAddresses: int(maxAddrs % 8)}
		plan, err := p.Plan(context.Background(), "example.org")
		checkPlanError(t, plan, err)
		if plan == nil {
			return
		}
		checkLookupErrors(t, plan.LookupErrors)
		// Bounded output: one skip per record or answered address at
		// most (a million-address answer is one summary skip), each of
		// bounded text.
		if len(plan.Skipped) > 64*40 {
			t.Fatalf("%d skips for at most 64 lines", len(plan.Skipped))
		}
		for _, s := range plan.Skipped {
			if len(s.Host) > 260 || len(s.Detail) > 1200 {
				t.Fatalf("skip text unbounded: %d, %d bytes", len(s.Host), len(s.Detail))
			}
		}
		if len(plan.Hosts) > p.MaxMX {
			t.Fatalf("%d hosts; MaxMX %d", len(plan.Hosts), p.MaxMX)
		}
		for _, h := range plan.Hosts {
			if len(h.Addrs) == 0 || len(h.Addrs) > 2*p.MaxHostAddrs {
				t.Fatalf("host %s has %d addresses", h.Name, len(h.Addrs))
			}
		}
		if p.MaxAddresses > 0 && len(plan.Attempts()) > p.MaxAddresses {
			t.Fatalf("%d attempts; MaxAddresses %d", len(plan.Attempts()), p.MaxAddresses)
		}
		for _, a := range plan.Attempts() {
			if a.Addr.Zone() != "" || !slices.Contains(r.answered(a.Host), a.Addr) {
				t.Fatalf("attempt %v for %s: zoned or not answered (%v)", a.Addr, a.Host, r.answered(a.Host))
			}
		}
		if plan.NullMX != errors.Is(err, mxorder.ErrNullMX) || (plan.Implicit && errors.Is(err, mxorder.ErrNoSuchDomain)) {
			t.Fatalf("NullMX %v, Implicit %v with error %v", plan.NullMX, plan.Implicit, err)
		}
		checkJSONRoundTrip(t, plan)
	})
}

// checkPlanError: err is nil or one of the documented errors; a plan
// comes with every error but an invalid name or a failed MX lookup.
func checkPlanError(t *testing.T, plan *mxorder.Plan, err error) {
	t.Helper()
	var (
		ue *mxorder.UnreachableError
		pe *mxorder.ResolverPanicError
		de *net.DNSError
	)
	switch {
	case err == nil:
		if plan == nil || len(plan.Attempts()) == 0 {
			t.Fatalf("no error and no attempts: %v", plan)
		}
	case errors.Is(err, mxorder.ErrNullMX), errors.Is(err, mxorder.ErrNoSuchDomain), errors.Is(err, mxorder.ErrNoPrimaryRelay):
		if plan == nil || len(plan.Hosts) != 0 {
			t.Fatalf("error %v with plan %v", err, plan)
		}
	case errors.As(err, &ue):
		if plan == nil || len(plan.Hosts) != 0 || ue.Hosts < 0 {
			t.Fatalf("unreachable error with plan %v", plan)
		}
	case errors.As(err, &pe), errors.As(err, &de), strings.Contains(err.Error(), "fuzz resolver error"):
		if plan != nil || !strings.HasPrefix(err.Error(), "mxorder: ") {
			t.Fatalf("MX lookup error %v with plan %v", err, plan)
		}
	default:
		t.Fatalf("unexpected error %T %v", err, err)
	}
}

// FuzzAuditResolver: Planner.Audit and Planner.CheckBounce through the
// fuzzed resolver. Errors are only the MX lookup's (typed); reports
// have no null lists, hosts in preference order, three Reach rows, and
// JSON that round-trips exactly; the bounce check agrees with its
// findings and says when a domain is a null MX.
func FuzzAuditResolver(f *testing.F) {
	for _, s := range resolverSeeds {
		f.Add(s+"\nmx sender.example 10 s.example\nip4 s.example 203.0.113.1", uint8(1))
	}
	f.Add("mx example.org 10 a.example\nip4 a.example 192.0.2.1\nmx sender.example 0 .", uint8(3))
	f.Add("mx example.org 10 a.example\nip4 a.example 192.0.2.1\ncname a.example \xff.example", uint8(2))
	f.Fuzz(func(t *testing.T, text string, relay uint8) {
		r := newFuzzResolver(text)
		p := &mxorder.Planner{Resolver: r, MaxMX: 8, MaxHostAddrs: 4}
		rep, err := p.Audit(context.Background(), "example.org")
		checkAuditError(t, err, rep == nil)
		if rep != nil {
			if len(rep.Reach) != 3 {
				t.Fatalf("%d Reach rows", len(rep.Reach))
			}
			for i := 1; i < len(rep.Hosts); i++ {
				if rep.Hosts[i-1].Preference > rep.Hosts[i].Preference {
					t.Fatalf("hosts out of order: %v", rep.Hosts)
				}
			}
			checkJSONRoundTrip(t, rep)
		}
		b, err := p.CheckBounce(context.Background(), mxorder.Family(relay)&mxorder.DualStack, "example.org", "sender.example")
		checkAuditError(t, err, b == nil)
		if b == nil {
			return
		}
		hasError := slices.ContainsFunc(b.Findings, func(f mxorder.AuditFinding) bool { return f.Severity == mxorder.SeverityError })
		if b.OK() == hasError || (b.SenderNullMX && b.SenderFamilies != 0) {
			t.Fatalf("bounce report inconsistent: %+v", b)
		}
		checkJSONRoundTrip(t, b)
	})
}

// checkAuditError: an audit or bounce check fails only with its
// report missing, and then only for the MX lookup (typed: the resolver's
// *net.DNSError, a *ResolverPanicError, or its plain error wrapped).
func checkAuditError(t *testing.T, err error, noReport bool) {
	t.Helper()
	var (
		pe *mxorder.ResolverPanicError
		de *net.DNSError
	)
	switch {
	case err == nil && noReport, err != nil && !noReport:
		t.Fatalf("error %v; report missing: %v", err, noReport)
	case err == nil:
	case errors.As(err, &pe), errors.As(err, &de), strings.Contains(err.Error(), "fuzz resolver error"):
		if !strings.HasPrefix(err.Error(), "mxorder: ") {
			t.Fatalf("error %q does not name the package", err)
		}
	default:
		t.Fatalf("unexpected error %T %v", err, err)
	}
}

// FuzzDeliver: Plan.Deliver with fuzzed outcomes (one byte per try; a
// byte of 0x80 or more also cancels the context during that try). It
// tries the attempts in order, stops at the first delivery, permanent
// failure, unknown outcome (an *OutcomeError) or the session limit,
// and reports a cancellation even during the last try.
func FuzzDeliver(f *testing.F) {
	f.Add([]byte{0, 1, 2}, uint8(0))
	f.Add([]byte{1, 1, 1, 1}, uint8(2))
	f.Add([]byte{0, 3}, uint8(0))
	f.Add([]byte{0, 9}, uint8(0))
	f.Add([]byte{0, 0, 0, 0x80}, uint8(0))
	f.Fuzz(func(t *testing.T, outcomes []byte, sessions uint8) {
		mx, addrs := mxFuzzInput("10 a.example 192.0.2.1 2001:db8::1\n20 b.example 192.0.2.2\n30 c.example 2001:db8::3")
		p := &mxorder.Planner{Seeded: true, MaxSessions: int(sessions % 4)}
		plan, err := p.Build(context.Background(), "example.com", mx, addrs)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var tried []mxorder.Attempt
		err = plan.Deliver(ctx, func(_ context.Context, a mxorder.Attempt) (mxorder.Outcome, error) {
			b := byte(0)
			if len(tried) < len(outcomes) {
				b = outcomes[len(tried)]
			}
			tried = append(tried, a)
			if b >= 0x80 {
				cancel()
			}
			return mxorder.Outcome(b & 0x7f), errors.New("try " + strconv.Itoa(len(tried)))
		})
		checkDelivery(t, plan, outcomes, tried, ctx.Err() != nil, err)
	})
}

// checkDelivery checks one Deliver run against the outcomes given.
func checkDelivery(t *testing.T, plan *mxorder.Plan, outcomes []byte, tried []mxorder.Attempt, cancelled bool, err error) {
	t.Helper()
	if !slices.Equal(tried, plan.Attempts()[:len(tried)]) {
		t.Fatalf("tried %v; want a prefix of %v", tried, plan.Attempts())
	}
	last := byte(0)
	if n := len(tried); n > 0 && n <= len(outcomes) {
		last = outcomes[n-1] & 0x7f
	}
	var de *mxorder.DeliveryError
	var oe *mxorder.OutcomeError
	switch {
	case mxorder.Outcome(last) == mxorder.OutcomeDelivered && len(tried) > 0:
		if err != nil {
			t.Fatalf("delivered, yet err %v", err)
		}
		return
	case !errors.As(err, &de) || len(de.Attempts) != len(tried):
		t.Fatalf("err %v after %d tries; want a *DeliveryError of them", err, len(tried))
	case last > byte(mxorder.OutcomePermanent) && !errors.As(err, &oe):
		t.Fatalf("outcome %d gave %v; want an *OutcomeError", last, err)
	case cancelled && !errors.Is(err, context.Canceled):
		t.Fatalf("cancelled, yet err %v", err)
	case de.Permanent != (mxorder.Outcome(last) == mxorder.OutcomePermanent && len(tried) > 0):
		t.Fatalf("Permanent %v after outcome %d", de.Permanent, last)
	}
	sessions := 0
	for _, a := range de.Attempts {
		if a.Outcome == mxorder.OutcomeSession {
			sessions++
		}
	}
	if plan.MaxSessions > 0 && sessions > plan.MaxSessions {
		t.Fatalf("%d sessions; MaxSessions %d", sessions, plan.MaxSessions)
	}
}

// FuzzPlanJSON: any JSON that unmarshals into a Plan or a Candidate
// marshals to a form that unmarshals and marshals again to the same
// bytes.
func FuzzPlanJSON(f *testing.F) {
	f.Add([]byte(`{"domain":"example.org","hosts":[{"name":"a.example","preference":10,"addrs":[{"addr":"192.0.2.1","source":"198.51.100.7","source_prefix_len":24}],"families":"dual"}],"skipped":[{"host":"b.example","preference":20,"reason":"family"}],"sender_families":"ipv4","domain_families":"dual","attempts":[{"host":"a.example","preference":10,"addr":"192.0.2.1"}]}`))
	f.Add([]byte(`{"domain":"null.example","null_mx":true,"hosts":[],"attempts":[],"sender_families":"46"}`))
	f.Add([]byte(`{"addr":"2001:db8::1","source":"2001:db8::7","source_temporary":true,"source_interface":"eth0","source_next_hop":"fe80::1"}`))
	f.Add([]byte(`{"hosts":null,"attempts":null,"skipped":[{"reason":"skip(200)"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p mxorder.Plan
		if json.Unmarshal(b, &p) == nil {
			checkJSONRoundTrip(t, &p)
		}
		var c mxorder.Candidate
		if json.Unmarshal(b, &c) == nil {
			checkJSONRoundTrip(t, &c)
		}
	})
}

// FuzzUnmarshalText: Family, SkipReason and Severity accept their own
// text forms (every value round-trips exactly) and anything else they
// accept reads back to the same value.
func FuzzUnmarshalText(f *testing.F) {
	for _, s := range []string{"ipv4", "46", "none", "", "family", "skip(0)", "skip(255)", "severity(7)", "warning", "both", "IPv6", "duplicate", "zoned-address"} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, v uint8) {
		checkTextRoundTrip(t, b, mxorder.Family(v)&mxorder.DualStack, new(mxorder.Family))
		checkTextRoundTrip(t, b, mxorder.SkipReason(v), new(mxorder.SkipReason))
		checkTextRoundTrip(t, b, mxorder.Severity(v), new(mxorder.Severity))
	})
}

type textValue interface {
	comparable
	MarshalText() ([]byte, error)
}

// checkTextRoundTrip: v's text reads back to v, and whatever b reads
// as reads back the same through its own text; a rejection is an error
// of this package, naming the input.
func checkTextRoundTrip[T textValue, P interface {
	*T
	UnmarshalText([]byte) error
}](t *testing.T, b []byte, v T, into P) {
	t.Helper()
	text, err := v.MarshalText()
	if err != nil || P(into).UnmarshalText(text) != nil || *into != v {
		t.Fatalf("%T %v: text %q reads back as %v (%v)", v, v, text, *into, err)
	}
	if err := into.UnmarshalText(b); err != nil {
		if !strings.HasPrefix(err.Error(), "mxorder: ") || !strings.Contains(err.Error(), strconv.Quote(string(b))) {
			t.Fatalf("UnmarshalText(%q) error %q", b, err)
		}
		return
	}
	got := *into
	text, _ = got.MarshalText()
	if err := into.UnmarshalText(text); err != nil || *into != got {
		t.Fatalf("%q reads as %v, whose text %q reads as %v (%v)", b, got, text, *into, err)
	}
}
