package konnecttest

import (
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/kvsync/kvsync/pkg/konnect"
)

func (st *configStore) view() map[string]any {
	return map[string]any{"id": st.ID, "name": st.Name, "created_at": st.CreatedAt, "updated_at": st.UpdatedAt}
}

// view never includes the value: it is write-only.
func (s *secret) view() map[string]any {
	return map[string]any{"key": s.Key, "created_at": s.CreatedAt, "updated_at": s.UpdatedAt}
}

// cursorPage serves one page of a cursor-paginated list: items after the
// page[after] cursor, and a next link (relative, like Konnect's) or null.
func cursorPage(w http.ResponseWriter, r *http.Request, seqs []int64, views func(i int) map[string]any, nextBase string) {
	size, ok := pageSize(w, r)
	if !ok {
		return
	}
	var after int64
	if v := r.URL.Query().Get("page[after]"); v != "" {
		n, ok := decodeCursor(v)
		if !ok {
			badRequest(w, invalidParam{Field: "page[after]", Rule: "invalid", Source: "query", Reason: "is not a valid cursor"})
			return
		}
		after = n
	}
	data := []any{}
	var next any
	for i, seq := range seqs {
		if seq <= after {
			continue
		}
		if len(data) == size {
			next = nextBase + "?page[after]=" + encodeCursor(seqs[i-1])
			break
		}
		data = append(data, views(i))
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"data": data,
		"meta": map[string]any{"page": map[string]any{"size": size, "next": next, "previous": nil}},
	})
}

// lookupStore finds a control plane and store under the lock, answering 404
// when either is unknown.
func (e *Emulator) lookupStore(w http.ResponseWriter, cpID, storeID string) (*controlPlane, *configStore, bool) {
	cp := e.st.controlPlane(cpID)
	if cp == nil {
		notFoundProblem(w, "The requested control plane was not found.")
		return nil, nil, false
	}
	if storeID == "" {
		return cp, nil, true
	}
	st := cp.store(storeID)
	if st == nil {
		notFoundProblem(w, "Config Store not found")
		return nil, nil, false
	}
	return cp, st, true
}

func (e *Emulator) listConfigStores(w http.ResponseWriter, r *http.Request, cpID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cp, _, ok := e.lookupStore(w, cpID, "")
	if !ok {
		return
	}
	seqs := make([]int64, len(cp.Stores))
	for i, st := range cp.Stores {
		seqs[i] = st.Seq
	}
	cursorPage(w, r, seqs, func(i int) map[string]any { return cp.Stores[i].view() }, "/config-stores")
}

// storeName validates the {name} body of config store create and update.
func storeName(w http.ResponseWriter, r *http.Request, required bool) (name string, present, ok bool) {
	if !isJSON(r) {
		unsupportedMediaType(w)
		return "", false, false
	}
	body, err := decodeObject(w, r)
	if err != nil {
		badRequest(w, invalidParam{Field: "body", Rule: "is_object", Source: "body", Reason: "request body must be a JSON object"})
		return "", false, false
	}
	var params []invalidParam
	for _, k := range slices.Sorted(maps.Keys(body)) {
		if k != "name" {
			params = append(params, invalidParam{Field: k, Rule: "unknown_property", Source: "body", Reason: "property " + k + " should not exist"})
		}
	}
	v, present := body["name"]
	switch s, isStr := v.(string); {
	case !present && required:
		params = append(params, invalidParam{Field: "name", Rule: "required", Source: "body", Reason: "is a required field"})
	case !present:
	case !isStr:
		params = append(params, invalidParam{Field: "name", Rule: "is_string", Source: "body", Reason: "must be a string"})
	case len([]rune(s)) < 1:
		params = append(params, invalidParam{Field: "name", Rule: "min_length", Minimum: intp(1), Source: "body", Reason: "name must be longer than or equal to 1 characters"})
	case len([]rune(s)) > 100:
		params = append(params, invalidParam{Field: "name", Rule: "max_length", Maximum: intp(100), Source: "body", Reason: "name must be shorter than or equal to 100 characters"})
	default:
		name = s
	}
	if len(params) > 0 {
		badRequest(w, params...)
		return "", false, false
	}
	return name, present, true
}

