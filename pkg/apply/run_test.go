package apply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kvsync/kvsync/pkg/diff"
)

// change builds a plan change with edges; kind and payload only matter to
// the tests of id flow.
func change(id int, deps ...int) *diff.Change {
	return &diff.Change{ID: id, Action: diff.Create, Kind: diff.KindPlugin, Name: fmt.Sprintf("c%d", id),
		DependsOn: deps, Op: &diff.PluginOp{}}
}

func plan(changes ...*diff.Change) *diff.Plan { return &diff.Plan{Changes: changes} }

// recorder is a fake executor that checks dependency order and counts calls.
type recorder struct {
	mu    sync.Mutex
	plan  *diff.Plan
	done  map[int]bool
	calls map[int]int
	order []int
	fail  map[int]bool
	// violations lists changes started before one of their dependencies
	// finished.
	violations []string
}

func newRecorder(p *diff.Plan, fail ...int) *recorder {
	r := &recorder{plan: p, done: map[int]bool{}, calls: map[int]int{}, fail: map[int]bool{}}
	for _, f := range fail {
		r.fail[f] = true
	}
	return r
}

func (r *recorder) exec(ctx context.Context, ch *diff.Change, _ *target) (diff.Applied, error) {
	r.mu.Lock()
	r.calls[ch.ID]++
	r.order = append(r.order, ch.ID)
	for _, d := range ch.DependsOn {
		if !r.done[d] {
			r.violations = append(r.violations, fmt.Sprintf("%d started before %d finished", ch.ID, d))
		}
	}
	r.mu.Unlock()
	if r.fail[ch.ID] {
		return diff.Applied{}, errors.New("boom")
	}
	r.mu.Lock()
	r.done[ch.ID] = true
	r.mu.Unlock()
	return diff.Applied{}, nil
}

func statuses(rep *diff.Report) map[int]diff.Status {
	out := map[int]diff.Status{}
	for _, r := range rep.Results {
		out[r.Change.ID] = r.Status
	}
	return out
}

