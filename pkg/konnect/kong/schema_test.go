package kong

import (
	"encoding/json"
	"reflect"
	"testing"
)

// testSchema is a small plugin schema in Kong's schema language exercising
// every rule: defaults, nulls, required and optional records, one_of.
const testSchema = `{"fields": [
  {"protocols": {"type": "set", "elements": {"type": "string", "one_of": ["http", "https"]}, "default": ["http", "https"]}},
  {"config": {"type": "record", "required": true, "fields": [
    {"mode": {"type": "string", "required": true, "one_of": ["a", "b"]}},
    {"limit": {"type": "integer", "default": 10, "between": [1, 100]}},
    {"ratio": {"type": "number"}},
    {"enabled": {"type": "boolean", "default": true}},
    {"names": {"type": "array", "elements": {"type": "string"}, "default": ["x"]}},
    {"headers": {"type": "map", "keys": {"type": "string"}, "values": {"type": "string"}}},
    {"logging": {"type": "record", "required": true, "fields": [
      {"level": {"type": "string", "default": "info"}},
      {"sink": {"type": "string"}}]}},
    {"auth": {"type": "record", "required": false, "fields": [
      {"header": {"type": "string"}},
      {"override": {"type": "boolean", "default": false}}]}},
    {"defaulted": {"type": "record", "default": {"k": "v"}, "fields": [
      {"k": {"type": "string"}}, {"other": {"type": "string", "default": "o"}}]}},
    {"must": {"type": "string", "required": true}}
  ]}}
]}`

func loadSchema(t *testing.T, src string) *PluginSchema {
	t.Helper()
	var s struct {
		Fields []map[string]any `json:"fields"`
	}
	if err := json.Unmarshal([]byte(src), &s); err != nil {
		t.Fatal(err)
	}
	return NewPluginSchema(s.Fields)
}

