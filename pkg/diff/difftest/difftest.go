// Package difftest holds fixtures for tests of plans: the seed tutorial's
// desired state and the live state Konnect holds after it is synced, the
// schemas they use, a desired/live pair whose plan has every kind of
// change, and canary values that no output may contain.
package difftest

import (
	"fmt"
	"strings"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

func Ptr[T any](v T) *T { return &v }

type Obj = map[string]any

func testField(name string, def Obj) Obj { return Obj{name: def} }

// AIProxySchema is a small Kong-style schema shaped like ai-proxy's.
func AIProxySchema() *kong.PluginSchema {
	return kong.NewPluginSchema([]map[string]any{
		testField("protocols", Obj{"type": "set", "default": []any{"grpc", "grpcs", "http", "https"},
			"elements": Obj{"type": "string"}}),
		testField("config", Obj{"type": "record", "required": true, "fields": []any{
			testField("route_type", Obj{"type": "string", "required": true}),
			testField("max_request_body_size", Obj{"type": "integer", "default": 8192}),
			testField("auth", Obj{"type": "record", "fields": []any{
				testField("header_name", Obj{"type": "string"}),
				testField("header_value", Obj{"type": "string", "encrypted": true, "referenceable": true}),
				testField("allow_override", Obj{"type": "boolean", "default": false}),
			}}),
			testField("model", Obj{"type": "record", "required": true, "fields": []any{
				testField("provider", Obj{"type": "string", "required": true}),
				testField("name", Obj{"type": "string"}),
				testField("options", Obj{"type": "record", "fields": []any{
					testField("mistral_format", Obj{"type": "string"}),
					testField("upstream_url", Obj{"type": "string"}),
					testField("temperature", Obj{"type": "number"}),
				}}),
			}}),
		}}),
	})
}

// RateLimitingSchema is a small Kong-style schema shaped like
// rate-limiting's, with an encrypted redis password.
func RateLimitingSchema() *kong.PluginSchema {
	return kong.NewPluginSchema([]map[string]any{
		testField("protocols", Obj{"type": "set", "default": []any{"grpc", "grpcs", "http", "https"},
			"elements": Obj{"type": "string"}}),
		testField("config", Obj{"type": "record", "required": true, "fields": []any{
			testField("minute", Obj{"type": "number"}),
			testField("hour", Obj{"type": "number"}),
			testField("policy", Obj{"type": "string", "default": "local"}),
			testField("redis", Obj{"type": "record", "required": true, "fields": []any{
				testField("host", Obj{"type": "string"}),
				testField("password", Obj{"type": "string", "encrypted": true, "referenceable": true}),
			}}),
		}}),
	})
}

func AIProxyConfig() Obj {
	return Obj{
		"route_type": "llm/v1/chat",
		"auth": Obj{
			"header_name":  "Authorization",
			"header_value": "{vault://mysecretvault/mistral-key}",
		},
		"model": Obj{
			"provider": "mistral",
			"name":     "mistral-tiny",
			"options": Obj{
				"mistral_format": "openai",
				"upstream_url":   "https://api.mistral.ai/v1/chat/completions",
			},
		},
	}
}

// SeedFile is the tutorial's desired state.
func SeedFile() *state.File {
	return &state.File{
		FormatVersion:    "3.0",
		ControlPlaneName: "my-control-plane",
		ConfigStores: []state.ConfigStore{{Name: "my-config-store", Secrets: []state.Secret{
			{Key: "mistral-key", Value: state.NewSensitive("Bearer sk-fake-0000", "MISTRAL_API_KEY")},
		}}},
		Vaults: []state.Vault{{Name: "konnect", Prefix: "mysecretvault",
			Description: Ptr("Storing secrets in Konnect"), Config: Obj{}, ConfigStore: "my-config-store"}},
		Plugins: []state.Plugin{{Name: "ai-proxy", Route: "example-route", Config: AIProxyConfig()}},
	}
}

// EmptyLive is a control plane holding only the tutorial's service and
// route.
func EmptyLive() *diff.Live {
	return &diff.Live{
		ControlPlane:   konnect.ControlPlane{ID: "cp-1", Name: "my-control-plane"},
		Secrets:        map[string][]konnect.ConfigStoreSecret{},
		Routes:         map[string]konnect.Route{"example-route": {ID: "route-1", Name: "example-route"}},
		Services:       map[string]konnect.Service{"example-service": {ID: "service-1", Name: "example-service"}},
		Consumers:      map[string]konnect.Consumer{"alice": {ID: "consumer-1", Username: "alice"}},
		ConsumerGroups: map[string]konnect.ConsumerGroup{"gold": {ID: "group-1", Name: "gold"}},
		Schemas:        map[string]*kong.PluginSchema{"ai-proxy": AIProxySchema(), "rate-limiting": RateLimitingSchema()},
	}
}

// SeededLive is the control plane after `kvsync sync` of SeedFile, written
// out by hand the way Konnect stores it: every schema default filled in,
// null for fields without one, ids and timestamps everywhere.
func SeededLive() *diff.Live {
	l := EmptyLive()
	l.ConfigStores = []konnect.ConfigStore{{ID: "store-1", Name: "my-config-store", CreatedAt: "2025-01-01T00:00:00Z"}}
	l.Secrets["store-1"] = []konnect.ConfigStoreSecret{{Key: "mistral-key", CreatedAt: "2025-01-01T00:00:00Z"}}
	l.Vaults = []konnect.Vault{{ID: "vault-1", Name: "konnect", Prefix: "mysecretvault",
		Description: Ptr("Storing secrets in Konnect"),
		Config:      Obj{"config_store_id": "store-1", "ttl": nil, "neg_ttl": nil, "resurrect_ttl": nil},
		Tags:        []string{"kvsync"}, CreatedAt: 1700000000, UpdatedAt: 1700000001}}
	l.Plugins = []konnect.Plugin{{ID: "plugin-1", Name: "ai-proxy", Enabled: Ptr(true),
		Protocols: []string{"grpc", "grpcs", "http", "https"}, Tags: []string{"kvsync"},
		Route: &konnect.ForeignKey{ID: "route-1"}, CreatedAt: 1700000000, UpdatedAt: 1700000001,
		Config: Obj{
			"route_type":            "llm/v1/chat",
			"max_request_body_size": 8192.0,
			"auth": Obj{
				"header_name":    "Authorization",
				"header_value":   "{vault://mysecretvault/mistral-key}",
				"allow_override": false,
			},
			"model": Obj{
				"provider": "mistral",
				"name":     "mistral-tiny",
				"options": Obj{
					"mistral_format": "openai",
					"upstream_url":   "https://api.mistral.ai/v1/chat/completions",
					"temperature":    nil,
				},
			},
		}}}
	return l
}

// Outline summarises a plan one change a line: "ID action headline" and
// " after DEPS" when it has dependencies.
func Outline(p *diff.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		line := fmt.Sprintf("%d %s %s", c.ID, c.Action, c.Headline())
		if len(c.DependsOn) > 0 {
			deps := make([]string, len(c.DependsOn))
			for i, d := range c.DependsOn {
				deps[i] = fmt.Sprint(d)
			}
			line += " after " + strings.Join(deps, ",")
		}
		out = append(out, line)
	}
	return out
}

