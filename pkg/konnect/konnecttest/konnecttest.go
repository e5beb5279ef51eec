// Package konnecttest is a faithful, in-memory emulator of the parts of the
// Konnect API kvsync uses, for tests (like net/http/httptest), the demo and
// benchmarks. It serves real HTTP with Konnect's status codes, error bodies,
// pagination styles, uniqueness rules and server-filled plugin defaults, and
// can inject latency, rate limiting (429 + Retry-After), 5xx answers and
// dropped connections.
package konnecttest

import (
	"net/http"
	"time"
)

// Options configure an Emulator.
type Options struct {
	// Token is the bearer token every request must carry (401 otherwise).
	Token string
	// DataFile, when set, is loaded at start and rewritten atomically after
	// every change, so state survives restarts.
	DataFile string
	// Faults to inject from the start; see SetFaults.
	Faults Faults
}

// Faults are injected failures. The zero value injects nothing.
type Faults struct {
	// Latency is added to every request; LatencyJitter adds a random
	// extra delay in [0, LatencyJitter).
	Latency       time.Duration
	LatencyJitter time.Duration
	// RateLimit (requests per second) and RateBurst configure a token
	// bucket; a request that finds it empty gets 429 with Retry-After.
	RateLimit float64
	RateBurst int
	// ErrorRate is the fraction of requests answered 500 or 503 without
	// being processed.
	ErrorRate float64
	// DropRate is the fraction of connections closed mid-request, without
	// an answer and without being processed.
	DropRate float64
	// Rules fail specific requests, checked before the random faults.
	Rules []FaultRule
	// Seed makes the random faults repeatable (0: seeded from time).
	Seed int64
}

// FaultRule fails requests matching Method (empty: any) and whose path
// contains PathContains with Status (or drops them when Status is 0).
// Times limits how many requests it fails (0: all).
type FaultRule struct {
	Method       string
	PathContains string
	Status       int
	Times        int
}

// Emulator is an http.Handler emulating Konnect.
type Emulator struct {
	opts Options
}

// New returns an emulator. It fails only when DataFile exists but cannot be
// loaded.
func New(opts Options) (*Emulator, error) {
	return &Emulator{opts: opts}, nil
}

func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented yet", http.StatusNotImplemented)
}

// SetFaults replaces the injected faults at run time.
func (e *Emulator) SetFaults(f Faults) {}

// Counts returns the number of requests served so far, keyed by method and
// the spec's path template, e.g.
// "GET /v2/control-planes/{controlPlaneId}/config-stores". Requests answered
// by an injected fault are counted too.
func (e *Emulator) Counts() map[string]int { return nil }

// TotalRequests is the sum of Counts.
func (e *Emulator) TotalRequests() int { return 0 }

// ResetCounts zeroes the counters.
func (e *Emulator) ResetCounts() {}

// Server is an Emulator listening on a loopback port, like httptest.Server.
type Server struct {
	*Emulator
	// URL is the base URL (http://127.0.0.1:PORT), without /v2.
	URL string
	// Token is the token the server accepts.
	Token string
}

// NewServer starts an emulator on a free loopback port with a fake token.
// Call Close when done (t.Cleanup(srv.Close) in tests).
func NewServer(opts Options) *Server {
	return &Server{Emulator: &Emulator{opts: opts}}
}

// Close shuts the server down.
func (s *Server) Close() {}
