package diff_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
	"github.com/kvsync/kvsync/pkg/state"
)

// TestDumpHidesCredentials: a plugin config holding a credential in clear
// (an encrypted field of the schema) is dumped as a placeholder; a vault
// reference stays as it is; defaults are left out and the result fills
// back to the live config.
func TestDumpHidesCredentials(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: testToken, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cpID := srv.AddControlPlane("cp")
	const credential = "Bearer very-secret-0000"
	cfg := map[string]any{
		"route_type": "llm/v1/chat",
		"auth":       map[string]any{"header_name": "Authorization", "header_value": credential},
		"model":      map[string]any{"provider": "mistral", "name": "mistral-tiny"},
	}
	if _, err := c.Plugins.Create(ctx, cpID, konnect.Plugin{Name: "ai-proxy", Config: cfg, Tags: []string{"kvsync", "team-a"}}); err != nil {
		t.Fatal(err)
	}
	live, err := diff.Fetch(ctx, c, &state.File{}, diff.FetchOptions{ControlPlane: "cp"})
	if err != nil {
		t.Fatal(err)
	}
	f := diff.Dump(live, diff.DumpOptions{})
	if len(f.Plugins) != 1 {
		t.Fatalf("dumped %d plugins, want 1", len(f.Plugins))
	}
	p := f.Plugins[0]
	if fmt.Sprint(p.Tags) != "[team-a]" {
		t.Errorf("tags = %v, want the non-select tags only", p.Tags)
	}
	auth, _ := p.Config["auth"].(map[string]any)
	if _, ok := auth["header_value"].(state.Sensitive); !ok {
		t.Error("the credential is not held as a Sensitive value")
	}
	data, env, err := state.MarshalEnv(f)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("very-secret")) {
		t.Error("the dump contains the credential")
	}
	if len(env) != 1 {
		t.Errorf("dump reads %d variables, want 1 (the credential's)", len(env))
	}
	// The pruned config fills back to exactly the live one.
	stored, err := c.Plugins.List(ctx, cpID, nil)
	if err != nil {
		t.Fatal(err)
	}
	schema := kong.NewPluginSchema(konnecttest.PluginSchema("ai-proxy").Fields)
	filled, _ := json.Marshal(schema.ConfigDefaults(state.RevealMap(p.Config)))
	want, _ := json.Marshal(stored[0].Config)
	if !bytes.Equal(filled, want) {
		t.Error("the dumped config does not fill back to the live config")
	}
	if _, ok := p.Config["response_streaming"]; ok {
		t.Error("a schema default was dumped")
	}
}
