//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/smtp"
	"strings"
	"time"

	"github.com/dualstack/dualstack/internal/netns"
)

// submit sends one message with net/smtp from the namespace ns to the
// server at addr (port 25), with the envelope from/to and the subject.
func submit(ctx context.Context, ns *netns.NS, addr netip.Addr, from, to, subject string) error {
	conn, err := ns.DialContext(ctx, &net.Dialer{Timeout: 5 * time.Second}, "tcp", netip.AddrPortFrom(addr, 25).String())
	if err != nil {
		return fmt.Errorf("submit to %s: %w", addr, err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c, err := smtp.NewClient(conn, addr.String())
	if err != nil {
		conn.Close()
		return fmt.Errorf("submit to %s: %w", addr, err)
	}
	defer c.Close()
	if err := sendMail(c, "client.lab", from, to, message(from, to, subject)); err != nil {
		return fmt.Errorf("submit to %s: %w", addr, err)
	}
	return c.Quit()
}

// sendMail runs one SMTP transaction on c.
func sendMail(c *smtp.Client, helo, from, to string, msg []byte) error {
	if err := c.Hello(helo); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// message returns a small RFC 5322 message.
func message(from, to, subject string) []byte {
	var b strings.Builder
	b.WriteString("From: <" + from + ">\r\n")
	b.WriteString("To: <" + to + ">\r\n")
	b.WriteString("Subject: " + subject + "\r\n")
	b.WriteString("Date: " + time.Now().Format(time.RFC1123Z) + "\r\n")
	b.WriteString("\r\nnetlab test message\r\n")
	return []byte(b.String())
}
