package konnecttest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestControlPlanes(t *testing.T) {
	a := newAPI(t, Options{})
	created := a.must(201, "POST", "/v2/control-planes", map[string]any{"name": "prod", "labels": map[string]any{"env": "prod"}})
	for _, k := range []string{"id", "name", "description", "labels", "config", "created_at", "updated_at"} {
		if _, ok := created[k]; !ok {
			t.Errorf("created control plane lacks %q", k)
		}
	}
	if _, err := time.Parse(time.RFC3339, created["created_at"].(string)); err != nil {
		t.Errorf("created_at is not ISO-8601: %v", err)
	}
	id := created["id"].(string)
	if got := a.srv.ControlPlaneID("prod"); got != id {
		t.Errorf("ControlPlaneID = %q, want %q", got, id)
	}
	if got := a.must(200, "GET", "/v2/control-planes/"+id, nil)["name"]; got != "prod" {
		t.Errorf("GET name = %v", got)
	}

	t.Run("errors", func(t *testing.T) {
		cases := []struct {
			name   string
			body   any
			status int
			field  string
		}{
			{"duplicate name", map[string]any{"name": "prod"}, 409, ""},
			{"short name", map[string]any{"name": "p"}, 400, "name"},
			{"missing name", map[string]any{}, 400, "name"},
			{"unknown property", map[string]any{"name": "x1", "id": "abc"}, 400, "id"},
			{"not json", "{", 400, "body"},
		}
		for _, c := range cases {
			r := a.do("POST", "/v2/control-planes", c.body)
			if r.status != c.status {
				t.Errorf("%s: status %d, want %d", c.name, r.status, c.status)
				continue
			}
			fields := problemFields(t, r)
			if c.field != "" && !reflect.DeepEqual(fields, []string{c.field}) {
				t.Errorf("%s: invalid_parameters fields %v, want [%s]", c.name, fields, c.field)
			}
		}
		if r := a.do("GET", "/v2/control-planes/00000000-0000-4000-8000-000000000000", nil); r.status != 404 {
			t.Errorf("unknown control plane: status %d", r.status)
		} else {
			problemFields(t, r)
		}
	})

	t.Run("page numbers", func(t *testing.T) {
		for i := 0; i < 24; i++ {
			a.controlPlane(fmt.Sprintf("cp-%02d", i))
		}
		seen := map[string]bool{}
		for page := 1; page <= 3; page++ {
			m := a.must(200, "GET", fmt.Sprintf("/v2/control-planes?page[size]=10&page[number]=%d", page), nil)
			meta := m["meta"].(map[string]any)["page"].(map[string]any)
			if meta["total"] != float64(25) || meta["number"] != float64(page) || meta["size"] != float64(10) {
				t.Errorf("page %d meta = %v", page, meta)
			}
			for _, cp := range dataOf(t, m) {
				seen[cp["id"].(string)] = true
			}
		}
		if len(seen) != 25 {
			t.Errorf("saw %d distinct control planes over 3 pages, want 25", len(seen))
		}
		if n := len(dataOf(t, a.must(200, "GET", "/v2/control-planes?page[size]=10&page[number]=4", nil))); n != 0 {
			t.Errorf("page past the end has %d items", n)
		}
		if r := a.do("GET", "/v2/control-planes?page[size]=101", nil); r.status != 400 {
			t.Errorf("page[size]=101: status %d, want 400", r.status)
		}
	})

	t.Run("filters", func(t *testing.T) {
		eq := dataOf(t, a.must(200, "GET", "/v2/control-planes?filter[name][eq]=prod", nil))
		if len(eq) != 1 || eq[0]["id"] != id {
			t.Errorf("filter[name][eq]=prod: %d results", len(eq))
		}
		m := a.must(200, "GET", "/v2/control-planes?page[size]=100&filter[name][contains]=cp-1", nil)
		if n := len(dataOf(t, m)); n != 10 {
			t.Errorf("filter[name][contains]=cp-1: %d results, want 10", n)
		}
	})

	t.Run("delete", func(t *testing.T) {
		a.must(204, "DELETE", "/v2/control-planes/"+id, nil)
		if r := a.do("DELETE", "/v2/control-planes/"+id, nil); r.status != 404 {
			t.Errorf("second delete: status %d, want 404", r.status)
		}
	})
}

