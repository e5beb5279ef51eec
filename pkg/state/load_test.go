package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

// fakeEnv is a LookupEnv over a map.
func fakeEnv(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// inDir writes files into a fresh directory and makes it the working
// directory, so that positions read "kvsync.yaml:3:5".
func inDir(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
}

// problemLines returns the error's lines, checking they match ProblemsOf.
func problemLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	lines := strings.Split(err.Error(), "\n")
	ps := ProblemsOf(err)
	if len(ps) != len(lines) {
		t.Errorf("ProblemsOf gives %d problems, the message %d lines", len(ps), len(lines))
	}
	for i, p := range ps {
		if i < len(lines) && p.Error() != lines[i] {
			t.Errorf("problem %d: %q, line %q", i, p.Error(), lines[i])
		}
	}
	return lines
}

var seedEnv = map[string]string{"MISTRAL_API_KEY": "fake-mistral-0000"}

func TestLoadSeedExample(t *testing.T) {
	const path = "../../examples/mistral-ai-proxy/kvsync.yaml"
	f, err := Load([]string{path}, LoadOptions{LookupEnv: fakeEnv(seedEnv)})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	desc := "Storing secrets in Konnect"
	want := &File{
		FormatVersion:    "3.0",
		ControlPlaneName: "my-control-plane",
		ControlPlanePos:  Position{path, 3, 23},
		ConfigStores: []ConfigStore{{
			Name:    "my-config-store",
			Secrets: []Secret{{Key: "mistral-key", Value: NewSensitive("Bearer fake-mistral-0000", "MISTRAL_API_KEY"), Pos: Position{path, 7, 9}}},
			Pos:     Position{path, 5, 5},
		}},
		Vaults: []Vault{{
			Name: "konnect", Prefix: "mysecretvault", Description: &desc,
			Config: map[string]any{}, ConfigStore: "my-config-store",
			Pos: Position{path, 10, 5}, ConfigStorePos: Position{path, 14, 21},
		}},
		Plugins: []Plugin{{
			Name:  "ai-proxy",
			Route: "example-route",
			Config: map[string]any{
				"route_type": "llm/v1/chat",
				"auth": map[string]any{
					"header_name":  "Authorization",
					"header_value": "{vault://mysecretvault/mistral-key}",
				},
				"model": map[string]any{
					"provider": "mistral",
					"name":     "mistral-tiny",
					"options": map[string]any{
						"mistral_format": "openai",
						"upstream_url":   "https://api.mistral.ai/v1/chat/completions",
					},
				},
			},
			Pos: Position{path, 16, 5},
			VaultRefs: []VaultRef{{
				VaultRef: kong.VaultRef{Ref: "{vault://mysecretvault/mistral-key}", Prefix: "mysecretvault", Key: "mistral-key"},
				Path:     "plugins[0].config.auth.header_value", Pos: Position{path, 22, 23},
			}},
		}},
	}
	if diff := cmp.Diff(want, f, compareSensitive, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Plugin{}, "FieldPos"), cmpopts.IgnoreFields(Vault{}, "FieldPos")); diff != "" {
		t.Errorf("loaded state differs (-want +got):\n%s", diff)
	}
	for field, want := range map[string]Position{"route": {path, 17, 12}, "config.model.provider": {path, 24, 19}} {
		if got := f.Plugins[0].FieldPos[field]; got != want {
			t.Errorf("plugin field %s at %v, want %v", field, got, want)
		}
	}
	if got := Locate(f.Plugins[0].FieldPos, "config.model.nope", f.Plugins[0].Pos); got != (Position{path, 24, 9}) {
		t.Errorf("Locate of a field not written = %v, want its record's position", got)
	}
	if got := f.ConfigStores[0].Secrets[0].Value.Describe(); got != "(from env MISTRAL_API_KEY)" {
		t.Errorf("Describe = %q", got)
	}
}

