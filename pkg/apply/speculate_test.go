package apply_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// awaitChan fails the test when ch is not closed within a minute (the
// emulator's holds say when a request has arrived: nothing sleeps).
func awaitChan[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("%s did not happen", what)
	}
	var zero T
	return zero
}

type syncOutcome struct {
	res *apply.SyncResult
	err error
}

// syncAsync runs Sync in the background.
func (e *env) syncAsync(ctx context.Context, content string, opts apply.SyncOptions) <-chan syncOutcome {
	f := e.load(content)
	out := make(chan syncOutcome, 1)
	go func() {
		res, err := apply.Sync(ctx, e.c, f, opts)
		out <- syncOutcome{res, err}
	}()
	return out
}

// stores lists the control plane's config stores with their secret keys.
func (e *env) stores() map[string][]string {
	e.t.Helper()
	ctx := context.Background()
	list, err := e.c.ConfigStores.List(ctx, e.cpID, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, s := range list {
		secrets, err := e.c.Secrets.List(ctx, e.cpID, s.ID, nil)
		if err != nil {
			e.t.Fatal(err)
		}
		keys := []string{}
		for _, k := range secrets {
			keys = append(keys, k.Key)
		}
		out[s.ID] = keys
	}
	return out
}

// TestSyncLocksWhileReading: without a person to ask, the lock is taken
// while the plan's reads run, not after them.
func TestSyncLocksWhileReading(t *testing.T) {
	e := newEnv(t)
	lockArrived, releaseLock := e.srv.Hold(http.MethodPut, "/core-entities/vaults/")
	readArrived, releaseRead := e.srv.Hold(http.MethodGet, "/config-stores")
	defer releaseLock()
	defer releaseRead()
	out := e.syncAsync(context.Background(), seed, apply.SyncOptions{})
	awaitChan(t, lockArrived, "the lock's PUT")
	awaitChan(t, readArrived, "the plan's read, while the lock's PUT is under way")
	releaseLock()
	releaseRead()
	o := awaitChan(t, out, "the sync's end")
	if o.err != nil {
		t.Fatalf("Sync: %v", o.err)
	}
	if n := o.res.Report.Counts()[diff.Succeeded]; n != 4 {
		t.Errorf("%d succeeded, want 4", n)
	}
	if e.lockHeld(e.cpID) {
		t.Error("the lock is still held after the sync")
	}
}

// TestSyncEmptyPlanNeedsNoLock: a sync that changes nothing succeeds
// whatever became of the lock it tried to take while planning, and leaves
// no lock of its own.
func TestSyncEmptyPlanNeedsNoLock(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env)
		// othersLock: another run's lock is there before and after.
		othersLock bool
	}{
		{"the lock taken is released", func(e *env) {}, false},
		{"a token that may not write (403 on the lock)", func(e *env) {
			e.srv.SetFaults(konnecttest.Faults{Rules: []konnecttest.FaultRule{{Method: http.MethodPut, PathContains: "/core-entities/vaults/", Status: http.StatusForbidden}}})
		}, false},
		{"another run holds the lock", func(e *env) {
			if _, err := apply.LockTakingOver(context.Background(), e.c, konnect.ControlPlane{ID: e.cpID, Name: "my-control-plane"}, "other-host pid 1", time.Hour, nil); err != nil {
				e.t.Fatal(err)
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := apply.Sync(context.Background(), e.c, e.load(seed), apply.SyncOptions{}); err != nil {
				t.Fatal(err)
			}
			tt.setup(e)
			var warnings []string
			res, err := apply.Sync(context.Background(), e.c, e.load(seed), apply.SyncOptions{Warn: func(w string) { warnings = append(warnings, w) }})
			if err != nil {
				t.Fatalf("Sync of an empty plan: %v", err)
			}
			if !res.Planned.Plan.Empty() {
				t.Fatalf("the plan has %d changes, want none", len(res.Planned.Plan.Changes))
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %q", warnings)
			}
			e.srv.SetFaults(konnecttest.Faults{})
			if held := e.lockHeld(e.cpID); held != tt.othersLock {
				t.Errorf("lock held after the sync: %v, want %v", held, tt.othersLock)
			}
		})
	}
}

