package diff

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Canary values: none may appear in any output.
const (
	canarySecret     = "CANARY-secret-value-7f3a"
	canaryEnv        = "CANARY-env-value-19bd"
	canaryLiveOld    = "CANARY-live-old-value-c0de"
	canaryLiveHeader = "Bearer CANARY-live-header-5eed"
	canaryVaultToken = "CANARY-vault-token-beef"
)

var canaries = []string{canarySecret, canaryEnv, canaryLiveOld, canaryLiveHeader, canaryVaultToken}

// everyChangeFixture is a desired/live pair whose plan has every kind of
// change: creates, updates and deletes of stores, secrets, vaults and
// plugins, a forced store delete, sensitive values old and new, unmanaged
// entities and a warning.
func everyChangeFixture() (*state.File, *Live) {
	f := seedFile()
	f.ConfigStores[0].Secrets = append(f.ConfigStores[0].Secrets,
		state.Secret{Key: "openai-key", Value: state.NewSensitive(canaryEnv, "OPENAI_API_KEY")})
	f.ConfigStores = append(f.ConfigStores, state.ConfigStore{Name: "billing-store", Secrets: []state.Secret{
		{Key: "redis-password", Value: state.NewSensitive(canarySecret)},
	}})
	f.Vaults[0].Description = ptr("Mistral and OpenAI keys")
	f.Vaults = append(f.Vaults, state.Vault{Name: "konnect", Prefix: "billing", Config: obj{}, ConfigStore: "billing-store"},
		state.Vault{Name: "hcv", Prefix: "hashi", Config: obj{"host": "vault.internal", "token": state.NewSensitive(canaryVaultToken, "VAULT_TOKEN")}})
	f.Plugins[0].Config["model"].(obj)["name"] = "mistral-small"
	f.Plugins = append(f.Plugins, state.Plugin{Name: "rate-limiting", Service: "example-service", Config: obj{
		"minute": 5,
		"policy": "redis",
		"redis":  obj{"host": "redis.internal", "password": "{vault://billing/redis-password}"},
	}}, state.Plugin{Name: "rate-limiting", Consumer: "alice", Config: obj{
		"hour":  100,
		"redis": obj{"password": state.NewSensitive(canaryEnv, "REDIS_PASSWORD")},
	}})

	l := seededLive()
	l.Vaults[0].Tags = []string{"team-x"}
	l.Secrets["store-1"] = append(l.Secrets["store-1"], konnect.ConfigStoreSecret{Key: "stale-key"})
	l.ConfigStores = append(l.ConfigStores, konnect.ConfigStore{ID: "store-9", Name: "legacy-store"},
		konnect.ConfigStore{ID: "store-7", Name: "someone-elses-store"})
	l.Secrets["store-9"] = []konnect.ConfigStoreSecret{{Key: "a"}, {Key: "b"}, {Key: "c"}}
	l.Vaults = append(l.Vaults,
		konnect.Vault{ID: "vault-9", Name: "konnect", Prefix: "legacy", Config: obj{"config_store_id": "store-9"}, Tags: []string{"kvsync"}},
		konnect.Vault{ID: "vault-5", Name: "hcv", Prefix: "hashi", Config: obj{"host": "old.internal", "token": canaryVaultToken + "-old"}, Tags: []string{"kvsync"}})
	l.Plugins[0].Config["auth"].(obj)["header_value"] = canaryLiveHeader
	l.Plugins = append(l.Plugins,
		konnect.Plugin{ID: "plugin-9", Name: "rate-limiting", Tags: []string{"kvsync"},
			Config: obj{"redis": obj{"password": "{vault://legacy/a}"}}},
		konnect.Plugin{ID: "plugin-5", Name: "rate-limiting", Tags: []string{"kvsync"}, Enabled: ptr(true),
			Consumer: &konnect.ForeignKey{ID: "consumer-1"}, Protocols: []string{"grpc", "grpcs", "http", "https"},
			Config: obj{"hour": 100.0, "minute": nil, "policy": "local", "redis": obj{"host": nil, "password": canaryLiveOld}}},
		konnect.Plugin{ID: "plugin-3", Name: "cors"})
	return f, l
}

func everyChangePlan(t *testing.T) *Plan {
	t.Helper()
	f, l := everyChangeFixture()
	p, err := Compute(f, l, Options{})
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return p
}

func render(t *testing.T, p *Plan, f Format, opts RenderOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, p, f, opts); err != nil {
		t.Fatalf("Render %s: %v", f, err)
	}
	return buf.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/diff -run %s -update to create it)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got); rerun with -update if intended:\n%s", file, diff)
	}
}

func TestRenderGolden(t *testing.T) {
	p := everyChangePlan(t)
	empty, err := Compute(seedFile(), seededLive(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		plan   *Plan
		format Format
	}{
		{"plan.txt", p, FormatText},
		{"plan.json", p, FormatJSON},
		{"plan.md", p, FormatMarkdown},
		{"empty.txt", empty, FormatText},
		{"empty.json", empty, FormatJSON},
		{"empty.md", empty, FormatMarkdown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, render(t, tc.plan, tc.format, RenderOptions{}))
		})
	}
}

