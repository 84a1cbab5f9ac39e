//go:build linux

package nat64lab

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/mxorder"
)

// mxArg is a plan and a delivery the child makes from its namespace.
type mxArg struct {
	Resolver string
	NAT64    []netip.Prefix
	Discover bool
	Subject  string // the test message's subject, to find it at the server
}

type mxResult struct {
	Attempts []mxorder.Attempt
	Err      string // Plan's or Deliver's error
}

func init() { jobs["mx"] = job(jobMX) }

// jobMX plans MailDomain with the running system's sources and delivers
// a message along the plan.
func jobMX(ctx context.Context, a mxArg) (any, error) {
	p := &mxorder.Planner{
		Resolver: resolverFor(a.Resolver), Sources: &addrselect.System{},
		NAT64: a.NAT64, DiscoverNAT64: a.Discover,
	}
	plan, err := p.Plan(ctx, MailDomain)
	if err != nil {
		return mxResult{Err: err.Error()}, nil
	}
	res := mxResult{Attempts: plan.Attempts()}
	err = plan.Deliver(ctx, func(ctx context.Context, at mxorder.Attempt) (mxorder.Outcome, error) {
		return sendMail(ctx, netip.AddrPortFrom(at.Addr, SMTPPort), a.Subject)
	})
	if err != nil {
		res.Err = err.Error()
	}
	return res, nil
}

// sendMail runs one SMTP session (RFC 5321 section 3.3) that hands over
// a short message.
func sendMail(ctx context.Context, addr netip.AddrPort, subject string) (mxorder.Outcome, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return mxorder.OutcomeNoSession, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	steps := []struct{ send, want string }{
		{"", "220"},
		{"EHLO client.test", "250"},
		{"MAIL FROM:<sender@client.test>", "250"},
		{"RCPT TO:<postmaster@" + MailDomain + ">", "250"},
		{"DATA", "354"},
		{"Subject: " + subject + "\r\n\r\nthrough NAT64\r\n.", "250"},
		{"QUIT", "221"},
	}
	for i, s := range steps {
		if s.send != "" {
			if _, err := fmt.Fprintf(c, "%s\r\n", s.send); err != nil {
				return mxorder.OutcomeSession, err
			}
		}
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, s.want) {
			outcome := mxorder.OutcomeSession
			if i == 0 {
				outcome = mxorder.OutcomeNoSession
			}
			return outcome, fmt.Errorf("after %q: %q, %v", s.send, line, err)
		}
	}
	return mxorder.OutcomeDelivered, nil
}

// testMX: from the IPv6-only client, the plan for a domain whose only MX
// is IPv4-only has synthesized attempts that say which IPv4 address they
// stand for, and Deliver hands a message to the IPv4-only server through
// tayga: with the prefix given and a resolver without DNS64 (synthesized
// from the A record), and with the prefix discovered through DNS64 (the
// AAAA answer recognised as synthesized).
func testMX(t *testing.T, l *Lab) {
	tests := []struct {
		name  string
		arg   mxArg
		dns64 bool // the attempt's address came from the DNS64
	}{
		{"prefix given, no dns64", mxArg{Resolver: NSDClient.String(), NAT64: []netip.Prefix{Prefix}}, false},
		{"prefix discovered through dns64", mxArg{Resolver: DNS64.String(), Discover: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.arg.Subject = "nat64lab " + tt.name
			var res mxResult
			if err := l.RunChild(context.Background(), l.Client, "mx", tt.arg, &res); err != nil {
				t.Fatal(err)
			}
			if res.Err != "" || len(res.Attempts) == 0 {
				t.Fatalf("plan and delivery: %+v", res)
			}
			at := res.Attempts[0]
			want := mxorder.Translation{IPv4: ServerAddr, Prefix: Prefix, DNS64: tt.dns64}
			if at.Host != NameV4Only || at.Addr != Synthesized || !at.NAT64.Equal(want) {
				t.Errorf("first attempt %+v; want %s at %v with %+v", at, NameV4Only, Synthesized, want)
			}
			var got *Message
			for _, m := range l.SMTP.Messages() {
				if strings.Contains(m.Data, "Subject: "+tt.arg.Subject) {
					got = &m
				}
			}
			// tayga's dynamic pool: the server sees an IPv4 client.
			if got == nil || !got.Peer.Addr().Is4() || got.To[0] != "TO:<postmaster@"+MailDomain+">" {
				t.Errorf("server received %+v; want the message from an IPv4 peer", got)
			}
		})
	}
}