func TestConfigStores(t *testing.T) {
	a := newAPI(t, Options{})
	cp := a.controlPlane("cp")
	base := "/v2/control-planes/" + cp + "/config-stores"

	s1 := a.must(201, "POST", base, map[string]any{"name": "shared"})
	s2 := a.must(201, "POST", base, map[string]any{"name": "shared"})
	if s1["id"] == s2["id"] {
		t.Fatal("two stores got one id")
	}
	id := s1["id"].(string)
	if got := a.must(200, "GET", base+"/"+id, nil); got["name"] != "shared" || got["created_at"] == nil {
		t.Errorf("GET store = %v", got)
	}
	if got := a.must(200, "PUT", base+"/"+id, map[string]any{"name": "renamed"}); got["name"] != "renamed" {
		t.Errorf("PUT name = %v", got["name"])
	}

	t.Run("errors", func(t *testing.T) {
		cases := []struct {
			name, method, path string
			body               any
			status             int
			field              string
		}{
			{"empty name", "POST", base, map[string]any{"name": ""}, 400, "name"},
			{"long name", "POST", base, map[string]any{"name": strings.Repeat("n", 101)}, 400, "name"},
			{"unknown field", "POST", base, map[string]any{"name": "x", "extra": 1}, 400, "extra"},
			{"missing name", "POST", base, map[string]any{}, 400, "name"},
			{"unknown store", "GET", base + "/00000000-0000-4000-8000-000000000000", nil, 404, ""},
			{"unknown store put", "PUT", base + "/00000000-0000-4000-8000-000000000000", map[string]any{"name": "x"}, 404, ""},
			{"unknown control plane", "GET", "/v2/control-planes/00000000-0000-4000-8000-000000000000/config-stores", nil, 404, ""},
			{"bad cursor", "GET", base + "?page[after]=!!", nil, 400, "page[after]"},
		}
		for _, c := range cases {
			r := a.do(c.method, c.path, c.body)
			if r.status != c.status {
				t.Errorf("%s: status %d, want %d", c.name, r.status, c.status)
				continue
			}
			fields := problemFields(t, r)
			if c.field != "" && !reflect.DeepEqual(fields, []string{c.field}) {
				t.Errorf("%s: fields %v, want [%s]", c.name, fields, c.field)
			}
		}
	})

	t.Run("415 without a JSON content type", func(t *testing.T) {
		for _, method := range []string{"POST", "PUT"} {
			path := base
			if method == "PUT" {
				path = base + "/" + id
			}
			req, _ := http.NewRequest(method, a.srv.URL+path, strings.NewReader(`{"name":"x"}`))
			req.Header.Set("Authorization", "Bearer "+a.token)
			req.Header.Set("Content-Type", "text/plain")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 415 || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %d %s, want 415 problem+json", method, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
	})

	t.Run("cursor pagination", func(t *testing.T) {
		for i := 0; i < 21; i++ {
			a.store(cp, fmt.Sprintf("s%02d", i))
		}
		var names []string
		next := base + "?page[size]=5"
		pages := 0
		for next != "" {
			m := a.must(200, "GET", next, nil)
			pages++
			page := m["meta"].(map[string]any)["page"].(map[string]any)
			if page["size"] != float64(5) || page["previous"] != nil {
				t.Errorf("page meta = %v", page)
			}
			for _, s := range dataOf(t, m) {
				names = append(names, s["name"].(string))
			}
			next = ""
			if n, ok := page["next"].(string); ok {
				if !strings.HasPrefix(n, "/config-stores?page[after]=") {
					t.Fatalf("next = %q, want a relative /config-stores?page[after]= link", n)
				}
				u, _ := url.Parse(n)
				next = base + "?page[size]=5&page[after]=" + u.Query().Get("page[after]")
			}
		}
		if pages != 5 || len(names) != 23 || names[0] != "renamed" || names[22] != "s20" {
			t.Errorf("got %d pages, %d stores (first %q, last %q); want 5 pages, 23 stores in creation order", pages, len(names), names[0], names[len(names)-1])
		}
	})

	t.Run("delete with secrets needs force", func(t *testing.T) {
		a.must(201, "POST", base+"/"+id+"/secrets", map[string]any{"key": "k", "value": "fake-value-1"})
		r := a.do("DELETE", base+"/"+id, nil)
		if r.status != 400 || !reflect.DeepEqual(problemFields(t, r), []string{"force"}) {
			t.Fatalf("delete without force: status %d", r.status)
		}
		a.must(204, "DELETE", base+"/"+id+"?force=true", nil)
		if r := a.do("GET", base+"/"+id, nil); r.status != 404 {
			t.Errorf("deleted store: status %d", r.status)
		}
		a.must(204, "DELETE", base+"/"+s2["id"].(string), nil) // empty: no force needed
	})
}

func TestSecrets(t *testing.T) {
	a := newAPI(t, Options{})
	cp := a.controlPlane("cp")
	st := a.store(cp, "store")
	base := "/v2/control-planes/" + cp + "/config-stores/" + st + "/secrets"
	const value = "fake-secret-value-7f3a"
	var bodies [][]byte
	keep := func(r response) response { bodies = append(bodies, r.raw); return r }

	created := keep(a.do("POST", base, map[string]any{"key": "mistral-key", "value": value}))
	if created.status != 201 {
		t.Fatalf("create: status %d", created.status)
	}
	if got := created.json(t); got["key"] != "mistral-key" || got["created_at"] == nil {
		t.Errorf("created secret has key %v", got["key"])
	}
	if v, ok := a.srv.SecretValue(cp, st, "mistral-key"); !ok || v != value {
		t.Error("stored secret value mismatch")
	}

	// Keys with slashes, spaces and percent signs travel escaped.
	odd := "team/a b%c"
	keep(a.do("POST", base, map[string]any{"key": odd, "value": value + "2"}))
	if got := keep(a.do("GET", base+"/"+url.PathEscape(odd), nil)); got.status != 200 || got.json(t)["key"] != odd {
		t.Errorf("GET escaped key: status %d", got.status)
	}
	if r := keep(a.do("PUT", base+"/"+url.PathEscape(odd), map[string]any{"value": "rotated-fake"})); r.status != 200 {
		t.Errorf("PUT existing: status %d", r.status)
	}
	if v, _ := a.srv.SecretValue(cp, st, odd); v != "rotated-fake" {
		t.Error("rotated secret value mismatch")
	}
	if r := keep(a.do("PUT", base+"/new-key", map[string]any{"value": "fresh-fake"})); r.status != 201 {
		t.Errorf("PUT new key: status %d, want 201", r.status)
	}

	t.Run("errors", func(t *testing.T) {
		cases := []struct {
			name, method, path string
			body               any
			status             int
			field              string
		}{
			{"duplicate key", "POST", base, map[string]any{"key": "mistral-key", "value": "x"}, 400, "key"},
			{"empty key", "POST", base, map[string]any{"key": "", "value": "x"}, 400, "key"},
			{"long key", "POST", base, map[string]any{"key": strings.Repeat("k", 513), "value": "x"}, 400, "key"},
			{"empty value", "POST", base, map[string]any{"key": "k2", "value": ""}, 400, "value"},
			{"long value", "POST", base, map[string]any{"key": "k2", "value": strings.Repeat("v", 5121)}, 400, "value"},
			{"missing value", "POST", base, map[string]any{"key": "k2"}, 400, "value"},
			{"value not string", "POST", base, map[string]any{"key": "k2", "value": 5}, 400, "value"},
			{"unknown field", "PUT", base + "/mistral-key", map[string]any{"value": "x", "key": "y"}, 400, "key"},
			{"long value put", "PUT", base + "/mistral-key", map[string]any{"value": strings.Repeat("v", 5121)}, 400, "value"},
			{"unknown key", "GET", base + "/nope", nil, 404, ""},
			{"unknown key delete", "DELETE", base + "/nope", nil, 404, ""},
			{"unknown store", "GET", "/v2/control-planes/" + cp + "/config-stores/00000000-0000-4000-8000-000000000000/secrets", nil, 404, ""},
		}
		for _, c := range cases {
			r := keep(a.do(c.method, c.path, c.body))
			if r.status != c.status {
				t.Errorf("%s: status %d, want %d", c.name, r.status, c.status)
				continue
			}
			fields := problemFields(t, r)
			if c.field != "" && !reflect.DeepEqual(fields, []string{c.field}) {
				t.Errorf("%s: fields %v, want [%s]", c.name, fields, c.field)
			}
		}
		if v, _ := a.srv.SecretValue(cp, st, "mistral-key"); v != value {
			t.Error("a rejected request changed a secret value")
		}
	})

	t.Run("cursor pagination", func(t *testing.T) {
		for i := 0; i < 9; i++ {
			keep(a.do("POST", base, map[string]any{"key": fmt.Sprintf("k%d", i), "value": value}))
		}
		var keys []string
		next := base + "?page[size]=4"
		for next != "" {
			m := a.must(200, "GET", next, nil)
			for _, s := range dataOf(t, m) {
				keys = append(keys, s["key"].(string))
			}
			next = ""
			if n, ok := m["meta"].(map[string]any)["page"].(map[string]any)["next"].(string); ok {
				u, _ := url.Parse(n)
				if !strings.HasPrefix(n, "/config-stores/"+st+"/secrets?") {
					t.Errorf("next = %q", n)
				}
				next = base + "?page[size]=4&page[after]=" + u.Query().Get("page[after]")
			}
		}
		if len(keys) != 12 {
			t.Errorf("listed %d secrets, want 12", len(keys))
		}
	})

	t.Run("delete", func(t *testing.T) {
		a.must(204, "DELETE", base+"/"+url.PathEscape(odd), nil)
		if _, ok := a.srv.SecretValue(cp, st, odd); ok {
			t.Error("deleted secret still stored")
		}
	})

	// Values are write-only: no response body ever carried one.
	for _, b := range append(bodies, a.do("GET", base+"?page[size]=100", nil).raw) {
		if bytes.Contains(b, []byte(value)) || bytes.Contains(b, []byte("rotated-fake")) ||
			bytes.Contains(b, []byte("fresh-fake")) || bytes.Contains(b, []byte(`"value":`)) {
			t.Fatal("a response contains a secret value or a value field")
		}
	}
}

func TestUnauthorized(t *testing.T) {
	a := newAPI(t, Options{})
	cp := a.srv.AddControlPlane("cp")
	cases := []struct {
		path        string
		contentType string
		wantKeys    []string
	}{
		{"/v2/control-planes", "application/problem+json", []string{"status", "title", "instance", "detail"}},
		{"/v2/control-planes/" + cp + "/config-stores", "application/problem+json", []string{"status", "title", "instance", "detail"}},
		{"/v2/control-planes/" + cp + "/core-entities/vaults", "application/json", []string{"message", "status"}},
	}
	for _, token := range []string{"", "kpat_wrong_fake_0000"} {
		b := &api{t: t, srv: a.srv, token: token}
		for _, c := range cases {
			r := b.do("GET", c.path, nil)
			if r.status != 401 || r.header.Get("Content-Type") != c.contentType {
				t.Errorf("%s (token sent: %v): %d %s", c.path, token != "", r.status, r.header.Get("Content-Type"))
				continue
			}
			m := r.json(t)
			for _, k := range c.wantKeys {
				if _, ok := m[k]; !ok {
					t.Errorf("%s: 401 body lacks %q", c.path, k)
				}
			}
			if bytes.Contains(r.raw, []byte(testToken)) {
				t.Error("401 body contains the token")
			}
		}
	}
}
