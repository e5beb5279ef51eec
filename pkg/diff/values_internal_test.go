package diff

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kvsync/kvsync/pkg/state"
)

// TestNormalizeIsTheJSONRoundTrip checks normalize against the JSON
// encode and decode it stands for, on every shape a config can take, and
// that it leaves its input alone.
func TestNormalizeIsTheJSONRoundTrip(t *testing.T) {
	values := map[string]any{
		"json shaped":     map[string]any{"a": 1.5, "b": []any{"x", true, nil}, "c": map[string]any{"d": "e"}},
		"integers":        map[string]any{"i": 1, "i64": int64(1) << 60, "u": uint64(math.MaxUint64), "i32": int32(-7), "nested": []any{2, map[string]any{"n": 3}}},
		"sensitive":       map[string]any{"s": state.NewSensitive("fake-value"), "l": []any{"plain", state.NewSensitive("fake-2")}},
		"string lists":    map[string]any{"l": []string{"a", "b"}, "nil": []string(nil)},
		"nil containers":  map[string]any{"m": map[string]any(nil), "l": []any(nil)},
		"other types":     map[string]any{"f32": float32(0.1), "ms": map[string]string{"k": "v"}, "bytes": []byte("hi")},
		"not UTF-8":       map[string]any{"s": "a\xffb"},
		"a list at top":   []any{1, "two", []any{3.0}},
		"a string at top": "s",
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			before, err := roundTrip(v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := normalize(v)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(before, got); d != "" {
				t.Errorf("normalize differs from the round trip (-want +got):\n%s", d)
			}
			again, _ := roundTrip(v)
			if d := cmp.Diff(before, again); d != "" {
				t.Errorf("normalize changed its input (-before +after):\n%s", d)
			}
		})
	}
	if _, err := normalize(map[string]any{"n": math.NaN()}); err == nil {
		t.Error("NaN normalized without an error, as JSON cannot encode it")
	}
}

// TestEqualIsCmpEqual checks the reflection-free equality against
// cmp.Equal, and that diffTrees finds nothing exactly where mapsEqual
// says so.
func TestEqualIsCmpEqual(t *testing.T) {
	values := []any{nil, "a", "b", 1.0, 2.0, true, false,
		map[string]any{}, map[string]any(nil), map[string]any{"a": nil}, map[string]any{"a": 1.0}, map[string]any{"a": 1.0, "b": "x"},
		map[string]any{"a": map[string]any{"b": nil}}, map[string]any{"a": map[string]any{}},
		[]any{}, []any(nil), []any{nil}, []any{1.0, "a"}, []any{"a", 1.0}, []any{map[string]any{"a": nil}}, []any{map[string]any{}},
		int64(1), []string{"a"}}
	for _, a := range values {
		for _, b := range values {
			if got, want := equal(a, b), cmp.Equal(a, b); got != want {
				t.Errorf("equal(%#v, %#v) = %v, cmp.Equal says %v", a, b, got, want)
			}
			am, aok := a.(map[string]any)
			bm, bok := b.(map[string]any)
			if !aok || !bok {
				continue
			}
			var diffs []leafDiff
			diffTrees(nil, am, bm, true, true, &diffs)
			// diffTrees itself asks mapsEqual first: walk the keys as it
			// did before, to compare the two rules.
			var walked []leafDiff
			for k := range am {
				diffTrees(path{k}, am[k], bm[k], true, true, &walked)
			}
			for k := range bm {
				if _, ok := am[k]; !ok {
					diffTrees(path{k}, nil, bm[k], false, true, &walked)
				}
			}
			if mapsEqual(am, bm) != (len(walked) == 0) || (len(diffs) == 0) != (len(walked) == 0) {
				t.Errorf("%#v against %#v: mapsEqual %v, diffTrees found %d, key by key %d", a, b, mapsEqual(am, bm), len(diffs), len(walked))
			}
		}
	}
}
