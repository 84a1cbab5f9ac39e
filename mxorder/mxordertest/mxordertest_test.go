package mxordertest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

func dnsErr(t *testing.T, err error) *net.DNSError {
	t.Helper()
	var de *net.DNSError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v (%T); want *net.DNSError", err, err)
	}
	return de
}

func TestRecords(t *testing.T) {
	ctx := context.Background()
	r := mxordertest.New().
		MX("Example.COM.", 20, "mx2.example.com").
		MX("example.com", 10, "MX1.example.com.").
		Host("mx1.example.com", "192.0.2.1", "2001:db8::1", "192.0.2.2").
		AAAA("mx2.example.com", "2001:db8::2").
		A("mx2.example.com", "192.0.2.3")
	mx, err := r.LookupMX(ctx, "EXAMPLE.com.")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]*net.MX{{Host: "MX1.example.com.", Pref: 10}, {Host: "mx2.example.com.", Pref: 20}}, mx); d != "" {
		t.Errorf("LookupMX (-want +got):\n%s", d)
	}
	tests := []struct {
		network, host string
		want          []string
	}{
		{"ip4", "mx1.example.com", []string{"192.0.2.1", "192.0.2.2"}},
		{"ip6", "mx1.example.com.", []string{"2001:db8::1"}},
		{"ip", "MX1.example.com", []string{"2001:db8::1", "192.0.2.1", "192.0.2.2"}},
		{"ip4", "mx2.example.com", []string{"192.0.2.3"}},
	}
	for _, tt := range tests {
		got, err := r.LookupNetIP(ctx, tt.network, tt.host)
		if err != nil {
			t.Fatalf("LookupNetIP(%s, %s): %v", tt.network, tt.host, err)
		}
		var want []netip.Addr
		for _, s := range tt.want {
			want = append(want, netip.MustParseAddr(s))
		}
		if !slices.Equal(got, want) {
			t.Errorf("LookupNetIP(%s, %s) = %v; want %v", tt.network, tt.host, got, want)
		}
	}
	if _, err := r.LookupNetIP(ctx, "tcp", "mx1.example.com"); err == nil {
		t.Error("LookupNetIP(tcp) err = nil")
	}
	// "." is the null MX; an empty exchange stays empty, not the root.
	r.MX("null.example", 0, ".").MX("broken.example", 10, "")
	for domain, want := range map[string]string{"null.example": ".", "broken.example": ""} {
		if mx, err := r.LookupMX(ctx, domain); err != nil || len(mx) != 1 || mx[0].Host != want {
			t.Errorf("LookupMX(%s) = %v, %v; want one record with host %q", domain, mx, err, want)
		}
	}
}

// TestErrorsLikeNetResolver: the flags *net.Resolver sets.
func TestErrorsLikeNetResolver(t *testing.T) {
	ctx := context.Background()
	r := mxordertest.New().
		Host("v4.example", "192.0.2.1").
		NoData("empty.example").
		Host("gone.example", "192.0.2.9").NXDomain("gone.example").
		Host("broken.example", "192.0.2.5").ServFail("broken.example", mxordertest.TypeAAAA).
		Host("slow.example", "192.0.2.6").Timeout("slow.example")
	tests := []struct {
		name                         string
		lookup                       func() error
		notFound, temporary, timeout bool
	}{
		{"nxdomain", func() error { _, err := r.LookupMX(ctx, "nothing.example"); return err }, true, false, false},
		{"nodata-mx", func() error { _, err := r.LookupMX(ctx, "v4.example"); return err }, true, false, false},
		{"nodata-aaaa", func() error { _, err := r.LookupNetIP(ctx, "ip6", "v4.example"); return err }, true, false, false},
		{"empty-name", func() error { _, err := r.LookupNetIP(ctx, "ip4", "empty.example"); return err }, true, false, false},
		{"forced-nxdomain", func() error { _, err := r.LookupNetIP(ctx, "ip4", "gone.example"); return err }, true, false, false},
		{"servfail", func() error { _, err := r.LookupNetIP(ctx, "ip6", "broken.example"); return err }, false, true, false},
		{"timeout", func() error { _, err := r.LookupMX(ctx, "slow.example"); return err }, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			de := dnsErr(t, tt.lookup())
			if de.IsNotFound != tt.notFound || de.IsTemporary != tt.temporary || de.IsTimeout != tt.timeout {
				t.Errorf("error %v: notFound %v temporary %v timeout %v; want %v %v %v",
					de, de.IsNotFound, de.IsTemporary, de.IsTimeout, tt.notFound, tt.temporary, tt.timeout)
			}
		})
	}
	// SERVFAIL on AAAA only: A still answers.
	if got, err := r.LookupNetIP(ctx, "ip4", "broken.example"); err != nil || len(got) != 1 {
		t.Errorf("A of broken.example = %v, %v; want one address", got, err)
	}
}

