//go:build linux

package main

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"net/smtp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/internal/testenv"
	"github.com/dualstack/dualstack/mxorder"
)

// TestLab runs every scenario on the live lab and asserts what Postfix
// did, what arrived where, which bounces were lost, and the agreement
// table. It needs root, iproute2, nsd, postfix, tayga and unbound (CI
// installs them from .ci/apt-packages).
func TestLab(t *testing.T) {
	if err := requirements(); err != nil {
		testenv.Missingf(t, "live lab not possible here: %v", err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	results, l, err := runLab(ctx, testWriter{t}, scenarios)
	if l != nil {
		defer l.close()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lab run time: %v", time.Since(start).Round(time.Millisecond))
	byName := map[string]*Result{}
	for _, r := range results {
		byName[r.Name] = r
	}
	t.Run("facts", func(t *testing.T) { checkFacts(t, byName) })
	t.Run("exim", func(t *testing.T) {
		if len(l.exim) == 0 {
			testenv.Missingf(t, "Exim did not run: %v", l.eximErr)
		}
		checkFactList(t, byName, eximFacts)
	})
	t.Run("table", func(t *testing.T) { checkTable(t, results) })
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// labFacts are the observed facts whose value is not random.
var labFacts = []factCase{
	// 1: the IPv4-only relay uses the MX's IPv4 address; the recipient is
	// refused; the bounce to the IPv6-only domain is lost.
	{"relay-bounce", "relay4 rcpt1.lab tries", "mx.rcpt1.lab[192.0.2.21] bounced", false},
	{"relay-bounce", "relay4 bounce lost", "true", false},
	{"relay-bounce", "mx.v6sender.lab bounces", "0", false},
	{"relay-bounce", "lib4 nobody@rcpt1.lab lib tries", "mx.rcpt1.lab[192.0.2.21] permanent", false},
	{"relay-bounce", "lib4 nobody@rcpt1.lab lib bounce lost", "true", false},
	// 2: relay4 skips mx20 and hands to mx30; mx30 tries mx10 (both
	// families, in random order, checked in the table) and hands to mx20;
	// mx20 retries mx10 over IPv6 until the message expires, and its
	// bounce to the IPv4-only domain is lost.
	{"mx-routing", "relay4 rcpt2.lab tries", "mx10.rcpt2.lab[192.0.2.30] refused, mx30.rcpt2.lab[192.0.2.32] sent", false},
	{"mx-routing", "s2mx20 rcpt2.lab tries", "mx10.rcpt2.lab[2001:db8:1::30] refused", false},
	{"mx-routing", "s2mx20 rcpt2.lab fate", "expired", true},
	{"mx-routing", "s2mx20 bounce lost", "true", false},
	{"mx-routing", "mx.v4sender.lab bounces", "0", false},
	{"mx-routing", "lib4 user@rcpt2.lab lib tries", "mx10.rcpt2.lab[192.0.2.30] no-session, mx30.rcpt2.lab[192.0.2.32] delivered", false},
	// 3: the plans always start at each host's address sharing the
	// relay's IPv6 prefix; the library relay does the same.
	{"round-robin", "plan first", "a.rr3.lab[2001:db8:1::41] b.rr3.lab[2001:db8:1::42]", false},
	{"round-robin", "lib agrees", "true", false},
	// 4: null MX bounced without a connection, its bounce arrives; the
	// implicit MX gets the message at its IPv4 address.
	{"null-implicit", "nullmx bounced at once", "true", false},
	{"null-implicit", "nullmx plan", "true", false},
	{"null-implicit", "relay4 bounce lost", "false", false},
	{"null-implicit", "mx.v4sender.lab bounces", "1", false},
	{"null-implicit", "relay4 implicit.lab tries", "implicit.lab[192.0.2.51] sent", false},
	{"null-implicit", "implicit arrived", "1", false},
	// 5: IPv6-only hosts cost the IPv4-only relay nothing; the dual-stack
	// relay's limit of 2 keeps one address per family (balance) and
	// never reaches d.lim5; the IPv6-only domain bounces at once.
	{"family-limits", "relay4 lim5.lab tries", "c.lim5.lab[192.0.2.63] refused, d.lim5.lab[192.0.2.64] sent", false},
	{"family-limits", "relay46 lim5.lab tries", "a.lim5.lab[2001:db8:1::61] refused, c.lim5.lab[192.0.2.63] refused", false},
	{"family-limits", "relay46 lim5.lab fate", "expired", true},
	{"family-limits", "relay46 lim5 bounce lost", "false", false},
	{"family-limits", "relay4 v6only5.lab tries", "no connection", false},
	{"family-limits", "relay4 v6only5.lab fate", "bounced dsn=5.4.4", false},
	{"family-limits", "lib46 user@lim5.lab lib tries", "a.lim5.lab[2001:db8:1::61] no-session, c.lim5.lab[192.0.2.63] no-session", false},
	// 6: the IPv6-only relay behind tayga reaches the dual-stack MX over
	// IPv6; its bounce reaches the IPv4-only domain through the
	// synthesized address and arrives from tayga's pool, as the plan's
	// nat64-sender caveat says; the DNS64 hides the MX's IPv4 address,
	// which the plan keeps as a translated fallback.
	{"nat64-bounce", "relay6 rcpt1.lab tries", "mx.rcpt1.lab[2001:db8:1::21] bounced", false},
	{"nat64-bounce", "relay6 bounce lost", "false", false},
	{"nat64-bounce", "mx.v4sender.lab bounces", "1", false},
	{"nat64-bounce", "relay6 bounce tries", "mx.v4sender.lab[2001:db8:64::c000:221] sent", false},
	{"nat64-bounce", "mx.v4sender.lab bounce peers in pool", "1 of 1", false},
	{"nat64-bounce", "nat64-sender caveat", "true", false},
	{"nat64-bounce", "dns64 mx.rcpt1.lab", "[2001:db8:1::21]", false},
	{"nat64-bounce", "plan mx.rcpt1.lab", "[2001:db8:1::21 2001:db8:64::c000:215]", false},
	{"nat64-bounce", "lib6 nobody@rcpt1.lab lib tries", "mx.rcpt1.lab[2001:db8:1::21] permanent", false},
	{"nat64-bounce", "lib6 nobody@rcpt1.lab lib bounce lost", "false", false},
}

// eximFacts are what the unpacked Exim did: as the IPv4-only relay of
// scenario 1 its bounce to the IPv6-only domain is lost (frozen, then
// dropped); as the IPv6-only relay behind NAT64 in scenario 6 its
// bounce arrives from tayga's pool.
var eximFacts = []factCase{
	{"relay-bounce", "exim exim4 rcpt1.lab tries", "mx.rcpt1.lab[192.0.2.21] bounced", false},
	{"relay-bounce", "exim exim4 bounce lost", "true", false},
	{"relay-bounce", "exim exim4 bounce frozen", "true", false},
	{"nat64-bounce", "exim exim6 rcpt1.lab tries", "mx.rcpt1.lab[2001:db8:1::21] bounced", false},
	{"nat64-bounce", "exim exim6 bounce lost", "false", false},
	{"nat64-bounce", "exim exim6 bounce peer", "192.168.255.", true},
}

func checkFacts(t *testing.T, byName map[string]*Result) {
	checkFactList(t, byName, labFacts)
	// Postfix keeps round robin over a host's addresses: over the runs
	// its first address varies.
	if n, _ := strconv.Atoi(byName["round-robin"].facts["postfix distinct first"]); n < 2 {
		t.Errorf("Postfix started at %d distinct addresses over %d messages; want at least 2", n, rrRuns)
	}
}

// factCase is one observed fact a scenario must have recorded.
type factCase struct {
	scenario, key, want string
	contains            bool // the value contains want
}

func checkFactList(t *testing.T, byName map[string]*Result, facts []factCase) {
	for _, tt := range facts {
		t.Run(tt.scenario+"/"+tt.key, func(t *testing.T) {
			r := byName[tt.scenario]
			if r == nil {
				t.Fatalf("scenario %s did not run", tt.scenario)
			}
			got, ok := r.facts[tt.key]
			if !ok {
				t.Fatalf("fact %q not recorded; have %v", tt.key, r.facts)
			}
			if tt.contains && !strings.Contains(got, tt.want) || !tt.contains && got != tt.want {
				t.Errorf("%s: %s = %q; want %q", tt.scenario, tt.key, got, tt.want)
			}
		})
	}
}

// labDiffers are the rows where Postfix and the plan may differ, with
// whether they must differ.
var labDiffers = map[string]bool{
	"mx30.rcpt2.lab -> rcpt2.lab": false, // random family order at Postfix
	"addresses used first":        true,  // round robin kept by Postfix, defeated by RFC 6724
	// Both shuffle equal preferences; over rrRuns messages Postfix picks
	// one host every time with probability 2^(1-rrRuns).
	"equal-preference hosts used first": false,
	// The DNS64 hides a dual-stack MX's IPv4 address; the plan keeps it
	// as a translated fallback.
	"addresses of the dual-stack mx.rcpt1.lab behind NAT64": true,
}

func checkTable(t *testing.T, results []*Result) {
	for _, r := range results {
		for _, row := range r.Rows {
			mustDiffer, mayDiffer := labDiffers[row.Aspect]
			switch {
			case !row.Agree && !mayDiffer:
				t.Errorf("%s: %s: Postfix %q, plan %q: want agreement", r.Name, row.Aspect, row.Postfix, row.Plan)
			case row.Agree && mustDiffer:
				t.Errorf("%s: %s: Postfix %q, plan %q: want a difference", r.Name, row.Aspect, row.Postfix, row.Plan)
			case !row.Agree && row.Reason == "":
				t.Errorf("%s: %s: a difference without a reason", r.Name, row.Aspect)
			}
			if row.Aspect == "mx30.rcpt2.lab -> rcpt2.lab" && !row.Agree && !strings.HasPrefix(row.Reason, "same hosts in the same order") {
				t.Errorf("%s: %s differs beyond address order: %s", r.Name, row.Aspect, row.Reason)
			}
		}
		for _, row := range r.LibRows {
			if !row.Followed {
				t.Errorf("%s: library relay %s -> %s did %q; planned %q", r.Name, row.Relay, row.To, row.Did, row.Planned)
			}
		}
		if len(r.Rows) == 0 {
			t.Errorf("%s: empty agreement table", r.Name)
		}
	}
}

// TestParseMaillog reads lines as Postfix 3.7 writes them.
func TestParseMaillog(t *testing.T) {
	lines := []string{
		`Dec 04 19:48:39 mx30 postfix-s2mx30/qmgr[4778]: 95187986608: from=<bob@v4sender.lab>, size=454, nrcpt=1 (queue active)`,
		`Dec 04 19:48:39 mx30 postfix/relay/smtp[4924]: connect to mx10.rcpt2.lab[192.0.2.30]:25: Connection refused`,
		`Dec 04 19:48:39 mx30 postfix/relay/smtp[4925]: connect to other.lab[192.0.2.99]:25: Connection refused`,
		`Dec 04 19:48:39 mx30 postfix/relay/smtp[4924]: connect to mx10.rcpt2.lab[2001:db8:1::30]:25: Connection refused`,
		`Dec 04 19:48:39 mx30 postfix/relay/smtp[4924]: 95187986608: to=<user@rcpt2.lab>, relay=mx20.rcpt2.lab[2001:db8:1::31]:25, delay=0.06, delays=0.01/0.01/0.02/0.03, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as A29C0986610)`,
		`Dec 04 19:48:43 mx20 postfix-s2mx20/qmgr[4815]: A29C0986610: from=<bob@v4sender.lab>, status=expired, returned to sender`,
		`Dec 04 19:48:43 mx20 postfix-s2mx20/bounce[4944]: A29C0986610: sender non-delivery notification: 7A0C398664D`,
		`Dec 04 19:48:44 mx20 postfix-s2mx20/smtp[5082]: 7A0C398664D: to=<bob@v4sender.lab>, relay=none, delay=0.84, delays=0.08/0.55/0.21/0, dsn=5.4.4, status=bounced (Host or domain name not found. Name service error for name=mx.v4sender.lab type=AAAA: Host found but no data record of requested type)`,
		`Dec 04 19:48:44 mx20 postfix-s2mx20/bounce[5087]: 7A0C398664D: postmaster non-delivery notification: 8C554986035`,
		`Dec 04 19:48:44 mx20 postfix-s2mx20/local[5089]: 8C554986035: to=<postmaster@mx20.rcpt2.lab>, orig_to=<postmaster>, relay=local, delay=0.3, delays=0.21/0.08/0/0.01, dsn=2.0.0, status=sent (delivered to file: /tmp/x/mbox/postmaster)`,
	}
	ml := parseMaillog(lines)
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"tries of one process in order", triesText(ml.message("rcpt2.lab")[0].Tries),
			"mx10.rcpt2.lab[192.0.2.30] refused, mx10.rcpt2.lab[2001:db8:1::30] refused, mx20.rcpt2.lab[2001:db8:1::31] sent"},
		{"expired", strconv.FormatBool(ml.expired["A29C0986610"]), "true"},
		{"bounce queue", ml.dsn["A29C0986610"], "7A0C398664D"},
		{"double bounce", ml.double["7A0C398664D"], "8C554986035"},
		{"bounce status", string(ml.byQueue("7A0C398664D")[0].Status) + " " + ml.byQueue("7A0C398664D")[0].DSN, "bounced 5.4.4"},
		{"local delivery", string(ml.byQueue("8C554986035")[0].Status), "local"},
		{"other process keeps its tries", strconv.Itoa(len(ml.deliveries)), "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q; want %q", tt.got, tt.want)
			}
		})
	}
	text, lost := bounceFate(ml, "A29C0986610")
	if !lost || !strings.Contains(text, "postmaster") {
		t.Errorf("bounceFate = %q, %v; want lost with a postmaster notice", text, lost)
	}
}

