// Package smtpwire reads what an SMTP client sends a server (RFC 5321):
// command lines and the message after DATA, bounded in size. The test
// servers of internal/nat64lab and examples/netlab share it.
package smtpwire

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// Bounds on what a client may send.
const (
	MaxLine    = 1000    // RFC 5321 section 4.5.3.1.6: a text line, CRLF included
	MaxMessage = 1 << 20 // the message after DATA
)

// ErrTooLong reports a message longer than MaxMessage.
var ErrTooLong = errors.New("message too long")

// NewReader returns a reader of conn whose lines are at most MaxLine
// octets: ReadLine fails with bufio.ErrBufferFull on a longer one.
func NewReader(conn io.Reader) *bufio.Reader {
	return bufio.NewReaderSize(conn, MaxLine)
}

// ReadLine reads one CRLF (or LF) terminated line, without its end.
func ReadLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// ReadData reads a message up to the line holding only a dot, removing
// the dot a client doubles at the start of a line (RFC 5321 section
// 4.5.2), and returns it with CRLF line ends. A message longer than
// MaxMessage is ErrTooLong.
func ReadData(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := ReadLine(r)
		if err != nil {
			return "", err
		}
		if line == "." {
			return b.String(), nil
		}
		if b.Len()+len(line)+2 > MaxMessage {
			return "", ErrTooLong
		}
		b.WriteString(strings.TrimPrefix(line, "."))
		b.WriteString("\r\n")
	}
}

// Subject returns the Subject header of msg (from ReadData), or "".
func Subject(msg string) string {
	for line := range strings.Lines(msg) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return "" // the end of the header
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Subject") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
