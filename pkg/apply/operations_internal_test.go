package apply

import (
	"testing"

	"github.com/kvsync/kvsync/pkg/diff"
)

// TestEveryKindHasAnOperation: a kind added to pkg/diff's table without
// its executor here fails this test, not a sync.
func TestEveryKindHasAnOperation(t *testing.T) {
	for _, k := range diff.Kinds() {
		if operations[k] == nil {
			t.Errorf("kind %s has no operation in pkg/apply", k)
		}
	}
	if len(operations) != len(diff.Kinds()) {
		t.Errorf("%d operations for %d kinds", len(operations), len(diff.Kinds()))
	}
}
