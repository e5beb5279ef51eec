package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadString(t *testing.T, content string, env map[string]string, opts LoadOptions) (*File, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kvsync.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	opts.LookupEnv = func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	return Load([]string{path}, opts)
}

// TestBlankEnvInSecrets: a variable that is set but empty or blank is a
// problem in a secret value, located at its placeholder, unless allowed.
func TestBlankEnvInSecrets(t *testing.T) {
	const file = "_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n    secrets:\n      - key: k\n        value: Bearer ${{ env \"KEY\" }}\n"
	for _, v := range []string{"", "   ", "\t"} {
		_, err := loadString(t, file, map[string]string{"KEY": v}, LoadOptions{})
		want := `kvsync.yaml:6:23: config_stores[0].secrets[0].value: environment variable "KEY" is set but empty or blank`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("KEY=%q: error = %v, want %q", v, err, want)
		}
		if _, err := loadString(t, file, map[string]string{"KEY": v}, LoadOptions{AllowEmptyEnv: true}); err != nil {
			t.Errorf("KEY=%q with AllowEmptyEnv: %v", v, err)
		}
	}
	// In a plugin's config a blank value is the user's business.
	plugin := "_format_version: \"3.0\"\nplugins:\n  - name: p\n    config:\n      host: ${{ env \"KEY\" }}\n"
	if _, err := loadString(t, plugin, map[string]string{"KEY": ""}, LoadOptions{}); err != nil {
		t.Errorf("blank variable in a plugin config: %v", err)
	}
}

