package konnecttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

// Core entities follow Kong's Admin API as Konnect serves it: size/offset
// pagination, tags filters, POST 201, PUT upsert 200, DELETE 204 even when
// absent, integer epoch timestamps, and Konnect's {code,message,details}
// errors. One generic store serves every kind of kindTable (kinds.go).

const (
	defaultEntityPageSize = 100
	maxEntityPageSize     = 1000
)

// coreReq is a matched core-entities request: the kind, and for a nested
// route the nesting and the parent's id or endpoint key.
type coreReq struct {
	cpID      string
	k         *kind
	n         *nesting
	parentRef string
}

// scope is the resolved parent of a nested route; nil at the top level.
type scope struct {
	n        *nesting
	parentID string
}

// holds reports whether obj belongs to the scope.
func (s *scope) holds(obj map[string]any) bool {
	return s == nil || foreignID(obj[s.n.field]) == s.parentID
}

// cpForEntities finds the control plane under the lock, answering 404.
func (e *Emulator) cpForEntities(w http.ResponseWriter, id string) *controlPlane {
	cp := e.st.controlPlane(id)
	if cp == nil {
		writeKoko(w, http.StatusNotFound, 5, "control plane not found")
	}
	return cp
}

// hasControlPlane reports whether the control plane exists, answering 404
// when it does not.
func (e *Emulator) hasControlPlane(w http.ResponseWriter, id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cpForEntities(w, id) != nil
}

// open finds the control plane and the parent of a nested route. The
// caller holds the lock; a miss is answered 404.
func (e *Emulator) open(w http.ResponseWriter, q coreReq) (*controlPlane, *scope, bool) {
	cp := e.cpForEntities(w, q.cpID)
	if cp == nil {
		return nil, nil, false
	}
	if q.n == nil {
		return cp, nil, true
	}
	parent := kinds[q.n.parent]
	i := findEntity(cp, parent, q.parentRef, nil)
	if i < 0 {
		kokoNotFound(w)
		return nil, nil, false
	}
	return cp, &scope{n: q.n, parentID: str(cp.Entities[parent.name][i].Obj["id"])}, true
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

// findEntity returns the index of the entity of kind k with id ref, or
// with ref as the value of one of the kind's endpoint keys, within the
// scope; -1 when there is none.
func findEntity(cp *controlPlane, k *kind, ref string, sc *scope) int {
	list := cp.Entities[k.name]
	for i, en := range list {
		if str(en.Obj["id"]) == ref && sc.holds(en.Obj) {
			return i
		}
	}
	for _, key := range k.keys {
		for i, en := range list {
			if v, ok := en.Obj[key].(string); ok && v == ref && sc.holds(en.Obj) {
				return i
			}
		}
	}
	return -1
}

// pageParams parses size and offset.
func pageParams(w http.ResponseWriter, q url.Values) (size int, after int64, ok bool) {
	size = defaultEntityPageSize
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEntityPageSize {
			writeKoko(w, http.StatusBadRequest, 3, fmt.Sprintf("size must be an integer between 1 and %d", maxEntityPageSize))
			return 0, 0, false
		}
		size = n
	}
	if v := q.Get("offset"); v != "" {
		n, ok := decodeCursor(v)
		if !ok {
			writeKoko(w, http.StatusBadRequest, 3, "invalid offset")
			return 0, 0, false
		}
		after = n
	}
	return size, after, true
}

