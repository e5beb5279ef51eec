package konnecttest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kvsync/kvsync/pkg/konnect"
)

// Page sizes of Konnect's page[size] endpoints (control planes, config
// stores, secrets).
const (
	defaultPageSize = 10
	maxPageSize     = 100
	maxBodyBytes    = 1 << 20
)

var errNotJSON = errors.New("request body is not a JSON object")

// isJSON reports whether the request declares a JSON body.
func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// decodeObject reads a JSON object body. Numbers decode as float64.
func decodeObject(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, errNotJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotJSON
	}
	if m == nil {
		return nil, errNotJSON
	}
	return m, nil
}

// pageSize parses page[size] (default 10, 1..100).
func pageSize(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("page[size]")
	if v == "" {
		return defaultPageSize, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		badRequest(w, invalidParam{Field: "page[size]", Rule: "is_integer", Source: "query", Reason: "must be a positive integer"})
		return 0, false
	}
	if n > maxPageSize {
		badRequest(w, invalidParam{Field: "page[size]", Rule: "max", Maximum: intp(maxPageSize), Source: "query",
			Reason: fmt.Sprintf("must be less than or equal to %d", maxPageSize)})
		return 0, false
	}
	return n, true
}

// persist asks for the state to be written to the data file; e.mu is held.
// The write happens behind the request, coalesced: rewriting the whole
// file on every change, under the lock, made each write cost O(state)
// and serialised concurrent requests, which Konnect does not do. Flush
// waits for the file to hold the latest state.
func (e *Emulator) persist() {
	if e.dataFile == "" {
		return
	}
	e.dirty = true
	if !e.saving {
		e.saving = true
		go e.saveBehind()
	}
}

// saveBehind writes the state until no change is left unwritten; one runs
// at a time, so the file ends with the latest state.
func (e *Emulator) saveBehind() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.dirty {
		e.dirty = false
		b, err := json.Marshal(e.st)
		e.mu.Unlock()
		if err == nil {
			err = writeData(e.dataFile, b)
		}
		if err != nil {
			// The emulator keeps serving from memory; the operator sees
			// why the file is stale. Never includes state contents.
			fmt.Fprintln(errorLog, err)
		}
		e.mu.Lock()
	}
	e.saving = false
	e.saved.Broadcast()
}

// Flush waits until the data file holds every change made so far (a no-op
// without a data file). Server.Close and the emulator binary's shutdown
// call it.
func (e *Emulator) Flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.saving {
		e.saved.Wait()
	}
}

func (cp *controlPlane) view() map[string]any {
	labels := cp.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	proxy := cp.ProxyURLs
	if proxy == nil {
		proxy = []any{}
	}
	return map[string]any{
		"id":          cp.ID,
		"name":        cp.Name,
		"description": cp.Description,
		"labels":      labels,
		"config": map[string]any{
			"control_plane_endpoint": "https://" + cp.EndpointHost + ".us.cp0.konghq.com",
			"telemetry_endpoint":     "https://" + cp.EndpointHost + ".us.tp0.konghq.com",
			"cluster_type":           cp.ClusterType,
			"auth_type":              cp.AuthType,
			"cloud_gateway":          cp.CloudGateway,
			"proxy_urls":             proxy,
		},
		"created_at": cp.CreatedAt,
		"updated_at": cp.UpdatedAt,
	}
}

func (e *Emulator) listControlPlanes(w http.ResponseWriter, r *http.Request) {
	size, ok := pageSize(w, r)
	if !ok {
		return
	}
	number := 1
	if v := r.URL.Query().Get("page[number]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			badRequest(w, invalidParam{Field: "page[number]", Rule: "is_integer", Source: "query", Reason: "must be a positive integer"})
			return
		}
		number = n
	}
	q := r.URL.Query()
	e.mu.Lock()
	defer e.mu.Unlock()
	var matched []*controlPlane
	for _, cp := range e.st.ControlPlanes {
		if v, ok := q["filter[name][eq]"]; ok && cp.Name != v[0] {
			continue
		}
		if v, ok := q["filter[name]"]; ok && cp.Name != v[0] {
			continue
		}
		if v, ok := q["filter[name][neq]"]; ok && cp.Name == v[0] {
			continue
		}
		if v, ok := q["filter[name][contains]"]; ok && !strings.Contains(cp.Name, v[0]) {
			continue
		}
		if v, ok := q["filter[id][eq]"]; ok && cp.ID != v[0] {
			continue
		}
		if v, ok := q["filter[id][oeq]"]; ok && !containsString(strings.Split(v[0], ","), cp.ID) {
			continue
		}
		if v, ok := q["filter[cluster_type][eq]"]; ok && cp.ClusterType != v[0] {
			continue
		}
		matched = append(matched, cp)
	}
	data := []any{}
	start := (number - 1) * size
	for i := start; i < len(matched) && i < start+size; i++ {
		data = append(data, matched[i].view())
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"data": data,
		"meta": map[string]any{"page": map[string]any{"number": number, "size": size, "total": len(matched)}},
	})
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var clusterTypes = []string{"CLUSTER_TYPE_CONTROL_PLANE", "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER",
	"CLUSTER_TYPE_CONTROL_PLANE_GROUP", "CLUSTER_TYPE_SERVERLESS", "CLUSTER_TYPE_KAFKA_NATIVE_EVENT_PROXY",
	"CLUSTER_TYPE_SERVERLESS_V1"}

