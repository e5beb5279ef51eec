package diff_test

import (
	"math/rand/v2"
	"testing"

	"github.com/kvsync/kvsync/pkg/diff"
)

// TestReadyQueue drives the queue over a random DAG, finishing items in a
// scrambled order as a parallel run does: every pop is the least item
// whose dependencies are all done, and every item comes out once.
func TestReadyQueue(t *testing.T) {
	const n = 2000
	r := rand.New(rand.NewPCG(1, 2))
	deps := make([][]int, n)
	for i := range n {
		for range r.IntN(3) {
			if i > 0 {
				deps[i] = append(deps[i], r.IntN(i))
			}
		}
	}
	// Items are numbered against their order: the least ready item is
	// rarely the next created.
	perm := r.Perm(n)
	pdeps := make([][]int, n)
	for i, ds := range deps {
		for _, d := range ds {
			pdeps[perm[i]] = append(pdeps[perm[i]], perm[d])
		}
	}
	q := diff.NewReadyQueue(pdeps, func(a, b int) bool { return a < b })
	done := make([]bool, n)
	popped := make([]bool, n)
	var running []int
	count := 0
	for q.Len() > 0 || len(running) > 0 {
		for q.Len() > 0 && len(running) < 5 {
			i := q.Pop()
			for j := range i {
				if !popped[j] && readyNow(j, pdeps, done) {
					t.Fatalf("popped %d while %d was ready", i, j)
				}
			}
			if popped[i] || !readyNow(i, pdeps, done) {
				t.Fatalf("popped %d twice or before its dependencies", i)
			}
			popped[i] = true
			running = append(running, i)
		}
		k := r.IntN(len(running))
		i := running[k]
		running = append(running[:k], running[k+1:]...)
		done[i] = true
		q.Done(i)
		count++
	}
	if count != n {
		t.Fatalf("%d items came out, want %d", count, n)
	}
}

func readyNow(i int, deps [][]int, done []bool) bool {
	for _, d := range deps[i] {
		if !done[d] {
			return false
		}
	}
	return true
}
