package diff_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/difftest"
	"github.com/kvsync/kvsync/pkg/diff/render"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// saveAndRead makes the plan of desired against live, saves it and reads
// it back.
func saveAndRead(t *testing.T, desired *state.File, live *diff.Live, keying *sum.File) (*diff.SavedPlan, []byte) {
	t.Helper()
	p, err := diff.Compute(desired, live, diff.Options{Sum: keying, Adopt: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := diff.Save(&buf, p, diff.TakeFingerprints(live, p, keying), keying); err != nil {
		t.Fatal(err)
	}
	saved, err := diff.ReadSaved(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return saved, buf.Bytes()
}

// reviewNow plans desired against live again and reviews it against the
// saved plan, as sync --plan does.
func reviewNow(t *testing.T, saved *diff.SavedPlan, desired *state.File, live *diff.Live, tracked *sum.File) (*diff.Reviewed, error) {
	t.Helper()
	now, err := diff.Compute(desired, live, diff.Options{Sum: tracked, Adopt: true})
	if err != nil {
		t.Fatal(err)
	}
	keyed, err := saved.Keyed([]byte(difftest.FingerprintKey))
	if err != nil {
		t.Fatal(err)
	}
	return saved.Review(now, diff.TakeFingerprints(live, now, keyed))
}

// verifyNow is reviewNow's verdict alone.
func verifyNow(t *testing.T, saved *diff.SavedPlan, desired *state.File, live *diff.Live, tracked *sum.File) error {
	t.Helper()
	_, err := reviewNow(t, saved, desired, live, tracked)
	return err
}

// TestSavedPlanHoldsNoValue: a saved plan, and every rendering of it read
// back, holds none of the canary values.
func TestSavedPlanHoldsNoValue(t *testing.T) {
	f, l := difftest.EveryChange()
	saved, raw := saveAndRead(t, f, l, difftest.TrackedSum(f, l))
	outputs := map[string]string{"plan file": string(raw)}
	for _, format := range render.Formats {
		var buf bytes.Buffer
		if err := render.Plan(&buf, saved.Plan, format, render.Options{}); err != nil {
			t.Fatal(err)
		}
		outputs[string(format)] = buf.String()
	}
	for name, out := range outputs {
		for i, canary := range difftest.Canaries {
			if strings.Contains(out, canary) {
				t.Errorf("%s contains canary #%d", name, i)
			}
		}
	}
	// The text of a plan read back is the text of the plan.
	p, _ := diff.Compute(f, l, diff.Options{Sum: difftest.TrackedSum(f, l), Adopt: true})
	var want, got bytes.Buffer
	_ = render.Plan(&want, p, render.Text, render.Options{})
	_ = render.Plan(&got, saved.Plan, render.Text, render.Options{})
	if want.String() != got.String() {
		t.Errorf("a saved plan renders differently:\n%s\nwant:\n%s", got.String(), want.String())
	}
}

// TestSavedPlanReview: what sync --plan applies of a plan reviewed with
// one change (the plugin's model), after each thing that can happen between
// the review and the apply.
func TestSavedPlanReview(t *testing.T) {
	const pluginUpdate = "update plugin ai-proxy (route example-route)"
	rotate := func(f *state.File, _ *diff.Live) {
		f.ConfigStores[0].Secrets[0].Value = state.NewSensitive("Bearer another", "MISTRAL_API_KEY")
	}
	tests := []struct {
		name string
		// review changes what the reviewed plan is made from.
		review func(f *state.File, l *diff.Live)
		// change is what happens between the review and the apply.
		change func(f *state.File, l *diff.Live)
		// want are the problems that refuse the plan; otherwise applied,
		// leftOut and done are what the review keeps, leaves out and
		// finds applied.
		want    []string
		applied []string
		leftOut []string
		done    []string
	}{
		{name: "nothing moved", applied: []string{"0 " + pluginUpdate}},
		{
			name:    "a rotated value nobody reviewed is left out",
			change:  rotate,
			applied: []string{"0 " + pluginUpdate},
			leftOut: []string{"update secret my-config-store/mistral-key (value changed)"},
		},
		{
			name: "a route's paths changed: the plugin only looks it up",
			change: func(_ *state.File, l *diff.Live) {
				r := l.Routes["example-route"]
				r.Paths = []string{"/other"}
				l.Routes["example-route"] = r
			},
			applied: []string{"0 " + pluginUpdate},
		},
		{
			name:    "a vault the plan does not change changed",
			change:  func(_ *state.File, l *diff.Live) { l.Vaults[0].UpdatedAt++ },
			applied: []string{"0 " + pluginUpdate},
		},
		{
			name: "the route was replaced by another of the same name",
			change: func(_ *state.File, l *diff.Live) {
				r := l.Routes["example-route"]
				r.ID = "route-2"
				l.Routes["example-route"] = r
				l.Plugins[0].Route = &konnect.ForeignKey{ID: "route-2"}
			},
			want: []string{"route example-route changed since the plan was made"},
		},
		{
			name: "a live object appeared: its change is left out",
			change: func(_ *state.File, l *diff.Live) {
				l.Vaults = append(l.Vaults, l.Vaults[0])
				l.Vaults[1].Prefix, l.Vaults[1].ID = "another", "vault-2"
			},
			applied: []string{"0 " + pluginUpdate},
			leftOut: []string{"delete vault another"},
		},
		{
			name: "already applied",
			change: func(_ *state.File, l *diff.Live) {
				l.Plugins[0].Config["model"].(difftest.Obj)["name"] = "mistral-small"
			},
			done: []string{pluginUpdate},
		},
		{
			name: "the file changed",
			change: func(f *state.File, _ *diff.Live) {
				f.Plugins[0].Config["model"].(difftest.Obj)["name"] = "mistral-large"
			},
			want: []string{"the change update plugin ai-proxy (route example-route) differs from the reviewed one"},
		},
		{
			name:   "a reviewed value write whose value changed again",
			review: rotate,
			change: func(f *state.File, _ *diff.Live) {
				f.ConfigStores[0].Secrets[0].Value = state.NewSensitive("Bearer yet another", "MISTRAL_API_KEY")
			},
			want: []string{"value of my-config-store/mistral-key differs from the reviewed one"},
		},
		{
			name:   "a reviewed value write over a secret written outside kvsync since",
			review: rotate,
			change: func(f *state.File, l *diff.Live) {
				rotate(f, l)
				l.Secrets["store-1"][0].UpdatedAt = "2026-01-01T00:00:00.000Z"
			},
			want: []string{"secret my-config-store/mistral-key changed since the plan was made"},
		},
		{
			// The store the reviewed secret create goes into was deleted
			// behind kvsync's back: its create nobody reviewed is needed.
			name: "a reviewed change that needs a create nobody reviewed",
			review: func(f *state.File, _ *diff.Live) {
				f.ConfigStores[0].Secrets = append(f.ConfigStores[0].Secrets, state.Secret{Key: "new-key", Value: state.NewSensitive("fake-new-value", "NEW_KEY")})
			},
			change: func(_ *state.File, l *diff.Live) {
				l.ConfigStores, l.Secrets = nil, map[string][]konnect.ConfigStoreSecret{}
			},
			want: []string{"the reviewed change create secret my-config-store/new-key needs create config_store my-config-store, which is not in the reviewed plan"},
		},
		{
			name: "another control plane",
			change: func(_ *state.File, l *diff.Live) {
				l.ControlPlane.ID, l.ControlPlane.Name = "cp-2", "other"
			},
			want: []string{"the plan was made for control plane my-control-plane (id cp-1), not other (id cp-2)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state0 := func() (*state.File, *diff.Live) {
				f, l := difftest.SeedFile(), difftest.SeededLive()
				f.Plugins[0].Config["model"].(difftest.Obj)["name"] = "mistral-small"
				return f, l
			}
			f, l := state0()
			tracked := difftest.TrackedSum(difftest.SeedFile(), l)
			if tt.review != nil {
				tt.review(f, l)
			}
			saved, _ := saveAndRead(t, f, l, tracked)
			f, l = state0()
			if tt.review != nil {
				tt.review(f, l)
			}
			if tt.change != nil {
				tt.change(f, l)
			}
			r, err := reviewNow(t, saved, f, l, tracked)
			if len(tt.want) > 0 {
				if err == nil {
					t.Fatal("Review passed a plan that moved")
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Review = %v\nwant it to say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Review: %v", err)
			}
			if d := cmp.Diff(tt.applied, difftest.Outline(r.Plan)); d != "" {
				t.Errorf("applied (-want +got):\n%s", d)
			}
			var leftOut []string
			for _, c := range r.LeftOut {
				leftOut = append(leftOut, c.String())
			}
			if d := cmp.Diff(tt.leftOut, leftOut); d != "" {
				t.Errorf("left out (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.done, r.Done); d != "" {
				t.Errorf("done (-want +got):\n%s", d)
			}
			for _, c := range tt.leftOut {
				if !slices.ContainsFunc(r.Plan.Warnings, func(w string) bool { return strings.Contains(w, c) && strings.Contains(w, "kvsync diff --out") }) {
					t.Errorf("no warning names the left-out %s and how to apply it: %q", c, r.Plan.Warnings)
				}
			}
		})
	}
}

func TestSavedPlanKeying(t *testing.T) {
	f, l := difftest.SeedFile(), difftest.SeededLive()
	saved, _ := saveAndRead(t, f, l, sum.New([]byte(difftest.FingerprintKey)))
	if _, err := saved.Keyed([]byte("another-fake-key")); err == nil || !strings.Contains(err.Error(), "not the one set now") {
		t.Errorf("Keyed with another key = %v", err)
	}
	salted, _ := saveAndRead(t, f, l, sum.New(nil))
	if _, err := salted.Keyed([]byte(difftest.FingerprintKey)); err != nil {
		t.Errorf("a salted plan read with a key: %v", err)
	}
}

// A plan verified against itself holds, whatever it does: forced store
// deletes included (their force is part of the saved plan).
func TestSavedPlanOfEveryChangeHolds(t *testing.T) {
	f, l := difftest.EveryChange()
	tracked := difftest.TrackedSum(f, l)
	saved, _ := saveAndRead(t, f, l, tracked)
	var forced bool
	for _, c := range saved.Plan.Changes {
		forced = forced || c.Force
	}
	if !forced {
		t.Fatal("the saved plan lost the force of its config store delete")
	}
	if err := verifyNow(t, saved, f, l, tracked); err != nil {
		t.Fatalf("Verify of an unchanged plan: %v", err)
	}
}

// A secret created by a plan reviewed without its value (a pull request,
// --allow-missing-env) is applied with whatever value is set by then.
func TestSavedPlanCreateWithUnreviewedValue(t *testing.T) {
	withStore := func(v state.Sensitive) *state.File {
		f := difftest.SeedFile()
		f.ConfigStores = append(f.ConfigStores, state.ConfigStore{Name: "new-store",
			Secrets: []state.Secret{{Key: "new-key", Value: v}}})
		return f
	}
	l := difftest.SeededLive()
	tracked := difftest.TrackedSum(difftest.SeedFile(), l)
	saved, _ := saveAndRead(t, withStore(unknown(t, "NEW_KEY")), l, tracked)
	f := withStore(state.NewSensitive("fake-new-value", "NEW_KEY"))
	if err := verifyNow(t, saved, f, l, tracked); err != nil {
		t.Fatalf("Verify refused a reviewed create whose value was unknown: %v", err)
	}
	// A create of another secret was not reviewed: it is left out.
	f.ConfigStores[len(f.ConfigStores)-1].Secrets[0].Key = "other-key"
	r, err := reviewNow(t, saved, f, l, tracked)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.LeftOut) != 1 || r.LeftOut[0].String() != "create secret new-store/other-key" {
		t.Fatalf("left out %v, want the create of new-store/other-key", r.LeftOut)
	}
	for _, c := range r.Plan.Changes {
		if c.Kind == diff.KindSecret {
			t.Errorf("a secret change nobody reviewed is applied: %s", c)
		}
	}
}

// Deleting an empty duplicate of a store forgets none of the store's
// secrets; a forced delete of a store forgets them all.
func TestRecordSumOfStoreDeletes(t *testing.T) {
	f, l := difftest.SeedFile(), difftest.SeededLive()
	l.ConfigStores = append(l.ConfigStores, konnect.ConfigStore{ID: "store-dup", Name: "my-config-store", CreatedAt: "2025-01-02T00:00:00Z"})
	tracked := difftest.TrackedSum(f, difftest.SeededLive())
	id := sum.ID{ControlPlaneID: l.ControlPlane.ID, Store: "my-config-store", Key: "mistral-key"}
	if _, ok := tracked.Get(id); !ok {
		t.Fatal("the fixture tracks no secret")
	}
	p, err := diff.Compute(f, l, diff.Options{Sum: tracked})
	if err != nil {
		t.Fatal(err)
	}
	all := func(*diff.Change) (diff.Applied, bool) { return diff.Applied{}, true }
	diff.RecordSum(tracked, p, all)
	if _, ok := tracked.Get(id); !ok {
		t.Error("deleting a duplicate store forgot the real store's secret")
	}
	empty := &state.File{}
	p, err = diff.Compute(empty, difftest.SeededLive(), diff.Options{Sum: tracked})
	if err != nil {
		t.Fatal(err)
	}
	diff.RecordSum(tracked, p, all)
	if _, ok := tracked.Get(id); ok {
		t.Errorf("a forced store delete kept its secret's record (plan: %v)", p.Changes)
	}
}