func TestCompareTries(t *testing.T) {
	a := func(host, addr string) mxorder.Attempt {
		return mxorder.Attempt{Host: host, Addr: netip.MustParseAddr(addr)}
	}
	try := func(host, addr string) Try { return Try{Host: host, Addr: netip.MustParseAddr(addr)} }
	plan := []mxorder.Attempt{a("mx10", "2001:db8::10"), a("mx10", "192.0.2.10"), a("mx20", "2001:db8::20")}
	tests := []struct {
		name  string
		tries []Try
		want  int
	}{
		{"exact prefix", []Try{try("mx10", "2001:db8::10")}, matchExact},
		{"exact all", []Try{try("mx10", "2001:db8::10"), try("mx10", "192.0.2.10"), try("mx20", "2001:db8::20")}, matchExact},
		{"nothing tried", nil, matchExact},
		{"families swapped within a host", []Try{try("mx10", "192.0.2.10"), try("mx10", "2001:db8::10"), try("mx20", "2001:db8::20")}, matchHostRuns},
		{"host skipped", []Try{try("mx20", "2001:db8::20")}, matchNone},
		{"address not planned", []Try{try("mx10", "2001:db8::99")}, matchNone},
		{"more tries than planned", []Try{try("mx10", "2001:db8::10"), try("mx10", "192.0.2.10"), try("mx20", "2001:db8::20"), try("mx20", "2001:db8::20")}, matchNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := compareTries(tt.tries, plan); got != tt.want {
				t.Errorf("compareTries(%s) = %d; want %d", triesText(tt.tries), got, tt.want)
			}
		})
	}
}

