package konnect

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeKonnect is a scripted server for the read-back paths: it keeps the
// entities it stored and fails POSTs as told, before or after storing.
type fakeKonnect struct {
	t  *testing.T
	mu sync.Mutex
	// postFaults are consumed one per POST: "drop-after" stores then drops
	// the connection, "drop-before" drops without storing, "503-after" stores
	// then answers 503, "502-before" answers 502 without storing, "" serves.
	postFaults []string
	vaults     map[string]map[string]any
	secrets    map[string]bool
	stores     []ConfigStore
	log        []string
	late       func()
}

func (f *fakeKonnect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, r.Method+" "+r.URL.EscapedPath())
	if r.Method == http.MethodGet && f.late != nil {
		defer func() { f.late(); f.late = nil }()
	}
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/v2/control-planes/cp")

	if r.Method == http.MethodPost {
		fault := ""
		if len(f.postFaults) > 0 {
			fault, f.postFaults = f.postFaults[0], f.postFaults[1:]
		}
		if strings.HasSuffix(fault, "-before") {
			if fault == "drop-before" {
				drop(f.t, w)
			} else {
				writeJSON(w, 502, `{"message":"bad gateway"}`)
			}
			return
		}
		if fault == "502-late" {
			// Not stored yet: it lands right after the next read-back.
			f.late = func() { f.create(path, in) }
			writeJSON(w, 502, `{"message":"bad gateway"}`)
			return
		}
		status, answer := f.create(path, in)
		switch fault {
		case "drop-after":
			drop(f.t, w)
		case "503-after":
			writeJSON(w, 503, `{"message":"unavailable"}`)
		default:
			writeJSON(w, status, answer)
		}
		return
	}

	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/core-entities/vaults/"):
		v, ok := f.vaults[strings.TrimPrefix(path, "/core-entities/vaults/")]
		if !ok {
			writeJSON(w, 404, `{"message":"Not found"}`)
			return
		}
		b, _ := json.Marshal(v)
		writeJSON(w, 200, string(b))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/config-stores/st/secrets/"):
		key, _ := url.PathUnescape(strings.TrimPrefix(path, "/config-stores/st/secrets/"))
		if !f.secrets[key] {
			writeJSON(w, 404, `{"status":404,"title":"Not Found","detail":"secret not found"}`)
			return
		}
		b, _ := json.Marshal(ConfigStoreSecret{Key: key})
		writeJSON(w, 200, string(b))
	case r.Method == http.MethodPut && strings.HasPrefix(path, "/config-stores/st/secrets/"):
		key, _ := url.PathUnescape(strings.TrimPrefix(path, "/config-stores/st/secrets/"))
		f.secrets[key] = true
		b, _ := json.Marshal(ConfigStoreSecret{Key: key})
		writeJSON(w, 200, string(b))
	case r.Method == http.MethodGet && path == "/config-stores":
		b, _ := json.Marshal(map[string]any{"data": f.stores, "meta": map[string]any{"page": map[string]any{"size": 100, "next": nil}}})
		writeJSON(w, 200, string(b))
	default:
		writeJSON(w, 404, `{"message":"no route"}`)
	}
}

func (f *fakeKonnect) create(path string, in map[string]any) (int, string) {
	switch path {
	case "/core-entities/vaults":
		id, _ := in["id"].(string)
		if _, dup := f.vaults[id]; dup || id == "" {
			return 400, `{"code":3,"message":"data constraint error","details":[{"type":"ERROR_TYPE_FIELD","field":"id","messages":["already exists"]}]}`
		}
		f.vaults[id] = in
		b, _ := json.Marshal(in)
		return 201, string(b)
	case "/config-stores/st/secrets":
		key, _ := in["key"].(string)
		if f.secrets[key] {
			return 409, `{"status":409,"title":"Conflict","detail":"key exists"}`
		}
		f.secrets[key] = true
		b, _ := json.Marshal(ConfigStoreSecret{Key: key})
		return 201, string(b)
	case "/config-stores":
		st := ConfigStore{ID: "store-" + string(rune('a'+len(f.stores))), Name: in["name"].(string)}
		f.stores = append(f.stores, st)
		b, _ := json.Marshal(st)
		return 201, string(b)
	}
	return 404, `{"message":"no route"}`
}

func (f *fakeKonnect) requests() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.log, "\n")
}

func newFake(t *testing.T, faults ...string) (*fakeKonnect, *Client) {
	f := &fakeKonnect{t: t, postFaults: faults, vaults: map[string]map[string]any{}, secrets: map[string]bool{}}
	c, _ := newTestClient(t, f.ServeHTTP)
	return f, c
}

func TestVaultCreateReadBack(t *testing.T) {
	tests := []struct {
		name      string
		faults    []string
		wantPosts int
	}{
		{"clean", nil, 1},
		{"answer lost after storing: read back, not repeated", []string{"drop-after"}, 1},
		{"503 after storing: read back, not repeated", []string{"503-after"}, 1},
		{"dropped before storing: read back, repeated", []string{"drop-before"}, 2},
		{"502 before storing: read back, repeated", []string{"502-before", "502-before"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFake(t, tt.faults...)
			v, err := c.Vaults.Create(context.Background(), "cp", Vault{Name: "env", Prefix: "env"})
			if err != nil {
				t.Fatalf("Create: %v\nrequests:\n%s", err, f.requests())
			}
			if !IsUUID(v.ID) || v.Prefix != "env" {
				t.Errorf("created %+v, want a client-chosen UUID and prefix env", v)
			}
			if len(f.vaults) != 1 {
				t.Errorf("server holds %d vaults, want 1", len(f.vaults))
			}
			if got := strings.Count(f.requests(), "POST"); got != tt.wantPosts {
				t.Errorf("POSTs = %d, want %d\n%s", got, tt.wantPosts, f.requests())
			}
		})
	}
}

