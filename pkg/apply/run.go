package apply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
)

// execFunc performs one change on t, whose Produced reads the ids earlier
// changes produced; it returns what Konnect answered.
// The scheduler is tested with fakes of it; Apply uses execute.
type execFunc func(ctx context.Context, ch *diff.Change, t *diff.Target) (diff.Applied, error)

type done struct {
	idx     int
	applied diff.Applied
	err     error
	dur     time.Duration
}

// produced records the ids changes produced, for the IDRefs of later ones.
type produced struct {
	mu  sync.RWMutex
	ids map[*diff.Change]string
}

func (p *produced) get(c *diff.Change) (string, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	id, ok := p.ids[c]
	return id, ok
}

func (p *produced) set(c *diff.Change, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids[c] = id
}

// run schedules the plan's graph over exec.
func run(ctx context.Context, p *diff.Plan, opts Options, target *diff.Target, exec execFunc) (*Report, error) {
	n := len(p.Changes)
	if opts.Parallelism <= 0 {
		opts.Parallelism = DefaultParallelism
	}
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = DefaultGracePeriod
	}
	deps, dependants, err := p.Graph()
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	ids := &produced{ids: map[*diff.Change]string{}}
	t := *target
	t.Produced = ids.get

	results := make([]Result, n)
	settled := make([]bool, n)
	for i, ch := range p.Changes {
		results[i] = Result{Change: ch, Status: NotStarted}
	}
	waiting := make([]int, n) // unfinished dependencies
	ready := &readySet{}      // popped in plan order
	for i := range n {
		waiting[i] = len(deps[i])
		if waiting[i] == 0 {
			ready.push(i)
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
			results[d].Err = fmt.Errorf("depends on failed %s", p.Changes[cause].String())
			notify(d)
			skip(d, cause)
		}
	}

	// Operations run on a context that outlives a cancellation of ctx by
	// the grace period, so that Ctrl-C does not cut requests off half-way;
	// a call that has not sent its request yet (waiting for a retry, or
	// for the pacer) stops at once. The run's deadline still holds.
	base := konnect.WithStop(context.WithoutCancel(ctx), ctx.Done())
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		base, cancel = context.WithDeadline(base, deadline)
		defer cancel()
	}
	opCtx, cancelOps := context.WithCancel(base)
	defer cancelOps()
	var grace *time.Timer
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()

	finished := make(chan done)
	inFlight := 0
	interrupted, unreachable, throttled := false, false, false
	cancelled := ctx.Done()
	interrupt := func() {
		interrupted, cancelled = true, nil
		grace = time.AfterFunc(opts.GracePeriod, cancelOps)
	}
	limit := func() int {
		if opts.Concurrency == nil {
			return opts.Parallelism
		}
		return min(opts.Parallelism, max(1, opts.Concurrency()))
	}
	for {
		if !interrupted && ctx.Err() != nil {
			interrupt()
		}
		for !interrupted && !unreachable && !throttled && inFlight < limit() && ready.len() > 0 {
			i := ready.pop()
			ch := p.Changes[i]
			inFlight++
			go func() {
				start := time.Now()
				applied, err := exec(opCtx, ch, &t)
				finished <- done{idx: i, applied: applied, err: err, dur: time.Since(start)}
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
				// Konnect gave up answering: start nothing new.
				unreachable = unreachable || errors.Is(d.err, konnect.ErrUnreachable)
				throttled = throttled || errors.Is(d.err, konnect.ErrThrottled)
				notify(d.idx)
				skip(d.idx, d.idx)
				continue
			}
			r.Status, r.Applied = Succeeded, d.applied
			if d.applied.ID != "" {
				ids.set(p.Changes[d.idx], d.applied.ID)
			}
			notify(d.idx)
			for _, dep := range dependants[d.idx] {
				waiting[dep]--
				if waiting[dep] == 0 && !settled[dep] {
					ready.push(dep)
				}
			}
		}
	}

	rerr := &RunError{Interrupted: interrupted, Unreachable: unreachable, Throttled: throttled, Deadline: errors.Is(ctx.Err(), context.DeadlineExceeded)}
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
