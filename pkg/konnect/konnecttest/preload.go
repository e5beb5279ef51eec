package konnecttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
)

// Preloads are the built-in starting states Options.Preload may name:
//
//	tutorial  the seed tutorial's prerequisites: control plane
//	          my-control-plane with example-service
//	          (http://httpbin.konghq.com/anything) and example-route
//	          (/anything), as the tutorial's `deck gateway apply` creates them
//
// A preload is idempotent: entities that exist already are left as they
// are, so it combines with a DataFile.
var preloads = map[string]func(e *Emulator) error{
	"tutorial": preloadTutorial,
}

// PreloadNames lists the built-in preloads, sorted.
func PreloadNames() []string {
	names := make([]string, 0, len(preloads))
	for n := range preloads {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TutorialControlPlane is the control plane the tutorial preload creates.
const TutorialControlPlane = "my-control-plane"

func preloadTutorial(e *Emulator) error {
	core := "/v2/control-planes/" + e.AddControlPlane(TutorialControlPlane) + "/core-entities"
	svc, err := e.ensure(core+"/services/example-service", map[string]any{"url": "http://httpbin.konghq.com/anything"})
	if err != nil {
		return err
	}
	_, err = e.ensure(core+"/routes/example-route", map[string]any{"paths": []any{"/anything"},
		"service": map[string]any{"id": svc["id"]}})
	return err
}

// ensure creates the entity at path (an item path by endpoint key) with a
// PUT unless it exists, through the emulator's own handlers (no faults, no
// token), and returns it.
func (e *Emulator) ensure(path string, body map[string]any) (map[string]any, error) {
	if got, status, err := e.internal(http.MethodGet, path, nil); err == nil && status == http.StatusOK {
		return got, nil
	}
	got, status, err := e.internal(http.MethodPut, path, body)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("status %d", status)
	}
	if err != nil {
		return nil, fmt.Errorf("konnecttest: preload PUT %s: %w", path, err)
	}
	return got, nil
}

func (e *Emulator) internal(method, path string, body map[string]any) (map[string]any, int, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, 0, err
		}
	}
	r := httptest.NewRequest(method, path, bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.match(r).handle(rec, r)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		return nil, rec.Code, err
	}
	return out, rec.Code, nil
}
