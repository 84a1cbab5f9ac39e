package mxorder_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// richSources gives every source a value in every field of
// addrselect.Source, so that a JSON round trip that loses one shows.
type richSources struct{}

func (richSources) Source(_ context.Context, dst netip.Addr) (addrselect.Source, error) {
	s := relay46
	if dst.Is4() {
		return addrselect.Source{Addr: s.v4, PrefixLen: 24, Interface: "eth0", NextHop: netip.MustParseAddr("198.51.100.1")}, nil
	}
	return addrselect.Source{
		Addr: s.v6, PrefixLen: 64, Deprecated: true, Temporary: true, Home: true, CareOf: true,
		Encapsulated: true, Interface: "tun0", NextHop: netip.MustParseAddr("fe80::1"),
	}, nil
}

// jsonOpts compare decoded values with the originals: the resolver's
// error value is not in the JSON (its message is).
var jsonOpts = []cmp.Option{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmpopts.IgnoreFields(mxorder.LookupError{}, "Err"),
	cmp.AllowUnexported(mxorder.Plan{}),
}

// roundTrip marshals v, unmarshals into a new value of its type and
// returns the new value and the JSON.
func roundTrip[T any](t *testing.T, v *T) (*T, string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back := new(T)
	if err := json.Unmarshal(b, back); err != nil {
		t.Fatalf("Unmarshal: %v\n%s", err, b)
	}
	return back, string(b)
}

// TestPlanJSON: plans of every shape survive a JSON round trip, sources
// included, and the JSON has the attempts and the text forms.
func TestPlanJSON(t *testing.T) {
	ctx := context.Background()
	dns := studyDNS().
		Host("implicit.example", "192.0.2.40", "2001:db8::40").
		MX("broken.example", 10, "mx.broken.example").
		Host("mx.broken.example", "192.0.2.41").ServFail("mx.broken.example", mxordertest.TypeAAAA)
	tests := []struct {
		name     string
		p        mxorder.Planner
		domain   string
		contains []string
	}{
		{
			name: "limits", domain: "example.org",
			p: mxorder.Planner{Resolver: dns, Sources: relay4, Seeded: true, MaxAddresses: 1, MaxSessions: 2},
			contains: []string{
				`"attempts":[{"host":"mx10.example.org","preference":10,"addr":"192.0.2.10","source":"198.51.100.7","reason":"mx-order","tls":"opportunistic"`,
				`"source_prefix_len":24`, `"reason":"family"`, `"reason":"address-limit"`,
				`"sender_families":"ipv4"`, `"domain_families":"dual"`, `"max_sessions":2`, `"truncated":{"attempts":1}`,
			},
		},
		{
			name: "every-source-field", domain: "example.org",
			p:        mxorder.Planner{Resolver: dns, Sources: richSources{}, Seeded: true, Prefer: mxorder.IPv6},
			contains: []string{`"source_interface":"tun0"`, `"source_next_hop":"fe80::1"`, `"source_care_of":true`},
		},
		{
			name: "self", domain: "example.org",
			p:        mxorder.Planner{Resolver: dns, LocalNames: []string{"mx30.example.org"}, Seeded: true},
			contains: []string{`"self":"mx30.example.org"`, `"self_preference":30`, `"reason":"self"`},
		},
		{
			name: "implicit", domain: "implicit.example",
			p:        mxorder.Planner{Resolver: dns},
			contains: []string{`"implicit_mx":true`},
		},
		{
			name: "lookup-error", domain: "broken.example",
			p:        mxorder.Planner{Resolver: dns},
			contains: []string{`"lookup_errors":[{"host":"mx.broken.example","network":"ip6","temporary":true`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := tt.p.Plan(ctx, tt.domain)
			if err != nil {
				t.Fatal(err)
			}
			back, js := roundTrip(t, plan)
			for _, w := range tt.contains {
				if !strings.Contains(js, w) {
					t.Errorf("JSON lacks %s:\n%s", w, js)
				}
			}
			if d := cmp.Diff(plan, back, jsonOpts...); d != "" {
				t.Errorf("round trip (-orig +decoded):\n%s", d)
			}
		})
	}
}

