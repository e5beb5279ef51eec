package konnecttest

import (
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"testing"
)

// seedScenario creates the tutorial's service, route, config store and
// konnect vault; it returns the ids.
func seedScenario(t *testing.T, a *api) (cp, core, storeID, serviceID, routeID string) {
	t.Helper()
	cp = a.controlPlane("seed")
	core = "/v2/control-planes/" + cp + "/core-entities"
	storeID = a.store(cp, "my-config-store")
	svc := a.must(201, "POST", core+"/services", map[string]any{"name": "example-service", "url": "http://httpbin.konghq.com/anything"})
	serviceID = svc["id"].(string)
	rt := a.must(201, "POST", core+"/routes", map[string]any{"name": "example-route", "paths": []any{"/anything"}, "service": map[string]any{"id": serviceID}})
	routeID = rt["id"].(string)
	a.must(201, "POST", core+"/vaults/", map[string]any{"name": "konnect", "prefix": "mysecretvault",
		"description": "Storing secrets in Konnect", "config": map[string]any{"config_store_id": storeID}})
	return
}

func aiProxyPlugin(routeID string) map[string]any {
	return map[string]any{
		"name":    "ai-proxy",
		"enabled": true,
		"route":   map[string]any{"id": routeID},
		"config": map[string]any{
			"route_type": "llm/v1/chat",
			"auth":       map[string]any{"header_name": "Authorization", "header_value": "{vault://mysecretvault/mistral-key}"},
			"model": map[string]any{"provider": "mistral", "name": "mistral-tiny",
				"options": map[string]any{"mistral_format": "openai", "upstream_url": "https://api.mistral.ai/v1/chat/completions"}},
		},
	}
}

func TestSeedScenarioAndDefaults(t *testing.T) {
	a := newAPI(t, Options{})
	_, core, storeID, serviceID, routeID := seedScenario(t, a)

	svc := a.must(200, "GET", core+"/services/example-service", nil)
	want := map[string]any{"id": serviceID, "protocol": "http", "host": "httpbin.konghq.com", "port": float64(80),
		"path": "/anything", "retries": float64(5), "connect_timeout": float64(60000), "enabled": true}
	for k, v := range want {
		if svc[k] != v {
			t.Errorf("service %s = %v, want %v", k, svc[k], v)
		}
	}
	if _, ok := svc["url"]; ok {
		t.Error("service response carries the write-only url")
	}
	if _, ok := svc["created_at"].(float64); !ok {
		t.Errorf("created_at is %T, want an integer epoch", svc["created_at"])
	}
	rt := a.must(200, "GET", core+"/routes/example-route", nil)
	if rt["id"] != routeID || rt["strip_path"] != true || !reflect.DeepEqual(rt["protocols"], []any{"http", "https"}) {
		t.Errorf("route defaults: %v", rt)
	}
	vault := a.must(200, "GET", core+"/vaults/mysecretvault", nil)
	if vault["config"].(map[string]any)["config_store_id"] != storeID {
		t.Errorf("vault by prefix: config %v", vault["config"])
	}
	if a.must(200, "GET", core+"/vaults/"+vault["id"].(string), nil)["prefix"] != "mysecretvault" {
		t.Error("vault by id")
	}

	p := a.must(201, "POST", core+"/plugins", aiProxyPlugin(routeID))
	cfg := p["config"].(map[string]any)
	checks := map[string]any{
		"logging.log_statistics":          false,
		"logging.log_payloads":            false,
		"auth.allow_override":             false,
		"auth.header_name":                "Authorization",
		"auth.param_name":                 nil,
		"model.options.mistral_format":    "openai",
		"model.options.azure_api_version": "2023-05-15",
		"model.options.bedrock":           nil,
		"llm_format":                      "openai",
		"response_streaming":              "allow",
		"max_request_body_size":           float64(1048576),
		"model_name_header":               true,
	}
	for path, want := range checks {
		if got := dig(cfg, path); !reflect.DeepEqual(got, want) {
			t.Errorf("config.%s = %v, want %v", path, got, want)
		}
	}
	if !reflect.DeepEqual(p["protocols"], []any{"grpc", "grpcs", "http", "https", "ws", "wss"}) || p["enabled"] != true {
		t.Errorf("plugin-level defaults: protocols %v enabled %v", p["protocols"], p["enabled"])
	}
	got := a.must(200, "GET", core+"/plugins/"+p["id"].(string), nil)
	if !reflect.DeepEqual(got, p) {
		t.Error("GET plugin differs from the POST answer")
	}

	// The schema endpoint serves what the defaults came from.
	schema := a.must(200, "GET", core+"/schemas/plugins/ai-proxy", nil)
	if fields, ok := schema["fields"].([]any); !ok || len(fields) == 0 {
		t.Error("ai-proxy schema has no fields")
	}
	for _, name := range PluginSchemaNames() {
		a.must(200, "GET", core+"/schemas/plugins/"+name, nil)
	}
	if r := a.do("GET", core+"/schemas/plugins/nope", nil); r.status != 404 {
		t.Errorf("unknown schema: status %d", r.status)
	}
}

