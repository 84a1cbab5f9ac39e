package addrselect

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/dualstack/dualstack/policytable"
)

// Host is a static description of a host: its addresses and its routes.
// It implements [Sources] without sockets, by the candidate-set rules of
// RFC 6724 section 4 and [Selector.SelectSource], so it answers "which
// source would that host use?" for simulations, diagnostics and tests.
//
// The zero Host has no addresses and no routes: every destination is
// unusable. A Host has exactly the addresses listed; in particular it has
// no implicit loopback address (list "::1/128 dev lo" and
// "127.0.0.1/8 dev lo" to reach loopback destinations).
//
// A Host is safe for concurrent use as long as nobody modifies it.
// [ParseHost] builds one from a compact text form, and [Host.String]
// writes that form back.
type Host struct {
	// Addrs are the host's addresses in configuration order. For IPv4 the
	// order matters: see [Host.Source].
	Addrs []Source
	// Routes are the host's routes beyond the on-link prefixes of its
	// addresses (which always count as routes, RFC 6724 section 4 needs an
	// outgoing interface for each destination).
	Routes []Route
	// Selector picks among the candidate IPv6 sources (RFC 6724
	// section 5). Nil means RFC6724().
	Selector *Selector
}

// Route is a route of a described [Host], in the spirit of an iproute2
// route: a destination prefix, an optional next hop and an optional
// outgoing interface.
type Route struct {
	// Prefix is the destination prefix; 0.0.0.0/0 and ::/0 are the default
	// routes. It is kept masked (canonical).
	Prefix netip.Prefix
	// Via is the next-hop router; the zero Addr means on-link.
	Via netip.Addr
	// Dev is the outgoing interface; "" means unknown (then, if Via is set,
	// the interface of the address whose on-link prefix contains Via).
	Dev string
}

// Bounds on the input of [ParseHost]: a description is read by tests and
// tools, possibly from files, so the work it drives is limited.
const (
	MaxHostTextLen = 64 << 10 // bytes of text
	MaxHostAddrs   = 1024     // addresses
	MaxHostRoutes  = 1024     // routes
)

// Errors of [ParseHost], carried in [HostParseError.Err].
var (
	// ErrHostSyntax: a token was not expected where it stands.
	ErrHostSyntax = errors.New("syntax error")
	// ErrHostAddr: an address, prefix or next hop does not parse or cannot
	// be an address of a host (multicast, unspecified, IPv4-mapped).
	ErrHostAddr = errors.New("bad address")
	// ErrHostDuplicate: an address or a flag is given twice.
	ErrHostDuplicate = errors.New("duplicate")
	// ErrHostTooLarge: the text exceeds MaxHostTextLen, MaxHostAddrs or
	// MaxHostRoutes.
	ErrHostTooLarge = errors.New("too large")
)

// HostParseError reports where and why [ParseHost] rejected its input.
// Use errors.Is with the ErrHost* values to branch on the reason.
type HostParseError struct {
	// Offset is the byte offset of Token in the input.
	Offset int
	// Token is the offending token ("" at the end of input).
	Token string
	// Msg says what was expected.
	Msg string
	// Err is one of the ErrHost* values, possibly wrapping a netip error.
	Err error
}

// Error formats the error with the offset, the token and the reason.
func (e *HostParseError) Error() string {
	var b strings.Builder
	b.WriteString("addrselect: host description: offset ")
	b.WriteString(strconv.Itoa(e.Offset))
	if e.Token != "" {
		b.WriteString(" at ")
		b.WriteString(strconv.Quote(e.Token))
	} else {
		b.WriteString(" at end of input")
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	return b.String()
}

// Unwrap returns the reason, one of the ErrHost* values.
func (e *HostParseError) Unwrap() error { return e.Err }

type hostErrDetail struct {
	kind  error
	cause error
}

func (d *hostErrDetail) Error() string {
	if d.cause == nil {
		return d.kind.Error()
	}
	return d.kind.Error() + " (" + d.cause.Error() + ")"
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
// The result's Selector is nil (RFC 6724).
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
			return p.fail(ErrHostSyntax, "expected an address or \"route\"")
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
			return p.fail(ErrHostSyntax, "expected ';' or end of line")
		}
	}
}

