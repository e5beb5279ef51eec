package apply_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
	"github.com/kvsync/kvsync/pkg/state"
)

const fakeKey = "fake-mistral-key-0000"

// fakeEnv is the environment the test files substitute from.
var fakeEnv = map[string]string{
	"MISTRAL_API_KEY": fakeKey,
	"VAULT_TOKEN":     "fake-vault-token-1111",
	"REDIS_PASSWORD":  "fake-redis-password-2222",
	"ENV_PREFIX":      "FAKE_PREFIX_",
}

// seed is the tutorial's file plus a plugin whose config takes a value from
// the environment, so that revealing config values is exercised too.
const seed = `_format_version: "3.0"
_konnect:
  control_plane_name: my-control-plane
config_stores:
  - name: my-config-store
    secrets:
      - key: mistral-key
        value: Bearer ${{ env "MISTRAL_API_KEY" }}
vaults:
  - name: konnect
    prefix: mysecretvault
    description: Storing secrets in Konnect
    config:
      config_store: my-config-store
plugins:
  - name: ai-proxy
    route: example-route
    config:
      route_type: llm/v1/chat
      auth:
        header_name: Authorization
        header_value: "{vault://mysecretvault/mistral-key}"
      model:
        provider: mistral
        name: mistral-tiny
        options:
          mistral_format: openai
          upstream_url: https://api.mistral.ai/v1/chat/completions
`

