package diff_test

import (
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/difftest"

	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
	"github.com/kvsync/kvsync/pkg/state"
)

const testToken = "kpat_test_fake_0000"

// seededEmulator starts an emulator holding the seed tutorial's state, as
// `kvsync sync` of difftest.SeedFile leaves it, plus entities kvsync must leave
// alone: a config store nothing references and an untagged plugin.
func seededEmulator(t *testing.T) (*konnecttest.Server, *konnect.Client) {
	t.Helper()
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: srv.Token, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("setting up the emulator: %s: %v", what, err)
		}
	}
	cp, err := c.ControlPlanes.Create(ctx, konnect.ControlPlane{Name: "my-control-plane"})
	must("control plane", err)
	svc, err := c.Services.Create(ctx, cp.ID, konnect.Service{Name: "example-service", URL: "http://httpbin.konghq.com/anything"})
	must("service", err)
	route, err := c.Routes.Create(ctx, cp.ID, konnect.Route{Name: "example-route", Paths: []string{"/anything"},
		Service: &konnect.ForeignKey{ID: svc.ID}})
	must("route", err)
	store, err := c.ConfigStores.Create(ctx, cp.ID, "my-config-store")
	must("config store", err)
	_, err = c.Secrets.Create(ctx, cp.ID, store.ID, "mistral-key", konnect.Plaintext("Bearer sk-fake-0000"))
	must("secret", err)
	other, err := c.ConfigStores.Create(ctx, cp.ID, "unrelated-store")
	must("config store", err)
	_, err = c.Secrets.Create(ctx, cp.ID, other.ID, "k", konnect.Plaintext("v-fake"))
	must("secret", err)
	_, err = c.Vaults.Create(ctx, cp.ID, konnect.Vault{Name: "konnect", Prefix: "mysecretvault",
		Description: difftest.Ptr("Storing secrets in Konnect"), Config: difftest.Obj{"config_store_id": store.ID}, Tags: []string{"kvsync"}})
	must("vault", err)
	_, err = c.Plugins.Create(ctx, cp.ID, konnect.Plugin{Name: "ai-proxy", Route: &konnect.ForeignKey{ID: route.ID},
		Config: state.RevealMap(difftest.AIProxyConfig()), Tags: []string{"kvsync"}})
	must("plugin", err)
	_, err = c.Plugins.Create(ctx, cp.ID, konnect.Plugin{Name: "rate-limiting", Config: difftest.Obj{"minute": 5}})
	must("untagged plugin", err)
	return srv, c
}

// TestFetchNoChangeRequestCount fetches the live state of an emulator that
// already matches the file: the plan is empty (the emulator's server-filled
// defaults do not drift) and the requests are the minimum, 7: one page per
// list (control planes by name, config stores, the declared store's
// secrets, vaults, plugins: each fits one page), one schema per plugin
// name, and the one route the file names. One ref costs one GET, which no
// listing can beat (a listing is at least one page); two refs or more are
// resolved by listing (TestFetchResolvesScopesByListing).
func TestFetchNoChangeRequestCount(t *testing.T) {
	srv, c := seededEmulator(t)
	srv.ResetCounts()

	live, err := diff.Fetch(context.Background(), c, difftest.SeedFile(), diff.FetchOptions{})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	plan, err := diff.Compute(difftest.SeedFile(), live, diff.Options{})
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	if !plan.Empty() {
		t.Errorf("plan of an unchanged control plane is not empty:\n%v", strings.Join(difftest.Outline(plan), "\n"))
		for _, ch := range plan.Changes {
			t.Logf("%d fields: %q", ch.ID, difftest.FieldLines(ch))
		}
	}
	if diff := cmp.Diff(map[diff.Kind]int{diff.KindConfigStore: 1, diff.KindVault: 0, diff.KindPlugin: 1}, plan.Unmanaged); diff != "" {
		t.Errorf("unmanaged (-want +got):\n%s", diff)
	}

	const cp = "/v2/control-planes/{controlPlaneId}"
	want := map[string]int{
		"GET /v2/control-planes":                                    1, // resolve by name: one page
		"GET " + cp + "/config-stores":                              1,
		"GET " + cp + "/config-stores/{configStoreId}/secrets":      1, // only the declared store's
		"GET " + cp + "/core-entities/vaults":                       1,
		"GET " + cp + "/core-entities/plugins":                      1,
		"GET " + cp + "/core-entities/routes/{RouteId}":             1, // one ref: a GET
		"GET " + cp + "/core-entities/schemas/plugins/{pluginName}": 1, // ai-proxy only
	}
	if diff := cmp.Diff(want, srv.Counts()); diff != "" {
		t.Errorf("requests of a no-change diff (-want +got):\n%s", diff)
	}
}

