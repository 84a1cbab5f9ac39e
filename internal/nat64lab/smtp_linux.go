//go:build linux

package nat64lab

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/dualstack/dualstack/internal/smtpwire"
)

// Message is a message the SMTP server accepted.
type Message struct {
	Peer netip.AddrPort // the client as the server saw it (tayga's pool for translated clients)
	From string         // the MAIL FROM argument
	To   []string       // the RCPT TO arguments
	Data string         // the message, without the final dot
}

// SMTPServer is a small SMTP server (RFC 5321 section 4.1: HELO/EHLO,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT) on the IPv4-only server's port 25.
// It accepts every message and keeps it. Lines are limited to 1000
// octets and messages to 1 MiB; a session ends after 30 s.
type SMTPServer struct {
	ln    net.Listener
	mu    sync.Mutex
	msgs  []Message
	peers []netip.AddrPort
	wg    sync.WaitGroup
}

// listenSMTP starts the server in the server namespace.
func (l *Lab) listenSMTP() (*SMTPServer, error) {
	ln, err := l.Server.Listen("tcp4", "0.0.0.0:25")
	if err != nil {
		return nil, err
	}
	s := &SMTPServer{ln: ln}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Messages returns the messages accepted so far.
func (s *SMTPServer) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Sessions returns the peers of the sessions so far, in order.
func (s *SMTPServer) Sessions() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]netip.AddrPort(nil), s.peers...)
}

// Close stops the listener and waits for the sessions to end.
func (s *SMTPServer) Close() {
	s.ln.Close()
	s.wg.Wait()
}

func (s *SMTPServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			s.session(c)
		}()
	}
}

// session runs one SMTP session on c.
func (s *SMTPServer) session(c net.Conn) {
	r := smtpwire.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(line string) bool {
		w.WriteString(line + "\r\n")
		return w.Flush() == nil
	}
	peer, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	s.mu.Lock()
	s.peers = append(s.peers, peer)
	s.mu.Unlock()
	m := Message{Peer: peer}
	if !reply("220 v4only.test ESMTP nat64lab") {
		return
	}
	for {
		line, err := smtpwire.ReadLine(r)
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "HELO", "EHLO":
			reply("250 v4only.test")
		case "MAIL":
			m.From, m.To = arg, nil
			reply("250 ok")
		case "RCPT":
			m.To = append(m.To, arg)
			reply("250 ok")
		case "DATA":
			if !reply("354 go ahead") {
				return
			}
			data, err := smtpwire.ReadData(r)
			if err != nil {
				return
			}
			m.Data = data
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			reply("250 queued")
		case "RSET", "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("500 unknown command")
		}
	}
}
