package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/dualstack/dualstack/mxorder"
)

// TestNAT64 checks the decisions of the nat64 scenario: the study's lost
// bounce, then lost and now delivered through the translator with the
// SPF/PTR caveat, and the IPv4 literal reached through its synthesized
// address.
func TestNAT64(t *testing.T) {
	r := result(t, "nat64")
	synth := synthesized("192.0.2.50").String()
	tests := []struct {
		part         string // of the step's title
		handedTo     string
		order        []string
		findings     []string // each among the step's findings
		noFindings   []string // none among them
		errPart      string   // in the step's error ("" for none)
		detailPart   string   // in one of the details
		decisionPart string
	}{{
		part: "then: mx20", errPart: "IPv4-only and the sender is IPv6-only",
	}, {
		part: "now: mx20", handedTo: "mx.v4.example.com", order: []string{"mx.v4.example.com"},
		detailPart: "attempt 1: " + synth + " [192.0.2.50 via NAT64 2001:db8:64::/96 (DNS64)]", decisionPart: "the bounce arrives",
	}, {
		part: "bounce check then", findings: []string{string(mxorder.CodeBounceLost), string(mxorder.CodeBounceLost) + " mx20.example.org"},
	}, {
		part: "bounce check now", findings: []string{string(mxorder.CodeNAT64Sender)},
		noFindings: []string{string(mxorder.CodeBounceLost), string(mxorder.CodeBounceLost) + " mx20.example.org"},
		detailPart: "SPF", decisionPart: "bounces can get back",
	}, {
		part:       "audit of v4.example.com",
		findings:   []string{string(mxorder.CodeDNS64) + " mx.v4.example.com " + synth, string(mxorder.CodeNAT64Sender)},
		detailPart: "mx 10 mx.v4.example.com: IPv4-only, [192.0.2.50]", decisionPart: "SPF and reverse DNS",
	}, {
		part: "IPv4 literal", order: []string{synthesized("192.0.2.87").String()}, errPart: "network is unreachable",
		detailPart: "nat64.Synthesize(2001:db8:64::/96, 192.0.2.87) = 2001:db8:64::c000:257", decisionPart: "through the translator",
	}}
	for _, tt := range tests {
		t.Run(tt.part, func(t *testing.T) {
			st := step(t, r, tt.part, "")
			if st.HandedTo != tt.handedTo {
				t.Errorf("handed to %q; want %q", st.HandedTo, tt.handedTo)
			}
			if tt.order != nil && !slices.Equal(st.Order, tt.order) {
				t.Errorf("order %q; want %q", st.Order, tt.order)
			}
			for _, f := range tt.findings {
				if !slices.Contains(st.Findings, f) {
					t.Errorf("findings %q; want %q", st.Findings, f)
				}
			}
			for _, f := range tt.noFindings {
				if slices.Contains(st.Findings, f) {
					t.Errorf("findings %q; want no %q", st.Findings, f)
				}
			}
			if (tt.errPart == "") != (st.Error == "") || !strings.Contains(st.Error, tt.errPart) {
				t.Errorf("error %q; want one containing %q", st.Error, tt.errPart)
			}
			if tt.detailPart != "" && !slices.ContainsFunc(st.Details, func(d string) bool { return strings.Contains(d, tt.detailPart) }) {
				t.Errorf("details %q; want one containing %q", st.Details, tt.detailPart)
			}
			if !strings.Contains(st.Decision, tt.decisionPart) {
				t.Errorf("decision %q; want it to contain %q", st.Decision, tt.decisionPart)
			}
		})
	}
}
