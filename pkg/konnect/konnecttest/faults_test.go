package konnecttest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	// One token per minute and a bucket of two: the third request in a row
	// must be refused, deterministically.
	a := newAPI(t, Options{Faults: Faults{RateLimit: 1.0 / 60, RateBurst: 2}})
	a.must(200, "GET", "/v2/control-planes", nil)
	a.must(200, "GET", "/v2/control-planes", nil)
	r := a.do("POST", "/v2/control-planes", map[string]any{"name": "refused"})
	if r.status != 429 {
		t.Fatalf("third request: status %d, want 429", r.status)
	}
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 60 {
		t.Errorf("Retry-After = %q, want whole seconds in [1, 60]", r.header.Get("Retry-After"))
	}
	if r.json(t)["message"] != "API rate limit exceeded" {
		t.Errorf("429 body = %s", r.raw)
	}
	a.srv.SetFaults(Faults{})
	if id := a.srv.ControlPlaneID("refused"); id != "" {
		t.Error("a rate-limited request was processed")
	}
}

func TestErrorRateAndRules(t *testing.T) {
	a := newAPI(t, Options{Faults: Faults{ErrorRate: 1, Seed: 7}})
	for i := 0; i < 10; i++ {
		r := a.do("POST", "/v2/control-planes", map[string]any{"name": "never"})
		if r.status != 500 && r.status != 503 {
			t.Fatalf("status %d, want 500 or 503", r.status)
		}
		problemFields(t, r)
	}
	a.srv.SetFaults(Faults{Rules: []FaultRule{{Method: "POST", PathContains: "/config-stores", Status: 503, Times: 2}}})
	if a.srv.ControlPlaneID("never") != "" {
		t.Fatal("a request answered with an injected error was processed")
	}
	cp := a.controlPlane("cp") // the rule does not match this path
	base := "/v2/control-planes/" + cp + "/config-stores"
	for i := 0; i < 2; i++ {
		if r := a.do("POST", base, map[string]any{"name": "s"}); r.status != 503 {
			t.Errorf("attempt %d: status %d, want 503", i+1, r.status)
		}
	}
	a.must(201, "POST", base, map[string]any{"name": "s"})
	if n := len(dataOf(t, a.must(200, "GET", base, nil))); n != 1 {
		t.Errorf("%d stores, want 1: failed attempts must not be processed", n)
	}
}

func TestRandomFaultsAreRepeatable(t *testing.T) {
	statuses := func() []int {
		a := newAPI(t, Options{Faults: Faults{ErrorRate: 0.5, Seed: 42}})
		var out []int
		for i := 0; i < 30; i++ {
			out = append(out, a.do("GET", "/v2/control-planes", nil).status)
		}
		return out
	}
	first, second := statuses(), statuses()
	failures := 0
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("request %d: %d then %d with the same seed", i, first[i], second[i])
		}
		if first[i] != 200 {
			failures++
		}
	}
	if failures == 0 || failures == len(first) {
		t.Errorf("%d of %d failed at ErrorRate 0.5", failures, len(first))
	}
}

func TestDroppedConnections(t *testing.T) {
	a := newAPI(t, Options{Faults: Faults{DropRate: 1}})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest("GET", a.srv.URL+"/v2/control-planes", nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer (%d) from a dropped connection", resp.StatusCode)
	}

	// A rule with status 0 drops only what it matches, Times times.
	a.srv.SetFaults(Faults{Rules: []FaultRule{{PathContains: "/secrets", Times: 1}}})
	cp := a.controlPlane("cp")
	st := a.store(cp, "s")
	body := `{"key":"k","value":"fake-v"}`
	req, _ = http.NewRequest("POST", a.srv.URL+"/v2/control-planes/"+cp+"/config-stores/"+st+"/secrets", stringsReader(body))
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped POST answered %d", resp.StatusCode)
	}
	if _, ok := a.srv.SecretValue(cp, st, "k"); ok {
		t.Error("a dropped request was processed")
	}
	a.must(201, "POST", "/v2/control-planes/"+cp+"/config-stores/"+st+"/secrets", map[string]any{"key": "k", "value": "fake-v"})
}

