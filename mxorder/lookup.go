package mxorder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// ResolverPanicError is the error of a lookup during which the
// [Resolver] panicked. Lookups run in goroutines of their own, where a
// panic would end the process; the planner recovers it there and reports
// it as the failure of that lookup.
type ResolverPanicError struct {
	Query string // "mx", "ip4", "ip6" or "cname"
	Name  string // the name looked up (canonical, no trailing dot)
	Value any    // what the Resolver panicked with
}

// maxPanicText bounds the panic value's text in Error.
const maxPanicText = 200

// Error says which lookup panicked and with what (its text cut to 200
// bytes).
func (e *ResolverPanicError) Error() string {
	v := fmt.Sprint(e.Value)
	if len(v) > maxPanicText {
		v = v[:maxPanicText] + "..."
	}
	return "mxorder: resolver panicked in " + e.Query + " lookup of " + strconv.Quote(e.Name) + ": " + v
}

// Temporary reports true: a fault of the local resolver says nothing
// about the domain, so the message should be queued, not returned.
func (e *ResolverPanicError) Temporary() bool { return true }

// Unwrap returns the panic value when it is an error, else nil.
func (e *ResolverPanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// answer is what one resolver call returned.
type answer[T any] struct {
	v   T
	err error
}

// guard runs one resolver call f in a goroutine of its own, bounded by
// ctx and LookupTimeout, and returns its answer; a panic in f becomes a
// [*ResolverPanicError]. When the context ends first, guard returns at
// once with a timeout error; f's goroutine then ends with the resolver's
// call, writing only into its own buffered channel.
func guard[T any](p *Planner, ctx context.Context, query, name string, f func(context.Context) (T, error)) (T, error) {
	lctx, cancel := p.lookupContext(ctx)
	defer cancel()
	var zero T
	if lctx.Err() != nil {
		return zero, abandoned(lctx, name)
	}
	ch := make(chan answer[T], 1)
	go func() {
		var a answer[T]
		defer func() {
			if v := recover(); v != nil {
				a = answer[T]{err: &ResolverPanicError{Query: query, Name: name, Value: v}}
			}
			ch <- a
		}()
		a.v, a.err = f(lctx)
	}()
	select {
	case a := <-ch:
		return a.v, a.err
	case <-lctx.Done():
		// An answer that came with the deadline still counts.
		select {
		case a := <-ch:
			return a.v, a.err
		default:
		}
		return zero, abandoned(lctx, name)
	}
}

// abandoned is the error of a lookup given up when ctx ended: a
// temporary *net.DNSError, with IsTimeout when the deadline passed (as
// *net.Resolver reports a timeout), unwrapping to the context's error.
func abandoned(ctx context.Context, name string) error {
	err := ctx.Err()
	return &net.DNSError{
		Err:         "lookup abandoned: " + err.Error(),
		Name:        name,
		IsTimeout:   errors.Is(err, context.DeadlineExceeded),
		IsTemporary: true,
		UnwrapErr:   err,
	}
}

// noteLookup records a failed lookup and reports whether err is a
// failure (rather than nil or "no records").
func (plan *Plan) noteLookup(host, network string, err error) bool {
	if err == nil {
		return false
	}
	notFound, temporary, timeout := classify(err)
	if notFound {
		return false
	}
	plan.LookupErrors = append(plan.LookupErrors, LookupError{
		Host: host, Network: network, Temporary: temporary, Timeout: timeout, Message: err.Error(), Err: err,
	})
	return true
}

// classify interprets a resolver error the way *net.Resolver reports
// them.
func classify(err error) (notFound, temporary, timeout bool) {
	var de *net.DNSError
	if errors.As(err, &de) {
		return de.IsNotFound, de.IsTemporary || de.IsTimeout, de.IsTimeout
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return false, true, true
	}
	var te interface{ Temporary() bool }
	if errors.As(err, &te) {
		return false, te.Temporary(), false
	}
	return false, false, false
}
