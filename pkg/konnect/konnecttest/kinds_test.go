package konnecttest

import (
	"net/http"
	"reflect"
	"testing"
)

// TestNestedRoutesCascadesAndRestrictions drives the generic store through
// parents and children of several kinds: nested create and list, scoping,
// upsert by endpoint key, Kong's cascade and restrict on delete.
func TestNestedRoutesCascadesAndRestrictions(t *testing.T) {
	a := newAPI(t, Options{})
	core := "/v2/control-planes/" + a.controlPlane("nested") + "/core-entities"
	up := a.must(201, "POST", core+"/upstreams", map[string]any{"name": "up"})
	a.must(201, "POST", core+"/upstreams/up/targets", map[string]any{"target": "10.0.0.1"})
	alice := a.must(201, "POST", core+"/consumers", map[string]any{"username": "alice"})
	a.must(201, "POST", core+"/consumers/alice/key-auth", map[string]any{"key": "k-1"})
	a.must(201, "POST", core+"/consumers/alice/acls", map[string]any{"group": "admins"})
	a.must(201, "POST", core+"/consumer_groups", map[string]any{"name": "gold"})
	a.must(201, "POST", core+"/consumer_groups/gold/consumers", map[string]any{"consumer": "alice"})
	svc := a.must(201, "POST", core+"/services", map[string]any{"name": "s", "host": "example.com"})
	a.must(201, "POST", core+"/services/s/routes", map[string]any{"name": "r", "paths": []any{"/r"}})

	cases := []struct {
		name, path string
		wantLen    int
		check      func(t *testing.T, first map[string]any)
	}{
		{"target filled and scoped", core + "/upstreams/" + up["id"].(string) + "/targets", 1, func(t *testing.T, tg map[string]any) {
			if tg["target"] != "10.0.0.1:8000" || tg["weight"] != float64(100) || foreignID(tg["upstream"]) != up["id"] {
				t.Errorf("target = %v", tg)
			}
		}},
		{"all targets", core + "/targets", 1, nil},
		{"key-auth under alice", core + "/consumers/alice/key-auth", 1, func(t *testing.T, k map[string]any) {
			if foreignID(k["consumer"]) != alice["id"] {
				t.Errorf("key-auth consumer = %v", k["consumer"])
			}
		}},
		{"key-auths", core + "/key-auths", 1, nil},
		{"acls", core + "/acls", 1, nil},
		{"gold's consumers", core + "/consumer_groups/gold/consumers", 1, nil},
		{"alice's groups", core + "/consumers/alice/consumer_groups", 1, nil},
		{"routes of s", core + "/services/s/routes", 1, func(t *testing.T, r map[string]any) {
			if foreignID(r["service"]) != svc["id"] {
				t.Errorf("route service = %v", r["service"])
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := dataOf(t, a.must(200, "GET", c.path, nil))
			if len(data) != c.wantLen {
				t.Fatalf("%d entities, want %d", len(data), c.wantLen)
			}
			if c.check != nil {
				c.check(t, data[0])
			}
		})
	}

	// Top-level credentials are read-only; writes go through the consumer.
	if r := a.do("POST", core+"/key-auths", map[string]any{"key": "x"}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /key-auths: %d, want 405", r.status)
	}
	// A service with routes cannot go; deleting the consumer takes its
	// credentials and memberships along.
	if r := a.do("DELETE", core+"/services/s", nil); r.status != http.StatusBadRequest {
		t.Errorf("DELETE a referenced service: %d, want 400", r.status)
	}
	a.must(204, "DELETE", core+"/consumers/alice", nil)
	for _, p := range []string{"/key-auths", "/acls", "/consumer_groups/gold/consumers"} {
		if n := len(dataOf(t, a.must(200, "GET", core+p, nil))); n != 0 {
			t.Errorf("%s after deleting the consumer: %d left", p, n)
		}
	}
	a.must(204, "DELETE", core+"/upstreams/up", nil)
	if n := len(dataOf(t, a.must(200, "GET", core+"/targets", nil))); n != 0 {
		t.Errorf("targets after deleting the upstream: %d left", n)
	}
}

// TestUpsertAndPatch: PUT by endpoint key creates then replaces in place;
// PATCH merges.
func TestUpsertAndPatch(t *testing.T) {
	a := newAPI(t, Options{})
	core := "/v2/control-planes/" + a.controlPlane("upsert") + "/core-entities"
	created := a.must(200, "PUT", core+"/key-sets/ks", map[string]any{"tags": []any{"a"}})
	replaced := a.must(200, "PUT", core+"/key-sets/ks", map[string]any{})
	if created["id"] != replaced["id"] || replaced["name"] != "ks" || replaced["tags"] != nil {
		t.Errorf("replace: %v then %v", created, replaced)
	}
	a.must(200, "PUT", core+"/upstreams/u", map[string]any{"slots": 100})
	patched := a.must(200, "PATCH", core+"/upstreams/u", map[string]any{"algorithm": "least-connections"})
	if patched["slots"] != float64(100) || patched["algorithm"] != "least-connections" {
		t.Errorf("patch lost or ignored a field: %v", patched)
	}
}

func TestPatchControlPlane(t *testing.T) {
	a := newAPI(t, Options{})
	id := a.controlPlane("before")
	a.controlPlane("taken")
	cases := []struct {
		name   string
		body   map[string]any
		status int
		fields []string
	}{
		{"rename and describe", map[string]any{"name": "after", "description": "d", "labels": map[string]any{"env": "dev"}}, 200, nil},
		{"drop a label", map[string]any{"labels": map[string]any{"env": nil}}, 200, nil},
		{"unknown field", map[string]any{"cluster_type": "CLUSTER_TYPE_CONTROL_PLANE"}, 400, []string{"cluster_type"}},
		{"short name", map[string]any{"name": "x"}, 400, []string{"name"}},
		{"name taken", map[string]any{"name": "taken"}, 409, nil},
	}
	for _, c := range cases {
		r := a.do("PATCH", "/v2/control-planes/"+id, c.body)
		if r.status != c.status {
			t.Fatalf("%s: status %d, want %d", c.name, r.status, c.status)
		}
		if c.status != 200 {
			if got := problemFields(t, r); !reflect.DeepEqual(got, c.fields) {
				t.Errorf("%s: fields %v, want %v", c.name, got, c.fields)
			}
		}
	}
	got := a.must(200, "GET", "/v2/control-planes/"+id, nil)
	if got["name"] != "after" || got["description"] != "d" || len(got["labels"].(map[string]any)) != 0 {
		t.Errorf("after the patches: %v", got)
	}
	if r := a.do("PATCH", "/v2/control-planes/00000000-0000-4000-8000-000000000000", map[string]any{"name": "zz"}); r.status != 404 {
		t.Errorf("PATCH of a missing control plane: %d", r.status)
	} else {
		problemFields(t, r)
	}
}

func TestRuntimeGroupsAndPreload(t *testing.T) {
	a := newAPI(t, Options{Preload: "tutorial"})
	for i := range 3 {
		a.controlPlane("extra-" + string(rune('a'+i)))
	}
	cases := []struct {
		query           string
		names           []string
		page, pageCount float64
	}{
		{"", []string{"my-control-plane", "extra-a", "extra-b", "extra-c"}, 1, 1},
		{"?size=3&page=2", []string{"extra-c"}, 2, 2},
		{"?filter[name]=my-control-plane", []string{"my-control-plane"}, 1, 1},
	}
	for _, c := range cases {
		got := a.must(200, "GET", "/konnect-api/api/runtime_groups"+c.query, nil)
		var names []string
		for _, d := range dataOf(t, got) {
			names = append(names, d["name"].(string))
		}
		if !reflect.DeepEqual(names, c.names) || got["page"] != c.page || got["pageCount"] != c.pageCount {
			t.Errorf("%q: %v page %v of %v", c.query, names, got["page"], got["pageCount"])
		}
	}
	core := "/v2/control-planes/" + a.srv.ControlPlaneID(TutorialControlPlane) + "/core-entities"
	svc := a.must(200, "GET", core+"/services/example-service", nil)
	rt := a.must(200, "GET", core+"/routes/example-route", nil)
	if svc["host"] != "httpbin.konghq.com" || svc["path"] != "/anything" || foreignID(rt["service"]) != svc["id"] {
		t.Errorf("preloaded service %v, route %v", svc, rt)
	}
	// Preloading again (say over a data file) changes nothing.
	if err := preloads["tutorial"](a.srv.Emulator); err != nil {
		t.Fatal(err)
	}
	if n := len(dataOf(t, a.must(200, "GET", core+"/services", nil))); n != 1 {
		t.Errorf("%d services after a second preload", n)
	}
	if _, err := New(Options{Preload: "nope"}); err == nil {
		t.Error("an unknown preload was accepted")
	}
}

func TestEntityJSONSchemas(t *testing.T) {
	a := newAPI(t, Options{})
	core := "/v2/control-planes/" + a.controlPlane("schemas") + "/core-entities"
	cases := []struct{ name, field string }{
		{"service", "retries"}, {"route", "strip_path"}, {"upstream", "slots"}, {"target", "weight"}, {"vault", "prefix"},
	}
	for _, c := range cases {
		s := a.must(200, "GET", core+"/v1/schemas/json/"+c.name, nil)
		props, _ := s["properties"].(map[string]any)
		if _, ok := props[c.field].(map[string]any)["default"]; !ok && c.name != "vault" {
			t.Errorf("%s: %s has no default", c.name, c.field)
		}
	}
	v := a.must(200, "GET", core+"/v1/schemas/json/vault", nil)
	if all, _ := v["allOf"].([]any); len(all) == 0 {
		t.Error("vault schema without per-type configs")
	}
	a.must(404, "GET", core+"/v1/schemas/json/nope", nil)
	info := a.must(200, "GET", core+"/", nil)
	if info["version"] != KongVersion {
		t.Errorf("root info: %v", info)
	}
}
