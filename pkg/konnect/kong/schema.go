package kong

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// This file interprets Kong's schema language, the form in which Konnect
// serves plugin and entity schemas (GET …/core-entities/schemas/plugins/{name}).
// The emulator uses it to validate entities and fill their defaults, and the
// plan uses the same code to predict what Konnect will store, so both agree
// by construction.
//
// A schema is a list of single-key field objects: {"name": {definition}}.
// A definition has a "type" (string, number, integer, boolean, array, set,
// map, record, foreign) and optionally: "required", "default", "one_of",
// "between" (numbers), "len_min"/"len_max" (strings), "elements" (array and
// set), "keys"/"values" (map), "fields" (record), "encrypted" (a credential:
// Kong stores it encrypted and kvsync never prints it).
//
// Defaults follow Kong's insert rule (kong/db/schema/init.lua,
// adjust_field_for_context and handle_missing_field):
//   - a field that is present, even as null, keeps its value; a record given
//     as an object has its own fields filled recursively;
//   - an absent field with a "default" gets a deep copy of it;
//   - an absent record that is "required" and has no default is expanded
//     from its own fields' defaults (recursively, by the same rule);
//   - any other absent field that is not required becomes null;
//   - an absent required field without a default stays absent, and
//     validation reports it.

// FieldError is one validation failure; Path is dotted from the entity root,
// e.g. "config.model.provider".
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e FieldError) String() string { return e.Path + ": " + e.Message }

// DefaultPluginProtocols is the default of the Plugin entity's protocols
// (from the Control Planes Config spec), used when a schema has none.
var DefaultPluginProtocols = []string{"grpc", "grpcs", "http", "https"}

// field is one named field definition. sub holds the parsed fields of a
// record, derived once with the schema rather than for every value filled
// or validated.
type field struct {
	name string
	def  map[string]any
	sub  []field
}

// Record is a parsed list of field definitions: an entity's schema, or the
// fields of one record inside it.
type Record struct {
	fields []field
}

// NewRecord parses a "fields" list as served ([]map[string]any or []any),
// skipping malformed entries: a schema from the wire must never make us
// panic.
func NewRecord(fields any) *Record {
	return &Record{fields: schemaFields(fields)}
}

// Fill returns a copy of value with the record's defaults filled in by
// Kong's insert rule (see the top of this file). Fields the record does
// not know are copied unchanged; value is not modified.
func (r *Record) Fill(value map[string]any) map[string]any {
	if r == nil {
		return deepCopyMap(value)
	}
	return fillRecord(r.fields, value)
}

// Validate checks value against the record after filling its defaults (so
// a required field that has a default may be omitted): unknown fields,
// wrong types, missing required fields, one_of, between and length
// violations. Paths start with path ("" for an entity root). The result is
// sorted by path and is empty when the value is valid.
func (r *Record) Validate(value map[string]any, path string) []FieldError {
	var errs []FieldError
	if r == nil {
		return nil
	}
	validateRecord(r.fields, value, true, path, &errs)
	sortErrors(errs)
	return errs
}

// Field returns the definition of a top-level field, nil when absent.
func (r *Record) Field(name string) map[string]any {
	if r == nil {
		return nil
	}
	for _, f := range r.fields {
		if f.name == name {
			return f.def
		}
	}
	return nil
}

// PluginSchema is a plugin's schema with what kvsync derives from it
// computed once: the config record, the protocols default and the paths of
// the config fields marked encrypted.
type PluginSchema struct {
	raw       []map[string]any
	entity    *Record
	config    *Record
	protocols []string
	encrypted []Path
}

// NewPluginSchema parses a plugin schema's top-level field list.
func NewPluginSchema(fields []map[string]any) *PluginSchema {
	s := &PluginSchema{raw: fields, entity: NewRecord(fields)}
	configDef := s.entity.Field("config")
	s.config = NewRecord(configDef["fields"])
	s.protocols = append([]string(nil), DefaultPluginProtocols...)
	if d, ok := s.entity.Field("protocols")["default"].([]any); ok {
		s.protocols = make([]string, 0, len(d))
		for _, v := range d {
			if str, ok := v.(string); ok {
				s.protocols = append(s.protocols, str)
			}
		}
	}
	if configDef != nil {
		s.encrypted = encryptedPaths(Path{"config"}, configDef, nil)
	}
	return s
}

// Fields is the schema as served.
func (s *PluginSchema) Fields() []map[string]any {
	if s == nil {
		return nil
	}
	return s.raw
}

// Entity is the schema of the whole plugin entity.
func (s *PluginSchema) Entity() *Record {
	if s == nil {
		return nil
	}
	return s.entity
}

// ConfigDefaults returns a new config with every field of the schema's config
// record present, following Kong's insert rule. The input is not modified.
func (s *PluginSchema) ConfigDefaults(config map[string]any) map[string]any {
	if s == nil {
		return deepCopyMap(config)
	}
	return s.config.Fill(config)
}