// TestSyncSpeculativeCreates: creates of stores and secrets start while
// the plan is made again under the lock; everything else waits for it.
// When that plan is not the one shown, or cannot be made, what they made
// is deleted and nothing else is written.
func TestSyncSpeculativeCreates(t *testing.T) {
	replanRead := [2]string{http.MethodGet, "/config-stores"}
	t.Run("they run while the plan is made again", func(t *testing.T) {
		e := newEnv(t)
		planned, holds := holdAfterPlan(e, nil, replanRead, [2]string{http.MethodPost, "/config-stores"})
		ended := make(chan diff.Result, 4)
		out := e.syncAsync(context.Background(), seed, apply.SyncOptions{Planned: planned,
			Apply: apply.Options{OnResult: func(r diff.Result) { ended <- r }}})
		h := awaitChan(t, holds, "the plan shown")
		awaitChan(t, h.arrived[0], "the re-plan's read")
		awaitChan(t, h.arrived[1], "the store's create, while the re-plan's read is under way")
		h.release[1]()
		// The re-plan reads the store made meanwhile: it is told from
		// anybody else's.
		if r := awaitChan(t, ended, "the store's create"); r.Change.Kind != diff.KindConfigStore || r.Status != diff.Succeeded {
			t.Fatalf("first result %s %s, want the store's create to succeed", r.Change, r.Status)
		}
		h.release[0]()
		o := awaitChan(t, out, "the sync's end")
		if o.err != nil {
			t.Fatalf("Sync: %v", o.err)
		}
		if n := o.res.Report.Counts()[diff.Succeeded]; n != 4 {
			t.Errorf("%d succeeded, want 4", n)
		}
		// It takes the store out whole: its secrets need no listing.
		if n := e.srv.Counts()["GET /v2/control-planes/{controlPlaneId}/config-stores/{configStoreId}/secrets"]; n != 0 {
			t.Errorf("the secrets of the store made meanwhile were listed %d times", n)
		}
		if got := e.stores(); len(got) != 1 {
			t.Errorf("%d stores after the sync, want 1", len(got))
		}
	})

	t.Run("the plan moved: what they made is deleted", func(t *testing.T) {
		e := newEnv(t)
		var theirs string
		// Another run, which released its lock just before ours was
		// taken, made the store; our first read missed it.
		planned, holds := holdAfterPlan(e, func() error {
			s, err := e.c.ConfigStores.Create(context.Background(), e.cpID, "my-config-store")
			if err == nil {
				theirs = s.ID
			}
			return err
		}, replanRead, [2]string{http.MethodPost, "/secrets"})
		out := e.syncAsync(context.Background(), seed, apply.SyncOptions{Planned: planned})
		h := awaitChan(t, holds, "the plan shown")
		awaitChan(t, h.arrived[0], "the re-plan's read")
		awaitChan(t, h.arrived[1], "the secret's create in the store made meanwhile")
		h.release[1]() // the secret is made, then the re-plan reads both stores
		h.release[0]()
		o := awaitChan(t, out, "the sync's end")
		if !errors.Is(o.err, apply.ErrPlanMoved) || o.res != nil {
			t.Fatalf("Sync = %v, want ErrPlanMoved and no result", o.err)
		}
		got := e.stores()
		if keys, ok := got[theirs]; len(got) != 1 || !ok || len(keys) != 0 {
			t.Errorf("stores after the refused sync: %v, want only the other run's %s, empty", got, theirs)
		}
		if vaults, _ := e.c.Vaults.List(context.Background(), e.cpID, nil); len(vaults) != 0 {
			t.Errorf("%d vaults after the refused sync (the lock included), want none", len(vaults))
		}
	})

	t.Run("a key another writer made is never written over", func(t *testing.T) {
		e := newEnv(t)
		store, err := e.c.ConfigStores.Create(context.Background(), e.cpID, "my-config-store")
		if err != nil {
			t.Fatal(err)
		}
		planned, holds := holdAfterPlan(e, func() error {
			_, err := e.c.Secrets.Create(context.Background(), e.cpID, store.ID, "mistral-key", konnect.Plaintext("fake-other-value"))
			return err
		}, replanRead, [2]string{http.MethodPost, "/secrets"})
		out := e.syncAsync(context.Background(), seed, apply.SyncOptions{Planned: planned})
		h := awaitChan(t, holds, "the plan shown")
		awaitChan(t, h.arrived[0], "the re-plan's read")
		awaitChan(t, h.arrived[1], "the secret's create")
		h.release[1]()
		h.release[0]()
		o := awaitChan(t, out, "the sync's end")
		if !errors.Is(o.err, apply.ErrPlanMoved) {
			t.Fatalf("Sync = %v, want ErrPlanMoved", o.err)
		}
		if v, ok := e.srv.SecretValue(e.cpID, store.ID, "mistral-key"); !ok || v != "fake-other-value" {
			t.Error("the other writer's secret was written over or deleted")
		}
	})

	t.Run("interrupted before the plan is made again: what they made is deleted", func(t *testing.T) {
		e := newEnv(t)
		planned, holds := holdAfterPlan(e, nil, [2]string{http.MethodGet, "/core-entities/plugins"}, [2]string{http.MethodPost, "/secrets"})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out := e.syncAsync(ctx, seed, apply.SyncOptions{Planned: planned})
		h := awaitChan(t, holds, "the plan shown")
		awaitChan(t, h.arrived[0], "the re-plan's read")
		awaitChan(t, h.arrived[1], "the secret's create")
		cancel() // Ctrl-C: the re-plan's read gives up, the create in flight ends
		h.release[1]()
		o := awaitChan(t, out, "the sync's end")
		if !errors.Is(o.err, context.Canceled) || o.res != nil {
			t.Fatalf("Sync = %v, want the interruption and no result", o.err)
		}
		if got := e.stores(); len(got) != 0 {
			t.Errorf("stores after the interrupted sync: %v, want none", got)
		}
		if e.lockHeld(e.cpID) {
			t.Error("the lock is held after the interrupted sync")
		}
	})
}

// held are requests parked by the emulator: arrived[i] is closed when the
// i-th has arrived; release[i] lets it go on.
type held struct {
	arrived []<-chan struct{}
	release []func()
}

// holdAfterPlan returns a Planned callback that lets another writer act
// (before, when set), then parks the next request of each method and path
// part (the re-plan's, the speculative creates'), and tells the test on
// the returned channel.
func holdAfterPlan(e *env, before func() error, reqs ...[2]string) (func(*apply.Planned) error, <-chan held) {
	ch := make(chan held, 1)
	return func(*apply.Planned) error {
		if before != nil {
			if err := before(); err != nil {
				return err
			}
		}
		var h held
		for _, r := range reqs {
			arrived, release := e.srv.Hold(r[0], r[1])
			e.t.Cleanup(release) // before the server closes
			h.arrived, h.release = append(h.arrived, arrived), append(h.release, release)
		}
		ch <- h
		return nil
	}, ch
}
