package konnecttest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// state is everything the emulator knows; it is what the data file holds.
// Secret values live here (the emulator's own storage), never in responses.
type state struct {
	// Seq orders every item ever created; cursors and offsets encode it,
	// so pagination stays stable while items are added or removed.
	Seq           int64           `json:"seq"`
	ControlPlanes []*controlPlane `json:"control_planes"`
}

type controlPlane struct {
	Seq          int64             `json:"seq"`
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	Labels       map[string]string `json:"labels"`
	ClusterType  string            `json:"cluster_type"`
	AuthType     string            `json:"auth_type"`
	CloudGateway bool              `json:"cloud_gateway"`
	ProxyURLs    []any             `json:"proxy_urls"`
	EndpointHost string            `json:"endpoint_host"`
	CreatedAt    string            `json:"created_at"`
	UpdatedAt    string            `json:"updated_at"`

	Stores []*configStore `json:"config_stores"`
	// Entities are core entities by kind ("vaults", "plugins", ...), each
	// a complete Kong-style object as served, in creation order.
	Entities map[string][]*entity `json:"entities"`
	// Members are the consumer group memberships.
	Members []member `json:"consumer_group_members,omitempty"`
	// GroupMembers are a control plane group's members' ids.
	GroupMembers []string `json:"group_members,omitempty"`
}

// member puts a consumer (by id) in a consumer group (by id).
type member struct {
	Group    string `json:"consumer_group"`
	Consumer string `json:"consumer"`
}

type configStore struct {
	Seq       int64     `json:"seq"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt string    `json:"created_at"`
	UpdatedAt string    `json:"updated_at"`
	Secrets   []*secret `json:"secrets"`
}

type secret struct {
	Seq       int64  `json:"seq"`
	Key       string `json:"key"`
	Value     string `json:"value"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

type entity struct {
	Seq int64          `json:"seq"`
	Obj map[string]any `json:"object"`
}

func (s *state) next() int64 {
	s.Seq++
	return s.Seq
}

func (s *state) controlPlane(id string) *controlPlane {
	for _, cp := range s.ControlPlanes {
		if cp.ID == id {
			return cp
		}
	}
	return nil
}

func (cp *controlPlane) store(id string) *configStore {
	for _, st := range cp.Stores {
		if st.ID == id {
			return st
		}
	}
	return nil
}

func (st *configStore) secret(key string) *secret {
	for _, s := range st.Secrets {
		if s.Key == key {
			return s
		}
	}
	return nil
}

// loadState reads the data file; a missing file is an empty state.
func loadState(path string) (*state, error) {
	st := &state{}
	if path == "" {
		return st, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("konnecttest: read data file: %w", err)
	}
	if len(b) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("konnecttest: data file %s: %w", path, err)
	}
	for _, cp := range st.ControlPlanes {
		if cp.Entities == nil {
			cp.Entities = map[string][]*entity{}
		}
	}
	return st, nil
}

// saveState writes the data file atomically: a temporary file in the same
// directory, synced, then renamed over the old one. Mode 0600: it holds
// secret values.
func saveState(path string, st *state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("konnecttest: encode state: %w", err)
	}
	return writeData(path, b)
}

// writeData replaces the data file atomically (mode 0600: it holds secret
// values).
func writeData(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("konnecttest: write data file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("konnecttest: write data file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("konnecttest: write data file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("konnecttest: write data file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("konnecttest: write data file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("konnecttest: write data file: %w", err)
	}
	return nil
}

// isoNow is Konnect's ISO-8601 timestamp (UTC, milliseconds).
func isoNow() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// errorLog receives the emulator's own operational errors (data file
// writes); never request bodies or secret values.
var errorLog io.Writer = os.Stderr