// TestMissingEnvIsUnknown: with AllowMissingEnv an unset variable makes an
// unknown value, in a secret and in a config, that says so and reveals
// nothing.
func TestMissingEnvIsUnknown(t *testing.T) {
	const file = "_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n    secrets:\n      - key: k\n        value: Bearer ${{ env \"KEY\" }}\nplugins:\n  - name: p\n    config:\n      header: ${{ env \"KEY\" }}\n"
	if _, err := loadString(t, file, nil, LoadOptions{}); err == nil || !strings.Contains(err.Error(), `environment variable "KEY" is not set`) {
		t.Fatalf("without AllowMissingEnv: %v", err)
	}
	f, err := loadString(t, file, nil, LoadOptions{AllowMissingEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	sec := f.ConfigStores[0].Secrets[0].Value
	if sec.Known() || sec.Describe() != "(value unknown: KEY not set)" || strings.Join(sec.MissingEnv(), ",") != "KEY" {
		t.Errorf("secret value: known %v, %s", sec.Known(), sec.Describe())
	}
	cfg, ok := f.Plugins[0].Config["header"].(Sensitive)
	if !ok || cfg.Known() {
		t.Errorf("config value = %T (known %v), want an unknown Sensitive", f.Plugins[0].Config["header"], cfg.Known())
	}
}

// TestPublicEnv: a config field whose placeholders are all marked public
// is a plain string; a secret stays sensitive whatever its markers.
func TestPublicEnv(t *testing.T) {
	const file = "_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n    secrets:\n      - key: k\n        value: ${{ env \"HOST\" | public }}\nplugins:\n  - name: p\n    config:\n      host: ${{ env \"HOST\" | public }}\n      url: https://${{ env \"HOST\" |public}}/${{ env \"PATH_PART\" }}\n"
	f, err := loadString(t, file, map[string]string{"HOST": "redis.internal", "PATH_PART": "p"}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Plugins[0].Config["host"]; got != "redis.internal" {
		t.Errorf("public host = %#v, want the plain string", got)
	}
	if _, ok := f.Plugins[0].Config["url"].(Sensitive); !ok {
		t.Error("a value mixing a public and a private variable is not sensitive")
	}
	if f.ConfigStores[0].Secrets[0].Value.Describe() != "(from env HOST)" {
		t.Error("a secret marked public is not sensitive")
	}
}

// TestDeckDoubleQuotes: decK's "${{ env "X" }}" (double quotes inside
// double quotes) loads as decK reads it, and problems keep their columns.
func TestDeckDoubleQuotes(t *testing.T) {
	// The tutorial's own decK vault snippet, as it is.
	const snippet = `_format_version: "3.0"
vaults:
  - name: konnect
    prefix: mysecretvault
    description: Storing secrets in Konnect
    config:
      config_store_id: "${{ env "DECK_CONFIG_STORE_ID" }}"
plugins:
  - name: p
    config:
      a: "plain \"escaped\" string"
      b: "Bearer ${{ env "KEY" }}"
      c: "${{ env "UNSET" }}"
`
	_, err := loadString(t, snippet, map[string]string{"DECK_CONFIG_STORE_ID": "fake-store-id", "KEY": "k"}, LoadOptions{})
	want := `kvsync.yaml:13:11: plugins[0].config.c: environment variable "UNSET" is not set`
	if err == nil || !strings.HasSuffix(err.Error(), "/"+want) {
		t.Fatalf("error = %v, want exactly %q", err, want)
	}
	f, err := loadString(t, snippet, map[string]string{"DECK_CONFIG_STORE_ID": "fake-store-id", "KEY": "k", "UNSET": "u"}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := f.Vaults[0].Config["config_store_id"].(Sensitive); !ok || id.Reveal() != "fake-store-id" {
		t.Error("config_store_id is not the substituted value")
	}
	cfg := f.Plugins[0].Config
	if cfg["a"] != `plain "escaped" string` {
		t.Errorf("an ordinary double-quoted string changed: %q", cfg["a"])
	}
	if b, ok := cfg["b"].(Sensitive); !ok || b.Reveal() != "Bearer k" {
		t.Error("b is not the substituted value")
	}
}

// TestLoadDirectory: a directory reads its YAML and JSON files, sorted,
// as decK does; an empty one is a problem.
func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"b/plugins.yml":  "_format_version: \"3.0\"\nplugins:\n  - name: p\n",
		"a-stores.yaml":  "_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n",
		"c-vaults.json":  `{"_format_version": "3.0", "vaults": [{"name": "env", "prefix": "my-env"}]}`,
		"notes/read.txt": "not a state file",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Load([]string{dir}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.ConfigStores) != 1 || len(f.Plugins) != 1 || len(f.Vaults) != 1 {
		t.Errorf("loaded %d stores, %d plugins, %d vaults; want one each", len(f.ConfigStores), len(f.Plugins), len(f.Vaults))
	}
	empty := t.TempDir()
	if _, err := Load([]string{empty}, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "the directory holds no *.yaml, *.yml or *.json file") {
		t.Errorf("an empty directory: %v", err)
	}
}

// TestEscapedPlaceholder: $${{ is a literal ${{, and an expression kvsync
// does not substitute is reported without quoting what may be a secret.
func TestEscapedPlaceholder(t *testing.T) {
	const file = "_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n    secrets:\n      - key: k\n        value: 'pa$${{ss ${{ env \"KEY\" }}'\n      - key: j\n        value: 'CANARY-secret-${{ oops }}'\n"
	_, err := loadString(t, file, map[string]string{"KEY": "v"}, LoadOptions{})
	switch {
	case err == nil:
		t.Fatal("no error for an unsupported substitution")
	case strings.Contains(err.Error(), "CANARY"):
		t.Fatal("the error quotes the value around the unsupported substitution")
	case !strings.Contains(err.Error(), "secrets[1].value: unsupported substitution here"):
		t.Fatalf("error = %v", err)
	}
	f, err := loadString(t, strings.Replace(file, "${{ oops }}", "plain", 1), map[string]string{"KEY": "v"}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.ConfigStores[0].Secrets[0].Value.Reveal(); got != "pa${{ss v" {
		t.Errorf("value with an escape = %q", got)
	}
}

// TestMaxFileSize: a file over the bound is refused before it is read.
func TestMaxFileSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte("_format_version: \"3.0\"\n"+strings.Repeat("# padding\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load([]string{path}, LoadOptions{MaxFileSize: 1000}); err == nil || !strings.Contains(err.Error(), "the most kvsync reads") {
		t.Errorf("a file over the bound: %v", err)
	}
	if _, err := Load([]string{"-"}, LoadOptions{MaxFileSize: 1000, Stdin: strings.NewReader(strings.Repeat("x", 2000))}); err == nil || !strings.Contains(err.Error(), "the most kvsync reads") {
		t.Errorf("standard input over the bound: %v", err)
	}
	if _, err := Load([]string{"/dev/zero"}, LoadOptions{MaxFileSize: 1 << 20}); err == nil || !strings.Contains(err.Error(), "the most kvsync reads") {
		t.Errorf("/dev/zero: %v", err)
	}
}