// TestLoadExamples loads every example with all its variables set.
func TestLoadExamples(t *testing.T) {
	paths, err := filepath.Glob("../../examples/*/kvsync.yaml")
	if err != nil || len(paths) < 2 {
		t.Fatalf("want at least two examples, got %v (%v)", paths, err)
	}
	env := func(string) (string, bool) { return "fake-value", true }
	for _, p := range paths {
		t.Run(filepath.Base(filepath.Dir(p)), func(t *testing.T) {
			if _, err := Load([]string{p}, LoadOptions{LookupEnv: env}); err != nil {
				t.Errorf("Load: %v", err)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(p), "README.md")); err != nil {
				t.Errorf("example without README: %v", err)
			}
		})
	}
}

func TestLoadEnvVaultExample(t *testing.T) {
	const path = "../../examples/env-vault-rate-limiting/kvsync.yaml"
	f, err := Load([]string{path}, LoadOptions{LookupEnv: fakeEnv(map[string]string{"REDIS_HOST": "redis.internal"})})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !cmp.Equal(f.SelectTags, []string{"kvsync-rate-limiting"}) {
		t.Errorf("SelectTags = %v", f.SelectTags)
	}
	p := f.Plugins[0]
	redis := p.Config["redis"].(map[string]any)
	host, ok := redis["host"].(Sensitive)
	if !ok || host.Reveal() != "redis.internal" || host.Describe() != "(from env REDIS_HOST)" {
		t.Errorf("redis.host is not the substituted Sensitive value")
	}
	if redis["port"] != float64(6379) || p.Config["minute"] != float64(20) {
		t.Errorf("numbers are not decoded as JSON would: %v %v", redis["port"], p.Config["minute"])
	}
	revealed := RevealMap(p.Config)["redis"].(map[string]any)
	if revealed["host"] != "redis.internal" {
		t.Errorf("RevealMap did not reveal redis.host")
	}
	if p.Service != "example-service" || p.VaultRefs[0].Prefix != "dp-env" || p.VaultRefs[0].Key != "redis-password" {
		t.Errorf("plugin = %+v", p)
	}
}

func TestLoadMerge(t *testing.T) {
	inDir(t, map[string]string{
		"base.yaml": `_format_version: "3.0"
_konnect:
  control_plane_name: cp
_info:
  select_tags: [a, b]
config_stores:
  - name: store
    secrets:
      - key: k
        value: v
`,
		"more.yaml": `_konnect:
  control_plane_name: cp
_info:
  select_tags: [b, a]
vaults:
  - name: konnect
    prefix: kv
    config:
      config_store: store
plugins:
  - name: p
    config:
      x: "{vault://kv/k}"
`,
	})
	f, err := Load([]string{"base.yaml", "more.yaml"}, LoadOptions{LookupEnv: fakeEnv(nil)})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if f.FormatVersion != "3.0" || f.ControlPlaneName != "cp" || len(f.ConfigStores) != 1 || len(f.Vaults) != 1 || len(f.Plugins) != 1 {
		t.Errorf("merged state = %+v", f)
	}
	if f.Vaults[0].Pos.File != "more.yaml" || f.ConfigStores[0].Pos.File != "base.yaml" {
		t.Errorf("positions lost their files: %v %v", f.Vaults[0].Pos, f.ConfigStores[0].Pos)
	}
}

func TestLoadMergeConflicts(t *testing.T) {
	inDir(t, map[string]string{
		"a.yaml": `_format_version: "3.0"
_konnect:
  control_plane_name: cp-a
_info:
  select_tags: [a]
config_stores:
  - name: store
vaults:
  - name: env
    prefix: ev
plugins:
  - name: p
    route: r
    instance_name: i
`,
		"b.yaml": `_format_version: "3.0"
_konnect:
  control_plane_name: cp-b
_info:
  select_tags: [b]
config_stores:
  - name: store
vaults:
  - name: env
    prefix: ev
plugins:
  - name: p
    route: r
  - name: q
    instance_name: i
`,
	})
	_, err := Load([]string{"a.yaml", "b.yaml"}, LoadOptions{LookupEnv: fakeEnv(nil)})
	want := []string{
		`b.yaml:3:23: _konnect.control_plane_name: "cp-b" conflicts with "cp-a" at a.yaml:3:23`,
		`b.yaml:5:16: _info.select_tags: [b] conflicts with [a] at a.yaml:5:16`,
		`b.yaml:7:11: config_stores[0].name: duplicate config store "store" (first at a.yaml:7:11)`,
		`b.yaml:10:13: vaults[0].prefix: duplicate vault prefix "ev" (first at a.yaml:10:13)`,
		`b.yaml:12:5: plugins[0]: duplicate plugin "p" on route "r" (first at a.yaml:12:5)`,
		`b.yaml:15:20: plugins[1].instance_name: duplicate instance_name "i" (first at a.yaml:14:20)`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems differ (-want +got):\n%s", diff)
	}
}

