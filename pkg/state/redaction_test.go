package state

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Canaries: distinctive values that must never show in any rendering.
const (
	canaryLiteral = "CANARYLITERAL4f2a"
	canaryEnv     = "CANARYENV9b1c"
	canaryConfig  = "CANARYCFG77de"
	canaryJSON    = "CANARYJSONa1b2"
)

var canaries = []string{canaryLiteral, canaryEnv, canaryConfig, canaryJSON}

// assertNoCanary fails, without printing the rendering, when one holds a
// canary in clear or hex-encoded.
func assertNoCanary(t *testing.T, what, rendering string) {
	t.Helper()
	lower := strings.ToLower(rendering)
	for _, c := range canaries {
		if strings.Contains(rendering, c) || strings.Contains(lower, hex.EncodeToString([]byte(c))) {
			t.Errorf("%s reveals a secret canary", what)
		}
	}
}

const canaryFile = `_format_version: "3.0"
config_stores:
  - name: s
    secrets:
      - key: literal
        value: ` + canaryLiteral + `
      - key: env
        value: Bearer ${{ env "CANARY_ENV" }}
      - key: creds
        value: '{"user": "` + canaryJSON + `"}'
vaults:
  - name: konnect
    prefix: kv
    config:
      config_store: s
  - name: hcv
    prefix: hv
    config:
      token: ${{ env "CANARY_CFG" }}
plugins:
  - name: p
    config:
      header: ${{ env "CANARY_CFG" }}
      nested: [{deep: '${{ env "CANARY_ENV" }}'}]
      user: "{vault://kv/creds/user}"
`

var canaryEnvVars = map[string]string{"CANARY_ENV": canaryEnv, "CANARY_CFG": canaryConfig}

func TestRedactionOfLoadedState(t *testing.T) {
	inDir(t, map[string]string{"kvsync.yaml": canaryFile})
	f, err := Load([]string{"kvsync.yaml"}, LoadOptions{LookupEnv: fakeEnv(canaryEnvVars)})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	// The values are there, reachable through Reveal only.
	if f.ConfigStores[0].Secrets[1].Value.Reveal() != "Bearer "+canaryEnv {
		t.Fatal("substituted secret value mismatch")
	}
	if RevealMap(f.Plugins[0].Config)["header"] != canaryConfig {
		t.Fatal("substituted config value mismatch")
	}

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v", "%-8s", "%T"} {
		for _, v := range []struct {
			name string
			v    any
		}{
			{"*File", f},
			{"File", *f},
			{"ConfigStores", f.ConfigStores},
			{"Secret", f.ConfigStores[0].Secrets[1]},
			{"Sensitive", f.ConfigStores[0].Secrets[1].Value},
			{"*Sensitive", &f.ConfigStores[0].Secrets[1].Value},
			{"Vault.Config", f.Vaults[1].Config},
			{"Plugin", f.Plugins[0]},
		} {
			assertNoCanary(t, fmt.Sprintf("Sprintf(%q, %s)", verb, v.name), fmt.Sprintf(verb, v.v))
		}
	}
	assertNoCanary(t, "Sprint", fmt.Sprint(f, *f))
	assertNoCanary(t, "Sprintln", fmt.Sprintln(f.Plugins, f.ConfigStores))

	js, err := json.Marshal(f)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	assertNoCanary(t, "json.Marshal", string(js))
	if !strings.Contains(string(js), `"(sensitive)"`) {
		t.Error("json.Marshal shows no redaction marker")
	}
	ys, err := yaml.Marshal(f)
	if err != nil {
		t.Fatalf("yaml.Marshal: %v", err)
	}
	assertNoCanary(t, "yaml.Marshal", string(ys))
	ks, names, err := MarshalEnv(f)
	if err != nil {
		t.Fatalf("MarshalEnv: %v", err)
	}
	assertNoCanary(t, "MarshalEnv", string(ks)+strings.Join(names, ","))
}

