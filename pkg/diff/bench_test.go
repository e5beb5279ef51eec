package diff_test

import (
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/difftest"

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
