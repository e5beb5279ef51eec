package apply_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// load writes content as kvsync.yaml in the env's directory and loads it.
func (e *env) load(content string) *state.File {
	e.t.Helper()
	path := filepath.Join(e.dir, "kvsync.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	f, err := state.Load([]string{path}, state.LoadOptions{LookupEnv: func(name string) (string, bool) {
		v, ok := fakeEnv[name]
		return v, ok
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

// lockHeld reports whether the control plane's lock vault exists.
func (e *env) lockHeld(cpID string) bool {
	e.t.Helper()
	_, err := e.c.Vaults.Get(context.Background(), cpID, diff.LockPrefix)
	if err != nil && !konnect.IsNotFound(err) {
		e.t.Fatal(err)
	}
	return err == nil
}

// TestSyncWorkflow: the library runs the whole sync (plan, show, lock,
// re-plan, apply, record kvsync.sum, release) against the emulator, and a
// second sync finds nothing to do. A sync that may ask a person shows its
// plan before it takes the lock.
func TestSyncWorkflow(t *testing.T) {
	e := newEnv(t)
	f := e.load(seed)
	sums := sum.New(nil)
	sumPath := filepath.Join(e.dir, "kvsync.sum")
	var shown []*diff.Plan
	var results []diff.Result
	var warnings []string
	opts := apply.SyncOptions{
		PlanOptions: apply.PlanOptions{Plan: diff.Options{Sum: sums}, SumFile: sumPath},
		Apply:       apply.Options{OnResult: func(r diff.Result) { results = append(results, r) }},
		Planned: func(pl *apply.Planned) error {
			shown = append(shown, pl.Plan)
			if e.lockHeld(e.cpID) {
				t.Error("the plan is shown under the lock: a person deciding holds every other run back")
			}
			return nil
		},
		Warn:          func(w string) { warnings = append(warnings, w) },
		LockAfterPlan: true,
	}
	res, err := apply.Sync(context.Background(), e.c, f, opts)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if len(shown) != 1 || len(shown[0].Changes) != 4 {
		t.Fatalf("shown %d plans, want one of 4 changes", len(shown))
	}
	if n := res.Report.Counts()[diff.Succeeded]; n != 4 || len(results) != 4 {
		t.Errorf("%d succeeded, %d results reported, want 4 and 4", n, len(results))
	}
	if res.Planned.Plan.Address == "" || res.Planned.Plan.ControlPlane.ID != e.cpID {
		t.Errorf("the applied plan's target is %q %q", res.Planned.Plan.Address, res.Planned.Plan.ControlPlane.ID)
	}
	if e.lockHeld(e.cpID) {
		t.Error("the lock is still held after the sync")
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	written, err := sum.Load(sumPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if written.Len() != 1 {
		t.Errorf("kvsync.sum records %d secrets, want 1", written.Len())
	}
	if bytes.Contains(written.Bytes(), []byte(fakeKey)) {
		t.Error("kvsync.sum holds the value")
	}

	// Nothing to do: an empty report, the sum kept, no lock left.
	before := len(results)
	res, err = apply.Sync(context.Background(), e.c, e.load(seed), apply.SyncOptions{
		PlanOptions: apply.PlanOptions{Plan: diff.Options{Sum: written}, SumFile: sumPath},
		Apply:       opts.Apply,
	})
	if err != nil {
		t.Fatalf("second Sync: %v", err)
	}
	if !res.Planned.Plan.Empty() || len(res.Report.Results) != 0 || len(results) != before {
		t.Errorf("second sync: %d changes, %d results", len(res.Planned.Plan.Changes), len(res.Report.Results))
	}
	if e.lockHeld(e.cpID) {
		t.Error("the lock taken while planning is still held after a sync that changed nothing")
	}
}

// TestSyncRefusals: whatever stops a sync before it writes leaves the
// control plane untouched and the lock free.
func TestSyncRefusals(t *testing.T) {
	declined := errors.New("not confirmed")
	tests := []struct {
		name string
		// opts adapts the sync; it may change the remote through e.
		opts func(e *env, o *apply.SyncOptions)
		want func(error) bool
	}{
		{"the person declines", func(e *env, o *apply.SyncOptions) {
			o.Planned = func(*apply.Planned) error { return declined }
		}, func(err error) bool { return errors.Is(err, declined) }},
		{"the remote moves between the plan shown and the lock", func(e *env, o *apply.SyncOptions) {
			o.Planned = func(*apply.Planned) error {
				_, err := e.c.ConfigStores.Create(context.Background(), e.cpID, "my-config-store")
				return err
			}
		}, func(err error) bool { return errors.Is(err, apply.ErrPlanMoved) }},
		{"another run holds the lock", func(e *env, o *apply.SyncOptions) {
			if _, err := apply.LockTakingOver(context.Background(), e.c, konnect.ControlPlane{ID: e.cpID, Name: "my-control-plane"}, "other-host pid 1", time.Hour, nil); err != nil {
				e.t.Fatal(err)
			}
		}, func(err error) bool { var le *apply.LockedError; return errors.As(err, &le) }},
		{"the control plane given by id is not the file's", func(e *env, o *apply.SyncOptions) {
			o.ControlPlane = e.srv.AddControlPlane("another-control-plane")
		}, func(err error) bool { var me *apply.ControlPlaneMismatchError; return errors.As(err, &me) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var o apply.SyncOptions
			tt.opts(e, &o)
			res, err := apply.Sync(context.Background(), e.c, e.load(seed), o)
			if err == nil || !tt.want(err) {
				t.Fatalf("Sync = %v, want the refusal", err)
			}
			if res != nil {
				t.Errorf("a refused sync returned a result")
			}
			vaults, _ := e.c.Vaults.List(context.Background(), e.cpID, nil)
			plugins, _ := e.c.Plugins.List(context.Background(), e.cpID, nil)
			for _, v := range vaults {
				if v.Prefix != diff.LockPrefix || !strings.Contains(tt.name, "lock") {
					t.Errorf("vault %s exists after a refused sync", v.Prefix)
				}
			}
			if len(plugins) > 0 {
				t.Errorf("%d plugins exist after a refused sync", len(plugins))
			}
			// Only what the other writer made: the creates started under
			// the lock before the plan moved are gone.
			stores, _ := e.c.ConfigStores.List(context.Background(), e.cpID, nil)
			if want := map[bool]int{true: 1}[strings.Contains(tt.name, "moves")]; len(stores) != want {
				t.Errorf("%d config stores after a refused sync, want %d", len(stores), want)
			}
			for _, st := range stores {
				if secrets, _ := e.c.Secrets.List(context.Background(), e.cpID, st.ID, nil); len(secrets) > 0 {
					t.Errorf("config store %s holds %d secrets after a refused sync", st.Name, len(secrets))
				}
			}
			if strings.Contains(tt.name, "moves") && e.lockHeld(e.cpID) {
				t.Error("the lock is held after a refused sync")
			}
		})
	}
}

// TestSyncReviewedPlan: a sync given the reviewed plan applies it while it
// holds, and refuses, naming what moved, once a value differs.
func TestSyncReviewedPlan(t *testing.T) {
	e := newEnv(t)
	keying := sum.New(nil)
	review := func(content string) *diff.SavedPlan {
		pl, err := apply.Plan(context.Background(), e.c, e.load(content), apply.PlanOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := diff.Save(&buf, pl.Plan, diff.TakeFingerprints(pl.Live, pl.Plan, keying), keying); err != nil {
			t.Fatal(err)
		}
		saved, err := diff.ReadSaved(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return saved
	}
	reviewed := review(seed)
	moved := strings.Replace(seed, "Bearer ", "Token ", 1)
	_, err := apply.Sync(context.Background(), e.c, e.load(moved), apply.SyncOptions{Reviewed: reviewed})
	switch {
	case err != nil && strings.Contains(err.Error(), fakeKey):
		t.Error("the refusal holds the value")
	case err == nil || !strings.Contains(err.Error(), "the reviewed plan no longer holds") || !strings.Contains(err.Error(), "my-config-store/mistral-key"):
		t.Fatalf("Sync of a moved value = %v, want the refusal naming the secret", err)
	}
	res, err := apply.Sync(context.Background(), e.c, e.load(seed), apply.SyncOptions{Reviewed: reviewed})
	if err != nil {
		t.Fatalf("Sync of the reviewed plan: %v", err)
	}
	if n := res.Report.Counts()[diff.Succeeded]; n != 4 {
		t.Errorf("%d succeeded, want 4", n)
	}
}

// TestSyncControlPlanesShareAClient: syncs of several control planes at
// once, each with its own inputs, through one client (one pacer), as a
// run over environments does.
func TestSyncControlPlanesShareAClient(t *testing.T) {
	e := newEnv(t)
	names := []string{"my-control-plane", "staging", "production"}
	for _, n := range names[1:] {
		cpID := e.srv.AddControlPlane(n)
		svc, err := e.c.Services.Create(context.Background(), cpID, konnect.Service{Name: "example-service", URL: "http://httpbin.konghq.com/anything"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.Routes.Create(context.Background(), cpID, konnect.Route{Name: "example-route", Paths: []string{"/anything"},
			Service: &konnect.ForeignKey{ID: svc.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	files := make([]*state.File, len(names))
	for i, n := range names {
		files[i] = e.load(strings.Replace(seed, "control_plane_name: my-control-plane", "control_plane_name: "+n, 1))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	reps := make([]*apply.SyncResult, len(names))
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = apply.Sync(context.Background(), e.c, files[i], apply.SyncOptions{})
		}()
	}
	wg.Wait()
	for i, n := range names {
		if errs[i] != nil {
			t.Errorf("%s: %v", n, errs[i])
			continue
		}
		if reps[i].Planned.Plan.ControlPlane.Name != n || reps[i].Report.Counts()[diff.Succeeded] != 4 {
			t.Errorf("%s: applied to %s, %v", n, reps[i].Planned.Plan.ControlPlane.Name, reps[i].Report.Counts())
		}
	}
}