// TestLookupIPUnion: for "ip", *net.Resolver returns the addresses of
// both families and fails only when neither family has any.
func TestLookupIPUnion(t *testing.T) {
	ctx := context.Background()
	r := mxordertest.New().
		A("v4.example", "192.0.2.1").
		AAAA("v6.example", "2001:db8::1").
		Host("dual.example", "192.0.2.2", "2001:db8::2").
		A("aaaa-fails.example", "192.0.2.3").ServFail("aaaa-fails.example", mxordertest.TypeAAAA).
		A("aaaa-slow.example", "192.0.2.4").Timeout("aaaa-slow.example", mxordertest.TypeAAAA).
		AAAA("a-fails.example", "2001:db8::5").ServFail("a-fails.example", mxordertest.TypeA).
		NoData("empty.example").
		NoData("only-fail.example").ServFail("only-fail.example", mxordertest.TypeAAAA).
		ServFail("all-fail.example")
	type result struct {
		addrs                        []string
		notFound, temporary, timeout bool
	}
	tests := []struct {
		host string
		want result
	}{
		{"v4.example", result{addrs: []string{"192.0.2.1"}}},
		{"v6.example", result{addrs: []string{"2001:db8::1"}}},
		{"dual.example", result{addrs: []string{"2001:db8::2", "192.0.2.2"}}},
		{"aaaa-fails.example", result{addrs: []string{"192.0.2.3"}}},
		{"aaaa-slow.example", result{addrs: []string{"192.0.2.4"}}},
		{"a-fails.example", result{addrs: []string{"2001:db8::5"}}},
		{"empty.example", result{notFound: true}},
		{"missing.example", result{notFound: true}},
		{"only-fail.example", result{temporary: true}},
		{"all-fail.example", result{temporary: true}},
	}
	for _, tt := range tests {
		addrs, err := r.LookupNetIP(ctx, "ip", tt.host)
		var got result
		for _, a := range addrs {
			got.addrs = append(got.addrs, a.String())
		}
		if err != nil {
			de := dnsErr(t, err)
			got.notFound, got.temporary, got.timeout = de.IsNotFound, de.IsTemporary, de.IsTimeout
			if de.Name != tt.host {
				t.Errorf("%s: error names %q", tt.host, de.Name)
			}
		} else if len(addrs) == 0 {
			t.Errorf("%s: no addresses and no error", tt.host)
		}
		if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(result{})); d != "" {
			t.Errorf("LookupNetIP(ip, %s) (-want +got):\n%s", tt.host, d)
		}
	}
}

func TestCNAME(t *testing.T) {
	ctx := context.Background()
	r := mxordertest.New().
		CNAME("www.example", "web.example").CNAME("web.example", "host.example").
		Host("host.example", "192.0.2.80").
		CNAME("loop1.example", "loop2.example").CNAME("loop2.example", "loop1.example")
	c, err := r.LookupCNAME(ctx, "WWW.example.")
	if err != nil || c != "host.example." {
		t.Errorf("LookupCNAME(www) = %q, %v; want host.example.", c, err)
	}
	if c, err := r.LookupCNAME(ctx, "host.example"); err != nil || c != "host.example." {
		t.Errorf("LookupCNAME(host) = %q, %v; want host.example.", c, err)
	}
	if got, err := r.LookupNetIP(ctx, "ip4", "www.example"); err != nil || len(got) != 1 {
		t.Errorf("LookupNetIP through CNAME = %v, %v", got, err)
	}
	if _, err := r.LookupNetIP(ctx, "ip4", "loop1.example"); err == nil {
		t.Error("CNAME loop: err = nil")
	}
	if _, err := r.LookupCNAME(ctx, "missing.example"); !dnsErr(t, err).IsNotFound {
		t.Errorf("LookupCNAME(missing) err = %v; want not found", err)
	}
}

