//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/dualstack/dualstack/internal/netns"
)

// labResolver asks the lab's NSD directly, from inside the DNS server's
// namespace, and returns the records in the order of the answer. It
// implements mxorder.Resolver. The standard library's resolver would sort
// the addresses by RFC 6724 with the routes of the namespace the program
// runs in (the machine's, not the lab's), so the plans would depend on
// the machine; this one leaves the ordering to the planner.
type labResolver struct {
	ns     *netns.NS      // the namespace to query from
	server netip.AddrPort // NSD
}

// query sends one question over UDP and returns the answer records.
func (r *labResolver) query(ctx context.Context, name string, t dnsmessage.Type) ([]dnsmessage.Resource, error) {
	q, err := dnsmessage.NewName(strings.TrimSuffix(name, ".") + ".")
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: name}
	}
	id := uint16(rand.Uint32())
	msg := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: q, Type: t, Class: dnsmessage.ClassINET}},
	}
	packed, err := msg.Pack()
	if err != nil {
		return nil, err
	}
	conn, err := r.ns.DialContext(ctx, nil, "udp", r.server.String())
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: name, Server: r.server.String(), IsTemporary: true}
	}
	defer conn.Close()
	deadline := time.Now().Add(2 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	if _, err := conn.Write(packed); err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: name, Server: r.server.String(), IsTemporary: true}
	}
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, &net.DNSError{Err: err.Error(), Name: name, Server: r.server.String(), IsTimeout: true, IsTemporary: true}
		}
		var resp dnsmessage.Message
		if err := resp.Unpack(buf[:n]); err != nil || resp.ID != id {
			continue // not our answer
		}
		return answers(resp, name, t, r.server.String())
	}
}

// answers turns a response into its records of type t, or the error
// *net.Resolver would report.
func answers(resp dnsmessage.Message, name string, t dnsmessage.Type, server string) ([]dnsmessage.Resource, error) {
	switch resp.RCode {
	case dnsmessage.RCodeSuccess:
	case dnsmessage.RCodeNameError:
		return nil, &net.DNSError{Err: "no such host", Name: name, Server: server, IsNotFound: true}
	default:
		return nil, &net.DNSError{Err: "server answered " + resp.RCode.String(), Name: name, Server: server, IsTemporary: true}
	}
	var out []dnsmessage.Resource
	for _, rr := range resp.Answers {
		if rr.Header.Type == t {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: name, Server: server, IsNotFound: true}
	}
	return out, nil
}

// LookupMX returns the MX records in answer order; a null MX comes back
// as the host ".", as *net.Resolver returns it.
func (r *labResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	rrs, err := r.query(ctx, name, dnsmessage.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, 0, len(rrs))
	for _, rr := range rrs {
		mx, ok := rr.Body.(*dnsmessage.MXResource)
		if !ok {
			continue
		}
		out = append(out, &net.MX{Host: mx.MX.String(), Pref: mx.Pref})
	}
	return out, nil
}

// LookupNetIP returns the A ("ip4") or AAAA ("ip6") records of host, or
// both ("ip", A first), in answer order.
func (r *labResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var types []dnsmessage.Type
	switch network {
	case "ip4":
		types = []dnsmessage.Type{dnsmessage.TypeA}
	case "ip6":
		types = []dnsmessage.Type{dnsmessage.TypeAAAA}
	case "ip":
		types = []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA}
	default:
		return nil, fmt.Errorf("lab resolver: unknown network %q", network)
	}
	var out []netip.Addr
	var errs []error
	for _, t := range types {
		rrs, err := r.query(ctx, host, t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, rr := range rrs {
			switch b := rr.Body.(type) {
			case *dnsmessage.AResource:
				out = append(out, netip.AddrFrom4(b.A))
			case *dnsmessage.AAAAResource:
				out = append(out, netip.AddrFrom16(b.AAAA))
			}
		}
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
