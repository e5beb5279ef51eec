package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// TestConcurrentSyncsMakeNoDuplicate: two syncs of one file at once (5
// stores × 5 secrets, 5 vaults, 15 plugins) leave exactly what the file
// declares: one run takes the control plane's lock, the other waits for
// nothing and says who holds it, or finds nothing left to do.
func TestConcurrentSyncsMakeNoDuplicate(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	cpID := srv.AddControlPlane("my-control-plane")
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: testToken, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc, err := c.Services.Create(ctx, cpID, konnect.Service{Name: "svc", Host: "example.internal", Protocol: "http", Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("_format_version: \"3.0\"\n_konnect:\n  control_plane_name: my-control-plane\nconfig_stores:\n")
	for i := range 5 {
		fmt.Fprintf(&b, "  - name: store-%d\n    secrets:\n", i)
		for j := range 5 {
			fmt.Fprintf(&b, "      - key: k%d\n        value: fake-%d-%d\n", j, i, j)
		}
	}
	b.WriteString("vaults:\n")
	for i := range 5 {
		fmt.Fprintf(&b, "  - name: konnect\n    prefix: vault-%d\n    config:\n      config_store: store-%d\n", i, i)
	}
	b.WriteString("plugins:\n")
	for i := range 15 {
		route, err := c.Routes.Create(ctx, cpID, konnect.Route{Name: fmt.Sprintf("route-%d", i), Paths: []string{fmt.Sprintf("/r%d", i)}, Service: &konnect.ForeignKey{ID: svc.ID}})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  - name: rate-limiting\n    route: %s\n    config:\n      minute: %d\n", route.Name, i+1)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "kvsync.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)

	// Two processes, as two CI jobs would be (the CLI library keeps global
	// state, so two runs in one process are not what this tests).
	bin := filepath.Join(t.TempDir(), "kvsync")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building kvsync: %v\n%s", err, out)
	}
	type outcome struct {
		code           int
		stdout, stderr string
	}
	done := make(chan outcome, 2)
	for i := range 2 {
		go func() {
			var out, errOut bytes.Buffer
			// Each run its own sum file, as two machines would have.
			cmd := exec.Command(bin, "sync", "--sum", filepath.Join(dir, fmt.Sprintf("run-%d.sum", i)), file)
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				code = -1
			}
			done <- outcome{code, out.String(), errOut.String()}
		}()
	}
	succeeded := 0
	for range 2 {
		select {
		case o := <-done:
			switch {
			case o.code == exitOK:
				succeeded++
			case strings.Contains(o.stderr, "is locked by another kvsync run") || strings.Contains(o.stderr, "changed while kvsync took its lock"):
			default:
				t.Errorf("a run failed otherwise (exit %d):\n%s", o.code, o.stderr)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the runs did not end within 60s")
		}
	}
	if succeeded == 0 {
		t.Error("neither run succeeded")
	}
	stores, _ := c.ConfigStores.List(ctx, cpID, nil)
	vaults, _ := c.Vaults.List(ctx, cpID, nil)
	plugins, _ := c.Plugins.List(ctx, cpID, nil)
	secrets := 0
	for _, s := range stores {
		list, _ := c.Secrets.List(ctx, cpID, s.ID, nil)
		secrets += len(list)
	}
	if len(stores) != 5 || secrets != 25 || len(vaults) != 5 || len(plugins) != 15 {
		t.Errorf("after two syncs at once: %d stores, %d secrets, %d vaults (the lock included), %d plugins; want 5, 25, 5, 15",
			len(stores), secrets, len(vaults), len(plugins))
	}
}
