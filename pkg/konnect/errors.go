package konnect

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// InvalidParameter is one entry of a problem+json 400's invalid_parameters.
type InvalidParameter struct {
	Field  string `json:"field"`
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason"`
	Source string `json:"source,omitempty"`
}

// APIError is a non-2xx answer from Konnect. It carries both error shapes
// Konnect uses: problem+json (config stores, secrets, control planes) and
// Kong's Admin API shape (core entities: message, code, details). Its
// message never contains the request body.
type APIError struct {
	StatusCode int
	Method     string
	// Path is the request path without the query string.
	Path string

	// problem+json fields.
	Title             string
	Detail            string
	Instance          string
	InvalidParameters []InvalidParameter

	// Kong Admin API fields: {"code":3,"message":"data constraint error",...}.
	Code    int
	Message string
	Details []any

	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("konnect: ")
	b.WriteString(e.Method)
	b.WriteString(" ")
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteString(" " + text)
	}
	// Konnect often repeats itself (title "Unauthorized", detail
	// "Unauthorized"); print each distinct phrase once.
	seen := map[string]bool{strings.ToLower(http.StatusText(e.StatusCode)): true}
	say := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" || seen[strings.ToLower(s)] {
			return
		}
		seen[strings.ToLower(s)] = true
		b.WriteString(": " + s)
	}
	say(e.Title)
	say(e.Detail)
	say(e.Message)
	if len(e.InvalidParameters) > 0 {
		parts := make([]string, 0, len(e.InvalidParameters))
		for _, p := range e.InvalidParameters {
			s := p.Field
			if p.Source != "" && p.Source != "body" {
				s += " (" + p.Source + ")"
			}
			if p.Reason != "" {
				s += " " + p.Reason
			} else if p.Rule != "" {
				s += " violates " + p.Rule
			}
			parts = append(parts, strings.TrimSpace(s))
		}
		b.WriteString(": invalid parameters: " + strings.Join(parts, "; "))
	}
	if len(e.Details) > 0 {
		parts := make([]string, 0, len(e.Details))
		for _, d := range e.Details {
			if s := describeDetail(d); s != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) > 0 {
			b.WriteString(": " + strings.Join(parts, "; "))
		}
	}
	if e.Instance != "" {
		b.WriteString(" [" + e.Instance + "]")
	}
	return b.String()
}

// describeDetail renders one entry of Konnect's core-entity error details,
// typically {"type":"ERROR_TYPE_FIELD","field":"prefix","messages":["..."]}.
func describeDetail(d any) string {
	m, ok := d.(map[string]any)
	if !ok {
		if s, ok := d.(string); ok {
			return s
		}
		raw, _ := json.Marshal(d)
		return string(raw)
	}
	var msgs []string
	switch v := m["messages"].(type) {
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				msgs = append(msgs, s)
			}
		}
	}
	if s, ok := m["message"].(string); ok {
		msgs = append(msgs, s)
	}
	field, _ := m["field"].(string)
	switch {
	case len(msgs) > 0 && field != "":
		return field + ": " + strings.Join(msgs, ", ")
	case len(msgs) > 0:
		return strings.Join(msgs, ", ")
	}
	raw, _ := json.Marshal(d)
	return string(raw)
}

// IsNotFound reports whether err is a 404 from Konnect.
func IsNotFound(err error) bool { return statusIs(err, http.StatusNotFound) }

// IsUnauthorized reports whether err is a 401 from Konnect (a missing,
// wrong or expired token).
func IsUnauthorized(err error) bool { return statusIs(err, http.StatusUnauthorized) }

// IsBadRequest reports a 400: the request was refused as invalid. Konnect
// also answers it for a secret key that already exists in its store.
func IsBadRequest(err error) bool { return statusIs(err, http.StatusBadRequest) }

// IsConflict reports whether err says a uniqueness constraint was violated:
// a 409, or Konnect's core-entity 400 "data constraint error" (code 3).
// Code 3 alone is not enough: it is gRPC's INVALID_ARGUMENT, which Konnect
// also uses for plain "validation error"s.
func IsConflict(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	return e.StatusCode == http.StatusConflict ||
		(e.StatusCode == http.StatusBadRequest && e.Code == 3 && strings.EqualFold(e.Message, "data constraint error"))
}

func statusIs(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == status
}

