package mxorder

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// DeliveryState is what a mail transfer agent knows about a domain
// besides its DNS records, for [Planner.PlanWith] and
// [Planner.BuildWith]. The zero value (or nil) is a first attempt
// without policy.
type DeliveryState struct {
	History History `json:"history"` // what happened on earlier attempts
	// STS is the domain's MTA-STS policy (RFC 8461), nil for none (then
	// [Planner.PlanWith] takes it from [Planner.STS], if set).
	STS *STSPolicy `json:"mta_sts,omitempty"`
	// DANE is the DNSSEC and TLSA status of the MX hosts (RFC 7672), nil
	// when DANE is not used.
	DANE *DANEStatus `json:"dane,omitempty"`
}

// TLSAStatus is the outcome of the TLSA lookup of one MX host
// (_25._tcp.HOST, RFC 7672 section 2.2.3), as a validating resolver
// reports it.
type TLSAStatus uint8

// The TLSA statuses. A validating resolver (or one whose AD bit the
// caller trusts) must report an answer that fails validation ("bogus")
// or cannot be validated ("indeterminate"), SERVFAIL and timeouts as
// TLSAFailed, never TLSAInsecure (RFC 7672 section 2.1.1).
const (
	TLSAUnknown TLSAStatus = iota // no status given: DANE does not apply
	// TLSAUsable: a secure TLSA RRset with at least one usable record
	// (RFC 6698 section 4.1): authenticated TLS is required.
	TLSAUsable
	// TLSAUnusable: a secure, non-empty TLSA RRset of unusable records:
	// TLS is required, authentication is not.
	TLSAUnusable
	// TLSAInsecure: an insecure TLSA RRset, or a DNSSEC-authenticated
	// denial of existence: pre-DANE opportunistic TLS.
	TLSAInsecure
	TLSAFailed // the lookup failed (SERVFAIL, timeout, bogus, indeterminate)
)

var tlsaNames = [...]string{
	TLSAUnknown:  "unknown",
	TLSAUsable:   "usable",
	TLSAUnusable: "unusable",
	TLSAInsecure: "insecure",
	TLSAFailed:   "failed",
}

// String returns the status's short name, such as "usable".
func (s TLSAStatus) String() string { return enumString(tlsaNames[:], uint8(s), "tlsa") }

