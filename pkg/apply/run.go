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
	s := newSchedule(p, opts, dependants)
	ids := &produced{ids: map[*diff.Change]string{}}
	t := *tgt
	t.produced = ids.get
	sp := newSpeculating(opts.speculation, &t)
	ready := diff.NewReadyQueue(deps, func(a, b int) bool { return a < b }) // popped in plan order

	opCtx, cancelOps, release := operationContext(ctx)
	defer release()
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
		for !interrupted && !unreachable && !throttled && !sp.aborted && inFlight < limit() {
			i, ok := sp.next(ready, p.Changes)
			if !ok {
				break
			}
			if s.settled[i] {
				continue
			}
			ch, t := p.Changes[i], sp.start(i)
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
				applied, err := exec(opCtx, ch, t)
				finished <- done{idx: i, applied: applied, err: err, dur: time.Since(start)}
			}()
		}
		if inFlight == 0 && (sp.settled() || interrupted || unreachable || throttled) {
			break
		}
		select {
		case <-cancelled:
			interrupt()
		case <-sp.freeze():
			sp.frozen()
		case ok := <-sp.verdict():
			sp.decided(ok)
		case d := <-finished:
			inFlight--
			sp.ended(d, p.Changes[d.idx])
			if d.notStarted {
				continue
			}
			if !s.finish(d) {
				// Konnect gave up answering, or kept throttling: start
				// nothing new.
				unreachable = unreachable || errors.Is(d.err, konnect.ErrUnreachable)
				throttled = throttled || errors.Is(d.err, konnect.ErrThrottled)
				continue
			}
			if d.applied.ID != "" {
				ids.set(p.Changes[d.idx], d.applied.ID)
			}
			ready.Done(d.idx)
		}
	}
	sp.stop()
	return s.report(&RunError{Interrupted: interrupted, Unreachable: unreachable, Throttled: throttled, Deadline: errors.Is(ctx.Err(), context.DeadlineExceeded)})
}

// operationContext is the context operations run on: it outlives a
// cancellation of ctx (cancel ends it, after the grace period), so that
// Ctrl-C does not cut requests off half-way; a call that has not sent its
// request yet (waiting for a retry, or for the pacer) stops at once. The
// run's deadline still holds. release frees it.
func operationContext(ctx context.Context) (opCtx context.Context, cancel context.CancelFunc, release func()) {
	base := konnect.WithStop(context.WithoutCancel(ctx), ctx.Done())
	cancelDeadline := func() {}
	if deadline, ok := ctx.Deadline(); ok {
		base, cancelDeadline = context.WithDeadline(base, deadline)
	}
	opCtx, cancel = context.WithCancel(base)
	return opCtx, cancel, func() { cancel(); cancelDeadline() }
}

// schedule is the results of a run as they settle.
type schedule struct {
	p          *diff.Plan
	opts       Options
	dependants [][]int
	results    []diff.Result
	settled    []bool
}

func newSchedule(p *diff.Plan, opts Options, dependants [][]int) *schedule {
	s := &schedule{p: p, opts: opts, dependants: dependants,
		results: make([]diff.Result, len(p.Changes)), settled: make([]bool, len(p.Changes))}
	for i, ch := range p.Changes {
		s.results[i] = diff.Result{Change: ch, Status: diff.NotStarted}
	}
	return s
}

// notify settles change i and reports it.
func (s *schedule) notify(i int) {
	s.settled[i] = true
	if s.opts.OnResult != nil {
		s.opts.OnResult(s.results[i])
	}
}

// finish records an operation's outcome; false when it failed (its
// transitive dependants are then skipped).
func (s *schedule) finish(d done) bool {
	r := &s.results[d.idx]
	r.Duration = d.dur
	if d.err != nil {
		r.Status, r.Err = diff.Failed, d.err
		s.notify(d.idx)
		s.skip(d.idx, d.idx)
		return false
	}
	r.Status, r.Applied = diff.Succeeded, d.applied
	s.notify(d.idx)
	return true
}

// skip marks every transitive dependant of a failed change.
func (s *schedule) skip(i, cause int) {
	for _, d := range s.dependants[i] {
		if s.settled[d] {
			continue
		}
		s.results[d].Status = diff.Skipped
		s.results[d].Cause = s.p.Changes[cause].ID
		s.results[d].Err = fmt.Errorf("depends on failed %s", s.p.Changes[cause].String())
		s.notify(d)
		s.skip(d, cause)
	}
}

// report settles what never started and counts the outcomes into rerr,
// returned when not everything succeeded.
func (s *schedule) report(rerr *RunError) (*diff.Report, error) {
	for i := range s.results {
		if !s.settled[i] {
			s.notify(i) // NotStarted
		}
		switch s.results[i].Status {
		case diff.Failed:
			rerr.Failed++
		case diff.Skipped:
			rerr.Skipped++
		case diff.NotStarted:
			rerr.NotStarted++
		}
	}
	rep := &diff.Report{Results: s.results}
	if rerr.Failed+rerr.Skipped+rerr.NotStarted > 0 {
		return rep, rerr
	}
	return rep, nil
}
