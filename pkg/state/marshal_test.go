package state

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMarshalGolden(t *testing.T) {
	desc := "d"
	enabled := false
	f := &File{
		ControlPlaneName: "cp",
		SelectTags:       []string{"kvsync"},
		ConfigStores: []ConfigStore{
			// Values read back from Konnect are unknown: zero Sensitive.
			{Name: "a-b", Secrets: []Secret{{Key: "c"}}},
			{Name: "a", Secrets: []Secret{{Key: "b-c"}, {Key: "whole", Value: substitutedWhole("v", "MY_VAR")}}},
		},
		Vaults: []Vault{{
			Name: "konnect", Prefix: "kv", Description: &desc,
			Config: map[string]any{}, ConfigStore: "a", Tags: []string{"t"},
		}},
		Plugins: []Plugin{{
			Name: "rate-limiting", Service: "svc", Enabled: &enabled, Protocols: []string{"http"},
			Config: map[string]any{
				"minute": float64(5),
				"ratio":  0.5,
				"flag":   true,
				"none":   nil,
				"text":   "true",
				"redis":  map[string]any{"password": NewSensitive("x")},
				"list":   []any{"a", float64(1)},
			},
		}},
	}
	got, names, err := MarshalEnv(f)
	if err != nil {
		t.Fatalf("MarshalEnv: %v", err)
	}
	want := `# Secret values come from the environment: set KVSYNC_A_B_C, KVSYNC_A_B_C_2, KVSYNC_PLUGIN_RATE_LIMITING_CONFIG_REDIS_PASSWORD, MY_VAR
_format_version: "3.0"
_konnect:
  control_plane_name: cp
_info:
  select_tags: [kvsync]
config_stores:
  - name: a-b
    secrets:
      - key: c
        value: ${{ env "KVSYNC_A_B_C" }}
  - name: a
    secrets:
      - key: b-c
        value: ${{ env "KVSYNC_A_B_C_2" }}
      - key: whole
        value: ${{ env "MY_VAR" }}
vaults:
  - name: konnect
    prefix: kv
    description: d
    config:
      config_store: a
    tags: [t]
plugins:
  - name: rate-limiting
    service: svc
    enabled: false
    protocols: [http]
    config:
      flag: true
      list:
        - a
        - 1
      minute: 5
      none: null
      ratio: 0.5
      redis:
        password: ${{ env "KVSYNC_PLUGIN_RATE_LIMITING_CONFIG_REDIS_PASSWORD" }}
      text: "true"
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("MarshalEnv output differs (-want +got):\n%s", diff)
	}
	wantNames := []string{"KVSYNC_A_B_C", "KVSYNC_A_B_C_2", "KVSYNC_PLUGIN_RATE_LIMITING_CONFIG_REDIS_PASSWORD", "MY_VAR"}
	if !cmp.Equal(names, wantNames) {
		t.Errorf("names = %v, want %v", names, wantNames)
	}
}

// substitutedWhole is a value as Load makes it from ${{ env "NAME" }}.
func substitutedWhole(value, name string) Sensitive {
	s := NewSensitive(value, name)
	s.whole = true
	return s
}

func TestMarshalRefusesPlaceholdersInPlainStrings(t *testing.T) {
	f := &File{Plugins: []Plugin{{Name: "p", Config: map[string]any{"a": `${{ env "X" }}`}}}}
	if _, _, err := MarshalEnv(f); err == nil {
		t.Error("Marshal wrote a plain string that loading would substitute")
	}
}

// TestMarshalRoundTrip loads the examples, writes them and loads the result
// with the written variables set: the same state comes back.
func TestMarshalRoundTrip(t *testing.T) {
	env := map[string]string{"MISTRAL_API_KEY": "fake-key", "REDIS_HOST": "redis.internal"}
	for _, path := range []string{"../../examples/mistral-ai-proxy/kvsync.yaml", "../../examples/env-vault-rate-limiting/kvsync.yaml"} {
		t.Run(path, func(t *testing.T) {
			orig, err := Load([]string{path}, LoadOptions{LookupEnv: fakeEnv(env)})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			data, names, err := MarshalEnv(orig)
			if err != nil {
				t.Fatalf("MarshalEnv: %v", err)
			}
			// Derived names take the original values; the others keep theirs.
			env2 := map[string]string{}
			for k, v := range env {
				env2[k] = v
			}
			for _, s := range orig.ConfigStores {
				for _, sec := range s.Secrets {
					if _, whole := sec.Value.WholeEnv(); !whole {
						env2[SecretEnvName(s.Name, sec.Key)] = sec.Value.Reveal()
					}
				}
			}
			for _, n := range names {
				if _, ok := env2[n]; !ok {
					t.Errorf("written file reads %s, which the test cannot set", n)
				}
			}
			again, err := Load([]string{"-"}, LoadOptions{Stdin: strings.NewReader(string(data)), LookupEnv: fakeEnv(env2)})
			if err != nil {
				t.Fatalf("Load of the written file: %v\n%s", err, data)
			}
			opts := cmp.Options{
				// Env names differ where the written file uses derived ones.
				cmp.Transformer("value", func(s Sensitive) string { return digest(s.Reveal()) }),
				cmpopts.IgnoreTypes(Position{}),
				cmpopts.IgnoreFields(VaultRef{}, "Path"),
				cmpopts.EquateEmpty(),
			}
			if diff := cmp.Diff(orig, again, opts); diff != "" {
				t.Errorf("round trip differs (-orig +again):\n%s", diff)
			}
		})
	}
}
