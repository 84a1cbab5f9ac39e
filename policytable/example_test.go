package policytable_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/dualstack/dualstack/policytable"
)

func ExampleTable_Lookup() {
	t := policytable.RFC6724()
	for _, s := range []string{"2001:db8::1", "192.0.2.1", "2002:c000:204::1", "fd00::1"} {
		a := t.Lookup(netip.MustParseAddr(s))
		fmt.Printf("%-16s precedence %2d label %2d\n", s, a.Precedence, a.Label)
	}
	// Output:
	// 2001:db8::1      precedence 40 label  1
	// 192.0.2.1        precedence 35 label  4
	// 2002:c000:204::1 precedence 30 label  2
	// fd00::1          precedence  3 label 13
}

func ExampleTable_Scope() {
	for _, t := range []*policytable.Table{policytable.RFC6724(), policytable.RFC3484()} {
		fmt.Println(t.Scope(netip.MustParseAddr("10.1.2.3")), t.Scope(netip.MustParseAddr("169.254.0.1")), t.Scope(netip.MustParseAddr("ff05::2")))
	}
	// Output:
	// global link-local site-local
	// site-local link-local site-local
}

// The change Debian's gai.conf suggests for sites that prefer IPv4. A
// precedence line replaces glibc's whole precedence table, so all rows
// are given; the labels stay glibc's built-in ones.
func ExampleParseGaiConf() {
	conf := `# prefer IPv4
precedence ::1/128       50
precedence ::/0          40
precedence 2002::/16     30
precedence ::/96         20
precedence ::ffff:0:0/96 100
`
	t, err := policytable.ParseGaiConf(strings.NewReader(conf))
	if err != nil {
		fmt.Println(err)
		return
	}
	v4, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	fmt.Println("IPv4", t.Precedence(v4), "IPv6", t.Precedence(v6), "ULA label", t.Label(netip.MustParseAddr("fd00::1")))

	// glibc ignores IPv4 syntax in precedence lines; ParseGaiConf says so.
	_, err = policytable.ParseGaiConf(strings.NewReader("precedence 10.0.0.0/8 100\n"))
	fmt.Println(err)
	var pe *policytable.ParseError
	if errors.As(err, &pe) {
		fmt.Println("line", pe.Line)
	}
	// Output:
	// IPv4 100 IPv6 40 ULA label 6
	// policytable: gai.conf line 1 "precedence 10.0.0.0/8 100": IPv4 prefix where IPv6 syntax is required: 10.0.0.0/8 (glibc ignores the line)
	// line 1
}

// Linting a gai.conf the way glibc reads it: lenient parsing reports the
// lines glibc would ignore or misread, Lint the questionable table.
func ExampleLint() {
	conf := `label ::1/128 0
label ::/0 1
label ::ffff:0:0/96 4
label 10.0.0.0/8 5
precedence ::ffff:0:0/96 100
`
	t, warnings, err := policytable.ParseGaiConfLenient(strings.NewReader(conf))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range warnings {
		fmt.Println("line", w.Line, w.Err)
	}
	for _, f := range policytable.Lint(t) {
		if f.Code != policytable.CodeMissingRow {
			fmt.Println(f)
		}
	}
	// Output:
	// line 4 IPv4 prefix where IPv6 syntax is required: 10.0.0.0/8 (glibc ignores the line)
	// ipv4-preferred ::ffff:0.0.0.0/96: IPv4 has precedence 100, above native IPv6 (::/0) at 40: IPv4 destinations are tried first (RFC 6724 section 10.3)
}

func ExampleTable_WriteNetsh() {
	t, err := policytable.RFC6724().AddKnownLocal(netip.MustParsePrefix("fd11:1111:1111::/48"))
	if err != nil {
		fmt.Println(err)
		return
	}
	var b strings.Builder
	if err := t.WriteNetsh(&b); err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.WriteString(strings.ReplaceAll(b.String(), "\r\n", "\n"))
	// Output:
	// Querying active state...
	//
	// Precedence  Label  Prefix
	// ----------  -----  --------------------------------
	//         50      0  ::1/128
	//         45     14  fd11:1111:1111::/48
	//         40      1  ::/0
	//         35      4  ::ffff:0:0/96
	//         30      2  2002::/16
	//          5      5  2001::/32
	//          3     13  fc00::/7
	//          1      3  ::/96
	//          1     12  3ffe::/16
	//          1     11  fec0::/10
}
