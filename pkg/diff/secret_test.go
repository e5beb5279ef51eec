package diff_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/difftest"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// TestComputeSecretValues: what the plan says about a secret that exists,
// for each row of the value lifecycle.
func TestComputeSecretValues(t *testing.T) {
	id := sum.ID{ControlPlaneID: "cp-1", Store: "my-config-store", Key: "mistral-key"}
	live := func() *diff.Live {
		l := difftest.SeededLive()
		l.Secrets["store-1"][0].UpdatedAt = "2025-01-01T00:00:00.000Z"
		return l
	}
	tracked := func() *sum.File { return difftest.TrackedSum(difftest.SeedFile(), live()) }
	// readWith is a sum file as a run with that fingerprint key (nil: none)
	// reads it.
	readWith := func(s *sum.File, key []byte) diff.Options {
		read, err := sum.Parse(s.Bytes(), key)
		if err != nil {
			t.Fatal(err)
		}
		return diff.Options{Sum: read}
	}
	// keyedRecord is a record made with the fingerprint key, of a value
	// written at updatedAt.
	keyedRecord := func(updatedAt string) *sum.File {
		keyed := sum.New([]byte(difftest.FingerprintKey))
		keyed.Set(id, sum.Entry{Fingerprint: keyed.Fingerprint(id, "Bearer x"), UpdatedAt: updatedAt})
		return keyed
	}
	const outside = "2024-12-31T00:00:00.000Z"
	tests := []struct {
		name    string
		desired func() *state.File
		opts    func() diff.Options
		want    []string // outline
		reason  diff.Reason
		notes   []string
		// notCompared is the plan's count of known values not compared.
		notCompared int
		wantErr     string
	}{
		{
			name: "tracked and unchanged: no change",
			opts: func() diff.Options { return diff.Options{Sum: tracked()} },
		},
		{
			name: "a rotated value",
			opts: func() diff.Options {
				s := tracked()
				s.Set(id, sum.Entry{Fingerprint: s.Fingerprint(id, "Bearer the-old-key"), UpdatedAt: "2025-01-01T00:00:00.000Z"})
				return diff.Options{Sum: s}
			},
			want:   []string{"0 update secret my-config-store/mistral-key (value changed)"},
			reason: diff.ReasonValueChanged,
		},
		{
			name: "written outside kvsync",
			opts: func() diff.Options {
				s := tracked()
				e, _ := s.Get(id)
				e.UpdatedAt = "2024-12-31T00:00:00.000Z"
				s.Set(id, e)
				return diff.Options{Sum: s}
			},
			want:   []string{"0 update secret my-config-store/mistral-key (changed outside kvsync)"},
			reason: diff.ReasonChangedOutside,
		},
		{
			name:   "no record (a lost sum file)",
			opts:   func() diff.Options { return diff.Options{Sum: sum.New(nil)} },
			want:   []string{"0 update secret my-config-store/mistral-key (value not tracked yet)"},
			reason: diff.ReasonUntracked,
		},
		{
			// A sync refuses such a sum; a diff says why it compared nothing.
			name:        "a record made with another fingerprint key is not compared",
			opts:        func() diff.Options { return readWith(tracked(), []byte("another-fake-key")) },
			notes:       []string{"1 secret value not compared: kvsync.sum: KVSYNC_FINGERPRINT_KEY is not the key its fingerprints were made with"},
			notCompared: 1,
		},
		{
			// updated_at needs no key: an out-of-band write is found
			// whatever key the run has.
			name: "written outside kvsync, read with another fingerprint key",
			opts: func() diff.Options {
				t0 := tracked()
				e, _ := t0.Get(id)
				e.UpdatedAt = outside
				t0.Set(id, e)
				return readWith(t0, []byte("another-fake-key"))
			},
			want:   []string{"0 update secret my-config-store/mistral-key (changed outside kvsync)"},
			reason: diff.ReasonChangedOutside,
		},
		{
			name:   "written outside kvsync, read without the fingerprint key",
			opts:   func() diff.Options { return readWith(keyedRecord(outside), nil) },
			want:   []string{"0 update secret my-config-store/mistral-key (changed outside kvsync)"},
			reason: diff.ReasonChangedOutside,
		},
		{
			name: "a keyed record read without the key, unchanged: not compared",
			opts: func() diff.Options {
				rec, _ := tracked().Get(id)
				return readWith(keyedRecord(rec.UpdatedAt), nil)
			},
			notes:       []string{"1 secret value not compared: kvsync.sum: its fingerprints were made with KVSYNC_FINGERPRINT_KEY, which is not set"},
			notCompared: 1,
		},
		{
			name: "a salted record read with a key: written once, then keyed",
			opts: func() diff.Options {
				salted := sum.New(nil)
				id := sum.ID{ControlPlaneID: live().ControlPlane.ID, Store: "my-config-store", Key: "mistral-key"}
				rec, _ := tracked().Get(id)
				salted.Set(id, sum.Entry{Fingerprint: salted.Fingerprint(id, "x"), UpdatedAt: rec.UpdatedAt})
				s, err := sum.Parse(salted.Bytes(), []byte(difftest.FingerprintKey))
				if err != nil {
					t.Fatal(err)
				}
				return diff.Options{Sum: s}
			},
			want:   []string{"0 update secret my-config-store/mistral-key (value not tracked yet)"},
			reason: diff.ReasonUntracked,
		},
		{
			name:        "--no-sum compares existence only and says so",
			opts:        func() diff.Options { return diff.Options{} },
			notes:       []string{"1 secret value not compared: kvsync.sum is not used (--no-sum); --write-secrets or --write-secret STORE/KEY writes them"},
			notCompared: 1,
		},
		{
			name:   "--no-sum --write-secrets",
			opts:   func() diff.Options { return diff.Options{WriteSecrets: true} },
			want:   []string{"0 update secret my-config-store/mistral-key (write forced)"},
			reason: diff.ReasonForced,
		},
		{
			name: "--write-secret forces a tracked, unchanged secret",
			opts: func() diff.Options {
				return diff.Options{Sum: tracked(), WriteSecret: []string{"my-config-store/mistral-key"}}
			},
			want:   []string{"0 update secret my-config-store/mistral-key (write forced)"},
			reason: diff.ReasonForced,
		},
		{
			name:    "--write-secret of an undeclared secret",
			opts:    func() diff.Options { return diff.Options{WriteSecret: []string{"my-config-store/nope"}} },
			wantErr: "--write-secret my-config-store/nope: the files declare no such secret",
		},
		{
			name: "an unknown value counts as no change and says why",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.ConfigStores[0].Secrets[0].Value = unknown(t, "MISTRAL_API_KEY")
				return f
			},
			opts:  func() diff.Options { return diff.Options{Sum: sum.New(nil)} },
			notes: []string{"secret my-config-store/mistral-key: value unknown: MISTRAL_API_KEY not set, not compared"},
		},
		{
			name: "an unknown value written outside kvsync is a change",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.ConfigStores[0].Secrets[0].Value = unknown(t, "MISTRAL_API_KEY")
				return f
			},
			opts: func() diff.Options {
				s := tracked()
				e, _ := s.Get(id)
				e.UpdatedAt = outside
				s.Set(id, e)
				return diff.Options{Sum: s}
			},
			want:   []string{"0 update secret my-config-store/mistral-key (changed outside kvsync)"},
			reason: diff.ReasonChangedOutside,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired := difftest.SeedFile()
			if tt.desired != nil {
				desired = tt.desired()
			}
			p, err := diff.Compute(desired, live(), tt.opts())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, difftest.Outline(p)); diff != "" {
				t.Errorf("outline (-want +got):\n%s", diff)
			}
			if len(p.Changes) == 1 && p.Changes[0].Reason != tt.reason {
				t.Errorf("reason = %q, want %q", p.Changes[0].Reason, tt.reason)
			}
			if diff := cmp.Diff(tt.notes, p.Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			if p.NotCompared != tt.notCompared {
				t.Errorf("NotCompared = %d, want %d", p.NotCompared, tt.notCompared)
			}
		})
	}
}

// unknown is a value whose variable is unset, as Load makes it with
// AllowMissingEnv.
func unknown(t *testing.T, name string) state.Sensitive {
	t.Helper()
	f := loadFile(t, "_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n    secrets:\n      - key: k\n        value: ${{ env \""+name+"\" }}\n",
		state.LoadOptions{AllowMissingEnv: true, LookupEnv: func(string) (string, bool) { return "", false }})
	return f.ConfigStores[0].Secrets[0].Value
}
