package addrselect

import (
	"github.com/dualstack/dualstack/policytable"
)

// Selector is an immutable address-selection configuration: a policy
// table, the variants of the rules that RFC 6724 leaves open, and, for the
// profiles of real stacks, that stack's own algorithm. Build one with a
// profile constructor ([RFC6724], [RFC3484], [GoNet], [Glibc], [Musl],
// [CAres]). The zero Selector and a nil *Selector behave as RFC6724().
// A Selector is safe for concurrent use.
type Selector struct {
	name  string
	table *policytable.Table

	// stack, when non-nil, replaces the RFC engine with the emulation of a
	// real resolver (see profiles_*.go).
	stack stackImpl
}

// Option configures a Selector built by a profile constructor.
type Option func(*Selector)

// WithTable replaces the profile's policy table. Glibc(WithTable(t)) with t
// from policytable.ParseGaiConf is glibc under that gai.conf.
func WithTable(t *policytable.Table) Option {
	return func(s *Selector) { s.table = t }
}

// stackImpl is the hook through which a profile of a real stack replaces
// the RFC engine.
type stackImpl interface {
	// sort orders dsts in place as the stack would.
	sort(s *Selector, dsts []Destination)
	// compare reports how the stack's comparator orders a before b
	// (negative: a first) and which rule decided.
	compare(s *Selector, a, b *Destination) (int, Rule)
}

// SortDestinations sorts dsts in place by RFC 6724 section 6 (or by the
// profile's stack). TODO(core): real engine.
func (s *Selector) SortDestinations(dsts []Destination) {
	if s != nil && s.stack != nil {
		s.stack.sort(s, dsts)
		return
	}
}
