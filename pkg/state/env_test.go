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
