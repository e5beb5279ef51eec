package diff

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state"
)

// path is a location inside a value tree (see kong.Path).
type path = kong.Path

// normalize turns a config value into the shape JSON decoding gives
// (map[string]any, []any, float64, string, bool, nil), revealing Sensitive
// leaves, so that values from YAML and from the API compare equal. The
// result holds plain secret values: never print it.
//
// It gives what a JSON encode and decode round trip of state.Reveal(v)
// gives, without one: a value already in that shape (a config read from
// the API, or filled from a schema read from it) is returned as is, and a
// map or slice is copied only on the way to a leaf that changes. The
// result may therefore share parts with v: neither is modified afterwards.
// Leaves it does not know (other slice and map types, float32, strings
// that are not UTF-8, types with their own JSON encoding) take the round
// trip, alone.
func normalize(v any) (any, error) {
	out, _, err := normalizeValue(v)
	return out, err
}

// normalizeValue is normalize, reporting whether the result differs from
// v (and so is a new value).
func normalizeValue(v any) (any, bool, error) {
	switch t := v.(type) {
	case nil, bool:
		return v, false, nil
	case string:
		if utf8.ValidString(t) {
			return v, false, nil
		}
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			break // the round trip reports the error
		}
		return v, false, nil
	case int:
		return float64(t), true, nil
	case int64:
		return float64(t), true, nil
	case int32:
		return float64(t), true, nil
	case uint64:
		return float64(t), true, nil
	case uint:
		return float64(t), true, nil
	case state.Sensitive:
		n, _, err := normalizeValue(t.Reveal())
		return n, true, err
	case map[string]any:
		if t == nil {
			return map[string]any{}, true, nil // as state.Reveal makes it
		}
		var out map[string]any
		for k, e := range t {
			n, changed, err := normalizeValue(e)
			if err != nil {
				return nil, false, err
			}
			if changed && out == nil {
				out = make(map[string]any, len(t))
				for k2, e2 := range t {
					out[k2] = e2
				}
			}
			if out != nil {
				out[k] = n
			}
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	case []any:
		if t == nil {
			return []any{}, true, nil // as state.Reveal makes it
		}
		var out []any
		for i, e := range t {
			n, changed, err := normalizeValue(e)
			if err != nil {
				return nil, false, err
			}
			if changed && out == nil {
				out = append(make([]any, 0, len(t)), t...)
			}
			if out != nil {
				out[i] = n
			}
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	case []string:
		if t == nil {
			return nil, true, nil
		}
		out := make([]any, len(t))
		for i, e := range t {
			n, _, err := normalizeValue(e)
			if err != nil {
				return nil, false, err
			}
			out[i] = n
		}
		return out, true, nil
	}
	out, err := roundTrip(v)
	return out, true, err
}

// roundTrip normalizes v by a JSON encode and decode.
func roundTrip(v any) (any, error) {
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
// It walks every leaf of every desired config, and few are Sensitive: the
// path grows in one buffer (append, each child's steps overwriting its
// elder sibling's), copied only for a leaf it keeps.
func sensitiveLeaves(p path, v any, out map[string]sensitiveLeaf) {
	switch t := v.(type) {
	case state.Sensitive:
		p = slices.Clone(p)
		out[p.String()] = sensitiveLeaf{path: p, value: t}
	case map[string]any:
		for k, e := range t {
			sensitiveLeaves(append(p, k), e, out)
		}
	case []any:
		for i, e := range t {
			sensitiveLeaves(append(p, i), e, out)
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
		if mapsEqual(om, nm) {
			return // the common case, without sorting or paths
		}
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
			diffTrees(p.With(k), ov, nv, oh, nh, out)
		}
		return
	}
	if equal(old, new) {
		return
	}
	*out = append(*out, leafDiff{path: p, old: old, new: new, hasOld: hasOld, hasNew: hasNew})
}

// mapsEqual is diffTrees' rule for two maps, finding no difference: key
// by key, an absent key equal to null.
func mapsEqual(om, nm map[string]any) bool {
	for k, ov := range om {
		nv := nm[k]
		if ov == nil && nv == nil {
			continue
		}
		o, oIsMap := ov.(map[string]any)
		n, nIsMap := nv.(map[string]any)
		if oIsMap && nIsMap {
			if !mapsEqual(o, n) {
				return false
			}
			continue
		}
		if !equal(ov, nv) {
			return false
		}
	}
	for k, nv := range nm {
		if _, seen := om[k]; !seen && nv != nil {
			return false
		}
	}
	return true
}

// equal is cmp.Equal for normalized values, without reflection: maps and
// slices compare whole and strictly (a key must be in both).
func equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) || (x == nil) != (y == nil) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !equal(e, f) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) || (x == nil) != (y == nil) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return cmp.Equal(a, b)
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
			leaves(p.With(k), m[k], out)
		}
		return
	}
	*out = append(*out, leafDiff{path: p, new: v, hasNew: true})
}

