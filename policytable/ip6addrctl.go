package policytable

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// FreeBSD's ip6addrctl(8) formats: one combined table, no IPv4 scope
// rules (see the package documentation for what that loses).

// ip6addrctlNoPolicy is what ip6addrctl prints when the kernel holds no
// policy.
const ip6addrctlNoPolicy = "no source-address-selection policy is installed"

// ParseIP6addrctl reads the output of FreeBSD's "ip6addrctl" or
// "ip6addrctl show": a header line "Prefix Prec Label Use" and one line
// per row, "PREFIX/LEN PRECEDENCE LABEL USE", the columns separated by
// spaces (USE, a counter, is checked and dropped). Blank lines are
// skipped. The table must have a ::/0 row ([ErrNoDefault]); output saying
// that no policy is installed is a [*ParseError] wrapping [ErrNoDefault].
// Errors for single lines are [*ParseError] values; as with
// [ParseGaiConf], values above 255 are errors.
func ParseIP6addrctl(r io.Reader) (*Table, error) {
	const format = "ip6addrctl"
	var entries entrySet
	header := false
	err := eachShortLine(r, format, func(text string) error {
		f := fields(text)
		switch {
		case len(f) == 0:
			return nil
		case !header && strings.Join(f, " ") == ip6addrctlNoPolicy:
			return fmt.Errorf("%w: no policy is installed", ErrNoDefault)
		case !header:
			if !slices.Equal(f, []string{"Prefix", "Prec", "Label", "Use"}) {
				return fmt.Errorf("%w: want the header \"Prefix Prec Label Use\"", errSyntax)
			}
			header = true
			return nil
		case len(f) != 4:
			return fmt.Errorf("%w: want 4 fields (prefix, precedence, label, use), have %d", errSyntax, len(f))
		}
		if _, err := strconv.ParseUint(f[3], 10, 64); err != nil {
			return fmt.Errorf("%w: use count %q is not a decimal number", errSyntax, errText(f[3]))
		}
		return entries.add(f[0], f[1], f[2])
	})
	return entries.table(err, format, header)
}

// WriteIP6addrctl writes t's [Table.Entries] the way "ip6addrctl show"
// prints them, with a Use count of 0, longest prefix first. IPv4 scope
// rules are not written: the format has none.
func (t *Table) WriteIP6addrctl(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%-30s %5s %5s %8s\n", "Prefix", "Prec", "Label", "Use")
	for _, e := range t.Entries() {
		fmt.Fprintf(bw, "%-30s %5d %5d %8d\n", e.Prefix, e.Precedence, e.Label, 0)
	}
	return flush(bw, "ip6addrctl")
}

// ParseIP6addrctlConf reads the file "ip6addrctl install FILE" takes (and
// FreeBSD's /etc/ip6addrctl.conf): one row per line,
// "PREFIX/LEN PRECEDENCE LABEL", fields separated by spaces or tabs. "#"
// starts a comment; blank lines are skipped. ip6addrctl itself only
// allows comments on lines of their own and stops reading numbers at the
// first non-digit; here anything but a trailing comment after the three
// fields is an error. The table must have a ::/0 row.
func ParseIP6addrctlConf(r io.Reader) (*Table, error) {
	const format = "ip6addrctl.conf"
	var entries entrySet
	err := eachShortLine(r, format, func(text string) error {
		text, _, _ = strings.Cut(text, "#")
		f := fields(text)
		switch {
		case len(f) == 0:
			return nil
		case len(f) != 3:
			return fmt.Errorf("%w: want 3 fields (prefix, precedence, label), have %d", errSyntax, len(f))
		}
		return entries.add(f[0], f[1], f[2])
	})
	return entries.table(err, format, true)
}

// WriteIP6addrctlConf writes t's [Table.Entries] as a file for
// "ip6addrctl install", longest prefix first. IPv4 scope rules are not
// written: the format has none.
func (t *Table) WriteIP6addrctlConf(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# ip6addrctl.conf written by github.com/dualstack/dualstack/policytable")
	fmt.Fprintln(bw, "# prefix                      precedence label")
	for _, e := range t.Entries() {
		fmt.Fprintf(bw, "%-30s %5d %5d\n", e.Prefix, e.Precedence, e.Label)
	}
	return flush(bw, "ip6addrctl.conf")
}