// TestRedactionOfProblems loads files whose problems concern secret values
// and checks no message quotes one.
func TestRedactionOfProblems(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		env        map[string]string
	}{
		{
			name: "too long after substitution",
			file: "_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n    secrets:\n      - {key: k, value: '${{ env \"X\" }}'}\n",
			env:  map[string]string{"X": strings.Repeat(canaryEnv, 500)},
		},
		{
			name: "literal too long",
			file: "_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n    secrets:\n      - {key: k, value: " + strings.Repeat(canaryLiteral, 400) + "}\n",
		},
		{
			name: "property of a value that is not JSON",
			file: "_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n    secrets:\n      - {key: k, value: '{" + canaryJSON + "'}\nvaults:\n  - {name: konnect, prefix: kv, config: {config_store: s}}\nplugins:\n  - {name: p, config: {a: '{vault://kv/k/prop}'}}\n",
		},
		{
			name: "property of the wrong type",
			file: "_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n    secrets:\n      - {key: k, value: '{\"prop\": {\"" + canaryJSON + "\": 1}}'}\nvaults:\n  - {name: konnect, prefix: kv, config: {config_store: s}}\nplugins:\n  - {name: p, config: {a: '{vault://kv/k/prop}'}}\n",
		},
		{
			name: "substituted config value holding a reference inside a string",
			file: "_format_version: \"3.0\"\nplugins:\n  - {name: p, config: {a: 'x ${{ env \"X\" }}', b: [1, '${{ env \"MISSING\" }}']}}\nvaults:\n  - {name: konnect, prefix: kv, config: {config_store: '${{ env \"X\" }}'}}\n",
			env:  map[string]string{"X": canaryEnv + " {vault://kv/k}"},
		},
		{
			name: "malformed expression in a literal secret",
			file: "_format_version: \"3.0\"\nconfig_stores:\n  - name: s\n    secrets:\n      - {key: k, value: '" + canaryLiteral + "${{ nope }}'}\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inDir(t, map[string]string{"kvsync.yaml": tc.file})
			_, err := Load([]string{"kvsync.yaml"}, LoadOptions{LookupEnv: fakeEnv(tc.env)})
			if err == nil {
				t.Fatal("Load succeeded")
			}
			assertNoCanary(t, "the error", err.Error())
		})
	}
}

func TestSensitiveFormatting(t *testing.T) {
	s := NewSensitive(canaryEnv, "X")
	for verb, want := range map[string]string{
		"%v":  Redacted,
		"%s":  Redacted,
		"%q":  Redacted,
		"%x":  Redacted,
		"%d":  Redacted,
		"%#v": "state.Sensitive(" + Redacted + ")",
		"%+v": Redacted,
	} {
		if got := fmt.Sprintf(verb, s); got != want {
			t.Errorf("Sprintf(%q) = %q, want %q", verb, got, want)
		}
	}
	if got := s.Describe(); got != "(from env X)" {
		t.Errorf("Describe = %q", got)
	}
	if got := NewSensitive(canaryEnv).Describe(); got != Redacted {
		t.Errorf("Describe without env = %q", got)
	}
}

// fmt stops calling Format on values it reaches through a pointer inside a
// struct printed with a verb that does not fit; it then prints unexported
// fields as they are. The value must not be one of them.
func TestSensitiveNestedBehindPointer(t *testing.T) {
	const canary = "CANARY_NESTED_7f3a"
	type inner struct{ S Sensitive }
	type outer struct{ P *inner }
	o := outer{P: &inner{S: NewSensitive(canary)}}
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%d", "%x", "%q"} {
		for _, arg := range []any{o, &o, []*inner{o.P}, map[string]*inner{"k": o.P}} {
			if strings.Contains(fmt.Sprintf(verb, arg), canary) {
				t.Errorf("%s of %T shows the secret value", verb, arg)
			}
		}
	}
}
