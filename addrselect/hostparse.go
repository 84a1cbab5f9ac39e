package addrselect

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on the input of [ParseHost]: a description is read by tests and
// tools, possibly from files, so the work it drives is limited.
const (
	MaxHostTextLen = 64 << 10 // bytes of text
	MaxHostAddrs   = 1024     // addresses
	MaxHostRoutes  = 1024     // routes
)

// ErrHostTooLarge is the reason of a [HostParseError] when the text
// exceeds MaxHostTextLen, MaxHostAddrs or MaxHostRoutes: the description
// may be fine but is more than ParseHost reads.
var ErrHostTooLarge = errors.New("too large")

// The other reasons of a HostParseError: callers print them, the error's
// Offset and Token say where.
var (
	// errHostSyntax: a token was not expected where it stands.
	errHostSyntax = errors.New("syntax error")
	// errHostAddr: an address, prefix or next hop does not parse or cannot
	// be an address of a host (multicast, unspecified, IPv4-mapped).
	errHostAddr = errors.New("bad address")
	// errHostDuplicate: an address or a flag is given twice.
	errHostDuplicate = errors.New("duplicate")
)

// HostParseError reports where and why [ParseHost] rejected its input.
// errors.Is(err, [ErrHostTooLarge]) tells input over the bounds from
// input that is wrong. The zero HostParseError reports an unknown error
// at offset 0.
type HostParseError struct {
	// Offset is the byte offset of Token in the input.
	Offset int
	// Token is the offending token ("" at the end of input).
	Token string
	// Msg says what was expected.
	Msg string
	// Err is the reason ([ErrHostTooLarge], a syntax error, a bad address
	// or a duplicate), possibly wrapping a net/netip error; nil in the
	// zero HostParseError.
	Err error
}

// Error formats the error with the offset, the token and the reason. A
// token longer than 64 bytes is cut, with its length.
func (e *HostParseError) Error() string {
	var b strings.Builder
	b.WriteString("addrselect: host description: offset ")
	b.WriteString(strconv.Itoa(e.Offset))
	if e.Token != "" {
		b.WriteString(" at ")
		b.WriteString(quoteCut(e.Token))
	} else {
		b.WriteString(" at end of input")
	}
	if e.Err != nil {
		writeField(&b, ": ", e.Err.Error())
	}
	writeField(&b, ": ", e.Msg)
	return b.String()
}

// Unwrap returns the reason.
func (e *HostParseError) Unwrap() error { return e.Err }

// hostErrDetail is a reason with the net/netip error behind it.
type hostErrDetail struct {
	kind  error
	cause error
}

func (d *hostErrDetail) Error() string {
	if d.cause == nil {
		return d.kind.Error()
	}
	// The cause (a net/netip error) quotes the token again: cut it too.
	return d.kind.Error() + " (" + cut(d.cause.Error(), 2*maxQuoted) + ")"
}

// maxQuoted bounds how much of a token an error message quotes, so that
// a long token (up to MaxHostTextLen) does not make a long message.
const maxQuoted = 64

// quoteCut quotes s, cut to maxQuoted bytes, saying how long s was if it
// was cut: "2001:db8::..."... (65536 bytes).
func quoteCut(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(cut(s, maxQuoted)) + " (" + strconv.Itoa(len(s)) + " bytes)"
}

// cut returns s when it has at most n bytes, else its first n bytes or
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

func (d *hostErrDetail) Unwrap() []error {
	if d.cause == nil {
		return []error{d.kind}
	}
	return []error{d.kind, d.cause}
}

// token is one word of a host description.
type token struct {
	text string
	off  int
}

// hostLexer splits a description into statements (separated by ';' or a
// newline) of items (separated by ',') of words (separated by blanks).
// '#' starts a comment that runs to the end of the line.
type hostLexer struct {
	in  string
	pos int
}

const (
	tokWord = iota
	tokComma
	tokSemi
	tokEOF
)

func (l *hostLexer) next() (token, int) {
	for l.pos < len(l.in) {
		c := l.in[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			l.pos++
		case c == '#':
			for l.pos < len(l.in) && l.in[l.pos] != '\n' {
				l.pos++
			}
		case c == '\n' || c == ';':
			l.pos++
			return token{string(c), l.pos - 1}, tokSemi
		case c == ',':
			l.pos++
			return token{",", l.pos - 1}, tokComma
		default:
			start := l.pos
			for l.pos < len(l.in) {
				c := l.in[l.pos]
				if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == ',' || c == '#' {
					break
				}
				l.pos++
			}
			return token{l.in[start:l.pos], start}, tokWord
		}
	}
	return token{"", len(l.in)}, tokEOF
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
// Without /PLEN the prefix length is unknown (0) and the address has no
// on-link prefix: only the address itself is routed through its
// interface. Each address's on-link prefix is a route through its
// interface.
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
	p := hostParser{lex: hostLexer{in: s}}
	h := &Host{}
	if err := p.parse(h); err != nil {
		return nil, err
	}
	return h, nil
}

