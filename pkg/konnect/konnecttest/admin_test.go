package konnecttest

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAdminCounts reads the counters over HTTP: every request by its
// template, the 429s apart, the admin requests themselves not counted,
// the token required, and DELETE zeroing both.
func TestAdminCounts(t *testing.T) {
	a := newAPI(t, Options{Faults: Faults{Rules: []FaultRule{{Method: http.MethodGet, PathContains: "/control-planes", Status: http.StatusTooManyRequests, Times: 2}}}})
	for range 3 {
		a.do(http.MethodGet, "/v2/control-planes", nil)
	}
	a.do(http.MethodPost, "/v2/control-planes", map[string]any{"name": "cp"})

	report := func() CountsReport {
		t.Helper()
		r := a.do(http.MethodGet, "/_emulator/counts", nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET /_emulator/counts: %d", r.status)
		}
		var rep CountsReport
		if err := json.Unmarshal(r.raw, &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	want := CountsReport{
		Requests:      map[string]int{"GET /v2/control-planes": 3, "POST /v2/control-planes": 1},
		Throttled:     map[string]int{"GET /v2/control-planes": 2},
		TotalRequests: 4, TotalThrottled: 2,
	}
	if d := cmp.Diff(want, report()); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, a.srv.Report()); d != "" {
		t.Errorf("Report (-want +got):\n%s", d)
	}

	a.token = "kpat_wrong"
	if r := a.do(http.MethodGet, "/_emulator/counts", nil); r.status != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", r.status)
	}
	a.token = a.srv.Token
	if r := a.do(http.MethodGet, "/_emulator/nothing", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown admin path: %d, want 404", r.status)
	}
	if r := a.do(http.MethodDelete, "/_emulator/counts", nil); r.status != http.StatusNoContent {
		t.Errorf("DELETE: %d, want 204", r.status)
	}
	if d := cmp.Diff(CountsReport{Requests: map[string]int{}, Throttled: map[string]int{}}, report()); d != "" {
		t.Errorf("counts after DELETE (-want +got):\n%s", d)
	}
}

// TestSaveData writes a state that a new emulator then serves.
func TestSaveData(t *testing.T) {
	a := newAPI(t, Options{})
	a.do(http.MethodPost, "/v2/control-planes", map[string]any{"name": "saved"})
	path := filepath.Join(t.TempDir(), "state.json")
	if err := a.srv.SaveData(path); err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{DataFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if e.ControlPlaneID("saved") == "" {
		t.Error("the saved control plane is not in the loaded state")
	}
}
