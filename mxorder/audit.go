package mxorder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Severity grades an [AuditFinding].
type Severity uint8

// The severities.
const (
	SeverityInfo    Severity = iota + 1 // worth knowing
	SeverityWarning                     // mail is lost or delayed for some senders or in some failures
	SeverityError                       // mail is lost or misrouted
)

var severityNames = [...]string{SeverityInfo: "info", SeverityWarning: "warning", SeverityError: "error"}

// String returns "info", "warning" or "error", and "severity(N)" for a
// value that is none of these.
func (s Severity) String() string { return enumString(severityNames[:], uint8(s), "severity") }

// MarshalText implements [encoding.TextMarshaler] with String.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText is the inverse of MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	return unmarshalEnum(s, severityNames[:], b, "severity")
}

// Code identifies the kind of an [AuditFinding]. Codes are stable strings.
type Code string

// The finding codes.
const (
	// Domain level.
	CodeNullMX           Code = "null-mx"           // the domain accepts no mail (RFC 7505)
	CodeNullMXMixed      Code = "null-mx-mixed"     // "." listed with other MX records (RFC 7505 section 3)
	CodeImplicitMX       Code = "implicit-mx"       // no MX records: the domain's own addresses are used (RFC 5321 section 5.1)
	CodeNoMailRoute      Code = "no-mail-route"     // neither MX nor address records (or NXDOMAIN)
	CodeTooManyMX        Code = "too-many-mx"       // more MX records than the planner considers
	CodeLookupFailed     Code = "lookup-failed"     // a DNS lookup failed
	CodeNoReachableMX    Code = "unreachable"       // senders of some family reach no MX at all (RFC 3974 section 3)
	CodeFamilySplit      Code = "family-split"      // IPv4-only and IPv6-only senders reach different MX hosts
	CodeBackupIsolated   Code = "backup-isolated"   // a backup MX shares no family with any better MX (RFC 3974 section 4.2)
	CodeRelayUnreachable Code = "relay-unreachable" // the relay cannot reach the recipient domain (CheckBounce)
	CodeBounceLost       Code = "bounce-lost"       // a DSN cannot reach the sender's domain (CheckBounce)

	// MTA-STS (RFC 8461), reported by [Report.CheckSTS].
	CodeSTSUnlisted      Code = "mta-sts-unlisted"       // an MX host the domain's MTA-STS policy does not list
	CodeSTSUnusedPattern Code = "mta-sts-unused-pattern" // a policy mx pattern that matches no MX host
	CodeSTSNoMX          Code = "mta-sts-no-mx"          // the policy permits none of the MX hosts
	CodeSTSFailed        Code = "mta-sts-failed"         // the policy could not be discovered or fetched

	// Host level.
	CodeInvalidExchange Code = "invalid-exchange" // exchange is an IP literal or not a host name (RFC 5321 section 5.1)
	CodeNoAddress       Code = "no-address"       // MX host without A or AAAA records
	CodeSingleStack     Code = "single-stack"     // MX host with addresses of one family only (RFC 3974 section 4.1)
	CodeCNAME           Code = "cname"            // exchange is an alias (RFC 2181 section 10.3)

	// Address level.
	CodeTransition    Code = "transition-address"    // 6to4 (2002::/16) or Teredo (2001::/32)
	CodeULA           Code = "ula-address"           // fc00::/7 (RFC 4193)
	CodeLinkLocal     Code = "link-local-address"    // fe80::/10, 169.254/16
	CodeLoopback      Code = "loopback-address"      // ::1, 127/8
	CodePrivate       Code = "private-address"       // RFC 1918
	CodeCGNAT         Code = "cgnat-address"         // 100.64/10 (RFC 6598)
	CodeDocumentation Code = "documentation-address" // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32
	CodeReserved      Code = "reserved-address"      // unspecified, multicast, 0/8, 240/4, IPv4-mapped in AAAA
)

