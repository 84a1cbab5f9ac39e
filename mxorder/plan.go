package mxorder

import (
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/dualstack/dualstack/addrselect"
)

// Plan is the delivery plan for one domain: the MX hosts in the order to
// try them, the usable addresses of each in [addrselect] order with the
// source that would be used, and everything that was left out and why.
// A Plan is a plain value owned by the caller; it marshals to JSON.
type Plan struct {
	Domain string `json:"domain"` // canonical: A-labels, lower case, no trailing dot
	// Implicit reports that the domain has no MX records and its own
	// address records are an MX of preference 0 (RFC 5321 section 5.1).
	Implicit bool `json:"implicit_mx,omitempty"`
	// NullMX reports that the domain publishes a null MX (RFC 7505): the
	// plan has no hosts and came with [ErrNullMX].
	NullMX bool `json:"null_mx,omitempty"`
	// Hosts are the usable MX hosts in delivery order: ascending
	// preference, equal preferences shuffled.
	Hosts []MXHost `json:"hosts"`
	// Skipped lists every MX record, host or address left out of Hosts
	// or the attempts, with the reason.
	Skipped []Skip `json:"skipped,omitempty"`
	// LookupErrors lists the DNS lookups that failed ("not found" is an
	// answer, not a failure).
	LookupErrors   []LookupError `json:"lookup_errors,omitempty"`
	Truncated      Truncation    `json:"truncated,omitzero"` // what the limits cut off (also in Skipped)
	SenderFamilies Family        `json:"sender_families"`    // the IP versions the local host can use
	// DomainFamilies are the IP versions of all addresses found for the
	// considered MX hosts, usable or not.
	DomainFamilies Family `json:"domain_families"`
	// Self is the MX host recognised as the local host (RFC 5321 section
	// 5.1), and SelfPreference its preference; empty when none is.
	Self           string `json:"self,omitempty"`
	SelfPreference uint16 `json:"self_preference,omitempty"`
	// MaxSessions is the planner's session limit (0: none): the delivery
	// loop stops after that many SMTP sessions, as [Plan.Deliver] does.
	MaxSessions int            `json:"max_sessions,omitempty"`
	NAT64       []netip.Prefix `json:"nat64_prefixes,omitempty"` // the planner's, configured or discovered
	Attempt     int            `json:"attempt,omitempty"`        // [History].Attempt of the delivery state
	STS         *STSApplied    `json:"mta_sts,omitempty"`        // the MTA-STS policy applied (RFC 8461), if any

	attempts []Attempt
}

// MXHost is one MX host (a remote mail exchanger) of a [Plan].
type MXHost struct {
	Name       string      `json:"name"`       // canonical host name (the MX exchange)
	Preference uint16      `json:"preference"` // MX preference; lower is tried first
	Addrs      []Candidate `json:"addrs"`      // the usable addresses, in delivery order
	Families   Family      `json:"families"`   // the IP versions of all its addresses, usable or not
}

// MarshalJSON writes h with Addrs as a list ([] when empty), never null.
func (h MXHost) MarshalJSON() ([]byte, error) {
	type plain MXHost
	h.Addrs = nonNil(h.Addrs)
	return json.Marshal(plain(h))
}

// Candidate is a usable address of a host and the local source for it
// (zero without Sources). In JSON the source is "source" (its address),
// "source_prefix_len", "source_interface" and so on.
type Candidate struct {
	Addr   netip.Addr        `json:"addr"` // the host's address (IPv4-mapped addresses unmapped)
	Source addrselect.Source // the local source address for Addr, and its properties
	NAT64  *Translation      // for an address synthesized for NAT64, the IPv4 address it stands for; nil otherwise
}

