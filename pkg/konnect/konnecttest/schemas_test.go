package konnecttest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"testing"

	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

// konnectAPIDir is where the official specs live: $KVSYNC_KONNECT_API_DIR,
// else <repo root>/../shared/konnect-api.
func konnectAPIDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("KVSYNC_KONNECT_API_DIR"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	return filepath.Join(root, "..", "shared", "konnect-api")
}

// TestAIProxySchemaMatchesOfficial compares the hand-written ai-proxy schema
// with the official JSON-schema form for Gateway 3.15: every config field we
// declare exists there with the same type, default and enum, and every
// official field the seed tutorial touches is declared.
func TestAIProxySchemaMatchesOfficial(t *testing.T) {
	path := filepath.Join(konnectAPIDir(t), "gateway-plugin-schemas", "3.15", "AiProxy.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("official ai-proxy schema not available (%v); set KVSYNC_KONNECT_API_DIR", err)
	}
	var official map[string]any
	if err := json.Unmarshal(b, &official); err != nil {
		t.Fatal(err)
	}
	ours := PluginSchema("ai-proxy")
	var cfg map[string]any
	for _, f := range ours.Fields {
		if c, ok := f["config"].(map[string]any); ok {
			cfg = c
		}
	}
	offCfg := official["properties"].(map[string]any)["config"].(map[string]any)
	compareRecord(t, "config", cfg, offCfg)

	offProtocols := official["properties"].(map[string]any)["protocols"].(map[string]any)["default"]
	var want []string
	for _, p := range offProtocols.([]any) {
		want = append(want, p.(string))
	}
	if got := kong.NewPluginSchema(ours.Fields).DefaultProtocols(); !reflect.DeepEqual(got, want) {
		t.Errorf("protocols default %v, official %v", got, want)
	}

	for _, p := range []string{"config.route_type", "config.auth.header_name", "config.auth.header_value",
		"config.auth.allow_override", "config.model.provider", "config.model.name",
		"config.model.options.mistral_format", "config.model.options.upstream_url", "config.logging.log_statistics"} {
		if !declared(cfg, splitDots(p)[1:]) {
			t.Errorf("%s not declared", p)
		}
	}
}

func declared(rec map[string]any, path []string) bool {
	for _, f := range rec["fields"].([]any) {
		for name, def := range f.(map[string]any) {
			if name != path[0] {
				continue
			}
			if len(path) == 1 {
				return true
			}
			return declared(def.(map[string]any), path[1:])
		}
	}
	return false
}

var kongToJSONType = map[string]string{"string": "string", "integer": "integer", "number": "number",
	"boolean": "boolean", "record": "object", "array": "array", "set": "array", "map": "object"}

func compareRecord(t *testing.T, path string, ours, official map[string]any) {
	t.Helper()
	props, _ := official["properties"].(map[string]any)
	required := map[string]bool{}
	if list, ok := official["required"].([]any); ok {
		for _, r := range list {
			required[r.(string)] = true
		}
	}
	for _, f := range ours["fields"].([]any) {
		for name, d := range f.(map[string]any) {
			def := d.(map[string]any)
			p := path + "." + name
			off, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s: not in the official schema", p)
				continue
			}
			if kongToJSONType[def["type"].(string)] != off["type"] {
				t.Errorf("%s: type %v, official %v", p, def["type"], off["type"])
			}
			if !reflect.DeepEqual(def["default"], off["default"]) {
				t.Errorf("%s: default %v, official %v", p, def["default"], off["default"])
			}
			if !sameSet(def["one_of"], off["enum"]) {
				t.Errorf("%s: one_of %v, official enum %v", p, def["one_of"], off["enum"])
			}
			// Officially required (and without default) means required here.
			if required[name] && def["required"] != true {
				t.Errorf("%s: official schema requires it", p)
			}
			switch def["type"] {
			case "record":
				compareRecord(t, p, def, off)
			case "array":
				if el, ok := def["elements"].(map[string]any); ok && el["type"] == "record" {
					compareRecord(t, p+"[]", el, off["items"].(map[string]any))
				}
			}
		}
	}
}

func sameSet(a, b any) bool {
	as, _ := a.([]any)
	bs, _ := b.([]any)
	if len(as) != len(bs) {
		return false
	}
	key := func(l []any) []string {
		out := make([]string, len(l))
		for i, v := range l {
			b, _ := json.Marshal(v)
			out[i] = string(b)
		}
		sort.Strings(out)
		return out
	}
	return reflect.DeepEqual(key(as), key(bs))
}