// AuditFinding is one result of an audit ([Planner.Audit], [Check],
// [Planner.CheckBounce]).
type AuditFinding struct {
	Code       Code       `json:"code"`              // what kind of finding
	Severity   Severity   `json:"severity"`          // how bad
	Host       string     `json:"host,omitempty"`    // the MX host concerned, if any
	Preference int        `json:"preference"`        // -1 when not about one MX record
	Addr       netip.Addr `json:"addr,omitzero"`     // the address concerned, if any
	Clients    Family     `json:"clients,omitempty"` // the sender families concerned (0: all)
	Message    string     `json:"message"`           // for people, with the RFC it relies on
}

// String returns "severity code: message".
func (f AuditFinding) String() string {
	return f.Severity.String() + " " + string(f.Code) + ": " + f.Message
}

// Report is the result of an audit of one domain.
type Report struct {
	Domain   string `json:"domain"`                // canonical form
	Implicit bool   `json:"implicit_mx,omitempty"` // no MX records: the domain is its own MX
	NullMX   bool   `json:"null_mx,omitempty"`     // the domain publishes a null MX (RFC 7505)
	// Hosts are the MX hosts in preference order (equal preferences in
	// record order, not shuffled).
	Hosts    []AuditHost    `json:"hosts"`
	Reach    []Reach        `json:"reach"`             // for IPv4-only, IPv6-only and dual-stack senders
	Findings []AuditFinding `json:"findings"`          // the problems and facts found, never nil
	STS      *STSPolicy     `json:"mta_sts,omitempty"` // the policy checked by [Report.CheckSTS], if any
}

// AuditHost is an MX host as the audit saw it.
type AuditHost struct {
	Name       string       `json:"name"`            // canonical host name
	Preference uint16       `json:"preference"`      // MX preference
	Addrs      []netip.Addr `json:"addrs"`           // its addresses, duplicates removed
	Families   Family       `json:"families"`        // the families of Addrs
	CNAME      string       `json:"cname,omitempty"` // the canonical name when the exchange is an alias
}

// Reach is what senders of one family reach.
type Reach struct {
	Sender Family   `json:"sender"` // the sender's families
	Hosts  []string `json:"hosts"`  // the reachable MX hosts, in preference order
	Best   int      `json:"best"`   // the best (lowest) reachable preference, -1 if none
}

// Has reports whether r has a finding with code c.
func (r *Report) Has(c Code) bool {
	return slices.ContainsFunc(r.Findings, func(f AuditFinding) bool { return f.Code == c })
}

// Check audits a domain from records already at hand (the pure form of
// [Planner.Audit]): mx are its MX records (empty: implicit MX) and addrs
// the addresses of each exchange, as for [Planner.Build]. The error is
// non-nil only for an invalid domain name.
func Check(domain string, mx []*net.MX, addrs map[string]HostAddrs) (*Report, error) {
	var p Planner
	return p.check(domain, mx, addrs, nil)
}

// Audit looks up domain (MX, then A and AAAA of each exchange, and
// aliases with a [CNAMEResolver]) and reports the findings an operator
// of mixed-stack mail needs; DNS failures become findings. An invalid
// domain or a failed MX lookup (not "not found") is an error without a
// report; when ctx ends first, the report comes with ctx's error and the
// unanswered lookups listed as timed out.
func (p *Planner) Audit(ctx context.Context, domain string) (*Report, error) {
	p, nat64Err, err := p.discoverNAT64(ctx)
	if err != nil {
		return nil, err
	}
	dd, err := p.gather(ctx, domain)
	if err != nil {
		return nil, err
	}
	r, err := p.check(dd.domain, dd.mx, dd.addrs, dd.cnames)
	if err == nil && p.STS != nil && !r.NullMX {
		pol, serr := p.STS.Policy(ctx, p.resolver(), r.Domain)
		if serr != nil {
			r.add(AuditFinding{Code: CodeSTSFailed, Severity: SeverityWarning, Preference: noPreference,
				Message: "MTA-STS policy of " + r.Domain + " could not be refreshed: " + serr.Error()})
		}
		if pol != nil {
			r.CheckSTS(pol)
		}
	}
	if err == nil {
		p.auditNAT64(ctx, r, nat64Err)
		err = ctx.Err()
	}
	return r, err
}