// vaultRef names the secret a {vault://PREFIX/KEY[/PROPERTY]} reference
// reads; the property, ?query and #version do not change which secret.
type vaultRef struct{ prefix, key string }

// vaultRefs collects the vault references in a normalized tree.
func vaultRefs(v any, out map[vaultRef]bool) {
	for _, r := range kong.VaultRefs(v) {
		out[vaultRef{prefix: r.Prefix, key: r.Key}] = true
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
		if p.PrefixOf(l.path) || l.path.PrefixOf(p) {
			return true
		}
	}
	return false
}

func (r *redactor) isSecretPath(p path) bool {
	return p.Within(r.secretPaths)
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
			out[k] = r.displayNew(p.With(k), e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = r.displayNew(p.With(i), e)
		}
		return out
	case string:
		if s, ok := r.placeholders[t]; ok {
			return s
		}
		if r.isSecretPath(p) && !kong.IsVaultRef(t) {
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
			out[k] = r.displayOld(p.With(k), e)
		}
		return out
	case []any:
		if r.touchesSensitive(p) {
			return SafeText(state.Redacted)
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = r.displayOld(p.With(i), e)
		}
		return out
	}
	if r.touchesSensitive(p) || (r.isSecretPath(p) && !kong.IsVaultRef(v)) {
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
			// A substituted value that replaces another says so: the
			// plan cannot show either, but it shows that it moved.
			if l, ok := r.sensitive[d.path.String()]; ok && d.hasOld && d.old != nil {
				fc.New = SafeText(strings.TrimSuffix(l.value.Describe(), ")") + ", changed)")
			}
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

// maskUnknown makes each desired leaf whose value is unknown (an unset
// variable, with --allow-missing-env) compare equal: it takes the live
// value at the same path in have. It returns the masked leaves, for the
// plan's notes.
func maskUnknown(want, have map[string]any, leaves map[string]sensitiveLeaf) []sensitiveLeaf {
	var masked []sensitiveLeaf
	for _, l := range leaves {
		if l.value.Known() {
			continue
		}
		live, _ := valueAt(have, l.path)
		setAt(want, l.path, live)
		masked = append(masked, l)
	}
	sort.Slice(masked, func(i, j int) bool { return masked[i].path.String() < masked[j].path.String() })
	return masked
}

func valueAt(tree any, p path) (any, bool) {
	for _, step := range p {
		switch t := tree.(type) {
		case map[string]any:
			k, _ := step.(string)
			v, ok := t[k]
			if !ok {
				return nil, false
			}
			tree = v
		case []any:
			i, ok := step.(int)
			if !ok || i < 0 || i >= len(t) {
				return nil, false
			}
			tree = t[i]
		default:
			return nil, false
		}
	}
	return tree, true
}

func setAt(tree map[string]any, p path, v any) {
	if len(p) == 0 {
		return
	}
	parent, ok := valueAt(tree, p[:len(p)-1])
	if !ok {
		return
	}
	switch t := parent.(type) {
	case map[string]any:
		if k, ok := p[len(p)-1].(string); ok {
			t[k] = v
		}
	case []any:
		if i, ok := p[len(p)-1].(int); ok && i >= 0 && i < len(t) {
			t[i] = v
		}
	}
}

// goneFields lists what a delete takes away: each leaf of the live entity,
// as an old value that goes (credentials redacted).
func (r *redactor) goneFields(live map[string]any) []FieldChange {
	var ls []leafDiff
	leaves(nil, live, &ls)
	out := make([]FieldChange, 0, len(ls))
	for _, l := range ls {
		out = append(out, FieldChange{Path: l.path.String(), Old: r.displayOld(l.path, l.new), HasOld: true})
	}
	return out
}

// markSecrets returns a copy of a config in which every non-empty plain
// string at or below a secret path (an encrypted schema field, a vault
// credential) is a Sensitive value, vault references excepted. In a
// desired config the client then redacts it from any answer that echoes
// the request, as it does substituted values; in a dumped one the written
// file gets a placeholder instead of the credential.
func markSecrets(cfg map[string]any, secretPaths []path) map[string]any {
	if cfg == nil || len(secretPaths) == 0 {
		return cfg
	}
	var walk func(p path, v any) any
	walk = func(p path, v any) any {
		switch t := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, e := range t {
				out[k] = walk(p.With(k), e)
			}
			return out
		case []any:
			out := make([]any, len(t))
			for i, e := range t {
				out[i] = walk(p.With(i), e)
			}
			return out
		case string:
			if t != "" && p.Within(secretPaths) && !kong.IsVaultRef(t) {
				return state.NewSensitive(t)
			}
		}
		return v
	}
	return walk(path{"config"}, cfg).(map[string]any)
}
