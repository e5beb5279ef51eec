package konnect

import "testing"

func TestRegionBaseURL(t *testing.T) {
	for _, tc := range []struct {
		region, want string
		ok           bool
	}{
		{"us", "https://us.api.konghq.com", true},
		{"EU", "https://eu.api.konghq.com", true},
		{"sg", "https://sg.api.konghq.com", true},
		{"in", "https://in.api.konghq.com", true},
		{"mars", "", false},
		{"", "", false},
	} {
		got, err := RegionBaseURL(tc.region)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("RegionBaseURL(%q) = %q, %v; want %q (ok %v)", tc.region, got, err, tc.want, tc.ok)
		}
	}
	if got, _ := RegionBaseURL("us"); got != DefaultBaseURL {
		t.Errorf("the default address %s is not the us region's %s", DefaultBaseURL, got)
	}
}
