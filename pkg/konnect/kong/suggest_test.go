package kong

import "testing"

func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct {
		name  string
		names []string
		want  string
	}{
		{"exmaple-route", []string{"example-route", "other"}, ` (did you mean "example-route"?)`},
		{"provder", []string{"provider", "name", "options"}, ` (did you mean "provider"?)`},
		{"nowhere", []string{"example-route", "b-route"}, ` (routes: b-route, example-route)`},
		{"nowhere", nil, ``},
		{"x", []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "b0", "b1"}, ` (routes: a1, a2, a3, a4, a5, a6, a7, a8, a9, b0, …)`},
	} {
		if got := DidYouMean(tc.name, "routes", tc.names); got != tc.want {
			t.Errorf("DidYouMean(%q, %v) = %q, want %q", tc.name, tc.names, got, tc.want)
		}
	}
}
