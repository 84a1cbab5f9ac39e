package addrselect

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on the input of [ParseHost], which may come from files.
const (
	MaxHostTextLen = 64 << 10 // bytes of text
	MaxHostAddrs   = 1024     // addresses
	MaxHostRoutes  = 1024     // routes
)

// ErrHostTooLarge is the reason of a [HostParseError] when the text
// exceeds MaxHostTextLen, MaxHostAddrs or MaxHostRoutes: the description
// may be fine but is more than ParseHost reads.
var ErrHostTooLarge = errors.New("too large")

// The other reasons of a HostParseError, for printing.
var (
	errHostSyntax    = errors.New("syntax error") // a token where it is not expected
	errHostAddr      = errors.New("bad address")  // unparsable, or multicast, unspecified, IPv4-mapped
	errHostDuplicate = errors.New("duplicate")    // an address or a flag given twice
)

// HostParseError reports where and why [ParseHost] rejected its input.
// errors.Is(err, [ErrHostTooLarge]) tells input over the bounds from
// input that is wrong. The zero HostParseError reports an unknown error
// at offset 0.
type HostParseError struct {
	Offset int    // the byte offset of Token in the input
	Token  string // the offending token ("" at the end of input)
	Msg    string // what was expected
	// Err is the reason ([ErrHostTooLarge], a syntax error, a bad address
	// or a duplicate), possibly wrapping a net/netip error; nil in the
	// zero HostParseError.
	Err error
}

