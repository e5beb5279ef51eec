package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/kvsync/kvsync/pkg/state"
)

// DumpOptions tune Dump.
type DumpOptions struct {
	// SelectTags decide what is in scope (default [state.DefaultSelectTag]);
	// they are left out of each entity's tags, since kvsync adds them.
	SelectTags []string
	// All dumps every entity, whatever its tags.
	All bool
}

// Dump turns a live state (fetched with FetchOptions.All
// for everything) into a desired state that Compute finds in sync with it:
// in-scope vaults and plugins (or all of them), the config stores those
// vaults use (or all) with their secret keys, references by name,
// server-filled defaults left out and credentials as Sensitive values
// (which a writer turns into placeholders). Each kind dumps its own part.
func Dump(live *Live, opts DumpOptions) *state.File {
	tags := tagSet(opts.SelectTags)
	if len(tags) == 0 {
		tags = []string{state.DefaultSelectTag}
	}
	d := &dumper{live: live, tags: tags, all: opts.All,
		file: &state.File{FormatVersion: "3.0", ControlPlaneName: live.ControlPlane.Name}}
	for _, k := range kinds {
		if k.dump != nil {
			k.dump(d)
		}
	}
	for _, k := range kinds {
		if k.sortDump != nil {
			k.sortDump(d.file)
		}
	}
	return d.file
}

// DumpSummary counts the entities of a dumped file by kind, in the
// table's order ("1 config store", "2 vaults", …), and in all.
func DumpSummary(f *state.File) (parts []string, total int) {
	for _, k := range kinds {
		if k.dumped == nil {
			continue
		}
		n := k.dumped(f)
		parts = append(parts, fmt.Sprintf("%d %s%s", n, k.label, Plural(n)))
		total += n
	}
	return parts, total
}

// dumper is one Dump in progress.
type dumper struct {
	live *Live
	tags []string
	all  bool
	file *state.File
	// storeIDs are the live ids of file.ConfigStores, index for index.
	storeIDs []string
}

func (d *dumper) inScope(tags []string) bool { return d.all || hasAllTags(tags, d.tags) }

// extraTags are an entity's tags beyond the select tags, which kvsync adds
// by itself; nil when none.
func (d *dumper) extraTags(have []string) []string {
	var out []string
	for _, t := range have {
		if !slices.Contains(d.tags, t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// pruneDefaults returns a copy of a live config without the fields that
// fill would put back as they are: removing each field (a whole subtree
// first, then inside it) is kept only when fill of the result still equals
// the live config, so the pruned config compares equal by construction.
// A config that fill changes (fields the schema does not know how to fill)
// is returned whole.
func pruneDefaults(live map[string]any, fill func(map[string]any) map[string]any) map[string]any {
	target, err := json.Marshal(live)
	if err != nil {
		return copyMap(live)
	}
	same := func(m map[string]any) bool {
		c, err := json.Marshal(fill(m))
		return err == nil && bytes.Equal(c, target)
	}
	if !same(copyMap(live)) {
		return copyMap(live)
	}
	cand := copyMap(live)
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := m[k]
			delete(m, k)
			if same(cand) {
				continue
			}
			m[k] = v
			if sub, ok := v.(map[string]any); ok {
				walk(sub)
			}
		}
	}
	walk(cand)
	return cand
}

// copyMap deep-copies a JSON-shaped map.
func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return m
	}
	return out
}