func (e *Emulator) createConfigStore(w http.ResponseWriter, r *http.Request, cpID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cp, _, ok := e.lookupStore(w, cpID, "")
	if !ok {
		return
	}
	name, _, ok := storeName(w, r, true)
	if !ok {
		return
	}
	// Names are not unique: Konnect accepts several stores with one name.
	now := isoNow()
	st := &configStore{Seq: e.st.next(), ID: konnect.NewUUID(), Name: name, CreatedAt: now, UpdatedAt: now}
	cp.Stores = append(cp.Stores, st)
	e.persist()
	writeJSON(w, http.StatusCreated, "application/json", st.view())
}

func (e *Emulator) getConfigStore(w http.ResponseWriter, r *http.Request, cpID, storeID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, st, ok := e.lookupStore(w, cpID, storeID)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, "application/json", st.view())
}

func (e *Emulator) updateConfigStore(w http.ResponseWriter, r *http.Request, cpID, storeID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, st, ok := e.lookupStore(w, cpID, storeID)
	if !ok {
		return
	}
	name, present, ok := storeName(w, r, false)
	if !ok {
		return
	}
	if present {
		st.Name = name
		st.UpdatedAt = isoNow()
		e.persist()
	}
	writeJSON(w, http.StatusOK, "application/json", st.view())
}