// Attempt is one entry of [Plan.Attempts]: connect to Addr (port 25)
// from Source (zero without Sources; the full source is in the host's
// [Candidate]) for the MX host Host. Reason and Detail say why it is
// where it is; TLS, TLSAuth and TLSDetail what TLS it requires (RFC 7672
// section 2.2, RFC 8461 section 5) and why.
type Attempt struct {
	Host       string         `json:"host"`                 // MX host name
	Preference uint16         `json:"preference"`           // its MX preference
	Addr       netip.Addr     `json:"addr"`                 // address to connect to
	Source     netip.Addr     `json:"source,omitzero"`      // local address to connect from
	NAT64      *Translation   `json:"nat64,omitempty"`      // the translation of a synthesized address (shared with its Candidate); nil if native
	Reason     AttemptReason  `json:"reason"`               // why it is here
	Detail     string         `json:"detail,omitempty"`     // the specifics of Reason, for people
	TLS        TLSRequirement `json:"tls"`                  // the TLS the connection requires
	TLSAuth    TLSAuth        `json:"tls_auth,omitempty"`   // how the server is authenticated, for TLSAuthenticated
	TLSDetail  string         `json:"tls_detail,omitempty"` // why, for people
}

// Attempts returns the addresses to try, in order, after the limits (an
// address listed under two hosts once). The slice belongs to the plan.
func (p *Plan) Attempts() []Attempt { return p.attempts }

// MarshalJSON adds the attempts to the exported fields. Hosts and
// attempts are written as lists ([] when empty), never null.
func (p *Plan) MarshalJSON() ([]byte, error) {
	type plain Plan
	return json.Marshal(struct {
		*plain
		Hosts    []MXHost  `json:"hosts"`
		Attempts []Attempt `json:"attempts"`
	}{(*plain)(p), nonNil(p.Hosts), nonNil(p.attempts)})
}

// nonNil returns s, or an empty slice for nil, so that JSON has [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Plan) UnmarshalJSON(b []byte) error {
	type plain Plan
	var v struct {
		*plain
		Attempts []Attempt `json:"attempts"`
	}
	v.plain = (*plain)(p)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	p.attempts = v.Attempts
	return nil
}

// Truncation counts what the limits cut off.
type Truncation struct {
	MX        int `json:"mx,omitempty"`         // MX records beyond MaxMX
	HostAddrs int `json:"host_addrs,omitempty"` // addresses beyond MaxHostAddrs, summed over hosts
	Attempts  int `json:"attempts,omitempty"`   // usable addresses beyond MaxAddresses
}

// Skip is something left out of the plan: an MX record or host (Addr is
// zero) or one address of a host.
type Skip struct {
	Host       string     `json:"host"`             // MX host (or exchange as written, or "." for a null MX)
	Preference uint16     `json:"preference"`       // its MX preference
	Addr       netip.Addr `json:"addr,omitzero"`    // the address, or zero for the whole record or host
	Reason     SkipReason `json:"reason"`           // why it was left out
	Detail     string     `json:"detail,omitempty"` // the specifics, for people
}

// SkipReason says why a [Skip] was left out.
type SkipReason uint8

