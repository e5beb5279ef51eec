package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// storesFile declares n stores of one secret each.
func storesFile(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("_format_version: \"3.0\"\n_konnect:\n  control_plane_name: my-control-plane\nconfig_stores:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: store-%02d\n    secrets:\n      - key: k\n        value: fake-%d\n", i, i)
	}
	path := filepath.Join(t.TempDir(), "kvsync.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOutageMidSync: Konnect goes away while a sync runs (its listener
// closes). The run ends at once with "Konnect unreachable" and the
// operations it did not start, having printed each operation as it ended;
// once Konnect is back, a re-run converges without a duplicate.
func TestOutageMidSync(t *testing.T) {
	emu, err := konnecttest.New(konnecttest.Options{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	emu.AddControlPlane("my-control-plane")
	down := httptest.NewServer(emu)
	file := storesFile(t, 20)
	vaults := "vaults:\n"
	for i := range 10 {
		vaults += fmt.Sprintf("  - name: env\n    prefix: outage-%d\n    config:\n      prefix: OUTAGE_%d_\n", i, i)
	}
	if fh, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0); err != nil {
		t.Fatal(err)
	} else if _, err := fh.WriteString(vaults); err != nil || fh.Close() != nil {
		t.Fatal(err)
	}
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	t.Setenv("KVSYNC_KONNECT_ADDR", down.URL)

	// The first vault's create never comes back: the server dies under
	// it. Vault creates wait for the plan made under the lock (store and
	// secret creates may start before it), so the outage falls in the
	// middle of the apply, not while the plan is made again.
	arrived, release := emu.Hold("POST", "/core-entities/vaults")
	defer release()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := runIn(t, "", "sync", "--parallelism", "1", "--no-sum", file)
		done <- result{code, stdout, stderr}
	}()
	wait(t, arrived, "the held create")
	// Konnect goes away: nothing accepts connections, open ones break.
	down.Listener.Close()
	down.CloseClientConnections()
	var r result
	select {
	case r = <-done:
	case <-timeout():
		t.Fatal("the sync did not end after the outage")
	}
	if r.code != exitError || !strings.Contains(r.stderr, "Konnect unreachable") || !strings.Contains(r.stderr, "not started") {
		t.Errorf("exit %d, want 1 and 'Konnect unreachable: … not started':\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "kvsync: [1/") {
		t.Errorf("no progress line while the run went on:\n%s", r.stderr)
	}
	release() // the held request ends (applied late, as a real server might)
	down.Close()

	// Konnect is back (the same state behind a new address).
	up := httptest.NewServer(emu)
	t.Cleanup(up.Close)
	t.Setenv("KVSYNC_KONNECT_ADDR", up.URL)
	// The cut-off run could not release its lock; a re-run is told who
	// holds it (here this very process, so it is not taken over).
	if code, _, stderr := runIn(t, "", "sync", "--no-sum", file); code != exitError || !strings.Contains(stderr, "is locked by another kvsync run") {
		t.Fatalf("re-run under the left lock: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runIn(t, "", "unlock", file); code != exitOK {
		t.Fatalf("unlock: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runIn(t, "", "sync", "--no-sum", file); code != exitOK {
		t.Fatalf("re-run: exit %d\n%s", code, stderr)
	}
	c, err := konnect.New(konnect.Options{BaseURL: up.URL, Token: testToken, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	stores, err := c.ConfigStores.List(context.Background(), emu.ControlPlaneID("my-control-plane"), nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, s := range stores {
		names[s.Name]++
	}
	if len(stores) != 20 || len(names) != 20 {
		t.Errorf("after the re-run: %d stores, %d names; want 20 of each (no duplicate)", len(stores), len(names))
	}
}

// TestEndsWithinDeadline: a server that only answers 429, and one that
// accepts and never answers, both end the run within --max-duration, with
// exit 1 and a message that says so.
func TestEndsWithinDeadline(t *testing.T) {
	file := storesFile(t, 1)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	for name, handler := range map[string]http.HandlerFunc{
		"always 429": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
		},
		"never answers": func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(handler)
			defer srv.Close()
			defer srv.CloseClientConnections()
			t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
			type result struct {
				code   int
				stderr string
			}
			done := make(chan result, 1)
			go func() {
				code, _, stderr := runIn(t, "", "diff", "--max-duration", "1s", "--timeout", "300ms", "--unreachable-after", "10m", file)
				done <- result{code, stderr}
			}()
			select {
			case r := <-done:
				if r.code != exitError || !(strings.Contains(r.stderr, "deadline") || strings.Contains(r.stderr, "--max-duration")) {
					t.Errorf("exit %d, want 1 and a word about the deadline:\n%s", r.code, r.stderr)
				}
			case <-timeout():
				t.Fatal("the run did not end")
			}
		})
	}
}