// readControlPlaneBody reads a JSON object body, answering 415 or 400 in
// problem+json otherwise.
func readControlPlaneBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	if !isJSON(r) {
		unsupportedMediaType(w)
		return nil, false
	}
	body, err := decodeObject(w, r)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad Request", "Invalid request format",
			invalidParam{Field: "body", Reason: "request format is invalid"})
		return nil, false
	}
	return body, true
}

func (e *Emulator) createControlPlane(w http.ResponseWriter, r *http.Request) {
	body, ok := readControlPlaneBody(w, r)
	if !ok {
		return
	}
	cp := &controlPlane{ClusterType: clusterTypes[0], AuthType: "pinned_client_certs", Labels: map[string]string{}}
	params := cp.apply(body, false)
	if _, ok := body["name"]; !ok {
		params = append(params, invalidParam{Field: "name", Rule: "required", Source: "body", Reason: "is a required field"})
	}
	if len(params) > 0 {
		writeProblem(w, http.StatusBadRequest, "Bad Request", "Invalid Parameters", params...)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, other := range e.st.ControlPlanes {
		if other.Name == cp.Name {
			writeProblem(w, http.StatusConflict, "Conflict", "Control Plane with provided name already exists.")
			return
		}
	}
	cp.Seq = e.st.next()
	cp.ID = konnect.NewUUID()
	cp.EndpointHost = randomHex(10)
	cp.CreatedAt = isoNow()
	cp.UpdatedAt = cp.CreatedAt
	cp.Entities = map[string][]*entity{}
	e.st.ControlPlanes = append(e.st.ControlPlanes, cp)
	e.persist()
	writeJSON(w, http.StatusCreated, "application/json", cp.view())
}

// apply sets the control plane fields of a create (update false) or PATCH
// body, returning the invalid ones. A PATCH cannot change cluster_type or
// cloud_gateway, and a null label value removes that label.
func (cp *controlPlane) apply(body map[string]any, update bool) []invalidParam {
	var params []invalidParam
	for _, k := range slices.Sorted(maps.Keys(body)) {
		v := body[k]
		switch k {
		case "name":
			s, ok := v.(string)
			switch {
			case !ok:
				params = append(params, invalidParam{Field: k, Rule: "is_string", Source: "body", Reason: "must be a string"})
			case len([]rune(s)) < 2:
				params = append(params, invalidParam{Field: k, Rule: "min_length", Minimum: intp(2), Source: "body", Reason: "must have at least 2 characters"})
			case len([]rune(s)) > 256:
				params = append(params, invalidParam{Field: k, Rule: "max_length", Maximum: intp(256), Source: "body", Reason: "must have at most 256 characters"})
			default:
				cp.Name = s
			}
		case "description":
			s, ok := v.(string)
			if !ok || len([]rune(s)) > 2048 {
				params = append(params, invalidParam{Field: k, Rule: "is_string", Source: "body", Reason: "must be a string of at most 2048 characters"})
			}
			cp.Description = s
		case "cluster_type", "cloud_gateway":
			if update {
				params = append(params, invalidParam{Field: k, Rule: "unknown_property", Source: "body", Reason: "property " + k + " should not exist"})
			} else if k == "cluster_type" {
				s, _ := v.(string)
				if !containsString(clusterTypes, s) {
					choices := make([]any, len(clusterTypes))
					for i, c := range clusterTypes {
						choices[i] = c
					}
					params = append(params, invalidParam{Field: k, Rule: "enum", Choices: choices, Source: "body", Reason: "must be one of the cluster types"})
				}
				cp.ClusterType = s
			} else {
				b, ok := v.(bool)
				if !ok {
					params = append(params, invalidParam{Field: k, Rule: "is_boolean", Source: "body", Reason: "must be a boolean"})
				}
				cp.CloudGateway = b
			}
		case "auth_type":
			s, _ := v.(string)
			if s != "pinned_client_certs" && s != "pki_client_certs" {
				params = append(params, invalidParam{Field: k, Rule: "enum", Choices: []any{"pinned_client_certs", "pki_client_certs"}, Source: "body", Reason: "must be pinned_client_certs or pki_client_certs"})
			}
			cp.AuthType = s
		case "proxy_urls":
			list, ok := v.([]any)
			if !ok {
				params = append(params, invalidParam{Field: k, Rule: "is_array", Source: "body", Reason: "must be an array"})
			}
			cp.ProxyURLs = list
		case "labels":
			m, ok := v.(map[string]any)
			if !ok {
				params = append(params, invalidParam{Field: k, Rule: "is_object", Source: "body", Reason: "must be an object"})
			}
			for lk, lv := range m {
				if lv == nil && update {
					delete(cp.Labels, lk)
					continue
				}
				s, ok := lv.(string)
				if !ok || s == "" || len(s) > 63 {
					params = append(params, invalidParam{Field: "labels", Rule: "is_label", Source: "body", Reason: "label values must be strings of 1 to 63 characters"})
					break
				}
				cp.Labels[lk] = s
			}
		default:
			params = append(params, invalidParam{Field: k, Rule: "unknown_property", Source: "body", Reason: "property " + k + " should not exist"})
		}
	}
	return params
}

// patchControlPlane is PATCH /v2/control-planes/{id}: the given fields
// change, the others stay; errors are problem+json like the siblings'.
func (e *Emulator) patchControlPlane(w http.ResponseWriter, r *http.Request, id string) {
	body, ok := readControlPlaneBody(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cp := e.st.controlPlane(id)
	if cp == nil {
		notFoundProblem(w, "The requested control plane was not found.")
		return
	}
	next := *cp
	next.Labels = make(map[string]string, len(cp.Labels))
	for k, v := range cp.Labels {
		next.Labels[k] = v
	}
	if params := next.apply(body, true); len(params) > 0 {
		writeProblem(w, http.StatusBadRequest, "Bad Request", "Invalid Parameters", params...)
		return
	}
	for _, other := range e.st.ControlPlanes {
		if other.ID != cp.ID && other.Name == next.Name {
			writeProblem(w, http.StatusConflict, "Conflict", "Control Plane with provided name already exists.")
			return
		}
	}
	next.UpdatedAt = isoNow()
	*cp = next
	e.persist()
	writeJSON(w, http.StatusOK, "application/json", cp.view())
}

func (e *Emulator) getControlPlane(w http.ResponseWriter, r *http.Request, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cp := e.st.controlPlane(id)
	if cp == nil {
		notFoundProblem(w, "The requested control plane was not found.")
		return
	}
	writeJSON(w, http.StatusOK, "application/json", cp.view())
}

func (e *Emulator) deleteControlPlane(w http.ResponseWriter, r *http.Request, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, cp := range e.st.ControlPlanes {
		if cp.ID == id {
			e.st.ControlPlanes = append(e.st.ControlPlanes[:i], e.st.ControlPlanes[i+1:]...)
			e.persist()
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	notFoundProblem(w, "The requested control plane was not found.")
}

func unsupportedMediaType(w http.ResponseWriter) {
	writeProblem(w, http.StatusUnsupportedMediaType, "Unsupported Media Type",
		"This API only supports requests with `Content-Type: application/json`")
}

// Cursors and offsets are opaque tokens encoding the sequence number of the
// last item served.
func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(seq, 10)))
}

func decodeCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil && n >= 0
}