// writePage answers one page of entities that pass keep, in creation
// order, with Kong's offset and next when more remain.
func writePage(w http.ResponseWriter, r *http.Request, list []*entity, keep func(map[string]any) bool) {
	q := r.URL.Query()
	size, after, ok := pageParams(w, q)
	if !ok {
		return
	}
	match, ok := tagMatcher(q.Get("tags"))
	if !ok {
		writeKoko(w, http.StatusBadRequest, 3, "invalid tags filter: use ',' (AND) or '/' (OR), not both")
		return
	}
	data := []any{}
	var last int64
	more := false
	for _, en := range list {
		if en.Seq <= after || !match(tagsOf(en.Obj)) || !keep(en.Obj) {
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
		body["next"] = r.URL.Path + "?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, "application/json", body)
}

func (e *Emulator) listEntities(w http.ResponseWriter, r *http.Request, q coreReq) {
	query := r.URL.Query()
	e.mu.Lock()
	defer e.mu.Unlock()
	cp, sc, ok := e.open(w, q)
	if !ok {
		return
	}
	writePage(w, r, cp.Entities[q.k.name], func(obj map[string]any) bool {
		if !sc.holds(obj) {
			return false
		}
		name := str(obj[q.k.nameField])
		if v, ok := query["filter[name][eq]"]; ok && name != v[0] {
			return false
		}
		if v, ok := query["filter[name][contains]"]; ok && !strings.Contains(name, v[0]) {
			return false
		}
		if v, ok := query["custom_id"]; ok && q.k.hasField("custom_id") && str(obj["custom_id"]) != v[0] {
			return false
		}
		return true
	})
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

func (e *Emulator) getEntity(w http.ResponseWriter, r *http.Request, q coreReq, ref string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cp, sc, ok := e.open(w, q)
	if !ok {
		return
	}
	i := findEntity(cp, q.k, ref, sc)
	if i < 0 {
		kokoNotFound(w)
		return
	}
	obj := cp.Entities[q.k.name][i].Obj
	if q.k.name == "consumer_groups" && q.n == nil {
		writeJSON(w, http.StatusOK, "application/json", consumerGroupView(cp, obj, r.URL.Query().Get("list_consumers") != "false"))
		return
	}
	writeJSON(w, http.StatusOK, "application/json", obj)
}

func (e *Emulator) deleteEntity(w http.ResponseWriter, r *http.Request, q coreReq, ref string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cp, sc, ok := e.open(w, q)
	if !ok {
		return
	}
	i := findEntity(cp, q.k, ref, sc)
	if i < 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	id := str(cp.Entities[q.k.name][i].Obj["id"])
	if field, msg := restricted(cp, q.k, id); msg != "" {
		constraintError(w, field, msg)
		return
	}
	removeEntity(cp, q.k, id)
	e.persist()
	w.WriteHeader(http.StatusNoContent)
}

// restricted finds an entity that references (k, id) without cascading,
// directly or through a cascade, which makes the delete fail.
func restricted(cp *controlPlane, k *kind, id string) (field, msg string) {
	for _, ref := range referrers(k.name) {
		for _, en := range cp.Entities[ref.k.name] {
			if foreignID(en.Obj[ref.fk.field]) != id {
				continue
			}
			if !ref.fk.cascade {
				return ref.fk.field, fmt.Sprintf("an existing '%s' entity references this '%s' entity (%s %s)",
					ref.k.name, k.name, ref.k.name, str(en.Obj["id"]))
			}
			if f, m := restricted(cp, ref.k, str(en.Obj["id"])); m != "" {
				return f, m
			}
		}
	}
	return "", ""
}

// removeEntity deletes (k, id) and, by Kong's on_delete cascade, every
// entity that references it, and its consumer group memberships.
func removeEntity(cp *controlPlane, k *kind, id string) {
	list := cp.Entities[k.name]
	kept := list[:0:0]
	for _, en := range list {
		if str(en.Obj["id"]) != id {
			kept = append(kept, en)
		}
	}
	cp.Entities[k.name] = kept
	var members []member
	for _, m := range cp.Members {
		if m.Group != id && m.Consumer != id {
			members = append(members, m)
		}
	}
	cp.Members = members
	for _, ref := range referrers(k.name) {
		var doomed []string
		for _, en := range cp.Entities[ref.k.name] {
			if foreignID(en.Obj[ref.fk.field]) == id {
				doomed = append(doomed, str(en.Obj["id"]))
			}
		}
		for _, d := range doomed {
			removeEntity(cp, ref.k, d)
		}
	}
}

// readBody decodes a JSON object body, answering 400 otherwise.
func readBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	body, err := decodeObject(w, r)
	if err != nil {
		writeKoko(w, http.StatusBadRequest, 3, "cannot parse JSON body")
		return nil, false
	}
	return body, true
}

// write runs a create, replace or update: it reads the JSON body, takes
// the lock, finds the control plane and the parent of a nested route, and
// points the body at that parent before calling fn.
func (e *Emulator) write(w http.ResponseWriter, r *http.Request, q coreReq, fn func(cp *controlPlane, sc *scope, body map[string]any)) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cp, sc, ok := e.open(w, q)
	if !ok {
		return
	}
	if sc != nil {
		body[sc.n.field] = map[string]any{"id": sc.parentID}
	}
	fn(cp, sc, body)
}

func (e *Emulator) createEntity(w http.ResponseWriter, r *http.Request, q coreReq) {
	e.write(w, r, q, func(cp *controlPlane, _ *scope, body map[string]any) {
		if v, ok := body["id"]; ok && v != nil {
			id, _ := v.(string)
			if !konnect.IsUUID(id) {
				validationError(w, []kong.FieldError{{Path: "id", Message: "expected a valid UUID"}})
				return
			}
			if findEntity(cp, &kind{name: q.k.name}, id, nil) >= 0 {
				constraintError(w, "id", "id (type: unique) constraint failed")
				return
			}
		} else {
			body["id"] = konnect.NewUUID()
		}
		e.store(w, cp, q.k, body, -1, http.StatusCreated)
	})
}

// upsertEntity is PUT: replace the entity with that id or endpoint key, or
// create it with that id or key.
func (e *Emulator) upsertEntity(w http.ResponseWriter, r *http.Request, q coreReq, ref string) {
	e.write(w, r, q, func(cp *controlPlane, sc *scope, body map[string]any) {
		i := findEntity(cp, q.k, ref, sc)
		if i < 0 && isID(ref) {
			// The same id under another parent: PUT moves it here.
			i = findEntity(cp, &kind{name: q.k.name}, ref, nil)
		}
		switch {
		case i >= 0:
			body["id"] = cp.Entities[q.k.name][i].Obj["id"]
			if len(q.k.keys) > 0 && !isID(ref) {
				body[q.k.keys[0]] = ref
			}
		case isID(ref):
			body["id"] = ref
		case len(q.k.keys) > 0:
			body["id"] = konnect.NewUUID()
			body[q.k.keys[0]] = ref
		default:
			validationError(w, []kong.FieldError{{Path: "id", Message: "expected a valid UUID"}})
			return
		}
		e.store(w, cp, q.k, body, i, http.StatusOK)
	})
}

// patchEntity is PATCH (Kong's Admin API update, used by go-kong's Update
// calls; not in the public spec): the body is merged into the entity.
func (e *Emulator) patchEntity(w http.ResponseWriter, r *http.Request, q coreReq, ref string) {
	e.write(w, r, q, func(cp *controlPlane, sc *scope, body map[string]any) {
		i := findEntity(cp, q.k, ref, sc)
		if i < 0 {
			kokoNotFound(w)
			return
		}
		old := cp.Entities[q.k.name][i].Obj
		merged := mergeObjects(old, body)
		merged["id"] = old["id"]
		e.store(w, cp, q.k, merged, i, http.StatusOK)
	})
}

// store builds the entity and saves it in place of entity i (or as a new
// one when i < 0), answering status with it.
func (e *Emulator) store(w http.ResponseWriter, cp *controlPlane, k *kind, body map[string]any, i, status int) {
	var existing *entity
	if i >= 0 {
		existing = cp.Entities[k.name][i]
	}
	obj, ok := e.buildEntity(w, cp, k, body, existing)
	if !ok {
		return
	}
	if existing != nil {
		existing.Obj = obj
	} else {
		cp.Entities[k.name] = append(cp.Entities[k.name], &entity{Seq: e.st.next(), Obj: obj})
	}
	e.persist()
	writeJSON(w, status, "application/json", obj)
}

// mergeObjects returns base with patch merged in, maps recursively (Kong
// merges a PATCHed plugin config the same way).
func mergeObjects(base, patch map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(patch))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range patch {
		bm, ok1 := out[k].(map[string]any)
		pm, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = mergeObjects(bm, pm)
			continue
		}
		out[k] = v
	}
	return out
}