func TestRunOrderAndFailures(t *testing.T) {
	tests := []struct {
		name     string
		plan     *diff.Plan
		fail     []int
		want     map[int]diff.Status
		causes   map[int]int // skipped change -> cause
		failed   int
		skipped  int
		parallel int
	}{
		{
			name: "empty plan",
			plan: plan(),
			want: map[int]diff.Status{},
		},
		{
			name: "chain in order",
			plan: plan(change(0), change(1, 0), change(2, 1)),
			want: map[int]diff.Status{0: diff.Succeeded, 1: diff.Succeeded, 2: diff.Succeeded},
		},
		{
			name:     "diamond, serial",
			plan:     plan(change(0), change(1, 0), change(2, 0), change(3, 1, 2)),
			want:     map[int]diff.Status{0: diff.Succeeded, 1: diff.Succeeded, 2: diff.Succeeded, 3: diff.Succeeded},
			parallel: 1,
		},
		{
			name:    "failure skips dependants transitively, independent branch completes",
			plan:    plan(change(0), change(1, 0), change(2, 1), change(3), change(4, 3)),
			fail:    []int{1},
			want:    map[int]diff.Status{0: diff.Succeeded, 1: diff.Failed, 2: diff.Skipped, 3: diff.Succeeded, 4: diff.Succeeded},
			causes:  map[int]int{2: 1},
			failed:  1,
			skipped: 1,
		},
		{
			name:    "failed root skips a diamond",
			plan:    plan(change(0), change(1, 0), change(2, 0), change(3, 1, 2), change(4)),
			fail:    []int{0},
			want:    map[int]diff.Status{0: diff.Failed, 1: diff.Skipped, 2: diff.Skipped, 3: diff.Skipped, 4: diff.Succeeded},
			causes:  map[int]int{1: 0, 2: 0, 3: 0},
			failed:  1,
			skipped: 3,
		},
		{
			name:    "one branch of a join fails: the join is skipped, the other branch runs",
			plan:    plan(change(0), change(1), change(2, 0, 1)),
			fail:    []int{1},
			want:    map[int]diff.Status{0: diff.Succeeded, 1: diff.Failed, 2: diff.Skipped},
			causes:  map[int]int{2: 1},
			failed:  1,
			skipped: 1,
		},
		{
			name:   "two independent failures",
			plan:   plan(change(0), change(1), change(2)),
			fail:   []int{0, 2},
			want:   map[int]diff.Status{0: diff.Failed, 1: diff.Succeeded, 2: diff.Failed},
			failed: 2,
		},
		{
			name: "ids need not be indices",
			plan: &diff.Plan{Changes: []*diff.Change{change(10), change(7, 10), change(3, 7)}},
			want: map[int]diff.Status{10: diff.Succeeded, 7: diff.Succeeded, 3: diff.Succeeded},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(tt.plan, tt.fail...)
			var notified []int
			rep, err := run(context.Background(), tt.plan, Options{Parallelism: tt.parallel, OnResult: func(r diff.Result) {
				notified = append(notified, r.Change.ID)
			}}, &target{}, rec.exec)
			if got := statuses(rep); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("statuses = %v, want %v", got, tt.want)
			}
			for _, v := range rec.violations {
				t.Error(v)
			}
			for id, n := range rec.calls {
				if n != 1 {
					t.Errorf("change %d executed %d times", id, n)
				}
			}
			if len(notified) != len(tt.plan.Changes) {
				t.Errorf("OnResult called %d times for %d changes", len(notified), len(tt.plan.Changes))
			}
			for i, r := range rep.Results {
				if r.Change != tt.plan.Changes[i] {
					t.Errorf("result %d is not for change %d", i, i)
				}
				if r.Status == diff.Skipped {
					if want, ok := tt.causes[r.Change.ID]; !ok || r.Cause != want {
						t.Errorf("change %d skipped with cause %d, want %d", r.Change.ID, r.Cause, want)
					}
					if r.Err == nil {
						t.Errorf("skipped change %d has no error", r.Change.ID)
					}
				}
			}
			if tt.failed+tt.skipped == 0 {
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				return
			}
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatalf("error = %v, want a *RunError", err)
			}
			if re.Failed != tt.failed || re.Skipped != tt.skipped || re.NotStarted != 0 || re.Interrupted {
				t.Errorf("RunError = %+v, want %d failed, %d skipped", *re, tt.failed, tt.skipped)
			}
		})
	}
}

// TestRunParallelismBound releases operations one at a time only once the
// expected number is in flight, so it observes both the bound and that the
// scheduler actually fills it.
// peakExec is an executor that announces each start on started, waits
// for release, and records the most operations in flight at once.
func peakExec(started chan<- int, release <-chan struct{}) (execFunc, *atomic.Int32) {
	var inFlight, peak atomic.Int32
	return func(ctx context.Context, ch *diff.Change, _ *target) (diff.Applied, error) {
		cur := inFlight.Add(1)
		for {
			old := peak.Load()
			if cur <= old || peak.CompareAndSwap(old, cur) {
				break
			}
		}
		started <- ch.ID
		<-release
		inFlight.Add(-1)
		return diff.Applied{}, nil
	}, &peak
}

func TestRunParallelismBound(t *testing.T) {
	for _, p := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			const n = 20
			var changes []*diff.Change
			for i := range n {
				changes = append(changes, change(i))
			}
			started := make(chan int, n)
			release := make(chan struct{})
			exec, peak := peakExec(started, release)
			errc := make(chan error, 1)
			go func() {
				_, err := run(context.Background(), plan(changes...), Options{Parallelism: p}, &target{}, exec)
				errc <- err
			}()
			for range p {
				recv(t, started)
			}
			for i := 0; i < n; i++ {
				send(t, release, struct{}{})
				if i+p < n {
					recv(t, started)
				}
			}
			if err := recv(t, errc); err != nil {
				t.Fatal(err)
			}
			if got := peak.Load(); got != int32(p) {
				t.Errorf("peak in flight = %d, want %d", got, p)
			}
		})
	}
}

