package konnecttest

import (
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// decK compatibility, not in the public spec: what decK (v1.65, through
// github.com/kong/go-database-reconciler and github.com/kong/go-kong)
// calls in Konnect mode besides the specified endpoints. Each is matched to
// what those clients read.

// KongVersion is the gateway version the root info reports.
const KongVersion = "3.11.0.0"

// matchCompat matches the decK look-ups outside /v2/control-planes.
func (e *Emulator) matchCompat(r *http.Request, ep func(string, family, handlers) endpoint) (endpoint, bool) {
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/konnect-api/api/runtime_groups":
		return ep("/konnect-api/api/runtime_groups", famControlPlanes, handlers{http.MethodGet: e.listRuntimeGroups}), true
	case "/v2/organizations/me":
		return ep("/v2/organizations/me", famControlPlanes, handlers{http.MethodGet: e.organizationMe}), true
	}
	return endpoint{}, false
}

// listRuntimeGroups is GET /konnect-api/api/runtime_groups, decK's
// control-plane look-up (go-database-reconciler pkg/konnect
// RuntimeGroupService.List): page and size query parameters (size at most
// 100), an answer of data[] with id and name, page and pageCount. decK
// pages until page == pageCount and picks the name itself; a filter[name]
// (or filter[name][eq]) narrows the list here too.
func (e *Emulator) listRuntimeGroups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, page := 100, 1
	for name, dst := range map[string]*int{"size": &size, "page": &page} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				badRequest(w, invalidParam{Field: name, Rule: "is_integer", Source: "query", Reason: "must be a positive integer"})
				return
			}
			*dst = n
		}
	}
	size = min(size, 100)
	name := q.Get("filter[name]")
	if v := q.Get("filter[name][eq]"); v != "" {
		name = v
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var matched []map[string]any
	for _, cp := range e.st.ControlPlanes {
		if name != "" && cp.Name != name {
			continue
		}
		matched = append(matched, map[string]any{"id": cp.ID, "name": cp.Name, "description": cp.Description,
			"created_at": cp.CreatedAt, "updated_at": cp.UpdatedAt})
	}
	pages := max(1, int(math.Ceil(float64(len(matched))/float64(size))))
	data := []map[string]any{}
	for i := (page - 1) * size; i >= 0 && i < len(matched) && i < page*size; i++ {
		data = append(data, matched[i])
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"data": data, "page": page, "pageCount": pages, "total": len(matched),
	})
}

// organizationMe is GET /v2/organizations/me, which `deck gateway ping`
// (go-database-reconciler AuthService.OrgUserInfo) reads name and id from.
func (e *Emulator) organizationMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"id": "00000000-0000-4000-8000-00000000e0e0", "name": "Konnect emulator",
		"owner_id": "00000000-0000-4000-8000-00000000e0e1", "login_path": "konnect-emulator",
		"state": "active", "created_at": "2024-01-01T00:00:00.000Z", "updated_at": "2024-01-01T00:00:00.000Z",
	})
}

// rootInfo is GET …/core-entities/, Kong's root endpoint as go-kong's
// Client.Root and Info.Get read it: version and configuration.database.
func (e *Emulator) rootInfo(w http.ResponseWriter, r *http.Request, cpID string) {
	if !e.hasControlPlane(w, cpID) {
		return
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"version":       KongVersion,
		"configuration": map[string]any{"database": "off", "portal": false, "rbac": "off"},
		"plugins":       map[string]any{"available_on_server": pluginsAvailable()},
	})
}

func pluginsAvailable() map[string]any {
	out := map[string]any{}
	for _, n := range PluginSchemaNames() {
		out[n] = map[string]any{"version": KongVersion, "priority": 0}
	}
	return out
}