// addrs parses ADDR [flags] {, ADDR [flags]}.
func (p *hostParser) addrs(h *Host) error {
	for {
		if p.kind != tokWord {
			return p.fail(ErrHostSyntax, "expected an address")
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

func (p *hostParser) addr() (Source, error) {
	var src Source
	text := p.tok.text
	addrText, plenText, hasPlen := strings.Cut(text, "/")
	a, err := netip.ParseAddr(addrText)
	if err != nil {
		return src, p.failCause(ErrHostAddr, err, "expected ADDR[/PLEN]")
	}
	if hasPlen {
		pfx, err := netip.ParsePrefix(a.WithZone("").String() + "/" + plenText)
		if err != nil {
			return src, p.failCause(ErrHostAddr, err, "bad prefix length")
		}
		if pfx.Bits() == 0 {
			// 0 means "unknown" in Source; a host's prefix is never /0.
			return src, p.fail(ErrHostAddr, "prefix length 0: leave out /PLEN if it is unknown")
		}
		src.PrefixLen = pfx.Bits()
	}
	key := a.WithZone("")
	switch {
	case key.Is4In6():
		return src, p.fail(ErrHostAddr, "IPv4-mapped address: write the IPv4 address")
	case key.IsMulticast(), key.IsUnspecified():
		// RFC 6724 section 4: multicast and unspecified addresses are
		// never source addresses.
		return src, p.fail(ErrHostAddr, "multicast or unspecified address cannot be a host address")
	}
	if p.seen == nil {
		p.seen = make(map[netip.Addr]bool)
	}
	if p.seen[key] {
		return src, p.fail(ErrHostDuplicate, "address listed twice")
	}
	p.seen[key] = true
	src.Addr = key
	src.Interface = a.Zone()
	p.advance()
	var seenFlags uint16
	flag := func(bit uint16) error {
		if seenFlags&bit != 0 {
			return p.fail(ErrHostDuplicate, "flag given twice")
		}
		seenFlags |= bit
		return nil
	}
	for p.kind == tokWord {
		var err error
		switch p.tok.text {
		case "deprecated":
			err = flag(1)
			src.Deprecated = true
		case "preferred_lft":
			// iproute2's spelling: a preferred lifetime of 0 is a
			// deprecated address; any other lifetime a preferred one.
			if err = flag(1); err != nil {
				return src, err
			}
			p.advance()
			if p.kind != tokWord {
				return src, p.fail(ErrHostSyntax, "expected a lifetime (seconds or \"forever\") after \"preferred_lft\"")
			}
			if p.tok.text != "forever" {
				secs, perr := strconv.ParseUint(strings.TrimSuffix(p.tok.text, "sec"), 10, 32)
				if perr != nil {
					return src, p.fail(ErrHostSyntax, "expected a lifetime (seconds or \"forever\") after \"preferred_lft\"")
				}
				src.Deprecated = secs == 0
			}
		case "temporary":
			err = flag(2)
			src.Temporary = true
		case "home":
			err = flag(4)
			src.Home = true
		case "care-of", "coa":
			err = flag(8)
			src.CareOf = true
		case "tunnel", "encap":
			err = flag(16)
			src.Encapsulated = true
		case "dev":
			if err = flag(32); err != nil {
				return src, err
			}
			p.advance()
			if p.kind != tokWord {
				return src, p.fail(ErrHostSyntax, "expected an interface name after \"dev\"")
			}
			if src.Interface != "" && src.Interface != p.tok.text {
				return src, p.fail(ErrHostSyntax, "interface differs from the address's zone "+strconv.Quote(src.Interface))
			}
			src.Interface = p.tok.text
		case "via":
			if err = flag(64); err != nil {
				return src, err
			}
			p.advance()
			nh, err := p.nextHop(a.Is4())
			if err != nil {
				return src, err
			}
			src.NextHop = nh
		default:
			return src, p.fail(ErrHostSyntax, "unknown address flag (want deprecated, preferred_lft N, temporary, home, care-of, tunnel, dev NAME or via ADDR)")
		}
		if err != nil {
			return src, err
		}
		p.advance()
	}
	return src, nil
}

// nextHop parses the current token as a router address of the family
// given by v4.
func (p *hostParser) nextHop(v4 bool) (netip.Addr, error) {
	if p.kind != tokWord {
		return netip.Addr{}, p.fail(ErrHostSyntax, "expected a next-hop address after \"via\"")
	}
	nh, err := netip.ParseAddr(p.tok.text)
	if err != nil {
		return nh, p.failCause(ErrHostAddr, err, "bad next-hop address")
	}
	if bare := nh.WithZone(""); bare.Is4In6() || bare.IsMulticast() || bare.IsUnspecified() {
		return nh, p.fail(ErrHostAddr, "a next hop must be a unicast address")
	}
	if nh.Is4() != v4 {
		return nh, p.fail(ErrHostAddr, "next hop of the other address family")
	}
	return nh, nil
}

// route parses: route [v4|v6] PREFIX|default [via ADDR] [dev NAME].
func (p *hostParser) route(h *Host) error {
	if len(h.Routes) >= MaxHostRoutes {
		return p.fail(ErrHostTooLarge, "more than "+strconv.Itoa(MaxHostRoutes)+" routes")
	}
	p.advance()
	fam := 0
	if p.kind == tokWord && (p.tok.text == "v4" || p.tok.text == "v6") {
		fam = 4
		if p.tok.text == "v6" {
			fam = 6
		}
		p.advance()
	}
	if p.kind != tokWord {
		return p.fail(ErrHostSyntax, "expected a prefix or \"default\"")
	}
	var r Route
	dstTok := p.tok
	isDefault := p.tok.text == "default"
	if !isDefault {
		pfx, err := netip.ParsePrefix(p.tok.text)
		if err != nil {
			return p.failCause(ErrHostAddr, err, "expected PREFIX or \"default\"")
		}
		if pfx.Addr().Is4In6() {
			return p.fail(ErrHostAddr, "IPv4-mapped prefix: write the IPv4 prefix")
		}
		pf := 6
		if pfx.Addr().Is4() {
			pf = 4
		}
		if fam != 0 && fam != pf {
			return p.fail(ErrHostAddr, "prefix of the other address family")
		}
		fam = pf
		r.Prefix = pfx.Masked()
	}
	p.advance()
	var seenVia, seenDev bool
	for p.kind == tokWord {
		switch p.tok.text {
		case "via":
			if seenVia {
				return p.fail(ErrHostDuplicate, "\"via\" given twice")
			}
			seenVia = true
			p.advance()
			if p.kind != tokWord {
				return p.fail(ErrHostSyntax, "expected a next-hop address after \"via\"")
			}
			nh, err := netip.ParseAddr(p.tok.text)
			if err != nil {
				return p.failCause(ErrHostAddr, err, "bad next-hop address")
			}
			nf := 6
			if nh.Is4() {
				nf = 4
			}
			if fam == 0 {
				fam = nf
			}
			if v, err := p.nextHop(fam == 4); err != nil {
				return err
			} else {
				r.Via = v
			}
		case "dev":
			if seenDev {
				return p.fail(ErrHostDuplicate, "\"dev\" given twice")
			}
			seenDev = true
			p.advance()
			if p.kind != tokWord {
				return p.fail(ErrHostSyntax, "expected an interface name after \"dev\"")
			}
			r.Dev = p.tok.text
		default:
			return p.fail(ErrHostSyntax, "unknown route option (want via ADDR or dev NAME)")
		}
		p.advance()
	}
	if isDefault {
		switch fam {
		case 4:
			r.Prefix = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		case 6:
			r.Prefix = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		default:
			return &HostParseError{Offset: dstTok.off, Token: dstTok.text, Err: ErrHostSyntax,
				Msg: "default route of unknown family: write \"route v4 default\" or \"route v6 default\""}
		}
	}
	h.Routes = append(h.Routes, r)
	return nil
}

// String returns the host in the form [ParseHost] reads: the addresses on
// one line, then one route per line. For a Host that ParseHost returned,
// ParseHost(h.String()) describes the same host; a Host built by hand
// round-trips when its values are ones ParseHost could produce (interface
// names without blanks, ',', ';' or '#', valid prefixes). The Selector is
// not part of the text.
func (h *Host) String() string {
	var b strings.Builder
	for i, a := range h.Addrs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Addr.WithZone("").String())
		if a.PrefixLen > 0 {
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(a.PrefixLen))
		}
		for _, f := range [...]struct {
			on   bool
			name string
		}{{a.Deprecated, "deprecated"}, {a.Temporary, "temporary"}, {a.Home, "home"}, {a.CareOf, "care-of"}, {a.Encapsulated, "tunnel"}} {
			if f.on {
				b.WriteByte(' ')
				b.WriteString(f.name)
			}
		}
		if a.Interface != "" {
			b.WriteString(" dev ")
			b.WriteString(a.Interface)
		}
		if a.NextHop.IsValid() {
			b.WriteString(" via ")
			b.WriteString(a.NextHop.String())
		}
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
		if r.Via.IsValid() {
			b.WriteString(" via ")
			b.WriteString(r.Via.String())
		}
		if r.Dev != "" {
			b.WriteString(" dev ")
			b.WriteString(r.Dev)
		}
	}
	return b.String()
}

