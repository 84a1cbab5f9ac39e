package mxorder

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// STSMode is the mode of an MTA-STS policy (RFC 8461 section 5).
type STSMode uint8

// The modes.
const (
	// STSModeEnforce: do not deliver to MX hosts that fail MX matching or
	// certificate validation, or lack STARTTLS.
	STSModeEnforce STSMode = iota + 1
	STSModeTesting         // report validation failures, deliver anyway
	STSModeNone            // as if there were no policy (to remove one, RFC 8461 section 8.3)
)

var stsModeNames = [...]string{STSModeEnforce: "enforce", STSModeTesting: "testing", STSModeNone: "none"}

// String returns "enforce", "testing" or "none".
func (m STSMode) String() string { return enumString(stsModeNames[:], uint8(m), "mode") }

// MarshalText implements [encoding.TextMarshaler] with String.
func (m STSMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText is the inverse of MarshalText.
func (m *STSMode) UnmarshalText(b []byte) error { return unmarshalEnum(m, stsModeNames[:], b, "mode") }

// Bounds of the MTA-STS formats.
const (
	// MaxSTSAge is the largest max_age a policy may have, 31,557,600
	// seconds (RFC 8461 section 3.2).
	MaxSTSAge = 31557600 * time.Second
	// MaxSTSPolicySize is the largest policy body read, 64 KiB (the size
	// RFC 8461 section 3.3 suggests).
	MaxSTSPolicySize = 64 << 10
	maxSTSRecordLen  = 4096 // bounds a TXT record: far more than any valid one
)

// ErrInvalidSTS: an MTA-STS TXT record or policy is not valid. The
// concrete error is an [*STSParseError].
var ErrInvalidSTS = errors.New("invalid MTA-STS record or policy")

// STSParseError reports where an MTA-STS TXT record or policy file is
// invalid and why. It unwraps to [ErrInvalidSTS].
type STSParseError struct {
	Input  string // "record" (the _mta-sts TXT record) or "policy"
	Line   int    // 1-based line (always 1 for a record); 0 when about the whole input
	Column int    // 1-based byte column in the line; 0 when about the whole line or input
	Field  string // the key concerned, if any
	Reason string // what is wrong
}

// Error says where and what, for example
// `mxorder: MTA-STS policy line 2 column 7 (mode): unknown mode "strict"`.
func (e *STSParseError) Error() string {
	s := "mxorder: MTA-STS " + e.Input
	if e.Line > 0 {
		s += " line " + strconv.Itoa(e.Line)
	}
	if e.Column > 0 {
		s += " column " + strconv.Itoa(e.Column)
	}
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	return s + ": " + e.Reason
}

// Unwrap returns [ErrInvalidSTS].
func (e *STSParseError) Unwrap() error { return ErrInvalidSTS }

// STSExtension is a field of an MTA-STS record or policy that RFC 8461
// does not define, kept in order and otherwise ignored.
type STSExtension struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// STSRecord is a parsed _mta-sts TXT record (RFC 8461 section 3.1).
type STSRecord struct {
	ID         string         `json:"id"`                   // the policy id: 1 to 32 letters and digits
	Extensions []STSExtension `json:"extensions,omitempty"` // unknown fields, first of each name
}

// String returns the record in canonical form: "v=STSv1; id=ID;" and
// the extensions.
func (r *STSRecord) String() string {
	var b strings.Builder
	b.WriteString("v=STSv1; id=" + r.ID + ";")
	for _, x := range r.Extensions {
		b.WriteString(" " + x.Key + "=" + x.Value + ";")
	}
	return b.String()
}

// ParseSTSRecord parses the text of an _mta-sts TXT record (its strings
// concatenated, RFC 8461 section 3.1): "v=STSv1" first, an id, unknown
// fields kept as extensions, only the first of a repeated field.
func ParseSTSRecord(txt string) (*STSRecord, error) {
	if len(txt) > maxSTSRecordLen {
		return nil, recordError(0, "", "longer than "+strconv.Itoa(maxSTSRecordLen)+" bytes")
	}
	const version = "v=STSv1"
	if !strings.HasPrefix(txt, version) {
		return nil, recordError(1, "v", "the record must begin with "+strconv.Quote(version))
	}
	r := &STSRecord{}
	seen := map[string]bool{"v": true}
	i := len(version)
	for {
		i = skipWSP(txt, i)
		if i == len(txt) {
			break
		}
		if txt[i] != ';' {
			return nil, recordError(i+1, "", "expected \";\" between fields, found "+quoteByte(txt[i]))
		}
		i = skipWSP(txt, i+1)
		if i == len(txt) {
			break
		}
		name, value, next, err := recordField(txt, i)
		if err != nil {
			return nil, err
		}
		if !seen[name] {
			seen[name] = true
			if name == "id" {
				if reason := checkSTSID(value); reason != "" {
					return nil, recordError(i+len("id=")+1, "id", reason)
				}
				r.ID = value
			} else {
				r.Extensions = append(r.Extensions, STSExtension{Key: name, Value: value})
			}
		}
		i = next
	}
	if r.ID == "" {
		return nil, recordError(0, "id", "the id field is missing")
	}
	return r, nil
}

// recordError is an error at column col of an _mta-sts record.
func recordError(col int, field, reason string) error {
	return &STSParseError{Input: "record", Line: 1, Column: col, Field: field, Reason: reason}
}

// recordField parses "name=value" at txt[i:] (RFC 8461 section 3.1
// sts-extension; the id has the same shape) and returns the offset
// after it.
func recordField(txt string, i int) (name, value string, next int, err error) {
	eq := strings.IndexByte(txt[i:], '=')
	if eq < 0 {
		return "", "", 0, recordError(i+1, "", "field without \"=\"")
	}
	name = txt[i : i+eq]
	if reason := checkSTSKey(name); reason != "" {
		return "", "", 0, recordError(i+1, printableName(name), reason)
	}
	j := i + eq + 1
	k := j
	for k < len(txt) && txt[k] != ';' && txt[k] != ' ' && txt[k] != '\t' {
		// sts-ext-value: %x21-3A / %x3C / %x3E-7E (no "=", ";", SP, CTLs).
		if c := txt[k]; c < 0x21 || c > 0x7e || c == '=' {
			return "", "", 0, recordError(k+1, name, "invalid character "+quoteByte(c)+" in the value")
		}
		k++
	}
	if k == j {
		return "", "", 0, recordError(j+1, name, "empty value")
	}
	return name, txt[j:k], k, nil
}

func skipWSP(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func quoteByte(c byte) string { return strconv.QuoteRune(rune(c)) }

// checkSTSKey checks a field name: a letter or digit, then up to 31
// letters, digits, "_", "-" or "." (RFC 8461 sections 3.1 and 3.2).
func checkSTSKey(k string) string {
	if k == "" {
		return "empty field name"
	}
	if len(k) > 32 {
		return "field name longer than 32 characters"
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !isAlnum(c) && (i == 0 || (c != '_' && c != '-' && c != '.')) {
			return "invalid character " + quoteByte(c) + " in the field name"
		}
	}
	return ""
}

// checkSTSID checks a policy id: 1 to 32 letters and digits.
func checkSTSID(id string) string {
	if len(id) > 32 {
		return "id longer than 32 characters"
	}
	for i := 0; i < len(id); i++ {
		if !isAlnum(id[i]) {
			return "invalid character " + quoteByte(id[i]) + " in the id (letters and digits only)"
		}
	}
	return ""
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// STSPolicy is a parsed MTA-STS policy (RFC 8461 section 3.2). A policy
// returned by this package must not be modified: the cache shares it.
type STSPolicy struct {
	Mode STSMode `json:"mode"`
	// MX are the allowed MX patterns, in order, lower case: host names or
	// "*." followed by a domain (RFC 8461 sections 3.2 and 4.1).
	MX []string `json:"mx"`
	// MaxAge is how long the policy may be cached, at most [MaxSTSAge]
	// (in JSON: nanoseconds, as time.Duration marshals).
	MaxAge     time.Duration  `json:"max_age_ns"`
	Extensions []STSExtension `json:"extensions,omitempty"` // the fields RFC 8461 does not define
	// ID is the policy id of the TXT record the policy was fetched for
	// (set by the [STSCache], not by the parser).
	ID string `json:"id,omitempty"`
}

// MarshalJSON writes MX as a list ([] when empty), never null.
func (p STSPolicy) MarshalJSON() ([]byte, error) {
	type plain STSPolicy
	p.MX = nonNil(p.MX)
	return json.Marshal(plain(p))
}

// Match reports whether the MX host name mxHost matches one of the
// policy's mx patterns (RFC 8461 section 4.1), in A-labels, ignoring case
// and a trailing dot: "*.example.com" matches "mail.example.com" but
// neither "example.com" nor "a.b.example.com".
func (p *STSPolicy) Match(mxHost string) bool {
	h, reason := normalize(mxHost)
	if reason != "" {
		h = strings.ToLower(strings.TrimSuffix(mxHost, "."))
	}
	return p.matchCanonical(h)
}

// matchCanonical is Match for a host name already in canonical form (as
// a plan holds them).
func (p *STSPolicy) matchCanonical(h string) bool {
	return slices.ContainsFunc(p.MX, func(pat string) bool { return matchPattern(pat, h) })
}

// matchPattern reports whether the canonical host name h matches the mx
// pattern pat, a wildcard standing for one whole label (RFC 8461 section
// 4.1).
func matchPattern(pat, h string) bool {
	if suffix, ok := strings.CutPrefix(pat, "*."); ok {
		first, rest, found := strings.Cut(h, ".")
		return found && first != "" && rest == suffix
	}
	return h == pat
}

// String returns the policy in canonical form, lines ending in CRLF,
// which ParseSTSPolicy reads back (but ID).
func (p *STSPolicy) String() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\nmode: " + p.Mode.String() + "\r\n")
	for _, m := range p.MX {
		b.WriteString("mx: " + m + "\r\n")
	}
	b.WriteString("max_age: " + strconv.FormatInt(int64(p.MaxAge/time.Second), 10) + "\r\n")
	for _, x := range p.Extensions {
		b.WriteString(x.Key + ": " + x.Value + "\r\n")
	}
	return b.String()
}

// ParseSTSPolicy reads an MTA-STS policy file (RFC 8461 section 3.2):
// "key: value" lines ending in LF or CRLF (empty ones allowed), with
// version STSv1, a mode, a max_age of at most [MaxSTSAge] and an mx
// pattern unless the mode is none. Unknown keys are kept as extensions;
// of a repeated key other than mx only the first counts. An input over
// [MaxSTSPolicySize] bytes is an error; errors are [*STSParseError]
// values with the line and column.
func ParseSTSPolicy(r io.Reader) (*STSPolicy, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSTSPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("mxorder: reading an MTA-STS policy: %w", err)
	}
	if len(data) > MaxSTSPolicySize {
		return nil, &STSParseError{Input: "policy", Reason: "longer than " + strconv.Itoa(MaxSTSPolicySize) + " bytes"}
	}
	var ps policyParser
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxSTSPolicySize+1)
	for sc.Scan() {
		ps.line++
		if err := ps.parseLine(strings.TrimSuffix(sc.Text(), "\r")); err != nil {
			return nil, err
		}
	}
	return ps.finish()
}

