package kong

import "testing"

func TestScope(t *testing.T) {
	var keys []string
	for _, f := range ScopeFields {
		keys = append(keys, f.Key())
	}
	if got := ScopeConsumerGroup.Plural(); got != "consumer groups" {
		t.Errorf("Plural = %q", got)
	}
	if len(keys) != 4 || keys[0] != "route" || keys[3] != "consumer_group" {
		t.Errorf("scope fields %q, want Kong's order", keys)
	}
	for _, tc := range []struct {
		s        Scope
		instance string
		want     string
	}{
		{Scope{}, "", ""},
		{Scope{ScopeRoute: "r", ScopeConsumerGroup: "g"}, "", "route r, consumer group g"},
		{Scope{ScopeService: "s"}, "i", "instance i, service s"},
	} {
		if got := tc.s.Describe(tc.instance); got != tc.want {
			t.Errorf("Describe = %q, want %q", got, tc.want)
		}
	}
}