func TestLoadStdin(t *testing.T) {
	inDir(t, map[string]string{"stores.yaml": "config_stores:\n  - name: s\n"})
	stdin := strings.NewReader("_format_version: \"3.0\"\nvaults:\n  - name: konnect\n    prefix: v\n    config:\n      config_store: s\n")
	_, err := Load([]string{"-", "stores.yaml"}, LoadOptions{Stdin: stdin, LookupEnv: fakeEnv(nil)})
	want := []string{`<stdin>:4:13: vaults[0].prefix: "v" is not a valid prefix (lowercase letters, digits and dashes, starting with a letter, ending with a letter or digit, 2 characters at least)`}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems differ (-want +got):\n%s", diff)
	}

	stdin = strings.NewReader("_format_version: \"3.0\"\nvaults:\n  - name: konnect\n    prefix: vv\n    config:\n      config_store: s\n")
	f, err := Load([]string{"stores.yaml", "-"}, LoadOptions{Stdin: stdin, LookupEnv: fakeEnv(nil)})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := f.Vaults[0].Pos.String(); got != "<stdin>:3:5" {
		t.Errorf("vault position = %s", got)
	}

	_, err = Load([]string{"-", "-"}, LoadOptions{Stdin: strings.NewReader(""), LookupEnv: fakeEnv(nil)})
	want = []string{
		`<stdin>: standard input (-) given more than once`,
		`<stdin>:1:1: _format_version: is required: add _format_version: "3.0"`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems differ (-want +got):\n%s", diff)
	}
}

func TestLoadMissingEnvAllReported(t *testing.T) {
	inDir(t, map[string]string{"kvsync.yaml": `_format_version: "3.0"
# a comment mentioning ${{ env "IN_COMMENT" }} is not substituted
config_stores:
  - name: s
    secrets:
      - key: a
        value: ${{ env "ONE" }}-${{env "SET"}}-${{ env   "TWO" }}
      - key: b
        value: "${{ env \"THREE\" }}"
plugins:
  - name: p
    config:
      header: ${{ env "FOUR" }}
      list: ['${{ env "FIVE" }}']
`})
	_, err := Load([]string{"kvsync.yaml"}, LoadOptions{LookupEnv: fakeEnv(map[string]string{"SET": "x"})})
	want := []string{
		`kvsync.yaml:7:16: config_stores[0].secrets[0].value: environment variable "ONE" is not set`,
		`kvsync.yaml:7:48: config_stores[0].secrets[0].value: environment variable "TWO" is not set`,
		`kvsync.yaml:9:17: config_stores[0].secrets[1].value: environment variable "THREE" is not set`,
		`kvsync.yaml:13:15: plugins[0].config.header: environment variable "FOUR" is not set`,
		`kvsync.yaml:14:15: plugins[0].config.list[0]: environment variable "FIVE" is not set`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems differ (-want +got):\n%s", diff)
	}
}