// TestRunFollowsTheAdvisedConcurrency: the scheduler starts no more than
// the advised concurrency (the client's pacer in Apply) nor the ceiling,
// and follows the advice as it changes between finishes.
func TestRunFollowsTheAdvisedConcurrency(t *testing.T) {
	tests := []struct {
		name          string
		ceiling       int
		before, after int32 // advised before and after the first finish
		wantFirst     int   // in flight at the start
		wantStarted   int   // started when the first one finishes
		wantAfter     int   // the peak in flight then
	}{
		{name: "below the ceiling", ceiling: 6, before: 3, after: 3, wantFirst: 3, wantStarted: 1, wantAfter: 3},
		{name: "above the ceiling", ceiling: 6, before: 10, after: 10, wantFirst: 6, wantStarted: 1, wantAfter: 6},
		{name: "widening", ceiling: 16, before: 2, after: 5, wantFirst: 2, wantStarted: 4, wantAfter: 5},
		{name: "advice below one still runs", ceiling: 4, before: 0, after: 0, wantFirst: 1, wantStarted: 1, wantAfter: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 20
			var changes []*diff.Change
			for i := range n {
				changes = append(changes, change(i))
			}
			var advised, inFlight, peak atomic.Int32
			advised.Store(tt.before)
			started := make(chan int, n)
			release := make(chan struct{})
			exec := func(ctx context.Context, ch *diff.Change, _ *target) (diff.Applied, error) {
				cur := inFlight.Add(1)
				for old := peak.Load(); cur > old && !peak.CompareAndSwap(old, cur); old = peak.Load() {
				}
				started <- ch.ID
				<-release
				inFlight.Add(-1)
				return diff.Applied{}, nil
			}
			errc := make(chan error, 1)
			go func() {
				_, err := run(context.Background(), plan(changes...), Options{Parallelism: tt.ceiling,
					Concurrency: func() int { return int(advised.Load()) }}, &target{}, exec)
				errc <- err
			}()
			for range tt.wantFirst {
				recv(t, started)
			}
			if got := int(peak.Load()); got != tt.wantFirst {
				t.Fatalf("in flight at the start = %d, want %d", got, tt.wantFirst)
			}
			// One finishes: the scheduler reads the advice again and
			// fills up to it.
			advised.Store(tt.after)
			send(t, release, struct{}{})
			for range tt.wantStarted {
				recv(t, started)
			}
			if got := int(peak.Load()); got != tt.wantAfter {
				t.Errorf("peak in flight after the first finish = %d, want %d", got, tt.wantAfter)
			}
			close(release)
			if err := recv(t, errc); err != nil {
				t.Fatal(err)
			}
			if got := int(peak.Load()); got != tt.wantAfter {
				t.Errorf("peak in flight = %d, want %d", got, tt.wantAfter)
			}
		})
	}
}

func TestRunDefaultParallelism(t *testing.T) {
	var changes []*diff.Change
	for i := range DefaultParallelism + 4 {
		changes = append(changes, change(i))
	}
	started := make(chan struct{}, len(changes))
	release := make(chan struct{})
	var peak, inFlight atomic.Int32
	exec := func(ctx context.Context, ch *diff.Change, _ *target) (diff.Applied, error) {
		cur := inFlight.Add(1)
		for old := peak.Load(); cur > old && !peak.CompareAndSwap(old, cur); old = peak.Load() {
		}
		started <- struct{}{}
		<-release
		inFlight.Add(-1)
		return diff.Applied{}, nil
	}
	errc := make(chan error, 1)
	go func() {
		_, err := run(context.Background(), plan(changes...), Options{}, &target{}, exec)
		errc <- err
	}()
	for range DefaultParallelism {
		recv(t, started)
	}
	close(release)
	if err := recv(t, errc); err != nil {
		t.Fatal(err)
	}
	if got := peak.Load(); got != DefaultParallelism {
		t.Errorf("peak in flight = %d, want %d", got, DefaultParallelism)
	}
}

