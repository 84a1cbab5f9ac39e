//go:build linux

package netns

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dualstack/dualstack/internal/testenv"
)

func TestHostLines(t *testing.T) {
	tests := []struct {
		name     string
		prefixes []string
		want     []string // lines that must be present
		absent   []string // lines that must not
	}{
		{"ipv4-only", []string{"192.0.2.1/24"},
			[]string{"link set lo up", "link set eth0 addrgenmode none", "addr add 192.0.2.1/24 dev eth0", "route add 0.0.0.0/0 dev eth0"},
			[]string{"route add ::/0 dev eth0"}},
		{"ipv6-only", []string{"2001:db8::1/64"},
			[]string{"addr add 2001:db8::1/64 dev eth0 nodad", "route add ::/0 dev eth0"},
			[]string{"route add 0.0.0.0/0 dev eth0"}},
		{"dual-stack", []string{"192.0.2.1/24", "2001:db8::1/64"},
			[]string{"route add 0.0.0.0/0 dev eth0", "route add ::/0 dev eth0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HostLines("eth0", tt.prefixes)
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("HostLines(%q) = %q; missing %q", tt.prefixes, got, w)
				}
			}
			for _, a := range tt.absent {
				if slices.Contains(got, a) {
					t.Errorf("HostLines(%q) = %q; has %q", tt.prefixes, got, a)
				}
			}
		})
	}
}

// TestNamespaces joins two namespaces over a bridge in a third, connects
// from one to the other with sockets made by Do, and checks that Delete
// stops a process left inside and removes the namespace.
func TestNamespaces(t *testing.T) {
	prefix := fmt.Sprintf("nstest%x", os.Getpid()&0xffff)
	if err := Check(prefix + "-probe"); err != nil {
		testenv.Missingf(t, "network namespaces not usable here: %v", err)
	}
	all, err := AddAll(prefix+"-br", prefix+"-a", prefix+"-b")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range all {
		t.Cleanup(func() { n.Delete() })
	}
	br, a, b := all[0], all[1], all[2]
	lines := []string{"link add br0 type bridge", "link set br0 up"}
	lines = append(lines, br.PlugLines("br0", "va", a, "eth0")...)
	lines = append(lines, br.PlugLines("br0", "vb", b, "eth0")...)
	if err := br.Batch(lines...); err != nil {
		t.Fatal(err)
	}
	if err := a.Batch(HostLines("eth0", []string{"192.0.2.1/24", "2001:db8::1/64"})...); err != nil {
		t.Fatal(err)
	}
	if err := b.Batch(HostLines("eth0", []string{"192.0.2.2/24", "2001:db8::2/64"})...); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{"192.0.2.1", "192.0.2.2"}, {"2001:db8::1", "2001:db8::2"}} {
		t.Run("connect "+pair[0], func(t *testing.T) { connectAcross(t, a, b, pair[0], pair[1]) })
	}
	t.Run("delete", func(t *testing.T) {
		cmd := b.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		time.Sleep(100 * time.Millisecond)
		if pids, err := b.Pids(); err != nil || !slices.Contains(pids, cmd.Process.Pid) {
			t.Fatalf("Pids() = %v, %v; want the sleep process %d", pids, err, cmd.Process.Pid)
		}
		if err := b.Delete(); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the process in the namespace survived Delete")
		}
		if _, err := os.Stat(filepath.Join(runDir, b.Name)); !os.IsNotExist(err) {
			t.Errorf("namespace %s still exists after Delete (stat: %v)", b.Name, err)
		}
	})
}

// connectAcross listens in a on addr and connects from b, whose address
// is from.
func connectAcross(t *testing.T, a, b *NS, addr, from string) {
	var ln net.Listener
	if err := a.Do(func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(addr, "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- err.Error()
			return
		}
		accepted <- c.RemoteAddr().String()
		c.Close()
	}()
	var c net.Conn
	if err := b.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := <-accepted
	if host, _, err := net.SplitHostPort(peer); err != nil || host != from {
		t.Errorf("accepted a connection from %s; want one from %s", peer, from)
	}
}