type hostParser struct {
	lex  hostLexer
	tok  token
	kind int
	seen map[netip.Addr]bool
}

func (p *hostParser) advance() { p.tok, p.kind = p.lex.next() }

func (p *hostParser) fail(kind error, msg string) error {
	return &HostParseError{Offset: p.tok.off, Token: p.tok.text, Msg: msg, Err: kind}
}

func (p *hostParser) failCause(kind, cause error, msg string) error {
	return &HostParseError{Offset: p.tok.off, Token: p.tok.text, Msg: msg,
		Err: &hostErrDetail{kind: kind, cause: cause}}
}

func (p *hostParser) parse(h *Host) error {
	p.advance()
	for {
		switch p.kind {
		case tokEOF:
			return nil
		case tokSemi:
			p.advance()
			continue
		case tokComma:
			return p.fail(errHostSyntax, "expected an address or \"route\"")
		}
		var err error
		if p.tok.text == "route" {
			err = p.route(h)
		} else {
			err = p.addrs(h)
		}
		if err != nil {
			return err
		}
		switch p.kind {
		case tokEOF, tokSemi:
		default:
			return p.fail(errHostSyntax, "expected ';' or end of line")
		}
	}
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
		src, err := p.addr()
		if err != nil {
			return err
		}
		h.Addrs = append(h.Addrs, src)
		if p.kind != tokComma {
			return nil
		}
		p.advance()
	}
}

// addr parses one address with its flags.
func (p *hostParser) addr() (Source, error) {
	a, plen, err := p.addrPrefix()
	if err != nil {
		return Source{}, err
	}
	key := a.WithZone("")
	if p.seen == nil {
		p.seen = make(map[netip.Addr]bool)
	}
	if p.seen[key] {
		return Source{}, p.fail(errHostDuplicate, "address listed twice")
	}
	p.seen[key] = true
	src := Source{Addr: key, PrefixLen: plen, Interface: a.Zone()}
	p.advance()
	if err := p.addrFlags(&src); err != nil {
		return Source{}, err
	}
	return src, nil
}

// addrPrefix parses the current token as ADDR[/PLEN], an address a host
// can have; plen is 0 without /PLEN.
func (p *hostParser) addrPrefix() (a netip.Addr, plen int, err error) {
	addrText, plenText, hasPlen := strings.Cut(p.tok.text, "/")
	a, err = netip.ParseAddr(addrText)
	if err != nil {
		return a, 0, p.failCause(errHostAddr, err, "expected ADDR[/PLEN]")
	}
	if hasPlen {
		pfx, err := netip.ParsePrefix(a.WithZone("").String() + "/" + plenText)
		if err != nil {
			return a, 0, p.failCause(errHostAddr, err, "bad prefix length")
		}
		if pfx.Bits() == 0 {
			// 0 means "unknown" in Source; a host's prefix is never /0.
			return a, 0, p.fail(errHostAddr, "prefix length 0: leave out /PLEN if it is unknown")
		}
		plen = pfx.Bits()
	}
	switch key := a.WithZone(""); {
	case key.Is4In6():
		return a, 0, p.fail(errHostAddr, "IPv4-mapped address: write the IPv4 address")
	case key.IsMulticast(), key.IsUnspecified():
		// RFC 6724 section 4: multicast and unspecified addresses are
		// never source addresses.
		return a, 0, p.fail(errHostAddr, "multicast or unspecified address cannot be a host address")
	}
	return a, plen, nil
}

// hostFlags are the address flags that are single words, in the order
// [Host.String] writes them; the first name is the one it writes. A
// flag's index is its bit in the set of flags seen.
var hostFlags = [...]struct {
	names []string
	field func(*Source) *bool
}{
	{[]string{"deprecated"}, func(s *Source) *bool { return &s.Deprecated }},
	{[]string{"temporary"}, func(s *Source) *bool { return &s.Temporary }},
	{[]string{"home"}, func(s *Source) *bool { return &s.Home }},
	{[]string{"care-of", "coa"}, func(s *Source) *bool { return &s.CareOf }},
	{[]string{"tunnel", "encap"}, func(s *Source) *bool { return &s.Encapsulated }},
}

