package diff

import (
	"container/heap"
	"fmt"
	"sort"
	"strings"
)

// edges adds the dependency graph's edges between the planned changes.
func (b *builder) edges() {
	storeCreate := map[string]*node{}
	storeDelete := map[string]*node{} // by live id
	secretCreate := map[string]*node{}
	secretDelete := map[string]*node{}
	vaultChange := map[string]*node{} // create or update, by prefix
	vaultDelete := map[string]*node{}
	secretDeletesByStore := map[string][]*node{}
	for _, n := range b.nodes {
		c := n.c
		switch c.Kind {
		case KindConfigStore:
			if c.Action == Create {
				storeCreate[n.storeName] = n
			} else if c.Action == Delete {
				storeDelete[n.liveStoreID] = n
			}
		case KindSecret:
			k := n.storeName + "\x00" + n.key
			if c.Action == Create {
				secretCreate[k] = n
			} else if c.Action == Delete {
				secretDelete[k] = n
				secretDeletesByStore[c.Secret.StoreID] = append(secretDeletesByStore[c.Secret.StoreID], n)
			}
		case KindVault:
			if c.Action == Delete {
				vaultDelete[n.prefix] = n
			} else {
				vaultChange[n.prefix] = n
			}
		}
	}
	dep := func(n, on *node) {
		if on != nil && n != nil && n != on {
			n.deps[on] = true
		}
	}
	for _, n := range b.nodes {
		c := n.c
		switch c.Kind {
		case KindSecret:
			if c.Action == Create {
				dep(n, storeCreate[n.storeName])
			}
		case KindVault:
			if c.Action != Delete && n.pendingStore {
				dep(n, storeCreate[n.desiredStoreName])
			}
			if n.liveStoreID != "" && (c.Action == Delete || n.liveStoreID != c.Vault.Body.Config["config_store_id"]) {
				// The store the vault leaves goes after it.
				dep(storeDelete[n.liveStoreID], n)
			}
			if c.Action == Delete {
				for _, s := range secretDeletesByStore[n.liveStoreID] {
					dep(s, n)
				}
			}
		case KindPlugin:
			if c.Action != Delete {
				for ref := range n.desiredRefs {
					if v := vaultChange[ref.prefix]; v != nil && resolvesDifferently(v.c) {
						dep(n, v)
					}
					if store, ok := b.vaultStoreByPrefix[ref.prefix]; ok {
						dep(n, secretCreate[store+"\x00"+ref.key])
					}
				}
			}
			for ref := range n.liveRefs {
				if c.Action == Update && n.desiredRefs[ref] {
					continue
				}
				dep(vaultDelete[ref.prefix], n)
				if id := b.liveVaultStoreByPrefix[ref.prefix]; id != "" {
					dep(secretDelete[b.liveStoreByID[id].Name+"\x00"+ref.key], n)
				}
			}
		}
	}
	// A delete that frees a unique key runs before the change that takes it.
	held := map[string][]*node{}
	for _, n := range b.nodes {
		if n.c.Action == Delete {
			for _, k := range n.naturalKeys {
				held[k] = append(held[k], n)
			}
		}
	}
	for _, n := range b.nodes {
		if n.c.Action == Delete {
			continue
		}
		for _, k := range n.naturalKeys {
			for _, d := range held[k] {
				dep(n, d)
			}
		}
	}
}

// resolvesDifferently reports whether a vault change can change what a
// reference through the vault resolves to (a description or tags update
// cannot, and so does not hold up the plugins that use the vault).
func resolvesDifferently(c *Change) bool {
	if c.Action != Update {
		return true
	}
	for _, f := range c.Fields {
		if f.Path == "name" || f.Path == "prefix" || strings.HasPrefix(f.Path, "config") {
			return true
		}
	}
	return false
}

// rank orders ready changes: creates and updates from stores to plugins,
// then deletes from plugins to stores, so that unrelated changes print in a
// stable, familiar order.
func rank(c *Change) int {
	kinds := map[Kind]int{KindConfigStore: 0, KindSecret: 1, KindVault: 2, KindPlugin: 3}
	if c.Action == Delete {
		return 7 - kinds[c.Kind]
	}
	return kinds[c.Kind]
}

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

type readyQueue []*node

func (q readyQueue) Len() int           { return len(q) }
func (q readyQueue) Less(i, j int) bool { return less(q[i].c, q[j].c) }
func (q readyQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *readyQueue) Push(x any)        { *q = append(*q, x.(*node)) }
func (q *readyQueue) Pop() any {
	old := *q
	n := old[len(old)-1]
	*q = old[:len(old)-1]
	return n
}

// order sorts the changes topologically (ties broken by rank, then name)
// and numbers them; DependsOn gets the IDs of each change's dependencies.
func order(nodes []*node) ([]*Change, error) {
	waiting := map[*node]int{}
	dependents := map[*node][]*node{}
	q := &readyQueue{}
	for _, n := range nodes {
		waiting[n] = len(n.deps)
		for d := range n.deps {
			dependents[d] = append(dependents[d], n)
		}
		if len(n.deps) == 0 {
			*q = append(*q, n)
		}
	}
	heap.Init(q)
	ids := map[*node]int{}
	out := make([]*Change, 0, len(nodes))
	for q.Len() > 0 {
		n := heap.Pop(q).(*node)
		n.c.ID = len(out)
		ids[n] = n.c.ID
		out = append(out, n.c)
		for _, d := range dependents[n] {
			waiting[d]--
			if waiting[d] == 0 {
				heap.Push(q, d)
			}
		}
	}
	if len(out) != len(nodes) {
		var stuck []string
		for _, n := range nodes {
			if _, done := ids[n]; !done {
				stuck = append(stuck, fmt.Sprintf("%s %s %s", n.c.Action, n.c.Kind, n.c.Name))
			}
		}
		sort.Strings(stuck)
		return nil, fmt.Errorf("diff: the changes form a dependency cycle: %v", stuck)
	}
	for _, n := range nodes {
		n.c.DependsOn = make([]int, 0, len(n.deps))
		for d := range n.deps {
			n.c.DependsOn = append(n.c.DependsOn, ids[d])
		}
		sort.Ints(n.c.DependsOn)
	}
	return out, nil
}

// Dependents returns the IDs of the changes that depend directly on the
// change with that ID (the reverse of Change.DependsOn), in order.
func (p *Plan) Dependents(id int) []int {
	var out []int
	for _, c := range p.Changes {
		for _, d := range c.DependsOn {
			if d == id {
				out = append(out, c.ID)
				break
			}
		}
	}
	return out
}
