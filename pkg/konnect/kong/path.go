package kong

import (
	"fmt"
	"strconv"
	"strings"
)

// Path is a location inside a value tree: string steps are map keys, int
// steps are slice indexes, and Any matches every key or index (schema paths
// through arrays and maps).
type Path []any

type anyStep struct{}

// Any is the wildcard step of a Path.
var Any any = anyStep{}

// With returns a new path one step deeper.
func (p Path) With(step any) Path {
	out := make(Path, len(p)+1)
	copy(out, p)
	out[len(p)] = step
	return out
}

// String renders the path as "config.auth.header_value", "a[0]", "m[*]".
func (p Path) String() string {
	var b strings.Builder
	for _, s := range p {
		switch t := s.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(t) + "]")
		case anyStep:
			b.WriteString("[*]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, t)
		}
	}
	return b.String()
}

// Matches reports whether p (a concrete path) equals pattern, whose Any
// steps match anything.
func (p Path) Matches(pattern Path) bool {
	if len(p) != len(pattern) {
		return false
	}
	for i := range p {
		if _, ok := pattern[i].(anyStep); ok {
			continue
		}
		if p[i] != pattern[i] {
			return false
		}
	}
	return true
}

// PrefixOf reports whether p is a (non-strict) prefix of q, Any steps in q
// matching anything.
func (p Path) PrefixOf(q Path) bool {
	return len(p) <= len(q) && p.Matches(q[:len(p)])
}

// Within reports whether p is at or below one of the patterns: a value
// inside an encrypted field (the elements of an encrypted array, say) is as
// secret as the field.
func (p Path) Within(patterns []Path) bool {
	for _, pat := range patterns {
		if len(pat) <= len(p) && p[:len(pat)].Matches(pat) {
			return true
		}
	}
	return false
}