// TestZoneMatchesHosts checks that every address in the zone belongs to
// a lab namespace (so no connection can leave the lab) and lies in a
// documentation range, and that every host description parses.
func TestZoneMatchesHosts(t *testing.T) {
	owned := map[netip.Addr]string{}
	for _, h := range hosts {
		for _, a := range h.addrs {
			owned[netip.MustParseAddr(a)] = h.ns
		}
		if _, err := addrselect.ParseHost(h.description()); err != nil {
			t.Errorf("host %s: ParseHost(%q): %v", h.ns, h.description(), err)
		}
	}
	doc := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("2001:db8::/32"),
	}
	sc := bufio.NewScanner(strings.NewReader(zone))
	n := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || (f[2] != "A" && f[2] != "AAAA") {
			continue
		}
		n++
		a := netip.MustParseAddr(f[3])
		if _, ok := owned[a]; !ok {
			t.Errorf("zone: %s %s %s belongs to no lab namespace", f[0], f[2], a)
		}
		inDoc := false
		for _, p := range doc {
			inDoc = inDoc || p.Contains(a)
		}
		if !inDoc {
			t.Errorf("zone: %s is outside the documentation ranges", a)
		}
	}
	if n < 20 {
		t.Errorf("zone has %d address records; want the whole lab", n)
	}
}

