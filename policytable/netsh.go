package policytable

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// netshQuerying is the first line netsh prints.
const netshQuerying = "Querying active state..."

// ParseNetsh reads the output of Windows' "netsh interface ipv6 show
// prefixpolicies": an optional "Querying active state..." line, the
// header "Precedence Label Prefix", a line of dashes, and one line per
// row, "PRECEDENCE LABEL PREFIX/LEN". Blank lines and CRLF line ends are
// accepted. IPv4-mapped prefixes may be written either way
// (::ffff:0:0/96 as Windows prints them, or ::ffff:0.0.0.0/96). Errors
// are as for [ParseIP6addrctl].
func ParseNetsh(r io.Reader) (*Table, error) {
	const format = "netsh"
	var entries entrySet
	state := 0 // 0: before the header, 1: header seen, 2: dashes seen
	err := eachShortLine(r, format, func(text string) error {
		f := fields(text)
		switch {
		case len(f) == 0:
			return nil
		case state == 0 && strings.Join(f, " ") == netshQuerying:
			return nil
		case state == 0:
			if !slices.Equal(f, []string{"Precedence", "Label", "Prefix"}) {
				return fmt.Errorf("%w: want the header \"Precedence Label Prefix\"", errSyntax)
			}
			state = 1
			return nil
		case state == 1:
			if len(f) != 3 || strings.Trim(strings.Join(f, ""), "-") != "" {
				return fmt.Errorf("%w: want the line of dashes under the header", errSyntax)
			}
			state = 2
			return nil
		case len(f) != 3:
			return fmt.Errorf("%w: want 3 fields (precedence, label, prefix), have %d", errSyntax, len(f))
		}
		return entries.add(f[2], f[0], f[1])
	})
	return entries.table(err, format, state == 2)
}

// WriteNetsh writes t's [Table.Entries] the way "netsh interface ipv6
// show prefixpolicies" prints them: highest precedence first, then
// longest prefix, IPv4-mapped prefixes in hexadecimal (::ffff:0:0/96),
// with CRLF line ends as on Windows. IPv4 scope rules are not written:
// Windows has none.
func (t *Table) WriteNetsh(w io.Writer) error {
	entries := t.Entries()
	slices.SortStableFunc(entries, func(a, b Entry) int { return int(b.Precedence) - int(a.Precedence) })
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s\r\n\r\n", netshQuerying)
	fmt.Fprintf(bw, "Precedence  Label  Prefix\r\n")
	fmt.Fprintf(bw, "----------  -----  --------------------------------\r\n")
	for _, e := range entries {
		fmt.Fprintf(bw, "%10d  %5d  %s\r\n", e.Precedence, e.Label, formatMappedHex(e.Prefix))
	}
	fmt.Fprintf(bw, "\r\n")
	return flush(bw, "netsh")
}
