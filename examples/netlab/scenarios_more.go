//go:build linux

package main

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/dualstack/dualstack/mxorder"
)

func runNullImplicit(ctx context.Context, l *lab, r *Result) error {
	sends := []send{{"relay4", "bob@v4sender.lab", "user@nullmx.lab"}, {"relay4", "bob@v4sender.lab", "user@implicit.lab"}}
	logs, err := l.exchange(ctx, r, sends, 20*time.Second, "relay4")
	if err != nil {
		return err
	}
	ds, _, perr := l.hop(ctx, r, logs, "relay4", "nullmx.lab", pfAddressLimit)
	nullBounced := len(ds) == 1 && ds[0].Status == evBounced && len(ds[0].Tries) == 0
	if nullBounced {
		r.Postfix = append(r.Postfix, "  ("+ds[0].Detail+")")
	}
	r.fact("nullmx bounced at once", strconv.FormatBool(nullBounced))
	r.fact("nullmx plan", strconv.FormatBool(errors.Is(perr, mxorder.ErrNullMX)))
	if err := l.bounceRows(ctx, r, logs, "relay4", "relay4", ds, "nullmx.lab", "v4sender.lab", "mx.v4sender.lab"); err != nil {
		return err
	}
	_, plan, _ := l.hop(ctx, r, logs, "relay4", "implicit.lab", pfAddressLimit)
	got := 0
	for _, s := range r.Sessions {
		if s.Sink == "implicit.lab" && s.Data {
			got++
		}
	}
	r.Rows = append(r.Rows, Row{
		Aspect:  "implicit MX implicit.lab",
		Postfix: "delivered to the domain's own address: " + strconv.Itoa(got) + " message(s) at implicit.lab",
		Plan:    yesNo(plan != nil && plan.Implicit, "Plan.Implicit: the domain is its own MX (RFC 5321 section 5.1)", "not implicit"),
		Agree:   got == 1 && plan != nil && plan.Implicit,
	})
	r.fact("implicit arrived", strconv.Itoa(got))
	return l.finish(ctx, r, []string{"nullmx.lab", "implicit.lab"}, []send{
		{"lib4", "bob@v4sender.lab", "user@nullmx.lab"},
		{"lib4", "bob@v4sender.lab", "user@implicit.lab"},
	})
}

func runFamilyLimits(ctx context.Context, l *lab, r *Result) error {
	sends := []send{
		{"relay4", "bob@v4sender.lab", "user@lim5.lab"},
		{"relay46", "bob@v4sender.lab", "user@lim5.lab"},
		{"relay4", "bob@v4sender.lab", "user@v6only5.lab"},
	}
	logs, err := l.exchange(ctx, r, sends, 40*time.Second, "relay4", "relay46")
	if err != nil {
		return err
	}
	for _, ns := range []string{"relay4", "relay46"} {
		ds, _, _ := l.hop(ctx, r, logs, ns, "lim5.lab", pfLimited)
		if ns == "relay46" {
			text, lost := bounceFate(logs[ns], firstQueue(ds))
			r.Postfix = append(r.Postfix, "relay46.lab: "+text)
			r.fact("relay46 lim5 bounce lost", strconv.FormatBool(lost))
		}
	}
	ds, _, _ := l.hop(ctx, r, logs, "relay4", "v6only5.lab", pfLimited)
	text, lost := bounceFate(logs["relay4"], firstQueue(ds))
	r.Postfix = append(r.Postfix, "relay4.lab: "+text)
	r.fact("relay4 v6only5 bounce lost", strconv.FormatBool(lost))
	return l.finish(ctx, r, []string{"lim5.lab", "v6only5.lab"}, []send{
		{"lib4", "bob@v4sender.lab", "user@lim5.lab"},
		{"lib46", "bob@v4sender.lab", "user@lim5.lab"},
		{"lib4", "bob@v4sender.lab", "user@v6only5.lab"},
	})
}

func firstQueue(ds []delivery) string {
	if len(ds) == 0 {
		return ""
	}
	return ds[0].Queue
}