func TestLatencyIsApplied(t *testing.T) {
	// No timing assertion: an hour of latency must outlast a short client
	// deadline, and the abandoned request must not be processed.
	a := newAPI(t, Options{Faults: Faults{Latency: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", a.srv.URL+"/v2/control-planes", stringsReader(`{"name":"slow"}`))
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	_, err := http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	a.srv.SetFaults(Faults{})
	a.must(200, "GET", "/v2/control-planes", nil)
	if a.srv.ControlPlaneID("slow") != "" {
		t.Error("an abandoned delayed request was processed")
	}
}

func TestCounts(t *testing.T) {
	a := newAPI(t, Options{})
	cp := a.controlPlane("cp")
	st := a.store(cp, "s")
	a.must(200, "GET", "/v2/control-planes/"+cp+"/config-stores", nil)
	a.must(200, "GET", "/v2/control-planes/"+cp+"/config-stores?page[size]=3", nil)
	a.must(201, "POST", "/v2/control-planes/"+cp+"/config-stores/"+st+"/secrets", map[string]any{"key": "a/b", "value": "fake"})
	a.must(200, "GET", "/v2/control-planes/"+cp+"/config-stores/"+st+"/secrets/a%2Fb", nil)
	a.must(200, "GET", "/v2/control-planes/"+cp+"/core-entities/plugins", nil)
	a.do("GET", "/v2/nowhere", nil)
	want := map[string]int{
		"POST /v2/control-planes":                                                             1,
		"POST /v2/control-planes/{controlPlaneId}/config-stores":                              1,
		"GET /v2/control-planes/{controlPlaneId}/config-stores":                               2,
		"POST /v2/control-planes/{controlPlaneId}/config-stores/{configStoreId}/secrets":      1,
		"GET /v2/control-planes/{controlPlaneId}/config-stores/{configStoreId}/secrets/{key}": 1,
		"GET /v2/control-planes/{controlPlaneId}/core-entities/plugins":                       1,
		"GET (unmatched)": 1,
	}
	got := a.srv.Counts()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Counts[%q] = %d, want %d", k, got[k], v)
		}
	}
	if len(got) != len(want) || a.srv.TotalRequests() != 8 {
		t.Errorf("Counts = %v, total %d; want %d keys, 8 requests", got, a.srv.TotalRequests(), len(want))
	}
	a.srv.ResetCounts()
	if a.srv.TotalRequests() != 0 || len(a.srv.Counts()) != 0 {
		t.Error("ResetCounts left counts")
	}
}

func TestDataFilePersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	a := newAPI(t, Options{DataFile: path})
	cp, core, storeID, _, routeID := seedScenario(t, a)
	a.must(201, "POST", "/v2/control-planes/"+cp+"/config-stores/"+storeID+"/secrets", map[string]any{"key": "mistral-key", "value": "Bearer fake-key"})
	plugin := a.must(201, "POST", core+"/plugins", aiProxyPlugin(routeID))
	a.srv.Close()

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("data file mode %v, want 0600", info.Mode().Perm())
	}
	b := newAPI(t, Options{DataFile: path})
	if b.srv.ControlPlaneID("seed") != cp {
		t.Fatal("control plane not restored")
	}
	if v, ok := b.srv.SecretValue(cp, storeID, "mistral-key"); !ok || v != "Bearer fake-key" {
		t.Error("secret value not restored")
	}
	got := b.must(200, "GET", core+"/plugins/"+plugin["id"].(string), nil)
	if dig(got, "config.model.options.mistral_format") != "openai" || got["created_at"] != plugin["created_at"] {
		t.Error("plugin not restored as served")
	}
	// New items sort after restored ones: sequence numbers survive.
	b.store(cp, "later")
	stores := dataOf(t, b.must(200, "GET", "/v2/control-planes/"+cp+"/config-stores", nil))
	if len(stores) != 2 || stores[1]["name"] != "later" {
		t.Errorf("stores after restart: %v", stores)
	}

	// The file is written behind the requests: b is done with it first.
	b.srv.Close()
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{DataFile: path}); err == nil {
		t.Error("New accepted a corrupt data file")
	}
	if _, err := New(Options{DataFile: filepath.Join(t.TempDir(), "absent.json")}); err != nil {
		t.Errorf("New with an absent data file: %v", err)
	}
}
