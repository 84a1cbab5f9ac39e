//go:build linux

package main

import (
	"bufio"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dualstack/dualstack/internal/smtpwire"
)

// Session is what a sink recorded of one SMTP connection.
type Session struct {
	Sink     string         `json:"sink"`  // the sink's host name
	Peer     netip.AddrPort `json:"peer"`  // the client's address
	Local    netip.AddrPort `json:"local"` // the address the client connected to
	Time     time.Time      `json:"time"`  // when the connection was accepted
	From     string         `json:"from"`  // MAIL FROM (the last one of the session)
	Rcpts    []string       `json:"rcpts,omitempty"`
	Rejected []string       `json:"rejected,omitempty"` // recipients refused with 550
	Data     bool           `json:"data"`               // a message was accepted
	Subject  string         `json:"subject,omitempty"`  // its Subject header, to tell bounces apart
}

// sink is a small SMTP server that records every session. It accepts
// every recipient unless users is set, in which case the others are
// refused with 550 5.1.1 (RFC 3463), as a mail host does for an unknown
// user.
type sink struct {
	name  string
	users []string // local parts accepted; nil accepts all

	mu       sync.Mutex
	sessions []Session
	ls       []net.Listener
	wg       sync.WaitGroup
}

// sinkIdle is how long a sink waits for a client's next line.
const sinkIdle = 10 * time.Second

// serve accepts connections on l until it is closed.
func (s *sink) serve(l net.Listener) {
	s.mu.Lock()
	s.ls = append(s.ls, l)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.session(c)
			}()
		}
	}()
}

// close stops the listeners and waits for the sessions to end.
func (s *sink) close() {
	s.mu.Lock()
	for _, l := range s.ls {
		l.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// take returns the sessions recorded so far and forgets them.
func (s *sink) take() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sessions
	s.sessions = nil
	return out
}

func (s *sink) session(c net.Conn) {
	defer c.Close()
	rec := Session{
		Sink:  s.name,
		Peer:  addrPort(c.RemoteAddr()),
		Local: addrPort(c.LocalAddr()),
		Time:  time.Now(),
	}
	defer func() {
		s.mu.Lock()
		s.sessions = append(s.sessions, rec)
		s.mu.Unlock()
	}()
	sc := &smtpConn{r: smtpwire.NewReader(c), w: bufio.NewWriter(c)}
	if sc.reply("220 "+s.name+" ESMTP netlab sink") != nil {
		return
	}
	for {
		c.SetDeadline(time.Now().Add(sinkIdle))
		line, err := smtpwire.ReadLine(sc.r)
		if err != nil {
			return
		}
		if sc.reply(s.command(&rec, line, sc)) != nil || strings.EqualFold(line, "QUIT") {
			return
		}
	}
}

// smtpConn is the server side of one connection.
type smtpConn struct {
	r *bufio.Reader
	w *bufio.Writer
}

func (sc *smtpConn) reply(line string) error {
	sc.w.WriteString(line + "\r\n")
	return sc.w.Flush()
}

// command handles one command line and returns the reply.
func (s *sink) command(rec *Session, line string, sc *smtpConn) string {
	verb, arg, _ := strings.Cut(line, " ")
	switch strings.ToUpper(verb) {
	case "EHLO", "HELO":
		return "250 " + s.name
	case "MAIL":
		rec.From = pathArg(arg)
		rec.Rcpts, rec.Rejected = nil, nil
		return "250 2.1.0 ok"
	case "RCPT":
		to := pathArg(arg)
		local, _, _ := strings.Cut(to, "@")
		if s.users != nil && !slices.Contains(s.users, local) {
			rec.Rejected = append(rec.Rejected, to)
			return "550 5.1.1 <" + to + ">: no such user here"
		}
		rec.Rcpts = append(rec.Rcpts, to)
		return "250 2.1.5 ok"
	case "DATA":
		if len(rec.Rcpts) == 0 {
			return "554 5.5.1 no valid recipients"
		}
		if err := sc.reply("354 end with <CRLF>.<CRLF>"); err != nil {
			return ""
		}
		msg, err := smtpwire.ReadData(sc.r)
		if err != nil {
			return "451 4.3.0 " + err.Error()
		}
		rec.Data, rec.Subject = true, smtpwire.Subject(msg)
		return "250 2.0.0 accepted"
	case "RSET", "NOOP":
		return "250 2.0.0 ok"
	case "QUIT":
		return "221 2.0.0 bye"
	}
	return "502 5.5.1 command not implemented"
}

// pathArg extracts the address from "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func pathArg(arg string) string {
	_, v, _ := strings.Cut(arg, ":")
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '>'); strings.HasPrefix(v, "<") && i > 0 {
		return strings.ToLower(v[1:i])
	}
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	return strings.ToLower(f[0])
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}
