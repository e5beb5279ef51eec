package diff

import (
	"fmt"
	"testing"
)

func TestPruneDefaults(t *testing.T) {
	fill := func(m map[string]any) map[string]any {
		out := copyMap(m)
		if _, ok := out["a"]; !ok {
			out["a"] = 1.0
		}
		rec, _ := out["r"].(map[string]any)
		if rec == nil {
			rec = map[string]any{}
			out["r"] = rec
		}
		if _, ok := rec["x"]; !ok {
			rec["x"] = nil
		}
		return out
	}
	got := pruneDefaults(map[string]any{"a": 1.0, "b": "keep", "r": map[string]any{"x": nil, "y": 2.0}}, fill)
	if fmt.Sprint(got) != "map[b:keep r:map[y:2]]" {
		t.Errorf("pruned = %v", got)
	}
	// A value that differs from the default stays.
	got = pruneDefaults(map[string]any{"a": 2.0, "r": map[string]any{"x": nil}}, fill)
	if fmt.Sprint(got) != "map[a:2]" {
		t.Errorf("pruned = %v", got)
	}
}
