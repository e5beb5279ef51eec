package konnecttest

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

// Core entities follow Kong's Admin API as Konnect serves it: size/offset
// pagination, tags filters, POST 201, PUT upsert 200, DELETE 204 even when
// absent, integer epoch timestamps, and Konnect's {code,message,details}
// errors.

const (
	defaultEntityPageSize = 100
	maxEntityPageSize     = 1000
)

// endpointKeys is the unique field that can stand in for the id in a path.
var endpointKeys = map[string]string{
	"vaults":          "prefix",
	"routes":          "name",
	"services":        "name",
	"consumers":       "username",
	"consumer_groups": "name",
}

// cpForEntities finds the control plane under the lock, answering 404.
func (e *Emulator) cpForEntities(w http.ResponseWriter, id string) *controlPlane {
	cp := e.st.controlPlane(id)
	if cp == nil {
		writeKoko(w, http.StatusNotFound, 5, "control plane not found")
	}
	return cp
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// foreignID is the id of a foreign-key field ({"id": ...}) or "".
func foreignID(v any) string {
	m, _ := v.(map[string]any)
	return str(m["id"])
}

func tagsOf(obj map[string]any) []string {
	var out []string
	list, _ := obj["tags"].([]any)
	for _, t := range list {
		if s, ok := t.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// find returns the index of the entity with that id, or with that endpoint
// key value when the kind has one.
func findEntity(list []*entity, kind, ref string) int {
	for i, en := range list {
		if str(en.Obj["id"]) == ref {
			return i
		}
	}
	if key, ok := endpointKeys[kind]; ok {
		for i, en := range list {
			if v, ok := en.Obj[key].(string); ok && v == ref {
				return i
			}
		}
	}
	return -1
}

func (e *Emulator) listEntities(w http.ResponseWriter, r *http.Request, cpID, kind string) {
	q := r.URL.Query()
	size := defaultEntityPageSize
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEntityPageSize {
			writeKoko(w, http.StatusBadRequest, 3, fmt.Sprintf("size must be an integer between 1 and %d", maxEntityPageSize))
			return
		}
		size = n
	}
	var after int64
	if v := q.Get("offset"); v != "" {
		n, ok := decodeCursor(v)
		if !ok {
			writeKoko(w, http.StatusBadRequest, 3, "invalid offset")
			return
		}
		after = n
	}
	match, ok := tagMatcher(q.Get("tags"))
	if !ok {
		writeKoko(w, http.StatusBadRequest, 3, "invalid tags filter: use ',' (AND) or '/' (OR), not both")
		return
	}
	nameField := "name"
	if kind == "consumers" {
		nameField = "username"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cp := e.cpForEntities(w, cpID)
	if cp == nil {
		return
	}
	data := []any{}
	var last int64
	more := false
	for _, en := range cp.Entities[kind] {
		if en.Seq <= after || !match(tagsOf(en.Obj)) {
			continue
		}
		name := str(en.Obj[nameField])
		if v, ok := q["filter[name][eq]"]; ok && name != v[0] {
			continue
		}
		if v, ok := q["filter[name][contains]"]; ok && !strings.Contains(name, v[0]) {
			continue
		}
		if v, ok := q["custom_id"]; ok && kind == "consumers" && str(en.Obj["custom_id"]) != v[0] {
			continue
		}
		if len(data) == size {
			more = true
			break
		}
		data = append(data, en.Obj)
		last = en.Seq
	}
	body := map[string]any{"data": data}
	// Kong sends "next": null on the last page; the spec types next as a
	// plain string, so the emulator leaves both next and offset out.
	if more {
		off := encodeCursor(last)
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("offset", off)
		body["offset"] = off
		body["next"] = "/v2/control-planes/" + cp.ID + "/core-entities/" + kind + "?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, "application/json", body)
}

// tagMatcher parses Kong's tags filter: "a,b" needs both, "a/b" either.
func tagMatcher(filter string) (func([]string) bool, bool) {
	if filter == "" {
		return func([]string) bool { return true }, true
	}
	and, or := strings.Contains(filter, ","), strings.Contains(filter, "/")
	if and && or {
		return nil, false
	}
	sep := ","
	if or {
		sep = "/"
	}
	want := strings.Split(filter, sep)
	return func(tags []string) bool {
		for _, w := range want {
			has := containsString(tags, w)
			if or && has {
				return true
			}
			if !or && !has {
				return false
			}
		}
		return !or
	}, true
}

func (e *Emulator) getEntity(w http.ResponseWriter, r *http.Request, cpID, kind, ref string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cp := e.cpForEntities(w, cpID)
	if cp == nil {
		return
	}
	i := findEntity(cp.Entities[kind], kind, ref)
	if i < 0 {
		kokoNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, "application/json", cp.Entities[kind][i].Obj)
}

func (e *Emulator) deleteEntity(w http.ResponseWriter, r *http.Request, cpID, kind, ref string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cp := e.cpForEntities(w, cpID)
	if cp == nil {
		return
	}
	list := cp.Entities[kind]
	i := findEntity(list, kind, ref)
	if i < 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	id := str(list[i].Obj["id"])
	if kind == "services" {
		for _, rt := range cp.Entities["routes"] {
			if foreignID(rt.Obj["service"]) == id {
				constraintError(w, "id", fmt.Sprintf("an existing 'routes' entity references this 'services' entity (route %s)", str(rt.Obj["id"])))
				return
			}
		}
	}
	cp.Entities[kind] = append(list[:i:i], list[i+1:]...)
	// Plugins scoped to a deleted entity go with it (Kong: on_delete cascade).
	if field := strings.TrimSuffix(kind, "s"); kind != "plugins" && kind != "vaults" {
		var kept []*entity
		for _, p := range cp.Entities["plugins"] {
			if foreignID(p.Obj[field]) != id {
				kept = append(kept, p)
			}
		}
		cp.Entities["plugins"] = kept
	}
	e.persist()
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) createEntity(w http.ResponseWriter, r *http.Request, cpID, kind string) {
	body, err := decodeObject(w, r)
	if err != nil {
		writeKoko(w, http.StatusBadRequest, 3, "cannot parse JSON body")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cp := e.cpForEntities(w, cpID)
	if cp == nil {
		return
	}
	if v, ok := body["id"]; ok && v != nil {
		id, _ := v.(string)
		if !konnect.IsUUID(id) {
			validationError(w, []kong.FieldError{{Path: "id", Message: "expected a valid UUID"}})
			return
		}
		if findEntity(cp.Entities[kind], "", id) >= 0 {
			constraintError(w, "id", "id (type: unique) constraint failed")
			return
		}
	} else {
		body["id"] = konnect.NewUUID()
	}
	obj, ok := e.buildEntity(w, cp, kind, body, nil)
	if !ok {
		return
	}
	cp.Entities[kind] = append(cp.Entities[kind], &entity{Seq: e.st.next(), Obj: obj})
	e.persist()
	writeJSON(w, http.StatusCreated, "application/json", obj)
}

func (e *Emulator) upsertEntity(w http.ResponseWriter, r *http.Request, cpID, kind, ref string) {
	body, err := decodeObject(w, r)
	if err != nil {
		writeKoko(w, http.StatusBadRequest, 3, "cannot parse JSON body")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cp := e.cpForEntities(w, cpID)
	if cp == nil {
		return
	}
	list := cp.Entities[kind]
	i := findEntity(list, kind, ref)
	switch {
	case i >= 0:
		body["id"] = list[i].Obj["id"]
		if key, ok := endpointKeys[kind]; ok && !konnect.IsUUID(ref) {
			body[key] = ref
		}
	case konnect.IsUUID(ref):
		body["id"] = ref
	default:
		key, ok := endpointKeys[kind]
		if !ok {
			validationError(w, []kong.FieldError{{Path: "id", Message: "expected a valid UUID"}})
			return
		}
		body["id"] = konnect.NewUUID()
		body[key] = ref
	}
	var existing *entity
	if i >= 0 {
		existing = list[i]
	}
	obj, ok := e.buildEntity(w, cp, kind, body, existing)
	if !ok {
		return
	}
	if existing != nil {
		existing.Obj = obj
	} else {
		cp.Entities[kind] = append(cp.Entities[kind], &entity{Seq: e.st.next(), Obj: obj})
	}
	e.persist()
	writeJSON(w, http.StatusOK, "application/json", obj)
}

// buildEntity validates a create or replace body and returns the complete
// object to store (defaults filled, timestamps set), or answers the error.
// The caller holds the lock; body["id"] is set.
func (e *Emulator) buildEntity(w http.ResponseWriter, cp *controlPlane, kind string, body map[string]any, existing *entity) (map[string]any, bool) {
	es := entitySchemas[kind]
	if kind == "services" {
		if errs := expandServiceURL(body); errs != nil {
			validationError(w, errs)
			return nil, false
		}
	}
	errs := es.Validate(body, "")
	var ps *kong.PluginSchema
	switch kind {
	case "plugins":
		name := str(body["name"])
		if cached := cachedPluginSchema(name); cached != nil {
			ps = cached.rules
		}
		if ps == nil && name != "" {
			errs = append(errs, kong.FieldError{Path: "name", Message: fmt.Sprintf("plugin '%s' not enabled; add it to the 'plugins' configuration property", name)})
		}
		if ps != nil {
			sub := map[string]any{}
			if cfg, ok := body["config"].(map[string]any); ok {
				sub["config"] = cfg
			}
			if p, ok := body["protocols"]; ok && p != nil {
				sub["protocols"] = p
			}
			for _, fe := range ps.Entity().Validate(sub, "") {
				if fe.Path == "config" || strings.HasPrefix(fe.Path, "config.") || strings.HasPrefix(fe.Path, "protocols") {
					errs = append(errs, fe)
				}
			}
		}
	case "vaults":
		errs = append(errs, vaultErrors(body)...)
	case "routes":
		errs = append(errs, routeErrors(body)...)
	case "consumers":
		if body["username"] == nil && body["custom_id"] == nil {
			errs = append(errs, kong.FieldError{Path: "", Message: "at least one of these fields must be non-empty: 'custom_id', 'username'"})
		}
	}
	if len(errs) > 0 {
		validationError(w, errs)
		return nil, false
	}

	obj := es.Fill(body)
	now := time.Now().Unix()
	obj["created_at"] = now
	if existing != nil {
		obj["created_at"] = existing.Obj["created_at"]
	}
	obj["updated_at"] = now
	switch kind {
	case "plugins":
		cfg, _ := body["config"].(map[string]any)
		obj["config"] = ps.ConfigDefaults(cfg)
		if obj["protocols"] == nil {
			protos := ps.DefaultProtocols()
			list := make([]any, len(protos))
			for i, p := range protos {
				list[i] = p
			}
			obj["protocols"] = list
		}
	case "vaults":
		cfg, _ := body["config"].(map[string]any)
		obj["config"] = kong.VaultConfigDefaults(str(obj["name"]), cfg)
	}

	if !e.checkReferences(w, cp, kind, obj) {
		return nil, false
	}
	if !checkUnique(w, cp, kind, obj) {
		return nil, false
	}
	return obj, true
}

// expandServiceURL applies the service "url" shorthand: protocol, host, port
// and path from one URL (the url itself is write-only and not stored).
func expandServiceURL(body map[string]any) []kong.FieldError {
	v, ok := body["url"]
	if !ok {
		return nil
	}
	delete(body, "url")
	if v == nil {
		return nil
	}
	s, ok := v.(string)
	u, err := url.Parse(s)
	if !ok || err != nil || u.Scheme == "" || u.Hostname() == "" {
		return []kong.FieldError{{Path: "url", Message: "missing host in url"}}
	}
	body["protocol"] = u.Scheme
	body["host"] = u.Hostname()
	port := 80
	if u.Scheme == "https" || u.Scheme == "grpcs" || u.Scheme == "tls" || u.Scheme == "wss" {
		port = 443
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return []kong.FieldError{{Path: "url", Message: "invalid port"}}
		}
		port = n
	}
	body["port"] = float64(port)
	if u.Path != "" {
		body["path"] = u.Path
	} else {
		delete(body, "path")
	}
	return nil
}

// vaultPrefixRE is Kong's vault prefix rule: a lowercase letter first,
// lowercase letters, digits and dashes, ending with a letter or digit.
var vaultPrefixRE = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)

func vaultErrors(body map[string]any) []kong.FieldError {
	prefix, _ := body["prefix"].(string)
	cfg, _ := body["config"].(map[string]any)
	return kong.ValidateVault(str(body["name"]), prefix, cfg)
}

// routeErrors is Kong's check that an HTTP route has something to match on.
func routeErrors(body map[string]any) []kong.FieldError {
	protos := []string{"http", "https"}
	if list, ok := body["protocols"].([]any); ok {
		protos = nil
		for _, p := range list {
			protos = append(protos, str(p))
		}
	}
	httpish := false
	for _, p := range protos {
		if p == "http" || p == "https" {
			httpish = true
		}
	}
	if !httpish {
		return nil
	}
	for _, f := range []string{"methods", "hosts", "headers", "paths"} {
		switch v := body[f].(type) {
		case []any:
			if len(v) > 0 {
				return nil
			}
		case map[string]any:
			if len(v) > 0 {
				return nil
			}
		}
	}
	return []kong.FieldError{{Path: "", Message: "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"}}
}

// checkReferences enforces foreign keys: the referenced entities must exist
// in the same control plane, and a konnect vault's config store too.
func (e *Emulator) checkReferences(w http.ResponseWriter, cp *controlPlane, kind string, obj map[string]any) bool {
	refs := map[string]string{}
	switch kind {
	case "plugins":
		refs = map[string]string{"route": "routes", "service": "services", "consumer": "consumers", "consumer_group": "consumer_groups"}
	case "routes":
		refs = map[string]string{"service": "services"}
	}
	for _, field := range []string{"route", "service", "consumer", "consumer_group"} {
		target, ok := refs[field]
		if !ok {
			continue
		}
		id := foreignID(obj[field])
		if id == "" {
			continue
		}
		if findEntity(cp.Entities[target], "", id) < 0 {
			constraintError(w, field+".id", fmt.Sprintf("%s_id (type: foreign) constraint failed for value '%s'", field, id))
			return false
		}
	}
	if kind == "vaults" && str(obj["name"]) == "konnect" {
		cfg, _ := obj["config"].(map[string]any)
		id := str(cfg["config_store_id"])
		if cp.store(id) == nil {
			constraintError(w, "config.config_store_id", fmt.Sprintf("config store '%s' does not exist in this control plane", id))
			return false
		}
	}
	return true
}

// checkUnique enforces Konnect's uniqueness rules, ignoring the entity
// being replaced (same id).
func checkUnique(w http.ResponseWriter, cp *controlPlane, kind string, obj map[string]any) bool {
	id := str(obj["id"])
	var fields []string
	switch kind {
	case "vaults":
		fields = []string{"prefix"}
	case "routes", "services", "consumer_groups":
		fields = []string{"name"}
	case "consumers":
		fields = []string{"username", "custom_id"}
	case "plugins":
		fields = []string{"instance_name"}
	}
	for _, other := range cp.Entities[kind] {
		if str(other.Obj["id"]) == id {
			continue
		}
		for _, f := range fields {
			if v, ok := obj[f].(string); ok && v == str(other.Obj[f]) {
				constraintError(w, f, fmt.Sprintf("%s (type: unique) constraint failed", f))
				return false
			}
		}
		if kind == "plugins" && pluginScope(obj) == pluginScope(other.Obj) {
			constraintError(w, "", "plugin (type: unique) constraint failed: a '"+str(obj["name"])+
				"' plugin already exists with the same route, service, consumer and consumer group")
			return false
		}
	}
	return true
}

// pluginScope is the uniqueness key of a plugin: one plugin of a name per
// route, service, consumer and consumer group combination.
func pluginScope(p map[string]any) string {
	return strings.Join([]string{str(p["name"]), foreignID(p["route"]), foreignID(p["service"]),
		foreignID(p["consumer"]), foreignID(p["consumer_group"])}, "|")
}

func (e *Emulator) getPluginSchema(w http.ResponseWriter, r *http.Request, cpID, name string) {
	e.mu.Lock()
	cp := e.cpForEntities(w, cpID)
	e.mu.Unlock()
	if cp == nil {
		return
	}
	s := cachedPluginSchema(name)
	if s == nil {
		writeJSON(w, http.StatusNotFound, "application/json", map[string]any{"message": fmt.Sprintf("No plugin named '%s'", name)})
		return
	}
	writeJSON(w, http.StatusOK, "application/json", s.wire)
}
