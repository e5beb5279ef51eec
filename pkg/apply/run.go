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
type execFunc func(ctx context.Context, ch *diff.Change, t *target) (diff.Applied, error)

type done struct {
	idx     int
	applied diff.Applied
	err     error
	dur     time.Duration
	// notStarted: the run was interrupted while the operation waited
	// for one of the shared slots.
	notStarted bool
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
func run(ctx context.Context, p *diff.Plan, opts Options, tgt *target, exec execFunc) (*diff.Report, error) {
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
	t := *tgt
	t.produced = ids.get

	results := make([]diff.Result, n)
	settled := make([]bool, n)
	for i, ch := range p.Changes {
		results[i] = diff.Result{Change: ch, Status: diff.NotStarted}
	}
	ready := diff.NewReadyQueue(deps, func(a, b int) bool { return a < b }) // popped in plan order
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
			results[d].Status = diff.Skipped
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
	interrupted, unreachable := false, false
	cancelled := ctx.Done()
	interrupt := func() {
		interrupted, cancelled = true, nil
		grace = time.AfterFunc(opts.GracePeriod, cancelOps)
	}
	for {
		if !interrupted && ctx.Err() != nil {
			interrupt()
		}
		for !interrupted && !unreachable && inFlight < opts.Parallelism && ready.Len() > 0 {
			i := ready.Pop()
			if settled[i] {
				continue
			}
			ch := p.Changes[i]
			inFlight++
			go func() {
				if opts.Slots != nil {
					select {
					case opts.Slots <- struct{}{}:
						defer func() { <-opts.Slots }()
					case <-ctx.Done():
						finished <- done{idx: i, notStarted: true}
						return
					}
				}
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
			if d.notStarted {
				continue
			}
			r := &results[d.idx]
			r.Duration = d.dur
			if d.err != nil {
				r.Status, r.Err = diff.Failed, d.err
				// Konnect gave up answering: start nothing new.
				unreachable = unreachable || errors.Is(d.err, konnect.ErrUnreachable)
				notify(d.idx)
				skip(d.idx, d.idx)
				continue
			}
			r.Status, r.Applied = diff.Succeeded, d.applied
			if d.applied.ID != "" {
				ids.set(p.Changes[d.idx], d.applied.ID)
			}
			notify(d.idx)
			ready.Done(d.idx)
		}
	}

	rerr := &RunError{Interrupted: interrupted, Unreachable: unreachable, Deadline: errors.Is(ctx.Err(), context.DeadlineExceeded)}
	for i := range results {
		if !settled[i] {
			notify(i) // NotStarted
		}
		switch results[i].Status {
		case diff.Failed:
			rerr.Failed++
		case diff.Skipped:
			rerr.Skipped++
		case diff.NotStarted:
			rerr.NotStarted++
		}
	}
	rep := &diff.Report{Results: results}
	if rerr.Failed+rerr.Skipped+rerr.NotStarted > 0 {
		return rep, rerr
	}
	return rep, nil
}
