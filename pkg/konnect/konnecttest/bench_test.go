package konnecttest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkHandler measures the emulator's own cost per request (no
// network): a secret value update, and a plugin upsert with schema
// validation and defaults.
func BenchmarkHandler(b *testing.B) {
	e, err := New(Options{Token: testToken})
	if err != nil {
		b.Fatal(err)
	}
	cp := e.AddControlPlane("bench")
	serve := func(method, path, body string) int {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code
	}
	serve("POST", "/v2/control-planes/"+cp+"/config-stores", `{"name":"s"}`)
	var store string
	e.mu.Lock()
	store = e.st.ControlPlanes[0].Stores[0].ID
	e.mu.Unlock()

	b.Run("secret-put", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if c := serve("PUT", "/v2/control-planes/"+cp+"/config-stores/"+store+"/secrets/key",
				`{"value":"fake"}`); c != http.StatusOK && c != http.StatusCreated {
				b.Fatalf("status %d", c)
			}
		}
	})
	b.Run("plugin-upsert", func(b *testing.B) {
		body := `{"name":"ai-proxy","config":{"route_type":"llm/v1/chat","model":{"provider":"mistral","name":"m"}}}`
		for i := 0; i < b.N; i++ {
			if c := serve("PUT", "/v2/control-planes/"+cp+"/core-entities/plugins/11111111-2222-4333-8444-555555555555", body); c != http.StatusOK {
				b.Fatalf("status %d", c)
			}
		}
	})
}