// policyParser holds what ParseSTSPolicy has read so far.
type policyParser struct {
	p    STSPolicy
	line int
	seen map[string]bool
}

func (ps *policyParser) bad(col int, field, reason string) error {
	return &STSParseError{Input: "policy", Line: ps.line, Column: col, Field: field, Reason: reason}
}

// parseLine parses one "key: value" line (sts-policy-field, then *WSP).
func (ps *policyParser) parseLine(l string) error {
	if l == "" {
		return nil
	}
	colon := strings.IndexByte(l, ':')
	if colon < 0 {
		return ps.bad(1, "", "expected \"key: value\"")
	}
	key := l[:colon]
	if reason := checkSTSKey(key); reason != "" {
		return ps.bad(1, printableName(key), reason)
	}
	start := skipWSP(l, colon+1)
	end := len(l)
	for end > start && (l[end-1] == ' ' || l[end-1] == '\t') {
		end--
	}
	value := l[start:end]
	if value == "" {
		return ps.bad(colon+2, key, "empty value")
	}
	if col := badValueByte(value); col >= 0 {
		return ps.bad(start+col+1, key, "control character or invalid UTF-8 in the value")
	}
	if key == "mx" {
		return ps.addMX(value, start+1)
	}
	if ps.seen[key] {
		return nil // RFC 8461 section 3.2: only the first counts
	}
	if ps.seen == nil {
		ps.seen = make(map[string]bool)
	}
	ps.seen[key] = true
	return ps.setField(key, value, start+1)
}

