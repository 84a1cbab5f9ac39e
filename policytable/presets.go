package policytable

import (
	"net/netip"
	"slices"
	"sync"
)

func mp(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// rfc6724Entries is the default policy table of RFC 6724 section 2.1.
var rfc6724Entries = []Entry{
	{mp("::1/128"), 50, 0},
	{mp("::/0"), 40, 1},
	{mp("::ffff:0:0/96"), 35, 4},
	{mp("2002::/16"), 30, 2},
	{mp("2001::/32"), 5, 5},
	{mp("fc00::/7"), 3, 13},
	{mp("::/96"), 1, 3},
	{mp("fec0::/10"), 1, 11},
	{mp("3ffe::/16"), 1, 12},
}

// rfc3484Entries is the default policy table of RFC 3484 section 2.1.
var rfc3484Entries = []Entry{
	{mp("::1/128"), 50, 0},
	{mp("::/0"), 40, 1},
	{mp("2002::/16"), 30, 2},
	{mp("::/96"), 20, 3},
	{mp("::ffff:0:0/96"), 10, 4},
}

// draftEntries is the default policy table of
// draft-ietf-6man-rfc6724-update-21 section 3.1, without known-local rows.
var draftEntries = []Entry{
	{mp("::1/128"), 50, 0},
	{mp("::/0"), 40, 1},
	{mp("fc00::/7"), 30, 13},
	{mp("::ffff:0:0/96"), 20, 4},
	{mp("2002::/16"), 5, 2},
	{mp("2001::/32"), 5, 5},
	{mp("::/96"), 1, 3},
	{mp("fec0::/10"), 1, 11},
	{mp("3ffe::/16"), 1, 12},
}

// glibc's built-in tables (sysdeps/posix/getaddrinfo.c, default_precedence
// and default_labels): the RFC 3484 rows, and three extra labels so that
// site-local IPv6, ULA and Teredo sources do not pair with other
// destinations.
var glibcPrecedence, glibcLabel = func() ([]Row, []Row) {
	prec, label := splitEntries(rfc3484Entries)
	return prec, append(label, Row{mp("fec0::/10"), 5}, Row{mp("fc00::/7"), 6}, Row{mp("2001::/32"), 7})
}()

var (
	rfc6724 = sync.OnceValue(func() *Table { return MustNew(rfc6724Entries) })
	rfc3484 = sync.OnceValue(func() *Table {
		return MustNew(rfc3484Entries, WithPrivateIPv4Scope(ScopeSiteLocal))
	})
	draft = sync.OnceValue(func() *Table { return MustNew(draftEntries) })
	glibc = sync.OnceValue(func() *Table { return must(NewSplit(glibcPrecedence, glibcLabel)) })
)

// RFC6724 returns the default policy table of RFC 6724 section 2.1, with
// the IPv4 scopes of RFC 6724 section 3.2. It is the default everywhere in
// this module.
func RFC6724() *Table { return rfc6724() }

// RFC3484 returns the default policy table of RFC 3484 section 2.1, with
// the RFC 3484 IPv4 scopes (RFC 1918 space is site-local).
func RFC3484() *Table { return rfc3484() }

// Glibc returns the tables glibc's getaddrinfo uses when /etc/gai.conf
// configures nothing (glibc 2.34 and later): the RFC 3484 precedences
// (IPv4 at 10, below 6to4; ULA and Teredo at the ::/0 precedence 40),
// labels with glibc's extra rows for fec0::/10 (5), fc00::/7 (6) and
// 2001::/32 (7), and the RFC 6724 IPv4 scopes. The table is split: its
// precedence and label sets have different prefixes.
func Glibc() *Table { return glibc() }

// Draft6724Update returns the default policy table of
// draft-ietf-6man-rfc6724-update-21 section 3.1 (ULA 30 above IPv4 20,
// 6to4 and Teredo at 5) without known-local rows. Add the rows a host has
// learned with [Table.AddKnownLocal].
func Draft6724Update() *Table { return draft() }

// KnownLocalPrecedence and KnownLocalLabel are the values that
// draft-ietf-6man-rfc6724-update-21 section 3.3 requires for rows added
// for known-local ULA prefixes.
const (
	KnownLocalPrecedence = 45
	KnownLocalLabel      = 14
)

var ulaFD = mp("fd00::/8")

// AddKnownLocal returns a copy of t with a row at precedence 45 and label
// 14 for each known-local ULA prefix, as draft-ietf-6man-rfc6724-update-21
// section 3.3 requires (and RFC 6724 section 2.1 allows as an automatic
// row addition, shown in its section 10.6). A prefix must lie inside
// fd00::/8 and be /40 or longer; use [KnownLocalPrefix] for the /48 of a
// host's own address or of a PIO. Automatic rows never replace rows that
// are already configured (RFC 6724 section 2.1): a prefix t already has in
// either set keeps its configured values there. The IPv4 scope rules are
// kept.
func (t *Table) AddKnownLocal(prefixes ...netip.Prefix) (*Table, error) {
	t = t.compiled()
	prec, label := slices.Clone(t.prec), slices.Clone(t.label)
	for _, p := range prefixes {
		if !p.IsValid() || !p.Addr().Is6() || p.Bits() < 40 || !ulaFD.Contains(p.Addr()) {
			return nil, &TableError{Set: "known-local", Prefix: p, Err: errKnownLocal}
		}
		if p.Masked() != p {
			return nil, &TableError{Set: "known-local", Prefix: p, Err: errNotCanonical}
		}
		prec = append(prec, Row{p, KnownLocalPrecedence})
		label = append(label, Row{p, KnownLocalLabel})
	}
	// Keep the first row of each prefix: the configured one, else the
	// first added.
	firsts := func(rows []Row) []Row {
		slices.SortStableFunc(rows, func(a, b Row) int { return comparePrefix(a.Prefix, b.Prefix) })
		return slices.CompactFunc(rows, func(a, b Row) bool { return a.Prefix == b.Prefix })
	}
	var opts []Option
	if t.scope4Set {
		opts = append(opts, WithScopeV4(t.scope4...))
	}
	return NewSplit(firsts(prec), firsts(label), opts...)
}

// KnownLocalPrefix returns the /48 that draft-ietf-6man-rfc6724-update-21
// section 3.3 adds for a ULA address under fd00::/8 (a host's own address
// or a PIO prefix), and false for any other address.
func KnownLocalPrefix(a netip.Addr) (netip.Prefix, bool) {
	if !a.Is6() || a.Is4In6() || !ulaFD.Contains(a.WithZone("")) {
		return netip.Prefix{}, false
	}
	p, _ := a.WithZone("").Prefix(48)
	return p, true
}