func (e *Emulator) deleteConfigStore(w http.ResponseWriter, r *http.Request, cpID, storeID string) {
	force := r.URL.Query().Get("force")
	if force != "" && force != "true" && force != "false" {
		badRequest(w, invalidParam{Field: "force", Rule: "enum", Choices: []any{"true", "false"}, Source: "query", Reason: "must be true or false"})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cp, st, ok := e.lookupStore(w, cpID, storeID)
	if !ok {
		return
	}
	if n := len(st.Secrets); n > 0 && force != "true" {
		badRequest(w, invalidParam{Field: "force", Rule: "required", Source: "query", Reason: fmt.Sprintf(
			"This Config Store has %d secrets. These must be individually removed before deletion or the force=true query param can be used to automatically delete associated entities.", n)})
		return
	}
	for i, s := range cp.Stores {
		if s == st {
			cp.Stores = append(cp.Stores[:i], cp.Stores[i+1:]...)
			break
		}
	}
	e.persist()
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) listSecrets(w http.ResponseWriter, r *http.Request, cpID, storeID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, st, ok := e.lookupStore(w, cpID, storeID)
	if !ok {
		return
	}
	seqs := make([]int64, len(st.Secrets))
	for i, s := range st.Secrets {
		seqs[i] = s.Seq
	}
	cursorPage(w, r, seqs, func(i int) map[string]any { return st.Secrets[i].view() },
		"/config-stores/"+st.ID+"/secrets")
}

const (
	maxKeyLen   = 512
	maxValueLen = 5120
)

// checkLength validates a key or value length; the reason never quotes the
// value itself.
func checkLength(field, s string, max int) *invalidParam {
	n := len([]rune(s))
	if n < 1 {
		return &invalidParam{Field: field, Rule: "min_length", Minimum: intp(1), Source: "body",
			Reason: field + " must be longer than or equal to 1 characters"}
	}
	if n > max {
		return &invalidParam{Field: field, Rule: "max_length", Maximum: intp(max), Source: "body",
			Reason: fmt.Sprintf("%s must be shorter than or equal to %d characters", field, max)}
	}
	return nil
}

// secretBody decodes {key, value} (create) or {value} (update).
func secretBody(w http.ResponseWriter, r *http.Request, withKey bool) (key, value string, ok bool) {
	if !isJSON(r) {
		unsupportedMediaType(w)
		return "", "", false
	}
	body, err := decodeObject(w, r)
	if err != nil {
		badRequest(w, invalidParam{Field: "body", Rule: "is_object", Source: "body", Reason: "request body must be a JSON object"})
		return "", "", false
	}
	var params []invalidParam
	allowed := map[string]bool{"value": true, "key": withKey}
	for _, k := range slices.Sorted(maps.Keys(body)) {
		if !allowed[k] {
			params = append(params, invalidParam{Field: k, Rule: "unknown_property", Source: "body", Reason: "property " + k + " should not exist"})
		}
	}
	str := func(field string, max int) string {
		v, present := body[field]
		s, isStr := v.(string)
		switch {
		case !present:
			params = append(params, invalidParam{Field: field, Rule: "required", Source: "body", Reason: "is a required field"})
		case !isStr:
			params = append(params, invalidParam{Field: field, Rule: "is_string", Source: "body", Reason: "must be a string"})
		default:
			if p := checkLength(field, s, max); p != nil {
				params = append(params, *p)
			}
		}
		return s
	}
	if withKey {
		key = str("key", maxKeyLen)
	}
	value = str("value", maxValueLen)
	if len(params) > 0 {
		badRequest(w, params...)
		return "", "", false
	}
	return key, value, true
}

func (e *Emulator) createSecret(w http.ResponseWriter, r *http.Request, cpID, storeID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, st, ok := e.lookupStore(w, cpID, storeID)
	if !ok {
		return
	}
	key, value, ok := secretBody(w, r, true)
	if !ok {
		return
	}
	// The spec lists no 409 for this operation: a duplicate key is a 400
	// naming the key field.
	if st.secret(key) != nil {
		badRequest(w, invalidParam{Field: "key", Rule: "invalid", Source: "body", Reason: "a secret with this key already exists in the config store"})
		return
	}
	s := e.addSecret(st, key, value)
	e.persist()
	writeJSON(w, http.StatusCreated, "application/json", s.view())
}

// addSecret stores a new secret in the config store; the caller holds e.mu
// and has checked that the key is free.
func (e *Emulator) addSecret(st *configStore, key, value string) *secret {
	now := isoNow()
	s := &secret{Seq: e.st.next(), Key: key, Value: value, CreatedAt: now, UpdatedAt: now}
	st.Secrets = append(st.Secrets, s)
	return s
}

func (e *Emulator) getSecret(w http.ResponseWriter, r *http.Request, cpID, storeID, key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, st, ok := e.lookupStore(w, cpID, storeID)
	if !ok {
		return
	}
	s := st.secret(key)
	if s == nil {
		notFoundProblem(w, "Secret not found")
		return
	}
	writeJSON(w, http.StatusOK, "application/json", s.view())
}

// putSecret updates a secret's value, or creates it (201) when the key is
// new: the spec lists both 200 and 201 for this PUT.
func (e *Emulator) putSecret(w http.ResponseWriter, r *http.Request, cpID, storeID, key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, st, ok := e.lookupStore(w, cpID, storeID)
	if !ok {
		return
	}
	if p := checkLength("key", key, maxKeyLen); p != nil {
		p.Source = "path"
		badRequest(w, *p)
		return
	}
	_, value, ok := secretBody(w, r, false)
	if !ok {
		return
	}
	if s := st.secret(key); s != nil {
		s.Value = value
		s.UpdatedAt = isoNow()
		e.persist()
		writeJSON(w, http.StatusOK, "application/json", s.view())
		return
	}
	s := e.addSecret(st, key, value)
	e.persist()
	writeJSON(w, http.StatusCreated, "application/json", s.view())
}

func (e *Emulator) deleteSecret(w http.ResponseWriter, r *http.Request, cpID, storeID, key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, st, ok := e.lookupStore(w, cpID, storeID)
	if !ok {
		return
	}
	for i, s := range st.Secrets {
		if s.Key == key {
			st.Secrets = append(st.Secrets[:i], st.Secrets[i+1:]...)
			e.persist()
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	notFoundProblem(w, "Secret not found")
}
