package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/konnect"
)

// TestHeartbeatTiming: on a fake clock, the heartbeat says nothing while
// the run prints within 10 s, one line once it has been quiet for 10 s,
// and the next 10 s after that line (or after the run's own output).
func TestHeartbeatTiming(t *testing.T) {
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	now := start
	var out bytes.Buffer
	h := newHeartbeat(&out, func() time.Time { return now }, start.Add(30*time.Minute))
	lines := func() int { return strings.Count(out.String(), "\n") }
	step := func(to time.Duration, want int) {
		t.Helper()
		now = start.Add(to)
		h.beat()
		if got := lines(); got != want {
			t.Fatalf("at %s: %d heartbeat lines, want %d:\n%s", to, got, want, out.String())
		}
	}
	step(9*time.Second, 0)
	step(10*time.Second, 1)
	step(15*time.Second, 1)
	step(19*time.Second, 1)
	step(20*time.Second, 2)
	// The run prints: the next line comes 10 s after that.
	now = start.Add(25 * time.Second)
	h.wrote()
	step(34*time.Second, 2)
	step(35*time.Second, 3)
	if !strings.Contains(out.String(), "nothing printed for 10s: no request in flight; 0 429 answers so far; 29m50s left before --max-duration") {
		t.Errorf("first line:\n%s", out.String())
	}
}

// TestHeartbeatLine: the line names the request waited for, its 429s, the
// next attempt and the time left.
func TestHeartbeatLine(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	deadline := now.Add(29*time.Minute + 20*time.Second)
	tests := []struct {
		name string
		a    konnect.Activity
		want string
	}{
		{"retry wait after 429s", konnect.Activity{Throttled: 14, Calls: []konnect.Wait{
			{Method: "PUT", Path: "/v2/control-planes/cp/core-entities/vaults/v", Started: now.Add(-time.Minute), Attempts: 12, Throttled: 12, NextAttempt: now.Add(time.Second)},
			{Method: "GET", Path: "/v2/control-planes/cp/config-stores", Started: now},
		}}, "kvsync: still running, nothing printed for 10s: waiting to try PUT /v2/control-planes/cp/core-entities/vaults/v again (12 attempts so far), next attempt in 1s, rate limited 12 times; 1 more request in flight; 14 429 answers so far; 29m20s left before --max-duration"},
		{"no answer yet", konnect.Activity{Calls: []konnect.Wait{
			{Method: "PUT", Path: "/v2/x", Started: now.Add(-12 * time.Second), Attempts: 1, Sent: now.Add(-12 * time.Second)},
		}}, "kvsync: still running, nothing printed for 10s: waiting for the answer to PUT /v2/x (sent 12s ago, attempt 1); 0 429 answers so far; 29m20s left before --max-duration"},
		{"paused by the pacer", konnect.Activity{Throttled: 1, Calls: []konnect.Wait{
			{Method: "GET", Path: "/v2/x", Started: now},
		}}, "kvsync: still running, nothing printed for 10s: waiting for a request slot for GET /v2/x (paced, or paused by Konnect's Retry-After); 1 429 answer so far; 29m20s left before --max-duration"},
	}
	for _, tt := range tests {
		if got := heartbeatLine(tt.a, now, 10*time.Second, deadline); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}
