package diff

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/kvsync/kvsync/pkg/state"
)

// SafeText is a display value that is already safe to print and prints
// verbatim (unquoted in text): "(sensitive)", "(from env NAME)", "(id of new
// config_store NAME)". In JSON it is a plain string.
type SafeText string

// path is a location inside a value tree: string steps are map keys, int
// steps are slice indexes, and anyStep matches every key or index (used for
// schema paths through arrays and maps).
type path []any

type anyStep struct{}

func (p path) with(step any) path {
	out := make(path, len(p)+1)
	copy(out, p)
	out[len(p)] = step
	return out
}

func (p path) String() string {
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

// matches reports whether p (a concrete path) equals pattern, which may hold
// anyStep wildcards.
func (p path) matches(pattern path) bool {
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

// prefixOf reports whether p is a (non-strict) prefix of q, wildcards in q
// matching anything.
func (p path) prefixOf(q path) bool {
	return len(p) <= len(q) && p.matches(q[:len(p)])
}

// normalize turns a config value into the shape JSON decoding gives
// (map[string]any, []any, float64, string, bool, nil), revealing Sensitive
// leaves, so that values from YAML and from the API compare equal. The
// result holds plain secret values: never print it.
func normalize(v any) (any, error) {
	raw, err := json.Marshal(state.Reveal(v))
	if err != nil {
		// The error text of encoding/json names types, never values.
		return nil, err
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func normalizeMap(m map[string]any) (map[string]any, error) {
	if m == nil {
		return map[string]any{}, nil
	}
	v, err := normalize(m)
	if err != nil {
		return nil, err
	}
	out, _ := v.(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

// sensitiveLeaves finds the Sensitive leaves of a desired value, by path.
func sensitiveLeaves(p path, v any, out map[string]sensitiveLeaf) {
	switch t := v.(type) {
	case state.Sensitive:
		out[p.String()] = sensitiveLeaf{path: p, value: t}
	case map[string]any:
		for k, e := range t {
			sensitiveLeaves(p.with(k), e, out)
		}
	case []any:
		for i, e := range t {
			sensitiveLeaves(p.with(i), e, out)
		}
	}
}

type sensitiveLeaf struct {
	path  path
	value state.Sensitive
}

// leafDiff is one difference between two normalized trees.
type leafDiff struct {
	path           path
	old, new       any
	hasOld, hasNew bool
}

// diffTrees walks two normalized trees and records their differences. Maps
// are compared key by key (an absent key equals null, as Kong returns null
// for unset fields); anything else, slices included, is compared whole with
// go-cmp, so a changed list prints as one old -> new line.
func diffTrees(p path, old, new any, hasOld, hasNew bool, out *[]leafDiff) {
	om, oldIsMap := old.(map[string]any)
	nm, newIsMap := new.(map[string]any)
	if oldIsMap && newIsMap {
		keys := make([]string, 0, len(om)+len(nm))
		for k := range om {
			keys = append(keys, k)
		}
		for k := range nm {
			if _, ok := om[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			ov, oh := om[k]
			nv, nh := nm[k]
			if ov == nil && nv == nil {
				continue
			}
			diffTrees(p.with(k), ov, nv, oh, nh, out)
		}
		return
	}
	if cmp.Equal(old, new) {
		return
	}
	*out = append(*out, leafDiff{path: p, old: old, new: new, hasOld: hasOld, hasNew: hasNew})
}

// leaves lists the leaves of a normalized tree (slices count as leaves), for
// the fields of a create.
func leaves(p path, v any, out *[]leafDiff) {
	if m, ok := v.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if m[k] == nil {
				continue
			}
			leaves(p.with(k), m[k], out)
		}
		return
	}
	*out = append(*out, leafDiff{path: p, new: v, hasNew: true})
}

var vaultRefPattern = regexp.MustCompile(`^\{vault://([^/}]+)/([^/}]+)(?:/[^}]*)?\}$`)

// vaultRef is a {vault://PREFIX/KEY[/PROPERTY]} reference.
type vaultRef struct{ prefix, key string }

// isVaultRef reports whether v is a whole-value vault reference, which is
// safe to print: it names a secret without being one.
func isVaultRef(v any) bool {
	s, ok := v.(string)
	return ok && vaultRefPattern.MatchString(strings.TrimSpace(s))
}

// vaultRefs collects the vault references in a normalized tree.
func vaultRefs(v any, out map[vaultRef]bool) {
	switch t := v.(type) {
	case string:
		if m := vaultRefPattern.FindStringSubmatch(strings.TrimSpace(t)); m != nil {
			out[vaultRef{prefix: m[1], key: m[2]}] = true
		}
	case map[string]any:
		for _, e := range t {
			vaultRefs(e, out)
		}
	case []any:
		for _, e := range t {
			vaultRefs(e, out)
		}
	}
}

// redactor decides how a value prints in a plan.
type redactor struct {
	// sensitive are the Sensitive leaves of the desired value: they print
	// as their Describe(), and any old value at or above them as
	// "(sensitive)".
	sensitive map[string]sensitiveLeaf
	// secretPaths are paths (with wildcards) whose values are secrets by
	// nature (schema fields marked encrypted, vault credentials): any value
	// there but a vault reference prints as "(sensitive)".
	secretPaths []path
	// placeholders map sentinel strings to their display text.
	placeholders map[string]SafeText
}

func (r *redactor) touchesSensitive(p path) bool {
	for _, l := range r.sensitive {
		if p.prefixOf(l.path) || l.path.prefixOf(p) {
			return true
		}
	}
	return false
}

func (r *redactor) isSecretPath(p path) bool {
	for _, s := range r.secretPaths {
		if p.matches(s) {
			return true
		}
	}
	return false
}

// displayNew renders a desired value found at p.
func (r *redactor) displayNew(p path, v any) any {
	if l, ok := r.sensitive[p.String()]; ok {
		return SafeText(l.value.Describe())
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = r.displayNew(p.with(k), e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = r.displayNew(p.with(i), e)
		}
		return out
	case string:
		if s, ok := r.placeholders[t]; ok {
			return s
		}
		if r.isSecretPath(p) && !isVaultRef(t) {
			return SafeText(state.Redacted)
		}
	case nil:
	default:
		if r.isSecretPath(p) {
			return SafeText(state.Redacted)
		}
	}
	return v
}

// displayOld renders a live value found at p whose desired counterpart is
// at the same path.
func (r *redactor) displayOld(p path, v any) any {
	if v == nil {
		return nil
	}
	if _, ok := r.sensitive[p.String()]; ok {
		return SafeText(state.Redacted)
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = r.displayOld(p.with(k), e)
		}
		return out
	case []any:
		if r.touchesSensitive(p) {
			return SafeText(state.Redacted)
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = r.displayOld(p.with(i), e)
		}
		return out
	}
	if r.touchesSensitive(p) || (r.isSecretPath(p) && !isVaultRef(v)) {
		return SafeText(state.Redacted)
	}
	return v
}

// fieldChanges turns tree differences into display-safe FieldChanges.
func (r *redactor) fieldChanges(diffs []leafDiff) []FieldChange {
	out := make([]FieldChange, 0, len(diffs))
	for _, d := range diffs {
		fc := FieldChange{Path: d.path.String(), HasOld: d.hasOld, HasNew: d.hasNew}
		if d.hasNew {
			fc.New = r.displayNew(d.path, d.new)
		}
		if d.hasOld {
			fc.Old = r.displayOld(d.path, d.old)
			if r.touchesSensitive(d.path) && fc.Old != nil {
				fc.Old = SafeText(state.Redacted)
			}
		}
		out = append(out, fc)
	}
	return out
}
