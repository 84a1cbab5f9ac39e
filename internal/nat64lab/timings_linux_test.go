//go:build linux

package nat64lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/internal/netns"
)

// timingCase is one dial measured in a child: Address with net.Dialer
// (Std, when set) and with an addrselect.Dialer, alternating.
type timingCase struct {
	Name     string
	Address  string         // for the Dialer
	Std      string         // for net.Dialer; "" to skip it
	NAT64    []netip.Prefix // the Dialer's prefixes
	Resolver string
}

type timingArg struct {
	Cases []timingCase
	Runs  int
}

// timing is the durations of one case's dials, in microseconds, sorted.
type timing struct {
	Name        string
	Std, Dialer []int64
	StdErr      string // net.Dialer's error, when it fails
	DialerErr   string
}

// jobTimings dials each case Runs times with each dialer, alternating
// which goes first, and returns the sorted durations.
func jobTimings(_ context.Context, a timingArg) (any, error) {
	var out []timing
	for _, c := range a.Cases {
		r := resolverFor(c.Resolver)
		std := &net.Dialer{Resolver: r}
		ours := &addrselect.Dialer{Resolver: r, NAT64: c.NAT64}
		tm := timing{Name: c.Name}
		for i := range a.Runs {
			first, second := 0, 1
			if i%2 == 1 {
				first, second = 1, 0
			}
			for _, which := range []int{first, second} {
				if which == 0 && c.Std != "" {
					d, err := timeDial(std.DialContext, c.Std)
					tm.Std, tm.StdErr = appendTiming(tm.Std, d, err, tm.StdErr)
				}
				if which == 1 {
					d, err := timeDial(ours.DialContext, c.Address)
					tm.Dialer, tm.DialerErr = appendTiming(tm.Dialer, d, err, tm.DialerErr)
				}
			}
		}
		slices.Sort(tm.Std)
		slices.Sort(tm.Dialer)
		out = append(out, tm)
	}
	return out, nil
}

// timeDial times one dial to address; the connection is closed.
func timeDial(dial func(ctx context.Context, network, address string) (net.Conn, error), address string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	c, err := dial(ctx, "tcp", address)
	d := time.Since(start)
	if err == nil {
		c.Close()
	}
	return d, err
}

func appendTiming(ts []int64, d time.Duration, err error, errText string) ([]int64, string) {
	if err != nil {
		return ts, err.Error()
	}
	return append(ts, d.Microseconds()), errText
}

func init() { jobs["timings"] = job(jobTimings) }

// ms formats microseconds as milliseconds.
func ms(us int64) string { return fmt.Sprintf("%.2f", float64(us)/1000) }

// summary is "median (min-max) ms" of sorted durations, or the error.
func summary(ts []int64, err string) string {
	if len(ts) == 0 {
		return "fails (" + err[strings.LastIndex(err, ": ")+2:] + ")"
	}
	return fmt.Sprintf("%s ms (%s-%s)", ms(ts[len(ts)/2]), ms(ts[0]), ms(ts[len(ts)-1]))
}

// median of sorted durations; -1 for none.
func median(ts []int64) int64 {
	if len(ts) == 0 {
		return -1
	}
	return ts[len(ts)/2]
}