// DefaultProtocols is the default of the schema's protocols field, or
// DefaultPluginProtocols when the schema declares none. The caller owns the
// slice.
func (s *PluginSchema) DefaultProtocols() []string {
	if s == nil || s.protocols == nil {
		return append([]string(nil), DefaultPluginProtocols...)
	}
	return append([]string(nil), s.protocols...)
}

// DefaultEnabled is the default of a plugin's enabled flag: true, as the
// Plugin entity declares (the plugin schemas do not override it).
func (s *PluginSchema) DefaultEnabled() bool {
	if s == nil {
		return true
	}
	if d, ok := s.entity.Field("enabled")["default"].(bool); ok {
		return d
	}
	return true
}

// Validate checks a plugin config against the schema's config record; paths
// start with "config.".
func (s *PluginSchema) Validate(config map[string]any) []FieldError {
	if s == nil {
		return nil
	}
	return s.config.Validate(config, "config")
}

// FieldNames lists the fields of the record at path ("config",
// "config.model"); nil when there is no record there.
func (s *PluginSchema) FieldNames(path string) []string {
	if s == nil {
		return nil
	}
	rec := s.entity
	for _, step := range strings.Split(path, ".") {
		def := rec.Field(step)
		if typeOf(def) != "record" {
			return nil
		}
		rec = NewRecord(def["fields"])
	}
	names := make([]string, len(rec.fields))
	for i, f := range rec.fields {
		names[i] = f.name
	}
	return names
}

// EncryptedPaths are the config fields the schema marks encrypted, as paths
// from the plugin root ("config", …), array and map elements as Any.
func (s *PluginSchema) EncryptedPaths() []Path {
	if s == nil {
		return nil
	}
	return s.encrypted
}

// encryptedPaths walks a field definition and its sub-fields, elements and
// values for "encrypted": true.
func encryptedPaths(p Path, def map[string]any, out []Path) []Path {
	if enc, _ := def["encrypted"].(bool); enc {
		out = append(out, p)
	}
	for _, f := range schemaFields(def["fields"]) {
		out = encryptedPaths(p.With(f.name), f.def, out)
	}
	for _, k := range []string{"elements", "values"} {
		if el, ok := def[k].(map[string]any); ok {
			out = encryptedPaths(p.With(Any), el, out)
		}
	}
	return out
}

// schemaFields turns a "fields" list into named definitions, skipping
// malformed entries.
func schemaFields(list any) []field {
	var out []field
	switch l := list.(type) {
	case []map[string]any:
		for _, m := range l {
			out = append(out, fieldsOf(m)...)
		}
	case []any:
		for _, e := range l {
			if m, ok := e.(map[string]any); ok {
				out = append(out, fieldsOf(m)...)
			}
		}
	}
	return out
}

func fieldsOf(m map[string]any) []field {
	var out []field
	for name, d := range m {
		if def, ok := d.(map[string]any); ok {
			f := field{name: name, def: def}
			if typeOf(def) == "record" {
				f.sub = schemaFields(def["fields"])
			}
			out = append(out, f)
		}
	}
	// One key per object in practice; sort for determinism otherwise.
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func sortErrors(errs []FieldError) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
}

func fillRecord(fields []field, value map[string]any) map[string]any {
	out := make(map[string]any, len(fields)+len(value))
	for k, v := range value {
		out[k] = deepCopy(v)
	}
	for _, f := range fields {
		v, present := value[f.name]
		if present {
			if m, ok := v.(map[string]any); ok && typeOf(f.def) == "record" {
				out[f.name] = fillRecord(f.sub, m)
			}
			continue
		}
		if d, ok := f.def["default"]; ok && d != nil {
			out[f.name] = deepCopy(d)
			continue
		}
		required, _ := f.def["required"].(bool)
		switch {
		case required && typeOf(f.def) == "record":
			out[f.name] = fillRecord(f.sub, nil)
		case !required:
			out[f.name] = nil
		}
	}
	return out
}

func typeOf(def map[string]any) string {
	t, _ := def["type"].(string)
	return t
}

func joinPath(base, name string) string {
	if base == "" {
		return name
	}
	return base + "." + name
}