// CheckSTS adds to r the findings about the domain's MTA-STS policy pol
// (RFC 8461) against its MX hosts: hosts no mx pattern matches (section
// 4.1), patterns that match no host, and a policy that permits no MX
// host. A policy in mode none is recorded without findings.
func (r *Report) CheckSTS(pol *STSPolicy) {
	r.STS = pol
	if pol.Mode == STSModeNone || r.NullMX {
		return
	}
	sev, effect := SeverityWarning, "senders that enforce the policy skip it"
	if pol.Mode == STSModeTesting {
		effect = "senders deliver anyway (mode testing) and report the mismatch"
	}
	listed := 0
	for _, h := range r.Hosts {
		if pol.matchCanonical(h.Name) { // the report holds canonical names
			listed++
			continue
		}
		r.add(AuditFinding{Code: CodeSTSUnlisted, Severity: sev, Host: h.Name, Preference: int(h.Preference),
			Message: "MX host " + h.Name + " matches no mx pattern of the MTA-STS policy (" + pol.Mode.String() + "): " + effect + " (RFC 8461 sections 4.1 and 5)"})
	}
	for _, pat := range pol.MX {
		if !slices.ContainsFunc(r.Hosts, func(h AuditHost) bool { return matchPattern(pat, h.Name) }) {
			r.add(AuditFinding{Code: CodeSTSUnusedPattern, Severity: SeverityInfo, Preference: noPreference,
				Message: "MTA-STS mx pattern " + strconv.Quote(pat) + " matches no MX host of " + r.Domain})
		}
	}
	if listed == 0 && len(r.Hosts) > 0 {
		sev = SeverityError
		if pol.Mode == STSModeTesting {
			sev = SeverityWarning
		}
		r.add(AuditFinding{Code: CodeSTSNoMX, Severity: sev, Preference: noPreference,
			Message: "the MTA-STS policy of " + r.Domain + " (" + pol.Mode.String() + ") permits none of its MX hosts: under enforce, senders defer all mail to it (RFC 8461 section 5)"})
	}
}

type domainData struct {
	domain string
	mx     []*net.MX
	addrs  map[string]HostAddrs
	cnames map[string]string
}

func (p *Planner) gather(ctx context.Context, domain string) (domainData, error) {
	d, reason := normalize(domain)
	if reason != "" {
		return domainData{}, &NameError{Name: domain, Reason: reason}
	}
	mx, _, err := p.lookupMX(ctx, d)
	if err != nil {
		return domainData{}, err
	}
	var pl Plan
	pl.Domain = d
	entries, _ := p.entries(&pl, mx) // none for a null MX
	names := entryNames(entries)
	dd := domainData{domain: d, mx: mx, addrs: p.resolveHosts(ctx, names)}
	if cr, ok := p.resolver().(CNAMEResolver); ok && len(mx) > 0 {
		dd.cnames = p.lookupCNAMEs(ctx, cr, names)
	}
	return dd, nil
}

// lookupCNAMEs finds which names are aliases, Concurrency at a time; a
// failed lookup counts as "not an alias".
func (p *Planner) lookupCNAMEs(ctx context.Context, cr CNAMEResolver, names []string) map[string]string {
	out := make(map[string]string)
	var mu sync.Mutex
	p.eachName(names, func(n string) {
		c, err := guard(p, ctx, "cname", n, func(ctx context.Context) (string, error) {
			return cr.LookupCNAME(ctx, n+".")
		})
		if err != nil {
			return
		}
		if canon, reason := normalize(c); reason == "" {
			c = canon
		} else {
			c = printableName(strings.TrimSuffix(c, "."))
		}
		if c != "" && c != n {
			mu.Lock()
			out[n] = c
			mu.Unlock()
		}
	})
	return out
}

// noPreference is AuditFinding.Preference for a finding that is not
// about one MX record.
const noPreference = -1

