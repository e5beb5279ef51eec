package diff

import (
	"encoding/json"
	"sort"
	"strings"

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
			sensitiveLeaves(p.With(k), e, out)
		}
	case []any:
		for i, e := range t {
			sensitiveLeaves(p.With(i), e, out)
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
			diffTrees(p.With(k), ov, nv, oh, nh, out)
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

// markSecrets returns a copy of a desired config in which every plain
// string at or below a secret path (an encrypted schema field, a vault
// credential) is a Sensitive value too: the client then redacts it from
// any answer that echoes the request, as it does substituted values.
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
