package kong

import (
	"slices"
)

// Tags, like a plugin's protocols, are sets in Kong: order and repetition
// carry no meaning. These are the one home of that rule.

// TagSet merges tag lists into one sorted set, without empty tags.
func TagSet(tags ...[]string) []string {
	var out []string
	for _, ts := range tags {
		for _, t := range ts {
			if t != "" {
				out = append(out, t)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SameTags reports whether two lists hold the same tags, in any order and
// with any repetition.
func SameTags(a, b []string) bool {
	return slices.Equal(TagSet(a), TagSet(b))
}

// HasAllTags reports whether an entity carrying have carries every tag of
// want: kvsync's ownership rule for select tags.
func HasAllTags(have, want []string) bool {
	for _, t := range want {
		if !slices.Contains(have, t) {
			return false
		}
	}
	return true
}
