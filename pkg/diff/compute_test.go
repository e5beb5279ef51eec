package diff_test

import (
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/difftest"

	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
)

func TestCompute(t *testing.T) {
	tests := []struct {
		name    string
		desired func() *state.File
		live    func() *diff.Live
		opts    diff.Options
		// want is the plan's difftest.Outline (see difftest.Outline).
		want []string
		// fields are the expected field lines of some changes, by ID.
		fields     map[int][]string
		unmanaged  map[diff.Kind]int
		warnings   []string
		wantErrors []string
	}{
		{
			name:    "nothing desired, nothing live",
			desired: func() *state.File { return &state.File{} },
			live:    difftest.EmptyLive,
		},
		{
			name:    "an empty, unreferenced duplicate of a declared store is cleaned up",
			desired: difftest.SeedFile,
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.ConfigStores = append(l.ConfigStores, konnect.ConfigStore{ID: "store-dup", Name: "my-config-store", CreatedAt: "2025-01-02T00:00:00Z"})
				return l
			},
			want:     []string{"0 delete config_store my-config-store (duplicate id store-dup)"},
			warnings: []string{"config store my-config-store: my-config-store (id store-dup) is an empty, unreferenced duplicate (a create an earlier run repeated): kvsync deletes it"},
		},
		{
			// Kong reads the key before a #version or a ?query: such
			// references still need their secret created first.
			name: "references with #version and ?ttl wait for the secret they name",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.ConfigStores[0].Secrets = append(f.ConfigStores[0].Secrets,
					state.Secret{Key: "redis-password", Value: state.NewSensitive("fake-redis-0000")})
				f.Plugins[0].Config["auth"].(difftest.Obj)["header_value"] = "{vault://mysecretvault/mistral-key#2}"
				f.Plugins = append(f.Plugins, state.Plugin{Name: "rate-limiting", Service: "example-service", Config: difftest.Obj{
					"minute": 5, "redis": difftest.Obj{"password": "{vault://mysecretvault/redis-password?ttl=60}"}}})
				return f
			},
			live: difftest.EmptyLive,
			want: []string{
				"0 create config_store my-config-store",
				"1 create secret my-config-store/mistral-key after 0",
				"2 create secret my-config-store/redis-password after 0",
				"3 create vault mysecretvault after 0",
				"4 create plugin ai-proxy (route example-route) after 1,3",
				"5 create plugin rate-limiting (service example-service) after 2,3",
			},
		},
		{
			name:    "the seed tutorial on an empty control plane creates every kind in dependency order",
			desired: difftest.SeedFile,
			live:    difftest.EmptyLive,
			want: []string{
				"0 create config_store my-config-store",
				"1 create secret my-config-store/mistral-key after 0",
				"2 create vault mysecretvault after 0",
				"3 create plugin ai-proxy (route example-route) after 1,2",
			},
			fields: map[int][]string{
				1: {"value: (from env MISTRAL_API_KEY)"},
				2: {
					`config.config_store_id: (id of new config_store my-config-store)`,
					`description: "Storing secrets in Konnect"`,
					`name: "konnect"`,
					`tags: ["kvsync"]`,
				},
				3: {
					`config.auth.header_name: "Authorization"`,
					`config.auth.header_value: "{vault://mysecretvault/mistral-key}"`,
					`config.model.name: "mistral-tiny"`,
					`config.model.options.mistral_format: "openai"`,
					`config.model.options.upstream_url: "https://api.mistral.ai/v1/chat/completions"`,
					`config.model.provider: "mistral"`,
					`config.route_type: "llm/v1/chat"`,
					`enabled: true`,
					`tags: ["kvsync"]`,
				},
			},
		},
		{
			name:    "server-filled defaults, ids, timestamps and tag order never drift",
			desired: difftest.SeedFile,
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Plugins[0].Tags = []string{"kvsync"}
				l.Plugins[0].Protocols = []string{"https", "http", "grpcs", "grpc"}
				return l
			},
		},
		{
			name: "explicit enabled and protocols equal to the defaults do not drift",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Plugins[0].Enabled = difftest.Ptr(true)
				f.Plugins[0].Protocols = []string{"grpc", "grpcs", "http", "https"}
				return f
			},
			live: difftest.SeededLive,
		},
		{
			name: "a changed plugin field is an update listing only that field",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Plugins[0].Config["model"].(difftest.Obj)["name"] = "mistral-small"
				f.Plugins[0].Config["max_request_body_size"] = 1024
				return f
			},
			live: difftest.SeededLive,
			want: []string{"0 update plugin ai-proxy (route example-route)"},
			fields: map[int][]string{0: {
				`config.max_request_body_size: 8192 -> 1024`,
				`config.model.name: "mistral-tiny" -> "mistral-small"`,
			}},
		},
		{
			name:    "removing a field from the file restores its default",
			desired: difftest.SeedFile,
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Plugins[0].Config["auth"].(difftest.Obj)["allow_override"] = true
				l.Plugins[0].Config["max_request_body_size"] = 99.0
				l.Plugins[0].Config["model"].(difftest.Obj)["options"].(difftest.Obj)["temperature"] = 0.5
				return l
			},
			want: []string{"0 update plugin ai-proxy (route example-route)"},
			fields: map[int][]string{0: {
				`config.auth.allow_override: true -> false`,
				`config.max_request_body_size: 99 -> 8192`,
				`config.model.options.temperature: 0.5 -> null`,
			}},
		},
		{
			name: "disabling a plugin and changing its protocols",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Plugins[0].Enabled = difftest.Ptr(false)
				f.Plugins[0].Protocols = []string{"https"}
				return f
			},
			live: difftest.SeededLive,
			want: []string{"0 update plugin ai-proxy (route example-route)"},
			fields: map[int][]string{0: {
				`enabled: true -> false`,
				`protocols: ["grpc","grpcs","http","https"] -> ["https"]`,
			}},
		},
		{
			name: "a vault description change is an update",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Vaults[0].Description = difftest.Ptr("Mistral keys")
				return f
			},
			live:   difftest.SeededLive,
			want:   []string{"0 update vault mysecretvault"},
			fields: map[int][]string{0: {`description: "Storing secrets in Konnect" -> "Mistral keys"`}},
		},
		{
			name: "a new secret in an existing store is a create; an undeclared key is a delete",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.ConfigStores[0].Secrets = append(f.ConfigStores[0].Secrets,
					state.Secret{Key: "openai-key", Value: state.NewSensitive("sk-fake-1111")})
				return f
			},
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Secrets["store-1"] = append(l.Secrets["store-1"], konnect.ConfigStoreSecret{Key: "old-key"})
				return l
			},
			want: []string{
				"0 create secret my-config-store/openai-key",
				"1 delete secret my-config-store/old-key",
			},
			fields: map[int][]string{0: {"value: (sensitive)"}},
		},
		{
			name: "a secret key change is a delete plus a create, ordered around the plugin that switches keys",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.ConfigStores[0].Secrets[0].Key = "mistral-key-v2"
				f.Plugins[0].Config["auth"].(difftest.Obj)["header_value"] = "{vault://mysecretvault/mistral-key-v2}"
				return f
			},
			live: difftest.SeededLive,
			want: []string{
				"0 create secret my-config-store/mistral-key-v2",
				"1 update plugin ai-proxy (route example-route) after 0",
				"2 delete secret my-config-store/mistral-key after 1",
			},
			fields: map[int][]string{1: {
				`config.auth.header_value: "{vault://mysecretvault/mistral-key}" -> "{vault://mysecretvault/mistral-key-v2}"`,
			}},
		},
		{
			name: "a store rename is a create plus a forced delete, the vault moving between them",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.ConfigStores[0].Name = "mistral-store"
				f.Vaults[0].ConfigStore = "mistral-store"
				return f
			},
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Secrets["store-1"] = append(l.Secrets["store-1"], konnect.ConfigStoreSecret{Key: "other"})
				return l
			},
			want: []string{
				"0 create config_store mistral-store",
				"1 create secret mistral-store/mistral-key after 0",
				"2 update vault mysecretvault after 0",
				"3 delete config_store my-config-store (its 2 secrets first, sparing any added since) after 2",
			},
			fields: map[int][]string{
				2: {`config.config_store_id: "store-1" -> (id of new config_store mistral-store)`},
			},
		},
		{
			name: "removing everything deletes plugin, vault, then the store with its secrets (force)",
			desired: func() *state.File {
				return &state.File{}
			},
			live: difftest.SeededLive,
			want: []string{
				"0 delete plugin ai-proxy (route example-route)",
				"1 delete vault mysecretvault after 0",
				"2 delete config_store my-config-store (its 1 secret first, sparing any added since) after 1",
			},
			warnings: []string{"this plan deletes 3 of the 3 entities kvsync manages here: are all the files given? (kvsync apply never deletes)",
				`the select tag is the bare default "kvsync", and 2 vaults or plugins carrying it are not declared in the files, so sync deletes them: if another team or file shares this control plane with the default tag, give each its own _info.select_tags`},
		},
		{
			name: "untagged live entities are unmanaged and never deleted",
			desired: func() *state.File {
				return &state.File{}
			},
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Vaults[0].Tags = nil
				l.Plugins[0].Tags = []string{"deck"}
				return l
			},
			unmanaged: map[diff.Kind]int{diff.KindConfigStore: 1, diff.KindVault: 1, diff.KindPlugin: 1},
		},
		{
			name:    "an untagged entity with a declared identity is adopted: the update adds the tags",
			desired: difftest.SeedFile,
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Vaults[0].Tags = nil
				l.Plugins[0].Tags = nil
				return l
			},
			want: []string{
				// A tags-only vault update does not hold up the plugin.
				"0 update vault mysecretvault",
				"1 update plugin ai-proxy (route example-route)",
			},
			fields: map[int][]string{0: {`tags: [] -> ["kvsync"]`}, 1: {`tags: [] -> ["kvsync"]`}},
		},
		{
			name:    "an entity another tool tagged is not taken without --adopt",
			desired: difftest.SeedFile,
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Plugins[0].Tags = []string{"deck-team"}
				return l
			},
			wantErrors: []string{`plugin ai-proxy (route example-route) exists with tags ["deck-team"], not the select tags ["kvsync"]: another tool may own it; pass --adopt to take it over (kvsync then adds its tags)`},
		},
		{
			name:    "--adopt adds the select tags to another tool's",
			desired: difftest.SeedFile,
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Plugins[0].Tags = []string{"deck-team"}
				return l
			},
			opts:     diff.Options{Adopt: true},
			want:     []string{"0 update plugin ai-proxy (route example-route)"},
			fields:   map[int][]string{0: {`tags: ["deck-team"] -> ["deck-team","kvsync"]`}},
			warnings: []string{`plugin ai-proxy (route example-route) exists with tags ["deck-team"]: adopted (--adopt), kvsync adds the select tags ["kvsync"]`},
		},
		{
			name:    "an untagged entity is adopted, and the plan says so",
			desired: difftest.SeedFile,
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Plugins[0].Tags = nil
				return l
			},
			want:   []string{"0 update plugin ai-proxy (route example-route)"},
			fields: map[int][]string{0: {`tags: [] -> ["kvsync"]`}},
		},
		{
			name: "the file's select tags scope deletes and tag what kvsync creates",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.SelectTags = []string{"team-a", "ai"}
				f.Plugins[0].Tags = []string{"extra"}
				f.Vaults = nil
				f.ConfigStores = nil
				f.Plugins[0].Config["auth"].(difftest.Obj)["header_value"] = "Bearer literal"
				return f
			},
			live: func() *diff.Live {
				l := difftest.EmptyLive()
				l.Plugins = []konnect.Plugin{
					{ID: "p-a", Name: "rate-limiting", Tags: []string{"ai", "team-a", "x"}},
					{ID: "p-b", Name: "rate-limiting", Tags: []string{"team-a"}, Service: &konnect.ForeignKey{ID: "service-1"}},
					{ID: "p-c", Name: "rate-limiting", Tags: []string{"kvsync"}, Consumer: &konnect.ForeignKey{ID: "consumer-1"}},
				}
				return l
			},
			want: []string{
				"0 create plugin ai-proxy (route example-route)",
				"1 delete plugin rate-limiting",
			},
			unmanaged: map[diff.Kind]int{diff.KindPlugin: 2},
		},
		{
			name:    "--select-tag overrides the default tag",
			desired: func() *state.File { return &state.File{} },
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Plugins[0].Tags = []string{"ops"}
				return l
			},
			opts: diff.Options{SelectTags: []string{"ops"}},
			want: []string{"0 delete plugin ai-proxy (route example-route)"},
			// The kvsync-tagged vault is out of scope for "ops", and so is
			// its store.
			unmanaged: map[diff.Kind]int{diff.KindConfigStore: 1, diff.KindVault: 1},
		},
		{
			// Ownership needs every select tag: one of two is not enough.
			name:    "with two select tags, an entity carrying one of them is left alone",
			desired: func() *state.File { return &state.File{} },
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Plugins[0].Tags = []string{"team-a", "kvsync", "other"}
				l.Vaults[0].Tags = []string{"kvsync"}
				return l
			},
			opts: diff.Options{SelectTags: []string{"kvsync", "team-a"}},
			want: []string{"0 delete plugin ai-proxy (route example-route)"},
			// The vault lacks team-a: unmanaged, and so is its store.
			unmanaged: map[diff.Kind]int{diff.KindConfigStore: 1, diff.KindVault: 1},
		},
		{
			// 2 deletes of 4 managed entities (the store, its secret, the
			// vault, the plugin) is half: no warning.
			name: "mass delete: half of what kvsync manages is no mass delete",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Vaults, f.Plugins = nil, nil
				return f
			},
			live: difftest.SeededLive,
			want: []string{
				"0 delete plugin ai-proxy (route example-route)",
				"1 delete vault mysecretvault after 0",
			},
			warnings: []string{`the select tag is the bare default "kvsync", and 2 vaults or plugins carrying it are not declared in the files, so sync deletes them: if another team or file shares this control plane with the default tag, give each its own _info.select_tags`},
		},
		{
			// 3 of 4 is more than half. The vault over the store goes
			// before the store's secret (Kong would resolve references
			// through it to a deleted key otherwise).
			name: "mass delete: more than half warns; a vault goes before its store's secrets",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Vaults, f.Plugins = nil, nil
				f.ConfigStores[0].Secrets = nil
				return f
			},
			live: difftest.SeededLive,
			want: []string{
				"0 delete plugin ai-proxy (route example-route)",
				"1 delete vault mysecretvault after 0",
				"2 delete secret my-config-store/mistral-key after 0,1",
			},
			warnings: []string{"this plan deletes 3 of the 4 entities kvsync manages here: are all the files given? (kvsync apply never deletes)",
				`the select tag is the bare default "kvsync", and 2 vaults or plugins carrying it are not declared in the files, so sync deletes them: if another team or file shares this control plane with the default tag, give each its own _info.select_tags`},
		},
		{
			name: "select tags on the command line and in the file must agree",
			desired: func() *state.File {
				return &state.File{SelectTags: []string{"a"}}
			},
			live:       difftest.EmptyLive,
			opts:       diff.Options{SelectTags: []string{"b"}},
			wantErrors: []string{`select tags ["b"] given on the command line differ from the file's _info.select_tags ["a"]`},
		},
		{
			name: "plugin identity: the same plugin on another route is a create, the old one a delete",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Plugins[0].Route = ""
				f.Plugins[0].Service = "example-service"
				return f
			},
			live: difftest.SeededLive,
			want: []string{
				"0 create plugin ai-proxy (service example-service)",
				"1 delete plugin ai-proxy (route example-route)",
			},
		},
		{
			name: "a plugin re-scoped under a new instance_name: the delete frees its key before the create",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Plugins[0].InstanceName = "mistral-proxy"
				return f
			},
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Plugins[0].InstanceName = difftest.Ptr("old-proxy")
				return l
			},
			want: []string{
				"0 delete plugin ai-proxy (instance old-proxy, route example-route)",
				"1 create plugin ai-proxy (instance mistral-proxy, route example-route) after 0",
			},
		},
		{
			name: "an instance_name held by another kind of plugin is not a match",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Plugins[0].InstanceName = "shared-name"
				return f
			},
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Plugins[0].Name = "rate-limiting"
				l.Plugins[0].Config = difftest.Obj{}
				l.Plugins[0].InstanceName = difftest.Ptr("shared-name")
				return l
			},
			want: []string{
				"0 delete plugin rate-limiting (instance shared-name, route example-route)",
				"1 create plugin ai-proxy (instance shared-name, route example-route) after 0",
			},
			warnings: []string{`the select tag is the bare default "kvsync", and 1 vault or plugin carrying it is not declared in the files, so sync deletes them: if another team or file shares this control plane with the default tag, give each its own _info.select_tags`},
		},
		{
			name: "a plugin matched by instance_name moves to another route as an update",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Plugins[0].InstanceName = "mistral-proxy"
				f.Plugins[0].Route = ""
				f.Plugins[0].Service = "example-service"
				return f
			},
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Plugins[0].InstanceName = difftest.Ptr("mistral-proxy")
				return l
			},
			want: []string{"0 update plugin ai-proxy (instance mistral-proxy, service example-service)"},
			fields: map[int][]string{0: {
				`route: "example-route (route-1)" -> null`,
				`service: null -> "example-service (service-1)"`,
			}},
		},
		{
			name: "a vault whose store is a live, undeclared store: the store and its secrets are left alone",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.ConfigStores = nil
				return f
			},
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Secrets["store-1"] = append(l.Secrets["store-1"], konnect.ConfigStoreSecret{Key: "unrelated"})
				return l
			},
			unmanaged: map[diff.Kind]int{diff.KindConfigStore: 1},
		},
		{
			name: "a store still used by a vault kvsync does not manage is not deleted",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.ConfigStores, f.Vaults, f.Plugins = nil, nil, nil
				return f
			},
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.Plugins = nil
				l.Vaults = append(l.Vaults, konnect.Vault{ID: "vault-2", Name: "konnect", Prefix: "decks",
					Config: difftest.Obj{"config_store_id": "store-1"}, Tags: []string{"deck"}})
				return l
			},
			want:      []string{"0 delete vault mysecretvault"},
			unmanaged: map[diff.Kind]int{diff.KindConfigStore: 1, diff.KindVault: 1},
			warnings:  []string{"config store my-config-store is also used by vault decks, which kvsync does not manage: left alone", `the select tag is the bare default "kvsync", and 1 vault or plugin carrying it is not declared in the files, so sync deletes them: if another team or file shares this control plane with the default tag, give each its own _info.select_tags`},
		},
		{
			name: "a vault changing type keeps its identity (prefix) and is an update",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Vaults[0].Name = "env"
				f.Vaults[0].ConfigStore = ""
				f.Vaults[0].Config = difftest.Obj{"prefix": "MISTRAL_"}
				f.ConfigStores = nil
				return f
			},
			live: difftest.SeededLive,
			want: []string{
				"0 update vault mysecretvault",
				"1 delete config_store my-config-store (its 1 secret first, sparing any added since) after 0",
			},
			fields: map[int][]string{0: {
				`config.base64_decode: (absent) -> false`,
				`config.config_store_id: "store-1" -> (absent)`,
				`config.prefix: (absent) -> "MISTRAL_"`,
				`name: "konnect" -> "env"`,
			}},
		},
		{
			name: "a vault may give config_store_id, even from the environment",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Vaults[0].ConfigStore = ""
				f.Vaults[0].Config = difftest.Obj{"config_store_id": state.NewSensitive("store-2", "STORE_ID")}
				return f
			},
			live: func() *diff.Live {
				l := difftest.SeededLive()
				l.ConfigStores = append(l.ConfigStores, konnect.ConfigStore{ID: "store-2", Name: "other-store"})
				return l
			},
			want:   []string{"0 update vault mysecretvault"},
			fields: map[int][]string{0: {`config.config_store_id: (sensitive) -> (from env STORE_ID, changed)`}},
			// other-store is now the vault's; my-config-store stays declared.
			unmanaged: map[diff.Kind]int{diff.KindConfigStore: 1},
		},
		{
			name: "unresolved references and ambiguous stores are all reported at once",
			desired: func() *state.File {
				f := difftest.SeedFile()
				f.Plugins[0].Route = "no-such-route"
				f.Plugins = append(f.Plugins, state.Plugin{Name: "rate-limiting", Consumer: "bob", ConsumerGroup: "silver"})
				f.Plugins = append(f.Plugins, state.Plugin{Name: "no-such-plugin"})
				f.Vaults = append(f.Vaults, state.Vault{Name: "konnect", Prefix: "other", ConfigStore: "nowhere"})
				return f
			},
			live: func() *diff.Live {
				l := difftest.EmptyLive()
				l.ConfigStores = []konnect.ConfigStore{{ID: "s-2", Name: "my-config-store"}, {ID: "s-1", Name: "my-config-store"}}
				// Both hold secrets: neither is a provable duplicate.
				l.Secrets["s-1"] = []konnect.ConfigStoreSecret{{Key: "a"}}
				l.Secrets["s-2"] = []konnect.ConfigStoreSecret{{Key: "b"}}
				return l
			},
			wantErrors: []string{
				`plugin "ai-proxy (route no-such-route)": route "no-such-route" not found in control plane my-control-plane`,
				`plugin "rate-limiting (consumer bob, consumer group silver)": consumer "bob" not found`,
				`plugin "rate-limiting (consumer bob, consumer group silver)": consumer_group "silver" not found`,
				`plugin "no-such-plugin": no schema for plugin "no-such-plugin"`,
				`vault "other": config_store "nowhere" is neither declared in the file nor a live config store`,
				`config store "my-config-store": 2 live config stores have this name (ids s-1, s-2)`,
			},
		},
		{
			name: "plugins scoped by consumer and consumer group resolve by name",
			desired: func() *state.File {
				return &state.File{Plugins: []state.Plugin{{Name: "rate-limiting", Consumer: "alice", ConsumerGroup: "gold",
					Config: difftest.Obj{"minute": 5}}}}
			},
			live: difftest.EmptyLive,
			want: []string{"0 create plugin rate-limiting (consumer alice, consumer group gold)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := diff.Compute(tt.desired(), tt.live(), tt.opts)
			if len(tt.wantErrors) > 0 {
				if err == nil {
					t.Fatalf("Compute succeeded, want errors %q", tt.wantErrors)
				}
				for _, want := range tt.wantErrors {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q; got:\n%v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if diff := cmp.Diff(tt.want, difftest.Outline(plan)); diff != "" {
				t.Errorf("plan difftest.Outline (-want +got):\n%s", diff)
			}
			for id, want := range tt.fields {
				if id >= len(plan.Changes) {
					t.Errorf("no change %d", id)
					continue
				}
				if diff := cmp.Diff(want, difftest.FieldLines(plan.Changes[id])); diff != "" {
					t.Errorf("fields of change %d (-want +got):\n%s", id, diff)
				}
			}
			wantUnmanaged := map[diff.Kind]int{diff.KindConfigStore: 0, diff.KindVault: 0, diff.KindPlugin: 0}
			for k, n := range tt.unmanaged {
				wantUnmanaged[k] = n
			}
			if diff := cmp.Diff(wantUnmanaged, plan.Unmanaged); diff != "" {
				t.Errorf("unmanaged (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.warnings, plan.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			checkGraph(t, plan)
		})
	}
}

// checkGraph asserts the plan's invariants: IDs are indexes, every
// dependency comes earlier, and Dependents is DependsOn reversed.
func checkGraph(t *testing.T, p *diff.Plan) {
	t.Helper()
	for i, c := range p.Changes {
		if c.ID != i {
			t.Errorf("change %d has ID %d", i, c.ID)
		}
		for _, d := range c.DependsOn {
			if d >= c.ID {
				t.Errorf("change %d depends on later change %d", c.ID, d)
			}
			found := false
			for _, r := range p.Dependents(d) {
				found = found || r == c.ID
			}
			if !found {
				t.Errorf("Dependents(%d) lacks %d", d, c.ID)
			}
		}
		var opKind diff.Kind
		switch c.Op.(type) {
		case *diff.ConfigStoreOp:
			opKind = diff.KindConfigStore
		case *diff.SecretOp:
			opKind = diff.KindSecret
		case *diff.VaultOp:
			opKind = diff.KindVault
		case *diff.PluginOp:
			opKind = diff.KindPlugin
		}
		if opKind != c.Kind {
			t.Errorf("change %d of kind %s carries a %T", c.ID, c.Kind, c.Op)
		}
	}
}
