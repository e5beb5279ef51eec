package diff_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestLayers keeps the data flowing one way: the plan and its renderers
// depend on no executor, pkg/konnect imports no other kvsync package, and
// pkg/state knows nothing of HTTP.
func TestLayers(t *testing.T) {
	const mod = "github.com/kvsync/kvsync/"
	deps := func(root string) map[string]bool {
		seen := map[string]bool{}
		var walk func(path string)
		walk = func(path string) {
			if seen[path] {
				return
			}
			seen[path] = true
			if !strings.HasPrefix(path, mod) {
				return
			}
			p, err := build.Import(path, ".", 0)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, imp := range p.Imports {
				walk(imp)
			}
		}
		walk(root)
		delete(seen, root)
		return seen
	}
	for _, tc := range []struct {
		pkg       string
		forbidden []string
	}{
		{"pkg/diff", []string{"pkg/apply", "cmd/"}},
		{"pkg/diff/render", []string{"pkg/apply", "cmd/"}},
		{"pkg/konnect", []string{"pkg/", "cmd/"}},
		{"pkg/state", []string{"net/http", "pkg/konnect", "pkg/diff", "pkg/apply"}},
	} {
		for d := range deps(mod + tc.pkg) {
			for _, f := range tc.forbidden {
				rel := strings.TrimPrefix(d, mod)
				if strings.HasPrefix(rel, f) && !(tc.pkg == "pkg/state" && strings.HasPrefix(rel, "pkg/konnect/kong")) && !(tc.pkg == "pkg/konnect" && strings.HasPrefix(rel, "pkg/konnect")) {
					t.Errorf("%s depends on %s", tc.pkg, d)
				}
			}
		}
	}
}