// TestRunCancel cancels while two operations are in flight: they finish on
// a live context, nothing new starts, the rest is NotStarted.
func TestRunCancel(t *testing.T) {
	p := plan(change(0), change(1), change(2, 0), change(3), change(4))
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan int, 5)
	release := make(chan struct{})
	var mu sync.Mutex
	var opCtxErrs []error
	exec := func(opCtx context.Context, ch *diff.Change, _ *target) (diff.Applied, error) {
		started <- ch.ID
		<-release
		mu.Lock()
		opCtxErrs = append(opCtxErrs, opCtx.Err())
		mu.Unlock()
		return diff.Applied{}, nil
	}
	type out struct {
		rep *diff.Report
		err error
	}
	outc := make(chan out, 1)
	go func() {
		rep, err := run(ctx, p, Options{Parallelism: 2}, &target{}, exec)
		outc <- out{rep, err}
	}()
	first := map[int]bool{recv(t, started): true, recv(t, started): true}
	// cancel returns with ctx.Err() set, and the scheduler checks it
	// before starting anything, so no operation can start after this.
	cancel()
	close(release)
	o := recv(t, outc)
	if len(started) != 0 {
		t.Errorf("%d operations started after the cancellation", len(started))
	}
	for _, err := range opCtxErrs {
		if err != nil {
			t.Errorf("an in-flight operation's context was cancelled: %v", err)
		}
	}
	var re *RunError
	if !errors.As(o.err, &re) || !re.Interrupted {
		t.Fatalf("error = %v, want an interrupted *RunError", o.err)
	}
	for _, r := range o.rep.Results {
		want := diff.NotStarted
		if first[r.Change.ID] {
			want = diff.Succeeded
		}
		if r.Status != want {
			t.Errorf("change %d: %s, want %s", r.Change.ID, r.Status, want)
		}
	}
	if re.NotStarted != 3 || re.Failed != 0 || re.Skipped != 0 {
		t.Errorf("RunError = %+v, want 3 not started", *re)
	}
}

func TestRunAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	rep, err := run(ctx, plan(change(0), change(1)), Options{}, &target{}, func(context.Context, *diff.Change, *target) (diff.Applied, error) {
		calls++
		return diff.Applied{}, nil
	})
	if calls != 0 {
		t.Errorf("%d operations ran on a cancelled context", calls)
	}
	var re *RunError
	if !errors.As(err, &re) || re.NotStarted != 2 || !re.Interrupted {
		t.Errorf("error = %v, want 2 not started, interrupted", err)
	}
	if got := rep.Counts()[diff.NotStarted]; got != 2 {
		t.Errorf("not started = %d, want 2", got)
	}
}

// TestRunGracePeriod: an operation that would wait forever (a request
// retried through 429s) is cancelled once the grace period is over.
func TestRunGracePeriod(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	exec := func(opCtx context.Context, ch *diff.Change, _ *target) (diff.Applied, error) {
		close(started)
		<-opCtx.Done()
		return diff.Applied{}, opCtx.Err()
	}
	errc := make(chan error, 1)
	go func() {
		_, err := run(ctx, plan(change(0)), Options{GracePeriod: time.Millisecond}, &target{}, exec)
		errc <- err
	}()
	recv(t, started)
	cancel()
	var re *RunError
	if err := recv(t, errc); !errors.As(err, &re) || re.Failed != 1 || !re.Interrupted {
		t.Errorf("error = %v, want one failure, interrupted", err)
	}
}

func TestRunBadGraph(t *testing.T) {
	tests := map[string]*diff.Plan{
		"cycle":        plan(change(0, 2), change(1, 0), change(2, 1)),
		"self":         plan(change(0, 0)),
		"unknown":      plan(change(0, 9)),
		"duplicate id": plan(change(0), change(0)),
		"nil change":   {Changes: []*diff.Change{nil}},
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			calls := 0
			_, err := run(context.Background(), p, Options{}, &target{}, func(context.Context, *diff.Change, *target) (diff.Applied, error) {
				calls++
				return diff.Applied{}, nil
			})
			if err == nil {
				t.Error("no error for a malformed graph")
			}
			if calls != 0 {
				t.Errorf("%d operations ran", calls)
			}
		})
	}
}

