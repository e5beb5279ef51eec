package kong

import (
	"sort"
	"strings"
)

// DidYouMean helps a message about a name that does not exist: the closest
// of the names that do, when one is close (a typo), as ` (did you mean
// "NAME"?)`; otherwise, when there are names at all, up to ten of them as
// ` (WHAT: a, b, …)`; else "".
func DidYouMean(name, what string, names []string) string {
	if best, ok := Closest(name, names); ok {
		return ` (did you mean "` + best + `"?)`
	}
	if len(names) == 0 {
		return ""
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	if len(sorted) > 10 {
		sorted = append(sorted[:10], "…")
	}
	return " (" + what + ": " + strings.Join(sorted, ", ") + ")"
}

// editDistance is Levenshtein's distance between two strings, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Closest is the name closest to name, when it is close enough to be a
// typo of it.
func Closest(name string, names []string) (string, bool) {
	best, bestDist := "", -1
	for _, n := range names {
		d := editDistance(strings.ToLower(name), strings.ToLower(n))
		if bestDist < 0 || d < bestDist || d == bestDist && n < best {
			best, bestDist = n, d
		}
	}
	return best, bestDist >= 0 && bestDist <= max(1, len(name)/3) && bestDist < len(name)
}