// Bits of the flags with an argument, past those of hostFlags; a
// lifetime sets "deprecated", so it shares that flag's bit.
const (
	flagBitLifetime = 0
	flagBitDev      = len(hostFlags)
	flagBitVia      = len(hostFlags) + 1
)

const (
	msgLifetime = "expected a lifetime (seconds or \"forever\") after \"preferred_lft\""
	msgDev      = "expected an interface name after \"dev\""
)

// addrFlags parses the flags after an address into src.
func (p *hostParser) addrFlags(src *Source) error {
	var seen uint16
	for p.kind == tokWord {
		bit, ok := flagBit(p.tok.text)
		if !ok {
			return p.fail(errHostSyntax, "unknown address flag (want deprecated, preferred_lft N, temporary, home, care-of, tunnel, dev NAME or via ADDR)")
		}
		if seen&(1<<bit) != 0 {
			return p.fail(errHostDuplicate, "flag given twice")
		}
		seen |= 1 << bit
		if err := p.addrFlag(src, bit); err != nil {
			return err
		}
		p.advance()
	}
	return nil
}

// flagBit returns the bit of the address flag named name.
func flagBit(name string) (int, bool) {
	for i, f := range hostFlags {
		if slices.Contains(f.names, name) {
			return i, true
		}
	}
	switch name {
	case "preferred_lft":
		return flagBitLifetime, true
	case "dev":
		return flagBitDev, true
	case "via":
		return flagBitVia, true
	}
	return 0, false
}

// addrFlag parses the flag at the current token, of the given bit, and
// its argument if it has one, into src.
func (p *hostParser) addrFlag(src *Source, bit int) error {
	switch p.tok.text {
	case "preferred_lft":
		p.advance()
		return p.lifetime(src)
	case "dev":
		p.advance()
		return p.dev(src)
	case "via":
		p.advance()
		nh, err := p.nextHop(src.Addr.Is4())
		src.NextHop = nh
		return err
	}
	*hostFlags[bit].field(src) = true
	return nil
}

// lifetime parses iproute2's preferred lifetime: 0 is a deprecated
// address, any other lifetime a preferred one.
func (p *hostParser) lifetime(src *Source) error {
	if p.kind != tokWord {
		return p.fail(errHostSyntax, msgLifetime)
	}
	if p.tok.text == "forever" {
		return nil
	}
	secs, err := strconv.ParseUint(strings.TrimSuffix(p.tok.text, "sec"), 10, 32)
	if err != nil {
		return p.fail(errHostSyntax, msgLifetime)
	}
	src.Deprecated = secs == 0
	return nil
}

// dev parses an address's interface name, which must agree with the
// address's zone.
func (p *hostParser) dev(src *Source) error {
	if p.kind != tokWord {
		return p.fail(errHostSyntax, msgDev)
	}
	if src.Interface != "" && src.Interface != p.tok.text {
		return p.fail(errHostSyntax, "interface differs from the address's zone "+strconv.Quote(src.Interface))
	}
	src.Interface = p.tok.text
	return nil
}

// nextHop parses the current token as a router address of the family
// given by v4.
func (p *hostParser) nextHop(v4 bool) (netip.Addr, error) {
	if p.kind != tokWord {
		return netip.Addr{}, p.fail(errHostSyntax, "expected a next-hop address after \"via\"")
	}
	nh, err := netip.ParseAddr(p.tok.text)
	if err != nil {
		return nh, p.failCause(errHostAddr, err, "bad next-hop address")
	}
	if bare := nh.WithZone(""); bare.Is4In6() || bare.IsMulticast() || bare.IsUnspecified() {
		return nh, p.fail(errHostAddr, "a next hop must be a unicast address")
	}
	if nh.Is4() != v4 {
		return nh, p.fail(errHostAddr, "next hop of the other address family")
	}
	return nh, nil
}