// A first POST that lands late (the read-back saw nothing, then it was
// stored) makes the repeated POST collide with itself: a second read-back
// settles it as success.
func TestCreateCollidingWithItsOwnLateCopy(t *testing.T) {
	t.Run("vault", func(t *testing.T) {
		f, c := newFake(t, "502-late")
		v, err := c.Vaults.Create(context.Background(), "cp", Vault{Name: "env", Prefix: "env"})
		if err != nil {
			t.Fatalf("Create: %v\n%s", err, f.requests())
		}
		if len(f.vaults) != 1 || f.vaults[v.ID] == nil {
			t.Errorf("server holds %d vaults, want the created one", len(f.vaults))
		}
		id := "/v2/control-planes/cp/core-entities/vaults"
		want := strings.Join([]string{"POST " + id, "GET " + id + "/" + v.ID, "POST " + id, "GET " + id + "/" + v.ID}, "\n")
		if got := f.requests(); got != want {
			t.Errorf("requests:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("secret", func(t *testing.T) {
		f, c := newFake(t, "502-late")
		if _, err := c.Secrets.Create(context.Background(), "cp", "st", "k", Plaintext("s3cr3t-value")); err != nil {
			t.Fatalf("Create: %v\n%s", err, f.requests())
		}
		if !f.secrets["k"] {
			t.Error("secret not stored")
		}
		p := "/v2/control-planes/cp/config-stores/st/secrets"
		want := strings.Join([]string{"POST " + p, "GET " + p + "/k", "POST " + p, "GET " + p + "/k", "PUT " + p + "/k"}, "\n")
		if got := f.requests(); got != want {
			t.Errorf("requests:\n%s\nwant:\n%s", got, want)
		}
	})
}

func TestSecretCreateReadBack(t *testing.T) {
	tests := []struct {
		name   string
		faults []string
		want   string // the request sequence
	}{
		{"clean", nil, "POST /secrets"},
		{"answer lost after storing: finished with PUT", []string{"drop-after"},
			"POST /secrets\nGET /secrets/a%2Fkey\nPUT /secrets/a%2Fkey"},
		{"dropped before storing: repeated", []string{"drop-before"},
			"POST /secrets\nGET /secrets/a%2Fkey\nPOST /secrets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFake(t, tt.faults...)
			got, err := c.Secrets.Create(context.Background(), "cp", "st", "a/key", Plaintext("s3cr3t-value"))
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if got.Key != "a/key" {
				t.Errorf("key = %q, want a/key", got.Key)
			}
			seq := strings.ReplaceAll(f.requests(), "/v2/control-planes/cp/config-stores/st", "")
			if seq != tt.want {
				t.Errorf("requests:\n%s\nwant:\n%s", seq, tt.want)
			}
		})
	}
}

func TestConfigStoreCreateReadBack(t *testing.T) {
	tests := []struct {
		name      string
		faults    []string
		wantPosts int
	}{
		{"clean", nil, 1},
		{"answer lost after storing: adopted by name", []string{"drop-after"}, 1},
		{"503 after storing: adopted by name", []string{"503-after"}, 1},
		{"502 before storing: repeated", []string{"502-before"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFake(t, tt.faults...)
			f.stores = []ConfigStore{{ID: "other", Name: "someone else's"}}
			st, err := c.ConfigStores.Create(context.Background(), "cp", "mine")
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if st.Name != "mine" || st.ID == "" || st.ID == "other" {
				t.Errorf("created %+v", st)
			}
			if len(f.stores) != 2 {
				t.Errorf("server holds %d stores, want 2", len(f.stores))
			}
			if got := strings.Count(f.requests(), "POST"); got != tt.wantPosts {
				t.Errorf("POSTs = %d, want %d", got, tt.wantPosts)
			}
		})
	}
}

func TestConfigStoreReadBackRefusesToGuess(t *testing.T) {
	f, c := newFake(t, "drop-before")
	f.stores = []ConfigStore{{ID: "s1", Name: "mine"}, {ID: "s2", Name: "mine"}}
	_, err := c.ConfigStores.Create(context.Background(), "cp", "mine")
	if err == nil || !strings.Contains(err.Error(), "2 config stores are named \"mine\" (ids s1, s2)") {
		t.Fatalf("error = %v, want one naming both stores", err)
	}
	if got := strings.Count(f.requests(), "POST"); got != 1 {
		t.Errorf("POSTs = %d, want 1", got)
	}
}

// Out of retries, an uncertain POST is still read back once: a create that
// landed is a success, one that did not is the last error.
func TestReadBackWhenOutOfRetries(t *testing.T) {
	tests := []struct {
		fault     string
		wantErr   bool
		wantPosts int
	}{
		{"drop-after", false, 1},
		{"drop-before", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			f := &fakeKonnect{t: t, postFaults: []string{tt.fault}, vaults: map[string]map[string]any{}, secrets: map[string]bool{}}
			c, _ := newTestClient(t, f.ServeHTTP, func(o *Options) { o.MaxRetries = -1 })
			_, err := c.Vaults.Create(context.Background(), "cp", Vault{Name: "env", Prefix: "env"})
			if (err != nil) != tt.wantErr {
				t.Errorf("error = %v, want error: %v", err, tt.wantErr)
			}
			if got := strings.Count(f.requests(), "POST"); got != tt.wantPosts {
				t.Errorf("POSTs = %d, want %d", got, tt.wantPosts)
			}
			if got := strings.Count(f.requests(), "GET"); got != 1 {
				t.Errorf("read-backs = %d, want 1", got)
			}
		})
	}
}
