package smtpwire

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func TestReadData(t *testing.T) {
	tests := []struct {
		name, in, want, subject string
		err                     error
	}{
		{"plain", "Subject: hi\r\n\r\nbody\r\n.\r\n", "Subject: hi\r\n\r\nbody\r\n", "hi", nil},
		{"dot-stuffed", "Subject:  a b \r\n\r\n..x\r\n.\r\n", "Subject:  a b \r\n\r\n.x\r\n", "a b", nil},
		{"subject only in the header", "From: a\n\nSubject: no\n.\n", "From: a\r\n\r\nSubject: no\r\n", "", nil},
		{"no end", "Subject: x\r\n", "", "", errEOF},
		{"too long", strings.Repeat(strings.Repeat("x", 900)+"\r\n", 1200) + ".\r\n", "", "", ErrTooLong},
	}
	for _, tt := range tests {
		got, err := ReadData(bufio.NewReaderSize(strings.NewReader(tt.in), MaxLine))
		if tt.err != nil {
			if err == nil || tt.err != errEOF && !errors.Is(err, tt.err) {
				t.Errorf("%s: error %v; want %v", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want || Subject(got) != tt.subject {
			t.Errorf("%s: ReadData = %q, %v (subject %q); want %q (subject %q)", tt.name, got, err, Subject(got), tt.want, tt.subject)
		}
	}
}

// errEOF stands for any error at the end of the input.
var errEOF = errors.New("any error")

func TestReadLineBounded(t *testing.T) {
	r := NewReader(strings.NewReader(strings.Repeat("x", MaxLine+10) + "\r\n"))
	if _, err := ReadLine(r); !errors.Is(err, bufio.ErrBufferFull) {
		t.Errorf("ReadLine of a %d-octet line: error %v; want bufio.ErrBufferFull", MaxLine+12, err)
	}
}