// check is the audit of a domain from its records: the domain-level
// findings, then each host's, then what each sender family reaches.
func (p *Planner) check(domain string, mx []*net.MX, addrs map[string]HostAddrs, cnames map[string]string) (*Report, error) {
	d, reason := normalize(domain)
	if reason != "" {
		return nil, &NameError{Name: domain, Reason: reason}
	}
	r := &Report{Domain: d, Hosts: []AuditHost{}, Findings: []AuditFinding{}}
	plan := Plan{Domain: d}
	entries, err := p.entries(&plan, mx)
	if errors.Is(err, ErrNullMX) {
		r.nullMX(mx, len(plan.Skipped) == 0)
		r.Reach = reach(r.Hosts)
		return r, nil
	}
	r.Implicit = plan.Implicit
	p.recordFindings(r, &plan)
	for i := range entries {
		e := &entries[i]
		r.Hosts = append(r.Hosts, p.auditHost(r, e, lookupAddrs(addrs, e), cnames[e.name]))
	}
	if plan.Implicit && (len(r.Hosts) == 0 || r.Hosts[0].Families == 0) {
		r.add(AuditFinding{Code: CodeNoMailRoute, Severity: SeverityError, Preference: noPreference,
			Message: d + " has neither MX nor address records (or does not exist): mail to it cannot be delivered"})
	}
	r.Reach = reach(r.Hosts)
	r.checkReach()
	return r, nil
}

func (r *Report) add(f AuditFinding) { r.Findings = append(r.Findings, f) }

// families returns the families of all the MX hosts' addresses.
func (r *Report) families() Family {
	var f Family
	for _, h := range r.Hosts {
		f |= h.Families
	}
	return f
}

// nullMXMixed explains [CodeNullMXMixed].
const nullMXMixed = "a null MX (\".\") is listed together with other MX records; RFC 7505 section 3 forbids this and senders disagree on what it means"

// nullMX records the finding of a domain whose MX set entries found to
// be a null MX: a lone "." (RFC 7505), or, under [NullMXFail], a "."
// among other records (when the planner skipped nothing).
func (r *Report) nullMX(mx []*net.MX, strict bool) {
	r.NullMX = true
	if _, records, nulls := capRecords(&Plan{}, mx); strict && nulls < records {
		r.add(AuditFinding{Code: CodeNullMXMixed, Severity: SeverityError, Preference: noPreference,
			Message: nullMXMixed})
		return
	}
	r.add(AuditFinding{Code: CodeNullMX, Severity: SeverityInfo, Preference: noPreference,
		Message: r.Domain + " publishes a null MX (RFC 7505): it accepts no mail"})
}

// recordFindings turns what the planner left out of the MX set (null
// MX mixed in, invalid exchanges, records over the limit) and an
// implicit MX into findings.
func (p *Planner) recordFindings(r *Report, plan *Plan) {
	for _, s := range plan.Skipped {
		switch s.Reason {
		case SkipNullMX:
			r.add(AuditFinding{Code: CodeNullMXMixed, Severity: SeverityError, Preference: int(s.Preference),
				Message: nullMXMixed + " (this planner ignores the \".\")"})
		case SkipInvalidName:
			r.add(AuditFinding{Code: CodeInvalidExchange, Severity: SeverityError, Host: s.Host, Preference: int(s.Preference),
				Message: "MX exchange " + strconv.Quote(s.Host) + " is invalid (" + s.Detail + "): an MX must name a host (RFC 5321 section 5.1)"})
		}
	}
	if plan.Truncated.MX > 0 {
		r.add(AuditFinding{Code: CodeTooManyMX, Severity: SeverityWarning, Preference: noPreference,
			Message: strconv.Itoa(plan.Truncated.MX) + " MX records beyond the first " + strconv.Itoa(p.maxMX()) + " were not examined"})
	}
	if plan.Implicit {
		r.add(AuditFinding{Code: CodeImplicitMX, Severity: SeverityInfo, Host: r.Domain, Preference: 0,
			Message: r.Domain + " has no MX records: senders use its own address records as an implicit MX of preference 0 (RFC 5321 section 5.1)"})
	}
}

