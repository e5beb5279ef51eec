package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

const (
	invalidHeader = "X-Conformance-Invalid-Request"
	token         = "kpat_test_fake_0000"
	// canary is the distinctive secret value every secret in this test
	// carries (with a suffix); no response body may contain it.
	canary = "CANARY-s3cr3t-5c8f1e"
)

// expectedEndpoints is every "METHOD template" the test drives. It is fixed
// on purpose: an endpoint the emulator stops serving fails the test.
var expectedEndpoints = []string{
	"GET /v2/control-planes",
	"POST /v2/control-planes",
	"GET /v2/control-planes/{controlPlaneId}",
	"DELETE /v2/control-planes/{controlPlaneId}",
	"GET /v2/control-planes/{controlPlaneId}/config-stores",
	"POST /v2/control-planes/{controlPlaneId}/config-stores",
	"GET /v2/control-planes/{controlPlaneId}/config-stores/{configStoreId}",
	"PUT /v2/control-planes/{controlPlaneId}/config-stores/{configStoreId}",
	"DELETE /v2/control-planes/{controlPlaneId}/config-stores/{configStoreId}",
	"GET /v2/control-planes/{controlPlaneId}/config-stores/{configStoreId}/secrets",
	"POST /v2/control-planes/{controlPlaneId}/config-stores/{configStoreId}/secrets",
	"GET /v2/control-planes/{controlPlaneId}/config-stores/{configStoreId}/secrets/{key}",
	"PUT /v2/control-planes/{controlPlaneId}/config-stores/{configStoreId}/secrets/{key}",
	"DELETE /v2/control-planes/{controlPlaneId}/config-stores/{configStoreId}/secrets/{key}",
	"GET /v2/control-planes/{controlPlaneId}/core-entities/schemas/plugins/{pluginName}",
}

// coreKinds and their id parameter; each gets list, create, get, upsert and
// delete.
var coreKinds = [][2]string{
	{"vaults", "VaultId"}, {"plugins", "PluginId"}, {"routes", "RouteId"},
	{"services", "ServiceId"}, {"consumers", "ConsumerId"}, {"consumer_groups", "ConsumerGroupId"},
}

func init() {
	for _, k := range coreKinds {
		base := "/v2/control-planes/{controlPlaneId}/core-entities/" + k[0]
		expectedEndpoints = append(expectedEndpoints,
			"GET "+base, "POST "+base,
			"GET "+base+"/{"+k[1]+"}", "PUT "+base+"/{"+k[1]+"}", "DELETE "+base+"/{"+k[1]+"}")
	}
}

func apiDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("KVSYNC_KONNECT_API_DIR"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "konnect-api")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

func loadValidator(t *testing.T, file string) validator.Validator {
	t.Helper()
	spec, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// The config spec declares 3.1.0 but uses 3.0's `nullable`; it only
	// validates correctly when read as 3.0.
	if first, rest, ok := bytes.Cut(spec, []byte("\n")); ok && bytes.HasPrefix(bytes.TrimSpace(first), []byte("openapi:")) {
		spec = append([]byte("openapi: 3.0.3\n"), rest...)
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", file, errs)
	}
	return v
}

// exchange is one validated request/response pair.
type exchange struct {
	method, path string
	status       int
	failures     []string // validation failures, already safe to print
	undeclared   bool     // the spec does not declare the status
	// invalidRequest: the request was meant to be invalid and the
	// validator agreed, so its request findings are not failures.
	invalidRequest bool
	markedInvalid  bool
	body           []byte
}

// recorder validates everything that passes through it.
type recorder struct {
	cp, config validator.Validator
	next       http.Handler

	mu        sync.Mutex
	exchanges []*exchange
}