// TestCandidateJSONCoversSource: the JSON form of a Candidate keeps
// every field of addrselect.Source, including fields added later.
func TestCandidateJSONCoversSource(t *testing.T) {
	var src addrselect.Source
	v := reflect.ValueOf(&src).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Interface().(type) {
		case netip.Addr:
			f.Set(reflect.ValueOf(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})))
		case bool:
			f.SetBool(true)
		case int:
			f.SetInt(int64(i + 1))
		case string:
			f.SetString("if" + v.Type().Field(i).Name)
		default:
			t.Fatalf("addrselect.Source.%s has type %s: teach Candidate's JSON and this test about it", v.Type().Field(i).Name, f.Type())
		}
	}
	c := mxorder.Candidate{Addr: netip.MustParseAddr("2001:db8::25"), Source: src}
	back, js := roundTrip(t, &c)
	if *back != c {
		t.Errorf("Candidate round trip lost a field:\n got %+v\nwant %+v\nJSON %s", *back, c, js)
	}
}

// TestReportJSON: audit and bounce reports survive a JSON round trip,
// severities and codes included.
func TestReportJSON(t *testing.T) {
	ctx := context.Background()
	dns := studyDNS().
		MX("mixed.example", 0, ".").MX("mixed.example", 10, "mx.mixed.example").
		Host("mx.mixed.example", "10.0.0.25", "fe80::25").
		MX("down.example", 10, "mx.down.example").
		Host("mx.down.example", "192.0.2.66").ServFail("mx.down.example", mxordertest.TypeAAAA)
	p := mxorder.Planner{Resolver: dns}
	for _, domain := range []string{"example.org", "mixed.example", "down.example", "nothing.example"} {
		t.Run(domain, func(t *testing.T) {
			rep, err := p.Audit(ctx, domain)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Findings) == 0 {
				t.Fatalf("no findings for %s: the round trip would test little", domain)
			}
			back, js := roundTrip(t, rep)
			if !strings.Contains(js, `"severity":"`) {
				t.Errorf("JSON has no text severity:\n%s", js)
			}
			if d := cmp.Diff(rep, back, jsonOpts...); d != "" {
				t.Errorf("round trip (-orig +decoded):\n%s", d)
			}
		})
	}
	b, err := p.CheckBounce(ctx, mxorder.IPv4, "example.org", "v6only.example")
	if err != nil {
		t.Fatal(err)
	}
	back, _ := roundTrip(t, b)
	if d := cmp.Diff(b, back, jsonOpts...); d != "" {
		t.Errorf("bounce report round trip (-orig +decoded):\n%s", d)
	}
}

// TestTextRoundTrip: every value of the text-marshalled types, named or
// not, reads back as itself; text that no value writes is an error.
func TestTextRoundTrip(t *testing.T) {
	for v := range 256 {
		sev := mxorder.Severity(v)
		if back, _ := roundTrip(t, &sev); *back != sev {
			t.Errorf("Severity %d (%v) read back as %d", v, sev, *back)
		}
		r := mxorder.SkipReason(v)
		if back, _ := roundTrip(t, &r); *back != r {
			t.Errorf("SkipReason %d (%v) read back as %d", v, r, *back)
		}
	}
	for _, f := range []mxorder.Family{0, mxorder.IPv4, mxorder.IPv6, mxorder.DualStack} {
		if back, _ := roundTrip(t, &f); *back != f {
			t.Errorf("Family %v read back as %v", f, *back)
		}
	}
	if s := mxorder.SeverityWarning.String(); s != "warning" {
		t.Errorf("SeverityWarning = %q", s)
	}
	for _, bad := range []string{"", "fatal", "severity(256)", "severity(-1)", "severity(x)", "Warning", "severity(1"} {
		var s mxorder.Severity
		if err := s.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("Severity.UnmarshalText(%q) = nil error, value %v", bad, s)
		}
	}
	for _, bad := range []string{"", "skip", "skip(300)", "Family", "familyx"} {
		var r mxorder.SkipReason
		if err := r.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("SkipReason.UnmarshalText(%q) = nil error, value %v", bad, r)
		}
	}
	var f mxorder.Family
	if err := f.UnmarshalText([]byte("ipv5")); err == nil {
		t.Error("Family.UnmarshalText(ipv5) = nil error")
	}
}