func decode(t *testing.T, src string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(src), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConfigDefaults(t *testing.T) {
	s := loadSchema(t, testSchema)
	cases := []struct {
		name     string
		in, want string
	}{
		{
			name: "empty config",
			in:   `{}`,
			// mode and must are required without a default: they stay absent.
			want: `{"limit": 10, "ratio": null, "enabled": true, "names": ["x"], "headers": null,
				"logging": {"level": "info", "sink": null}, "auth": null, "defaulted": {"k": "v"}}`,
		},
		{
			name: "given values kept, records filled",
			in:   `{"mode": "a", "limit": 5, "enabled": false, "auth": {"header": "h"}, "logging": {"sink": "s"}, "must": "m"}`,
			want: `{"mode": "a", "limit": 5, "ratio": null, "enabled": false, "names": ["x"], "headers": null,
				"logging": {"level": "info", "sink": "s"}, "auth": {"header": "h", "override": false},
				"defaulted": {"k": "v"}, "must": "m"}`,
		},
		{
			name: "explicit nulls stay null",
			in:   `{"limit": null, "logging": null, "must": "m", "mode": "b"}`,
			want: `{"mode": "b", "limit": null, "ratio": null, "enabled": true, "names": ["x"], "headers": null,
				"logging": null, "auth": null, "defaulted": {"k": "v"}, "must": "m"}`,
		},
		{
			name: "unknown fields are copied",
			in:   `{"mode": "a", "must": "m", "extra": {"x": 1}}`,
			want: `{"mode": "a", "limit": 10, "ratio": null, "enabled": true, "names": ["x"], "headers": null,
				"logging": {"level": "info", "sink": null}, "auth": null, "defaulted": {"k": "v"}, "must": "m", "extra": {"x": 1}}`,
		},
	}
	for _, c := range cases {
		in := decode(t, c.in)
		before := decode(t, c.in)
		got := s.ConfigDefaults(in)
		if want := decode(t, c.want); !reflect.DeepEqual(got, want) {
			gb, _ := json.Marshal(got)
			t.Errorf("%s: got %s", c.name, gb)
		}
		if !reflect.DeepEqual(in, before) {
			t.Errorf("%s: input modified", c.name)
		}
	}

	// Defaults are copies: changing the result does not change the schema.
	got := s.ConfigDefaults(nil)
	got["names"].([]any)[0] = "changed"
	if again := s.ConfigDefaults(nil); again["names"].([]any)[0] != "x" {
		t.Error("ConfigDefaults shares default values with the schema")
	}
}

func TestValidate(t *testing.T) {
	s := loadSchema(t, testSchema)
	cases := []struct {
		name string
		in   string
		want []FieldError
	}{
		{"valid", `{"mode": "a", "must": "m", "ratio": 0.5, "headers": {"a": "b"}}`, nil},
		{"valid with integer-valued float", `{"mode": "a", "must": "m", "limit": 7.0}`, nil},
		{"required missing", `{"mode": "a"}`, []FieldError{{"config.must", "required field missing"}}},
		{"required null", `{"mode": null, "must": "m"}`, []FieldError{{"config.mode", "required field missing"}}},
		{"unknown field", `{"mode": "a", "must": "m", "colour": 1}`, []FieldError{{"config.colour", "unknown field"}}},
		{"nested unknown field", `{"mode": "a", "must": "m", "auth": {"nope": true}}`, []FieldError{{"config.auth.nope", "unknown field"}}},
		{"one_of", `{"mode": "c", "must": "m"}`, []FieldError{{"config.mode", "expected one of: a, b"}}},
		{"string type", `{"mode": "a", "must": 5}`, []FieldError{{"config.must", "expected a string"}}},
		{"integer type", `{"mode": "a", "must": "m", "limit": 1.5}`, []FieldError{{"config.limit", "expected an integer"}}},
		{"number type", `{"mode": "a", "must": "m", "ratio": "1"}`, []FieldError{{"config.ratio", "expected a number"}}},
		{"boolean type", `{"mode": "a", "must": "m", "enabled": "yes"}`, []FieldError{{"config.enabled", "expected a boolean"}}},
		{"array type", `{"mode": "a", "must": "m", "names": "x"}`, []FieldError{{"config.names", "expected an array"}}},
		{"array element", `{"mode": "a", "must": "m", "names": ["x", 2]}`, []FieldError{{"config.names[1]", "expected a string"}}},
		{"map type", `{"mode": "a", "must": "m", "headers": []}`, []FieldError{{"config.headers", "expected a map"}}},
		{"map value", `{"mode": "a", "must": "m", "headers": {"k": 1}}`, []FieldError{{"config.headers.k", "expected a string"}}},
		{"record type", `{"mode": "a", "must": "m", "auth": "h"}`, []FieldError{{"config.auth", "expected a record"}}},
		{"between", `{"mode": "a", "must": "m", "limit": 101}`, []FieldError{{"config.limit", "value should be between 1 and 100"}}},
		{"several, sorted", `{"mode": "z", "zz": 1}`, []FieldError{
			{"config.mode", "expected one of: a, b"}, {"config.must", "required field missing"}, {"config.zz", "unknown field"}}},
	}
	for _, c := range cases {
		got := s.Validate(decode(t, c.in))
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}

	// YAML decoders produce ints; they are numbers too.
	if errs := s.Validate(map[string]any{"mode": "a", "must": "m", "limit": 5, "ratio": int64(2)}); errs != nil {
		t.Errorf("Go integers rejected: %v", errs)
	}
}

func TestDefaultProtocolsAndEnabled(t *testing.T) {
	s := loadSchema(t, testSchema)
	if got := s.DefaultProtocols(); !reflect.DeepEqual(got, []string{"http", "https"}) {
		t.Errorf("DefaultProtocols = %v", got)
	}
	empty := &PluginSchema{}
	if got := empty.DefaultProtocols(); !reflect.DeepEqual(got, DefaultPluginProtocols) {
		t.Errorf("DefaultProtocols without a protocols field = %v", got)
	}
	if !s.DefaultEnabled() {
		t.Error("DefaultEnabled = false")
	}
	var nilSchema *PluginSchema
	if got := nilSchema.ConfigDefaults(map[string]any{"a": 1.0}); !reflect.DeepEqual(got, map[string]any{"a": 1.0}) {
		t.Errorf("nil schema ConfigDefaults = %v", got)
	}
}

func TestMalformedSchemaDoesNotPanic(t *testing.T) {
	for _, src := range []string{`{"fields": []}`, `{"fields": [{"config": 5}]}`,
		`{"fields": [{"config": {"type": "record", "fields": "nope"}}]}`,
		`{"fields": [{"config": {"type": "record", "fields": [{"x": {"type": "array", "elements": 3}}]}}]}`} {
		s := loadSchema(t, src)
		_ = s.ConfigDefaults(map[string]any{"x": []any{1.0}})
		_ = s.Validate(map[string]any{"x": []any{1.0}})
		_ = s.DefaultProtocols()
	}
}

func TestVaultConfigDefaults(t *testing.T) {
	cases := []struct {
		vault string
		in    map[string]any
		want  map[string]any
	}{
		{"env", map[string]any{"prefix": "APP_"},
			map[string]any{"prefix": "APP_", "base64_decode": false, "ttl": nil, "neg_ttl": nil, "resurrect_ttl": nil}},
		{"env", nil,
			map[string]any{"prefix": nil, "base64_decode": false, "ttl": nil, "neg_ttl": nil, "resurrect_ttl": nil}},
		{"konnect", map[string]any{"config_store_id": "id-1", "ttl": 60.0},
			map[string]any{"config_store_id": "id-1", "ttl": 60.0, "neg_ttl": nil, "resurrect_ttl": nil}},
		{"aws", map[string]any{"region": "us-east-1"},
			map[string]any{"region": "us-east-1", "ttl": nil, "neg_ttl": nil, "resurrect_ttl": nil}},
		{"custom-vault", map[string]any{"a": "b"}, map[string]any{"a": "b"}},
	}
	for _, c := range cases {
		if got := VaultConfigDefaults(c.vault, c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %v: got %v, want %v", c.vault, c.in, got, c.want)
		}
	}
}

func TestValidateVaultConfig(t *testing.T) {
	cases := []struct {
		vault string
		in    map[string]any
		want  []FieldError
	}{
		{"konnect", map[string]any{"config_store_id": "id"}, nil},
		{"konnect", map[string]any{}, []FieldError{{"config.config_store_id", "required field missing"}}},
		{"konnect", map[string]any{"config_store_id": "id", "x": 1.0}, []FieldError{{"config.x", "unknown field"}}},
		{"env", map[string]any{"base64_decode": "no"}, []FieldError{{"config.base64_decode", "expected a boolean"}}},
		{"hcv", map[string]any{"anything": "goes"}, nil},
		{"nope", nil, []FieldError{{"name", "vault 'nope' is not installed"}}},
	}
	for _, c := range cases {
		if got := ValidateVaultConfig(c.vault, c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %v: got %v, want %v", c.vault, c.in, got, c.want)
		}
	}
}

// TestValidateReadsTheFilledValue: Validate checks a value as fillRecord
// would fill it without making the copy; it must find exactly what
// checking the filled copy finds, defaults (even a schema's wrong ones)
// and records filled at every depth included.
func TestValidateReadsTheFilledValue(t *testing.T) {
	s := loadSchema(t, testSchema)
	wrongDefaults := NewRecord(decode(t, `{"fields": [
		{"bad": {"type": "string", "default": 5}},
		{"level": {"type": "string", "one_of": ["a"], "default": "b"}},
		{"nested": {"type": "record", "required": true, "fields": [
			{"inner": {"type": "integer", "default": 1.5}},
			{"deeper": {"type": "record", "required": true, "fields": [{"must": {"type": "string", "required": true}}]}}]}},
		{"rec": {"type": "record", "default": {"x": 1}, "fields": [{"y": {"type": "string", "required": true}}]}}
	]}`)["fields"])
	inputs := []string{
		`{}`, `{"mode": "a", "must": "m"}`, `{"mode": null, "logging": null, "auth": {}}`,
		`{"auth": {"override": "no", "extra": 1}, "logging": {"level": 3}}`, `{"defaulted": {"k": 1}}`,
		`{"nested": {}}`, `{"nested": {"deeper": {"must": 1}}}`, `{"nested": null, "rec": {"y": "z"}}`, `{"names": ["x", null]}`,
	}
	for _, r := range []*Record{s.config, wrongDefaults} {
		for _, in := range inputs {
			var want []FieldError
			validateRecord(r.fields, fillRecord(r.fields, decode(t, in)), false, "config", &want)
			sortErrors(want)
			if got := r.Validate(decode(t, in), "config"); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: got %v, want %v (as filled)", in, got, want)
			}
		}
	}
}
