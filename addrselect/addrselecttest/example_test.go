package addrselecttest_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/addrselect/addrselecttest"
)

// A test asserts the order for a described host; in a real test, t is the
// test's *testing.T:
//
//	addrselecttest.AssertOrderText(t, addrselect.RFC6724(), host, resolved, wanted)
//
// CheckOrder is the same check returning the mismatch, shown here.
func ExampleCheckOrder() {
	h, _ := addrselect.ParseHost("2001:db8:1::2/64, 10.1.2.4/8; route v4 default; route v6 default")
	v6, v4 := netip.MustParseAddr("2001:db8:1::1"), netip.MustParseAddr("10.1.2.3")
	// Wrong on purpose: expect IPv4 first.
	err := addrselecttest.CheckOrder(addrselect.RFC6724(), h, []netip.Addr{v6, v4}, []netip.Addr{v4, v6})
	var oe *addrselecttest.OrderError
	if errors.As(err, &oe) {
		fmt.Println(oe.Summary())
	}
	// Output:
	// rfc6724: got 2001:db8:1::1 before 10.1.2.3, want 10.1.2.3 first; dst-6 (prefer higher precedence) decides: prefer 2001:db8:1::1 over 10.1.2.3: higher precedence (40 > 35)
}
