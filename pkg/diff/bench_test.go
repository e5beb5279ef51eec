package diff_test

import (
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/difftest"

	"encoding/json"
	"fmt"
	"testing"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
)

// BenchmarkCompute plans a large control plane: 50 stores of 20 secrets,
// 50 vaults, and 500 ai-proxy plugins on 500 routes, half of them changed.
func BenchmarkCompute(b *testing.B) {
	desired := &state.File{}
	live := difftest.EmptyLive()
	for s := range 50 {
		name := fmt.Sprintf("store-%02d", s)
		id := "id-" + name
		ds := state.ConfigStore{Name: name}
		live.ConfigStores = append(live.ConfigStores, konnect.ConfigStore{ID: id, Name: name})
		for k := range 20 {
			key := fmt.Sprintf("key-%02d", k)
			ds.Secrets = append(ds.Secrets, state.Secret{Key: key, Value: state.NewSensitive("fake")})
			live.Secrets[id] = append(live.Secrets[id], konnect.ConfigStoreSecret{Key: key})
		}
		desired.ConfigStores = append(desired.ConfigStores, ds)
		prefix := fmt.Sprintf("vault-%02d", s)
		desired.Vaults = append(desired.Vaults, state.Vault{Name: "konnect", Prefix: prefix, Config: difftest.Obj{}, ConfigStore: name})
		live.Vaults = append(live.Vaults, konnect.Vault{ID: "id-" + prefix, Name: "konnect", Prefix: prefix,
			Config: difftest.Obj{"config_store_id": id}, Tags: []string{"kvsync"}})
	}
	schema := difftest.AIProxySchema()
	for p := range 500 {
		route := fmt.Sprintf("route-%03d", p)
		live.Routes[route] = konnect.Route{ID: "id-" + route, Name: route}
		cfg := difftest.AIProxyConfig()
		cfg["auth"].(difftest.Obj)["header_value"] = fmt.Sprintf("{vault://vault-%02d/key-%02d}", p%50, p%20)
		desired.Plugins = append(desired.Plugins, state.Plugin{Name: "ai-proxy", Route: route, Config: cfg})
		stored := schema.ConfigDefaults(state.RevealMap(difftest.AIProxyConfig()))
		if p%2 == 0 {
			stored["auth"].(difftest.Obj)["header_value"] = cfg["auth"].(difftest.Obj)["header_value"]
		}
		live.Plugins = append(live.Plugins, konnect.Plugin{ID: "id-p-" + route, Name: "ai-proxy", Enabled: difftest.Ptr(true),
			Route: &konnect.ForeignKey{ID: "id-" + route}, Tags: []string{"kvsync"}, Config: stored,
			Protocols: []string{"grpc", "grpcs", "http", "https"}})
	}
	b.ResetTimer()
	for b.Loop() {
		p, err := diff.Compute(desired, live, diff.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if p.Summary().Update != 250 {
			b.Fatalf("summary %+v, want 250 updates", p.Summary())
		}
	}
}

// BenchmarkComputeScale plans the case at scale: 50 stores of
// 1,000 secrets, 100 vaults, and 10,000 plugins (ai-proxy and
// rate-limiting) on 5,000 routes, 10% changed: a tenth of the secrets are
// missing live (creates), a tenth of the plugins have another config
// (updates). Live configs are as Konnect serves them: JSON-decoded, every
// default filled in.
func BenchmarkComputeScale(b *testing.B) {
	desired := &state.File{}
	live := difftest.EmptyLive()
	for s := range 50 {
		name := fmt.Sprintf("store-%02d", s)
		id := "id-" + name
		ds := state.ConfigStore{Name: name}
		live.ConfigStores = append(live.ConfigStores, konnect.ConfigStore{ID: id, Name: name})
		for k := range 1000 {
			key := fmt.Sprintf("key-%04d", k)
			ds.Secrets = append(ds.Secrets, state.Secret{Key: key, Value: state.NewSensitive("fake")})
			if k%10 != 0 {
				live.Secrets[id] = append(live.Secrets[id], konnect.ConfigStoreSecret{Key: key})
			}
		}
		desired.ConfigStores = append(desired.ConfigStores, ds)
	}
	for v := range 100 {
		prefix := fmt.Sprintf("vault-%03d", v)
		store := fmt.Sprintf("store-%02d", v%50)
		desired.Vaults = append(desired.Vaults, state.Vault{Name: "konnect", Prefix: prefix, Config: difftest.Obj{}, ConfigStore: store})
		live.Vaults = append(live.Vaults, konnect.Vault{ID: "id-" + prefix, Name: "konnect", Prefix: prefix,
			Config: difftest.Obj{"config_store_id": "id-" + store}, Tags: []string{"kvsync"}})
	}
	jsonCopy := func(m map[string]any) map[string]any {
		raw, err := json.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			b.Fatal(err)
		}
		return out
	}
	changed := 0
	for p := range 10000 {
		route := fmt.Sprintf("route-%04d", p/2)
		live.Routes[route] = konnect.Route{ID: "id-" + route, Name: route}
		name, schema := "ai-proxy", difftest.AIProxySchema()
		var cfg map[string]any
		if p%2 == 0 {
			cfg = difftest.AIProxyConfig()
			cfg["auth"].(difftest.Obj)["header_value"] = fmt.Sprintf("{vault://vault-%03d/key-%04d}", p%100, p%1000)
		} else {
			name, schema = "rate-limiting", difftest.RateLimitingSchema()
			cfg = difftest.Obj{"minute": p % 60, "redis": difftest.Obj{"host": "redis.example"}}
		}
		desired.Plugins = append(desired.Plugins, state.Plugin{Name: name, Route: route, Config: cfg})
		stored := jsonCopy(schema.ConfigDefaults(jsonCopy(state.RevealMap(cfg))))
		if p%10 == 3 {
			stored["max_request_body_size"], stored["hour"] = 1.0, 1.0 // changed outside
			changed++
		}
		live.Plugins = append(live.Plugins, konnect.Plugin{ID: fmt.Sprintf("id-p-%05d", p), Name: name, Enabled: difftest.Ptr(true),
			Route: &konnect.ForeignKey{ID: "id-" + route}, Tags: []string{"kvsync"}, Config: stored,
			Protocols: []string{"grpc", "grpcs", "http", "https"}})
	}
	b.ResetTimer()
	for b.Loop() {
		p, err := diff.Compute(desired, live, diff.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if s := p.Summary(); s.Update != changed || s.Create != 5000 {
			b.Fatalf("summary %+v, want %d updates and 5,000 creates", s, changed)
		}
	}
}

// BenchmarkComputeFreshControlPlane plans a large file against an empty
// control plane: every secret and vault waits for the id of a store that
// the plan creates, so linking the graph must not scan the plan per
// reference.
func BenchmarkComputeFreshControlPlane(b *testing.B) {
	desired := &state.File{}
	for s := range 50 {
		name := fmt.Sprintf("store-%02d", s)
		ds := state.ConfigStore{Name: name}
		for k := range 200 {
			ds.Secrets = append(ds.Secrets, state.Secret{Key: fmt.Sprintf("key-%03d", k), Value: state.NewSensitive("fake")})
		}
		desired.ConfigStores = append(desired.ConfigStores, ds)
		desired.Vaults = append(desired.Vaults, state.Vault{Name: "konnect", Prefix: fmt.Sprintf("vault-%02d", s), Config: difftest.Obj{}, ConfigStore: name})
	}
	live := difftest.EmptyLive()
	b.ResetTimer()
	for b.Loop() {
		p, err := diff.Compute(desired, live, diff.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if s := p.Summary(); s.Create != 50+50*200+50 {
			b.Fatalf("summary %+v, want 10,100 creates", s)
		}
	}
}
