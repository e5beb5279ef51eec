package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// TestNoChangeDiffOfTrackedSecrets: a diff of 1,000 tracked, unchanged
// secrets writes nothing and reads no more than a diff that compares
// existence only (the behaviour before values were tracked): the record
// needs only the updated_at the secrets list already carries.
func TestNoChangeDiffOfTrackedSecrets(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	cpID := srv.AddControlPlane("my-control-plane")
	var b strings.Builder
	b.WriteString("_format_version: \"3.0\"\n_konnect:\n  control_plane_name: my-control-plane\nconfig_stores:\n  - name: s\n    secrets:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "      - key: k%04d\n        value: fake-value-%04d\n", i, i)
	}
	file := filepath.Join(t.TempDir(), "kvsync.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	t.Setenv(sum.EnvKey, "fake-fingerprint-key-0000")
	// The state a sync leaves, made directly (the client unthrottled):
	// the secrets, and kvsync.sum recording each value with the
	// updated_at Konnect answered.
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: testToken, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := c.ConfigStores.Create(ctx, cpID, "s")
	if err != nil {
		t.Fatal(err)
	}
	record := sum.New([]byte("fake-fingerprint-key-0000"))
	for i := range 1000 {
		key, value := fmt.Sprintf("k%04d", i), fmt.Sprintf("fake-value-%04d", i)
		written, err := c.Secrets.Create(ctx, cpID, store.ID, key, konnect.Plaintext(value))
		if err != nil {
			t.Fatal(err)
		}
		id := sum.ID{ControlPlaneID: cpID, Store: "s", Key: key}
		record.Set(id, sum.Entry{Fingerprint: record.Fingerprint(id, value), UpdatedAt: written.UpdatedAt})
	}
	if err := record.Write(filepath.Join(filepath.Dir(file), sum.FileName)); err != nil {
		t.Fatal(err)
	}
	counts := func(wantCode int, args ...string) (reads, writes int) {
		t.Helper()
		srv.ResetCounts()
		code, stdout, stderr := runIn(t, "", append([]string{"diff", "--exit-code", file}, args...)...)
		if code != wantCode || !strings.Contains(stdout, "No change") {
			t.Fatalf("diff %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		for k, v := range srv.Counts() {
			if strings.HasPrefix(k, "GET ") {
				reads += v
			} else {
				writes += v
			}
		}
		return reads, writes
	}
	tracked, trackedWrites := counts(exitOK)
	// Existence only: nothing found, but no value compared (exit 3).
	existence, _ := counts(exitNotCompared, "--no-sum")
	if trackedWrites != 0 {
		t.Errorf("a no-change diff made %d write requests", trackedWrites)
	}
	if tracked > existence || tracked == 0 {
		t.Errorf("a tracked diff read %d times, an existence-only diff %d", tracked, existence)
	}
	t.Logf("no-change diff of 1,000 tracked secrets: %d reads, 0 writes", tracked)
}
