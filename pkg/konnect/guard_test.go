package konnect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	now := time.Unix(0, 0)
	b := &breaker{after: 10 * time.Second, now: func() time.Time { return now }}
	fail := errors.New("connection reset")
	for range 5 {
		b.record(false, 0, fail, false)
		now = now.Add(time.Second)
	}
	if b.check() != nil {
		t.Fatal("opened after 5 s of failures, want 10 s")
	}
	b.record(true, 404, nil, false) // an answer, even an error, resets
	for range 2 {
		b.record(false, 503, nil, false)
		now = now.Add(6 * time.Second)
	}
	if b.check() != nil {
		t.Fatal("opened after a success and 6 s of failures")
	}
	b.record(false, 503, nil, false)
	if err := b.check(); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("after 12 s of failures: %v, want ErrUnreachable", err)
	}

	// Definitive failures (refused) open it after three, at once.
	d := &breaker{after: time.Hour, now: func() time.Time { return now }}
	for range 3 {
		d.record(false, 0, errors.New("refused"), true)
	}
	if err := d.check(); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("after 3 refusals: %v", err)
	}
}

// TestRefusedFailsFast: a connection refused is not retried, names the
// address, and after a few the client stops trying.
func TestRefusedFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, err := New(Options{BaseURL: "http://" + addr, Token: testToken, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	c.sleep = rec.sleep
	ctx := context.Background()
	var last error
	for range 4 {
		_, last = c.ConfigStores.List(ctx, "cp", nil)
	}
	if len(rec.got()) != 0 {
		t.Errorf("a refused connection was retried after %v", rec.got())
	}
	if !errors.Is(last, ErrUnreachable) {
		t.Errorf("after 4 refused calls: %v, want ErrUnreachable", last)
	}
	_, err = c.ConfigStores.Get(ctx, "cp", "x")
	if err == nil || !strings.Contains(err.Error(), "http://"+addr) {
		t.Errorf("error = %v, want the address named", err)
	}
}

// TestRedirectNotFollowed: a redirect is an error naming the target's host,
// and nothing reaches the target.
func TestRedirectNotFollowed(t *testing.T) {
	reached := make(chan struct{}, 1)
	target, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { reached <- struct{}{} })
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.BaseURL()+r.URL.Path+"?token=x", http.StatusTemporaryRedirect)
	})
	_, err := c.Secrets.Create(context.Background(), "cp", "s", "k", Plaintext("fake-value"))
	if err == nil || !strings.Contains(err.Error(), "307") || !strings.Contains(err.Error(), target.BaseURL()) || strings.Contains(err.Error(), "token=") {
		t.Errorf("error = %v, want the 307 and the target's host only", err)
	}
	select {
	case <-reached:
		t.Error("the redirect was followed")
	default:
	}
}

// TestEndlessListingsEnd: a cursor that is fresh every time, behind empty
// pages, ends with an error instead of looping.
func TestEndlessListingsEnd(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		if strings.Contains(r.URL.Path, "core-entities") {
			writeJSON(w, http.StatusOK, fmt.Sprintf(`{"data": [], "offset": "o-%d"}`, i))
			return
		}
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"data": [], "meta": {"page": {"next": "/x?page[after]=c-%d"}}}`, i))
	})
	ctx := context.Background()
	if _, err := c.ConfigStores.List(ctx, "cp", nil); err == nil || !strings.Contains(err.Error(), "never ends") {
		t.Errorf("cursor listing: %v", err)
	}
	if _, err := c.Vaults.List(ctx, "cp", nil); err == nil || !strings.Contains(err.Error(), "never ends") {
		t.Errorf("offset listing: %v", err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d pages asked for, want one per listing", got)
	}
}

// TestEndlessPageNumbersEnd: full pages without a total, or with a total
// that grows as fast as the pages come, end at the page bound.
func TestEndlessPageNumbersEnd(t *testing.T) {
	defer func(was int) { maxPages = was }(maxPages)
	maxPages = 5
	for _, withTotal := range []bool{false, true} {
		var n atomic.Int32
		c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			i := n.Add(1)
			meta := `{}`
			if withTotal {
				meta = fmt.Sprintf(`{"page": {"total": %d}}`, 2*i+1)
			}
			writeJSON(w, http.StatusOK, fmt.Sprintf(`{"data": [{"id": "cp-%d-a", "name": "a"}, {"id": "cp-%d-b", "name": "b"}], "meta": %s}`, i, i, meta))
		}, func(*Options) {})
		_, err := c.ControlPlanes.List(context.Background(), "", &ListOptions{PageSize: 2})
		if err == nil || !strings.Contains(err.Error(), "never ends") {
			t.Errorf("total %v: %v, want a listing that never ends", withTotal, err)
		}
		if got := n.Load(); got != 5 {
			t.Errorf("total %v: %d pages asked for, want the bound of 5", withTotal, got)
		}
	}
}

// TestInterruptCancelsRetryWaits: a call waiting for a retry (a Retry-After
// of an hour) stops at once when its stop channel closes: nothing was sent,
// so there is nothing to finish.
func TestInterruptCancelsRetryWaits(t *testing.T) {
	asked := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case asked <- struct{}{}:
		default:
		}
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL, Token: testToken, NoPacing: true, ThrottleBudget: -1})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Vaults.List(WithStop(context.Background(), stop), "cp", nil)
		done <- err
	}()
	select {
	case <-asked:
	case <-time.After(30 * time.Second):
		t.Fatal("no request")
	}
	close(stop)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "interrupted before the request was sent") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the wait for the retry went on after the interrupt")
	}
}

// TestUntrustedCertificateFailsAtOnce: a TLS certificate that does not
// verify is not retried, and the error says what is wrong.
func TestUntrustedCertificateFailsAtOnce(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL, Token: testToken, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	c.sleep = rec.sleep
	_, err = c.Vaults.List(context.Background(), "cp", nil)
	if err == nil || !strings.Contains(err.Error(), "TLS certificate of "+srv.URL+" is not trusted") {
		t.Errorf("error = %v", err)
	}
	if len(rec.got()) != 0 {
		t.Errorf("an untrusted certificate was retried after %v", rec.got())
	}
}
