package cli

import "github.com/dualstack/dualstack/addrselect"

// Sources returns where a command finds its source addresses: the host
// that hostArg describes (addrselect.ParseHost; a bad description is a
// usage error naming -host), or the running system when hostArg is
// empty. Call done when the command ends: it closes the system's
// sockets.
func Sources(hostArg string) (src addrselect.Sources, done func(), err error) {
	if hostArg != "" {
		h, err := addrselect.ParseHost(hostArg)
		if err != nil {
			return nil, func() {}, Usagef("-host: %w", err)
		}
		return h, func() {}, nil
	}
	sys := &addrselect.System{}
	return sys, func() { sys.Close() }, nil
}
