package konnect

import (
	"fmt"
	"reflect"
	"strings"
)

// Sensitive is a value that must reach Konnect in clear but prints redacted
// everywhere else; pkg/state's Sensitive is one. The client reveals it in
// exactly one place, when it encodes a request body: as a whole body value
// (a secret's value), or as a leaf of a free-form map or list (plugin and
// vault configs), it becomes its plain string there, and that string is
// redacted from any error the request causes. So no caller has to remember
// to reveal. A Sensitive anywhere else in a body (a field of a struct the
// client does not know) fails the request before anything is sent, rather
// than sending its redacted rendering.
type Sensitive interface {
	Reveal() string
}

// Plaintext is a Sensitive holding its value as is, for callers that have a
// plain string.
type Plaintext string

// Reveal returns the value.
func (p Plaintext) Reveal() string { return string(p) }

// revealer is implemented by request body types that hold free-form maps,
// which may carry Sensitive leaves.
type revealer interface {
	revealed(collect func(string)) any
}

// reveal returns a copy of a request body with every Sensitive replaced by
// its plain value, passing each non-empty one to collect.
func reveal(v any, collect func(string)) any {
	switch t := v.(type) {
	case Sensitive:
		s := t.Reveal()
		if s != "" {
			collect(s)
		}
		return s
	case map[string]any:
		return revealMap(t, collect)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = reveal(e, collect)
		}
		return out
	case revealer:
		return t.revealed(collect)
	}
	return v
}

func revealMap(m map[string]any, collect func(string)) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		out[k] = reveal(e, collect)
	}
	return out
}

func (v Vault) revealed(collect func(string)) any {
	v.Config = revealMap(v.Config, collect)
	return v
}

func (p Plugin) revealed(collect func(string)) any {
	p.Config = revealMap(p.Config, collect)
	return p
}

var sensitiveType = reflect.TypeFor[Sensitive]()

// unrevealed returns the JSON path of a Sensitive that reveal left in a
// body (one JSON encoding would send as its redacted rendering), or "".
func unrevealed(v any) string {
	return findSensitive(reflect.ValueOf(v), "body", 0)
}

func findSensitive(v reflect.Value, path string, depth int) string {
	if !v.IsValid() || depth > 64 {
		return ""
	}
	if v.Type().Implements(sensitiveType) {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return ""
		}
		return path
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return findSensitive(v.Elem(), path, depth+1)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if p := findSensitive(v.Field(i), path+"."+name, depth+1); p != "" {
				return p
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if p := findSensitive(it.Value(), fmt.Sprintf("%s.%v", path, it.Key()), depth+1); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if p := findSensitive(v.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1); p != "" {
				return p
			}
		}
	}
	return ""
}
