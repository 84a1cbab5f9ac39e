//go:build linux

package main

import (
	"net/netip"
	"regexp"
	"strings"
)

// evKind is what a maillog line says.
type evKind string

const (
	evRefused  evKind = "refused"  // connect to HOST[ADDR]:25: ... (no session)
	evSent     evKind = "sent"     // status=sent to a remote host
	evBounced  evKind = "bounced"  // status=bounced (by a remote reply or without a connection)
	evDeferred evKind = "deferred" // status=deferred
	evExpired  evKind = "expired"  // the queue lifetime ran out: returned to sender
	evDSN      evKind = "dsn"      // a non-delivery notification was created for the sender
	evDouble   evKind = "double"   // a postmaster (double bounce) notification was created
	evLocal    evKind = "local"    // delivered locally (the postmaster's mailbox)
)

// pfEvent is one line of a Postfix maillog that the lab interprets.
type pfEvent struct {
	Kind   evKind     `json:"kind"`
	Queue  string     `json:"queue_id,omitempty"`
	To     string     `json:"to,omitempty"`
	Host   string     `json:"host,omitempty"` // the host connected to, if any
	Addr   netip.Addr `json:"addr,omitzero"`
	DSN    string     `json:"dsn,omitempty"`
	Detail string     `json:"detail,omitempty"`
}

var (
	reConnect = regexp.MustCompile(`^connect to ([^\[\s]+)\[([0-9a-fA-F:.]+)\]:25: (.*)$`)
	reStatus  = regexp.MustCompile(`^([0-9A-F]+): to=<([^>]*)>,(?: orig_to=<[^>]*>,)? relay=([^,]+), .*dsn=([0-9.]+), status=(\w+) \((.*)\)$`)
	reRelay   = regexp.MustCompile(`^([^\[\s]+)\[([0-9a-fA-F:.]+)\]:25$`)
	reExpired = regexp.MustCompile(`^([0-9A-F]+): from=<[^>]*>, status=expired`)
	reNotice  = regexp.MustCompile(`^([0-9A-F]+): (sender|postmaster) non-delivery notification: ([0-9A-F]+)$`)
)

// Try is one connection attempt of an MTA, in the order it made them.
type Try struct {
	Host   string     `json:"host"`
	Addr   netip.Addr `json:"addr"`
	Result string     `json:"result"` // refused, sent, bounced, deferred; for the library relay an mxorder outcome
}

// delivery is one delivery attempt of one message in a Postfix queue
// run: the connections the SMTP client made, in order, and the status.
type delivery struct {
	Queue  string
	To     string
	Tries  []Try
	Status evKind // sent, bounced, deferred, local
	DSN    string
	Detail string
}

// mtaLog is what an instance's maillog says about the messages of a
// scenario.
type mtaLog struct {
	deliveries []delivery
	expired    map[string]bool   // queue ids that expired
	dsn        map[string]string // queue id -> the queue id of its bounce
	double     map[string]string // bounce queue id -> postmaster notice queue id
}

// parseMaillog groups the lines into deliveries. Connection failures
// carry no queue id: they belong to the next status line of the same
// process.
func parseMaillog(lines []string) *mtaLog {
	ml := &mtaLog{expired: map[string]bool{}, dsn: map[string]string{}, double: map[string]string{}}
	pending := map[string][]Try{}
	for _, line := range lines {
		head, msg, ok := strings.Cut(line, "]: ")
		if !ok {
			continue
		}
		proc := head[strings.LastIndexByte(head, ' ')+1:]
		ev, ok := parseLine(msg)
		if !ok {
			continue
		}
		switch ev.Kind {
		case evRefused:
			pending[proc] = append(pending[proc], Try{Host: ev.Host, Addr: ev.Addr, Result: string(evRefused)})
		case evExpired:
			ml.expired[ev.Queue] = true
		case evDSN:
			ml.dsn[ev.Queue] = ev.Detail
		case evDouble:
			ml.double[ev.Queue] = ev.Detail
		default:
			d := delivery{Queue: ev.Queue, To: ev.To, Tries: pending[proc], Status: ev.Kind, DSN: ev.DSN, Detail: ev.Detail}
			if ev.Host != "" {
				d.Tries = append(d.Tries, Try{Host: ev.Host, Addr: ev.Addr, Result: string(ev.Kind)})
			}
			delete(pending, proc)
			ml.deliveries = append(ml.deliveries, d)
		}
	}
	return ml
}

// message returns the deliveries of the first message for a recipient
// in domain (or, with domain "", any recipient), in order.
func (ml *mtaLog) message(domain string) []delivery {
	var q string
	var out []delivery
	for _, d := range ml.deliveries {
		if q == "" && (domain == "" || strings.HasSuffix(d.To, "@"+domain)) && d.Status != evLocal {
			q = d.Queue
		}
		if q != "" && d.Queue == q {
			out = append(out, d)
		}
	}
	return out
}

// byQueue returns the deliveries of the message with queue id q.
func (ml *mtaLog) byQueue(q string) []delivery {
	var out []delivery
	for _, d := range ml.deliveries {
		if d.Queue == q {
			out = append(out, d)
		}
	}
	return out
}

func parseLine(msg string) (pfEvent, bool) {
	if m := reConnect.FindStringSubmatch(msg); m != nil {
		return pfEvent{Kind: evRefused, Host: m[1], Addr: parseAddr(m[2]), Detail: m[3]}, true
	}
	if m := reStatus.FindStringSubmatch(msg); m != nil {
		ev := pfEvent{Kind: evKind(m[5]), Queue: m[1], To: m[2], DSN: m[4], Detail: m[6]}
		switch {
		case m[3] == "local":
			ev.Kind = evLocal
		case m[3] != "none":
			if r := reRelay.FindStringSubmatch(m[3]); r != nil {
				ev.Host, ev.Addr = r[1], parseAddr(r[2])
			}
		}
		return ev, true
	}
	if m := reExpired.FindStringSubmatch(msg); m != nil {
		return pfEvent{Kind: evExpired, Queue: m[1]}, true
	}
	if m := reNotice.FindStringSubmatch(msg); m != nil {
		k := evDSN
		if m[2] == "postmaster" {
			k = evDouble
		}
		return pfEvent{Kind: k, Queue: m[1], Detail: m[3]}, true
	}
	return pfEvent{}, false
}

func parseAddr(s string) netip.Addr {
	a, _ := netip.ParseAddr(s)
	return a
}

// String is the event for people.
func (e pfEvent) String() string {
	var b strings.Builder
	b.WriteString(string(e.Kind))
	if e.Host != "" {
		b.WriteString(" " + e.Host + "[" + e.Addr.String() + "]")
	}
	if e.To != "" {
		b.WriteString(" to=<" + e.To + ">")
	}
	if e.DSN != "" {
		b.WriteString(" dsn=" + e.DSN)
	}
	return b.String()
}
