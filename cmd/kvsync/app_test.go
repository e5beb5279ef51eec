package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
	"github.com/kvsync/kvsync/pkg/state"
)

const testToken = "kpat_test_fake_0000"

// runIn runs the program in-process.
func runIn(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"kvsync"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestIntersperse(t *testing.T) {
	app := (&program{}).app()
	tests := []struct {
		in, want string
	}{
		{"kvsync diff", "kvsync diff"},
		{"kvsync diff a.yaml", "kvsync diff -- a.yaml"},
		{"kvsync diff a.yaml --exit-code", "kvsync diff --exit-code -- a.yaml"},
		{"kvsync diff a.yaml -o json b.yaml", "kvsync diff -o json -- a.yaml b.yaml"},
		{"kvsync diff - --output=json", "kvsync diff --output=json -- -"},
		{"kvsync sync a.yaml --parallelism 2 --no-color", "kvsync sync --parallelism 2 --no-color -- a.yaml"},
		{"kvsync diff -- --odd-name.yaml", "kvsync diff -- --odd-name.yaml"},
		{"kvsync unknown a --x", "kvsync unknown a --x"},
	}
	for _, tt := range tests {
		got := strings.Join(intersperse(app, strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("intersperse(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseTimeout(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10", 10 * time.Second, true},
		{"1m30s", 90 * time.Second, true},
		{" 5s ", 5 * time.Second, true},
		{"0", 0, false},
		{"-3s", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, err := parseTimeout(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestTokenNeverPrinted: help, errors and plans never show the token,
// whichever way it was given.
func TestTokenNeverPrinted(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	file := filepath.Join(dir, "kvsync.yaml")
	if err := os.WriteFile(file, []byte("_format_version: \"3.0\"\n_konnect:\n  control_plane_name: nowhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const wrong = "kpat_wrong_fake_2222"
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	cases := [][]string{
		{"--help"},
		{"diff", "--help"},
		{"sync", "--help"},
		{"dump", "--help"},
		{"validate", "--help"},
		{"diff", file},                           // control plane not found
		{"diff", "--konnect-token", wrong, file}, // 401
		{"dump", "--konnect-token", wrong, "--konnect-control-plane-name", "x"},
		{"diff", "--konnect-addr", "http://" + testToken + "@example.invalid", file},
	}
	for _, args := range cases {
		code, stdout, stderr := runIn(t, "", args...)
		for _, tok := range []string{testToken, wrong} {
			if strings.Contains(stdout+stderr, tok) {
				t.Errorf("kvsync %s (exit %d) printed a token", strings.Join(args, " "), code)
			}
		}
	}
}

func TestColorAllowed(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	tests := []struct {
		name     string
		f        diff.Format
		flag     bool
		vars     map[string]string
		terminal bool
		want     bool
	}{
		{"terminal", diff.FormatText, false, nil, true, true},
		{"pipe", diff.FormatText, false, nil, false, false},
		{"--no-color", diff.FormatText, true, nil, true, false},
		{"NO_COLOR=1", diff.FormatText, false, map[string]string{"NO_COLOR": "1"}, true, false},
		{"NO_COLOR=yes", diff.FormatText, false, map[string]string{"NO_COLOR": "yes"}, true, false},
		{"TERM=dumb", diff.FormatText, false, map[string]string{"TERM": "dumb"}, true, false},
		{"json", diff.FormatJSON, false, nil, true, false},
		{"markdown", diff.FormatMarkdown, false, nil, true, false},
	}
	for _, tt := range tests {
		if got := colorAllowed(tt.f, tt.flag, env(tt.vars), tt.terminal); got != tt.want {
			t.Errorf("%s: colour %v, want %v", tt.name, got, tt.want)
		}
	}
	var buf bytes.Buffer
	if isTerminal(&buf) {
		t.Error("a buffer is not a terminal")
	}
}

func TestExitCodes(t *testing.T) {
	if code, _, _ := runIn(t, "", "version"); code != exitOK {
		t.Errorf("version: exit %d", code)
	}
	if code, _, stderr := runIn(t, "", "nosuchcommand"); code != exitError || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := runIn(t, "", "diff", "--nosuchflag")
	if code != exitError || strings.Contains(stdout+stderr, "USAGE") {
		t.Errorf("unknown flag: exit %d, usage printed: %v", code, strings.Contains(stdout+stderr, "USAGE"))
	}
}

// TestDumpHidesCredentials: a plugin config holding a credential in clear
// (an encrypted field of the schema) is dumped as a placeholder; a vault
// reference stays as it is; defaults are left out and the result fills
// back to the live config.
func TestDumpHidesCredentials(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: testToken, RateLimit: -1})
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
	f, err := dumpState(ctx, c, "cp", []string{"kvsync"}, false)
	if err != nil {
		t.Fatal(err)
	}
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
	live, err := c.Plugins.List(ctx, cpID, nil)
	if err != nil {
		t.Fatal(err)
	}
	schema := kong.NewPluginSchema(konnecttest.PluginSchema("ai-proxy").Fields)
	filled, _ := canonical(schema.ConfigDefaults(state.RevealMap(p.Config)))
	want, _ := canonical(live[0].Config)
	if !bytes.Equal(filled, want) {
		t.Error("the dumped config does not fill back to the live config")
	}
	if _, ok := p.Config["response_streaming"]; ok {
		t.Error("a schema default was dumped")
	}
}

func TestPruneDefaults(t *testing.T) {
	fill := func(m map[string]any) map[string]any {
		out := copyMap(m)
		if _, ok := out["a"]; !ok {
			out["a"] = 1.0
		}
		rec, _ := out["r"].(map[string]any)
		if rec == nil {
			rec = map[string]any{}
			out["r"] = rec
		}
		if _, ok := rec["x"]; !ok {
			rec["x"] = nil
		}
		return out
	}
	got := pruneDefaults(map[string]any{"a": 1.0, "b": "keep", "r": map[string]any{"x": nil, "y": 2.0}}, fill)
	if fmt.Sprint(got) != "map[b:keep r:map[y:2]]" {
		t.Errorf("pruned = %v", got)
	}
	// A value that differs from the default stays.
	got = pruneDefaults(map[string]any{"a": 2.0, "r": map[string]any{"x": nil}}, fill)
	if fmt.Sprint(got) != "map[a:2]" {
		t.Errorf("pruned = %v", got)
	}
}
