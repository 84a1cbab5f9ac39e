package policytable

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// lineReader yields the lines of r with their number, each bounded by a
// limit: the excess of a longer line is read and counted, not kept, so
// memory stays bounded whatever the input. A final line without a
// newline is still a line.
type lineReader struct {
	r     *bufio.Reader
	limit int
	n     int // number of the last line read
}

// line is one line of input without its "\n" or "\r\n". dropped counts
// the bytes past the reader's limit that were read and discarded.
type line struct {
	n       int
	text    string
	dropped int
}

func newLineReader(r io.Reader, limit int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, limit+2), limit: limit}
}

// next returns the next line; err is io.EOF at the end, or a read error.
func (lr *lineReader) next() (line, error) {
	b, err := lr.r.ReadSlice('\n')
	text := string(b)
	dropped := 0
	for errors.Is(err, bufio.ErrBufferFull) {
		b, err = lr.r.ReadSlice('\n')
		dropped += len(b)
	}
	if err != nil && (err != io.EOF || len(text)+dropped == 0) {
		return line{}, err
	}
	lr.n++
	if dropped == 0 {
		text = trimEOL(text)
	} else if len(b) > 0 && b[len(b)-1] == '\n' {
		dropped--
	}
	if len(text) > lr.limit {
		dropped += len(text) - lr.limit
		text = text[:lr.limit]
	}
	return line{lr.n, text, dropped}, nil
}

func trimEOL(s string) string { return strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r") }

// eachLine is the one loop of every reader in this package: it calls fn
// for every line of r (each at most limit bytes, see [lineReader]) and
// turns an error fn returns into a *ParseError for that line, unless it
// is one already. Reading stops at the first error.
func eachLine(r io.Reader, format string, limit int, fn func(line) error) error {
	lr := newLineReader(r, limit)
	for {
		l, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("policytable: reading %s: %w", format, err)
		}
		if err := fn(l); err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return err
			}
			return &ParseError{Format: format, Line: l.n, Text: errText(l.text), Err: err}
		}
	}
}

// eachShortLine is [eachLine] for formats whose lines are never long:
// a line over [MaxLineLength] bytes is an [ErrLineTooLong] error.
func eachShortLine(r io.Reader, format string, fn func(n int, text string) error) error {
	return eachLine(r, format, MaxLineLength, func(l line) error {
		if l.dropped > 0 {
			return errLineTooLong(l)
		}
		return fn(l.n, l.text)
	})
}

func errLineTooLong(l line) error {
	return fmt.Errorf("%w: %d bytes, more than %d", ErrLineTooLong, len(l.text)+l.dropped, MaxLineLength)
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