// buildEntity validates a create or replace body and returns the complete
// object to store (defaults filled, timestamps set), or answers the error.
// The caller holds the lock; body["id"] is set.
func (e *Emulator) buildEntity(w http.ResponseWriter, cp *controlPlane, k *kind, body map[string]any, existing *entity) (map[string]any, bool) {
	delete(body, "created_at")
	delete(body, "updated_at")
	var errs []kong.FieldError
	if k.prepare != nil {
		errs = k.prepare(body)
	}
	errs = append(errs, k.record.Validate(body, "")...)
	if k.check != nil {
		errs = append(errs, k.check(body)...)
	}
	if len(errs) > 0 {
		validationError(w, errs)
		return nil, false
	}

	obj := k.record.Fill(body)
	k.dropNulls(obj)
	if k.finish != nil {
		k.finish(obj)
	}
	stampTimes(k, obj, existing)

	for _, fk := range k.foreign {
		id := foreignID(obj[fk.field])
		if id == "" {
			continue
		}
		if findEntity(cp, &kind{name: fk.target}, id, nil) < 0 {
			constraintError(w, fk.field+".id", fmt.Sprintf("%s_id (type: foreign) constraint failed for value '%s'", fk.field, id))
			return nil, false
		}
	}
	if field, msg := refCheck(cp, k, obj); msg != "" {
		constraintError(w, field, msg)
		return nil, false
	}
	if field, msg := uniqueViolation(cp, k, obj); msg != "" {
		constraintError(w, field, msg)
		return nil, false
	}
	return obj, true
}