// route parses: route [v4|v6] PREFIX|default [via ADDR] [dev NAME].
func (p *hostParser) route(h *Host) error {
	if len(h.Routes) >= MaxHostRoutes {
		return p.fail(ErrHostTooLarge, "more than "+strconv.Itoa(MaxHostRoutes)+" routes")
	}
	p.advance()
	fam := p.routeFamily()
	if p.kind != tokWord {
		return p.fail(errHostSyntax, "expected a prefix or \"default\"")
	}
	var r Route
	dstTok := p.tok
	if dstTok.text != "default" {
		pfx, err := p.routePrefix(fam)
		if err != nil {
			return err
		}
		r.Prefix, fam = pfx, familyOf(pfx.Addr())
	}
	p.advance()
	if err := p.routeOptions(&r, &fam); err != nil {
		return err
	}
	if dstTok.text == "default" {
		if fam == 0 {
			return &HostParseError{Offset: dstTok.off, Token: dstTok.text, Err: errHostSyntax,
				Msg: "default route of unknown family: write \"route v4 default\" or \"route v6 default\""}
		}
		r.Prefix = defaultRoute(fam)
	}
	h.Routes = append(h.Routes, r)
	return nil
}

// familyOf returns 4 or 6, a's address family.
func familyOf(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// defaultRoute returns the default route's prefix of family fam (4 or 6).
func defaultRoute(fam int) netip.Prefix {
	if fam == 4 {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
}

// routeFamily parses an optional "v4" or "v6" and returns 4, 6 or 0.
func (p *hostParser) routeFamily() int {
	if p.kind != tokWord || (p.tok.text != "v4" && p.tok.text != "v6") {
		return 0
	}
	fam := 4
	if p.tok.text == "v6" {
		fam = 6
	}
	p.advance()
	return fam
}

// routePrefix parses the current token as a route's prefix of family
// fam (0: either) and returns it masked.
func (p *hostParser) routePrefix(fam int) (netip.Prefix, error) {
	pfx, err := netip.ParsePrefix(p.tok.text)
	if err != nil {
		return pfx, p.failCause(errHostAddr, err, "expected PREFIX or \"default\"")
	}
	if pfx.Addr().Is4In6() {
		return pfx, p.fail(errHostAddr, "IPv4-mapped prefix: write the IPv4 prefix")
	}
	if fam != 0 && fam != familyOf(pfx.Addr()) {
		return pfx, p.fail(errHostAddr, "prefix of the other address family")
	}
	return pfx.Masked(), nil
}

// routeOptions parses a route's "via ADDR" and "dev NAME" into r; a next
// hop sets the family *fam when it is still unknown (0).
func (p *hostParser) routeOptions(r *Route, fam *int) error {
	var seenVia, seenDev bool
	for p.kind == tokWord {
		switch p.tok.text {
		case "via":
			if seenVia {
				return p.fail(errHostDuplicate, "\"via\" given twice")
			}
			seenVia = true
			p.advance()
			if *fam == 0 && p.kind == tokWord {
				if nh, err := netip.ParseAddr(p.tok.text); err == nil {
					*fam = familyOf(nh)
				}
			}
			nh, err := p.nextHop(*fam == 4)
			if err != nil {
				return err
			}
			r.Via = nh
		case "dev":
			if seenDev {
				return p.fail(errHostDuplicate, "\"dev\" given twice")
			}
			seenDev = true
			p.advance()
			if p.kind != tokWord {
				return p.fail(errHostSyntax, msgDev)
			}
			r.Dev = p.tok.text
		default:
			return p.fail(errHostSyntax, "unknown route option (want via ADDR or dev NAME)")
		}
		p.advance()
	}
	return nil
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
		b.WriteString("route ")
		if r.Prefix.Bits() == 0 {
			if r.Prefix.Addr().Is4() {
				b.WriteString("v4 default")
			} else {
				b.WriteString("v6 default")
			}
		} else {
			b.WriteString(r.Prefix.String())
		}
		writeField(&b, " via ", addrText(r.Via))
		writeField(&b, " dev ", r.Dev)
	}
	return b.String()
}

// writeField writes sep and s to b unless s is empty.
func writeField(b *strings.Builder, sep, s string) {
	if s != "" {
		b.WriteString(sep)
		b.WriteString(s)
	}
}

// addrText is a's text, "" for the zero Addr.
func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// writeHostAddr writes one address of a host with its flags.
func writeHostAddr(b *strings.Builder, a *Source) {
	b.WriteString(a.Addr.WithZone("").String())
	if a.PrefixLen > 0 {
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(a.PrefixLen))
	}
	for _, f := range hostFlags {
		if *f.field(a) {
			b.WriteByte(' ')
			b.WriteString(f.names[0])
		}
	}
	writeField(b, " dev ", a.Interface)
	writeField(b, " via ", addrText(a.NextHop))
}
