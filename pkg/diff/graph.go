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

// readyQueue is a heap of item indexes ordered by less.
type readyQueue struct {
	items []int
	less  func(a, b int) bool
}

func (q *readyQueue) Len() int           { return len(q.items) }
func (q *readyQueue) Less(i, j int) bool { return q.less(q.items[i], q.items[j]) }
func (q *readyQueue) Swap(i, j int)      { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *readyQueue) Push(x any)         { q.items = append(q.items, x.(int)) }
func (q *readyQueue) Pop() any {
	n := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return n
}

// topoOrder is Kahn's algorithm over n items whose dependencies are deps
// (by index): among the ready items it takes the least first. ok is false
// when the items form a cycle; order then holds those that could go.
func topoOrder(n int, deps [][]int, less func(a, b int) bool) (order []int, ok bool) {
	waiting := make([]int, n)
	dependants := make([][]int, n)
	q := &readyQueue{less: less}
	for i := range n {
		waiting[i] = len(deps[i])
		for _, d := range deps[i] {
			dependants[d] = append(dependants[d], i)
		}
		if waiting[i] == 0 {
			q.items = append(q.items, i)
		}
	}
	heap.Init(q)
	order = make([]int, 0, n)
	for q.Len() > 0 {
		i := heap.Pop(q).(int)
		order = append(order, i)
		for _, d := range dependants[i] {
			if waiting[d]--; waiting[d] == 0 {
				heap.Push(q, d)
			}
		}
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
