package konnect_test

// Tests of the client against the emulator over real HTTP: the three
// pagination styles across several pages, rate limiting, injected 5xx and
// dropped connections, and the emulator's real error bodies.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

const (
	cpsT     = "/v2/control-planes"
	storesT  = "/v2/control-planes/{controlPlaneId}/config-stores"
	secretsT = "/v2/control-planes/{controlPlaneId}/config-stores/{configStoreId}/secrets"
	vaultsT  = "/v2/control-planes/{controlPlaneId}/core-entities/vaults"
)

// setup starts an emulator with one control plane and returns a fast-retrying
// client for it.
func setup(t testing.TB, tweak ...func(*konnect.Options)) (*konnecttest.Server, *konnect.Client, string) {
	t.Helper()
	srv := konnecttest.NewServer(konnecttest.Options{})
	t.Cleanup(srv.Close)
	opts := konnect.Options{
		BaseURL:        srv.URL,
		Token:          srv.Token,
		RetryBaseDelay: time.Millisecond,
		RetryMaxDelay:  20 * time.Millisecond,
		MaxRetries:     10,
		NoPacing:       true,
		UserAgent:      "kvsync/test",
	}
	for _, f := range tweak {
		f(&opts)
	}
	c, err := konnect.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := c.ControlPlanes.Create(context.Background(), konnect.ControlPlane{Name: "test-cp"})
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCounts()
	return srv, c, cp.ID
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func createVaults(t testing.TB, c *konnect.Client, cp string, n int) {
	t.Helper()
	ctx := ctxFor(t)
	for i := range n {
		if _, err := c.Vaults.Create(ctx, cp, konnect.Vault{Name: "env", Prefix: fmt.Sprintf("v-%04d", i), Tags: []string{"kvsync"}}); err != nil {
			t.Fatalf("vault %d: %v", i, err)
		}
	}
}

func TestEmulatorKongPagination(t *testing.T) {
	srv, c, cp := setup(t)
	ctx := ctxFor(t)
	createVaults(t, c, cp, 250)
	if _, err := c.Vaults.Create(ctx, cp, konnect.Vault{Name: "env", Prefix: "untagged"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		opts      *konnect.ListOptions
		want      int
		wantPages int
	}{
		{"page size 100", &konnect.ListOptions{PageSize: 100}, 251, 3},
		{"page size 7", &konnect.ListOptions{PageSize: 7}, 251, 36},
		{"default page size", nil, 251, 1},
		{"tag filter", &konnect.ListOptions{PageSize: 100, Tags: []string{"kvsync"}}, 250, 3},
		{"no match", &konnect.ListOptions{Tags: []string{"nobody"}}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ResetCounts()
			vaults, err := c.Vaults.List(ctx, cp, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(vaults) != tt.want {
				t.Errorf("got %d vaults, want %d", len(vaults), tt.want)
			}
			prefixes := map[string]bool{}
			for _, v := range vaults {
				prefixes[v.Prefix] = true
			}
			if len(prefixes) != len(vaults) {
				t.Errorf("%d vaults but %d distinct prefixes: pages overlap", len(vaults), len(prefixes))
			}
			if got := srv.Counts()["GET "+vaultsT]; got != tt.wantPages {
				t.Errorf("%d list requests, want %d", got, tt.wantPages)
			}
		})
	}
}

func TestEmulatorCursorPagination(t *testing.T) {
	srv, c, cp := setup(t)
	ctx := ctxFor(t)
	var ids []string
	for i := range 7 {
		st, err := c.ConfigStores.Create(ctx, cp, fmt.Sprintf("store-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
	}
	srv.ResetCounts()
	stores, err := c.ConfigStores.List(ctx, cp, &konnect.ListOptions{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range stores {
		got = append(got, st.ID)
	}
	slices.Sort(got)
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("listed %v, want %v", got, ids)
	}
	if n := srv.Counts()["GET "+storesT]; n != 3 {
		t.Errorf("%d list requests, want 3", n)
	}

	// Secrets, with keys that need escaping.
	keys := []string{"plain", "with/slash", "with space", "ünïcode", "q?x#y", "100%", "a+b"}
	for i, k := range keys {
		if _, err := c.Secrets.Create(ctx, cp, ids[0], k, konnect.Plaintext(fmt.Sprintf("value-%d", i))); err != nil {
			t.Fatalf("secret %q: %v", k, err)
		}
	}
	srv.ResetCounts()
	secrets, err := c.Secrets.List(ctx, cp, ids[0], &konnect.ListOptions{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	var gotKeys []string
	for _, s := range secrets {
		gotKeys = append(gotKeys, s.Key)
		if _, err := c.Secrets.Get(ctx, cp, ids[0], s.Key); err != nil {
			t.Errorf("get %q: %v", s.Key, err)
		}
	}
	slices.Sort(gotKeys)
	slices.Sort(keys)
	if !slices.Equal(gotKeys, keys) {
		t.Errorf("listed keys %q, want %q", gotKeys, keys)
	}
	if n := srv.Counts()["GET "+secretsT]; n != 4 {
		t.Errorf("%d secret list requests, want 4", n)
	}
}

func TestEmulatorControlPlanePagination(t *testing.T) {
	srv, c, _ := setup(t)
	ctx := ctxFor(t)
	for i := range 6 {
		if _, err := c.ControlPlanes.Create(ctx, konnect.ControlPlane{Name: fmt.Sprintf("cp-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	srv.ResetCounts()
	cps, err := c.ControlPlanes.List(ctx, "", &konnect.ListOptions{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 7 {
		t.Errorf("got %d control planes, want 7", len(cps))
	}
	if n := srv.Counts()["GET "+cpsT]; n != 4 {
		t.Errorf("%d list requests, want 4", n)
	}

	byName, err := c.ControlPlanes.Resolve(ctx, "cp-3")
	if err != nil || byName.Name != "cp-3" {
		t.Fatalf("Resolve by name: %+v, %v", byName, err)
	}
	byID, err := c.ControlPlanes.Resolve(ctx, byName.ID)
	if err != nil || byID.ID != byName.ID {
		t.Fatalf("Resolve by id: %+v, %v", byID, err)
	}
	if _, err := c.ControlPlanes.Resolve(ctx, "no-such-cp"); !konnect.IsNotFound(err) {
		t.Errorf("Resolve of an unknown name: %v, want NotFound", err)
	}
	if _, err := c.ControlPlanes.Resolve(ctx, "7b4c3d1e-0000-4000-8000-000000000000"); !konnect.IsNotFound(err) {
		t.Errorf("Resolve of an unknown id: %v, want NotFound", err)
	}
}

func TestEmulatorRateLimitWithRetryAfter(t *testing.T) {
	srv, c, cp := setup(t)
	ctx := ctxFor(t)
	// A 429 (Retry-After: 1) and the call still succeeds, though retries
	// are disabled: rate limiting does not use up retries.
	c2, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: srv.Token, MaxRetries: -1, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetFaults(konnecttest.Faults{Rules: []konnecttest.FaultRule{{Method: "GET", PathContains: "/config-stores", Status: 429, Times: 1}}})
	if _, err := c2.ConfigStores.List(ctx, cp, nil); err != nil {
		t.Fatalf("List under 429s: %v", err)
	}
	if n := srv.Counts()["GET "+storesT]; n != 2 {
		t.Errorf("%d requests, want 2 (a 429, then the answer)", n)
	}

	// A token bucket of 10/s with a burst of 3 and 6 concurrent callers:
	// every call succeeds, some after 429s.
	srv.SetFaults(konnecttest.Faults{RateLimit: 10, RateBurst: 3})
	srv.ResetCounts()
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Vaults.Get(ctx, cp, fmt.Sprintf("absent-%d", i))
			if !konnect.IsNotFound(err) {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("under a rate limit: %v, want NotFound", err)
	}
	if total := srv.TotalRequests(); total <= 6 {
		t.Errorf("%d requests for 6 calls: the rate limit never answered 429", total)
	}
}

func TestEmulatorRetriesInjected5xx(t *testing.T) {
	srv, c, cp := setup(t)
	ctx := ctxFor(t)
	st, err := c.ConfigStores.Create(ctx, cp, "store")
	if err != nil {
		t.Fatal(err)
	}
	srv.SetFaults(konnecttest.Faults{Rules: []konnecttest.FaultRule{
		{Method: "GET", PathContains: "/config-stores", Status: 503, Times: 2},
		{Method: "PUT", PathContains: "/secrets/", Status: 502, Times: 1},
		{Method: "DELETE", PathContains: "/secrets/", Status: 504, Times: 1},
		{Method: "POST", PathContains: "/core-entities/vaults", Status: 500, Times: 1},
	}})
	srv.ResetCounts()
	if _, err := c.ConfigStores.Get(ctx, cp, st.ID); err != nil {
		t.Errorf("GET after two 503s: %v", err)
	}
	if _, err := c.Secrets.Update(ctx, cp, st.ID, "k", konnect.Plaintext("v")); err != nil {
		t.Errorf("PUT after a 502: %v", err)
	}
	if err := c.Secrets.Delete(ctx, cp, st.ID, "k"); err != nil {
		t.Errorf("DELETE after a 504: %v", err)
	}
	v, err := c.Vaults.Create(ctx, cp, konnect.Vault{Name: "env", Prefix: "after-500"})
	if err != nil {
		t.Fatalf("POST after a 500: %v", err)
	}
	counts := srv.Counts()
	want := map[string]int{
		"GET " + storesT + "/{configStoreId}": 3,
		"PUT " + secretsT + "/{key}":          2,
		"DELETE " + secretsT + "/{key}":       2,
		"POST " + vaultsT:                     2, // the 500, then the create
		"GET " + vaultsT + "/{VaultId}":       1, // the read-back that found nothing
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: %d requests, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	if got, err := c.Vaults.Get(ctx, cp, v.ID); err != nil || got.Prefix != "after-500" {
		t.Errorf("created vault: %+v, %v", got, err)
	}
}

func TestEmulatorDroppedConnections(t *testing.T) {
	srv, c, cp := setup(t)
	ctx := ctxFor(t)
	st, err := c.ConfigStores.Create(ctx, cp, "store")
	if err != nil {
		t.Fatal(err)
	}
	srv.SetFaults(konnecttest.Faults{Rules: []konnecttest.FaultRule{
		{Method: "POST", PathContains: "/core-entities/plugins", Times: 1},
		{Method: "POST", PathContains: "/secrets", Times: 1},
		{Method: "POST", PathContains: "/config-stores", Times: 1},
		{Method: "GET", PathContains: "/core-entities/vaults", Times: 2},
	}})
	if _, err := c.Plugins.Create(ctx, cp, konnect.Plugin{Name: "rate-limiting", Config: map[string]any{"minute": 5}}); err != nil {
		t.Errorf("plugin create through a dropped connection: %v", err)
	}
	// The store's rule matches the secrets' path too: the store goes
	// first, so that the secret meets one drop (a value is sent at most
	// twice).
	if _, err := c.ConfigStores.Create(ctx, cp, "second"); err != nil {
		t.Errorf("store create through a dropped connection: %v", err)
	}
	if _, err := c.Secrets.Create(ctx, cp, st.ID, "k", konnect.Plaintext("v")); err != nil {
		t.Errorf("secret create through a dropped connection: %v", err)
	}
	if _, err := c.Vaults.List(ctx, cp, nil); err != nil {
		t.Errorf("list through two dropped connections: %v", err)
	}
	plugins, _ := c.Plugins.List(ctx, cp, nil)
	secrets, _ := c.Secrets.List(ctx, cp, st.ID, nil)
	stores, _ := c.ConfigStores.List(ctx, cp, nil)
	if len(plugins) != 1 || len(secrets) != 1 || len(stores) != 2 {
		t.Errorf("state after retries: %d plugins, %d secrets, %d stores; want 1, 1, 2", len(plugins), len(secrets), len(stores))
	}
}

// Random faults on every request: each call must succeed exactly once. A
// secret's value is sent at most twice per call, so a secret create may
// fail: then it is tried again as a re-run would (an update when the key
// exists), and converges without a duplicate.
func TestEmulatorRandomFaults(t *testing.T) {
	srv, c, cp := setup(t)
	ctx := ctxFor(t)
	srv.SetFaults(konnecttest.Faults{ErrorRate: 0.2, DropRate: 0.1, Seed: 7})
	st, err := c.ConfigStores.Create(ctx, cp, "store")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		key := fmt.Sprintf("key-%d", i)
		var err error
		for run := 0; run < 10; run++ {
			if _, gerr := c.Secrets.Get(ctx, cp, st.ID, key); gerr == nil {
				_, err = c.Secrets.Update(ctx, cp, st.ID, key, konnect.Plaintext("v"))
			} else {
				_, err = c.Secrets.Create(ctx, cp, st.ID, key, konnect.Plaintext("v"))
			}
			if err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("secret %d after 10 runs: %v", i, err)
		}
		if _, err := c.Vaults.Create(ctx, cp, konnect.Vault{Name: "env", Prefix: fmt.Sprintf("p-%d", i)}); err != nil {
			t.Fatalf("vault %d: %v", i, err)
		}
	}
	secrets, err := c.Secrets.List(ctx, cp, st.ID, &konnect.ListOptions{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	vaults, err := c.Vaults.List(ctx, cp, &konnect.ListOptions{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	stores, err := c.ConfigStores.List(ctx, cp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets) != 20 || len(vaults) != 20 || len(stores) != 1 {
		t.Errorf("%d secrets, %d vaults, %d stores; want 20, 20, 1", len(secrets), len(vaults), len(stores))
	}
	t.Logf("%d requests for 45 calls and 3 lists", srv.TotalRequests())
}

func TestEmulatorErrors(t *testing.T) {
	srv, c, cp := setup(t)
	ctx := ctxFor(t)
	st, err := c.ConfigStores.Create(ctx, cp, "store")
	if err != nil {
		t.Fatal(err)
	}
	const value = "emulator-secret-value-do-not-print"
	if _, err := c.Secrets.Create(ctx, cp, st.ID, "k", konnect.Plaintext(value)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Vaults.Create(ctx, cp, konnect.Vault{Name: "env", Prefix: "taken"}); err != nil {
		t.Fatal(err)
	}
	bad, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: "kpat_test_fake_0000", NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}

	var apiErr *konnect.APIError
	check := func(name string, err error, is func(error) bool, wantStatus int, wantText ...string) {
		t.Helper()
		if !errors.As(err, &apiErr) {
			t.Errorf("%s: %v is no APIError", name, err)
			return
		}
		if apiErr.StatusCode != wantStatus || (is != nil && !is(err)) {
			t.Errorf("%s: %v, want status %d", name, err, wantStatus)
		}
		for _, w := range wantText {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", name, err, w)
			}
		}
		if strings.Contains(err.Error(), value) || strings.Contains(err.Error(), srv.Token) {
			t.Errorf("%s: error leaks the secret value or the token", name)
		}
	}

	_, err = c.Vaults.Create(ctx, cp, konnect.Vault{Name: "env", Prefix: "taken"})
	check("duplicate prefix", err, konnect.IsConflict, 400, "data constraint error", "prefix")
	_, err = c.Vaults.Create(ctx, cp, konnect.Vault{Name: "no-such-vault", Prefix: "x1"})
	check("unknown vault", err, func(e error) bool { return !konnect.IsConflict(e) }, 400, "validation error", "is not installed")
	_, err = c.Vaults.Get(ctx, cp, "nope")
	check("missing vault", err, konnect.IsNotFound, 404)
	_, err = c.Secrets.Get(ctx, cp, st.ID, "nope")
	check("missing secret", err, konnect.IsNotFound, 404, "kong:trace:")
	err = c.Secrets.Delete(ctx, cp, st.ID, "nope")
	check("deleting a missing secret", err, konnect.IsNotFound, 404)
	_, err = c.Secrets.Update(ctx, cp, st.ID, "k", konnect.Plaintext(strings.Repeat(value, 200)))
	check("oversized value", err, nil, 400, "invalid parameters", "value")
	err = c.ConfigStores.Delete(ctx, cp, st.ID, false)
	check("store with secrets", err, nil, 400, "force (query)")
	if len(apiErr.InvalidParameters) != 1 || apiErr.InvalidParameters[0].Field != "force" {
		t.Errorf("invalid parameters %+v, want force", apiErr.InvalidParameters)
	}
	_, err = c.Plugins.Create(ctx, cp, konnect.Plugin{Name: "rate-limiting", Config: map[string]any{"minute": "often"}})
	check("plugin config of the wrong type", err, nil, 400, "config.minute")

	_, err = bad.ControlPlanes.List(ctx, "", nil)
	check("bad token, control planes", err, konnect.IsUnauthorized, 401)
	_, err = bad.ConfigStores.List(ctx, cp, nil)
	check("bad token, config stores", err, konnect.IsUnauthorized, 401)
	_, err = bad.Secrets.Create(ctx, cp, st.ID, "k2", konnect.Plaintext(value))
	check("bad token, secrets", err, konnect.IsUnauthorized, 401)
	_, err = bad.Vaults.List(ctx, cp, nil)
	check("bad token, core entities", err, konnect.IsUnauthorized, 401)

	if err := c.ConfigStores.Delete(ctx, cp, st.ID, true); err != nil {
		t.Errorf("forced delete: %v", err)
	}
	if err := c.Vaults.Delete(ctx, cp, "already-gone"); err != nil {
		t.Errorf("deleting an absent vault: %v, want success", err)
	}
}

func TestEmulatorUpsertsAndLookups(t *testing.T) {
	_, c, cp := setup(t)
	ctx := ctxFor(t)
	svc, err := c.Services.Create(ctx, cp, konnect.Service{Name: "example-service", URL: "http://httpbin.org"})
	if err != nil {
		t.Fatal(err)
	}
	route, err := c.Routes.Create(ctx, cp, konnect.Route{Name: "example-route", Paths: []string{"/mock"}, Service: &konnect.ForeignKey{ID: svc.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{svc.ID, "example-service"} {
		if got, err := c.Services.Get(ctx, cp, ref); err != nil || got.ID != svc.ID {
			t.Errorf("service %q: %+v, %v", ref, got, err)
		}
	}
	for _, ref := range []string{route.ID, "example-route"} {
		if got, err := c.Routes.Get(ctx, cp, ref); err != nil || got.ID != route.ID {
			t.Errorf("route %q: %+v, %v", ref, got, err)
		}
	}
	v, err := c.Vaults.Create(ctx, cp, konnect.Vault{Name: "env", Prefix: "my-env", Config: map[string]any{"prefix": "MY_"}})
	if err != nil {
		t.Fatal(err)
	}
	v.Tags = []string{"updated"}
	if _, err := c.Vaults.Upsert(ctx, cp, *v); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Vaults.Get(ctx, cp, "my-env"); err != nil || !slices.Equal(got.Tags, []string{"updated"}) {
		t.Errorf("vault by prefix after upsert: %+v, %v", got, err)
	}
	schema, err := c.PluginSchemas.Get(ctx, cp, "ai-proxy")
	if err != nil || len(schema.Fields) == 0 {
		t.Errorf("ai-proxy schema: %v, %v", schema, err)
	}
	p, err := c.Plugins.Create(ctx, cp, konnect.Plugin{Name: "rate-limiting", Route: &konnect.ForeignKey{ID: route.ID}, Config: map[string]any{"minute": 5}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Config["policy"] == nil {
		t.Errorf("plugin config %v lacks the server-filled default policy", p.Config)
	}
	if err := c.Plugins.Delete(ctx, cp, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Plugins.Get(ctx, cp, p.ID); !konnect.IsNotFound(err) {
		t.Errorf("deleted plugin: %v, want NotFound", err)
	}
}

// BenchmarkListVaults lists 1000 vaults from the emulator over loopback
// HTTP, one page of 1000.
func BenchmarkListVaults(b *testing.B) {
	_, c, cp := setup(b)
	createVaults(b, c, cp, 1000)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		vaults, err := c.Vaults.List(ctx, cp, nil)
		if err != nil || len(vaults) != 1000 {
			b.Fatalf("%d vaults, %v", len(vaults), err)
		}
	}
}

// BenchmarkListVaultsPaged is the same with pages of 100 (10 requests).
func BenchmarkListVaultsPaged(b *testing.B) {
	_, c, cp := setup(b)
	createVaults(b, c, cp, 1000)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		vaults, err := c.Vaults.List(ctx, cp, &konnect.ListOptions{PageSize: 100})
		if err != nil || len(vaults) != 1000 {
			b.Fatalf("%d vaults, %v", len(vaults), err)
		}
	}
}

// TestStoreCreateAfterTimeoutMakesNoDuplicate: a store create that the
// server applies only after the client's attempt timed out is not repeated
// (store names are not unique): one store, and an error that says why.
func TestStoreCreateAfterTimeoutMakesNoDuplicate(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{})
	t.Cleanup(srv.Close)
	cp := srv.AddControlPlane("cp")
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: srv.Token, NoPacing: true,
		RequestTimeout: 50 * time.Millisecond, RetryBaseDelay: time.Millisecond, RetryMaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	arrived, release := srv.Hold("POST", "/config-stores")
	defer release()
	errc := make(chan error, 1)
	go func() {
		_, err := c.ConfigStores.Create(context.Background(), cp, "store")
		errc <- err
	}()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the create did not arrive")
	}
	// The client times out on the held request and reads back: nothing yet.
	var createErr error
	select {
	case createErr = <-errc:
	case <-time.After(30 * time.Second):
		t.Fatal("the create did not give up")
	}
	if createErr == nil || !strings.Contains(createErr.Error(), "it is not repeated, so that no duplicate is made") {
		t.Errorf("create = %v, want an error saying it was not repeated", createErr)
	}
	release() // the server applies the create now
	ctx := context.Background()
	// Wait (bounded, on the emulator itself) until the held create is in.
	for i := 0; ; i++ {
		stores, err := c.ConfigStores.List(ctx, cp, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(stores) == 1 {
			break
		}
		if len(stores) > 1 || i == 1000 {
			t.Fatalf("%d stores after the late create, want exactly 1", len(stores))
		}
		runtime.Gosched()
	}
	posts := srv.Counts()["POST /v2/control-planes/{controlPlaneId}/config-stores"]
	if posts != 1 {
		t.Errorf("%d store creates sent, want 1", posts)
	}
}