// TestRunIDFlow: an id that a change produces reaches the operations
// whose IDRefs name that change, and only those; a reference to a change
// that produced nothing is an error of the operation, not a panic.
func TestRunIDFlow(t *testing.T) {
	store := &diff.Change{ID: 0, Action: diff.Create, Kind: diff.KindConfigStore, Name: "new",
		Op: &diff.ConfigStoreOp{Name: "new"}}
	other := &diff.Change{ID: 1, Action: diff.Create, Kind: diff.KindConfigStore, Name: "silent",
		Op: &diff.ConfigStoreOp{Name: "silent"}}
	refs := map[int]diff.IDRef{
		2: diff.IDRef{From: store},
		3: diff.KnownID("old-id"),
		4: diff.IDRef{From: store},
		5: diff.IDRef{From: other},
	}
	p := plan(store, other,
		&diff.Change{ID: 2, Action: diff.Create, Kind: diff.KindSecret, Name: "new/k", DependsOn: []int{0}},
		&diff.Change{ID: 3, Action: diff.Create, Kind: diff.KindSecret, Name: "old/k"},
		&diff.Change{ID: 4, Action: diff.Create, Kind: diff.KindVault, Name: "v", DependsOn: []int{0}},
		&diff.Change{ID: 5, Action: diff.Create, Kind: diff.KindVault, Name: "w", DependsOn: []int{1}},
	)
	var mu sync.Mutex
	got := map[int]string{}
	exec := func(ctx context.Context, ch *diff.Change, tgt *target) (diff.Applied, error) {
		switch ch.ID {
		case 0:
			return diff.Applied{ID: "new-id"}, nil
		case 1:
			return diff.Applied{}, nil
		}
		id, err := tgt.resolve(refs[ch.ID])
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			got[ch.ID] = "error: " + err.Error()
			return diff.Applied{}, err
		}
		got[ch.ID] = id
		return diff.Applied{}, nil
	}
	_, err := run(context.Background(), p, Options{}, &target{}, exec)
	var re *RunError
	if !errors.As(err, &re) || re.Failed != 1 {
		t.Fatalf("error = %v, want one failure (the reference to a change that produced no id)", err)
	}
	want := map[int]string{2: "new-id", 3: "old-id", 4: "new-id",
		5: "error: the id of config store silent is unknown (the change that creates it has not run)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved ids (-want +got):\n%s", diff)
	}
}

// waitLimit bounds every wait of these tests, so that a scheduler bug fails
// the test instead of hanging it; nothing here sleeps.
const waitLimit = 10 * time.Second

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("nothing received within %s", waitLimit)
	}
	var zero T
	return zero
}

func send[T any](t *testing.T, ch chan<- T, v T) {
	t.Helper()
	select {
	case ch <- v:
	case <-time.After(waitLimit):
		t.Fatalf("nothing sent within %s", waitLimit)
	}
}

// Runs sharing slots have at most cap(slots) operations in flight
// together, whatever each one's parallelism, and every operation runs.
func TestRunSharedSlots(t *testing.T) {
	const runs, n, slots = 3, 10, 4
	started := make(chan int, runs*n)
	release := make(chan struct{})
	exec, peak := peakExec(started, release)
	shared := NewSlots(slots)
	errc := make(chan error, runs)
	for range runs {
		var changes []*diff.Change
		for i := range n {
			changes = append(changes, change(i))
		}
		go func() {
			_, err := run(context.Background(), plan(changes...), Options{Parallelism: 8, Slots: shared}, &target{}, exec)
			errc <- err
		}()
	}
	for range slots {
		recv(t, started)
	}
	for i := 0; i < runs*n; i++ {
		send(t, release, struct{}{})
		if i+slots < runs*n {
			recv(t, started)
		}
	}
	for range runs {
		if err := recv(t, errc); err != nil {
			t.Fatal(err)
		}
	}
	if got := peak.Load(); got != slots {
		t.Errorf("peak in flight over the runs = %d, want %d", got, slots)
	}
}

// An interrupted run does not start the operations still waiting for a
// shared slot: they are not started.
func TestRunSharedSlotsInterrupted(t *testing.T) {
	shared := NewSlots(1)
	shared <- struct{}{} // another run holds the only slot
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	var calls atomic.Int32
	go func() {
		rep, err := run(ctx, plan(change(0), change(1)), Options{Parallelism: 2, Slots: shared}, &target{}, func(context.Context, *diff.Change, *target) (diff.Applied, error) {
			calls.Add(1)
			return diff.Applied{}, nil
		})
		if rep != nil && rep.Counts()[diff.NotStarted] != 2 {
			err = fmt.Errorf("counts %v, want 2 not started", rep.Counts())
		}
		errc <- err
	}()
	cancel()
	var rerr *RunError
	if err := recv(t, errc); !errors.As(err, &rerr) || rerr.NotStarted != 2 {
		t.Fatalf("err = %v, want 2 not started", err)
	}
	if calls.Load() != 0 {
		t.Error("an operation ran without a slot")
	}
}

