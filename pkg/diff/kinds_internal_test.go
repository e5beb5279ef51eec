package diff

import "testing"

// TestDescriptorsComplete: the hooks every kind needs are there (the
// optional ones, check, dump, sortDump, dumped, record, say nil means
// "nothing to do"). pkg/apply's TestKindConformance runs each kind's life
// end to end.
func TestDescriptorsComplete(t *testing.T) {
	seen := map[Kind]bool{}
	for _, d := range kinds {
		if d.kind == "" || d.label == "" || seen[d.kind] {
			t.Errorf("descriptor %q: no kind or label, or a kind twice", d.kind)
		}
		seen[d.kind] = true
		for name, missing := range map[string]bool{
			"fetch": d.fetch == nil, "plan": d.plan == nil, "managed": d.managed == nil, "fingerprint": d.fingerprint == nil,
		} {
			if missing {
				t.Errorf("kind %s has no %s", d.kind, name)
			}
		}
	}
}