// auditHost returns the MX host of e as the audit sees it (its
// addresses ha, its canonical name cname when it is an alias) and adds
// the host's findings to r.
func (p *Planner) auditHost(r *Report, e *entry, ha HostAddrs, cname string) AuditHost {
	h := AuditHost{Name: e.name, Preference: e.pref, Addrs: []netip.Addr{}, CNAME: cname}
	pref := int(e.pref)
	for _, l := range [...]struct {
		qtype string
		err   error
	}{{"A", ha.Err4}, {"AAAA", ha.Err6}} {
		if nf, _, _ := classify(l.err); l.err != nil && !nf {
			r.add(AuditFinding{Code: CodeLookupFailed, Severity: SeverityWarning, Host: e.name, Preference: pref,
				Message: l.qtype + " lookup for " + e.name + " failed: " + l.err.Error()})
		}
	}
	for _, a := range ha.Addrs[:min(len(ha.Addrs), p.maxHostAddrs())] {
		p.auditAddr(r, &h, e, a)
	}
	if h.CNAME != "" {
		r.add(AuditFinding{Code: CodeCNAME, Severity: SeverityWarning, Host: e.name, Preference: pref,
			Message: "MX exchange " + e.name + " is an alias for " + h.CNAME + "; an MX must name the canonical host (RFC 2181 section 10.3, RFC 5321 section 5.1)"})
	}
	r.checkFamilies(&h, r.Implicit)
	return h
}

// auditAddr adds the address a of the host of e to h, once, with the
// findings about it.
func (p *Planner) auditAddr(r *Report, h *AuditHost, e *entry, a netip.Addr) {
	if a.Is4In6() {
		r.add(AuditFinding{Code: CodeReserved, Severity: SeverityError, Host: e.name, Preference: int(e.pref), Addr: a,
			Message: e.name + " has an IPv4-mapped address " + a.String() + " in an AAAA record"})
	}
	a = p.auditDNS64(r, e, a.Unmap())
	if !a.IsValid() || slices.Contains(h.Addrs, a) {
		return
	}
	if a.Zone() != "" { // left out, as the planner does (RFC 4007 section 11)
		r.add(AuditFinding{Code: CodeReserved, Severity: SeverityError, Host: e.name, Preference: int(e.pref), Addr: a.WithZone(""),
			Message: e.name + " has the address " + a.WithZone("").String() + " with zone " + quotedZone(a) + ", which no DNS answer can carry: it is ignored"})
		return
	}
	h.Addrs = append(h.Addrs, a)
	h.Families |= FamilyOf(a)
	if c, s, why := classifyAddr(a); c != "" {
		r.add(AuditFinding{Code: c, Severity: s, Host: e.name, Preference: int(e.pref), Addr: a,
			Message: e.name + " (preference " + strconv.Itoa(int(e.pref)) + ") has address " + a.String() + ", " + why})
	}
}

// checkFamilies adds the finding of a host without addresses or with
// one family only (RFC 3974 section 4.1). An implicit MX without
// addresses is reported once, as CodeNoMailRoute, by the caller.
func (r *Report) checkFamilies(h *AuditHost, implicit bool) {
	pref := strconv.Itoa(int(h.Preference))
	switch {
	case h.Families == 0 && implicit:
	case h.Families == 0:
		r.add(AuditFinding{Code: CodeNoAddress, Severity: SeverityError, Host: h.Name, Preference: int(h.Preference),
			Message: "MX host " + h.Name + " (preference " + pref + ") has no A or AAAA records"})
	case h.Families != DualStack:
		other := DualStack &^ h.Families
		r.add(AuditFinding{Code: CodeSingleStack, Severity: SeverityWarning, Host: h.Name, Preference: int(h.Preference), Clients: other,
			Message: "MX host " + h.Name + " (preference " + pref + ") is " + h.Families.Words() + ": " + other.Words() + " senders cannot reach it (RFC 3974 section 4.1: MX hosts should have both A and AAAA)"})
	}
}

