package konnecttest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

const testToken = "kpat_test_fake_0000"

// api is a raw HTTP client for the emulator: the tests deliberately do not
// use pkg/konnect, so they check the wire format itself.
type api struct {
	t     *testing.T
	srv   *Server
	token string
}

type response struct {
	status int
	header http.Header
	raw    []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.raw, &m); err != nil {
		t.Fatalf("response is not a JSON object (status %d): %v", r.status, err)
	}
	return m
}

func newAPI(t *testing.T, opts Options) *api {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	srv := NewServer(opts)
	t.Cleanup(srv.Close)
	return &api{t: t, srv: srv, token: srv.Token}
}

// do sends a request; a non-nil body is JSON-encoded with a JSON content
// type. The raw body is returned; tests never print bodies that may carry
// secret values.
func (a *api) do(method, path string, body any) response {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				a.t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, raw: raw}
}

// must sends a request and fails unless the status is want; it returns
// the decoded object (nil for 204).
func (a *api) must(want int, method, path string, body any) map[string]any {
	a.t.Helper()
	r := a.do(method, path, body)
	if r.status != want {
		a.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, want, r.raw)
	}
	if r.status == http.StatusNoContent {
		return nil
	}
	return r.json(a.t)
}

func (a *api) controlPlane(name string) string {
	a.t.Helper()
	return a.must(201, "POST", "/v2/control-planes", map[string]any{"name": name})["id"].(string)
}

func (a *api) store(cp, name string) string {
	a.t.Helper()
	return a.must(201, "POST", "/v2/control-planes/"+cp+"/config-stores", map[string]any{"name": name})["id"].(string)
}

func dataOf(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	list, ok := m["data"].([]any)
	if !ok {
		t.Fatalf("data is not an array: %T", m["data"])
	}
	out := make([]map[string]any, len(list))
	for i, e := range list {
		out[i] = e.(map[string]any)
	}
	return out
}

// problemParams returns the fields named by a problem+json 400.
func problemFields(t *testing.T, r response) []string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	m := r.json(t)
	for _, k := range []string{"status", "title", "instance", "detail"} {
		if _, ok := m[k]; !ok {
			t.Errorf("problem lacks %q", k)
		}
	}
	var fields []string
	list, _ := m["invalid_parameters"].([]any)
	for _, p := range list {
		fields = append(fields, p.(map[string]any)["field"].(string))
	}
	return fields
}

// kokoFields returns the fields named by a core-entities error.
func kokoFields(t *testing.T, r response) (message string, fields []string) {
	t.Helper()
	m := r.json(t)
	if m["code"] != float64(3) {
		t.Errorf("code = %v, want 3", m["code"])
	}
	list, _ := m["details"].([]any)
	for _, d := range list {
		f, _ := d.(map[string]any)["field"].(string)
		fields = append(fields, f)
	}
	return m["message"].(string), fields
}