func TestDelay(t *testing.T) {
	r := mxordertest.New().Host("slow.example", "192.0.2.1").Delay("slow.example", 30*time.Millisecond, mxordertest.TypeA).
		Delay("slower.example", time.Hour)
	start := time.Now()
	if _, err := r.LookupNetIP(context.Background(), "ip4", "slow.example"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("delayed lookup took %v; want >= 30ms", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := r.LookupNetIP(ctx, "ip4", "slower.example")
	de := dnsErr(t, err)
	if !de.IsTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline during delay: %v (timeout %v); want a timeout wrapping DeadlineExceeded", err, de.IsTimeout)
	}
}

func TestQueries(t *testing.T) {
	ctx := context.Background()
	r := mxordertest.New().MX("example.com", 10, "mx.example.com").Host("mx.example.com", "192.0.2.1")
	r.LookupMX(ctx, "example.com.")
	r.LookupNetIP(ctx, "ip", "mx.example.com")
	want := []mxordertest.Query{
		{Type: mxordertest.TypeMX, Name: "example.com"},
		{Type: mxordertest.TypeAAAA, Name: "mx.example.com"},
		{Type: mxordertest.TypeA, Name: "mx.example.com"},
	}
	if d := cmp.Diff(want, r.Queries()); d != "" {
		t.Errorf("Queries (-want +got):\n%s", d)
	}
	if n := r.Count(mxordertest.AnyType, "MX.example.com."); n != 2 {
		t.Errorf("Count(any, mx) = %d; want 2", n)
	}
}

func TestBuilderPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"A with IPv6":  func() { mxordertest.New().A("x", "2001:db8::1") },
		"AAAA with v4": func() { mxordertest.New().AAAA("x", "192.0.2.1") },
		"bad literal":  func() { mxordertest.New().Host("x", "not-an-ip") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func Example() {
	r := mxordertest.New().
		MX("example.com", 10, "mx.example.com").
		Host("mx.example.com", "192.0.2.25", "2001:db8::25").
		ServFail("broken.example")
	ctx := context.Background()
	mx, _ := r.LookupMX(ctx, "example.com")
	fmt.Println(mx[0].Pref, mx[0].Host)
	addrs, _ := r.LookupNetIP(ctx, "ip6", "mx.example.com")
	fmt.Println(addrs)
	_, err := r.LookupMX(ctx, "nowhere.example")
	var de *net.DNSError
	if errors.As(err, &de) {
		fmt.Println(de.IsNotFound, de)
	}
	_, err = r.LookupMX(ctx, "broken.example")
	if errors.As(err, &de) {
		fmt.Println(de.IsTemporary, de)
	}
	// Output:
	// 10 mx.example.com.
	// [2001:db8::25]
	// true lookup nowhere.example on mxordertest: no such host
	// true lookup broken.example on mxordertest: server misbehaving
}

func TestTXT(t *testing.T) {
	r := mxordertest.New().
		TXT("_mta-sts.example.com", "v=STSv1; id=1").
		TXT("_mta-sts.example.com", "other").
		CNAME("_mta-sts.alias.example", "_mta-sts.example.com").
		ServFail("_mta-sts.broken.example", mxordertest.TypeTXT).
		NoData("_mta-sts.empty.example")
	ctx := context.Background()
	tests := []struct {
		name     string
		want     []string
		notFound bool
		temp     bool
	}{
		{name: "_mta-sts.example.com.", want: []string{"v=STSv1; id=1", "other"}},
		{name: "_mta-sts.alias.example", want: []string{"v=STSv1; id=1", "other"}},
		{name: "_mta-sts.broken.example", temp: true},
		{name: "_mta-sts.empty.example", notFound: true},
		{name: "_mta-sts.missing.example", notFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.LookupTXT(ctx, tt.name)
			var de *net.DNSError
			switch {
			case tt.notFound || tt.temp:
				if !errors.As(err, &de) || de.IsNotFound != tt.notFound || de.IsTemporary != tt.temp {
					t.Fatalf("LookupTXT(%s) error = %#v; want notFound=%v temporary=%v", tt.name, err, tt.notFound, tt.temp)
				}
			case err != nil:
				t.Fatalf("LookupTXT(%s): %v", tt.name, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("LookupTXT(%s) (-want +got):\n%s", tt.name, d)
			}
		})
	}
	if n := r.Count(mxordertest.TypeTXT, "_mta-sts.example.com"); n != 1 {
		t.Errorf("Count(TXT) = %d; want 1", n)
	}
}