// checkReach adds the findings that compare what each sender family
// reaches, and the backup-to-primary check of RFC 3974 section 4.2.
func (r *Report) checkReach() {
	if !slices.ContainsFunc(r.Hosts, func(h AuditHost) bool { return h.Families != 0 }) {
		return
	}
	r4, r6 := r.Reach[0], r.Reach[1]
	for _, rc := range []Reach{r4, r6} {
		if rc.Best < 0 {
			other := DualStack &^ rc.Sender
			r.add(AuditFinding{Code: CodeNoReachableMX, Severity: SeverityError, Preference: noPreference, Clients: rc.Sender,
				Message: rc.Sender.Words() + " senders cannot reach any MX host of " + r.Domain + ": all its MX hosts are " + other.Words() + " (RFC 3974 section 3)"})
		}
	}
	if r4.Best >= 0 && r6.Best >= 0 && !slices.Equal(r4.Hosts, r6.Hosts) {
		r.add(AuditFinding{Code: CodeFamilySplit, Severity: SeverityWarning, Preference: noPreference,
			Message: "IPv4-only senders reach " + describeReach(r4, r.Hosts) + "; IPv6-only senders reach " + describeReach(r6, r.Hosts) + "; dual-stack senders reach all"})
	}
	r.checkBackups()
}

// checkBackups applies RFC 3974 section 4.2 to a report with hosts:
// every backup MX must be able to hand mail to a better MX in some
// shared family.
func (r *Report) checkBackups() {
	best := r.Hosts[0].Preference
	for _, h := range r.Hosts {
		if h.Preference == best || h.Families == 0 {
			continue
		}
		var better Family
		var names []string
		for _, b := range r.Hosts {
			if b.Preference < h.Preference {
				better |= b.Families
				names = append(names, b.Name+" ("+b.Families.Words()+")")
			}
		}
		if better&h.Families == 0 {
			r.add(AuditFinding{Code: CodeBackupIsolated, Severity: SeverityWarning, Host: h.Name, Preference: int(h.Preference),
				Message: "backup MX " + h.Name + " (" + h.Families.Words() + ", preference " + strconv.Itoa(int(h.Preference)) + ") shares no IP version with any better MX (" + strings.Join(names, ", ") + "): mail it accepts cannot be relayed onward (RFC 3974 section 4.2)"})
		}
	}
}

// describeReach lists the hosts rc reaches, with their preferences.
func describeReach(rc Reach, hosts []AuditHost) string {
	var parts []string
	for _, h := range hosts {
		if slices.Contains(rc.Hosts, h.Name) {
			parts = append(parts, h.Name+" ("+strconv.Itoa(int(h.Preference))+")")
		}
	}
	return strings.Join(parts, ", ")
}

// reach returns what IPv4-only, IPv6-only and dual-stack senders reach.
func reach(hosts []AuditHost) []Reach {
	out := make([]Reach, 0, 3)
	for _, f := range [...]Family{IPv4, IPv6, DualStack} {
		rc := Reach{Sender: f, Hosts: []string{}, Best: -1}
		for _, h := range hosts {
			if h.Families&f != 0 {
				rc.Hosts = append(rc.Hosts, h.Name)
				if rc.Best < 0 || int(h.Preference) < rc.Best {
					rc.Best = int(h.Preference)
				}
			}
		}
		out = append(out, rc)
	}
	return out
}

type addrClass struct {
	prefix netip.Prefix
	code   Code
	sev    Severity
	why    string
}