type env struct {
	t    *testing.T
	srv  *konnecttest.Server
	c    *konnect.Client
	cpID string
	dir  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := konnecttest.NewServer(konnecttest.Options{})
	t.Cleanup(srv.Close)
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: srv.Token,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, c: c, cpID: srv.AddControlPlane("my-control-plane"), dir: t.TempDir()}
	ctx := context.Background()
	svc, err := c.Services.Create(ctx, e.cpID, konnect.Service{Name: "example-service", URL: "http://httpbin.konghq.com/anything"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Routes.Create(ctx, e.cpID, konnect.Route{Name: "example-route", Paths: []string{"/anything"},
		Service: &konnect.ForeignKey{ID: svc.ID}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// plan loads the file content and computes the plan against the emulator.
func (e *env) plan(content string) (*state.File, *diff.Plan) {
	e.t.Helper()
	f := e.load(content)
	live, err := diff.Fetch(context.Background(), e.c, f, diff.FetchOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := diff.Compute(f, live, diff.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	return f, p
}

func (e *env) storeID(name string) string {
	e.t.Helper()
	stores, err := e.c.ConfigStores.List(context.Background(), e.cpID, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range stores {
		if s.Name == name {
			return s.ID
		}
	}
	return ""
}

func outline(rep *diff.Report) map[string]diff.Status {
	out := map[string]diff.Status{}
	for _, r := range rep.Results {
		out[string(r.Change.Action)+" "+string(r.Change.Kind)+" "+r.Change.Name] = r.Status
	}
	return out
}

func TestApplySeedConverges(t *testing.T) {
	e := newEnv(t)
	_, p := e.plan(seed)
	if got := len(p.Changes); got != 4 {
		t.Fatalf("seed plan has %d changes, want 4", got)
	}
	rep, err := apply.Apply(context.Background(), e.c, p, apply.Options{})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if n := rep.Counts()[diff.Succeeded]; n != 4 {
		t.Errorf("%d succeeded, want 4", n)
	}

	storeID := e.storeID("my-config-store")
	if v, ok := e.srv.SecretValue(e.cpID, storeID, "mistral-key"); !ok || v != "Bearer "+fakeKey {
		t.Error("the secret's stored value is not the revealed desired value")
	}
	vault, err := e.c.Vaults.Get(context.Background(), e.cpID, "mysecretvault")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := vault.Config["config_store_id"].(string); got != storeID || storeID == "" {
		t.Errorf("vault config_store_id = %q, want the created store's id %q", got, storeID)
	}
	plugins, err := e.c.Plugins.List(context.Background(), e.cpID, nil)
	if err != nil || len(plugins) != 1 {
		t.Fatalf("plugins = %d (%v), want 1", len(plugins), err)
	}
	auth, _ := plugins[0].Config["auth"].(map[string]any)
	if got := auth["header_value"]; got != "{vault://mysecretvault/mistral-key}" {
		t.Errorf("plugin header_value = %v, want the vault reference", got)
	}

	if _, again := e.plan(seed); !again.Empty() {
		t.Errorf("re-plan after apply has %d changes, want none", len(again.Changes))
	}
}

// TestApplyRevealsPluginConfig: a plugin config value from the environment
// is sent in clear, never as the redaction.
func TestApplyRevealsPluginConfig(t *testing.T) {
	e := newEnv(t)
	content := strings.Replace(seed, `header_value: "{vault://mysecretvault/mistral-key}"`,
		`header_value: Bearer ${{ env "MISTRAL_API_KEY" }}`, 1)
	_, p := e.plan(content)
	if _, err := apply.Apply(context.Background(), e.c, p, apply.Options{}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	plugins, err := e.c.Plugins.List(context.Background(), e.cpID, nil)
	if err != nil || len(plugins) != 1 {
		t.Fatalf("plugins = %d (%v), want 1", len(plugins), err)
	}
	auth, _ := plugins[0].Config["auth"].(map[string]any)
	if got, _ := auth["header_value"].(string); got != "Bearer "+fakeKey {
		t.Error("plugin header_value is not the revealed environment value")
	}
}

// TestApplyFailureThenConverge fails every vault create: the store and its
// secret are made, the plugin that needs the vault is skipped, the run
// reports it; once the fault is gone a re-run converges.
func TestApplyFailureThenConverge(t *testing.T) {
	e := newEnv(t)
	e.srv.SetFaults(konnecttest.Faults{Rules: []konnecttest.FaultRule{
		{Method: "POST", PathContains: "/core-entities/vaults", Status: 400},
	}})
	_, p := e.plan(seed)
	rep, err := apply.Apply(context.Background(), e.c, p, apply.Options{})
	var re *apply.RunError
	if !errors.As(err, &re) || re.Failed != 1 || re.Skipped != 1 {
		t.Fatalf("error = %v, want 1 failed and 1 skipped", err)
	}
	want := map[string]diff.Status{
		"create config_store my-config-store":       diff.Succeeded,
		"create secret my-config-store/mistral-key": diff.Succeeded,
		"create vault mysecretvault":                diff.Failed,
		"create plugin ai-proxy":                    diff.Skipped,
	}
	got := outline(rep)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	for _, r := range rep.Results {
		if r.Status == diff.Skipped && !strings.Contains(r.Err.Error(), "mysecretvault") {
			t.Errorf("skip reason %q does not name the failed vault", r.Err)
		}
		if r.Err != nil && strings.Contains(r.Err.Error(), fakeKey) {
			t.Error("an error message carries the secret value")
		}
	}

	e.srv.SetFaults(konnecttest.Faults{})
	_, p = e.plan(seed)
	if len(p.Changes) != 2 {
		t.Errorf("re-plan has %d changes, want 2 (vault, plugin)", len(p.Changes))
	}
	if _, err := apply.Apply(context.Background(), e.c, p, apply.Options{}); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if _, p = e.plan(seed); !p.Empty() {
		t.Errorf("after the re-run the plan has %d changes, want none", len(p.Changes))
	}
}

// TestApplyThroughFaults: 429s, 5xx and dropped connections do not stop a
// sync (the client retries and reads back creates).
func TestApplyThroughFaults(t *testing.T) {
	e := newEnv(t)
	_, p := e.plan(seed)
	// Retry-After is at least a second, so one 429 is enough here.
	e.srv.SetFaults(konnecttest.Faults{ErrorRate: 0.3, DropRate: 0.1, Seed: 7, Rules: []konnecttest.FaultRule{
		{Method: "POST", PathContains: "/config-stores", Status: 429, Times: 1},
	}})
	if _, err := apply.Apply(context.Background(), e.c, p, apply.Options{}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	e.srv.SetFaults(konnecttest.Faults{})
	if _, p = e.plan(seed); !p.Empty() {
		t.Errorf("plan after a faulty sync has %d changes, want none", len(p.Changes))
	}
}

// TestApplyDeletes removes everything from the file: the plugin, the vault
// and the store (with its secret, by force) go, in that order.
func TestApplyDeletes(t *testing.T) {
	e := newEnv(t)
	_, p := e.plan(seed)
	if _, err := apply.Apply(context.Background(), e.c, p, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	const empty = "_format_version: \"3.0\"\n_konnect:\n  control_plane_name: my-control-plane\n"
	_, p = e.plan(empty)
	if s := p.Summary(); s.Delete != 3 {
		t.Fatalf("delete plan = %+v, want 3 deletes", s)
	}
	if _, err := apply.Apply(context.Background(), e.c, p, apply.Options{Parallelism: 1}); err != nil {
		t.Fatalf("apply deletes: %v", err)
	}
	if id := e.storeID("my-config-store"); id != "" {
		t.Error("the config store still exists")
	}
	if _, p = e.plan(empty); !p.Empty() {
		t.Errorf("plan after deletes has %d changes, want none", len(p.Changes))
	}
	// Deleting what is already gone succeeds: replay the delete plan.
	_, p2 := e.plan(seed) // recreate, then delete twice with the same plan
	if _, err := apply.Apply(context.Background(), e.c, p2, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	_, del := e.plan(empty)
	if _, err := apply.Apply(context.Background(), e.c, del, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := apply.Apply(context.Background(), e.c, del, apply.Options{}); err != nil {
		t.Errorf("replaying deletes of absent entities: %v", err)
	}
}

// TestApplySecretCreateConflict: a key created since the plan (Konnect
// refuses the create with a 400) gets the desired value written in place.
func TestApplySecretCreateConflict(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var storeID string
	p := e.recreatePlan(diff.KindSecret, func() error {
		storeID = e.storeID("my-config-store")
		return e.c.Secrets.Delete(ctx, e.cpID, storeID, "mistral-key")
	})
	// Someone else writes the key between plan and apply.
	if _, err := e.c.Secrets.Create(ctx, e.cpID, storeID, "mistral-key", konnect.Plaintext("stale-value")); err != nil {
		t.Fatal(err)
	}
	before := e.srv.Counts()
	rep, err := apply.Apply(ctx, e.c, p, apply.Options{})
	if err != nil {
		t.Fatalf("apply: %v (%v)", err, rep.Results[0].Err)
	}
	if v, ok := e.srv.SecretValue(e.cpID, storeID, "mistral-key"); !ok || v != "Bearer "+fakeKey {
		t.Error("the secret does not hold the desired value after the conflict")
	}
	after := e.srv.Counts()
	if puts := countWhere(after, "PUT") - countWhere(before, "PUT"); puts != 1 {
		t.Errorf("%d PUT requests, want the one that writes the value after the refused create", puts)
	}
}

// TestApplyVaultPrefixConflict: a vault whose prefix was taken since the
// plan is updated in place to the desired vault.
func TestApplyVaultPrefixConflict(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.recreatePlan(diff.KindVault, func() error { return e.c.Vaults.Delete(ctx, e.cpID, "mysecretvault") })
	storeID := e.storeID("my-config-store")
	other := "someone else's"
	if _, err := e.c.Vaults.Create(ctx, e.cpID, konnect.Vault{Name: "konnect", Prefix: "mysecretvault",
		Description: &other, Config: map[string]any{"config_store_id": storeID}, Tags: []string{"team-b"}}); err != nil {
		t.Fatal(err)
	}
	rep, err := apply.Apply(ctx, e.c, p, apply.Options{})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if rep.Results[0].Status != diff.Succeeded {
		t.Errorf("vault create: %s", rep.Results[0].Status)
	}
	vaults, err := e.c.Vaults.List(ctx, e.cpID, nil)
	if err != nil || len(vaults) != 1 {
		t.Fatalf("vaults = %d (%v), want 1", len(vaults), err)
	}
	if v := vaults[0]; v.Description == nil || *v.Description != "Storing secrets in Konnect" || strings.Join(v.Tags, ",") != "kvsync" {
		t.Errorf("vault after the conflict: description %v, tags %v; want the desired ones", v.Description, v.Tags)
	}
	if _, p = e.plan(seed); !p.Empty() {
		t.Errorf("plan after the conflict has %d changes, want none", len(p.Changes))
	}
}

// recreatePlan syncs the seed, removes one entity of kind out of band and
// returns the plan that creates it again.
func (e *env) recreatePlan(kind diff.Kind, remove func() error) *diff.Plan {
	e.t.Helper()
	_, p := e.plan(seed)
	if _, err := apply.Apply(context.Background(), e.c, p, apply.Options{}); err != nil {
		e.t.Fatal(err)
	}
	if err := remove(); err != nil {
		e.t.Fatal(err)
	}
	_, p = e.plan(seed)
	if len(p.Changes) != 1 || p.Changes[0].Kind != kind || p.Changes[0].Action != diff.Create {
		e.t.Fatalf("plan = %v, want one %s create", p, kind)
	}
	return p
}

func countWhere(counts map[string]int, method string) int {
	n := 0
	for k, v := range counts {
		if strings.HasPrefix(k, method+" ") {
			n += v
		}
	}
	return n
}

// sensitiveEverywhere puts substituted values in a secret, in a vault's
// config and in a plugin's config, created and then updated.
const sensitiveEverywhere = `_format_version: "3.0"
_konnect:
  control_plane_name: my-control-plane
config_stores:
  - name: my-config-store
    secrets:
      - key: mistral-key
        value: ${{ env "MISTRAL_API_KEY" }}
vaults:
  - name: hcv
    prefix: hashi
    config:
      host: vault.internal
      token: ${{ env "VAULT_TOKEN" }}
  - name: env
    prefix: my-env
    config:
      prefix: ${{ env "ENV_PREFIX" }}
plugins:
  - name: rate-limiting
    service: example-service
    config:
      minute: MINUTE
      policy: redis
      redis:
        host: redis.internal
        password: ${{ env "REDIS_PASSWORD" }}
`

// TestApplyNeverSendsRedaction is the reveal boundary's proof: whatever
// kind carries a substituted value, in a create or an update, Konnect
// stores the plain value and never the redacted rendering.
func TestApplyNeverSendsRedaction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, minute := range []string{"5", "6"} { // a create, then an update
		_, p := e.plan(strings.Replace(sensitiveEverywhere, "MINUTE", minute, 1))
		if p.Empty() {
			t.Fatalf("minute %s: empty plan", minute)
		}
		if _, err := apply.Apply(ctx, e.c, p, apply.Options{}); err != nil {
			t.Fatalf("apply: %v", err)
		}
	}
	if v, ok := e.srv.SecretValue(e.cpID, e.storeID("my-config-store"), "mistral-key"); !ok || v != fakeKey {
		t.Error("the secret does not hold the plain value")
	}
	vaults, err := e.c.Vaults.List(ctx, e.cpID, nil)
	if err != nil {
		t.Fatal(err)
	}
	plugins, err := e.c.Plugins.List(ctx, e.cpID, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := json.Marshal(map[string]any{"vaults": vaults, "plugins": plugins})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), state.Redacted) {
		t.Error("Konnect stored the redacted rendering of a value")
	}
	for _, name := range []string{"VAULT_TOKEN", "REDIS_PASSWORD", "ENV_PREFIX"} {
		if !strings.Contains(string(stored), fakeEnv[name]) {
			t.Errorf("the value of %s was not sent in clear", name)
		}
	}
}

// TestForcedDeleteSparesNewSecrets: a secret added while a store's delete
// runs is not taken with the store: the delete is refused and reported,
// and the secret survives.
func TestForcedDeleteSparesNewSecrets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.plan(seed)
	if _, err := apply.Apply(ctx, e.c, p, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	const empty = "_format_version: \"3.0\"\n_konnect:\n  control_plane_name: my-control-plane\n"
	_, p = e.plan(empty)
	storeID := e.storeID("my-config-store")
	arrived, release := e.srv.Hold("DELETE", "/secrets/mistral-key")
	defer release()
	type result struct {
		rep *diff.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := apply.Apply(ctx, e.c, p, apply.Options{})
		done <- result{rep, err}
	}()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the store's delete did not start within 30s")
	}
	// Someone adds a secret while the store is being deleted.
	if _, err := e.c.Secrets.Create(ctx, e.cpID, storeID, "added-meanwhile", konnect.Plaintext("fake-new-value")); err != nil {
		t.Fatal(err)
	}
	release()
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("apply did not end within 30s")
	}
	if r.err == nil {
		t.Fatal("apply succeeded although the store held a secret the plan did not show")
	}
	var storeResult diff.Result
	for _, res := range r.rep.Results {
		if res.Change.Kind == diff.KindConfigStore {
			storeResult = res
		}
	}
	if storeResult.Status != diff.Failed || !strings.Contains(storeResult.Err.Error(), "holds secrets the plan did not show") {
		t.Errorf("store delete: %s, %v", storeResult.Status, storeResult.Err)
	}
	if _, ok := e.srv.SecretValue(e.cpID, storeID, "added-meanwhile"); !ok {
		t.Error("the secret added meanwhile went with the store")
	}
}