// The reasons.
const (
	// SkipFamily: no address (or not this one) in a family the sender
	// can use (RFC 3974 section 3). Costs no attempt.
	SkipFamily       SkipReason = iota + 1
	SkipNoRoute                 // Sources found no source address (no route)
	SkipNoAddress               // the host has neither A nor AAAA records
	SkipLookupFailed            // the address lookups of the host failed
	SkipSelf                    // the host is the local host (by name or address)
	// SkipNotBetter: the MX is at or above the local host's preference
	// (RFC 5321 section 5.1: only better MX hosts may be relayed to).
	SkipNotBetter
	SkipAddressLimit  // beyond MaxAddresses
	SkipMXLimit       // MX record beyond MaxMX
	SkipHostAddrLimit // address beyond MaxHostAddrs for its host
	SkipInvalidName   // the exchange is an IP literal or not a valid host name
	// SkipNullMX: a "." exchange listed with other MX records (RFC 7505
	// section 3 forbids it), under [NullMXIgnore].
	SkipNullMX
	// SkipDuplicate: an MX host listed twice (the best preference is
	// kept), an address already listed for a better host, or a DNS64
	// answer tried as the IPv4 address it stands for.
	SkipDuplicate
	// SkipZonedAddr: an address with a zone (fe80::1%eth0), which is
	// local to one node (RFC 4007 section 11) and no DNS answer carries:
	// never tried.
	SkipZonedAddr
	// SkipAttemptFamily: a family [Planner.AttemptFamilies] does not
	// allow on this attempt number.
	SkipAttemptFamily
	// SkipSTSUnlisted: the MTA-STS policy is in enforce mode and no mx
	// pattern matches the host (RFC 8461 sections 4.1 and 5).
	SkipSTSUnlisted
	// SkipTLSAFailed: the MX RRset is DNSSEC-secure and the host's TLSA
	// lookup failed: it counts as unreachable (RFC 7672 section 2.2.1).
	SkipTLSAFailed
)

var skipNames = [...]string{
	SkipFamily:        "family",
	SkipNoRoute:       "no-route",
	SkipNoAddress:     "no-address",
	SkipLookupFailed:  "lookup-failed",
	SkipSelf:          "self",
	SkipNotBetter:     "not-better-than-self",
	SkipAddressLimit:  "address-limit",
	SkipMXLimit:       "mx-limit",
	SkipHostAddrLimit: "host-address-limit",
	SkipInvalidName:   "invalid-name",
	SkipNullMX:        "null-mx",
	SkipDuplicate:     "duplicate",
	SkipZonedAddr:     "zoned-address",
	SkipAttemptFamily: "attempt-family",
	SkipSTSUnlisted:   "mta-sts-unlisted",
	SkipTLSAFailed:    "tlsa-lookup-failed",
}

// String returns the reason's short name, such as "family", and
// "skip(N)" for a value that is not a reason.
func (r SkipReason) String() string { return enumString(skipNames[:], uint8(r), "skip") }

// MarshalText implements [encoding.TextMarshaler] with String.
func (r SkipReason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText is the inverse of MarshalText.
func (r *SkipReason) UnmarshalText(b []byte) error { return unmarshalEnum(r, skipNames[:], b, "skip") }

// enumString names v from names, or writes kind(v) for a value without
// a name, so that every value has a text form.
func enumString(names []string, v uint8, kind string) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return kind + "(" + strconv.Itoa(int(v)) + ")"
}

// unmarshalEnum sets *dst to the value b names, the inverse of
// enumString, leaving it unchanged on error.
func unmarshalEnum[T ~uint8](dst *T, names []string, b []byte, kind string) error {
	s := string(b)
	if i := slices.Index(names, s); i >= 0 && s != "" {
		*dst = T(i)
		return nil
	}
	if num, ok := strings.CutPrefix(s, kind+"("); ok {
		if num, ok := strings.CutSuffix(num, ")"); ok {
			if v, err := strconv.ParseUint(num, 10, 8); err == nil {
				*dst = T(v)
				return nil
			}
		}
	}
	return errors.New("mxorder: " + strconv.Quote(s) + " is not a " + kind + " name")
}

// LookupError records a failed DNS lookup.
type LookupError struct {
	Host      string `json:"host"`                // the name looked up (canonical, no trailing dot)
	Network   string `json:"network"`             // "mx", "ip4" (A), "ip6" (AAAA) or "mta-sts"
	Temporary bool   `json:"temporary,omitempty"` // worth retrying (SERVFAIL, timeout)
	Timeout   bool   `json:"timeout,omitempty"`   // the lookup timed out
	Message   string `json:"message"`             // Err's text, kept for JSON
	Err       error  `json:"-"`                   // the resolver's error
}