// addrClasses lists the special ranges an MX address should not be in,
// most specific first.
var addrClasses = []addrClass{
	{netip.MustParsePrefix("2001:db8::/32"), CodeDocumentation, SeverityWarning, "a documentation address (RFC 3849)"},
	{netip.MustParsePrefix("2001::/32"), CodeTransition, SeverityWarning, "a Teredo address (RFC 4380): a transition mechanism, not native IPv6"},
	{netip.MustParsePrefix("2002::/16"), CodeTransition, SeverityWarning, "a 6to4 address (RFC 3056): a transition mechanism, not native IPv6"},
	{netip.MustParsePrefix("fc00::/7"), CodeULA, SeverityError, "a unique local address (RFC 4193): not reachable from the Internet"},
	{netip.MustParsePrefix("fe80::/10"), CodeLinkLocal, SeverityError, "a link-local address: meaningless outside one link"},
	{netip.MustParsePrefix("169.254.0.0/16"), CodeLinkLocal, SeverityError, "a link-local address (RFC 3927): meaningless outside one link"},
	{netip.MustParsePrefix("::1/128"), CodeLoopback, SeverityError, "the loopback address: every sender would connect to itself"},
	{netip.MustParsePrefix("127.0.0.0/8"), CodeLoopback, SeverityError, "a loopback address: every sender would connect to itself"},
	{netip.MustParsePrefix("10.0.0.0/8"), CodePrivate, SeverityError, "a private address (RFC 1918): not reachable from the Internet"},
	{netip.MustParsePrefix("172.16.0.0/12"), CodePrivate, SeverityError, "a private address (RFC 1918): not reachable from the Internet"},
	{netip.MustParsePrefix("192.168.0.0/16"), CodePrivate, SeverityError, "a private address (RFC 1918): not reachable from the Internet"},
	{netip.MustParsePrefix("100.64.0.0/10"), CodeCGNAT, SeverityError, "a shared CGNAT address (RFC 6598): not reachable from the Internet"},
	{netip.MustParsePrefix("192.0.2.0/24"), CodeDocumentation, SeverityWarning, "a documentation address (RFC 5737)"},
	{netip.MustParsePrefix("198.51.100.0/24"), CodeDocumentation, SeverityWarning, "a documentation address (RFC 5737)"},
	{netip.MustParsePrefix("203.0.113.0/24"), CodeDocumentation, SeverityWarning, "a documentation address (RFC 5737)"},
	{netip.MustParsePrefix("0.0.0.0/8"), CodeReserved, SeverityError, "in 0.0.0.0/8 (\"this network\"): not a destination"},
	{netip.MustParsePrefix("240.0.0.0/4"), CodeReserved, SeverityError, "in the reserved 240.0.0.0/4 (or broadcast)"},
	{netip.MustParsePrefix("224.0.0.0/4"), CodeReserved, SeverityError, "a multicast address"},
	{netip.MustParsePrefix("ff00::/8"), CodeReserved, SeverityError, "a multicast address"},
	{netip.MustParsePrefix("::/128"), CodeReserved, SeverityError, "the unspecified address"},
}

// classifyAddr returns the finding for an MX address in a special range,
// or "" for an ordinary global address.
func classifyAddr(a netip.Addr) (Code, Severity, string) {
	for _, c := range addrClasses {
		if c.prefix.Contains(a) {
			return c.code, c.sev, c.why
		}
	}
	return "", 0, ""
}

// BounceReport is the result of [Planner.CheckBounce].
type BounceReport struct {
	Relay     Family `json:"relay"`            // the relay's families
	Recipient string `json:"recipient_domain"` // the recipient domain, canonical
	Sender    string `json:"sender_domain"`    // the sender domain, canonical
	// RecipientFamilies and SenderFamilies are the families of the two
	// domains' MX addresses.
	RecipientFamilies Family `json:"recipient_families"`
	SenderFamilies    Family `json:"sender_families"`
	// RecipientNullMX and SenderNullMX report that the domain publishes
	// a null MX (RFC 7505); its families are then 0 because it has no
	// mail host, not because it lacks connectivity.
	RecipientNullMX bool           `json:"recipient_null_mx,omitempty"`
	SenderNullMX    bool           `json:"sender_null_mx,omitempty"`
	Findings        []AuditFinding `json:"findings"` // the problems found, never nil
}

func (b *BounceReport) add(f AuditFinding) { b.Findings = append(b.Findings, f) }

// OK reports whether no finding is an error.
func (b *BounceReport) OK() bool {
	return !slices.ContainsFunc(b.Findings, func(f AuditFinding) bool { return f.Severity == SeverityError })
}