// MarshalText implements [encoding.TextMarshaler] with String.
func (s TLSAStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText is the inverse of MarshalText.
func (s *TLSAStatus) UnmarshalText(b []byte) error { return unmarshalEnum(s, tlsaNames[:], b, "tlsa") }

// DANEStatus is the caller's DNSSEC view of a domain (RFC 7672), from
// its validating resolver: this package does not look TLSA records up.
type DANEStatus struct {
	// MXSecure reports that the MX RRset (and any CNAME leading to it)
	// validated as "secure" (RFC 7672 section 2.2.1).
	MXSecure bool `json:"mx_secure"`
	// TLSA maps a canonical MX host name ([NormalizeName]) to the status
	// of its TLSA lookup; a host not in the map is TLSAUnknown.
	TLSA map[string]TLSAStatus `json:"tlsa,omitempty"`
}

func (d *DANEStatus) status(host string) TLSAStatus {
	if d == nil {
		return TLSAUnknown
	}
	return d.TLSA[host]
}

// TLSRequirement is the TLS a connection attempt requires (RFC 7672
// section 2.2; RFC 8461 section 5).
type TLSRequirement uint8

// The requirements.
const (
	TLSOpportunistic TLSRequirement = iota + 1 // STARTTLS when offered, cleartext otherwise
	// TLSUnauthenticated: TLS is required, the certificate is not
	// checked; without TLS, try the next host or delay.
	TLSUnauthenticated
	// TLSAuthenticated: TLS with a server authenticated as
	// [Attempt].TLSAuth says; failing that, try the next host or delay.
	TLSAuthenticated
)

var tlsReqNames = [...]string{TLSOpportunistic: "opportunistic", TLSUnauthenticated: "tls", TLSAuthenticated: "authenticated"}

// String returns "opportunistic", "tls" or "authenticated".
func (r TLSRequirement) String() string { return enumString(tlsReqNames[:], uint8(r), "tls") }

// MarshalText implements [encoding.TextMarshaler] with String.
func (r TLSRequirement) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText is the inverse of MarshalText.
func (r *TLSRequirement) UnmarshalText(b []byte) error {
	return unmarshalEnum(r, tlsReqNames[:], b, "tls")
}

// TLSAuth is how a server is authenticated under [TLSAuthenticated].
type TLSAuth uint8

// The authentication methods.
const (
	TLSAuthDANE TLSAuth = iota + 1 // against the host's TLSA records (RFC 7672 section 3)
	// TLSAuthPKIX: a certificate chaining to a trusted CA and valid for
	// the MX host name (RFC 8461 section 4.2).
	TLSAuthPKIX
)

var tlsAuthNames = [...]string{TLSAuthDANE: "dane", TLSAuthPKIX: "pkix"}

// String returns "dane" or "pkix".
func (a TLSAuth) String() string { return enumString(tlsAuthNames[:], uint8(a), "auth") }

// MarshalText implements [encoding.TextMarshaler] with String.
func (a TLSAuth) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText is the inverse of MarshalText.
func (a *TLSAuth) UnmarshalText(b []byte) error { return unmarshalEnum(a, tlsAuthNames[:], b, "auth") }

// hostTLS is the TLS decision for one MX host.
type hostTLS struct {
	req    TLSRequirement
	auth   TLSAuth
	detail string
}

// STSApplied is what an MTA-STS policy did to a plan.
type STSApplied struct {
	Mode     STSMode  `json:"mode"`         // the policy's mode
	ID       string   `json:"id,omitempty"` // the policy id of its TXT record, when known
	Unlisted []string `json:"unlisted"`     // the MX hosts no mx pattern matches, in MX order
}

// MarshalJSON writes Unlisted as a list ([] when empty), never null.
func (s STSApplied) MarshalJSON() ([]byte, error) {
	type plain STSApplied
	s.Unlisted = nonNil(s.Unlisted)
	return json.Marshal(plain(s))
}

// ErrNoPolicyMX: the domain's TLS policy leaves no MX host to try. The
// concrete error is a [*PolicyError], always temporary.
var ErrNoPolicyMX = errors.New("no MX host permitted by the domain's TLS policy")

// PolicyError is returned when the domain's MTA-STS policy or its DANE
// status leaves no MX host. It is temporary (RFC 8461 section 5 forbids
// failing before checking for a new policy; a failed TLSA lookup may
// succeed later, RFC 7672 section 2.2) and unwraps to [ErrNoPolicyMX].
type PolicyError struct {
	Domain string // the domain, canonical
	// STSUnlisted are the MX hosts the enforced MTA-STS policy does not
	// list; TLSAFailed those skipped for failed TLSA lookups.
	STSUnlisted []string
	TLSAFailed  []string
}

// Error names the hosts skipped and why.
func (e *PolicyError) Error() string {
	var b strings.Builder
	b.WriteString("mxorder: no MX host of " + strconv.Quote(e.Domain) + " permitted by its TLS policy (temporary)")
	if len(e.STSUnlisted) > 0 {
		b.WriteString("; not listed by the enforced MTA-STS policy: " + strings.Join(e.STSUnlisted, ", "))
	}
	if len(e.TLSAFailed) > 0 {
		b.WriteString("; TLSA lookup failed: " + strings.Join(e.TLSAFailed, ", "))
	}
	return b.String()
}

// Temporary reports true: queue the message and retry, after checking
// for a new MTA-STS policy (RFC 8461 section 5.1 step 3).
func (e *PolicyError) Temporary() bool { return true }

// Unwrap returns [ErrNoPolicyMX].
func (e *PolicyError) Unwrap() error { return ErrNoPolicyMX }

// Details of the TLS decisions, for people.
const (
	tlsDANE        = "usable TLSA records: DANE authentication, which MTA-STS does not override (RFC 7672 section 2.2, RFC 8461 section 2)"
	tlsDANEOverSTS = "usable TLSA records: DANE authentication; not listed by the enforced MTA-STS policy, kept because DANE takes precedence (Planner.DANEOverridesSTS)"
	tlsSTSEnforce  = "MTA-STS enforce: STARTTLS with a certificate valid for the host (RFC 8461 sections 4.2 and 5)"
	tlsUnusable    = "secure TLSA records, none usable: TLS required, no authentication (RFC 7672 section 2.2)"
	tlsSTSTesting  = "MTA-STS testing: validate and report failures, deliver anyway (RFC 8461 section 5)"
	tlsSTSMismatch = "MTA-STS testing: the policy does not list the host; deliver anyway and report it (RFC 8461 section 5)"
	tlsFailedInsec = "TLSA lookup failed with an insecure MX RRset: DANE does not apply (RFC 7672 section 2.2.1)"
	tlsNone        = "no DANE or MTA-STS policy: opportunistic STARTTLS (RFC 7672 section 2.2)"
)

// hostPolicy applies the domain's TLS policy to the MX host of e: it
// reports a host to skip (false), or returns the TLS it requires. DANE
// is decided first (RFC 8461 section 2: MTA-STS never overrides a
// failing DANE validation).
func (b *planBuilder) hostPolicy(e *entry) (hostTLS, bool) {
	st := b.st
	tlsa := st.DANE.status(e.name)
	if tlsa == TLSAFailed && st.DANE.MXSecure {
		b.plan.skip(e, netip.Addr{}, SkipTLSAFailed, "TLSA lookup failed and the MX RRset is DNSSEC-secure: the host counts as unreachable (RFC 7672 section 2.2.1)")
		return hostTLS{}, false
	}
	mode, listed := STSModeNone, true
	if st.STS != nil && st.STS.Mode != STSModeNone {
		mode, listed = st.STS.Mode, st.STS.matchCanonical(e.name)
		if !listed {
			b.plan.STS.Unlisted = append(b.plan.STS.Unlisted, e.name)
		}
	}
	danePrecedes := tlsa == TLSAUsable && b.p.DANEOverridesSTS
	if !listed && mode == STSModeEnforce && !danePrecedes {
		b.plan.skip(e, netip.Addr{}, SkipSTSUnlisted, "the enforced MTA-STS policy has no mx pattern matching the host (RFC 8461 sections 4.1 and 5)")
		return hostTLS{}, false
	}
	switch {
	case tlsa == TLSAUsable && !listed && mode == STSModeEnforce:
		return hostTLS{TLSAuthenticated, TLSAuthDANE, tlsDANEOverSTS}, true
	case tlsa == TLSAUsable:
		return hostTLS{TLSAuthenticated, TLSAuthDANE, tlsDANE}, true
	case mode == STSModeEnforce:
		return hostTLS{TLSAuthenticated, TLSAuthPKIX, tlsSTSEnforce}, true
	case tlsa == TLSAUnusable:
		return hostTLS{TLSUnauthenticated, 0, tlsUnusable}, true
	case mode == STSModeTesting && !listed:
		return hostTLS{TLSOpportunistic, 0, tlsSTSMismatch}, true
	case mode == STSModeTesting:
		return hostTLS{TLSOpportunistic, 0, tlsSTSTesting}, true
	case tlsa == TLSAFailed:
		return hostTLS{TLSOpportunistic, 0, tlsFailedInsec}, true
	}
	return hostTLS{TLSOpportunistic, 0, tlsNone}, true
}

// policyError is the error of a plan left without hosts, when the TLS
// policy skipped some, or nil.
func (b *planBuilder) policyError() error {
	var unlisted, failed []string
	for _, s := range b.plan.Skipped {
		switch s.Reason {
		case SkipSTSUnlisted:
			unlisted = append(unlisted, s.Host)
		case SkipTLSAFailed:
			failed = append(failed, s.Host)
		}
	}
	if len(unlisted) == 0 && len(failed) == 0 {
		return nil
	}
	return &PolicyError{Domain: b.plan.Domain, STSUnlisted: unlisted, TLSAFailed: failed}
}
