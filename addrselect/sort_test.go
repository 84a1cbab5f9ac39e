package addrselect_test

import (
	"bufio"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
)

// sortVectorHost describes the host of an RFC example: every candidate on
// eth0 with the /64 the examples assume for IPv6, and default routes in
// both families out of eth0.
func sortVectorHost(t *testing.T, candidates string) *addrselect.Host {
	t.Helper()
	var b strings.Builder
	for c := range strings.SplitSeq(candidates, ",") {
		addr, props, _ := strings.Cut(c, ";")
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(addr)
		if strings.Contains(addr, ":") {
			b.WriteString("/64")
		}
		b.WriteString(" dev eth0")
		for p := range strings.SplitSeq(props, ";") {
			if p != "" && p != "public" {
				b.WriteString(" " + p)
			}
		}
	}
	b.WriteString("; route v4 default dev eth0; route v6 default dev eth0")
	return mustHost(t, b.String())
}

// withLinkZone gives link-scoped destinations the zone eth0: without it a
// Host (like the kernel) has no link to reach them on.
func withLinkZone(a netip.Addr) netip.Addr {
	if a.Is6() && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast()) {
		return a.WithZone("eth0")
	}
	return a
}

// TestSortRFCExamples runs the worked examples of RFC 6724 section 10 and
// RFC 3484 section 10 that use the default tables through ParseHost,
// Host.Source and Selector.Sort: the whole everyday path.
func TestSortRFCExamples(t *testing.T) {
	selectors := map[string]*addrselect.Selector{
		"rfc6724-default": addrselect.RFC6724(),
		"rfc3484-default": addrselect.RFC3484(),
	}
	ctx := context.Background()
	ran := 0
	for _, file := range []string{"rfc6724-examples.tsv", "rfc3484-examples.tsv"} {
		f, err := os.Open(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			col := strings.Split(sc.Text(), "\t")
			id, kind, policy, dsts, cands, expected := col[0], col[1], col[3], col[4], col[5], col[6]
			sel := selectors[policy]
			if sel == nil {
				continue // a modified table: covered by the engine's tests
			}
			h := sortVectorHost(t, cands)
			h.Selector = sel
			var in []netip.Addr
			for d := range strings.SplitSeq(dsts, ",") {
				in = append(in, withLinkZone(netip.MustParseAddr(d)))
			}
			if kind == "source" {
				src, err := h.Source(ctx, in[0])
				if err != nil || src.Addr != netip.MustParseAddr(expected) {
					t.Errorf("%s: Source(%v) = %v, %v; want %s", id, in[0], src.Addr, err, expected)
				}
				ran++
				continue
			}
			out, err := sel.Sort(ctx, in, h)
			if err != nil {
				t.Fatalf("%s: Sort: %v", id, err)
			}
			var got, want []string
			for _, d := range out {
				got = append(got, d.Addr.WithZone("").String())
			}
			for e := range strings.SplitSeq(expected, ",") {
				want = append(want, netip.MustParseAddr(e).String())
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s: Sort(%s) = %s; want %s", id, dsts, strings.Join(got, ","), expected)
			}
			ran++
		}
		f.Close()
	}
	if ran < 30 {
		t.Fatalf("only %d examples ran; the vector files look truncated", ran)
	}
}

func TestSortSystemLoopback(t *testing.T) {
	lo4, lo6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	if !loopbackUp(lo4) || !loopbackUp(lo6) {
		t.Skip("needs both 127.0.0.1 and ::1 configured")
	}
	// nil Sources: the running system. ::1 and 127.0.0.1 have matching
	// sources; RFC 6724's table puts ::1 (precedence 50) first (rule 6).
	out, err := addrselect.RFC6724().Sort(context.Background(), []netip.Addr{lo4, lo6}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Addr != lo6 || out[1].Addr != lo4 {
		t.Fatalf("Sort(127.0.0.1, ::1) = %v; want ::1 first", out)
	}
	if out[0].Source.Addr != lo6 || out[1].Source.Addr != lo4 {
		t.Errorf("sources = %v, %v; want ::1, 127.0.0.1", out[0].Source.Addr, out[1].Source.Addr)
	}
}

type failingSources struct{ err error }

func (f failingSources) Source(ctx context.Context, dst netip.Addr) (addrselect.Source, error) {
	return addrselect.Source{}, f.err
}

func TestSortErrors(t *testing.T) {
	sel := addrselect.RFC6724()
	addrs := []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.1")}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sel.Sort(ctx, addrs, mustHost(t, "2001:db8::2/64"))
	var se *addrselect.SourceError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &se) || se.Addr != addrs[0] {
		t.Errorf("Sort with a cancelled context: %v; want a *SourceError for %v wrapping context.Canceled", err, addrs[0])
	}
	boom := errors.New("boom")
	if _, err := sel.Sort(context.Background(), addrs, failingSources{boom}); !errors.Is(err, boom) {
		t.Errorf("Sort with failing Sources: %v; want %v", err, boom)
	}
}