func TestFetchThenComputeChanges(t *testing.T) {
	_, c := seededEmulator(t)
	desired := difftest.SeedFile()
	desired.Plugins[0].Config["model"].(difftest.Obj)["name"] = "mistral-small"
	desired.Plugins = append(desired.Plugins, state.Plugin{Name: "rate-limiting", Service: "example-service",
		Config: difftest.Obj{"minute": 10}})
	live, err := diff.Fetch(context.Background(), c, desired, diff.FetchOptions{})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if live.Schemas["rate-limiting"] == nil || live.Services["example-service"].ID == "" {
		t.Fatal("Fetch did not get the rate-limiting schema or example-service")
	}
	plan, err := diff.Compute(desired, live, diff.Options{})
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	want := []string{
		"0 update plugin ai-proxy (route example-route)",
		"1 create plugin rate-limiting (service example-service)",
	}
	if diff := cmp.Diff(want, difftest.Outline(plan)); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{`config.model.name: "mistral-tiny" -> "mistral-small"`}, difftest.FieldLines(plan.Changes[0])); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestFetchErrors(t *testing.T) {
	_, c := seededEmulator(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		desired *state.File
		opts    diff.FetchOptions
		want    string
	}{
		{"no control plane anywhere", &state.File{}, diff.FetchOptions{}, "no control plane given"},
		{"unknown control plane", &state.File{ControlPlaneName: "nope"}, diff.FetchOptions{}, `control plane "nope"`},
		{"the option overrides the file", &state.File{ControlPlaneName: "my-control-plane"}, diff.FetchOptions{ControlPlane: "nope"}, `control plane "nope"`},
		{"select tags disagree", &state.File{ControlPlaneName: "my-control-plane", SelectTags: []string{"a"}},
			diff.FetchOptions{SelectTags: []string{"b"}}, "select tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := diff.Fetch(ctx, c, tt.desired, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Fetch error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	// A name that resolves to nothing is no diff.Fetch error: diff.Compute reports it
	// with the plugin and field.
	desired := difftest.SeedFile()
	desired.Plugins[0].Route = "no-such-route"
	live, err := diff.Fetch(ctx, c, desired, diff.FetchOptions{})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if _, err := diff.Compute(desired, live, diff.Options{}); err == nil || !strings.Contains(err.Error(), `route "no-such-route" not found`) {
		t.Errorf("Compute error = %v, want an unresolved route", err)
	}
}

// TestFetchResolvesScopesByListing names several routes, services and
// consumers (by name and by id, and one route that does not exist): each
// of those kinds costs one listing page instead of one GET per ref, a kind
// named once costs its GET, a kind no plugin uses costs nothing, and the
// missing route is still Compute's error.
func TestFetchResolvesScopesByListing(t *testing.T) {
	srv, c := seededEmulator(t)
	ctx := context.Background()
	cp, err := c.ControlPlanes.Resolve(ctx, "my-control-plane")
	if err != nil {
		t.Fatal(err)
	}
	var routes []*konnect.Route
	for i := range 4 {
		r, err := c.Routes.Create(ctx, cp.ID, konnect.Route{Name: fmt.Sprintf("r%d", i), Paths: []string{fmt.Sprintf("/r%d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, r)
	}
	svc, err := c.Services.Create(ctx, cp.ID, konnect.Service{Name: "other-service", URL: "http://example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		postEntity(t, srv, cp.ID, "consumers", fmt.Sprintf(`{"username": %q}`, name))
	}
	postEntity(t, srv, cp.ID, "consumer_groups", `{"name": "gold"}`)

	desired := difftest.SeedFile()
	rl := func(p state.Plugin) state.Plugin {
		p.Name, p.Config = "rate-limiting", difftest.Obj{"minute": 1}
		return p
	}
	desired.Plugins = append(desired.Plugins,
		rl(state.Plugin{Route: "r0"}), rl(state.Plugin{Route: routes[1].ID}), rl(state.Plugin{Route: "r2", Consumer: "alice"}),
		rl(state.Plugin{Service: "example-service"}), rl(state.Plugin{Service: svc.ID}),
		rl(state.Plugin{Consumer: "bob"}), rl(state.Plugin{ConsumerGroup: "gold"}))
	srv.ResetCounts()
	live, err := diff.Fetch(ctx, c, desired, diff.FetchOptions{})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	const cpT = "/v2/control-planes/{controlPlaneId}"
	want := map[string]int{
		"GET /v2/control-planes":                                          1,
		"GET " + cpT + "/config-stores":                                   1,
		"GET " + cpT + "/config-stores/{configStoreId}/secrets":           1,
		"GET " + cpT + "/core-entities/vaults":                            1,
		"GET " + cpT + "/core-entities/plugins":                           1,
		"GET " + cpT + "/core-entities/schemas/plugins/{pluginName}":      2, // ai-proxy, rate-limiting
		"GET " + cpT + "/core-entities/routes":                            1, // 4 refs: one page
		"GET " + cpT + "/core-entities/services":                          1, // 2 refs: one page
		"GET " + cpT + "/core-entities/consumers":                         1, // 2 refs: one page
		"GET " + cpT + "/core-entities/consumer_groups/{ConsumerGroupId}": 1, // 1 ref: a GET
	}
	if d := cmp.Diff(want, srv.Counts()); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
	for ref, id := range map[string]string{"example-route": "", "r0": routes[0].ID, routes[1].ID: routes[1].ID, "r2": routes[2].ID} {
		if got := live.Routes[ref].ID; got == "" || (id != "" && got != id) {
			t.Errorf("route %q resolved to %q, want %q", ref, got, id)
		}
	}
	if len(live.Routes) != 4 || len(live.Services) != 2 || len(live.Consumers) != 2 || len(live.ConsumerGroups) != 1 {
		t.Errorf("Live holds %d routes, %d services, %d consumers, %d groups; want what the file names: 4, 2, 2, 1",
			len(live.Routes), len(live.Services), len(live.Consumers), len(live.ConsumerGroups))
	}
	if _, err := diff.Compute(desired, live, diff.Options{}); err != nil {
		t.Errorf("Compute: %v", err)
	}

	desired.Plugins = append(desired.Plugins, rl(state.Plugin{Route: "no-such-route"}))
	live, err = diff.Fetch(ctx, c, desired, diff.FetchOptions{})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if _, err := diff.Compute(desired, live, diff.Options{}); err == nil ||
		!strings.Contains(err.Error(), `route "no-such-route" not found in control plane my-control-plane`) {
		t.Errorf("Compute error = %v, want the unresolved route", err)
	}
}

// postEntity creates a core entity the client has no method for.
func postEntity(t *testing.T, srv *konnecttest.Server, cpID, kind, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v2/control-planes/"+cpID+"/core-entities/"+kind, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %s", kind, resp.Status)
	}
}

// TestFetchAgain: a second fetch of a run (the re-plan under the lock)
// resolves no control plane and lists the secrets of the stores it listed
// before while the other lists are still on the wire, so it costs one round
// trip; a store that appeared meanwhile is still listed, and what it reads
// is what a fresh fetch reads.
func TestFetchAgain(t *testing.T) {
	srv, c := seededEmulator(t)
	ctx := context.Background()
	desired := difftest.SeedFile()
	desired.ConfigStores = append(desired.ConfigStores, state.ConfigStore{Name: "late-store"})
	first, err := diff.Fetch(ctx, c, desired, diff.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	late, err := c.ConfigStores.Create(ctx, first.ControlPlane.ID, "late-store")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Secrets.Create(ctx, first.ControlPlane.ID, late.ID, "k", konnect.Plaintext("fake-late")); err != nil {
		t.Fatal(err)
	}
	fresh, err := diff.Fetch(ctx, c, desired, diff.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}

	srv.ResetCounts()
	vaultsArrived, releaseVaults := srv.Hold("GET", "/core-entities/vaults")
	secretsArrived, releaseSecrets := srv.Hold("GET", "/secrets")
	defer releaseVaults()
	defer releaseSecrets()
	type result struct {
		live *diff.Live
		err  error
	}
	done := make(chan result, 1)
	go func() {
		live, err := diff.Fetch(ctx, c, desired, diff.FetchOptions{Previous: first})
		done <- result{live, err}
	}()
	within := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not happen within 10s", what)
		}
	}
	within(vaultsArrived, "the vault listing")
	within(secretsArrived, "a secret listing while the vault listing is on the wire")
	releaseVaults()
	releaseSecrets()
	var got result
	select {
	case got = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the second fetch did not end within 10s")
	}
	if got.err != nil {
		t.Fatal(got.err)
	}
	if n := srv.Counts()["GET /v2/control-planes"]; n != 0 {
		t.Errorf("the control plane was resolved again (%d requests)", n)
	}
	// Schemas are compared by name: they hold derived caches.
	if diff := cmp.Diff(fresh, got.live, cmpopts.IgnoreFields(diff.Live{}, "Schemas")); diff != "" {
		t.Errorf("a second fetch reads otherwise than a fresh one (-fresh +again):\n%s", diff)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(fresh.Schemas)), slices.Sorted(maps.Keys(got.live.Schemas))) {
		t.Error("a second fetch reads other plugin schemas")
	}
	if keys := got.live.Secrets[late.ID]; len(keys) != 1 {
		t.Errorf("the store that appeared meanwhile: %d secrets listed, want 1", len(keys))
	}
}