// validateRecord checks value against fields. With fill, it checks value
// as fillRecord fills it, without making that copy (Validate runs for
// every plugin of a file, 10,000 of them at scale): an absent field is
// read as its default, a required record absent is checked as an empty
// one, and a record present is checked filled in turn. A default is
// checked as it is, unfilled, as the copy would hold it.
func validateRecord(fields []field, value map[string]any, fill bool, path string, errs *[]FieldError) {
	for _, f := range fields {
		v, present := value[f.name]
		if !present && fill {
			required, _ := f.def["required"].(bool)
			if d, ok := f.def["default"]; ok && d != nil {
				validateValue(f.def, f.sub, d, false, joinPath(path, f.name), errs)
				continue
			}
			if required && typeOf(f.def) == "record" {
				v, present = emptyRecord, true
			}
		}
		if !present || v == nil {
			if req, _ := f.def["required"].(bool); req {
				*errs = append(*errs, FieldError{joinPath(path, f.name), "required field missing"})
			}
			continue
		}
		validateValue(f.def, f.sub, v, fill, joinPath(path, f.name), errs)
	}
	var names []string
	for k := range value {
		if !hasField(fields, k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		*errs = append(*errs, FieldError{joinPath(path, k), "unknown field"})
	}
}

// emptyRecord is an absent required record as validateRecord reads it
// (never written).
var emptyRecord = map[string]any{}

// hasField reports whether fields define name: a scan, as a record's
// fields are tens and a value's keys few, cheaper than a set per check.
func hasField(fields []field, name string) bool {
	for _, f := range fields {
		if f.name == name {
			return true
		}
	}
	return false
}

// validateValue checks v against def; sub are def's record fields when
// already parsed (nil: parsed here). fill: a record is checked as filled
// with its defaults (see validateRecord).
func validateValue(def map[string]any, sub []field, v any, fill bool, path string, errs *[]FieldError) {
	bad := func(msg string) { *errs = append(*errs, FieldError{path, msg}) }
	switch t := typeOf(def); t {
	case "string":
		s, ok := v.(string)
		if !ok {
			bad("expected a string")
			return
		}
		n := utf8.RuneCountInString(s)
		if min, ok := toFloat(def["len_min"]); ok && float64(n) < min {
			bad(fmt.Sprintf("length must be at least %v", min))
		}
		if max, ok := toFloat(def["len_max"]); ok && float64(n) > max {
			bad(fmt.Sprintf("length must be at most %v", max))
		}
	case "number", "integer":
		f, ok := toFloat(v)
		if !ok {
			bad("expected a " + t)
			return
		}
		if t == "integer" && f != math.Trunc(f) {
			bad("expected an integer")
			return
		}
		if b, ok := def["between"].([]any); ok && len(b) == 2 {
			lo, ok1 := toFloat(b[0])
			hi, ok2 := toFloat(b[1])
			if ok1 && ok2 && (f < lo || f > hi) {
				bad(fmt.Sprintf("value should be between %v and %v", lo, hi))
			}
		}
		if gt, ok := toFloat(def["gt"]); ok && !(f > gt) {
			bad(fmt.Sprintf("value must be greater than %v", gt))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("expected a boolean")
			return
		}
	case "array", "set":
		list, ok := v.([]any)
		if !ok {
			if strs, ok2 := v.([]string); ok2 {
				list = make([]any, len(strs))
				for i, s := range strs {
					list[i] = s
				}
			} else {
				bad("expected " + article(t) + " " + t)
				return
			}
		}
		if el, ok := def["elements"].(map[string]any); ok {
			for i, e := range list {
				p := fmt.Sprintf("%s[%d]", path, i)
				if e == nil {
					*errs = append(*errs, FieldError{p, "required field missing"})
					continue
				}
				validateValue(el, nil, e, false, p, errs)
			}
		}
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			bad("expected a map")
			return
		}
		if vals, ok := def["values"].(map[string]any); ok {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				if m[k] != nil {
					validateValue(vals, nil, m[k], false, path+"."+k, errs)
				}
			}
		}
	case "record":
		m, ok := v.(map[string]any)
		if !ok {
			bad("expected a record")
			return
		}
		if sub == nil {
			sub = schemaFields(def["fields"])
		}
		validateRecord(sub, m, fill, path, errs)
	case "foreign":
		m, ok := v.(map[string]any)
		if !ok {
			bad("expected a foreign key (an object with an id)")
			return
		}
		validateRecord([]field{{name: "id", def: map[string]any{"type": "string", "required": true}}}, m, false, path, errs)
	default:
		// Unknown types (e.g. "any", "function") are accepted unchecked.
	}
	if oneOf, ok := def["one_of"].([]any); ok && len(oneOf) > 0 && !containsValue(oneOf, v) {
		choices := make([]string, len(oneOf))
		for i, c := range oneOf {
			choices[i] = fmt.Sprint(c)
		}
		bad("expected one of: " + strings.Join(choices, ", "))
	}
}

func article(t string) string {
	if t == "array" {
		return "an"
	}
	return "a"
}

func containsValue(list []any, v any) bool {
	vf, vIsNum := toFloat(v)
	for _, c := range list {
		if cf, ok := toFloat(c); ok && vIsNum {
			if cf == vf {
				return true
			}
			continue
		}
		if c == v {
			return true
		}
	}
	return false
}

// toFloat accepts the numeric types JSON and YAML decoders produce.
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return deepCopyMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	case []string:
		return append([]string(nil), t...)
	}
	return v
}

func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}