func describe(errs []*verrors.ValidationError, skipSecurity bool) (out []string, undeclared bool) {
	for _, e := range errs {
		if skipSecurity && e.ValidationType == helpers.SecurityValidation {
			continue
		}
		if e.ValidationSubType == helpers.ResponseBodyResponseCode {
			undeclared = true
			continue
		}
		msg := e.Message + ": " + e.Reason
		// Schema failures name where the instance broke the schema; only
		// locations and reasons are printed, never instance values.
		for _, f := range e.SchemaValidationErrors {
			msg += fmt.Sprintf(" [%s: %s]", f.FieldPath, f.Reason)
		}
		// Belt and braces: a reason quoting an instance value must not
		// leak a secret into the test output.
		out = append(out, strings.ReplaceAll(msg, canary, "[redacted]"))
	}
	return out, undeclared
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Error cases send deliberately invalid requests; they say so with
	// this header, which the emulator never sees.
	invalidOnPurpose := r.Header.Get(invalidHeader) != ""
	r.Header.Del(invalidHeader)
	reqBody, _ := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(reqBody))

	v := rc.config
	if segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); len(segs) <= 3 {
		v = rc.cp // /v2/control-planes and /v2/control-planes/{id}
	}
	vr := r.Clone(r.Context())
	vr.Body = io.NopCloser(bytes.NewReader(reqBody))
	_, reqErrs := v.ValidateHttpRequest(vr)
	noAuth := r.Header.Get("Authorization") == ""
	ex := &exchange{method: r.Method, path: r.URL.Path}
	fails, _ := describe(reqErrs, noAuth)
	if invalidOnPurpose {
		ex.markedInvalid = true
		ex.invalidRequest = len(fails) > 0
		fails = nil
	}
	for _, f := range fails {
		ex.failures = append(ex.failures, "request: "+f)
	}

	rec := httptest.NewRecorder()
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	rc.next.ServeHTTP(rec, r)
	resp := rec.Result()
	respBody := rec.Body.Bytes()
	ex.status, ex.body = resp.StatusCode, respBody

	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	vr2 := r.Clone(r.Context())
	vr2.Body = io.NopCloser(bytes.NewReader(reqBody))
	_, respErrs := v.ValidateHttpResponse(vr2, resp)
	fails, ex.undeclared = describe(respErrs, false)
	for _, f := range fails {
		ex.failures = append(ex.failures, "response: "+f)
	}

	rc.mu.Lock()
	rc.exchanges = append(rc.exchanges, ex)
	rc.mu.Unlock()

	for k, vals := range resp.Header {
		w.Header()[k] = vals
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)
}

// raw sends one request without the client, for error cases and creates
// the client has no call for.
type raw struct {
	t    *testing.T
	base string
}

func (c raw) do(method, path string, body any, hdr map[string]string) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func (c raw) must(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	got, out := c.do(method, path, body, nil)
	if got != want {
		c.t.Fatalf("%s %s: status %d, want %d", method, path, got, want)
	}
	return out
}