// candidateJSON is the JSON form of a [Candidate], zero fields left out.
type candidateJSON struct {
	Addr         netip.Addr   `json:"addr"`
	Source       netip.Addr   `json:"source,omitzero"`
	PrefixLen    int          `json:"source_prefix_len,omitempty"`
	Deprecated   bool         `json:"source_deprecated,omitempty"`
	Temporary    bool         `json:"source_temporary,omitempty"`
	Home         bool         `json:"source_home,omitempty"`
	CareOf       bool         `json:"source_care_of,omitempty"`
	Encapsulated bool         `json:"source_encapsulated,omitempty"`
	Interface    string       `json:"source_interface,omitempty"`
	NextHop      netip.Addr   `json:"source_next_hop,omitzero"`
	NAT64        *Translation `json:"nat64,omitempty"`
}

// MarshalJSON writes the address and the source with its properties.
func (c Candidate) MarshalJSON() ([]byte, error) {
	s := c.Source
	return json.Marshal(candidateJSON{
		Addr: c.Addr, Source: s.Addr, PrefixLen: s.PrefixLen,
		Deprecated: s.Deprecated, Temporary: s.Temporary, Home: s.Home, CareOf: s.CareOf,
		Encapsulated: s.Encapsulated, Interface: s.Interface, NextHop: s.NextHop,
		NAT64: c.NAT64,
	})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Candidate) UnmarshalJSON(b []byte) error {
	var v candidateJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = Candidate{Addr: v.Addr, Source: addrselect.Source{
		Addr: v.Source, PrefixLen: v.PrefixLen,
		Deprecated: v.Deprecated, Temporary: v.Temporary, Home: v.Home, CareOf: v.CareOf,
		Encapsulated: v.Encapsulated, Interface: v.Interface, NextHop: v.NextHop,
	}, NAT64: v.NAT64}
	return nil
}

// String describes the plan for people, one line per attempt, skip and
// failed lookup:
//
//	example.org: sender ipv4, domain dual
//	  try 10 mx10.example.org 192.0.2.10 from 198.51.100.7 tls authenticated/dane
//	  skip 20 mx20.example.org: family (host is IPv6-only, sender is IPv4-only)
//
// The format may change; use the fields (or JSON) to process a plan.
func (p *Plan) String() string {
	var b strings.Builder
	b.WriteString(p.Domain + ": sender " + p.SenderFamilies.String() + ", domain " + p.DomainFamilies.String())
	if p.Implicit {
		b.WriteString(", implicit MX")
	}
	if p.Self != "" {
		b.WriteString(", local host is " + p.Self + " (" + strconv.Itoa(int(p.SelfPreference)) + ")")
	}
	for _, a := range p.attempts {
		b.WriteString("\n  try " + strconv.Itoa(int(a.Preference)) + " " + a.Host + " " + a.Addr.String())
		if a.Source.IsValid() {
			b.WriteString(" from " + a.Source.String())
		}
		if a.NAT64 != nil {
			b.WriteString(" (" + a.NAT64.String() + ")")
		}
		if a.Reason > ReasonMXOrder {
			b.WriteString(" [" + a.Reason.String() + ": " + a.Detail + "]")
		}
		if a.TLS > TLSOpportunistic {
			b.WriteString(" tls " + a.TLS.String())
			if a.TLSAuth != 0 {
				b.WriteString("/" + a.TLSAuth.String())
			}
		}
	}
	for _, s := range p.Skipped {
		b.WriteString("\n  skip " + strconv.Itoa(int(s.Preference)) + " " + s.Host)
		if s.Addr.IsValid() {
			b.WriteString(" " + s.Addr.String())
		}
		b.WriteString(": " + s.Reason.String())
		if s.Detail != "" {
			b.WriteString(" (" + s.Detail + ")")
		}
	}
	for _, l := range p.LookupErrors {
		b.WriteString("\n  lookup " + l.Network + " " + l.Host + " failed: " + l.Message)
	}
	return b.String()
}