// TestSink talks to a sink over loopback with net/smtp.
func TestSink(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback listener: %v", err)
	}
	s := &sink{name: "mx.test", users: []string{"carol"}}
	s.serve(ln)
	send := func(to string) error {
		c, err := smtp.Dial(ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := sendMail(c, "client.test", "alice@example.test", to, message("alice@example.test", to, "hello sink")); err != nil {
			return err
		}
		return c.Quit()
	}
	if err := send("Carol@mx.test"); err != nil {
		t.Fatalf("known user: %v", err)
	}
	if err := send("nobody@mx.test"); err == nil || !strings.HasPrefix(err.Error(), "550") {
		t.Fatalf("unknown user: err = %v; want 550", err)
	}
	s.close()
	got := s.take()
	if len(got) != 2 {
		t.Fatalf("sessions = %d; want 2", len(got))
	}
	// The sink records a session when it ends, and the first may end
	// (its QUIT answered) after the second: order them by content.
	if !got[0].Data {
		got[0], got[1] = got[1], got[0]
	}
	if !got[0].Data || got[0].Subject != "hello sink" || got[0].From != "alice@example.test" || got[0].Rcpts[0] != "carol@mx.test" {
		t.Errorf("first session = %+v; want the message to carol", got[0])
	}
	if got[1].Data || len(got[1].Rejected) != 1 || got[1].Peer.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("second session = %+v; want a rejected recipient from 127.0.0.1", got[1])
	}
}

func TestSelectScenarios(t *testing.T) {
	tests := []struct {
		which string
		want  string // names, or the start of the error
	}{
		{"", "relay-bounce mx-routing round-robin null-implicit family-limits nat64-bounce"},
		{"2", "mx-routing"},
		{"null-implicit", "null-implicit"},
		{"6", "nat64-bounce"},
		{"7", "no scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.which, func(t *testing.T) {
			sel, err := selectScenarios(tt.which)
			var got string
			if err != nil {
				got = err.Error()
			} else {
				var names []string
				for _, s := range sel {
					names = append(names, s.name)
				}
				got = strings.Join(names, " ")
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("selectScenarios(%q) = %q; want %q", tt.which, got, tt.want)
			}
		})
	}
}
