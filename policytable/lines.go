package policytable

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// line is one line of input without its "\n" or "\r\n". dropped counts
// the bytes past the reader's limit that were read and discarded.
type line struct {
	n       int
	text    string
	dropped int
}

// eachLine is the one loop of every reader in this package: it calls fn
// for every line of r and turns an error fn returns into a *ParseError
// for that line, unless it is one already. Reading stops at the first
// error. Each line keeps at most limit bytes: the rest is read and
// counted, not kept, so memory stays bounded. A final line without a
// newline is still a line.
func eachLine(r io.Reader, format string, limit int, fn func(line) error) error {
	br := bufio.NewReaderSize(r, limit+2)
	for n := 1; ; n++ {
		b, err := br.ReadSlice('\n')
		text, dropped := string(b), 0
		for errors.Is(err, bufio.ErrBufferFull) {
			b, err = br.ReadSlice('\n')
			dropped += len(b)
		}
		if err == io.EOF && len(text)+dropped == 0 {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("policytable: reading %s: %w", format, err)
		}
		if dropped == 0 {
			text = strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")
		} else if len(b) > 0 && b[len(b)-1] == '\n' {
			dropped--
		}
		if len(text) > limit {
			text, dropped = text[:limit], dropped+len(text)-limit
		}
		if err := fn(line{n, text, dropped}); err != nil {
			if pe := (*ParseError)(nil); errors.As(err, &pe) {
				return err
			}
			return &ParseError{Format: format, Line: n, Text: errText(text), Err: err}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// eachShortLine is [eachLine] for formats whose lines are never long:
// a line over [MaxLineLength] bytes is an [ErrLineTooLong] error.
func eachShortLine(r io.Reader, format string, fn func(text string) error) error {
	return eachLine(r, format, MaxLineLength, func(l line) error {
		if l.dropped > 0 {
			return fmt.Errorf("%w: %d bytes, more than %d", ErrLineTooLong, len(l.text)+l.dropped, MaxLineLength)
		}
		return fn(l.text)
	})
}

// maxErrText bounds the text of a line or field that an error quotes.
const maxErrText = 80

// errText cuts s to maxErrText bytes for an error message, marking the
// cut with "...".
func errText(s string) string {
	if len(s) <= maxErrText {
		return s
	}
	return s[:maxErrText] + "..."
}
