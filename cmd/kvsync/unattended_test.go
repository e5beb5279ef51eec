package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestTokenWithLineBreakFailsAtOnce: a token that no request can carry (a
// token file of two lines) fails before any request, instead of being
// retried until the run gives up.
func TestTokenWithLineBreakFailsAtOnce(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	t.Cleanup(srv.Close)
	file := storesFile(t, 1)
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", "kpat_test_fake_0000\nkpat_test_fake_1111")
	code, _, stderr := runIn(t, "", "diff", file)
	if code != exitError || !strings.Contains(stderr, "the token holds a line break") {
		t.Errorf("exit %d, want 1 and a word on the line break:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "fake_0000") || strings.Contains(stderr, "fake_1111") {
		t.Error("the error shows the token")
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests made, want none", n)
	}
}

// TestAllowHTTPWarns: --allow-http to a host that is not loopback says that
// the token travels in clear. Loopback (the emulator) says nothing.
func TestAllowHTTPWarns(t *testing.T) {
	file := storesFile(t, 1)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	// A host that is not loopback and answers nothing: the warning comes
	// before any request, and the run fails fast on the refused address.
	_, _, stderr := runIn(t, "", "diff", "--konnect-addr", "http://192.0.2.1:9", "--allow-http", "--timeout", "1ms", "--unreachable-after", "1ms", "--max-duration", "2s", file)
	if !strings.Contains(stderr, "Warning: --allow-http: the Konnect token and every secret value go to 192.0.2.1 in clear") {
		t.Errorf("no warning that the token goes in clear:\n%s", stderr)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	_, _, stderr = runIn(t, "", "diff", "--konnect-addr", srv.URL, "--allow-http", file)
	if strings.Contains(stderr, "in clear") {
		t.Errorf("a loopback address was warned about:\n%s", stderr)
	}
}

// TestThrottledRunSaysSoAndEnds: a server that answers 429 with
// Retry-After: 1 forever, on a run outside a terminal: the heartbeat says
// what the run waits for (shortened here from 10 s), and the throttling
// budget ends the run, saying Konnect kept throttling, long before
// --max-duration.
func TestThrottledRunSaysSoAndEnds(t *testing.T) {
	defer func(was time.Duration) { heartbeatAfter = was }(heartbeatAfter)
	heartbeatAfter = 500 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	file := storesFile(t, 1)
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, stderr := runIn(t, "", "diff", "--throttle-budget", "2500ms", "--max-duration", "10m", file)
		done <- result{code, stderr}
	}()
	select {
	case r := <-done:
		if r.code != exitError || !strings.Contains(r.stderr, "Konnect kept throttling: it answered nothing but 429") {
			t.Errorf("exit %d, want 1 and Konnect kept throttling:\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "kvsync: still running, nothing printed for") || !strings.Contains(r.stderr, "GET /v2/control-planes") ||
			!strings.Contains(r.stderr, "left before --max-duration") {
			t.Errorf("no heartbeat naming the request and the time left:\n%s", r.stderr)
		}
	case <-timeout():
		t.Fatal("the run did not end")
	}
}