// Error formats the error with the offset, the token and the reason. A
// token longer than 64 bytes is cut, with its length.
func (e *HostParseError) Error() string {
	at := "end of input"
	if len(e.Token) > maxQuoted {
		at = strconv.Quote(cut(e.Token, maxQuoted)) + " (" + strconv.Itoa(len(e.Token)) + " bytes)"
	} else if e.Token != "" {
		at = strconv.Quote(e.Token)
	}
	s := "addrselect: host description: offset " + strconv.Itoa(e.Offset) + " at " + at
	if e.Err != nil && e.Err.Error() != "" {
		s += ": " + e.Err.Error()
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// Unwrap returns the reason.
func (e *HostParseError) Unwrap() error { return e.Err }

// hostErrDetail is a reason with the net/netip error behind it, which
// quotes the token again: Error cuts it too.
type hostErrDetail struct{ kind, cause error }

func (d *hostErrDetail) Error() string {
	return d.kind.Error() + " (" + cut(d.cause.Error(), 2*maxQuoted) + ")"
}

func (d *hostErrDetail) Unwrap() []error { return []error{d.kind, d.cause} }

// maxQuoted bounds how much of a token an error message quotes.
const maxQuoted = 64

// cut returns s, or when it is longer than n bytes its first n bytes or
// fewer, at a character boundary, followed by "...".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// ParseHost parses the compact text form of a [Host]:
//
//	2001:db8::1/64 temporary, 192.0.2.10/24, fe80::1/64 dev eth0; route v4 default; route v6 default
//
// Statements are separated by ';' or newlines; '#' starts a comment. A
// statement is either a comma-separated list of addresses or a route.
//
// An address is ADDR[/PLEN] followed by flags, named as iproute2 names
// them where it has a name:
//
//	deprecated          preferred lifetime expired (RFC 4862); iproute2's
//	                    "preferred_lft 0" is the same ("preferred_lft N|forever")
//	temporary           a temporary address (RFC 8981)
//	home                a Mobile IPv6 home address (RFC 6724 section 3.5)
//	care-of, coa        a Mobile IPv6 care-of address
//	tunnel, encap       on a tunnel or transition interface (destination rule 7)
//	dev NAME            the interface (a zone, fe80::1%eth0/64, is the same)
//	via ADDR            the router that advertised the prefix (RFC 8028, source rule 5.5)
//
// Each address's on-link prefix is a route through its interface;
// without /PLEN the prefix length is unknown (0) and only the address
// itself is.
//
// A route is
//
//	route [v4|v6] PREFIX|default [via ADDR] [dev NAME]
//
// where the family may be left out when the prefix or the next hop shows
// it. "route v6 default" says IPv6 destinations off the host's links are
// reachable.
//
// Errors are *[HostParseError] with the offset and the token. The input
// is bounded by [MaxHostTextLen], [MaxHostAddrs] and [MaxHostRoutes].
// The result's Selector is nil: the Selector that sorts with the Host
// picks its IPv6 sources (see [Host]).
func ParseHost(s string) (*Host, error) {
	if len(s) > MaxHostTextLen {
		return nil, &HostParseError{Offset: MaxHostTextLen, Err: ErrHostTooLarge,
			Msg: "longer than " + strconv.Itoa(MaxHostTextLen) + " bytes"}
	}
	p := hostParser{in: s, seen: make(map[netip.Addr]bool)}
	h := &Host{}
	if err := p.parse(h); err != nil {
		return nil, err
	}
	return h, nil
}

// hostParser reads a description token by token: words, ',', and ';' or
// a newline; blanks and comments are skipped.
type hostParser struct {
	in        string
	pos       int                 // where the next token starts
	tok       string              // the current token
	off, kind int                 // its offset and kind (tokWord...)
	seen      map[netip.Addr]bool // the addresses read so far
}

const (
	tokWord = iota
	tokComma
	tokSemi
	tokEOF
)

// advance reads the next token.
func (p *hostParser) advance() {
	for p.pos < len(p.in) {
		start := p.pos
		p.pos++
		switch p.in[start] {
		case ' ', '\t', '\r':
		case '#':
			for p.pos < len(p.in) && p.in[p.pos] != '\n' {
				p.pos++
			}
		case '\n', ';':
			p.tok, p.off, p.kind = p.in[start:p.pos], start, tokSemi
			return
		case ',':
			p.tok, p.off, p.kind = ",", start, tokComma
			return
		default:
			if n := strings.IndexAny(p.in[p.pos:], " \t\r\n;,#"); n >= 0 {
				p.pos += n
			} else {
				p.pos = len(p.in)
			}
			p.tok, p.off, p.kind = p.in[start:p.pos], start, tokWord
			return
		}
	}
	p.tok, p.off, p.kind = "", len(p.in), tokEOF
}

// fail reports the current token as wrong for the reason kind.
func (p *hostParser) fail(kind error, msg string) error {
	return &HostParseError{Offset: p.off, Token: p.tok, Msg: msg, Err: kind}
}

// failCause is fail with the net/netip error behind kind.
func (p *hostParser) failCause(kind, cause error, msg string) error {
	return p.fail(&hostErrDetail{kind: kind, cause: cause}, msg)
}

// arg moves to the argument of the current flag or option and returns
// it; msg says what is expected when there is none.
func (p *hostParser) arg(msg string) (string, error) {
	p.advance()
	if p.kind != tokWord {
		return "", p.fail(errHostSyntax, msg)
	}
	return p.tok, nil
}

// parse reads the statements of the description into h.
func (p *hostParser) parse(h *Host) error {
	p.advance()
	for p.kind != tokEOF {
		var err error
		switch {
		case p.kind == tokSemi:
			p.advance()
			continue
		case p.kind == tokComma:
			return p.fail(errHostSyntax, "expected an address or \"route\"")
		case p.tok == "route":
			err = p.route(h)
		default:
			err = p.addrs(h)
		}
		if err != nil {
			return err
		}
		if p.kind != tokEOF && p.kind != tokSemi {
			return p.fail(errHostSyntax, "expected ';' or end of line")
		}
	}
	return nil
}

// addrs parses ADDR [flags] {, ADDR [flags]}.
func (p *hostParser) addrs(h *Host) error {
	for {
		if p.kind != tokWord {
			return p.fail(errHostSyntax, "expected an address")
		}
		if len(h.Addrs) >= MaxHostAddrs {
			return p.fail(ErrHostTooLarge, "more than "+strconv.Itoa(MaxHostAddrs)+" addresses")
		}
		if err := p.addr(h); err != nil {
			return err
		}
		if p.kind != tokComma {
			return nil
		}
		p.advance()
	}
}

// addr parses one address, ADDR[/PLEN], with its flags, into h.
func (p *hostParser) addr(h *Host) error {
	addrText, plenText, hasPlen := strings.Cut(p.tok, "/")
	a, err := netip.ParseAddr(addrText)
	if err != nil {
		return p.failCause(errHostAddr, err, "expected ADDR[/PLEN]")
	}
	key := a.WithZone("")
	src := Source{Addr: key, Interface: a.Zone()}
	if hasPlen {
		pfx, err := netip.ParsePrefix(key.String() + "/" + plenText)
		if err != nil {
			return p.failCause(errHostAddr, err, "bad prefix length")
		}
		if pfx.Bits() == 0 {
			// 0 means "unknown" in Source; a host's prefix is never /0.
			return p.fail(errHostAddr, "prefix length 0: leave out /PLEN if it is unknown")
		}
		src.PrefixLen = pfx.Bits()
	}
	switch {
	case key.Is4In6():
		return p.fail(errHostAddr, "IPv4-mapped address: write the IPv4 address")
	case key.IsMulticast(), key.IsUnspecified():
		// RFC 6724 section 4: multicast and unspecified addresses are
		// never source addresses.
		return p.fail(errHostAddr, "multicast or unspecified address cannot be a host address")
	case p.seen[key]:
		return p.fail(errHostDuplicate, "address listed twice")
	}
	p.seen[key] = true
	p.advance()
	if err := p.flags(&src, false); err != nil {
		return err
	}
	h.Addrs = append(h.Addrs, src)
	return nil
}

// hostFlags are the address flags: the single-word ones (with a field)
// in the order [Host.String] writes them, by their first name. A flag's
// index is its bit in the set of flags seen ("preferred_lft" shares
// Deprecated's).
var hostFlags = [...]struct {
	names []string
	field func(*Source) *bool // nil for a flag with an argument
}{
	{[]string{"deprecated", "preferred_lft"}, func(s *Source) *bool { return &s.Deprecated }},
	{[]string{"temporary"}, func(s *Source) *bool { return &s.Temporary }},
	{[]string{"home"}, func(s *Source) *bool { return &s.Home }},
	{[]string{"care-of", "coa"}, func(s *Source) *bool { return &s.CareOf }},
	{[]string{"tunnel", "encap"}, func(s *Source) *bool { return &s.Encapsulated }},
	{[]string{"dev"}, nil},
	{[]string{"via"}, nil},
}

// flags parses the flags after an address into src or, for a route,
// its options "via ADDR" and "dev NAME" into src's NextHop and Interface.
func (p *hostParser) flags(src *Source, route bool) error {
	var seen uint16
	for p.kind == tokWord {
		name, bit := p.tok, -1
		for i, f := range hostFlags {
			if slices.Contains(f.names, name) && (!route || f.field == nil) {
				bit = i
			}
		}
		switch dup := bit >= 0 && seen&(1<<bit) != 0; {
		case bit < 0 && route:
			return p.fail(errHostSyntax, "unknown route option (want via ADDR or dev NAME)")
		case bit < 0:
			return p.fail(errHostSyntax, "unknown address flag (want deprecated, preferred_lft N, temporary, home, care-of, tunnel, dev NAME or via ADDR)")
		case dup && route:
			return p.fail(errHostDuplicate, strconv.Quote(name)+" given twice")
		case dup:
			return p.fail(errHostDuplicate, "flag given twice")
		}
		seen |= 1 << bit
		var err error
		switch name {
		case "preferred_lft":
			err = p.lifetime(src)
		case "dev":
			err = p.dev(src)
		case "via":
			src.NextHop, err = p.nextHop(src.Addr)
		default:
			*hostFlags[bit].field(src) = true
		}
		if err != nil {
			return err
		}
		p.advance()
	}
	return nil
}

// lifetime parses iproute2's preferred lifetime: 0 means deprecated.
func (p *hostParser) lifetime(src *Source) error {
	const msg = "expected a lifetime (seconds or \"forever\") after \"preferred_lft\""
	text, err := p.arg(msg)
	if err != nil || text == "forever" {
		return err
	}
	secs, err := strconv.ParseUint(strings.TrimSuffix(text, "sec"), 10, 32)
	if err != nil {
		return p.fail(errHostSyntax, msg)
	}
	src.Deprecated = secs == 0
	return nil
}

// dev parses an address's interface name, which must agree with the
// address's zone.
func (p *hostParser) dev(src *Source) error {
	name, err := p.arg("expected an interface name after \"dev\"")
	if err != nil {
		return err
	}
	if src.Interface != "" && src.Interface != name {
		return p.fail(errHostSyntax, "interface differs from the address's zone "+strconv.Quote(src.Interface))
	}
	src.Interface = name
	return nil
}

// nextHop parses the argument of "via", a unicast router address of
// fam's family (either when fam is invalid).
func (p *hostParser) nextHop(fam netip.Addr) (netip.Addr, error) {
	text, err := p.arg("expected a next-hop address after \"via\"")
	if err != nil {
		return netip.Addr{}, err
	}
	nh, err := netip.ParseAddr(text)
	if err != nil {
		return nh, p.failCause(errHostAddr, err, "bad next-hop address")
	}
	if bare := nh.WithZone(""); bare.Is4In6() || bare.IsMulticast() || bare.IsUnspecified() {
		return nh, p.fail(errHostAddr, "a next hop must be a unicast address")
	}
	if fam.IsValid() && nh.Is4() != fam.Is4() {
		return nh, p.fail(errHostAddr, "next hop of the other address family")
	}
	return nh, nil
}

// route parses: route [v4|v6] PREFIX|default [via ADDR] [dev NAME].
// fam, an address of the route's family, is invalid while it is unknown.
func (p *hostParser) route(h *Host) error {
	if len(h.Routes) >= MaxHostRoutes {
		return p.fail(ErrHostTooLarge, "more than "+strconv.Itoa(MaxHostRoutes)+" routes")
	}
	p.advance()
	var fam netip.Addr
	switch p.tok {
	case "v4":
		fam = netip.IPv4Unspecified()
	case "v6":
		fam = netip.IPv6Unspecified()
	}
	if fam.IsValid() {
		p.advance()
	}
	if p.kind != tokWord {
		return p.fail(errHostSyntax, "expected a prefix or \"default\"")
	}
	var r Route
	dst, dstOff := p.tok, p.off
	if dst != "default" {
		pfx, err := p.routePrefix(fam)
		if err != nil {
			return err
		}
		r.Prefix, fam = pfx, pfx.Addr()
	}
	p.advance()
	opts := Source{Addr: fam}
	if err := p.flags(&opts, true); err != nil {
		return err
	}
	r.Via, r.Dev = opts.NextHop, opts.Interface
	if dst == "default" {
		if !fam.IsValid() {
			fam = r.Via // the next hop shows the family, if there is one
		}
		if !fam.IsValid() {
			return &HostParseError{Offset: dstOff, Token: dst, Err: errHostSyntax,
				Msg: "default route of unknown family: write \"route v4 default\" or \"route v6 default\""}
		}
		r.Prefix = netip.PrefixFrom(fam, 0).Masked() // 0.0.0.0/0 or ::/0
	}
	h.Routes = append(h.Routes, r)
	return nil
}

// routePrefix parses the current token as a route's prefix of fam's
// family (either when fam is invalid) and returns it masked.
func (p *hostParser) routePrefix(fam netip.Addr) (netip.Prefix, error) {
	pfx, err := netip.ParsePrefix(p.tok)
	if err != nil {
		return pfx, p.failCause(errHostAddr, err, "expected PREFIX or \"default\"")
	}
	if pfx.Addr().Is4In6() {
		return pfx, p.fail(errHostAddr, "IPv4-mapped prefix: write the IPv4 prefix")
	}
	if fam.IsValid() && fam.Is4() != pfx.Addr().Is4() {
		return pfx, p.fail(errHostAddr, "prefix of the other address family")
	}
	return pfx.Masked(), nil
}

// String returns the host in the form [ParseHost] reads: the addresses on
// one line, then one route per line. For a Host that ParseHost returned,
// ParseHost(h.String()) describes the same host; a Host built by hand
// round-trips when its values are ones ParseHost could produce (interface
// names without blanks, ',', ';' or '#', valid prefixes). The Selector is
// not part of the text. The zero Host gives "".
func (h *Host) String() string {
	var b strings.Builder
	for i := range h.Addrs {
		if i > 0 {
			b.WriteString(", ")
		}
		writeHostAddr(&b, &h.Addrs[i])
	}
	for _, r := range h.Routes {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		switch {
		case r.Prefix.Bits() != 0:
			b.WriteString("route " + r.Prefix.String())
		case r.Prefix.Addr().Is4():
			b.WriteString("route v4 default")
		default:
			b.WriteString("route v6 default")
		}
		if r.Via.IsValid() {
			b.WriteString(" via " + r.Via.String())
		}
		if r.Dev != "" {
			b.WriteString(" dev " + r.Dev)
		}
	}
	return b.String()
}

// writeHostAddr writes one address of a host with its flags.
func writeHostAddr(b *strings.Builder, a *Source) {
	b.WriteString(a.Addr.WithZone("").String())
	if a.PrefixLen > 0 {
		b.WriteString("/" + strconv.Itoa(a.PrefixLen))
	}
	for _, f := range hostFlags {
		if f.field != nil && *f.field(a) {
			b.WriteString(" " + f.names[0])
		}
	}
	if a.Interface != "" {
		b.WriteString(" dev " + a.Interface)
	}
	if a.NextHop.IsValid() {
		b.WriteString(" via " + a.NextHop.String())
	}
}
