package diff

import (
	"fmt"
	"strings"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state"
)

// The fixtures model the seed tutorial: a config store holding a Mistral
// key, a konnect vault over it, and an ai-proxy plugin on example-route
// that reads the key through the vault.

func ptr[T any](v T) *T { return &v }

type obj = map[string]any

func testField(name string, def obj) obj { return obj{name: def} }

// aiProxySchema is a small Kong-style schema shaped like ai-proxy's.
func aiProxySchema() *kong.PluginSchema {
	return kong.NewPluginSchema([]map[string]any{
		testField("protocols", obj{"type": "set", "default": []any{"grpc", "grpcs", "http", "https"},
			"elements": obj{"type": "string"}}),
		testField("config", obj{"type": "record", "required": true, "fields": []any{
			testField("route_type", obj{"type": "string", "required": true}),
			testField("max_request_body_size", obj{"type": "integer", "default": 8192}),
			testField("auth", obj{"type": "record", "fields": []any{
				testField("header_name", obj{"type": "string"}),
				testField("header_value", obj{"type": "string", "encrypted": true, "referenceable": true}),
				testField("allow_override", obj{"type": "boolean", "default": false}),
			}}),
			testField("model", obj{"type": "record", "required": true, "fields": []any{
				testField("provider", obj{"type": "string", "required": true}),
				testField("name", obj{"type": "string"}),
				testField("options", obj{"type": "record", "fields": []any{
					testField("mistral_format", obj{"type": "string"}),
					testField("upstream_url", obj{"type": "string"}),
					testField("temperature", obj{"type": "number"}),
				}}),
			}}),
		}}),
	})
}

// rateLimitingSchema is a small Kong-style schema shaped like
// rate-limiting's, with an encrypted redis password.
func rateLimitingSchema() *kong.PluginSchema {
	return kong.NewPluginSchema([]map[string]any{
		testField("protocols", obj{"type": "set", "default": []any{"grpc", "grpcs", "http", "https"},
			"elements": obj{"type": "string"}}),
		testField("config", obj{"type": "record", "required": true, "fields": []any{
			testField("minute", obj{"type": "number"}),
			testField("hour", obj{"type": "number"}),
			testField("policy", obj{"type": "string", "default": "local"}),
			testField("redis", obj{"type": "record", "required": true, "fields": []any{
				testField("host", obj{"type": "string"}),
				testField("password", obj{"type": "string", "encrypted": true, "referenceable": true}),
			}}),
		}}),
	})
}

func aiProxyConfig() obj {
	return obj{
		"route_type": "llm/v1/chat",
		"auth": obj{
			"header_name":  "Authorization",
			"header_value": "{vault://mysecretvault/mistral-key}",
		},
		"model": obj{
			"provider": "mistral",
			"name":     "mistral-tiny",
			"options": obj{
				"mistral_format": "openai",
				"upstream_url":   "https://api.mistral.ai/v1/chat/completions",
			},
		},
	}
}

// seedFile is the tutorial's desired state.
func seedFile() *state.File {
	return &state.File{
		FormatVersion:    "3.0",
		ControlPlaneName: "my-control-plane",
		ConfigStores: []state.ConfigStore{{Name: "my-config-store", Secrets: []state.Secret{
			{Key: "mistral-key", Value: state.NewSensitive("Bearer sk-fake-0000", "MISTRAL_API_KEY")},
		}}},
		Vaults: []state.Vault{{Name: "konnect", Prefix: "mysecretvault",
			Description: ptr("Storing secrets in Konnect"), Config: obj{}, ConfigStore: "my-config-store"}},
		Plugins: []state.Plugin{{Name: "ai-proxy", Route: "example-route", Config: aiProxyConfig()}},
	}
}

// emptyLive is a control plane holding only the tutorial's service and
// route.
func emptyLive() *Live {
	return &Live{
		ControlPlane:   konnect.ControlPlane{ID: "cp-1", Name: "my-control-plane"},
		Secrets:        map[string][]konnect.ConfigStoreSecret{},
		Routes:         map[string]konnect.Route{"example-route": {ID: "route-1", Name: "example-route"}},
		Services:       map[string]konnect.Service{"example-service": {ID: "service-1", Name: "example-service"}},
		Consumers:      map[string]konnect.Consumer{"alice": {ID: "consumer-1", Username: "alice"}},
		ConsumerGroups: map[string]konnect.ConsumerGroup{"gold": {ID: "group-1", Name: "gold"}},
		Schemas:        map[string]*kong.PluginSchema{"ai-proxy": aiProxySchema(), "rate-limiting": rateLimitingSchema()},
	}
}

// seededLive is the control plane after `kvsync sync` of seedFile, written
// out by hand the way Konnect stores it: every schema default filled in,
// null for fields without one, ids and timestamps everywhere.
func seededLive() *Live {
	l := emptyLive()
	l.ConfigStores = []konnect.ConfigStore{{ID: "store-1", Name: "my-config-store", CreatedAt: "2025-01-01T00:00:00Z"}}
	l.Secrets["store-1"] = []konnect.ConfigStoreSecret{{Key: "mistral-key", CreatedAt: "2025-01-01T00:00:00Z"}}
	l.Vaults = []konnect.Vault{{ID: "vault-1", Name: "konnect", Prefix: "mysecretvault",
		Description: ptr("Storing secrets in Konnect"),
		Config:      obj{"config_store_id": "store-1", "ttl": nil, "neg_ttl": nil, "resurrect_ttl": nil},
		Tags:        []string{"kvsync"}, CreatedAt: 1700000000, UpdatedAt: 1700000001}}
	l.Plugins = []konnect.Plugin{{ID: "plugin-1", Name: "ai-proxy", Enabled: ptr(true),
		Protocols: []string{"grpc", "grpcs", "http", "https"}, Tags: []string{"kvsync"},
		Route: &konnect.ForeignKey{ID: "route-1"}, CreatedAt: 1700000000, UpdatedAt: 1700000001,
		Config: obj{
			"route_type":            "llm/v1/chat",
			"max_request_body_size": 8192.0,
			"auth": obj{
				"header_name":    "Authorization",
				"header_value":   "{vault://mysecretvault/mistral-key}",
				"allow_override": false,
			},
			"model": obj{
				"provider": "mistral",
				"name":     "mistral-tiny",
				"options": obj{
					"mistral_format": "openai",
					"upstream_url":   "https://api.mistral.ai/v1/chat/completions",
					"temperature":    nil,
				},
			},
		}}}
	return l
}

// outline summarises a plan one change a line: "ID action headline" and
// " after DEPS" when it has dependencies.
func outline(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		line := fmt.Sprintf("%d %s %s", c.ID, c.Action, headline(c))
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

func fieldLines(c *Change) []string {
	var out []string
	for _, f := range c.Fields {
		out = append(out, fieldLine(c, f))
	}
	return out
}