func TestRenderTextColor(t *testing.T) {
	p := everyChangePlan(t)
	plain := render(t, p, FormatText, RenderOptions{})
	if strings.Contains(plain, "\x1b[") {
		t.Error("text without Color contains ANSI escapes")
	}
	colored := render(t, p, FormatText, RenderOptions{Color: true})
	for _, want := range []string{ansiGreen + "+ create" + ansiReset, ansiYellow + "~ update" + ansiReset, ansiRed + "- delete" + ansiReset} {
		if !strings.Contains(colored, want) {
			t.Errorf("coloured text lacks %q", want)
		}
	}
	stripped := strings.NewReplacer(ansiReset, "", ansiBold, "", ansiRed, "", ansiGreen, "", ansiYellow, "").Replace(colored)
	if stripped != plain {
		t.Error("coloured text differs from plain text beyond the escapes")
	}
}

func TestRenderJSONSchema(t *testing.T) {
	p := everyChangePlan(t)
	var doc struct {
		FormatVersion string `json:"format_version"`
		Changes       []struct {
			ID        int    `json:"id"`
			Action    string `json:"action"`
			Kind      string `json:"kind"`
			Name      string `json:"name"`
			DependsOn []int  `json:"depends_on"`
			Fields    []struct {
				Path string           `json:"path"`
				Old  *json.RawMessage `json:"old"`
				New  *json.RawMessage `json:"new"`
			} `json:"fields"`
		} `json:"changes"`
		Summary   Summary        `json:"summary"`
		Unmanaged map[string]int `json:"unmanaged"`
	}
	if err := json.Unmarshal([]byte(render(t, p, FormatJSON, RenderOptions{})), &doc); err != nil {
		t.Fatalf("JSON rendering does not parse: %v", err)
	}
	if doc.FormatVersion != FormatVersion {
		t.Errorf("format_version = %q", doc.FormatVersion)
	}
	if len(doc.Changes) != len(p.Changes) || doc.Summary != p.Summary() {
		t.Errorf("JSON has %d changes and summary %+v; plan has %d and %+v", len(doc.Changes), doc.Summary, len(p.Changes), p.Summary())
	}
	for i, c := range doc.Changes {
		if c.ID != i || c.Action != string(p.Changes[i].Action) || c.DependsOn == nil {
			t.Errorf("change %d: id %d action %q depends_on %v", i, c.ID, c.Action, c.DependsOn)
		}
	}
	// json.Marshal of the Plan value is the same document.
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal(raw, &a)
	_ = json.Unmarshal([]byte(render(t, p, FormatJSON, RenderOptions{})), &b)
	if !cmp.Equal(a, b) {
		t.Error("json.Marshal(plan) differs from the JSON rendering")
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	if err := Render(&bytes.Buffer{}, &Plan{}, "yaml", RenderOptions{}); err == nil {
		t.Error("Render accepted an unknown format")
	}
}

// TestNoSecretInAnyOutput is the canary test: distinctive secret values,
// environment values and old live values of sensitive fields never appear
// in any rendering, nor in any formatting or serialisation of the plan.
func TestNoSecretInAnyOutput(t *testing.T) {
	p := everyChangePlan(t)
	outputs := map[string]string{}
	for _, f := range []Format{FormatText, FormatJSON, FormatMarkdown} {
		outputs[string(f)] = render(t, p, f, RenderOptions{})
		outputs[string(f)+"+color"] = render(t, p, f, RenderOptions{Color: true})
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json.Marshal(plan)"] = string(raw)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		outputs[verb+" plan"] = fmt.Sprintf(verb, p)
		outputs[verb+" *plan"] = fmt.Sprintf(verb, *p)
		for _, c := range p.Changes {
			outputs[fmt.Sprintf("%s change %d", verb, c.ID)] = fmt.Sprintf(verb, *c)
			for _, payload := range []any{c.ConfigStore, c.Secret, c.Vault, c.Plugin} {
				outputs[fmt.Sprintf("%s payload %d", verb, c.ID)] += fmt.Sprintf(verb, payload)
			}
			raw, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			outputs[fmt.Sprintf("json change %d", c.ID)] = string(raw)
		}
	}
	for name, out := range outputs {
		for _, canary := range canaries {
			if strings.Contains(out, canary) {
				// Print which canary and where, never the output itself.
				t.Errorf("output %q contains a canary secret value (#%d)", name, indexOf(canaries, canary))
			}
		}
	}
	// The redactions are visible where the values would have been.
	text := outputs["text"]
	for _, want := range []string{
		"value: (from env OPENAI_API_KEY)",
		"value: (sensitive)",
		"config.redis.password: (sensitive) -> (from env REDIS_PASSWORD)",
		`config.auth.header_value: (sensitive) -> "{vault://mysecretvault/mistral-key}"`,
		"config.token: (sensitive) -> (from env VAULT_TOKEN)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text rendering lacks %q", want)
		}
	}
}

func indexOf(list []string, s string) int {
	for i, e := range list {
		if e == s {
			return i
		}
	}
	return -1
}