func TestSortIntoAllocs(t *testing.T) {
	h := mustHost(t, "2001:db8:1::2/64 dev eth0, fe80::2/64 dev eth0, 192.0.2.2/24 dev eth0; route v4 default dev eth0; route v6 default dev eth0")
	sel := addrselect.RFC6724()
	addrs := []netip.Addr{
		netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8:1::9"),
		netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("2001:db8:7::1"),
	}
	dst := make([]addrselect.Destination, 0, len(addrs))
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		dst, err = sel.SortInto(ctx, dst[:0], addrs, h)
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("SortInto with a Host allocates %v times per run; want 0", allocs)
	}
	if len(dst) != len(addrs) || dst[0].Addr != addrs[1] {
		t.Errorf("SortInto = %v; want %v first (matching label, precedence 40)", dst, addrs[1])
	}
	// SortInto appends: a prefix in the buffer stays and is not sorted.
	prefix := addrselect.Destination{Addr: netip.MustParseAddr("203.0.113.1")}
	out, err := sel.SortInto(ctx, []addrselect.Destination{prefix}, addrs, h)
	if err != nil || len(out) != 1+len(addrs) || out[0] != prefix {
		t.Errorf("SortInto with a prefix = %v, %v; want the prefix kept first", out, err)
	}
}

// TestSortSelectorSourceRules checks that the Selector that sorts picks a
// Host's IPv6 source (RFC 6724 section 5 rule 7 here), unless the Host
// has a Selector of its own.
func TestSortSelectorSourceRules(t *testing.T) {
	const desc = "2001:db8:1::2/64 dev eth0, 2001:db8:1::99/64 temporary dev eth0; route v6 default dev eth0"
	const public, temporary = "2001:db8:1::2", "2001:db8:1::99"
	dst := netip.MustParseAddr("2001:db8:77::1")
	preferPublic := addrselect.RFC6724(addrselect.WithPreferPublic(true))
	tests := []struct {
		name    string
		sel     *addrselect.Selector // sorts
		hostSel *addrselect.Selector // Host.Selector
		want    string
	}{
		{"default-prefers-temporary", addrselect.RFC6724(), nil, temporary},
		{"nil-selector-is-rfc6724", nil, nil, temporary},
		{"sorting-selector-prefers-public", preferPublic, nil, public},
		{"host-selector-wins", preferPublic, addrselect.RFC6724(), temporary},
		{"host-selector-wins-public", addrselect.RFC6724(), preferPublic, public},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustHost(t, desc)
			h.Selector = tt.hostSel
			want := netip.MustParseAddr(tt.want)
			out, err := tt.sel.Sort(ctx, []netip.Addr{dst}, h)
			if err != nil || len(out) != 1 || out[0].Source.Addr != want {
				t.Errorf("Sort = %v, %v; want source %v", out, err, want)
			}
			out, err = tt.sel.SortInto(ctx, nil, []netip.Addr{dst}, h)
			if err != nil || len(out) != 1 || out[0].Source.Addr != want {
				t.Errorf("SortInto = %v, %v; want source %v", out, err, want)
			}
			if src, err := tt.sel.FindSource(ctx, h, dst); err != nil || src.Addr != want {
				t.Errorf("FindSource = %v, %v; want %v", src, err, want)
			}
			// Host.Source, asked directly, uses the Host's Selector or
			// RFC6724().
			direct := netip.MustParseAddr(temporary)
			if tt.hostSel == preferPublic {
				direct = netip.MustParseAddr(public)
			}
			if src, err := h.Source(ctx, dst); err != nil || src.Addr != direct {
				t.Errorf("Host.Source = %v, %v; want %v", src, err, direct)
			}
		})
	}
}

func TestFindSourceOtherSources(t *testing.T) {
	// A Sources of the caller's answers as its Source method does.
	boom := errors.New("boom")
	_, err := addrselect.RFC6724().FindSource(context.Background(), failingSources{boom}, netip.MustParseAddr("2001:db8::1"))
	if !errors.Is(err, boom) {
		t.Errorf("FindSource(failing Sources) = %v; want %v", err, boom)
	}
}