func FieldLines(c *diff.Change) []string {
	var out []string
	for _, f := range c.Fields {
		out = append(out, f.Line(c.Action))
	}
	return out
}

// Canary values: none may appear in any output.
const (
	CanarySecret     = "CANARY-secret-value-7f3a"
	CanaryEnv        = "CANARY-env-value-19bd"
	CanaryLiveOld    = "CANARY-live-old-value-c0de"
	CanaryLiveHeader = "Bearer CANARY-live-header-5eed"
	CanaryVaultToken = "CANARY-vault-token-beef"
)

var Canaries = []string{CanarySecret, CanaryEnv, CanaryLiveOld, CanaryLiveHeader, CanaryVaultToken}

// EveryChange is a desired/live pair whose plan has every kind of
// change: creates, updates and deletes of stores, secrets, vaults and
// plugins, a forced store delete, sensitive values old and new, unmanaged
// entities and a warning.
func EveryChange() (*state.File, *diff.Live) {
	f := SeedFile()
	f.ConfigStores[0].Secrets = append(f.ConfigStores[0].Secrets,
		state.Secret{Key: "openai-key", Value: state.NewSensitive(CanaryEnv, "OPENAI_API_KEY")})
	f.ConfigStores = append(f.ConfigStores, state.ConfigStore{Name: "billing-store", Secrets: []state.Secret{
		{Key: "redis-password", Value: state.NewSensitive(CanarySecret)},
	}})
	f.Vaults[0].Description = Ptr("Mistral and OpenAI keys")
	f.Vaults = append(f.Vaults, state.Vault{Name: "konnect", Prefix: "billing", Config: Obj{}, ConfigStore: "billing-store"},
		state.Vault{Name: "hcv", Prefix: "hashi", Config: Obj{"host": "vault.internal", "token": state.NewSensitive(CanaryVaultToken, "VAULT_TOKEN")}})
	f.Plugins[0].Config["model"].(Obj)["name"] = "mistral-small"
	f.Plugins = append(f.Plugins, state.Plugin{Name: "rate-limiting", Service: "example-service", Config: Obj{
		"minute": 5,
		"policy": "redis",
		"redis":  Obj{"host": "redis.internal", "password": "{vault://billing/redis-password}"},
	}}, state.Plugin{Name: "rate-limiting", Consumer: "alice", Config: Obj{
		"hour":  100,
		"redis": Obj{"password": state.NewSensitive(CanaryEnv, "REDIS_PASSWORD")},
	}})

	l := SeededLive()
	l.Vaults[0].Tags = []string{"team-x"}
	l.Secrets["store-1"] = append(l.Secrets["store-1"], konnect.ConfigStoreSecret{Key: "stale-key"})
	l.ConfigStores = append(l.ConfigStores, konnect.ConfigStore{ID: "store-9", Name: "legacy-store"},
		konnect.ConfigStore{ID: "store-7", Name: "someone-elses-store"})
	l.Secrets["store-9"] = []konnect.ConfigStoreSecret{{Key: "a"}, {Key: "b"}, {Key: "c"}}
	l.Vaults = append(l.Vaults,
		konnect.Vault{ID: "vault-9", Name: "konnect", Prefix: "legacy", Config: Obj{"config_store_id": "store-9"}, Tags: []string{"kvsync"}},
		konnect.Vault{ID: "vault-5", Name: "hcv", Prefix: "hashi", Config: Obj{"host": "old.internal", "token": CanaryVaultToken + "-old"}, Tags: []string{"kvsync"}})
	l.Plugins[0].Config["auth"].(Obj)["header_value"] = CanaryLiveHeader
	l.Plugins = append(l.Plugins,
		konnect.Plugin{ID: "plugin-9", Name: "rate-limiting", Tags: []string{"kvsync"},
			Config: Obj{"redis": Obj{"password": "{vault://legacy/a}"}}},
		konnect.Plugin{ID: "plugin-5", Name: "rate-limiting", Tags: []string{"kvsync"}, Enabled: Ptr(true),
			Consumer: &konnect.ForeignKey{ID: "consumer-1"}, Protocols: []string{"grpc", "grpcs", "http", "https"},
			Config: Obj{"hour": 100.0, "minute": nil, "policy": "local", "redis": Obj{"host": nil, "password": CanaryLiveOld}}},
		konnect.Plugin{ID: "plugin-3", Name: "cors"})
	return f, l
}

// FingerprintKey is the fake KVSYNC_FINGERPRINT_KEY of the fixtures.
const FingerprintKey = "fake-fingerprint-key-0000"

// TrackedSum is the kvsync.sum of a sync that wrote every secret of f that
// exists in l with its current value: a plan with it sees no value drift.
func TrackedSum(f *state.File, l *diff.Live) *sum.File {
	s := sum.New([]byte(FingerprintKey))
	ids := map[string]string{}
	for _, cs := range l.ConfigStores {
		ids[cs.Name] = cs.ID
	}
	for _, ds := range f.ConfigStores {
		for _, sec := range ds.Secrets {
			for _, ls := range l.Secrets[ids[ds.Name]] {
				if ls.Key == sec.Key {
					id := sum.ID{ControlPlaneID: l.ControlPlane.ID, Store: ds.Name, Key: sec.Key}
					s.Set(id, sum.Entry{Fingerprint: s.Fingerprint(id, sec.Value.Reveal()), UpdatedAt: ls.UpdatedAt})
				}
			}
		}
	}
	return s
}
