package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// TestEnvironmentsExample runs examples/environments against the
// emulator: its three control planes (with the tutorial's route) are
// planned and synced in one run, each with its values, then in sync. The
// example's regions become the emulator's address in a copy.
func TestEnvironmentsExample(t *testing.T) {
	dir, envFile := environmentsExample(t)
	kvsync := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if got := run(append([]string{"kvsync"}, args...), strings.NewReader(""), &out, &errOut); got != want {
			t.Fatalf("kvsync %s exited %d, want %d; stderr:\n%s", strings.Join(args, " "), got, want, errOut.String())
		}
		return out.String()
	}
	plan := kvsync(2, "diff", "--environments", envFile, "--exit-code")
	for _, want := range []string{
		"  dev: planned (control plane dev; 4 to create, 0 to update, 0 to delete)",
		"  prod: planned (control plane prod; 5 to create, 0 to update, 0 to delete)",
		`config.model.name: "mistral-large"`, `config.model.name: "mistral-tiny"`,
		"+ create plugin rate-limiting (route example-route)",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan lacks %q:\n%s", want, plan)
		}
	}
	kvsync(0, "sync", "--environments", envFile)
	kvsync(0, "diff", "--environments", envFile, "--exit-code")
	for _, name := range []string{"dev", "staging", "prod"} {
		if _, err := os.Stat(filepath.Join(dir, "kvsync."+name+".sum")); err != nil {
			t.Errorf("no kvsync.sum of %s: %v", name, err)
		}
	}
}

// environmentsExample copies examples/environments into a temporary
// directory, points its regions at an emulator holding its three control
// planes (each with the tutorial's route), and sets the token and each
// environment's secret variable.
func environmentsExample(t *testing.T) (dir, envFile string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/environments")); err != nil {
		t.Fatal(err)
	}
	srv := konnecttest.NewServer(konnecttest.Options{Token: "kpat_test_fake_0000"})
	t.Cleanup(srv.Close)
	envFile = filepath.Join(dir, "kvsync.environments.yaml")
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	data = regexp.MustCompile(`(?m)^(\s*)region: [a-z]+`).ReplaceAll(data, []byte("${1}address: "+srv.URL))
	if err := os.WriteFile(envFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: srv.Token, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range []string{"dev", "staging", "prod"} {
		cpID := srv.AddControlPlane(name)
		svc, err := c.Services.Create(ctx, cpID, konnect.Service{Name: "example-service", URL: "http://httpbin.konghq.com/anything"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Routes.Create(ctx, cpID, konnect.Route{Name: "example-route", Paths: []string{"/anything"}, Service: &konnect.ForeignKey{ID: svc.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("KVSYNC_KONNECT_ADDR", "")
	t.Setenv("KVSYNC_KONNECT_TOKEN", srv.Token)
	t.Setenv("DEV_MISTRAL_API_KEY", "fake-dev-0001")
	t.Setenv("STAGING_MISTRAL_API_KEY", "fake-staging-0002")
	t.Setenv("PROD_MISTRAL_API_KEY", "fake-prod-0003")
	return dir, envFile
}
