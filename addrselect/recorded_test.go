package addrselect_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dualstack/dualstack/addrselect"
	"github.com/dualstack/dualstack/policytable"
)

// recordedCase is one line of testdata/recorded-stacks.jsonl: a host, the
// destinations in resolver order, the kernel's source for each and the
// order each real stack produced (see /work/shared/testdata/README.md).
type recordedCase struct {
	ID   string `json:"id"`
	Host struct {
		Addrs   []string `json:"addrs"`
		Routes  []string `json:"routes"`
		HasIPv6 bool     `json:"has_ipv6"`
	} `json:"host"`
	Dsts       []string            `json:"dsts"`
	KernelSrcs []*string           `json:"kernel_srcs"`
	Orders     map[string][]string `json:"orders"`
}

// recordedColumns are the stacks recorded for every case.
var recordedColumns = []string{"go", "glibc_default", "glibc_rfc6724", "glibc_prefer_ipv4", "musl", "cares"}

func loadRecorded(t testing.TB) []recordedCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "recorded-stacks.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []recordedCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var c recordedCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("recorded-stacks.jsonl:%d: %v", line, err)
		}
		if len(c.Dsts) != len(c.KernelSrcs) {
			t.Fatalf("recorded-stacks.jsonl:%d: %d dsts, %d kernel_srcs", line, len(c.Dsts), len(c.KernelSrcs))
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cases) != 300 {
		t.Fatalf("recorded-stacks.jsonl: %d cases, want 300", len(cases))
	}
	return cases
}

// hostAddr is one local address of a recorded host.
type hostAddr struct {
	prefix     netip.Prefix
	deprecated bool
	home       bool
}

// parseHostAddr parses "ADDR/PLEN [iproute2 flags]".
func parseHostAddr(s string) (hostAddr, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return hostAddr{}, fmt.Errorf("empty address")
	}
	p, err := netip.ParsePrefix(fields[0])
	if err != nil {
		return hostAddr{}, err
	}
	h := hostAddr{prefix: p}
	for i := 1; i < len(fields); i++ {
		switch fields[i] {
		case "home":
			h.home = true
		case "preferred_lft":
			if i+1 >= len(fields) {
				return hostAddr{}, fmt.Errorf("%q: preferred_lft without value", s)
			}
			i++
			if fields[i] == "0" {
				h.deprecated = true
			}
		default:
			return hostAddr{}, fmt.Errorf("%q: unknown flag %q", s, fields[i])
		}
	}
	return h, nil
}

// recordedSource builds the Source the stacks saw for kernel source src: the
// flags and prefix length of the matching local address (loopback:
// 127.0.0.1/8 or ::1/128). withInfo false leaves them out, as glibc does
// on a host without IPv6 addresses.
func recordedSource(addrs []hostAddr, src netip.Addr, withInfo bool) (addrselect.Source, error) {
	s := addrselect.Source{Addr: src}
	if !withInfo {
		return s, nil
	}
	u := src.Unmap()
	for _, a := range addrs {
		if a.prefix.Addr() == u {
			s.PrefixLen = a.prefix.Bits()
			s.Deprecated = a.deprecated
			s.Home = a.home
			return s, nil
		}
	}
	switch {
	case u.Is4() && u.IsLoopback():
		s.PrefixLen = 8
		return s, nil
	case u == netip.IPv6Loopback():
		s.PrefixLen = 128
		return s, nil
	}
	return s, fmt.Errorf("kernel source %s is not a host address", src)
}

// destinations builds the profile input of a recorded case.
func (c *recordedCase) destinations(withInfo bool) ([]addrselect.Destination, error) {
	var addrs []hostAddr
	for _, s := range c.Host.Addrs {
		a, err := parseHostAddr(s)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
	}
	dsts := make([]addrselect.Destination, len(c.Dsts))
	for i, d := range c.Dsts {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return nil, err
		}
		dsts[i].Addr = a
		if c.KernelSrcs[i] == nil {
			continue
		}
		src, err := netip.ParseAddr(*c.KernelSrcs[i])
		if err != nil {
			return nil, err
		}
		if dsts[i].Source, err = recordedSource(addrs, src, withInfo); err != nil {
			return nil, err
		}
	}
	return dsts, nil
}

