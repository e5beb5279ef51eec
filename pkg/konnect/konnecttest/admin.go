package konnecttest

import (
	"maps"
	"net/http"
)

// AdminPrefix starts the paths of the emulator's own endpoints, which
// Konnect does not have:
//
//	GET    /_emulator/counts   the request and 429 counters, as JSON
//	DELETE /_emulator/counts   zero them (204)
//
// They take the same bearer token as the API, are neither counted nor
// subject to injected faults, and answer 404 for anything else under the
// prefix.
const AdminPrefix = "/_emulator/"

// CountsReport is the body of GET /_emulator/counts. Keys are those of
// Counts: the method and the spec's path template.
type CountsReport struct {
	// Requests counts every request served, those answered by an injected
	// fault (429s included) too.
	Requests map[string]int `json:"requests"`
	// Throttled counts the requests answered 429 (the rate limit, or a
	// fault rule with that status).
	Throttled map[string]int `json:"throttled"`
	// TotalRequests and TotalThrottled are their sums.
	TotalRequests  int `json:"total_requests"`
	TotalThrottled int `json:"total_throttled"`
}

// Report returns the counters as GET /_emulator/counts serves them.
func (e *Emulator) Report() CountsReport {
	rep := CountsReport{Requests: e.Counts(), Throttled: e.Throttled()}
	for _, n := range rep.Requests {
		rep.TotalRequests += n
	}
	for _, n := range rep.Throttled {
		rep.TotalThrottled += n
	}
	return rep
}

// Throttled returns the number of requests answered 429 so far, keyed as
// Counts.
func (e *Emulator) Throttled() map[string]int {
	fs := &e.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := maps.Clone(fs.throttled)
	if out == nil {
		out = map[string]int{}
	}
	return out
}

// SaveData writes the emulator's state to path, in the format of
// Options.DataFile (mode 0600: it holds secret values): a state built
// through the Go API or in-process requests can then be served by the
// konnect-emulator binary with --data.
func (e *Emulator) SaveData(path string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return saveState(path, e.st)
}

// serveAdmin answers the requests under AdminPrefix; it reports false
// for any other request.
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) bool {
	if len(r.URL.Path) < len(AdminPrefix) || r.URL.Path[:len(AdminPrefix)] != AdminPrefix {
		return false
	}
	if !e.authorized(r) {
		unauthorized(w, famCoreEntities)
		return true
	}
	if r.URL.Path != AdminPrefix+"counts" {
		writeJSON(w, http.StatusNotFound, "application/json", map[string]any{"message": "Not Found"})
		return true
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, "application/json", e.Report())
	case http.MethodDelete:
		e.ResetCounts()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, DELETE")
		writeJSON(w, http.StatusMethodNotAllowed, "application/json", map[string]any{"message": "Method not allowed"})
	}
	return true
}
