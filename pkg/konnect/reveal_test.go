package konnect

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// redacting is a Sensitive that prints redacted, like pkg/state's.
type redacting struct{ v string }

func (r redacting) Reveal() string                { return r.v }
func (r redacting) String() string                { return "(sensitive)" }
func (r redacting) MarshalJSON() ([]byte, error)  { return []byte(`"(sensitive)"`), nil }
func (r redacting) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("(sensitive)")) }

// TestRevealAtEncoding: Sensitive values anywhere in a body (a secret's
// value, nested plugin and vault config leaves, list elements) reach the
// server in clear, and an error that echoes the body never shows them.
func TestRevealAtEncoding(t *testing.T) {
	const (
		secretValue = "fake-secret-value-1111"
		pluginValue = "fake-plugin-value-2222"
		listValue   = "fake-list-value-3333"
		vaultValue  = "fake-vault-token-4444"
	)
	var mu sync.Mutex
	var bodies []string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(raw))
		mu.Unlock()
		// A hostile server echoes the request in its error.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"message": %q, "code": 2}`, "bad body: "+string(raw))
	})
	ctx := context.Background()
	var errs []error
	_, err := c.Secrets.Create(ctx, "cp", "store", "k", redacting{secretValue})
	errs = append(errs, err)
	_, err = c.Secrets.Update(ctx, "cp", "store", "k", redacting{secretValue})
	errs = append(errs, err)
	_, err = c.Plugins.Create(ctx, "cp", Plugin{Name: "p", Config: map[string]any{
		"auth": map[string]any{"header_value": redacting{pluginValue}},
		"list": []any{"plain", redacting{listValue}},
	}})
	errs = append(errs, err)
	_, err = c.Vaults.Upsert(ctx, "cp", Vault{ID: "00000000-0000-4000-8000-000000000000", Name: "hcv", Prefix: "v",
		Config: map[string]any{"token": redacting{vaultValue}}})
	errs = append(errs, err)

	mu.Lock()
	all := strings.Join(bodies, "\n")
	mu.Unlock()
	if strings.Contains(all, "(sensitive)") {
		t.Error("a request body carried the redacted rendering")
	}
	for _, v := range []string{secretValue, pluginValue, listValue, vaultValue} {
		if !strings.Contains(all, v) {
			t.Errorf("a Sensitive value (%d chars) did not reach the server in clear", len(v))
		}
	}
	for i, err := range errs {
		if err == nil {
			t.Fatalf("request %d: no error from a server answering 400", i)
		}
		for _, v := range []string{secretValue, pluginValue, listValue, vaultValue} {
			if strings.Contains(err.Error(), v) {
				t.Errorf("request %d: the error echoes a Sensitive value", i)
			}
		}
	}
}

// TestUnrevealedSensitiveFailsClosed: a Sensitive in a struct the client
// does not know (so cannot reveal) is an error, and nothing is sent; never
// the redacted rendering on the wire.
func TestUnrevealedSensitiveFailsClosed(t *testing.T) {
	const canary = "fake-unknown-struct-value-5555"
	type unknownBody struct {
		Name  string `json:"name"`
		Inner struct {
			Token Sensitive `json:"token"`
		} `json:"inner"`
	}
	type ptrBody struct {
		List []*redacting `json:"list"`
	}
	var sent int
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		sent++
		w.WriteHeader(http.StatusOK)
	})
	var b unknownBody
	b.Name = "x"
	b.Inner.Token = redacting{canary}
	cases := []struct {
		name, path string
		body       any
	}{
		{"nested struct field", "body.inner.token", b},
		{"pointer to struct", "body.inner.token", &b},
		{"slice of pointers", "body.list[0]", ptrBody{List: []*redacting{{canary}}}},
		{"struct inside a map", "body.m.inner.token", map[string]any{"m": b}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.do(context.Background(), &call{method: http.MethodPost, path: "/x", body: tc.body}, nil)
			if err == nil {
				t.Fatal("no error for a body holding an unrevealed Sensitive")
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("the error does not name the path %s", tc.path)
			}
			if strings.Contains(err.Error(), canary) {
				t.Error("the error holds the value")
			}
		})
	}
	if sent != 0 {
		t.Errorf("%d requests reached the server", sent)
	}
	// A nil Sensitive pointer is no value: it encodes as null.
	if err := c.do(context.Background(), &call{method: http.MethodPost, path: "/x", body: ptrBody{List: []*redacting{nil}}}, nil); err != nil {
		t.Errorf("a nil Sensitive pointer: %v", err)
	}
}
