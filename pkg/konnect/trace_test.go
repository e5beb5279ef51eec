package konnect

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTrace: every attempt and every wait for a retry is reported, with
// method, path, status and durations, and never the token or a body.
func TestTrace(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	var events []Event
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			writeJSON(w, http.StatusTooManyRequests, `{"message": "slow down"}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"id": "cs-1", "name": "s"}`)
	}, func(o *Options) {
		o.Trace = func(e Event) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
		}
	})
	if _, err := c.ConfigStores.Get(context.Background(), "cp", "cs-1"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 3 {
		t.Fatalf("events = %+v, want an attempt, a retry wait and an attempt", events)
	}
	want := []struct {
		status int
		retry  time.Duration
	}{{429, 0}, {429, 2 * time.Second}, {200, 0}}
	for i, e := range events {
		if e.Method != "GET" || e.Path != "/v2/control-planes/cp/config-stores/cs-1" || e.Status != want[i].status || e.Retry != want[i].retry {
			t.Errorf("event %d = %+v, want GET of the store, status %d, retry %s", i, e, want[i].status, want[i].retry)
		}
		if strings.Contains(fmt.Sprintf("%+v", e), testToken) {
			t.Errorf("event %d holds the token", i)
		}
	}
}
