package konnect

import (
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := newRedactor("fake-secret", "fake-secret-longer-0001", "ab")
	r.add("x/y-fake-0002")
	for i, tc := range []struct{ in, want string }{
		{"nothing here", "nothing here"},
		{"a fake-secret-longer-0001 b", "a [REDACTED] b"},     // the longest form wins
		{"fake-secretfake-secret", "[REDACTED][REDACTED]"},    // adjacent
		{"cab", "c[REDACTED]"},                                // a short value too
		{`v="x\/y-fake-0002"`, `v="[REDACTED]"`},              // added later, escaped
		{"fake-secre", "fake-secre"},                          // a piece is no match
		{"\u00e9fake-secret\u00e9", "\u00e9[REDACTED]\u00e9"}, // beside non-ASCII
		{"fake-secret-longer-000", "[REDACTED]-longer-000"},   // the shorter one matches
	} {
		// Failures name the case, never its text: it holds the values.
		if got := r.apply(tc.in); got != tc.want {
			t.Errorf("case %d: not redacted as expected (%d markers, want %d)", i, strings.Count(got, redactedMarker), strings.Count(tc.want, redactedMarker))
		}
	}
	var none *redactor
	if got := none.apply("text"); got != "text" {
		t.Errorf("a nil redactor changed the text: %q", got)
	}
}