// entityJSONSchema is GET …/core-entities/v1/schemas/json/{name}, the
// entity schemas decK fills defaults from (go-database-reconciler
// pkg/schema fetchKonnectEntitySchema: "service", "route", "upstream",
// "target", "vault", "key-set", ...). It is rendered from the same table
// the store fills defaults with, so what decK predicts is what is stored.
// go-kong's FillEntityDefaults reads properties.*.default, recursing into
// objects that allow additional properties; decK's vault filler reads the
// config of one vault type from allOf[].if.properties.name.const /
// then.properties.config.properties.<type>.
func (e *Emulator) entityJSONSchema(w http.ResponseWriter, r *http.Request, cpID, name string) {
	if !e.hasControlPlane(w, cpID) {
		return
	}
	for _, k := range kindTable {
		if k.jsonName == name {
			s := jsonSchemaOf(k.fields)
			if k.name == "vaults" {
				s["allOf"] = vaultConfigSchemas()
			}
			writeJSON(w, http.StatusOK, "application/json", s)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, "application/json", map[string]any{"message": "No entity named '" + name + "'"})
}

// jsonSchemaOf renders a Kong schema field list as a JSON schema object.
func jsonSchemaOf(fields []any) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range fields {
		m, _ := f.(map[string]any)
		for name, d := range m {
			def, _ := d.(map[string]any)
			props[name] = jsonSchemaField(def)
			if req, _ := def["required"].(bool); req {
				required = append(required, name)
			}
		}
	}
	sort.Strings(required)
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func jsonSchemaField(def map[string]any) map[string]any {
	out := map[string]any{}
	switch t := str(def["type"]); t {
	case "string", "integer", "number", "boolean":
		out["type"] = t
	case "array", "set":
		out["type"] = "array"
		if el, ok := def["elements"].(map[string]any); ok {
			out["items"] = jsonSchemaField(el)
		}
		if t == "set" {
			out["uniqueItems"] = true
		}
	case "map":
		out["type"] = "object"
		out["additionalProperties"] = true
		if v, ok := def["values"].(map[string]any); ok {
			out["additionalProperties"] = jsonSchemaField(v)
		}
	case "record":
		out = jsonSchemaOf(asList(def["fields"]))
	case "foreign":
		out["type"] = "object"
		out["properties"] = map[string]any{"id": map[string]any{"type": "string"}}
		out["additionalProperties"] = false
	}
	if v, ok := def["len_min"]; ok {
		out["minLength"] = v
	}
	if v, ok := def["len_max"]; ok {
		out["maxLength"] = v
	}
	if b, ok := def["between"].([]any); ok && len(b) == 2 {
		out["minimum"], out["maximum"] = b[0], b[1]
	}
	if v, ok := def["one_of"]; ok {
		out["enum"] = v
	}
	if d, ok := def["default"]; ok {
		out["default"] = d
		// An object default is spelled out as nested properties with
		// defaults at the leaves, which is how go-kong's flattener and
		// decK's default stripper recover it.
		if m, ok := d.(map[string]any); ok {
			out["properties"] = defaultProperties(m)
			delete(out, "additionalProperties")
			delete(out, "default")
		}
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func defaultProperties(m map[string]any) map[string]any {
	props := map[string]any{}
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			props[k] = map[string]any{"type": "object", "properties": defaultProperties(sub)}
			continue
		}
		props[k] = map[string]any{"default": v}
	}
	return props
}

// vaultConfigSchemas are the vault config schemas of the two vault types
// the emulator models field by field (kong.ValidateVaultConfig), as decK's
// Konnect vault filler reads them. The TTLs have no default: unset, they
// are left out of the stored config.
func vaultConfigSchemas() []any {
	ttls := []any{
		map[string]any{"ttl": map[string]any{"type": "number", "between": []any{0, 100000000}}},
		map[string]any{"neg_ttl": map[string]any{"type": "number", "between": []any{0, 100000000}}},
		map[string]any{"resurrect_ttl": map[string]any{"type": "number", "between": []any{0, 100000000}}},
	}
	types := map[string][]any{
		"konnect": append([]any{map[string]any{"config_store_id": map[string]any{"type": "string", "required": true}}}, ttls...),
		"env": append([]any{map[string]any{"prefix": map[string]any{"type": "string"}},
			map[string]any{"base64_decode": map[string]any{"type": "boolean", "default": false}}}, ttls...),
	}
	var out []any
	for _, name := range []string{"env", "konnect"} {
		out = append(out, map[string]any{
			"if": map[string]any{"properties": map[string]any{"name": map[string]any{"const": name}}},
			"then": map[string]any{"properties": map[string]any{"config": map[string]any{
				"type": "object", "properties": map[string]any{name: jsonSchemaOf(types[name])}}}},
		})
	}
	return out
}
