package addrselect

import (
	"math/bits"

	"github.com/dualstack/dualstack/policytable"
)

// stackVals are the values a stack profile's comparator derives for one
// destination: what its sort records are made of, and, with the
// destination's addresses and flags, what Explain reports (see attrs).
// They hold no addresses, so that computing them for a sort stays cheap.
type stackVals struct {
	usable          bool // rule 1, as the stack decides it
	v4              bool // the family the stack's rule 9 sees
	scope, srcScope policytable.Scope
	label, srcLabel uint8
	prec            uint8
	cpl             uint8 // the stack's rule 9 count (0 where it does not apply rule 9)
	plen            uint8 // the prefix length that count is bounded by, for reasons
}

// attrs returns v as the attributes Explain reports for d.
func (v *stackVals) attrs(d *Destination) dattr {
	a := dattr{
		addr: d.Addr, src: d.Source.Addr, usable: v.usable, v4: v.v4,
		scope: v.scope, srcScope: v.srcScope,
		label: v.label, srcLabel: v.srcLabel, prec: v.prec,
		cpl: int(v.cpl), r9: v.cpl, plen: v.plen,
	}
	a.setFlags(&d.Source)
	return a
}

// setFlags copies the Mobile IPv6, temporary, deprecated and
// encapsulation flags of src, for the stacks' attributes (Facts shows the
// source's flags whether or not the stack looks at them).
func (a *dattr) setFlags(src *Source) {
	a.home = 1
	if !src.IsValid() {
		return
	}
	a.homeFlag, a.careOf, a.temporary = src.Home, src.CareOf, src.Temporary
	a.deprecated, a.encap = src.Deprecated, src.Encapsulated
}

// matchScope and matchLabel are rules 2 and 5 as the RFC and most stacks
// apply them: only a usable destination can match its source.
func (v *stackVals) matchScope() bool { return v.usable && v.scope == v.srcScope }
func (v *stackVals) matchLabel() bool { return v.usable && v.label == v.srcLabel }

// prefix128 is policytable.CommonPrefixLen on split addresses: the
// leading bits x and y share over all 128 bits of their IPv6 (IPv4-mapped)
// forms.
func prefix128(x, y bits128) uint8 {
	if d := x.hi ^ y.hi; d != 0 {
		return uint8(bits.LeadingZeros64(d))
	}
	return uint8(64 + bits.LeadingZeros64(x.lo^y.lo))
}