// Source implements [Sources] for the described host.
//
// The destination's family decides the candidate set (an IPv4-mapped
// destination is treated as IPv4). Following RFC 6724 section 4:
//
//   - the destination needs a route in its family: one of the host's own
//     addresses, the on-link prefix of one of its addresses, or a route
//     in Routes (longest prefix wins; on-link prefixes win ties). Without
//     one the destination is unusable (zero Source, nil error);
//   - a link-local destination (and a link-local-scope multicast one)
//     needs a zone naming the interface, and only addresses on that
//     interface are candidates; without a zone it is unusable, as it is
//     for the kernel;
//   - link-local addresses of other interfaces than the outgoing one are
//     never candidates; multicast and unspecified addresses never are.
//
// IPv6: the candidates go to Selector.SelectSource (RFC 6724 section 5),
// with the outgoing interface as the destination's zone (rule 5) and the
// route's next hop (rule 5.5).
//
// Among IPv6 candidates equal under every rule the first listed wins.
// Linux lets the newest address win such ties, and "ip -6 addr show"
// lists the newest first: list IPv6 addresses in that order to predict
// the kernel.
//
// IPv4 source selection is left open by RFC 6724 (sections 5 and 6);
// Host does what Linux does by default (the preferred source of the
// route): the destination itself if it is one of the host's addresses;
// otherwise, among the addresses on the outgoing interface (all addresses
// if the route names no interface), the first whose on-link prefix
// contains the destination, else the first whose prefix contains the
// route's next hop, else the first one listed (the primary address),
// deprecated addresses last. 127.0.0.0/8 sources are used only for
// 127.0.0.0/8 destinations and the other way round.
//
// Source does not allocate for hosts with up to 16 addresses per family.
func (h *Host) Source(ctx context.Context, dst netip.Addr) (Source, error) {
	if err := ctx.Err(); err != nil {
		return Source{}, err
	}
	dst = dst.Unmap()
	if !dst.IsValid() || dst.IsUnspecified() {
		return Source{}, nil
	}
	// A destination that is one of our own addresses: source rule 1, and
	// for IPv4 the kernel's choice too.
	for i := range h.Addrs {
		if h.Addrs[i].Addr == dst.WithZone("") {
			if h.Addrs[i].Addr.Is6() {
				break // let SelectSource apply rule 1 with the full candidate set
			}
			return h.Addrs[i], nil
		}
	}
	dev, via, ok := h.route(dst)
	if !ok {
		return Source{}, nil
	}
	if dst.Is4() {
		return h.source4(dst, dev, via), nil
	}
	return h.source6(dst, dev, via), nil
}

