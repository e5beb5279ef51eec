package diff

import (
	"container/heap"
	"fmt"
	"sort"
)

func less(a, b *Change) bool {
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Scope != b.Scope {
		return a.Scope < b.Scope
	}
	return a.Action < b.Action
}

// ReadyQueue walks a dependency graph in topological order (Kahn's
// algorithm), online: Pop hands out the least ready item, and Done(i)
// makes ready the items whose last unfinished dependency i was. The
// planner drains it to order a plan; pkg/apply pops as operations may
// start and calls Done as they succeed, in any order, so that a run starts
// changes in plan order. It is a binary heap: O(log n) a push or a pop,
// whatever the order items become ready in.
type ReadyQueue struct {
	items      []int
	less       func(a, b int) bool
	waiting    []int
	dependants [][]int
}

// NewReadyQueue is the queue over len(deps) items whose dependencies are
// deps (by index), ordered by less.
func NewReadyQueue(deps [][]int, less func(a, b int) bool) *ReadyQueue {
	n := len(deps)
	q := &ReadyQueue{less: less, waiting: make([]int, n), dependants: make([][]int, n)}
	for i := range n {
		q.waiting[i] = len(deps[i])
		for _, d := range deps[i] {
			q.dependants[d] = append(q.dependants[d], i)
		}
		if q.waiting[i] == 0 {
			q.items = append(q.items, i)
		}
	}
	heap.Init((*readyHeap)(q))
	return q
}

// Len is the number of ready items.
func (q *ReadyQueue) Len() int { return len(q.items) }

// Pop removes and returns the least ready item.
func (q *ReadyQueue) Pop() int { return heap.Pop((*readyHeap)(q)).(int) }

// Done marks item i finished: its dependants whose dependencies are all
// done become ready.
func (q *ReadyQueue) Done(i int) {
	for _, d := range q.dependants[i] {
		if q.waiting[d]--; q.waiting[d] == 0 {
			heap.Push((*readyHeap)(q), d)
		}
	}
}

// readyHeap is the queue as a container/heap.
type readyHeap ReadyQueue

func (q *readyHeap) Len() int           { return len(q.items) }
func (q *readyHeap) Less(i, j int) bool { return q.less(q.items[i], q.items[j]) }
func (q *readyHeap) Swap(i, j int)      { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *readyHeap) Push(x any)         { q.items = append(q.items, x.(int)) }
func (q *readyHeap) Pop() any {
	n := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return n
}

// topoOrder drains a ReadyQueue over n items: ok is false when the items
// form a cycle; order then holds those that could go.
func topoOrder(n int, deps [][]int, less func(a, b int) bool) (order []int, ok bool) {
	q := NewReadyQueue(deps[:n], less)
	order = make([]int, 0, n)
	for q.Len() > 0 {
		i := q.Pop()
		order = append(order, i)
		q.Done(i)
	}
	return order, len(order) == n
}

// order sorts the changes topologically (ties broken by rank, then name)
// and numbers them; DependsOn gets the IDs of each change's dependencies.
func order(nodes []*node) ([]*Change, error) {
	index := make(map[*node]int, len(nodes))
	for i, n := range nodes {
		index[n] = i
	}
	deps := make([][]int, len(nodes))
	for i, n := range nodes {
		for d := range n.deps {
			deps[i] = append(deps[i], index[d])
		}
	}
	idxs, ok := topoOrder(len(nodes), deps, func(a, b int) bool { return less(nodes[a].c, nodes[b].c) })
	if !ok {
		done := map[int]bool{}
		for _, i := range idxs {
			done[i] = true
		}
		var stuck []string
		for i, n := range nodes {
			if !done[i] {
				stuck = append(stuck, n.c.String())
			}
		}
		sort.Strings(stuck)
		return nil, fmt.Errorf("diff: the changes form a dependency cycle: %v", stuck)
	}
	out := make([]*Change, len(idxs))
	for pos, i := range idxs {
		nodes[i].c.ID = pos
		out[pos] = nodes[i].c
	}
	for _, n := range nodes {
		n.c.DependsOn = make([]int, 0, len(n.deps))
		for d := range n.deps {
			n.c.DependsOn = append(n.c.DependsOn, d.c.ID)
		}
		sort.Ints(n.c.DependsOn)
	}
	return out, nil
}

// Graph returns the plan's edges by index into Changes, both ways, after
// checking them: a missing change, a duplicate ID, a dependency on an
// unknown change or on itself, and a cycle are errors.
func (p *Plan) Graph() (deps, dependants [][]int, err error) {
	n := len(p.Changes)
	index := make(map[int]int, n)
	for i, ch := range p.Changes {
		if ch == nil {
			return nil, nil, fmt.Errorf("change %d of the plan is missing", i)
		}
		if _, dup := index[ch.ID]; dup {
			return nil, nil, fmt.Errorf("the plan has two changes with id %d", ch.ID)
		}
		index[ch.ID] = i
	}
	deps = make([][]int, n)
	dependants = make([][]int, n)
	for i, ch := range p.Changes {
		seen := map[int]bool{}
		for _, id := range ch.DependsOn {
			j, ok := index[id]
			if !ok {
				return nil, nil, fmt.Errorf("%s depends on unknown change %d", ch.String(), id)
			}
			if j == i {
				return nil, nil, fmt.Errorf("%s depends on itself", ch.String())
			}
			if seen[j] {
				continue
			}
			seen[j] = true
			deps[i] = append(deps[i], j)
			dependants[j] = append(dependants[j], i)
		}
	}
	if _, ok := topoOrder(n, deps, func(a, b int) bool { return a < b }); !ok {
		return nil, nil, fmt.Errorf("the plan's dependencies form a cycle")
	}
	return deps, dependants, nil
}
