package apply_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// TestSyncInterruptedWhileLocking: a run interrupted while its lock's PUT
// is on the wire (Ctrl-C during the plan's reads, which the PUT now runs
// beside) leaves no lock behind: Konnect makes the lock's vault once the
// PUT arrives, whether or not the client still waits for the answer, and
// a lock nobody releases holds every other run back.
func TestSyncInterruptedWhileLocking(t *testing.T) {
	e := newEnv(t)
	arrived, release, processed := make(chan struct{}), make(chan struct{}), make(chan struct{})
	// The lock's PUT waits until released or abandoned by the client, and
	// is then processed, as a real server does.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/core-entities/vaults/") {
			e.srv.ServeHTTP(w, r)
			return
		}
		close(arrived)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		e.srv.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
		close(processed)
	}))
	t.Cleanup(ts.Close)
	c, err := konnect.New(konnect.Options{BaseURL: ts.URL, Token: e.srv.Token,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := e.load(seed)
	out := make(chan error, 1)
	go func() {
		_, err := apply.Sync(ctx, c, f, apply.SyncOptions{})
		out <- err
	}()
	awaitChan(t, arrived, "the lock's PUT")
	cancel()
	close(release)
	awaitChan(t, processed, "the lock's PUT processed")
	if err := awaitChan(t, out, "the sync's end"); err == nil {
		t.Fatal("the interrupted sync succeeded")
	}
	if e.lockHeld(e.cpID) {
		t.Error("the interrupted sync left its lock behind")
	}
}

// TestSyncUndoFailureIsNotCalledDeleted: when the creates made while the
// plan was made again cannot be deleted, the error does not say they were.
func TestSyncUndoFailureIsNotCalledDeleted(t *testing.T) {
	e := newEnv(t)
	planned, holds := holdAfterPlan(e, nil, [2]string{http.MethodGet, "/core-entities/plugins"}, [2]string{http.MethodPost, "/secrets"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := e.syncAsync(ctx, seed, apply.SyncOptions{Planned: planned})
	h := awaitChan(t, holds, "the plan shown")
	awaitChan(t, h.arrived[0], "the re-plan's read")
	awaitChan(t, h.arrived[1], "the secret's create")
	e.srv.SetFaults(konnecttest.Faults{Rules: []konnecttest.FaultRule{{Method: http.MethodDelete, PathContains: "/config-stores/", Status: http.StatusBadRequest}}})
	cancel()
	h.release[1]()
	o := awaitChan(t, out, "the sync's end")
	if o.err == nil {
		t.Fatal("the interrupted sync succeeded")
	}
	msg := o.err.Error()
	if strings.Contains(msg, "were deleted") {
		t.Errorf("the error says the creates were deleted, though none could be: %s", msg)
	}
	if !strings.Contains(msg, "could not all be deleted") {
		t.Errorf("the error does not say what was left: %s", msg)
	}
	e.srv.SetFaults(konnecttest.Faults{})
	if e.lockHeld(e.cpID) {
		t.Error("the lock is held after the sync")
	}
}

// TestSyncUndoRunsInParallel: without Options.Parallelism, the creates to
// delete are deleted DefaultParallelism at a time, as a run writes, not one
// by one (a long re-plan lets many start; the undo has 30 s).
func TestSyncUndoRunsInParallel(t *testing.T) {
	e := newEnv(t)
	content := strings.Replace(seed, "      - key: mistral-key\n", "      - key: other-key\n        value: fake-other-value\n      - key: mistral-key\n", 1)
	planned, holds := holdAfterPlan(e, func() error {
		_, err := e.c.ConfigStores.Create(context.Background(), e.cpID, "my-config-store")
		return err
	}, [2]string{http.MethodGet, "/config-stores"}, [2]string{http.MethodDelete, "/secrets/"}, [2]string{http.MethodDelete, "/secrets/"})
	secrets := make(chan struct{}, 2)
	out := e.syncAsync(context.Background(), content, apply.SyncOptions{Planned: planned, Apply: apply.Options{OnResult: func(r diff.Result) {
		if r.Change.Kind == diff.KindSecret && r.Status == diff.Succeeded {
			secrets <- struct{}{}
		}
	}}})
	h := awaitChan(t, holds, "the plan shown")
	awaitChan(t, h.arrived[0], "the re-plan's read")
	awaitChan(t, secrets, "the first secret's create")
	awaitChan(t, secrets, "the second secret's create")
	h.release[0]() // the re-plan sees the other run's store
	awaitChan(t, h.arrived[1], "the first delete of the undo")
	awaitChan(t, h.arrived[2], "the second delete of the undo, while the first is under way")
	h.release[1]()
	h.release[2]()
	if o := awaitChan(t, out, "the sync's end"); !errors.Is(o.err, apply.ErrPlanMoved) {
		t.Fatalf("Sync = %v, want ErrPlanMoved", o.err)
	}
}

// TestSyncWrongControlPlaneUntouched: a control plane given by id that is
// not the file's gets no write at all, not even the lock taken while the
// plan reads (its vault is a configuration change of that control plane).
func TestSyncWrongControlPlaneUntouched(t *testing.T) {
	e := newEnv(t)
	other := e.srv.AddControlPlane("another-control-plane")
	e.srv.ResetCounts()
	_, err := apply.Sync(context.Background(), e.c, e.load(seed), apply.SyncOptions{PlanOptions: apply.PlanOptions{ControlPlane: other}})
	var me *apply.ControlPlaneMismatchError
	if !errors.As(err, &me) {
		t.Fatalf("Sync = %v, want the mismatch", err)
	}
	for key, n := range e.srv.Counts() {
		if method, _, _ := strings.Cut(key, " "); method != http.MethodGet && n > 0 {
			t.Errorf("%d × %s on a control plane that is not the file's", n, key)
		}
	}
}