func TestConformance(t *testing.T) {
	dir := apiDir(t)
	cpSpec := filepath.Join(dir, "control-planes", "v2", "openapi.yaml")
	cfgSpec := filepath.Join(dir, "control-planes-config", "v2", "openapi.yaml")
	for _, f := range []string{cpSpec, cfgSpec} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("Konnect OpenAPI specs not found (%v); set KVSYNC_KONNECT_API_DIR to the konnect-api folder", err)
		}
	}
	emu, err := konnecttest.New(konnecttest.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	rc := &recorder{cp: loadValidator(t, cpSpec), config: loadValidator(t, cfgSpec), next: emu}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: token, NoPacing: true, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	drive(t, c, raw{t: t, base: srv.URL + "/v2"})
	cp, err := c.ControlPlanes.Resolve(context.Background(), "conformance-cp")
	if err != nil {
		t.Fatal(err)
	}
	expected := map[string]bool{}
	for _, e := range append(append([]string(nil), expectedEndpoints...), driveCore(raw{t: t, base: srv.URL + "/v2"}, cp.ID)...) {
		expected[e] = true
	}

	// Every exchange must validate; undeclared statuses get a shape check.
	for _, ex := range rc.exchanges {
		where := fmt.Sprintf("%s %s -> %d", ex.method, ex.path, ex.status)
		for _, f := range ex.failures {
			t.Errorf("%s: %s", where, f)
		}
		if ex.markedInvalid && !ex.invalidRequest {
			t.Errorf("%s: request meant to be invalid passed the request validator", where)
		}
		if ex.undeclared {
			if err := checkErrorShape(ex.method, ex.path, ex.status, ex.body); err != nil {
				t.Errorf("%s: undeclared status with a bad body: %v", where, err)
			} else {
				t.Logf("%s: undeclared status, shape checked", where)
			}
		}
		if bytes.Contains(ex.body, []byte(canary)) {
			t.Errorf("%s: response contains a secret value", where)
		}
		if hasValueKey(ex.body) {
			t.Errorf("%s: response has a \"value\" key", where)
		}
	}

	covered := map[string]bool{}
	for k := range emu.Counts() {
		if !strings.HasSuffix(k, "(unmatched)") {
			covered[k] = true
		}
	}
	keys := make([]string, 0, len(covered))
	for k := range covered {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("%d endpoints covered (%d requests validated):\n  %s", len(keys), len(rc.exchanges), strings.Join(keys, "\n  "))
	for want := range expected {
		if !covered[want] {
			t.Errorf("endpoint %s was not driven", want)
		}
	}
	if len(keys) < len(expected) {
		t.Errorf("%d endpoints covered, want at least %d", len(keys), len(expected))
	}
}

// hasValueKey reports whether a JSON body has an object key "value" at any
// depth (secret values are write-only). A field *named* "value" in an
// invalid_parameters entry is a string, not a key, and is fine.
func hasValueKey(body []byte) bool {
	var v any
	if json.Unmarshal(body, &v) != nil {
		// Not JSON: fall back to a byte search.
		return bytes.Contains(body, []byte(`"value":`))
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "value" || walk(e) {
					return true
				}
			}
		case []any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

// checkErrorShape accepts Konnect's problem+json or Kong's {code,message}.
func checkErrorShape(method, path string, status int, body []byte) error {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	// Allowed deviation: Kong answers an unknown plugin schema with its
	// Admin API's bare {"message": "No plugin named '…'"}, and the
	// emulator copies that; the spec declares only 200 here.
	if method == http.MethodGet && status == http.StatusNotFound && strings.Contains(path, "/core-entities/schemas/plugins/") {
		if _, ok := m["message"].(string); ok && len(m) == 1 {
			return nil
		}
	}
	if _, ok := m["title"]; ok {
		for _, k := range []string{"status", "title", "instance", "detail"} {
			if _, ok := m[k]; !ok {
				return fmt.Errorf("problem+json without %q", k)
			}
		}
		return nil
	}
	if _, ok := m["code"].(float64); !ok {
		return fmt.Errorf("neither problem+json nor {code,message}")
	}
	if _, ok := m["message"].(string); !ok {
		return fmt.Errorf("{code} without message")
	}
	return nil
}

func drive(t *testing.T, c *konnect.Client, r raw) {
	ctx := context.Background()
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// Control planes.
	cp, err := c.ControlPlanes.Create(ctx, konnect.ControlPlane{Name: "conformance-cp", Description: "conformance"})
	check("create control plane", err)
	_, err = c.ControlPlanes.List(ctx, "", nil)
	check("list control planes", err)
	_, err = c.ControlPlanes.Get(ctx, cp.ID)
	check("get control plane", err)
	got, err := c.ControlPlanes.Resolve(ctx, "conformance-cp")
	check("resolve control plane", err)
	if got.ID != cp.ID {
		t.Errorf("resolve: id %s, want %s", got.ID, cp.ID)
	}
	spare := r.must(201, "POST", "/control-planes", map[string]any{"name": "conformance-spare"})
	r.must(204, "DELETE", "/control-planes/"+spare["id"].(string), nil)
	cpID := cp.ID
	base := "/control-planes/" + cpID

	// Config stores and secrets.
	store, err := c.ConfigStores.Create(ctx, cpID, "conformance-store")
	check("create store", err)
	_, err = c.ConfigStores.List(ctx, cpID, nil)
	check("list stores", err)
	_, err = c.ConfigStores.Get(ctx, cpID, store.ID)
	check("get store", err)
	_, err = c.ConfigStores.Update(ctx, cpID, store.ID, "conformance-store-2")
	check("update store", err)
	for i, key := range []string{"mistral-key", "path/with spaces"} {
		_, err = c.Secrets.Create(ctx, cpID, store.ID, key, konnect.Plaintext(fmt.Sprintf("%s-%d", canary, i)))
		check("create secret", err)
		_, err = c.Secrets.Get(ctx, cpID, store.ID, key)
		check("get secret", err)
		_, err = c.Secrets.Update(ctx, cpID, store.ID, key, konnect.Plaintext(canary+"-updated"))
		check("update secret", err)
	}
	_, err = c.Secrets.List(ctx, cpID, store.ID, nil)
	check("list secrets", err)
	check("delete secret", c.Secrets.Delete(ctx, cpID, store.ID, "path/with spaces"))

	// Vaults, services, routes, consumers, consumer groups, plugins.
	vault, err := c.Vaults.Create(ctx, cpID, konnect.Vault{Name: "konnect", Prefix: "mysecretvault",
		Config: map[string]any{"config_store_id": store.ID}})
	check("create vault", err)
	_, err = c.Vaults.List(ctx, cpID, nil)
	check("list vaults", err)
	_, err = c.Vaults.Get(ctx, cpID, "mysecretvault")
	check("get vault by prefix", err)
	desc := "upserted"
	vault.Description = &desc
	_, err = c.Vaults.Upsert(ctx, cpID, *vault)
	check("upsert vault", err)

	svc, err := c.Services.Create(ctx, cpID, konnect.Service{Name: "example-service", Host: "httpbin.konghq.com", Path: "/anything"})
	check("create service", err)
	_, err = c.Services.List(ctx, cpID, nil)
	check("list services", err)
	_, err = c.Services.Get(ctx, cpID, "example-service")
	check("get service", err)
	r.must(200, "PUT", base+"/core-entities/services/"+svc.ID, map[string]any{"name": "example-service", "host": "httpbin.konghq.com"})

	route, err := c.Routes.Create(ctx, cpID, konnect.Route{Name: "example-route", Paths: []string{"/anything"}, Service: &konnect.ForeignKey{ID: svc.ID}})
	check("create route", err)
	_, err = c.Routes.List(ctx, cpID, nil)
	check("list routes", err)
	_, err = c.Routes.Get(ctx, cpID, "example-route")
	check("get route", err)
	r.must(200, "PUT", base+"/core-entities/routes/"+route.ID, map[string]any{"name": "example-route", "paths": []string{"/anything"}, "service": map[string]any{"id": svc.ID}})

	consumer := r.must(201, "POST", base+"/core-entities/consumers", map[string]any{"username": "alice"})
	r.must(200, "GET", base+"/core-entities/consumers", nil)
	_, err = c.Consumers.Get(ctx, cpID, "alice")
	check("get consumer", err)
	r.must(200, "PUT", base+"/core-entities/consumers/"+consumer["id"].(string), map[string]any{"username": "alice", "custom_id": "a-1"})

	group := r.must(201, "POST", base+"/core-entities/consumer_groups", map[string]any{"name": "gold"})
	r.must(200, "GET", base+"/core-entities/consumer_groups", nil)
	_, err = c.ConsumerGroups.Get(ctx, cpID, "gold")
	check("get consumer group", err)
	r.must(200, "PUT", base+"/core-entities/consumer_groups/"+group["id"].(string), map[string]any{"name": "gold", "tags": []string{"tier"}})

	_, err = c.PluginSchemas.Get(ctx, cpID, "ai-proxy")
	check("ai-proxy schema", err)
	_, err = c.PluginSchemas.Get(ctx, cpID, "rate-limiting")
	check("rate-limiting schema", err)
	ai, err := c.Plugins.Create(ctx, cpID, konnect.Plugin{Name: "ai-proxy", Route: &konnect.ForeignKey{ID: route.ID},
		Config: map[string]any{
			"route_type": "llm/v1/chat",
			"auth":       map[string]any{"header_name": "Authorization", "header_value": "{vault://mysecretvault/mistral-key}"},
			"model": map[string]any{"provider": "mistral", "name": "mistral-tiny",
				"options": map[string]any{"mistral_format": "openai", "upstream_url": "https://api.mistral.ai/v1/chat/completions"}},
		}})
	check("create ai-proxy", err)
	rl, err := c.Plugins.Create(ctx, cpID, konnect.Plugin{Name: "rate-limiting", Service: &konnect.ForeignKey{ID: svc.ID}, Config: map[string]any{"minute": 5}})
	check("create rate-limiting", err)
	_, err = c.Plugins.List(ctx, cpID, nil)
	check("list plugins", err)
	_, err = c.Plugins.Get(ctx, cpID, ai.ID)
	check("get plugin", err)
	rl.Config["minute"] = 10
	_, err = c.Plugins.Upsert(ctx, cpID, *rl)
	check("upsert plugin", err)

	// Error cases.
	r.do("GET", base+"/config-stores", nil, map[string]string{"Authorization": ""})        // 401
	r.do("GET", "/control-planes", nil, map[string]string{"Authorization": ""})            // 401
	r.do("GET", base+"/core-entities/vaults", nil, map[string]string{"Authorization": ""}) // 401
	expect := func(want int, method, path string, body any, hdr map[string]string) {
		t.Helper()
		if got, _ := r.do(method, path, body, hdr); got != want {
			t.Errorf("%s %s: status %d, want %d", method, path, got, want)
		}
	}
	bad := func(h map[string]string) map[string]string {
		if h == nil {
			h = map[string]string{}
		}
		h[invalidHeader] = "1"
		return h
	}
	expect(415, "POST", base+"/config-stores", map[string]any{"name": "x"}, bad(map[string]string{"Content-Type": "text/plain"}))
	expect(415, "POST", "/control-planes", map[string]any{"name": "x"}, bad(map[string]string{"Content-Type": "text/plain"}))
	const unknown = "00000000-0000-4000-8000-000000000000"
	expect(404, "GET", base+"/config-stores/"+unknown, nil, nil)
	expect(404, "PUT", base+"/config-stores/"+unknown, map[string]any{"name": "x"}, nil)
	expect(404, "DELETE", base+"/config-stores/"+unknown, nil, nil)
	expect(404, "GET", base+"/config-stores/"+unknown+"/secrets", nil, nil)
	expect(404, "GET", base+"/config-stores/"+store.ID+"/secrets/absent", nil, nil)
	expect(404, "GET", "/control-planes/"+unknown, nil, nil)
	expect(404, "GET", base+"/core-entities/vaults/absent", nil, nil)
	expect(404, "GET", base+"/core-entities/schemas/plugins/no-such-plugin", nil, nil)
	expect(400, "POST", base+"/config-stores/"+store.ID+"/secrets", map[string]any{"key": "k"}, bad(nil))
	expect(400, "POST", base+"/config-stores", map[string]any{"name": "x", "bogus": 1}, bad(nil))
	expect(400, "POST", base+"/core-entities/vaults", map[string]any{"name": "konnect", "prefix": "mysecretvault", "config": map[string]any{"config_store_id": store.ID}}, nil)
	expect(400, "POST", base+"/core-entities/services", map[string]any{"name": "bad", "host": "example.com", "port": "eighty"}, bad(nil))
	expect(400, "DELETE", base+"/config-stores/"+store.ID, nil, nil) // still holds secrets, no force

	// Deletes, plugins first so nothing references what goes next.
	check("delete ai-proxy", c.Plugins.Delete(ctx, cpID, ai.ID))
	check("delete rate-limiting", c.Plugins.Delete(ctx, cpID, rl.ID))
	check("delete vault", c.Vaults.Delete(ctx, cpID, vault.ID))
	r.must(204, "DELETE", base+"/core-entities/routes/"+route.ID, nil)
	r.must(204, "DELETE", base+"/core-entities/services/"+svc.ID, nil)
	r.must(204, "DELETE", base+"/core-entities/consumers/"+consumer["id"].(string), nil)
	r.must(204, "DELETE", base+"/core-entities/consumer_groups/"+group["id"].(string), nil)
	check("force-delete store", c.ConfigStores.Delete(ctx, cpID, store.ID, true))
	empty, err := c.ConfigStores.Create(ctx, cpID, "conformance-empty")
	check("create empty store", err)
	check("delete empty store", c.ConfigStores.Delete(ctx, cpID, empty.ID, false))
}
