// Package addrselecttest helps users of [addrselect] write unit tests:
// describe a host in one line, then assert the order a [addrselect.Selector]
// gives a list of destinations. On a mismatch the failure shows a diff and
// names the RFC 6724 rule that made the selector decide as it did, so a
// failing test says why, not only what.
//
// Like go-cmp, which it uses, it is meant for tests only.
package addrselecttest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Host parses a host description with [addrselect.ParseHost] and fails
// the test (t.Fatalf) if it does not parse. Example:
//
//	h := addrselecttest.Host(t, "2001:db8::1/64 dev eth0, 192.0.2.10/24 dev eth0; route v4 default dev eth0; route v6 default dev eth0")
func Host(t testing.TB, desc string) *addrselect.Host {
	t.Helper()
	h, err := addrselect.ParseHost(desc)
	if err != nil {
		t.Fatalf("addrselecttest.Host: %v", err)
	}
	return h
}

// Addrs parses a list of addresses separated by commas and/or blanks
// ("2001:db8::1, 192.0.2.1") and fails the test (t.Fatalf) on a bad one.
func Addrs(t testing.TB, list string) []netip.Addr {
	t.Helper()
	var out []netip.Addr
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		a, err := netip.ParseAddr(f)
		if err != nil {
			t.Fatalf("addrselecttest.Addrs(%q): %v", list, err)
			return nil
		}
		out = append(out, a)
	}
	return out
}

// OrderError describes a destination order that differs from the one
// wanted. CheckOrder returns it; AssertOrder reports it.
type OrderError struct {
	// Selector is the name of the selector's profile ("rfc6724", ...).
	Selector string
	// Got is the order the selector produced, with sources; Want the
	// order wanted.
	Got  []addrselect.Destination
	Want []netip.Addr
	// First and Second are the first mismatch: the selector put First
	// where Second was wanted, so First comes before Second. They are
	// zero when Want is not a permutation of the input.
	First, Second netip.Addr
	// Decision is how the selector orders First and Second: its Rule is
	// the rule that put First ahead.
	Decision addrselect.Decision
	// Diff is a go-cmp diff (-want +got) of the two orders, for people;
	// its exact form is not stable.
	Diff string
}

// Summary is the one-line explanation, without the diff.
func (e *OrderError) Summary() string {
	if !e.First.IsValid() {
		return fmt.Sprintf("%s: got %s; want %s (not the same addresses)", e.Selector, joinAddrs(addrsOf(e.Got)), joinAddrs(e.Want))
	}
	return fmt.Sprintf("%s: got %s before %s, want %s first; %s (%s) decides: %s",
		e.Selector, e.First, e.Second, e.Second, e.Decision.Rule, e.Decision.Rule.Title(), e.Decision.Reason)
}

// Error is the summary followed by the diff.
func (e *OrderError) Error() string {
	return "addrselect order mismatch: " + e.Summary() + "\n(-want +got):\n" + e.Diff
}

// CheckOrder sorts dsts with sel, finding sources with src (nil: the
// running system, as [addrselect.Selector.Sort] does), and compares the
// result with want. It returns nil when they agree, an *[OrderError] when
// they do not, and the error of Sort if sorting failed.
func CheckOrder(sel *addrselect.Selector, src addrselect.Sources, dsts, want []netip.Addr) error {
	got, err := sel.Sort(context.Background(), dsts, src)
	if err != nil {
		return err
	}
	gotAddrs := addrsOf(got)
	if slices.Equal(gotAddrs, want) {
		return nil
	}
	e := &OrderError{
		Selector: sel.Name(),
		Got:      got,
		Want:     slices.Clone(want),
		Diff:     cmp.Diff(want, gotAddrs, cmpopts.EquateComparable(netip.Addr{})),
	}
	if isPermutation(gotAddrs, want) {
		for i := range gotAddrs {
			if gotAddrs[i] == want[i] {
				continue
			}
			x, y := got[i], got[slices.Index(gotAddrs, want[i])]
			e.First, e.Second = x.Addr, y.Addr
			// Explain wants the pair in input order (for rule 10).
			if slices.Index(dsts, x.Addr) <= slices.Index(dsts, y.Addr) {
				e.Decision = sel.Explain(x, y)
			} else {
				e.Decision = sel.Explain(y, x)
			}
			break
		}
	}
	return e
}

// AssertOrder is CheckOrder reporting a mismatch with t.Errorf (the test
// goes on) and a failure to sort with t.Fatalf. It reports whether the
// order was as wanted.
func AssertOrder(t testing.TB, sel *addrselect.Selector, src addrselect.Sources, dsts, want []netip.Addr) bool {
	t.Helper()
	err := CheckOrder(sel, src, dsts, want)
	if err == nil {
		return true
	}
	if _, ok := err.(*OrderError); ok {
		t.Errorf("%v", err)
		return false
	}
	t.Fatalf("addrselecttest.AssertOrder: %v", err)
	return false
}

// AssertOrderText is AssertOrder with everything written as text: a host
// description for [addrselect.ParseHost] and address lists for [Addrs].
//
//	addrselecttest.AssertOrderText(t, addrselect.RFC6724(),
//		"2001:db8:1::2/64, 10.1.2.4/8; route v4 default; route v6 default",
//		"10.1.2.3, 2001:db8:1::1",   // as resolved
//		"2001:db8:1::1, 10.1.2.3")   // as wanted
func AssertOrderText(t testing.TB, sel *addrselect.Selector, host, dsts, want string) bool {
	t.Helper()
	return AssertOrder(t, sel, Host(t, host), Addrs(t, dsts), Addrs(t, want))
}

// AssertSource checks the source src picks for dst; want may be the zero
// Addr for "unusable". It reports a mismatch with t.Errorf and whether
// the source was as wanted.
func AssertSource(t testing.TB, src addrselect.Sources, dst, want netip.Addr) bool {
	t.Helper()
	got, err := src.Source(context.Background(), dst)
	if err != nil {
		t.Fatalf("addrselecttest.AssertSource(%v): %v", dst, err)
		return false
	}
	if got.Addr != want {
		t.Errorf("source for %v = %v; want %v", dst, orNone(got.Addr), orNone(want))
		return false
	}
	return true
}

func isPermutation(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.SortFunc(x, netip.Addr.Compare)
	slices.SortFunc(y, netip.Addr.Compare)
	return slices.Equal(x, y)
}

func addrsOf(ds []addrselect.Destination) []netip.Addr {
	as := make([]netip.Addr, len(ds))
	for i, d := range ds {
		as[i] = d.Addr
	}
	return as
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

func orNone(a netip.Addr) string {
	if !a.IsValid() {
		return "none (unusable)"
	}
	return a.String()
}