// TestDialTimings measures net.Dialer and the Dialer in one process
// each, alternating: from the dual-stack client to names whose IPv6
// address refuses (a reset) or silently drops, and from the IPv6-only
// client through NAT64 by name (DNS64) and by IPv4 literal (local
// synthesis, against the synthesized literal dialled as is). It logs a
// table (run with -v) and checks what RFC 8305 section 5 fixes: the
// Dialer's second attempt starts no sooner than 10 ms after the first,
// its fallback after a drop comes after AttemptDelay (250 ms), before
// net.Dialer's 300 ms, and local synthesis adds no measurable time.
func TestDialTimings(t *testing.T) {
	l := Start(t)
	// Fewer runs where a dial waits for a dropped attempt.
	const runs, nat64Runs = 9, 21
	port := func(h string) string { return net.JoinHostPort(h, "25") }
	dual := timingArg{Runs: runs, Cases: []timingCase{
		{Name: "refused", Address: port(NameRefused), Std: port(NameRefused), Resolver: NSDDual.String()},
		{Name: "dropped", Address: port(NameDropped), Std: port(NameDropped), Resolver: NSDDual.String()},
	}}
	synth := netip.AddrPortFrom(Synthesized, SMTPPort).String()
	v6only := timingArg{Runs: nat64Runs, Cases: []timingCase{
		{Name: "nat64 by name (dns64)", Address: port(NameV4Only), Std: port(NameV4Only), Resolver: DNS64.String()},
		{Name: "nat64 synthesized literal", Address: synth, Std: synth, Resolver: DNS64.String()},
		{Name: "nat64 ipv4 literal (local synthesis)", Address: port(ServerAddr.String()), Std: port(ServerAddr.String()),
			NAT64: []netip.Prefix{Prefix}, Resolver: DNS64.String()},
	}}
	var got []timing
	for _, job := range []struct {
		ns  *netns.NS
		arg timingArg
	}{{l.Dual, dual}, {l.Client, v6only}} {
		var res []timing
		if err := l.RunChild(context.Background(), job.ns, "timings", job.arg, &res); err != nil {
			t.Fatal(err)
		}
		got = append(got, res...)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-38s %-30s %-26s %s\n", "case", "net.Dialer", "addrselect.Dialer", "ratio")
	by := map[string]timing{}
	for _, tm := range got {
		by[tm.Name] = tm
		ratio := "-"
		if m := median(tm.Std); m > 0 && len(tm.Dialer) > 0 {
			ratio = fmt.Sprintf("%.2fx", float64(median(tm.Dialer))/float64(m))
		}
		fmt.Fprintf(&b, "%-38s %-30s %-26s %s\n", tm.Name, summary(tm.Std, tm.StdErr), summary(tm.Dialer, tm.DialerErr), ratio)
	}
	t.Logf("dial timings, median (min-max) of %d runs each (%d through NAT64):\n%s", runs, nat64Runs, b.String())
	checkTimings(t, by)
}

// checkTimings asserts what the timings must show whatever the machine.
func checkTimings(t *testing.T, by map[string]timing) {
	t.Helper()
	for name, tm := range by {
		if len(tm.Dialer) == 0 {
			t.Errorf("%s: the Dialer failed: %s", name, tm.DialerErr)
		}
	}
	if r := by["refused"]; median(r.Dialer) < addrselect.MinAttemptDelay.Microseconds() {
		t.Errorf("refused: the Dialer took %s ms; RFC 8305 section 5 spaces attempts 10 ms apart", ms(median(r.Dialer)))
	}
	if d := by["dropped"]; median(d.Dialer) < addrselect.DefaultAttemptDelay.Microseconds() || median(d.Dialer) >= median(d.Std) {
		t.Errorf("dropped: the Dialer took %s ms, net.Dialer %s ms; want the attempt delay (250 ms), less than net.Dialer's fallback delay (300 ms)",
			ms(median(d.Dialer)), ms(median(d.Std)))
	}
	if lit := by["nat64 ipv4 literal (local synthesis)"]; len(lit.Std) != 0 {
		t.Errorf("net.Dialer reached an IPv4 literal from the IPv6-only client: %v", lit.Std)
	}
	// Local synthesis against the synthesized literal: within noise
	// (the bound is loose for loaded CI machines and -race).
	syn, direct := median(by["nat64 ipv4 literal (local synthesis)"].Dialer), median(by["nat64 synthesized literal"].Dialer)
	if syn > direct+(5*time.Millisecond).Microseconds() {
		t.Errorf("local synthesis: %s ms against %s ms for the synthesized literal", ms(syn), ms(direct))
	}
}
