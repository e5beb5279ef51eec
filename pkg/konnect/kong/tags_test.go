package kong

import (
	"slices"
	"testing"
)

func TestTagSets(t *testing.T) {
	if got := TagSet([]string{"b", "", "a"}, nil, []string{"a", "c"}); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("TagSet = %q", got)
	}
	for _, tc := range []struct {
		a, b []string
		same bool
	}{
		{[]string{"a", "b"}, []string{"b", "a"}, true},
		{[]string{"a", "a"}, []string{"a"}, true},
		{nil, []string{}, true},
		{[]string{"a"}, []string{"a", "b"}, false},
	} {
		if got := SameTags(tc.a, tc.b); got != tc.same {
			t.Errorf("SameTags(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
	for _, tc := range []struct {
		have, want []string
		ok         bool
	}{
		{[]string{"kvsync", "team-a", "x"}, []string{"team-a", "kvsync"}, true},
		{[]string{"kvsync"}, []string{"kvsync", "team-a"}, false},
		{[]string{"team-a"}, []string{"kvsync", "team-a"}, false},
		{nil, nil, true},
	} {
		if got := HasAllTags(tc.have, tc.want); got != tc.ok {
			t.Errorf("HasAllTags(%q, %q) = %v", tc.have, tc.want, got)
		}
	}
}