// setField sets the non-repeated field key to value (at column col).
func (ps *policyParser) setField(key, value string, col int) error {
	switch key {
	case "version":
		if value != "STSv1" {
			return ps.bad(col, key, "unsupported version "+strconv.Quote(value)+" (want STSv1)")
		}
	case "mode":
		// The names only: UnmarshalText also takes "mode(N)".
		m := slices.Index(stsModeNames[:], value)
		if m <= 0 {
			return ps.bad(col, key, "unknown mode "+strconv.Quote(value)+" (want enforce, testing or none)")
		}
		ps.p.Mode = STSMode(m)
	case "max_age":
		if len(value) > 10 || strings.Trim(value, "0123456789") != "" {
			return ps.bad(col, key, "max_age must be 1 to 10 digits")
		}
		n, _ := strconv.ParseInt(value, 10, 64)
		if time.Duration(n)*time.Second > MaxSTSAge {
			return ps.bad(col, key, "max_age "+value+" exceeds "+strconv.Itoa(int(MaxSTSAge/time.Second))+" seconds")
		}
		ps.p.MaxAge = time.Duration(n) * time.Second
	default:
		ps.p.Extensions = append(ps.p.Extensions, STSExtension{Key: key, Value: value})
	}
	return nil
}

// addMX adds an mx pattern: a domain (RFC 5321 section 4.1.2), A-labels
// for IDNs, with an optional leading "*." (RFC 8461 section 3.2).
func (ps *policyParser) addMX(v string, col int) error {
	d := strings.TrimPrefix(v, "*.")
	if reason := checkHostName(strings.ToLower(d)); reason != "" {
		return ps.bad(col, "mx", "invalid pattern "+strconv.Quote(v)+": "+reason)
	}
	ps.p.MX = append(ps.p.MX, strings.ToLower(v))
	return nil
}

// finish checks the required fields.
func (ps *policyParser) finish() (*STSPolicy, error) {
	ps.line = 0
	for _, k := range [...]string{"version", "mode", "max_age"} {
		if !ps.seen[k] {
			return nil, ps.bad(0, k, "the "+k+" field is missing")
		}
	}
	if len(ps.p.MX) == 0 && ps.p.Mode != STSModeNone {
		return nil, ps.bad(0, "mx", "no mx pattern (required unless the mode is none)")
	}
	if ps.p.MX == nil {
		ps.p.MX = []string{}
	}
	return &ps.p, nil
}

// badValueByte returns the offset of the first control character or
// invalid UTF-8 in a policy value, or -1 (RFC 8461 section 3.2:
// sts-policy-vchar and SP).
func badValueByte(v string) int {
	for i, r := range v {
		// An invalid byte decodes as U+FFFD without being its encoding.
		if r < 0x20 || r == 0x7f || r == utf8.RuneError && !strings.HasPrefix(v[i:], "\uFFFD") {
			return i
		}
	}
	return -1
}