// ControlPlaneID returns the id of the control plane with that name, or "".
func (e *Emulator) ControlPlaneID(name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, cp := range e.st.ControlPlanes {
		if cp.Name == name {
			return cp.ID
		}
	}
	return ""
}

// AddControlPlane creates a control plane directly (no HTTP, no faults) and
// returns its id; with a name already taken it returns that one's id.
func (e *Emulator) AddControlPlane(name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, cp := range e.st.ControlPlanes {
		if cp.Name == name {
			return cp.ID
		}
	}
	now := isoNow()
	cp := &controlPlane{Seq: e.st.next(), ID: konnect.NewUUID(), Name: name, ClusterType: clusterTypes[0],
		AuthType: "pinned_client_certs", Labels: map[string]string{}, EndpointHost: randomHex(10),
		CreatedAt: now, UpdatedAt: now, Entities: map[string][]*entity{}}
	e.st.ControlPlanes = append(e.st.ControlPlanes, cp)
	e.persist()
	return cp.ID
}

// SecretValue returns the stored value of a secret, for tests that check
// what was written without the API ever returning it.
func (e *Emulator) SecretValue(controlPlaneID, configStoreID, key string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cp := e.st.controlPlane(controlPlaneID)
	if cp == nil {
		return "", false
	}
	st := cp.store(configStoreID)
	if st == nil {
		return "", false
	}
	s := st.secret(key)
	if s == nil {
		return "", false
	}
	return s.Value, true
}
