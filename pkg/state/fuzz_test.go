package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader as standard input: it must
// never panic, must return a File or problems (never both, never neither),
// and the problems must never quote the environment's values.
func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	const envValue = "FUZZENVVALUE3e9d"
	env := func(name string) (string, bool) {
		if name == "UNSET" {
			return "", false
		}
		return envValue, true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Load([]string{"-"}, LoadOptions{Stdin: strings.NewReader(string(data)), LookupEnv: env})
		if (file == nil) == (err == nil) {
			t.Fatalf("Load returned file %v and error %v", file != nil, err != nil)
		}
		if err != nil {
			if len(ProblemsOf(err)) == 0 {
				t.Fatal("error without problems")
			}
			if !strings.Contains(string(data), envValue) && strings.Contains(err.Error(), envValue) {
				t.Fatal("a problem quotes a substituted value")
			}
			return
		}
		if _, _, err := MarshalEnv(file); err != nil && !strings.Contains(err.Error(), "${{") {
			t.Fatalf("Marshal of a loaded file: %v", err)
		}
	})
}

// fuzzSeeds are FuzzLoad's seeds: the examples, and texts at the edges of
// the format.
func fuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	examples, _ := filepath.Glob("../../examples/*/kvsync.yaml")
	for _, p := range examples {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	for _, s := range []string{
		"",
		"---\n---\n",
		canaryFile,
		"_format_version: \"3.0\"\nvaults:\n  - {name: konnect, prefix: My_Vault, config: {config_store: x}}\n",
		"_format_version: \"3.0\"\nplugins:\n  - name: p\n    config: &a\n      x: *a\n",
		"_format_version: \"3.0\"\nplugins:\n  - {name: p, config: {a: 'Bearer {vault://kv/k}', b: '{vault://kv}', c: '${{ env \"\" }}'}}\n",
		"_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n    secrets:\n      - {key: k, value: '${{ env \"FUZZ\" }}${{ nope'}\n",
		"a: &a [*a, *a, *a]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n",
		"_format_version: \"3.0\"\n_konnect: {control_plane_name: [x]}\n_info: {select_tags: [a, a]}\nservices: []\n",
		"_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n    secrets:\n      - {key: k, value: '{\"p\": \"x\"}'}\nvaults:\n  - {name: konnect, prefix: kv, config: {config_store: s}}\nplugins:\n  - {name: p, config: {a: '{vault://kv/k/p}', b: '{vault://kv/k/q}', c: !!binary aGk=, d: .nan, <<: {}}}\n",
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}
