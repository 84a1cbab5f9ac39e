package mxorder

import (
	"errors"
	"strconv"
)

// Sentinel errors, for [errors.Is]; the typed errors of this package
// unwrap to them. Each is exported because callers act on it
// differently; other failures wrap the resolver's or the caller's own
// errors.
var (
	// ErrNoSuchDomain: the domain does not exist (NXDOMAIN). RFC 5321
	// section 5.1 and RFC 3974 section 3 make this a permanent failure:
	// bounce the message. Through *net.Resolver NXDOMAIN and NODATA look
	// the same (see the package documentation); a domain with neither MX
	// nor address records is reported with this error too.
	ErrNoSuchDomain = errors.New("no such domain")

	// ErrNullMX: the domain publishes a null MX (RFC 7505): it accepts no
	// mail. Fail at once (no queueing); RFC 7505 section 4.1 suggests
	// reply code 556 and enhanced status 5.1.10.
	ErrNullMX = errors.New("domain accepts no mail (null MX, RFC 7505)")

	// ErrNoPrimaryRelay: the local host is an MX of the domain and no MX
	// with a better (lower) preference remains (RFC 5321 section 5.1,
	// RFC 3974 section 3 step 2). The message cannot be relayed: the local
	// host should deliver it itself or return it as undeliverable.
	ErrNoPrimaryRelay = errors.New("local host is the best MX: no primary relay to hand the message to")

	// ErrNoReachableMX: MX hosts exist but none has an address the local
	// host can use. The concrete error is an [*UnreachableError], which
	// says which families the domain offers and which the sender has
	// (RFC 3974 section 3). If it is temporary (a lookup failed
	// temporarily), queue and retry; otherwise the message is undeliverable.
	ErrNoReachableMX = errors.New("no reachable mail exchanger")

	// ErrInvalidName: a domain or exchange name is not a valid host name.
	// The concrete error is a [*NameError].
	ErrInvalidName = errors.New("invalid domain name")
)

// NameError reports an invalid domain or MX exchange name.
type NameError struct {
	Name   string // the name as given
	Reason string // why it is invalid
}

// Error says which name is invalid and why.
func (e *NameError) Error() string {
	return "mxorder: invalid name " + strconv.Quote(e.Name) + ": " + e.Reason
}

// Unwrap returns [ErrInvalidName].
func (e *NameError) Unwrap() error { return ErrInvalidName }

// domainError puts the domain in front of an error about it, such as
// the sentinels [ErrNullMX], [ErrNoSuchDomain] and [ErrNoPrimaryRelay],
// which it unwraps to.
type domainError struct {
	domain string
	err    error
}

func (e *domainError) Error() string {
	return "mxorder: " + strconv.Quote(e.domain) + ": " + e.err.Error()
}

func (e *domainError) Unwrap() error { return e.err }

// UnreachableError is returned when MX hosts exist but none can be reached
// with the families the sender has (RFC 3974 section 3: an IPv4-only
// sender facing AAAA-only exchanges fails as for exchanges without
// addresses). It unwraps to [ErrNoReachableMX].
type UnreachableError struct {
	Domain string // the domain, canonical
	// DomainFamilies are the families of every address found for the
	// domain's (remaining) MX hosts; 0 when none was found.
	DomainFamilies Family
	SenderFamilies Family // the families the local host can use
	Hosts          int    // the number of MX hosts considered
	// Temporary reports that at least one address lookup in a family the
	// sender can use failed temporarily (SERVFAIL, timeout): the message
	// should be queued and retried (RFC 5321 section 4.5.4.1) rather
	// than bounced.
	Temporary bool
}

// Error names the domain's and the sender's families.
func (e *UnreachableError) Error() string {
	s := "mxorder: no reachable mail exchanger for " + strconv.Quote(e.Domain) + ": "
	dom, snd := e.DomainFamilies.Words(), e.SenderFamilies.Words()
	switch {
	case e.DomainFamilies == 0 && e.Temporary:
		return s + "address lookups failed temporarily"
	case e.DomainFamilies == 0:
		return s + "its MX hosts have no addresses"
	case e.DomainFamilies&e.SenderFamilies == 0:
		s += "the domain's MX hosts are " + dom + " and the sender is " + snd + ": no common IP version"
	default:
		s += "no MX host has a usable address (domain " + dom + ", sender " + snd + ")"
	}
	if e.Temporary {
		s += "; some lookups failed temporarily"
	}
	return s
}

// Unwrap returns [ErrNoReachableMX].
func (e *UnreachableError) Unwrap() error { return ErrNoReachableMX }
