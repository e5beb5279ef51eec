package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// TestDeletePrompt: on a terminal, a sync that deletes asks first, naming
// what a forced store delete takes; "n" applies nothing, "y" applies,
// --yes does not ask, and without a terminal nobody is asked: the deletes
// are left out (exit 4) unless --yes or KVSYNC_YES consents.
func TestDeletePrompt(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	srv.AddControlPlane("my-control-plane")
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	t.Setenv("KVSYNC_SECRET", "fake-value-0000")
	dir := t.TempDir()
	full := filepath.Join(dir, "kvsync.yaml")
	empty := filepath.Join(dir, "empty.yaml")
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(full, "_format_version: \"3.0\"\n_konnect:\n  control_plane_name: my-control-plane\nconfig_stores:\n  - name: s\n    secrets:\n      - key: k\n        value: ${{ env \"KVSYNC_SECRET\" }}\nvaults:\n  - name: konnect\n    prefix: vv\n    config:\n      config_store: s\n")
	write(empty, "_format_version: \"3.0\"\n_konnect:\n  control_plane_name: my-control-plane\n")
	sync := func(stdin string, terminal bool, args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		p := &program{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut}
		p.interactive = func() bool { return terminal }
		code := p.run(append([]string{"kvsync", "sync"}, args...))
		return code, out.String(), errOut.String()
	}
	if code, _, stderr := sync("", false, full); code != exitOK {
		t.Fatalf("first sync: %d %s", code, stderr)
	}
	if code, _, stderr := sync("", true, full); code != exitOK || strings.Contains(stderr, "[y/N]") {
		t.Errorf("a sync without deletes asked (exit %d): %s", code, stderr)
	}

	srv.ResetCounts()
	code, _, stderr := sync("n\n", true, empty)
	if code != exitError || !strings.Contains(stderr, "This deletes 2 entities from control plane my-control-plane (config store s: its 1 secret first, sparing any added since). Apply the plan? [y/N]") ||
		!strings.Contains(stderr, "nothing applied: the deletes were not confirmed") {
		t.Errorf("answered no: exit %d\n%s", code, stderr)
	}
	if writes := countWrites(srv); writes != 0 {
		t.Errorf("answered no, yet %d writes", writes)
	}
	// -o json prints its document at the end: the plan the question is
	// about goes to standard error first, and standard output stays JSON.
	code, stdout, stderr := sync("n\n", true, "-o", "json", empty)
	if code != exitError || !strings.Contains(stderr, "- delete config_store s") || !strings.Contains(stderr, "[y/N]") {
		t.Errorf("-o json, answered no: exit %d, plan not shown before the question:\n%s", code, stderr)
	}
	if strings.Contains(stdout, "delete config_store") || !strings.HasPrefix(strings.TrimSpace(stdout), "{") {
		t.Errorf("-o json: standard output is not the JSON document alone:\n%s", stdout)
	}
	if code, _, stderr = sync("", true, empty); code != exitError {
		t.Errorf("no answer (end of input) applied: exit %d %s", code, stderr)
	}
	if code, stdout, stderr := sync("y\n", true, empty); code != exitOK || !strings.Contains(stdout, "Sync: 2 succeeded") {
		t.Errorf("answered yes: exit %d\n%s%s", code, stdout, stderr)
	}

	// --yes on a terminal, and --yes or KVSYNC_YES without one: no
	// question, the deletes run.
	for _, tt := range []struct {
		terminal bool
		env      string
		args     []string
	}{{true, "", []string{"--yes", empty}}, {false, "", []string{"--yes", empty}}, {false, "true", []string{empty}}} {
		if code, _, stderr := sync("", true, full); code != exitOK {
			t.Fatalf("re-create: %d %s", code, stderr)
		}
		t.Setenv("KVSYNC_YES", tt.env)
		code, stdout, stderr := sync("", tt.terminal, tt.args...)
		if code != exitOK || strings.Contains(stderr, "[y/N]") || !strings.Contains(stdout, "Sync: 2 succeeded") {
			t.Errorf("sync %v (terminal %v, KVSYNC_YES=%q): exit %d, asked %v", tt.args, tt.terminal, tt.env, code, strings.Contains(stderr, "[y/N]"))
		}
	}
	t.Setenv("KVSYNC_YES", "")

	// No terminal and no consent: the deletes are left out, the plan and
	// the run say so, and the exit status is 3.
	if code, _, stderr := sync("", true, full); code != exitOK {
		t.Fatalf("re-create: %d %s", code, stderr)
	}
	srv.ResetCounts()
	code, stdout, stderr = sync("", false, empty)
	if code != exitDeletesLeftOut || strings.Contains(stderr, "[y/N]") ||
		!strings.Contains(stdout, "2 deletes left out: without a terminal to ask, sync deletes only with --yes (KVSYNC_YES=true) or a reviewed plan (--plan)") ||
		!strings.Contains(stderr, "Error: 2 deletes left out:") {
		t.Errorf("no terminal, no consent: exit %d, want 4\n%s%s", code, stdout, stderr)
	}
	// The lock, taken while planning, is released: nothing else.
	if writes, lock := countWrites(srv), lockWrites(srv); writes != lock || lock != 2 {
		t.Errorf("no consent, yet %d writes (%d of them the lock's)", writes, lock)
	}
}

// lockWrites counts the writes to vaults by id: the lock's, for a run
// whose plan writes no vault.
func lockWrites(srv *konnecttest.Server) int {
	c := srv.Counts()
	return c["PUT /v2/control-planes/{controlPlaneId}/core-entities/vaults/{VaultId}"] + c["DELETE /v2/control-planes/{controlPlaneId}/core-entities/vaults/{VaultId}"]
}

func countWrites(srv *konnecttest.Server) int {
	n := 0
	for k, v := range srv.Counts() {
		if !strings.HasPrefix(k, "GET ") {
			n += v
		}
	}
	return n
}