// addrStrings returns the addresses of dsts spelled as in the case's
// input (netip and the recorder write IPv4-compatible addresses
// differently).
func (c *recordedCase) addrStrings(dsts []addrselect.Destination) []string {
	spell := map[netip.Addr]string{}
	for _, d := range c.Dsts {
		spell[netip.MustParseAddr(d)] = d
	}
	out := make([]string, len(dsts))
	for i, d := range dsts {
		out[i] = spell[d.Addr]
	}
	return out
}

// gaiConfTexts returns the gai.conf texts of the recorded glibc columns.
func gaiConfTexts(t testing.TB) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "recorded-stacks.gai-conf.json"))
	if err != nil {
		t.Fatal(err)
	}
	var confs map[string]string
	if err := json.Unmarshal(b, &confs); err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"glibc_default", "glibc_rfc6724", "glibc_prefer_ipv4"} {
		if _, ok := confs[col]; !ok {
			t.Fatalf("recorded-stacks.gai-conf.json has no %q", col)
		}
	}
	return confs
}

// gaiConfTables builds the tables of the recorded gai.conf variants.
func gaiConfTables(t testing.TB) map[string]*policytable.Table {
	t.Helper()
	tables := map[string]*policytable.Table{}
	for col, text := range gaiConfTexts(t) {
		if text == "" {
			continue
		}
		tab, err := policytable.ParseGaiConf(strings.NewReader(text))
		if err != nil {
			t.Fatalf("%s: %v", col, err)
		}
		tables[col] = tab
	}
	return tables
}

// recordedSelector returns the profile that claims to reproduce column.
func recordedSelector(t testing.TB, column string, tables map[string]*policytable.Table) *addrselect.Selector {
	switch column {
	case "go":
		return addrselect.GoNet()
	case "glibc_default":
		return addrselect.Glibc()
	case "cares":
		return addrselect.CAres()
	case "musl":
		return addrselect.Musl()
	case "glibc_rfc6724", "glibc_prefer_ipv4":
		return addrselect.Glibc(addrselect.WithTable(tables[column]))
	}
	t.Fatalf("no profile for column %q", column)
	return nil
}

// TestRecordedStacks checks every profile against the order its real
// stack produced on each of the 300 recorded cases.
func TestRecordedStacks(t *testing.T) {
	cases := loadRecorded(t)
	tables := gaiConfTables(t)
	for _, col := range recordedColumns {
		t.Run(col, func(t *testing.T) {
			sel := recordedSelector(t, col, tables)
			// glibc reads address flags and prefix lengths only when
			// the host has an IPv6 address (README: host.has_ipv6).
			glibc := strings.HasPrefix(col, "glibc")
			for _, c := range cases {
				t.Run(c.ID, func(t *testing.T) {
					want, ok := c.Orders[col]
					if !ok {
						t.Fatalf("case has no %q order", col)
					}
					dsts, err := c.destinations(!glibc || c.Host.HasIPv6)
					if err != nil {
						t.Fatal(err)
					}
					sel.SortDestinations(dsts)
					if diff := cmp.Diff(want, c.addrStrings(dsts)); diff != "" {
						t.Errorf("%s order differs (-real +profile):\n%s\nhost %v routes %v\ninput %v\nsources %v",
							col, diff, c.Host.Addrs, c.Host.Routes, c.Dsts, kernelSrcStrings(c.KernelSrcs))
					}
				})
			}
		})
	}
}

func kernelSrcStrings(srcs []*string) []string {
	out := make([]string, len(srcs))
	for i, s := range srcs {
		if s == nil {
			out[i] = "-"
		} else {
			out[i] = *s
		}
	}
	return out
}
