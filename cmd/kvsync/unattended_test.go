package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestTokenWithLineBreakFailsAtOnce: a token that no request can carry (a
// token file of two lines) fails before any request, instead of being
// retried until the run gives up.
func TestTokenWithLineBreakFailsAtOnce(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	t.Cleanup(srv.Close)
	file := storesFile(t, 1)
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", "kpat_test_fake_0000\nkpat_test_fake_1111")
	code, _, stderr := runIn(t, "", "diff", file)
	switch {
	case strings.Contains(stderr, "fake_0000") || strings.Contains(stderr, "fake_1111"):
		t.Error("the error shows the token")
	case code != exitError || !strings.Contains(stderr, "the token holds a line break"):
		t.Errorf("exit %d, want 1 and a word on the line break:\n%s", code, stderr)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests made, want none", n)
	}
}

// TestAllowHTTPWarns: --allow-http to a host that is not loopback says that
// the token travels in clear. Loopback (the emulator) says nothing.
func TestAllowHTTPWarns(t *testing.T) {
	file := storesFile(t, 1)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	// A host that is not loopback and answers nothing: the warning comes
	// before any request, and the run fails fast on the refused address.
	_, _, stderr := runIn(t, "", "diff", "--konnect-addr", "http://192.0.2.1:9", "--allow-http", "--timeout", "1ms", "--unreachable-after", "1ms", "--max-duration", "2s", file)
	if !strings.Contains(stderr, "Warning: --allow-http: the Konnect token and every secret value go to 192.0.2.1 in clear") {
		t.Errorf("no warning that the token goes in clear:\n%s", stderr)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	_, _, stderr = runIn(t, "", "diff", "--konnect-addr", srv.URL, "--allow-http", file)
	if strings.Contains(stderr, "in clear") {
		t.Errorf("a loopback address was warned about:\n%s", stderr)
	}
}

// TestThrottledRunSaysSoAndEnds: a server that answers 429 with
// Retry-After: 1 forever, on a run outside a terminal: the heartbeat says
// what the run waits for (shortened here from 10 s), and the throttling
// budget ends the run, saying Konnect kept throttling, long before
// --max-duration.
func TestThrottledRunSaysSoAndEnds(t *testing.T) {
	defer func(was time.Duration) { heartbeatAfter = was }(heartbeatAfter)
	heartbeatAfter = 500 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	file := storesFile(t, 1)
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, stderr := runIn(t, "", "diff", "--throttle-budget", "2500ms", "--max-duration", "10m", file)
		done <- result{code, stderr}
	}()
	select {
	case r := <-done:
		if r.code != exitError || !strings.Contains(r.stderr, "Konnect kept throttling: it answered nothing but 429") {
			t.Errorf("exit %d, want 1 and Konnect kept throttling:\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "kvsync: still running, nothing printed for") || !strings.Contains(r.stderr, "GET /v2/control-planes") ||
			!strings.Contains(r.stderr, "left before --max-duration") {
			t.Errorf("no heartbeat naming the request and the time left:\n%s", r.stderr)
		}
	case <-timeout():
		t.Fatal("the run did not end")
	}
}

// TestSharedControlPlaneNeedsConsent: two teams share a control plane and
// the default select tag. Team A's file does not declare team B's vault:
// a sync in CI (no terminal) without consent leaves the deletes out, warns
// that the bare default tag is shared, exits 4, and team B's vault, store
// and secrets survive. With a reviewed plan the deletes are consented to.
func TestSharedControlPlaneNeedsConsent(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	srv.AddControlPlane("my-control-plane")
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	dir := t.TempDir()
	team := func(name string) string {
		path := filepath.Join(dir, name+".yaml")
		content := fmt.Sprintf("_format_version: \"3.0\"\n_konnect:\n  control_plane_name: my-control-plane\nconfig_stores:\n  - name: %[1]s-store\n    secrets:\n", name)
		for _, k := range []string{"k1", "k2", "k3"} {
			content += fmt.Sprintf("      - key: %s\n        value: fake-%s-%s\n", k, name, k)
		}
		content += fmt.Sprintf("vaults:\n  - name: konnect\n    prefix: %[1]s\n    config:\n      config_store: %[1]s-store\n", name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a, b := team("team-a"), team("team-b")
	if code, _, stderr := runIn(t, "", "sync", "--yes", "--no-sum", b); code != exitOK {
		t.Fatalf("team B's sync: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runIn(t, "", "sync", "--no-sum", a)
	if code != exitDeletesLeftOut {
		t.Errorf("team A's sync without consent: exit %d, want %d\n%s%s", code, exitDeletesLeftOut, stdout, stderr)
	}
	for _, want := range []string{
		`the select tag is the bare default "kvsync", and 1 vault or plugin carrying it is not declared in the files, so sync deletes them`,
		"2 deletes left out: without a terminal to ask",
	} {
		if !strings.Contains(stdout+stderr, want) {
			t.Errorf("the run does not say %q:\n%s%s", want, stdout, stderr)
		}
	}
	cp := srv.ControlPlaneID("my-control-plane")
	client, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	vaultsOf := func() []konnect.Vault {
		t.Helper()
		v, err := client.Vaults.List(context.Background(), cp, nil)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if vaults := vaultsOf(); len(vaults) != 2 {
		t.Errorf("%d vaults after team A's sync, want both teams'", len(vaults))
	}

	// A reviewed plan is consent: what it shows is applied, deletes too.
	plan := filepath.Join(dir, "plan.json")
	if code, _, stderr := runIn(t, "", "diff", "--no-sum", "--out", plan, a); code != exitOK {
		t.Fatalf("diff --out: exit %d\n%s", code, stderr)
	}
	if code, stdout, stderr := runIn(t, "", "sync", "--no-sum", "--plan", plan, a); code != exitOK || !strings.Contains(stdout, "succeeded") {
		t.Errorf("sync --plan: exit %d\n%s%s", code, stdout, stderr)
	}
	if vaults := vaultsOf(); len(vaults) != 1 {
		t.Errorf("%d vaults after the reviewed sync, want team A's alone", len(vaults))
	}
}

// TestSilentSecretWrite: a server that takes a secret's writes and never
// answers them (everything else is answered): the sync fails in bounded
// time, --timeout + --unreachable-after per write, having sent the value
// at most twice, and says which write failed; it used to send it nine
// times over five minutes.
func TestSilentSecretWrite(t *testing.T) {
	emu := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(emu.Close)
	emu.AddControlPlane("my-control-plane")
	target, _ := url.Parse(emu.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var sends atomic.Int32
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && strings.Contains(r.URL.Path, "/secrets") {
			sends.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(silent.Close)
	t.Setenv("KVSYNC_KONNECT_ADDR", silent.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	file := storesFile(t, 1)
	done := make(chan struct {
		code   int
		stderr string
	}, 1)
	go func() {
		code, _, stderr := runIn(t, "", "sync", "--no-sum", "--timeout", "200ms", "--unreachable-after", "500ms", file)
		done <- struct {
			code   int
			stderr string
		}{code, stderr}
	}()
	select {
	case r := <-done:
		switch {
		case strings.Contains(r.stderr, "fake-0"):
			t.Error("the output holds the value")
		case r.code != exitError || !strings.Contains(r.stderr, "failed create secret store-00/k"):
			t.Errorf("exit %d, want 1 naming the secret's write:\n%s", r.code, r.stderr)
		}
	case <-time.After(200*time.Millisecond + 500*time.Millisecond + 30*time.Second):
		t.Fatal("the sync did not end")
	}
	if n := sends.Load(); n < 1 || n > 2 {
		t.Errorf("the value was sent %d times, want at most 2", n)
	}
}
