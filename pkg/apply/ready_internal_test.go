package apply

import (
	"testing"

	"github.com/kvsync/kvsync/pkg/diff"
)

// TestReadySetOrder pushes indexes in a scrambled order, popping between
// pushes: every pop is the smallest index held.
func TestReadySetOrder(t *testing.T) {
	var s readySet
	held := map[int]bool{}
	for n := range 1000 {
		i := (n * 7919) % 1000
		s.push(i)
		held[i] = true
		if n%3 == 2 {
			got := s.pop()
			for j := range got {
				if held[j] {
					t.Fatalf("pop gave %d while %d is held", got, j)
				}
			}
			delete(held, got)
		}
	}
	prev := -1
	for s.len() > 0 {
		got := s.pop()
		if got <= prev || !held[got] {
			t.Fatalf("pop gave %d after %d", got, prev)
		}
		prev = got
	}
}

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