func dig(m map[string]any, path string) any {
	var cur any = m
	for _, k := range splitDots(path) {
		mm, ok := cur.(map[string]any)
		if !ok {
			return "<missing>"
		}
		if cur, ok = mm[k]; !ok {
			return "<missing>"
		}
	}
	return cur
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func TestCoreEntityErrors(t *testing.T) {
	a := newAPI(t, Options{})
	cp, core, storeID, serviceID, routeID := seedScenario(t, a)
	a.must(201, "POST", core+"/plugins", aiProxyPlugin(routeID))
	missing := "00000000-0000-4000-8000-000000000000"

	withConfig := func(mut func(cfg map[string]any)) map[string]any {
		p := aiProxyPlugin(routeID)
		p["route"] = nil
		mut(p["config"].(map[string]any))
		return p
	}
	cases := []struct {
		name    string
		path    string
		body    any
		message string
		fields  []string
	}{
		{"duplicate vault prefix", "/vaults", map[string]any{"name": "env", "prefix": "mysecretvault"}, "data constraint error", []string{"prefix"}},
		{"duplicate plugin", "/plugins", aiProxyPlugin(routeID), "data constraint error", []string{""}},
		{"duplicate route name", "/routes", map[string]any{"name": "example-route", "paths": []any{"/x"}}, "data constraint error", []string{"name"}},
		{"duplicate service name", "/services", map[string]any{"name": "example-service", "host": "h"}, "data constraint error", []string{"name"}},
		{"plugin on missing route", "/plugins", map[string]any{"name": "key-auth", "route": map[string]any{"id": missing}}, "data constraint error", []string{"route.id"}},
		{"route on missing service", "/routes", map[string]any{"paths": []any{"/y"}, "service": map[string]any{"id": missing}}, "data constraint error", []string{"service.id"}},
		{"konnect vault on missing store", "/vaults", map[string]any{"name": "konnect", "prefix": "other", "config": map[string]any{"config_store_id": missing}}, "data constraint error", []string{"config.config_store_id"}},
		{"konnect vault without store", "/vaults", map[string]any{"name": "konnect", "prefix": "other", "config": map[string]any{}}, "validation error", []string{"config.config_store_id"}},
		{"unknown vault type", "/vaults", map[string]any{"name": "vaultx", "prefix": "other"}, "validation error", []string{"name"}},
		{"vault unknown config field", "/vaults", map[string]any{"name": "env", "prefix": "other", "config": map[string]any{"nope": 1}}, "validation error", []string{"config.nope"}},
		{"unknown plugin", "/plugins", map[string]any{"name": "no-such-plugin"}, "validation error", []string{"name"}},
		{"unknown entity field", "/services", map[string]any{"name": "s2", "host": "h", "colour": "red"}, "validation error", []string{"colour"}},
		{"wrong type", "/services", map[string]any{"name": "s3", "host": "h", "port": "80"}, "validation error", []string{"port"}},
		{"bad id", "/services", map[string]any{"id": "not-a-uuid", "host": "h"}, "validation error", []string{"id"}},
		{"route without matcher", "/routes", map[string]any{"name": "r2"}, "validation error", []string{""}},
		{"plugin config unknown field", "/plugins", withConfig(func(c map[string]any) { c["colour"] = "red" }), "validation error", []string{"config.colour"}},
		{"plugin config wrong type", "/plugins", withConfig(func(c map[string]any) { c["max_request_body_size"] = "big" }), "validation error", []string{"config.max_request_body_size"}},
		{"plugin config one_of", "/plugins", withConfig(func(c map[string]any) { c["route_type"] = "llm/v9" }), "validation error", []string{"config.route_type"}},
		{"plugin config required", "/plugins", withConfig(func(c map[string]any) { delete(c, "model") }), "validation error", []string{"config.model.provider"}},
		{"plugin bad protocol", "/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 5}, "protocols": []any{"tcp"}}, "validation error", []string{"protocols[0]"}},
	}
	for _, c := range cases {
		r := a.do("POST", core+c.path, c.body)
		if r.status != 400 {
			t.Errorf("%s: status %d, want 400", c.name, r.status)
			continue
		}
		msg, fields := kokoFields(t, r)
		if msg != c.message || !reflect.DeepEqual(fields, c.fields) {
			t.Errorf("%s: %q %q, want %q %q", c.name, msg, fields, c.message, c.fields)
		}
	}

	t.Run("vault prefixes", func(t *testing.T) {
		for prefix, ok := range map[string]bool{
			"my-vault": true, "v2": true, "a": false, "My-vault": false, "1vault": false, "vault-": false,
			"my_vault": false, "env": false, "konnect": false, "aws": false,
		} {
			r := a.do("POST", core+"/vaults", map[string]any{"name": "env", "prefix": prefix})
			if (r.status == 201) != ok {
				t.Errorf("prefix %q: status %d, want accepted=%v", prefix, r.status, ok)
			}
		}
	})

	t.Run("get missing and delete absent", func(t *testing.T) {
		if r := a.do("GET", core+"/routes/"+missing, nil); r.status != 404 {
			t.Errorf("missing route: %d", r.status)
		}
		a.must(204, "DELETE", core+"/plugins/"+missing, nil)
		if r := a.do("DELETE", core+"/services/"+serviceID, nil); r.status != 400 {
			t.Errorf("deleting a service its route uses: %d, want 400", r.status)
		}
		if r := a.do("GET", "/v2/control-planes/"+missing+"/core-entities/vaults", nil); r.status != 404 {
			t.Errorf("unknown control plane: %d", r.status)
		}
	})

	t.Run("upsert", func(t *testing.T) {
		id := "11111111-2222-4333-8444-555555555555"
		created := a.must(200, "PUT", core+"/vaults/"+id, map[string]any{"name": "env", "prefix": "upserted", "config": map[string]any{"prefix": "APP_"}})
		if created["id"] != id || dig(created, "config.base64_decode") != false {
			t.Errorf("PUT create: %v", created)
		}
		updated := a.must(200, "PUT", core+"/vaults/"+id, map[string]any{"name": "env", "prefix": "upserted", "description": "d"})
		if updated["description"] != "d" || dig(updated, "config.prefix") != nil || updated["created_at"] != created["created_at"] {
			t.Errorf("PUT replace: %v", updated)
		}
		byName := a.must(200, "PUT", core+"/services/by-name", map[string]any{"host": "example.org"})
		if byName["name"] != "by-name" {
			t.Errorf("PUT by name: %v", byName["name"])
		}
		// A client-chosen id on POST is kept; posting it again conflicts.
		body := map[string]any{"id": "22222222-2222-4333-8444-555555555555", "name": "rate-limiting", "config": map[string]any{"minute": 5}}
		if got := a.must(201, "POST", core+"/plugins", body); got["id"] != body["id"] || dig(got, "config.policy") != "local" || dig(got, "config.redis.port") != float64(6379) {
			t.Errorf("POST with id: %v", got)
		}
		if r := a.do("POST", core+"/plugins", body); r.status != 400 {
			t.Errorf("POST same id again: %d", r.status)
		}
	})

	t.Run("deleting a route deletes its plugins", func(t *testing.T) {
		before := len(dataOf(t, a.must(200, "GET", core+"/plugins", nil)))
		a.must(204, "DELETE", core+"/routes/"+routeID, nil)
		after := len(dataOf(t, a.must(200, "GET", core+"/plugins", nil)))
		if after != before-1 {
			t.Errorf("plugins %d -> %d", before, after)
		}
	})
	_ = cp
	_ = storeID
}

func TestCoreEntityPagination(t *testing.T) {
	a := newAPI(t, Options{})
	cp := a.controlPlane("cp")
	core := "/v2/control-planes/" + cp + "/core-entities"
	for i := 0; i < 7; i++ {
		tags := []any{"all"}
		if i%2 == 0 {
			tags = append(tags, "even")
		}
		if i%3 == 0 {
			tags = append(tags, "three")
		}
		a.must(201, "POST", core+"/services", map[string]any{"name": fmt.Sprintf("svc-%d", i), "host": "h", "tags": tags})
	}
	list := func(query string) []string {
		var names []string
		q := query
		for pages := 0; pages < 20; pages++ {
			m := a.must(200, "GET", core+"/services?"+q, nil)
			for _, s := range dataOf(t, m) {
				names = append(names, s["name"].(string))
			}
			off, ok := m["offset"].(string)
			if !ok {
				if _, hasNext := m["next"]; hasNext {
					t.Error("next present without offset")
				}
				sort.Strings(names)
				return names
			}
			if next, _ := m["next"].(string); next == "" {
				t.Error("offset without next")
			}
			v, _ := url.ParseQuery(query)
			v.Set("offset", off)
			q = v.Encode()
		}
		t.Fatal("pagination does not end")
		return nil
	}
	if got := list("size=2"); len(got) != 7 {
		t.Errorf("size=2: %d services, want 7", len(got))
	}
	if got := list("size=3&tags=even,three"); !reflect.DeepEqual(got, []string{"svc-0", "svc-6"}) {
		t.Errorf("tags AND: %v", got)
	}
	if got := list("size=1&tags=even/three"); !reflect.DeepEqual(got, []string{"svc-0", "svc-2", "svc-3", "svc-4", "svc-6"}) {
		t.Errorf("tags OR: %v", got)
	}
	if got := list("filter[name][eq]=svc-3"); !reflect.DeepEqual(got, []string{"svc-3"}) {
		t.Errorf("filter[name][eq]: %v", got)
	}
	for _, q := range []string{"size=0", "size=1001", "size=x", "offset=%21%21", "tags=a,b/c"} {
		if r := a.do("GET", core+"/services?"+q, nil); r.status != 400 {
			t.Errorf("%s: status %d, want 400", q, r.status)
		}
	}
	if m := a.must(200, "GET", core+"/services?size=1000", nil); len(dataOf(t, m)) != 7 {
		t.Error("size=1000")
	}
	if m := a.must(200, "GET", core+"/consumers", nil); len(dataOf(t, m)) != 0 {
		t.Error("empty list is not []")
	}
}
