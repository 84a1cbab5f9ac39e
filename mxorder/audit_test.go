package mxorder_test

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dualstack/dualstack/mxorder"
)

func findings(r []mxorder.AuditFinding, c mxorder.Code) []mxorder.AuditFinding {
	var out []mxorder.AuditFinding
	for _, f := range r {
		if f.Code == c {
			out = append(out, f)
		}
	}
	return out
}

func TestAuditStudy(t *testing.T) {
	p := mxorder.Planner{Resolver: studyDNS()}
	r, err := p.Audit(context.Background(), "example.org")
	if err != nil {
		t.Fatal(err)
	}
	ss := findings(r.Findings, mxorder.CodeSingleStack)
	if len(ss) != 1 || ss[0].Host != "mx20.example.org" || ss[0].Clients != mxorder.IPv4 || ss[0].Severity != mxorder.SeverityWarning {
		t.Errorf("single-stack findings = %+v; want one for mx20, clients ipv4", ss)
	}
	if !strings.Contains(ss[0].Message, "IPv4-only senders cannot reach it") {
		t.Errorf("message %q does not say who cannot reach mx20", ss[0].Message)
	}
	split := findings(r.Findings, mxorder.CodeFamilySplit)
	if len(split) != 1 || !strings.Contains(split[0].Message, "IPv4-only senders reach mx10.example.org (10), mx30.example.org (30)") {
		t.Errorf("family-split findings = %+v", split)
	}
	if r.Has(mxorder.CodeBackupIsolated) || r.Has(mxorder.CodeNoReachableMX) {
		t.Errorf("unexpected findings: %v", r.Findings)
	}
	wantReach := []mxorder.Reach{
		{Sender: mxorder.IPv4, Hosts: []string{"mx10.example.org", "mx30.example.org"}, Best: 10},
		{Sender: mxorder.IPv6, Hosts: []string{"mx10.example.org", "mx20.example.org", "mx30.example.org"}, Best: 10},
		{Sender: mxorder.DualStack, Hosts: []string{"mx10.example.org", "mx20.example.org", "mx30.example.org"}, Best: 10},
	}
	if d := cmp.Diff(wantReach, r.Reach); d != "" {
		t.Errorf("Reach (-want +got):\n%s", d)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("json.Marshal(report): %v", err)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		mx    []*net.MX
		addrs map[string]mxorder.HostAddrs
		codes []mxorder.Code // must be present
		not   []mxorder.Code // must be absent
		check func(*testing.T, *mxorder.Report)
	}{
		{
			name: "backup-isolated", // RFC 3974 section 4.2
			mx:   mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{
				"a.example": ha("2001:db8::1"), "b.example": ha("192.0.2.2"),
			},
			codes: []mxorder.Code{mxorder.CodeBackupIsolated, mxorder.CodeSingleStack, mxorder.CodeFamilySplit},
			check: func(t *testing.T, r *mxorder.Report) {
				f := findings(r.Findings, mxorder.CodeBackupIsolated)
				if len(f) != 1 || f[0].Host != "b.example" || f[0].Preference != 20 {
					t.Errorf("backup-isolated = %+v; want b.example at 20", f)
				}
			},
		},
		{
			name:  "backup-shares-family",
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha("2001:db8::1", "192.0.2.1"), "b.example": ha("192.0.2.2")},
			codes: []mxorder.Code{mxorder.CodeSingleStack},
			not:   []mxorder.Code{mxorder.CodeBackupIsolated},
		},
		{
			name:  "ipv6-only-domain",
			mx:    mxs(10, "a.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha("2001:db8::1")},
			codes: []mxorder.Code{mxorder.CodeNoReachableMX},
			not:   []mxorder.Code{mxorder.CodeFamilySplit},
			check: func(t *testing.T, r *mxorder.Report) {
				f := findings(r.Findings, mxorder.CodeNoReachableMX)
				if len(f) != 1 || f[0].Clients != mxorder.IPv4 || f[0].Severity != mxorder.SeverityError {
					t.Errorf("unreachable = %+v; want one for IPv4 senders", f)
				}
			},
		},
		{
			name:  "null-mx",
			mx:    mxs(0, "."),
			codes: []mxorder.Code{mxorder.CodeNullMX},
			not:   []mxorder.Code{mxorder.CodeNullMXMixed, mxorder.CodeNoMailRoute},
			check: func(t *testing.T, r *mxorder.Report) {
				if !r.NullMX {
					t.Error("NullMX = false")
				}
			},
		},
		{
			name:  "null-mx-mixed",
			mx:    mxs(0, ".", 10, "a.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha("192.0.2.1", "2001:db8::1")},
			codes: []mxorder.Code{mxorder.CodeNullMXMixed},
			not:   []mxorder.Code{mxorder.CodeSingleStack},
		},
		{
			name:  "no-mail-route",
			addrs: map[string]mxorder.HostAddrs{},
			codes: []mxorder.Code{mxorder.CodeNoMailRoute, mxorder.CodeImplicitMX},
		},
		{
			name:  "implicit-mx",
			addrs: map[string]mxorder.HostAddrs{"example.com": ha("192.0.2.1", "2001:db8::1")},
			codes: []mxorder.Code{mxorder.CodeImplicitMX},
			not:   []mxorder.Code{mxorder.CodeNoMailRoute},
		},
		{
			name:  "invalid-exchange",
			mx:    mxs(10, "192.0.2.1", 20, "a.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": ha("192.0.2.1", "2001:db8::1")},
			codes: []mxorder.Code{mxorder.CodeInvalidExchange},
		},
		{
			name:  "no-address",
			mx:    mxs(10, "a.example", 20, "b.example"),
			addrs: map[string]mxorder.HostAddrs{"b.example": ha("192.0.2.1", "2001:db8::1")},
			codes: []mxorder.Code{mxorder.CodeNoAddress},
		},
		{
			name:  "lookup-failed",
			mx:    mxs(10, "a.example"),
			addrs: map[string]mxorder.HostAddrs{"a.example": {Addrs: ha("192.0.2.1").Addrs, Err6: servfail}},
			codes: []mxorder.Code{mxorder.CodeLookupFailed, mxorder.CodeSingleStack},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := mxorder.Check("example.com", tt.mx, tt.addrs)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.codes {
				if !r.Has(c) {
					t.Errorf("Check lacks %s; findings %v", c, r.Findings)
				}
			}
			for _, c := range tt.not {
				if r.Has(c) {
					t.Errorf("Check has %s; findings %v", c, r.Findings)
				}
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
	if _, err := mxorder.Check("bad name", nil, nil); err == nil {
		t.Error("Check(bad name) err = nil")
	}
}

func TestAddressClasses(t *testing.T) {
	tests := []struct {
		addr string
		code mxorder.Code
	}{
		{"2002:c000:204::1", mxorder.CodeTransition},
		{"2001:0:4136:e378::1", mxorder.CodeTransition},
		{"fd12:3456::1", mxorder.CodeULA},
		{"fc00::1", mxorder.CodeULA},
		{"fe80::1", mxorder.CodeLinkLocal},
		{"169.254.10.1", mxorder.CodeLinkLocal},
		{"::1", mxorder.CodeLoopback},
		{"127.0.0.2", mxorder.CodeLoopback},
		{"10.1.2.3", mxorder.CodePrivate},
		{"172.16.0.1", mxorder.CodePrivate},
		{"172.31.255.1", mxorder.CodePrivate},
		{"192.168.1.1", mxorder.CodePrivate},
		{"100.64.0.1", mxorder.CodeCGNAT},
		{"100.127.255.254", mxorder.CodeCGNAT},
		{"192.0.2.7", mxorder.CodeDocumentation},
		{"198.51.100.7", mxorder.CodeDocumentation},
		{"203.0.113.7", mxorder.CodeDocumentation},
		{"2001:db8:5::1", mxorder.CodeDocumentation},
		{"0.1.2.3", mxorder.CodeReserved},
		{"255.255.255.255", mxorder.CodeReserved},
		{"224.0.0.1", mxorder.CodeReserved},
		{"ff02::1", mxorder.CodeReserved},
		{"::", mxorder.CodeReserved},
		{"::ffff:8.8.8.8", mxorder.CodeReserved},
		// Ordinary global addresses: no finding.
		{"8.8.8.8", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"2a00:1450::1", ""},
		{"2001:4860::1", ""},
	}
	for _, tt := range tests {
		r, err := mxorder.Check("example.com", mxs(10, "mx.example"), map[string]mxorder.HostAddrs{"mx.example": ha(tt.addr)})
		if err != nil {
			t.Fatal(err)
		}
		var got []mxorder.Code
		for _, f := range r.Findings {
			if f.Addr.IsValid() {
				got = append(got, f.Code)
				if f.Addr.Unmap() != netip.MustParseAddr(tt.addr).Unmap() {
					t.Errorf("%s: finding addr %v", tt.addr, f.Addr)
				}
			}
		}
		var want []mxorder.Code
		if tt.code != "" {
			want = []mxorder.Code{tt.code}
		}
		if !slices.Equal(got, want) {
			t.Errorf("address %s: codes %v; want %v", tt.addr, got, want)
		}
	}
}

func TestAuditCNAME(t *testing.T) {
	r := studyDNS().CNAME("mx20.example.org", "real20.example.org").Host("real20.example.org", "2001:db8::20")
	p := mxorder.Planner{Resolver: r}
	rep, err := p.Audit(context.Background(), "example.org")
	if err != nil {
		t.Fatal(err)
	}
	f := findings(rep.Findings, mxorder.CodeCNAME)
	if len(f) != 1 || f[0].Host != "mx20.example.org" || !strings.Contains(f[0].Message, "real20.example.org") {
		t.Errorf("cname findings = %+v; want one for mx20 -> real20", f)
	}
	// A resolver without LookupCNAME: no CNAME finding, no failure.
	p.Resolver = struct{ mxorder.Resolver }{r}
	rep, err = p.Audit(context.Background(), "example.org")
	if err != nil || rep.Has(mxorder.CodeCNAME) {
		t.Errorf("Audit without CNAMEResolver = %v, %v", rep.Findings, err)
	}
}

func TestCheckBounce(t *testing.T) {
	ctx := context.Background()
	p := mxorder.Planner{Resolver: studyDNS().
		MX("dual.example", 10, "mx.dual.example").Host("mx.dual.example", "192.0.2.99", "2001:db8:99::1").
		NullMX("null.example")}
	tests := []struct {
		name              string
		relay             mxorder.Family
		recipient, sender string
		ok                bool
		hosts             []string // hosts of bounce-lost findings ("" = the relay's own bounce)
		relayUnreachable  bool
	}{
		{"ipv4-relay-to-ipv6-only-sender", mxorder.IPv4, "example.org", "v6only.example", false, []string{""}, false},
		{"ipv6-relay-to-ipv4-only-sender", mxorder.IPv6, "example.org", "v4only.example", false, []string{"", "mx20.example.org"}, false},
		{"dual-everything", mxorder.DualStack, "example.org", "dual.example", true, nil, false},
		{"ipv4-relay-to-ipv6-only-recipient", mxorder.IPv4, "v6only.example", "v4only.example", false, []string{"mx.v6only.example"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := p.CheckBounce(ctx, tt.relay, tt.recipient, tt.sender)
			if err != nil {
				t.Fatal(err)
			}
			if b.OK() != tt.ok {
				t.Errorf("OK() = %v; want %v; findings %v", b.OK(), tt.ok, b.Findings)
			}
			var hosts []string
			for _, f := range b.Findings {
				if f.Code == mxorder.CodeBounceLost {
					hosts = append(hosts, f.Host)
				}
			}
			if !slices.Equal(hosts, tt.hosts) {
				t.Errorf("bounce-lost hosts = %q; want %q (%v)", hosts, tt.hosts, b.Findings)
			}
			if got := slices.ContainsFunc(b.Findings, func(f mxorder.AuditFinding) bool { return f.Code == mxorder.CodeRelayUnreachable }); got != tt.relayUnreachable {
				t.Errorf("relay-unreachable = %v; want %v", got, tt.relayUnreachable)
			}
		})
	}
	b, err := p.CheckBounce(ctx, mxorder.IPv4, "example.org", "v6only.example")
	if err != nil {
		t.Fatal(err)
	}
	msg := b.Findings[0].Message
	for _, w := range []string{"IPv4-only relay", "v6only.example", "IPv6-only", "never learns"} {
		if !strings.Contains(msg, w) {
			t.Errorf("bounce message %q lacks %q", msg, w)
		}
	}
	b, err = p.CheckBounce(ctx, mxorder.DualStack, "example.org", "null.example")
	if err != nil || !slices.ContainsFunc(b.Findings, func(f mxorder.AuditFinding) bool { return f.Code == mxorder.CodeNullMX }) {
		t.Errorf("bounce to null-MX sender = %v, %v; want a null-mx finding", b, err)
	}
	if _, err := p.CheckBounce(ctx, mxorder.IPv4, "bad name", "example.org"); err == nil {
		t.Error("CheckBounce(bad name) err = nil")
	}
}

func TestReportString(t *testing.T) {
	r, err := mxorder.Check("example.net", mxs(10, "mx1.example.net", 20, "mx2.example.net"), map[string]mxorder.HostAddrs{
		"mx1.example.net": ha("2a01:4f8::25", "8.8.4.25"),
		"mx2.example.net": ha("2002:c000:204::1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `example.net
  mx 10 mx1.example.net dual
  mx 20 mx2.example.net ipv6
  warning transition-address: mx2.example.net (preference 20) has address 2002:c000:204::1, a 6to4 address (RFC 3056): a transition mechanism, not native IPv6
  warning single-stack: MX host mx2.example.net (preference 20) is IPv6-only: IPv4-only senders cannot reach it (RFC 3974 section 4.1: MX hosts should have both A and AAAA)
  warning family-split: IPv4-only senders reach mx1.example.net (10); IPv6-only senders reach mx1.example.net (10), mx2.example.net (20); dual-stack senders reach all`
	if d := cmp.Diff(want, r.String()); d != "" {
		t.Errorf("String (-want +got):\n%s", d)
	}
}