func TestLoadSubstitution(t *testing.T) {
	inDir(t, map[string]string{"kvsync.yaml": `_format_version: "3.0"
config_stores:
  - name: s
    secrets:
      - key: a
        value: ${{ env "A" }}
      - key: b
        value: pre-${{env ` + "`B`" + `}}-${{ env "A" }}
      - key: c
        value: literal
vaults:
  - name: konnect
    prefix: kv
    config:
      config_store_id: ${{ env "STORE_ID" }}
`})
	f, err := Load([]string{"kvsync.yaml"}, LoadOptions{LookupEnv: fakeEnv(map[string]string{"A": "1", "B": "2", "STORE_ID": "id-0"})})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	secrets := f.ConfigStores[0].Secrets
	for i, want := range []struct {
		value, describe string
		whole           bool
	}{
		{"1", "(from env A)", true},
		{"pre-2-1", "(from env B, A)", false},
		{"literal", "(sensitive)", false},
	} {
		v := secrets[i].Value
		if v.Reveal() != want.value {
			t.Errorf("secret %d: value mismatch", i)
		}
		if v.Describe() != want.describe {
			t.Errorf("secret %d: Describe = %q, want %q", i, v.Describe(), want.describe)
		}
		if _, whole := v.WholeEnv(); whole != want.whole {
			t.Errorf("secret %d: WholeEnv = %v", i, whole)
		}
	}
	id, ok := f.Vaults[0].Config["config_store_id"].(Sensitive)
	if !ok || id.Reveal() != "id-0" {
		t.Errorf("config_store_id is not the substituted Sensitive value")
	}
}

func TestLoadNoFiles(t *testing.T) {
	if _, err := Load(nil, LoadOptions{}); err == nil {
		t.Error("Load of no files succeeded")
	}
}

func TestLoadUnreadable(t *testing.T) {
	inDir(t, nil)
	_, err := Load([]string{"missing.yaml"}, LoadOptions{})
	want := []string{"missing.yaml: cannot read: no such file or directory"}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems differ (-want +got):\n%s", diff)
	}
}

func TestProblemsErrorsAs(t *testing.T) {
	inDir(t, map[string]string{"kvsync.yaml": "_format_version: \"3.0\"\nvaults:\n  - name: env\n    prefix: A\n"})
	_, err := Load([]string{"kvsync.yaml"}, LoadOptions{})
	var ps *Problems
	if !errors.As(err, &ps) || ps.Len() != 1 {
		t.Fatalf("errors.As to *Problems failed: %v", err)
	}
	var p *Problem
	if !errors.As(err, &p) || p.Path != "vaults[0].prefix" || p.Pos != (Position{"kvsync.yaml", 4, 13}) {
		t.Errorf("errors.As to *Problem = %+v", p)
	}
}

func TestAllowUndeclaredAndCheckReferences(t *testing.T) {
	inDir(t, map[string]string{"kvsync.yaml": `_format_version: "3.0"
vaults:
  - name: konnect
    prefix: kv
    config:
      config_store: remote-store
plugins:
  - name: p
    config:
      a: "{vault://kv/k}"
      b: "{vault://remote-vault/k}"
      c: "{vault://env/SOME_VAR}"
`})
	_, err := Load([]string{"kvsync.yaml"}, LoadOptions{})
	want := []string{
		`kvsync.yaml:6:21: vaults[0].config.config_store: no config store "remote-store" in the file`,
		`kvsync.yaml:11:10: plugins[0].config.b: {vault://remote-vault/k}: no vault with prefix "remote-vault" in the file (vaults: kv)`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("offline problems differ (-want +got):\n%s", diff)
	}

	f, err := Load([]string{"kvsync.yaml"}, LoadOptions{AllowUndeclared: true})
	if err != nil {
		t.Fatalf("Load with AllowUndeclared: %v", err)
	}
	err = CheckReferences(f, Remote{})
	want = []string{
		`kvsync.yaml:6:21: vaults[0].config.config_store: no config store "remote-store" in the file or the control plane`,
		`kvsync.yaml:11:10: plugins[0].config.b: {vault://remote-vault/k}: no vault with prefix "remote-vault" in the file or the control plane (vaults: kv)`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("online problems differ (-want +got):\n%s", diff)
	}
	if err := CheckReferences(f, Remote{VaultPrefixes: []string{"remote-vault"}, ConfigStores: []string{"remote-store"}}); err != nil {
		t.Errorf("CheckReferences with the remote names: %v", err)
	}
}

func TestPositionString(t *testing.T) {
	for _, tc := range []struct {
		pos  Position
		want string
	}{
		{Position{"f.yaml", 3, 7}, "f.yaml:3:7"},
		{Position{"f.yaml", 3, 0}, "f.yaml:3"},
		{Position{"f.yaml", 0, 0}, "f.yaml"},
	} {
		if got := tc.pos.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.pos, got, tc.want)
		}
	}
}