// linkScoped reports whether dst needs a zone: IPv6 link-local unicast
// and interface- or link-local multicast (RFC 4007 zones).
func linkScoped(dst netip.Addr) bool {
	if !dst.Is6() || dst.IsLoopback() {
		return false
	}
	return policytable.ScopeIPv6(dst) <= policytable.ScopeLinkLocal
}

// route finds the outgoing interface and next hop for dst. ok is false
// when the host has no route.
func (h *Host) route(dst netip.Addr) (dev string, via netip.Addr, ok bool) {
	if linkScoped(dst) {
		// RFC 6724 section 4: link-local destinations use addresses on
		// the link the zone names; without a zone there is no link.
		if dst.Zone() == "" {
			return "", via, false
		}
		for i := range h.Addrs {
			if h.Addrs[i].Interface == dst.Zone() && h.Addrs[i].Addr.Is6() {
				return dst.Zone(), via, true
			}
		}
		return "", via, false
	}
	bare := dst.WithZone("")
	best := -1
	// On-link prefixes of the host's own addresses.
	for i := range h.Addrs {
		a := &h.Addrs[i]
		if a.Addr.Is4() != bare.Is4() {
			continue
		}
		if a.Addr.IsLoopback() != bare.IsLoopback() {
			continue
		}
		plen := a.PrefixLen
		if plen == 0 {
			plen = a.Addr.BitLen() // unknown prefix: the address alone
		}
		if plen > best {
			if p, err := a.Addr.Prefix(plen); err == nil && p.Contains(bare) {
				best, dev, via = plen, a.Interface, netip.Addr{}
			}
		}
	}
	for i := range h.Routes {
		r := &h.Routes[i]
		if r.Prefix.Bits() > best && r.Prefix.Contains(bare) {
			best, dev, via = r.Prefix.Bits(), r.Dev, r.Via
			if dev == "" && via.IsValid() {
				dev = h.onLinkDev(via)
			}
		}
	}
	if dst.Zone() != "" {
		dev = dst.Zone()
	}
	return dev, via, best >= 0
}