// CheckBounce asks whether a delivery status notification can get back
// to the sender when a relay with the families relay accepts mail from
// senderDomain for recipientDomain: whether the relay reaches the
// recipient domain's MX, a bounce the relay generates reaches the sender
// domain's MX, and each recipient MX host (which may hold the message
// when it fails) shares a family with the sender domain's MX; a host's
// families are those of its addresses. The Planner describes the relay's
// network: with NAT64 prefixes an IPv6 relay, and a recipient MX host
// that is the local host, reach IPv4-only MX hosts through the
// translator, reported as [CodeNAT64Sender].
func (p *Planner) CheckBounce(ctx context.Context, relay Family, recipientDomain, senderDomain string) (*BounceReport, error) {
	p, nat64Err, err := p.discoverNAT64(ctx)
	if err != nil {
		return nil, err
	}
	var reports [2]*Report // the recipient's and the sender's domain
	for i, d := range [2]string{recipientDomain, senderDomain} {
		dd, err := p.gather(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("mxorder: %s domain of the bounce check: %w", [2]string{"recipient", "sender"}[i], err)
		}
		if reports[i], err = p.check(dd.domain, dd.mx, dd.addrs, nil); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mxorder: bounce check: %w", err)
	}
	rr, sr := reports[0], reports[1]
	b := &BounceReport{Relay: relay, Recipient: rr.Domain, Sender: sr.Domain, Findings: []AuditFinding{},
		RecipientNullMX: rr.NullMX, SenderNullMX: sr.NullMX, RecipientFamilies: rr.families(), SenderFamilies: sr.families()}
	switch {
	case sr.NullMX:
		b.add(AuditFinding{Code: CodeNullMX, Severity: SeverityWarning, Preference: noPreference,
			Message: "sender domain " + sr.Domain + " publishes a null MX: bounces to it are discarded (RFC 7505 section 4.2 says such domains should not send mail)"})
		return b, nil
	case b.SenderFamilies == 0:
		b.add(AuditFinding{Code: CodeBounceLost, Severity: SeverityError, Preference: noPreference,
			Message: "sender domain " + sr.Domain + " has no reachable mail host at all: every bounce is lost"})
		return b, nil
	}
	if rr.NullMX {
		// RFC 7505 section 4.1: the relay returns the message at once;
		// that bounce is the only one, checked above and below.
		b.add(AuditFinding{Code: CodeNullMX, Severity: SeverityInfo, Preference: noPreference,
			Message: "recipient domain " + rr.Domain + " publishes a null MX: the relay must return the message at once (RFC 7505 section 4.1)"})
	} else if b.RecipientFamilies&p.relayReach(relay) == 0 {
		b.add(AuditFinding{Code: CodeRelayUnreachable, Severity: SeverityError, Preference: noPreference, Clients: relay,
			Message: "the " + relay.Words() + " relay cannot reach any MX of " + rr.Domain + " (" + b.RecipientFamilies.Words() + "): it must return the message"})
	}
	if b.SenderFamilies&p.relayReach(relay) == 0 {
		b.add(AuditFinding{Code: CodeBounceLost, Severity: SeverityError, Preference: noPreference, Clients: relay,
			Message: "a bounce generated by the " + relay.Words() + " relay (for example when the recipient is rejected) cannot reach " + sr.Domain + ", whose MX hosts are " + b.SenderFamilies.Words() + ": the message is lost and the sender never learns"})
	}
	// The valid local names: an invalid one, which Plan reports, matches
	// no host here.
	local, _ := p.localNames(nil)
	for _, h := range rr.Hosts {
		if h.Families == 0 || p.hostReach(local, h)&b.SenderFamilies != 0 {
			continue
		}
		b.add(AuditFinding{Code: CodeBounceLost, Severity: SeverityError, Host: h.Name, Preference: int(h.Preference), Clients: h.Families,
			Message: "if " + h.Name + " (" + h.Families.Words() + ", preference " + strconv.Itoa(int(h.Preference)) + ") holds the message when delivery fails, its bounce cannot reach " + sr.Domain + ", whose MX hosts are " + b.SenderFamilies.Words()})
	}
	p.bounceNAT64(b, relay, nat64Err)
	return b, nil
}

// String describes the report for people, one line per finding. The
// format may change; use the fields (or JSON) to process a report.
func (r *Report) String() string {
	var b strings.Builder
	b.WriteString(r.Domain)
	for _, h := range r.Hosts {
		b.WriteString("\n  mx " + strconv.Itoa(int(h.Preference)) + " " + h.Name + " " + h.Families.String())
	}
	for _, f := range r.Findings {
		b.WriteString("\n  " + f.String())
	}
	return b.String()
}
