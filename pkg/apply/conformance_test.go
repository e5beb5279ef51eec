package apply_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// TestKindConformance runs the life of every kind of the table through the
// layers, against the emulator: a kind that forgot a hook (its file keys,
// its writer, its operation, its sum record, its dump, its count of what
// kvsync manages, its unmanaged count) fails here, whichever kind it is.
// Each subtest checks one stage for every kind, naming the kind that
// failed it.
func TestKindConformance(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seedFile := e.load(conformanceSeed)
	sums := sum.New(nil)
	sumPath := filepath.Join(e.dir, "kvsync.sum")

	count := func(p *diff.Plan, a diff.Action) map[diff.Kind]int {
		out := map[diff.Kind]int{}
		for _, c := range p.Changes {
			if c.Action == a {
				out[c.Kind]++
			}
		}
		return out
	}
	everyKind := func(t *testing.T, what string, got map[diff.Kind]int) {
		t.Helper()
		for _, k := range diff.Kinds() {
			if got[k] == 0 {
				t.Errorf("kind %s: no %s", k, what)
			}
		}
	}
	var created map[diff.Kind]int

	t.Run("file round trip", func(t *testing.T) {
		// The file is written back (dump's writer) and read again: every
		// kind plans the same creates from it.
		data, envNames, err := state.MarshalEnv(seedFile)
		if err != nil {
			t.Fatal(err)
		}
		again := e.loadBytes(data, envNames)
		first, err := apply.Plan(ctx, e.c, seedFile, apply.PlanOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		second, err := apply.Plan(ctx, e.c, again, apply.PlanOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		created = count(first.Plan, diff.Create)
		everyKind(t, "create in the seed's plan", created)
		got := count(second.Plan, diff.Create)
		for _, k := range diff.Kinds() {
			if got[k] != created[k] {
				t.Errorf("kind %s: %d creates after a write and a load, %d before", k, got[k], created[k])
			}
		}
	})

	t.Run("create, then nothing to do", func(t *testing.T) {
		res, err := apply.Sync(ctx, e.c, seedFile, apply.SyncOptions{
			PlanOptions: apply.PlanOptions{Plan: diff.Options{Sum: sums}, SumFile: sumPath}})
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		everyKind(t, "create applied", count(res.Planned.Plan, diff.Create))
		// The sum records what was written: the re-plan compares every
		// value against it and finds nothing to do.
		recorded, err := sum.Load(sumPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		again, err := apply.Plan(ctx, e.c, seedFile, apply.PlanOptions{Plan: diff.Options{Sum: recorded}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range again.Plan.Changes {
			t.Errorf("kind %s: re-plan after the sync: %s", c.Kind, c)
		}
		if again.Plan.NotCompared > 0 {
			t.Errorf("re-plan after the sync compared %d values not", again.Plan.NotCompared)
		}
	})

	t.Run("dump, then nothing to do", func(t *testing.T) {
		live, err := diff.Fetch(ctx, e.c, &state.File{ControlPlaneName: "my-control-plane"}, diff.FetchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dumped := diff.Dump(live, diff.DumpOptions{})
		data, envNames, err := state.MarshalEnv(dumped)
		if err != nil {
			t.Fatal(err)
		}
		// A kind left out of the dump would be deleted by its plan.
		f := e.loadBytes(data, envNames)
		pl, err := apply.Plan(ctx, e.c, f, apply.PlanOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range pl.Plan.Changes {
			t.Errorf("kind %s: the dump's plan: %s", c.Kind, c)
		}
	})

	t.Run("other select tags leave every kind alone", func(t *testing.T) {
		pl, err := apply.Plan(ctx, e.c, e.load(emptyFile), apply.PlanOptions{Plan: diff.Options{SelectTags: []string{"another-team"}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range pl.Plan.Changes {
			t.Errorf("kind %s: out of scope, yet %s", c.Kind, c)
		}
		// Every kind that counts what it leaves alone (secrets are
		// counted with their store) counts all it created.
		for k, n := range pl.Plan.Unmanaged {
			if n != created[k] {
				t.Errorf("kind %s: %d counted as unmanaged, want %d", k, n, created[k])
			}
		}
		if len(pl.Plan.Unmanaged) < len(diff.Kinds())-1 {
			t.Errorf("unmanaged counts %v: a kind is missing", pl.Plan.Unmanaged)
		}
	})

	t.Run("mass delete counts every kind", func(t *testing.T) {
		// The store and its secret stay, the rest goes: the plan warns
		// when it deletes more than half of what kvsync manages, which is
		// everything the seed created.
		storeOnly := emptyFile + `config_stores:
  - name: my-config-store
    secrets:
      - key: mistral-key
        value: Bearer ${{ env "MISTRAL_API_KEY" }}
`
		pl, err := apply.Plan(ctx, e.c, e.load(storeOnly), apply.PlanOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		managed := 0
		for _, n := range created {
			managed += n
		}
		deletes := len(pl.Plan.Changes)
		want := ""
		if deletes >= 2 && 2*deletes > managed {
			want = fmt.Sprintf("this plan deletes %d of the %d entities kvsync manages here", deletes, managed)
		}
		got := ""
		for _, w := range pl.Plan.Warnings {
			if strings.HasPrefix(w, "this plan deletes") {
				got = w
			}
		}
		if !strings.HasPrefix(got, want) || (want == "") != (got == "") {
			t.Errorf("%d deletes of %d managed: warning %q, want %q", deletes, managed, got, want)
		}
	})

	t.Run("delete everything, in order", func(t *testing.T) {
		res, err := apply.Sync(ctx, e.c, e.load(emptyFile), apply.SyncOptions{})
		if err != nil {
			t.Fatalf("sync of an empty file: %v", err)
		}
		p := res.Planned.Plan
		// A store's secrets go with its forced delete.
		deleted := count(p, diff.Delete)
		deleted[diff.KindSecret] = p.Changes[0].ForceSecrets + p.Changes[len(p.Changes)-1].ForceSecrets
		everyKind(t, "delete", deleted)
		// Everything kvsync manages goes (the store's secrets with it,
		// uncounted: the file declares no store).
		want := fmt.Sprintf("this plan deletes %d of the %d entities kvsync manages here", len(p.Changes), len(p.Changes))
		if len(p.Warnings) == 0 || !strings.HasPrefix(p.Warnings[0], want) {
			t.Errorf("warnings %q, want first %q", p.Warnings, want)
		}
		// Deletes run dependants first: a change never runs before one
		// it depends on, and every delete depends on nothing that comes
		// later in the table's delete order of its kind.
		pos := map[int]int{}
		for i, c := range p.Changes {
			pos[c.ID] = i
		}
		for _, c := range p.Changes {
			for _, d := range c.DependsOn {
				if pos[d] > pos[c.ID] {
					t.Errorf("kind %s: %s runs before %s, which it depends on", c.Kind, c, p.Changes[pos[d]])
				}
			}
		}
		again, err := apply.Plan(ctx, e.c, e.load(emptyFile), apply.PlanOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range again.Plan.Changes {
			t.Errorf("kind %s: left after deleting everything: %s", c.Kind, c)
		}
	})
}

// conformanceSeed declares at least one entity of every kind: a kind the
// tutorial's seed lacks appends its entry here.
const conformanceSeed = seed

// emptyFile declares nothing on the seed's control plane.
const emptyFile = `_format_version: "3.0"
_konnect:
  control_plane_name: my-control-plane
`

// loadBytes loads a written file, its placeholders set to fake values.
func (e *env) loadBytes(data []byte, envNames []string) *state.File {
	e.t.Helper()
	path := filepath.Join(e.dir, "written.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		e.t.Fatal(err)
	}
	f, err := state.Load([]string{path}, state.LoadOptions{LookupEnv: func(name string) (string, bool) {
		if v, ok := fakeEnv[name]; ok {
			return v, true
		}
		for _, n := range envNames {
			if n == name {
				return "fake-written-value", true
			}
		}
		return "", false
	}})
	if err != nil {
		e.t.Fatalf("loading the written file: %v", err)
	}
	return f
}