// onLinkDev returns the interface of the address whose on-link prefix
// contains nh, or "".
func (h *Host) onLinkDev(nh netip.Addr) string {
	best, dev := -1, ""
	for i := range h.Addrs {
		a := &h.Addrs[i]
		if a.PrefixLen > best && a.Addr.Is4() == nh.Is4() {
			if p, err := a.Addr.Prefix(a.PrefixLen); err == nil && p.Contains(nh) {
				best, dev = a.PrefixLen, a.Interface
			}
		}
	}
	return dev
}

func (h *Host) source4(dst netip.Addr, dev string, via netip.Addr) Source {
	var first, firstDeprecated, subnet, gwSubnet *Source
	for i := range h.Addrs {
		a := &h.Addrs[i]
		if !a.Addr.Is4() || a.Addr.IsLoopback() != dst.IsLoopback() {
			continue
		}
		if dev != "" && a.Interface != dev {
			continue
		}
		if a.PrefixLen > 0 {
			if p, err := a.Addr.Prefix(a.PrefixLen); err == nil {
				if subnet == nil && p.Contains(dst) {
					subnet = a
				}
				if gwSubnet == nil && via.IsValid() && p.Contains(via) {
					gwSubnet = a
				}
			}
		}
		if a.Deprecated {
			if firstDeprecated == nil {
				firstDeprecated = a
			}
		} else if first == nil {
			first = a
		}
	}
	switch {
	case subnet != nil:
		return *subnet
	case gwSubnet != nil:
		return *gwSubnet
	case first != nil:
		return *first
	case firstDeprecated != nil:
		return *firstDeprecated
	}
	return Source{}
}

func (h *Host) source6(dst netip.Addr, dev string, via netip.Addr) Source {
	var buf [16]Source
	cands := buf[:0]
	for i := range h.Addrs {
		a := &h.Addrs[i]
		if !a.Addr.Is6() {
			continue
		}
		// RFC 6724 section 4: addresses of link-local scope only on the
		// destination's link; loopback only for loopback destinations.
		if policytable.ScopeIPv6(a.Addr) <= policytable.ScopeLinkLocal && !a.Addr.IsLoopback() && a.Interface != dev {
			continue
		}
		if a.Addr.IsLoopback() != dst.IsLoopback() && a.Addr != dst.WithZone("") {
			continue
		}
		cands = append(cands, *a)
	}
	if len(cands) == 0 {
		return Source{}
	}
	return selectSource6(h.Selector, dst, dev, via, cands)
}

// selectSource6 applies RFC 6724 section 5 to the IPv6 candidates, with
// the outgoing interface (rule 5) and the next hop (rule 5.5).
func selectSource6(s *Selector, dst netip.Addr, dev string, via netip.Addr, cands []Source) Source {
	src, _ := s.SelectSourceVia(dst, dev, via, cands)
	return src
}