// maxErrorBody bounds how much of an error answer is read and kept.
const maxErrorBody = 1 << 20

// decodeAPIError builds an APIError from a non-2xx answer. It accepts
// problem+json, Kong's {"message","code","details"} and the gateway's
// {"message","status"}; anything else (an HTML page from a proxy) is kept as
// a short printable excerpt in Message.
//
// Every text it keeps has the secrets of rs replaced. A page that is not
// JSON is redacted before it is shortened and its whitespace collapsed,
// either of which could leave a recognisable piece of a secret behind.
func decodeAPIError(method, path string, status int, header http.Header, body []byte, rs ...*redactor) *APIError {
	e := &APIError{StatusCode: status, Method: method, Path: path}
	if d, ok := parseRetryAfter(header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = d
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		e.Message = excerpt(redactWindow(body, rs))
		return e
	}
	defer e.redact(rs...)
	e.Title = stringField(m, "title")
	e.Detail = stringField(m, "detail")
	e.Instance = stringField(m, "instance")
	e.Message = stringField(m, "message")
	e.Code = intField(m, "code")
	if e.Message == "" && e.Title == "" && e.Detail == "" {
		// Kong's classic shape names the error ("unique constraint
		// violation") when the message is missing.
		e.Message = stringField(m, "name")
	}
	if raw, ok := m["invalid_parameters"]; ok {
		// Re-decode through JSON so entries of any of the spec's
		// variants (min_length, choices, dependent_fields) fit.
		if b, err := json.Marshal(raw); err == nil {
			var params []InvalidParameter
			if json.Unmarshal(b, &params) == nil {
				e.InvalidParameters = params
			}
		}
	}
	if d, ok := m["details"].([]any); ok {
		e.Details = d
	}
	if fields, ok := m["fields"].(map[string]any); ok && len(e.Details) == 0 {
		// Kong's classic {"fields":{"prefix":"already exists"}}.
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e.Details = append(e.Details, map[string]any{"field": k, "messages": []any{fmt.Sprint(fields[k])}})
		}
	}
	return e
}

func stringField(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func intField(m map[string]any, k string) int {
	switch v := m[k].(type) {
	case float64:
		return int(v)
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

// excerptWindow is how much of a non-JSON page is read for its excerpt:
// far more than the excerpt shows, even after collapsing whitespace.
const excerptWindow = 64 << 10

// redactWindow is the redacted start of a page. Where the page goes on past
// the window, a secret could straddle its end: the window's last bytes,
// as many as the longest form, are dropped.
func redactWindow(body []byte, rs []*redactor) []byte {
	cut := len(body) > excerptWindow
	text := string(body[:min(len(body), excerptWindow)])
	longest := 0
	for _, r := range rs {
		text = r.apply(text)
		longest = max(longest, r.longestForm())
	}
	if cut {
		text = text[:max(0, len(text)-longest)]
	}
	return []byte(text)
}

// excerpt keeps the start of a non-JSON error body, printable and on one
// line, so an HTML error page does not flood the terminal.
func excerpt(body []byte) string {
	const limit = 200
	s := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, string(body))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}

// parseRetryAfter reads a Retry-After value: delta-seconds or an HTTP-date.
// A date in the past means "now".
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		const most = int64(24 * time.Hour / time.Second)
		return time.Duration(min(n, most)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// redact replaces every form of the secrets in the error's text fields with
// a marker, in case a server echoes a submitted value back.
func (e *APIError) redact(rs ...*redactor) {
	r := func(s string) string {
		for _, x := range rs {
			s = x.apply(s)
		}
		return s
	}
	e.Title, e.Detail, e.Message, e.Instance = r(e.Title), r(e.Detail), r(e.Message), r(e.Instance)
	for i := range e.InvalidParameters {
		p := &e.InvalidParameters[i]
		p.Field, p.Reason, p.Rule, p.Source = r(p.Field), r(p.Reason), r(p.Rule), r(p.Source)
	}
	for i, d := range e.Details {
		e.Details[i] = redactAny(d, r)
	}
}

func redactAny(v any, r func(string) string) any {
	switch x := v.(type) {
	case string:
		return r(x)
	case []any:
		for i := range x {
			x[i] = redactAny(x[i], r)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[r(k)] = redactAny(val, r)
		}
		return out
	}
	return v
}
