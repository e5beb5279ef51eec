package watch_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
	"github.com/kvsync/kvsync/pkg/watch"
)

// canary is the secret value the files substitute: it must never show in
// a metric, a label, the status page or a log line.
const canary = "canary-watch-value-7f3a9c"

// fingerprintKey keys kvsync.sum; it must never show either.
const fingerprintKey = "canary-fingerprint-key-51d2"

const seed = `_format_version: "3.0"
_konnect:
  control_plane_name: watched
config_stores:
  - name: store
    secrets:
      - key: api-key
        value: ${{ env "API_KEY" }}
vaults:
  - name: konnect
    prefix: kv
    description: kvsync watch test
    config:
      config_store: store
`

// fixture is an emulator with one control plane, the files that describe
// it, and a watcher driven by hand: each cycle starts when the test says
// so (next), and says when it ended (cycled). Nothing waits on time.
type fixture struct {
	t         *testing.T
	srv       *konnecttest.Server
	cpID      string
	dir       string
	file      string
	sumPath   string
	tokenFile string
	base      *konnect.Client
	w         *watch.Watcher
	logs      *syncBuffer
	page      *httptest.Server

	// key is the fingerprint key the target reads kvsync.sum with.
	key string

	next   chan struct{}
	cycled chan int
	stop   func()
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFixture(t *testing.T, remediate bool) *fixture {
	t.Helper()
	srv := konnecttest.NewServer(konnecttest.Options{})
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	f := &fixture{t: t, srv: srv, cpID: srv.AddControlPlane("watched"), dir: dir,
		file: filepath.Join(dir, "kvsync.yaml"), sumPath: filepath.Join(dir, "kvsync.sum"), tokenFile: filepath.Join(dir, "token"),
		logs: &syncBuffer{}, key: fingerprintKey, next: make(chan struct{}), cycled: make(chan int, 100)}
	f.writeFile(seed)
	f.writeToken(srv.Token)
	// In sync to start with, as after a first kvsync sync.
	first, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: srv.Token, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	in := f.read(true)
	if _, err := apply.Sync(context.Background(), first, in.File, apply.SyncOptions{PlanOptions: in.Plan}); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	f.w, err = watch.New(watch.Config{
		Targets:   []watch.Target{{Name: "watched", Read: func(bool) (watch.Inputs, error) { return f.readErr(remediate) }}},
		Interval:  time.Minute,
		Jitter:    0.1,
		Remediate: remediate,
		Logger:    slog.New(slog.NewJSONHandler(f.logs, nil)),
		Wait: func(ctx context.Context, _ time.Duration) error {
			select {
			case <-f.next:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		Cycled: func(n int) { f.cycled <- n },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.base, err = konnect.New(konnect.Options{BaseURL: srv.URL, Token: srv.Token, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 2 * time.Millisecond,
		MaxRetries: 2, UnreachableAfter: time.Millisecond, Trace: f.w.Trace})
	if err != nil {
		t.Fatal(err)
	}
	f.page = httptest.NewServer(f.w.Handler(nil))
	t.Cleanup(f.page.Close)
	ctx, cancel := context.WithCancel(context.Background())
	f.done = make(chan error, 1)
	go func() { f.done <- f.w.Run(ctx) }()
	f.stop = func() {
		cancel()
		select {
		case err := <-f.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	}
	t.Cleanup(func() {
		f.stop()
		f.checkNoCanary()
	})
	f.waitCycle() // the first cycle runs at once
	return f
}

func (f *fixture) writeFile(content string) {
	f.t.Helper()
	if err := os.WriteFile(f.file, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) writeToken(token string) {
	f.t.Helper()
	if err := os.WriteFile(f.tokenFile, []byte(token+"\n"), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// client is the cycle's client: the token file read afresh, one pacer.
func (f *fixture) client() (*konnect.Client, error) {
	if f.base == nil {
		return nil, nil // the first sync, before the watcher, brings its own
	}
	raw, err := os.ReadFile(f.tokenFile)
	if err != nil {
		return nil, err
	}
	return f.base.NextRun(strings.TrimSpace(string(raw)))
}

func (f *fixture) read(writes bool) watch.Inputs {
	f.t.Helper()
	in, err := f.readErr(writes)
	if err != nil {
		f.t.Fatal(err)
	}
	return in
}

func (f *fixture) readErr(writes bool) (watch.Inputs, error) {
	file, err := state.Load([]string{f.file}, state.LoadOptions{LookupEnv: func(name string) (string, bool) {
		if name == "API_KEY" {
			return canary, true
		}
		return "", false
	}})
	if err != nil {
		return watch.Inputs{}, err
	}
	s, err := sum.Load(f.sumPath, []byte(f.key))
	if err != nil {
		return watch.Inputs{}, err
	}
	c, err := f.client()
	if err != nil {
		return watch.Inputs{}, err
	}
	return watch.Inputs{File: file, Plan: apply.PlanOptions{Plan: diff.Options{Sum: s}, SumFile: f.sumPath}, Client: c}, nil
}

// cycle lets the watcher run one more cycle and waits for its end.
func (f *fixture) cycle() {
	f.t.Helper()
	select {
	case f.next <- struct{}{}:
	case <-time.After(30 * time.Second):
		f.t.Fatal("the watcher did not wait for its next cycle")
	}
	f.waitCycle()
}

func (f *fixture) waitCycle() {
	f.t.Helper()
	select {
	case <-f.cycled:
	case <-time.After(30 * time.Second):
		f.t.Fatal("the cycle did not end")
	}
}

func (f *fixture) get(path string) string {
	f.t.Helper()
	resp, err := http.Get(f.page.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return string(body)
}

// metric returns the value of the series named with its labels exactly as
// exposed (e.g. `kvsync_in_sync{control_plane="watched"}`), -1 when absent.
func (f *fixture) metric(series string) float64 {
	f.t.Helper()
	for _, line := range strings.Split(f.get("/metrics"), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				f.t.Fatalf("%s: %v", line, err)
			}
			return v
		}
	}
	return -1
}

func (f *fixture) expect(series string, want float64) {
	f.t.Helper()
	if got := f.metric(series); got != want {
		f.t.Errorf("%s = %g, want %g", series, got, want)
	}
}

// checkNoCanary: no value, key or token anywhere kvsync watch shows
// things. The failure never prints the text it checked.
func (f *fixture) checkNoCanary() {
	f.t.Helper()
	for what, text := range map[string]string{"metrics": f.get("/metrics"), "status page": f.get("/"), "logs": f.logs.String()} {
		for name, secret := range map[string]string{"secret value": canary, "fingerprint key": fingerprintKey, "token": f.srv.Token} {
			if strings.Contains(text, secret) {
				f.t.Errorf("the %s hold the %s", what, name)
			}
		}
	}
}

const inSync = `kvsync_in_sync{control_plane="watched"}`

// TestDriftShowsWithinOneInterval: a change made out of band shows in
// the metrics, the status page and the log at the next cycle, and only
// reads were made: no lock.
func TestDriftShowsWithinOneInterval(t *testing.T) {
	f := newFixture(t, false)
	f.expect(inSync, 1)
	f.expect(`kvsync_check_failing{control_plane="watched"}`, 0)
	if f.metric(`kvsync_last_successful_check_timestamp_seconds{control_plane="watched"}`) <= 0 {
		t.Error("no last successful check")
	}

	// Out of band: the vault's description is edited, the secret deleted.
	ctx := context.Background()
	v, err := f.base.Vaults.Get(ctx, f.cpID, "kv")
	if err != nil {
		t.Fatal(err)
	}
	edited := "edited in the UI"
	v.Description = &edited
	if _, err := f.base.Vaults.Upsert(ctx, f.cpID, *v); err != nil {
		t.Fatal(err)
	}
	stores, err := f.base.ConfigStores.List(ctx, f.cpID, nil)
	if err != nil || len(stores) != 1 {
		t.Fatalf("stores %v: %v", stores, err)
	}
	if err := f.base.Secrets.Delete(ctx, f.cpID, stores[0].ID, "api-key"); err != nil {
		t.Fatal(err)
	}
	f.srv.ResetCounts()
	f.cycle()
	f.expect(inSync, 0)
	f.expect(`kvsync_pending_changes{action="update",control_plane="watched",kind="vault",reason=""}`, 1)
	f.expect(`kvsync_pending_changes{action="create",control_plane="watched",kind="secret",reason="created"}`, 1)
	for path, n := range f.srv.Counts() {
		if !strings.HasPrefix(path, "GET ") {
			t.Errorf("a read-only watch sent %d × %s", n, path)
		}
	}
	page := f.get("/")
	if !strings.Contains(page, "drifted") || !strings.Contains(page, "update vault kv") {
		t.Errorf("the status page does not show the drift:\n%s", page)
	}
	if !strings.Contains(f.logs.String(), `"in_sync":false`) {
		t.Error("no log line says the control plane drifted")
	}

	// Fixed out of band: in sync again, the pending series gone.
	orig := "kvsync watch test"
	v.Description = &orig
	if _, err := f.base.Vaults.Upsert(ctx, f.cpID, *v); err != nil {
		t.Fatal(err)
	}
	in := f.read(true)
	if _, err := apply.Sync(ctx, f.base, in.File, apply.SyncOptions{PlanOptions: in.Plan}); err != nil {
		t.Fatal(err)
	}
	f.cycle()
	f.expect(inSync, 1)
	f.expect(`kvsync_pending_changes{action="update",control_plane="watched",kind="vault",reason=""}`, -1)
}

// TestRemediation: with --remediate, drift is fixed in the same cycle (a
// value changed outside kvsync written back, a deleted secret created,
// under the lock, recorded in kvsync.sum), logged and counted; the gauge
// is back to in sync; a delete is never made.
func TestRemediation(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	stores, err := f.base.ConfigStores.List(ctx, f.cpID, nil)
	if err != nil || len(stores) != 1 {
		t.Fatalf("stores %v: %v", stores, err)
	}
	storeID := stores[0].ID
	if _, err := f.base.Secrets.Update(ctx, f.cpID, storeID, "api-key", konnect.Plaintext("changed-outside-0000")); err != nil {
		t.Fatal(err)
	}
	// Not kvsync's to delete, and not declared: a delete the plan shows
	// and remediation leaves alone.
	extra, err := f.base.Vaults.Create(ctx, f.cpID, konnect.Vault{Name: "env", Prefix: "extra", Tags: []string{"kvsync"}})
	if err != nil {
		t.Fatal(err)
	}
	f.cycle()
	if got, _ := f.srv.SecretValue(f.cpID, storeID, "api-key"); got != canary {
		t.Error("remediation did not write the declared value back")
	}
	f.expect(`kvsync_remediations_total{action="update",control_plane="watched",kind="secret",result="succeeded"}`, 1)
	if _, err := f.base.Vaults.Get(ctx, f.cpID, "extra"); err != nil {
		t.Errorf("remediation touched a vault only a delete would fix: %v", err)
	}
	f.expect(`kvsync_pending_changes{action="delete",control_plane="watched",kind="vault",reason=""}`, 1)
	f.expect(inSync, 0)
	if !strings.Contains(f.logs.String(), `"msg":"remediated"`) {
		t.Error("the remediation was not logged")
	}
	// The sum recorded the write: the next cycle compares and finds the
	// value in place; and without the extra vault, in sync.
	if err := f.base.Vaults.Delete(ctx, f.cpID, extra.ID); err != nil {
		t.Fatal(err)
	}
	f.cycle()
	f.expect(inSync, 1)
	f.expect(`kvsync_remediations_total{action="update",control_plane="watched",kind="secret",result="succeeded"}`, 1)
	var held bool
	if _, err := f.base.Vaults.Get(ctx, f.cpID, diff.LockPrefix); err == nil {
		held = true
	}
	if held {
		t.Error("the lock is still held after remediation")
	}
}

// TestOutage: Konnect failing turns the failure metrics on; the watcher
// goes on and recovers when Konnect does, though the outage opened the
// client's breaker.
func TestOutage(t *testing.T) {
	f := newFixture(t, false)
	f.srv.SetFaults(konnecttest.Faults{Rules: []konnecttest.FaultRule{{PathContains: "/v2/", Status: 503}}})
	f.cycle()
	f.expect(`kvsync_check_failing{control_plane="watched"}`, 1)
	f.expect(`kvsync_checks_total{control_plane="watched",result="failure"}`, 1)
	if f.metric(`kvsync_konnect_requests_total{code="5xx"}`) < 1 || f.metric(`kvsync_konnect_retries_total`) < 1 {
		t.Error("the 5xx answers and retries were not counted")
	}
	f.expect(inSync, 1) // the last view of drift stays as it was
	if page := f.get("/"); !strings.Contains(page, "failing") || !strings.Contains(page, "Check failed") {
		t.Errorf("the status page does not show the failure:\n%s", page)
	}
	f.cycle() // still down: the process goes on
	f.expect(`kvsync_checks_total{control_plane="watched",result="failure"}`, 2)

	f.srv.SetFaults(konnecttest.Faults{})
	f.cycle()
	f.expect(`kvsync_check_failing{control_plane="watched"}`, 0)
	f.expect(`kvsync_checks_total{control_plane="watched",result="success"}`, 2)
	f.expect(inSync, 1)
}

// TestRateLimitsCounted: 429s are counted, and the check still succeeds.
func TestRateLimitsCounted(t *testing.T) {
	f := newFixture(t, false)
	f.srv.SetFaults(konnecttest.Faults{Rules: []konnecttest.FaultRule{{Method: "GET", PathContains: "/vaults", Status: 429, Times: 1}}})
	f.cycle()
	f.expect(`kvsync_konnect_rate_limited_total`, 1)
	f.expect(`kvsync_check_failing{control_plane="watched"}`, 0)
}

// TestEditsAndTokenPickedUp: the files and the token file are read again
// every cycle.
func TestEditsAndTokenPickedUp(t *testing.T) {
	f := newFixture(t, false)
	f.writeFile(strings.Replace(seed, "description: kvsync watch test", "description: edited in git", 1))
	f.cycle()
	f.expect(inSync, 0)
	f.expect(`kvsync_pending_changes{action="update",control_plane="watched",kind="vault",reason=""}`, 1)

	f.writeFile(seed + "  - name: broken\n")
	f.cycle()
	f.expect(`kvsync_check_failures_total{class="invalid_file",control_plane="watched"}`, 1)

	f.writeFile(seed)
	f.writeToken("kpat_emulator_revoked_token")
	f.cycle()
	f.expect(`kvsync_check_failures_total{class="unauthorized",control_plane="watched"}`, 1)
	f.writeToken(f.srv.Token)
	f.cycle()
	f.expect(`kvsync_check_failing{control_plane="watched"}`, 0)
	f.expect(inSync, 1)
}

// TestValuesNotCompared: without the key kvsync.sum was made with, the
// secret's value cannot be compared: the check says so, and a plan
// without changes is not reported as nothing drifted silently.
func TestValuesNotCompared(t *testing.T) {
	f := newFixture(t, false)
	f.expect(`kvsync_values_not_compared{control_plane="watched"}`, 0)
	f.key = ""
	f.cycle()
	f.expect(`kvsync_values_not_compared{control_plane="watched"}`, 1)
	f.expect(`kvsync_check_failing{control_plane="watched"}`, 0)
	if page := f.get("/"); !strings.Contains(page, "1 secret value not compared") {
		t.Errorf("the status page does not say a value was not compared:\n%s", page)
	}
}

// TestProbes: ready once every control plane was checked; alive while
// the loop turns.
func TestProbes(t *testing.T) {
	f := newFixture(t, false)
	for _, p := range []string{"/healthz", "/readyz"} {
		if body := f.get(p); body != "ok\n" {
			t.Errorf("%s: %q", p, body)
		}
	}
	page := f.get("/")
	if regexp.MustCompile(`(?i)<(script|link|img)\b|https?://`).MatchString(page) {
		t.Error("the status page loads something from elsewhere")
	}
}

// TestStopMidCycle: cancelling the context while a request is parked at
// Konnect ends Run at once with no error.
func TestStopMidCycle(t *testing.T) {
	f := newFixture(t, false)
	arrived, release := f.srv.Hold("GET", "/vaults")
	defer release()
	go func() { f.next <- struct{}{} }()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the cycle did not reach Konnect")
	}
	start := time.Now()
	f.stop()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Run took %s to return once stopped", took)
	}
	f.stop = func() {}
	if strings.Contains(f.logs.String(), "check failed") {
		t.Error("a stop was logged as a failed check")
	}
}

func TestNewRefuses(t *testing.T) {
	target := watch.Target{Name: "a", Read: func(bool) (watch.Inputs, error) { return watch.Inputs{}, errors.New("x") }}
	for name, cfg := range map[string]watch.Config{
		"no targets":  {Interval: time.Second},
		"no interval": {Targets: []watch.Target{target}},
		"jitter":      {Targets: []watch.Target{target}, Interval: time.Second, Jitter: 2},
		"twice":       {Targets: []watch.Target{target, target}, Interval: time.Second},
	} {
		if _, err := watch.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