// stampTimes sets the timestamps the kind's schema has: integer epoch
// seconds, or fractional seconds for a "number" (targets).
func stampTimes(k *kind, obj map[string]any, existing *entity) {
	now := time.Now()
	for _, f := range []string{"created_at", "updated_at"} {
		def := k.record.Field(f)
		if def == nil {
			continue
		}
		var v any = now.Unix()
		if def["type"] == "number" {
			v = float64(now.UnixMilli()) / 1000
		}
		if f == "created_at" && existing != nil {
			v = existing.Obj["created_at"]
		}
		obj[f] = v
	}
}

// uniqueViolation checks the kind's uniqueness rules, ignoring the entity
// being replaced (same id).
func uniqueViolation(cp *controlPlane, k *kind, obj map[string]any) (field, msg string) {
	id := str(obj["id"])
	for _, rule := range k.unique {
		key, ok := uniqueKey(rule, obj)
		if !ok {
			continue
		}
		for _, other := range cp.Entities[k.name] {
			if str(other.Obj["id"]) == id {
				continue
			}
			if otherKey, ok := uniqueKey(rule, other.Obj); !ok || otherKey != key {
				continue
			}
			if len(rule.fields) == 1 {
				return rule.fields[0], rule.fields[0] + " (type: unique) constraint failed"
			}
			return "", fmt.Sprintf("%s (type: unique) constraint failed: one '%s' entity per %s",
				strings.Join(rule.fields, ", "), k.name, strings.Join(rule.fields, ", "))
		}
	}
	return "", ""
}

// uniqueKey renders the rule's fields of obj as one comparable string;
// ok is false when a value is absent and the rule ignores absent values.
func uniqueKey(rule uniqueRule, obj map[string]any) (string, bool) {
	parts := make([]string, len(rule.fields))
	for i, f := range rule.fields {
		v := obj[f]
		if m, isMap := v.(map[string]any); isMap {
			v = str(m["id"])
		}
		if v == nil && !rule.withNulls {
			return "", false
		}
		b, _ := json.Marshal(v)
		parts[i] = string(b)
	}
	return strings.Join(parts, "|"), true
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

func (e *Emulator) getPluginSchema(w http.ResponseWriter, r *http.Request, cpID, name string) {
	if !e.hasControlPlane(w, cpID) {
		return
	}
	s := cachedPluginSchema(name)
	if s == nil {
		writeJSON(w, http.StatusNotFound, "application/json", map[string]any{"message": fmt.Sprintf("No plugin named '%s'", name)})
		return
	}
	writeJSON(w, http.StatusOK, "application/json", s.wire)
}
