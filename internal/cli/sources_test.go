package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/addrselect"
)

// TestSources: a host description gives that Host, a bad one a usage
// error naming -host, none the running system.
func TestSources(t *testing.T) {
	src, done, err := Sources("192.0.2.25/24; route v4 default")
	if _, ok := src.(*addrselect.Host); err != nil || !ok {
		t.Errorf("Sources(host) = %T, %v; want a *addrselect.Host", src, err)
	}
	done()
	_, done, err = Sources("addr nonsense")
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), "-host:") {
		t.Errorf("Sources(bad host) error = %v; want a usage error naming -host", err)
	}
	done()
	src, done, err = Sources("")
	if _, ok := src.(*addrselect.System); err != nil || !ok {
		t.Errorf("Sources(\"\") = %T, %v; want a *addrselect.System", src, err)
	}
	done()
}
