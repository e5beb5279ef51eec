package apply

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/kvsync/kvsync/pkg/diff"
)

// execFunc performs one change. For a config store create or update it
// returns the store's id, which flows into the secrets and vaults that name
// the store; otherwise the string is empty. The scheduler is tested with
// fakes of it, Apply uses clientExecutor.execute.
type execFunc func(ctx context.Context, ch *diff.Change) (storeID string, err error)

type done struct {
	idx     int
	storeID string
	err     error
	dur     time.Duration
}

// run schedules the plan's graph over exec.
func run(ctx context.Context, p *diff.Plan, opts Options, exec execFunc) (*Report, error) {
	n := len(p.Changes)
	if opts.Parallelism <= 0 {
		opts.Parallelism = DefaultParallelism
	}
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = DefaultGracePeriod
	}
	deps, dependants, err := graph(p)
	if err != nil {
		return nil, err
	}

	results := make([]Result, n)
	settled := make([]bool, n)
	for i, ch := range p.Changes {
		results[i] = Result{Change: ch, Status: NotStarted}
	}
	waiting := make([]int, n) // unfinished dependencies
	var ready []int           // kept in plan order
	for i := range n {
		waiting[i] = len(deps[i])
		if waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	notify := func(i int) {
		settled[i] = true
		if opts.OnResult != nil {
			opts.OnResult(results[i])
		}
	}
	// skip marks every transitive dependant of a failed change.
	var skip func(i, cause int)
	skip = func(i, cause int) {
		for _, d := range dependants[i] {
			if settled[d] {
				continue
			}
			results[d].Status = Skipped
			results[d].Cause = p.Changes[cause].ID
			results[d].Err = fmt.Errorf("depends on failed %s", describe(p.Changes[cause]))
			notify(d)
			skip(d, cause)
		}
	}

	// Operations run on a context that outlives a cancellation of ctx by
	// the grace period, so that Ctrl-C does not cut requests off half-way.
	opCtx, cancelOps := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelOps()
	var grace *time.Timer
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()

	storeIDs := map[string]string{} // created store name -> id
	finished := make(chan done)
	inFlight := 0
	interrupted := false
	cancelled := ctx.Done()
	interrupt := func() {
		interrupted, cancelled = true, nil
		grace = time.AfterFunc(opts.GracePeriod, cancelOps)
	}
	for {
		if !interrupted && ctx.Err() != nil {
			interrupt()
		}
		for !interrupted && inFlight < opts.Parallelism && len(ready) > 0 {
			i := ready[0]
			ready = ready[1:]
			ch := prepare(p.Changes[i], storeIDs)
			inFlight++
			go func() {
				start := time.Now()
				id, err := exec(opCtx, ch)
				finished <- done{idx: i, storeID: id, err: err, dur: time.Since(start)}
			}()
		}
		if inFlight == 0 {
			break
		}
		select {
		case <-cancelled:
			interrupt()
		case d := <-finished:
			inFlight--
			r := &results[d.idx]
			r.Duration = d.dur
			if d.err != nil {
				r.Status, r.Err = Failed, d.err
				notify(d.idx)
				skip(d.idx, d.idx)
				continue
			}
			r.Status = Succeeded
			ch := p.Changes[d.idx]
			if ch.Kind == diff.KindConfigStore && ch.Action != diff.Delete && d.storeID != "" && ch.ConfigStore != nil {
				storeIDs[ch.ConfigStore.Name] = d.storeID
			}
			notify(d.idx)
			for _, dep := range dependants[d.idx] {
				waiting[dep]--
				if waiting[dep] == 0 && !settled[dep] {
					ready = insertOrdered(ready, dep)
				}
			}
		}
	}

	rerr := &RunError{Interrupted: interrupted}
	for i := range results {
		if !settled[i] {
			notify(i) // NotStarted
		}
		switch results[i].Status {
		case Failed:
			rerr.Failed++
		case Skipped:
			rerr.Skipped++
		case NotStarted:
			rerr.NotStarted++
		}
	}
	rep := &Report{Results: results}
	if rerr.Failed+rerr.Skipped+rerr.NotStarted > 0 {
		return rep, rerr
	}
	return rep, nil
}

// graph checks the plan's edges and returns them by index both ways. A
// dependency on an unknown change or a cycle is an error: nothing runs.
func graph(p *diff.Plan) (deps, dependants [][]int, err error) {
	n := len(p.Changes)
	index := make(map[int]int, n)
	for i, ch := range p.Changes {
		if ch == nil {
			return nil, nil, fmt.Errorf("apply: change %d of the plan is missing", i)
		}
		if _, dup := index[ch.ID]; dup {
			return nil, nil, fmt.Errorf("apply: plan has two changes with id %d", ch.ID)
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
				return nil, nil, fmt.Errorf("apply: %s depends on unknown change %d", describe(ch), id)
			}
			if j == i {
				return nil, nil, fmt.Errorf("apply: %s depends on itself", describe(ch))
			}
			if seen[j] {
				continue
			}
			seen[j] = true
			deps[i] = append(deps[i], j)
			dependants[j] = append(dependants[j], i)
		}
	}
	// Kahn's algorithm: every change must be reachable in some order.
	waiting := make([]int, n)
	var queue []int
	for i := range n {
		waiting[i] = len(deps[i])
		if waiting[i] == 0 {
			queue = append(queue, i)
		}
	}
	visited := 0
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		visited++
		for _, d := range dependants[i] {
			if waiting[d]--; waiting[d] == 0 {
				queue = append(queue, d)
			}
		}
	}
	if visited != n {
		return nil, nil, fmt.Errorf("apply: the plan's dependencies form a cycle")
	}
	return deps, dependants, nil
}

func insertOrdered(list []int, v int) []int {
	at := len(list)
	for k, x := range list {
		if x > v {
			at = k
			break
		}
	}
	list = append(list, 0)
	copy(list[at+1:], list[at:])
	list[at] = v
	return list
}

// describe names a change for messages, e.g. `config_store "my-store"`.
func describe(ch *diff.Change) string {
	s := fmt.Sprintf("%s %s %q", ch.Action, ch.Kind, ch.Name)
	if ch.Scope != "" {
		s += " (" + ch.Scope + ")"
	}
	return s
}

// prepare returns the change to execute: the plan's own, or a copy whose
// payload carries the id of a config store created earlier in the run.
func prepare(ch *diff.Change, storeIDs map[string]string) *diff.Change {
	switch {
	case ch.Secret != nil && ch.Secret.StoreID == "":
		id, ok := storeIDs[ch.Secret.StoreName]
		if !ok {
			return ch
		}
		cp := *ch
		sec := *ch.Secret
		sec.StoreID = id
		cp.Secret = &sec
		return &cp
	case ch.Vault != nil && ch.Vault.StoreName != "" && ch.Action != diff.Delete:
		id, ok := storeIDs[ch.Vault.StoreName]
		if !ok {
			return ch
		}
		cp := *ch
		v := *ch.Vault
		v.Body.Config = maps.Clone(v.Body.Config)
		if v.Body.Config == nil {
			v.Body.Config = map[string]any{}
		}
		v.Body.Config["config_store_id"] = id
		cp.Vault = &v
		return &cp
	}
	return ch
}