// TestRunSpeculation: before the verdict only store and secret creates
// start; the drain waits for those started before the freeze; a
// confirmed plan then runs the rest (held changes first), a refused one
// starts nothing more.
func TestRunSpeculation(t *testing.T) {
	store := &diff.Change{ID: 0, Action: diff.Create, Kind: diff.KindConfigStore, Name: "s", Op: &diff.ConfigStoreOp{Name: "s"}}
	secret := &diff.Change{ID: 1, Action: diff.Create, Kind: diff.KindSecret, Name: "s/k", DependsOn: []int{0},
		Op: &diff.SecretOp{Store: diff.KnownID("store-id"), StoreName: "s", Key: "k"}}
	vault := change(2)
	vault.Kind, vault.Op = diff.KindVault, &diff.VaultOp{}
	update := change(3)
	update.Action = diff.Update
	for _, confirm := range []bool{true, false} {
		t.Run(fmt.Sprintf("confirmed %v", confirm), func(t *testing.T) {
			p := plan(store, secret, vault, update)
			started := make(chan int, 4)
			finish := map[int]chan struct{}{0: make(chan struct{}), 1: make(chan struct{}), 2: make(chan struct{}), 3: make(chan struct{})}
			for _, i := range []int{2, 3} {
				close(finish[i])
			}
			exec := func(_ context.Context, ch *diff.Change, tg *target) (diff.Applied, error) {
				if tg.speculative != (ch.ID < 2) {
					t.Errorf("%s ran with speculative=%v", ch, tg.speculative)
				}
				started <- ch.ID
				<-finish[ch.ID]
				return diff.Applied{ID: fmt.Sprintf("id-%d", ch.ID)}, nil
			}
			spec := newSpeculation()
			type outcome struct {
				rep *diff.Report
				err error
			}
			out := make(chan outcome, 1)
			go func() {
				rep, err := run(context.Background(), p, Options{Parallelism: 4, speculation: spec}, &target{}, exec)
				out <- outcome{rep, err}
			}()
			if got := awaitOne(t, started); got != 0 {
				t.Fatalf("first started %d, want the store's create", got)
			}
			close(spec.freeze) // the re-plan has read while the store's create runs
			select {
			case m := <-spec.drained:
				t.Fatalf("drained %v while a create started before the freeze runs", m)
			case id := <-started:
				t.Fatalf("%d started before the store's create ended", id)
			default:
			}
			close(finish[0])
			// The secret's create starts (the store's is done) and the
			// drain reports the store, the only create ended.
			if m := awaitOne(t, spec.drained); len(m) != 1 || m[0].kind != diff.KindConfigStore || m[0].store != "id-0" {
				t.Errorf("drained %+v, want the store id-0", m)
			}
			if got := awaitOne(t, started); got != 1 {
				t.Fatalf("started %d, want the secret's create", got)
			}
			close(finish[1])
			spec.verdict <- confirm
			o := awaitOne(t, out)
			close(started)
			var rest []int
			for id := range started {
				rest = append(rest, id)
			}
			st := statuses(o.rep)
			if confirm {
				if o.err != nil || len(rest) != 2 || st[2] != diff.Succeeded || st[3] != diff.Succeeded {
					t.Errorf("confirmed: %v, started after the verdict %v, statuses %v", o.err, rest, st)
				}
			} else if len(rest) != 0 || st[2] != diff.NotStarted || st[3] != diff.NotStarted || st[1] != diff.Succeeded {
				t.Errorf("refused: started after the verdict %v, statuses %v", rest, st)
			}
			if len(spec.made) != 2 || spec.made[1].key != "k" || spec.made[1].store != "store-id" {
				t.Errorf("made %+v, want the store and the secret k in store-id", spec.made)
			}
		})
	}
}

func awaitOne[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatal("nothing came within a minute")
	}
	var zero T
	return zero
}
