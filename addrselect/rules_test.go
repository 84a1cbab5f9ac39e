package addrselect

import (
	"strings"
	"testing"
)

// TestRuleTexts checks that every rule has its sentence and section, and
// that the destination and source rule definitions cover exactly the
// rules the sorts and Explain can name.
func TestRuleTexts(t *testing.T) {
	for r := RuleNone; r <= DstNAT64; r++ {
		if r.Title() == "" || r.Title() == r.String() || (r != RuleNone && !strings.HasPrefix(r.Section(), "RFC ")) {
			t.Errorf("%v: title %q, section %q", r, r.Title(), r.Section())
		}
	}
	if got := Dst6.Title(); got != "prefer higher precedence" {
		t.Errorf("Dst6.Title() = %q", got)
	}
	if got := Rule(99).String(); got != "rule(99)" {
		t.Errorf("Rule(99).String() = %q", got)
	}
	for _, r := range []Rule{Dst1, Dst2, Dst3, Dst4, Dst5, Dst6, Dst7, Dst8, DstHistory, Dst9, DstNAT64} {
		if d := dstRules[r]; d.bits == 0 || d.why == nil {
			t.Errorf("%v has no definition", r)
		}
	}
	seen := map[Rule]bool{}
	for _, d := range srcRules {
		seen[d.id] = true
	}
	for r := Src1; r <= Src8; r++ {
		if !seen[r] {
			t.Errorf("%v has no definition", r)
		}
	}
}
