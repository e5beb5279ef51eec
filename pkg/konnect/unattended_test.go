package konnect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stepClock is a clock that only moves when told: by the sleeps of the
// client (waits for a retry) and by handlers.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func newStepClock() *stepClock { return &stepClock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)} }

func (f *stepClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *stepClock) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

// sleeper spends the client's waits on the fake clock.
func (f *stepClock) sleep(ctx context.Context, d time.Duration) error {
	f.advance(d)
	return ctx.Err()
}

// TestListingsThatCannotBeRealEnd: each shape of endless listing a server
// can serve ends at its bound, having asked for no more pages than the
// bound allows. What a listing retains is bounded by the same bound (the
// keys of the items seen; at most MaxListItems of them), so memory stays
// flat however long the server would go on.
func TestListingsThatCannotBeRealEnd(t *testing.T) {
	const maxItems = 50
	tests := []struct {
		name string
		// serve answers page n (from 1).
		serve    func(w http.ResponseWriter, r *http.Request, n int)
		list     func(c *Client) error
		wantErr  string
		maxPages int
	}{
		{
			name: "fresh cursor, one new item per page",
			serve: func(w http.ResponseWriter, r *http.Request, n int) {
				writeJSON(w, 200, fmt.Sprintf(`{"data":[{"key":"k-%d"}],"meta":{"page":{"next":"/x?page[after]=c-%d"}}}`, n, n))
			},
			list:     func(c *Client) error { _, err := c.Secrets.List(context.Background(), "cp", "st", nil); return err },
			wantErr:  "more than 50 items in one listing",
			maxPages: maxItems + 1,
		},
		{
			name: "fresh offset, one new item per page",
			serve: func(w http.ResponseWriter, r *http.Request, n int) {
				writeJSON(w, 200, fmt.Sprintf(`{"data":[{"id":"v-%d","name":"env","prefix":"p%d"}],"offset":"o-%d"}`, n, n, n))
			},
			list:     func(c *Client) error { _, err := c.Vaults.List(context.Background(), "cp", nil); return err },
			wantErr:  "more than 50 items in one listing",
			maxPages: maxItems + 1,
		},
		{
			name: "page numbers ignored, full pages repeated, no total",
			serve: func(w http.ResponseWriter, r *http.Request, n int) {
				size, _ := strconv.Atoi(r.URL.Query().Get("page[size]"))
				items := make([]string, size)
				for i := range items {
					items[i] = fmt.Sprintf(`{"id":"cp-%d","name":"cp"}`, i)
				}
				writeJSON(w, 200, `{"data":[`+strings.Join(items, ",")+`],"meta":{"page":{}}}`)
			},
			list: func(c *Client) error {
				_, err := c.ControlPlanes.List(context.Background(), "", &ListOptions{PageSize: 10})
				return err
			},
			wantErr:  `sent item "cp-0" twice`,
			maxPages: 2,
		},
		{
			name: "fresh cursor repeating its items",
			serve: func(w http.ResponseWriter, r *http.Request, n int) {
				writeJSON(w, 200, fmt.Sprintf(`{"data":[{"id":"s-1","name":"a"},{"id":"s-%d","name":"b"}],"meta":{"page":{"next":"/x?page[after]=c-%d"}}}`, n+1, n))
			},
			list:     func(c *Client) error { _, err := c.ConfigStores.List(context.Background(), "cp", nil); return err },
			wantErr:  `sent item "s-1" twice`,
			maxPages: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pages atomic.Int32
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				tt.serve(w, r, int(pages.Add(1)))
			}, func(o *Options) { o.MaxListItems = maxItems })
			err := tt.list(c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if got := int(pages.Load()); got > tt.maxPages {
				t.Errorf("%d pages asked for, want at most %d", got, tt.maxPages)
			}
		})
	}
}

// TestListingTimeBound: a listing whose pages keep coming, each new, ends
// once it has run longer than MaxListDuration (on a fake clock: each page
// takes a minute).
func TestListingTimeBound(t *testing.T) {
	clock := newStepClock()
	var pages atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n := pages.Add(1)
		clock.advance(time.Minute)
		writeJSON(w, 200, fmt.Sprintf(`{"data":[{"id":"s-%d","name":"a"}],"meta":{"page":{"next":"/x?page[after]=c-%d"}}}`, n, n))
	}, func(o *Options) { o.MaxListDuration = 5 * time.Minute })
	c.now = clock.now
	_, err := c.ConfigStores.List(context.Background(), "cp", nil)
	if err == nil || !strings.Contains(err.Error(), "the listing has run for 6m0s") || !strings.Contains(err.Error(), "--max-list-duration 5m0s") {
		t.Fatalf("error = %v, want the listing's time bound", err)
	}
	if got := pages.Load(); got != 6 {
		t.Errorf("%d pages, want 6 (the first past 5 minutes ends it)", got)
	}
}

// TestListingRetainsBoundedKeys: the state a listing keeps is the keys of
// the items seen, never more than the item bound.
func TestListingRetainsBoundedKeys(t *testing.T) {
	c, _ := newTestClient(t, nil, func(o *Options) { o.MaxListItems = 100 })
	l := c.newListing("/x")
	var err error
	for i := 0; err == nil && i < 1000; i++ {
		page := make([]ConfigStoreSecret, 10)
		for j := range page {
			page[j].Key = fmt.Sprintf("k-%d-%d", i, j)
		}
		err = checkPage(l, page)
		if len(l.seen) > 100+10 {
			t.Fatalf("the listing retains %d keys, past its bound of 100 (and one page)", len(l.seen))
		}
	}
	if err == nil {
		t.Fatal("10,000 items listed under a bound of 100")
	}
}

// TestThrottlingBudget: a server that answers 429 forever ends the call
// with ErrThrottled once the 429s alone have lasted the budget, and a
// Retry-After that would end past the budget is not waited for.
// Konnect's longest observed Retry-After is about 77 s: under the
// default budget, three such waits back to back are waited out, and the
// fourth 429 in a row ends the run.
func TestThrottlingBudget(t *testing.T) {
	tests := []struct {
		name         string
		retryAfter   string
		budget       time.Duration
		wantAttempts int32
	}{
		{"Retry-After 1 forever", "1", 30 * time.Second, 31},
		{"Retry-After 77 under the default budget", "77", 0, 4},
		{"Retry-After past the budget", "600", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newStepClock()
			var attempts atomic.Int32
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				attempts.Add(1)
				w.Header().Set("Retry-After", tt.retryAfter)
				w.WriteHeader(http.StatusTooManyRequests)
			}, func(o *Options) { o.ThrottleBudget = tt.budget })
			c.now, c.sleep = clock.now, clock.sleep
			_, err := c.Vaults.List(context.Background(), "cp", nil)
			if !errors.Is(err, ErrThrottled) || !strings.Contains(err.Error(), "Konnect kept throttling") {
				t.Fatalf("error = %v, want ErrThrottled", err)
			}
			if got := attempts.Load(); got != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", got, tt.wantAttempts)
			}
			if got := c.Activity().Throttled; int32(got) != tt.wantAttempts {
				t.Errorf("Activity counts %d 429s, want %d", got, tt.wantAttempts)
			}
			// Once tripped, every call fails at once.
			before := attempts.Load()
			if _, err := c.Plugins.List(context.Background(), "cp", nil); !errors.Is(err, ErrThrottled) || attempts.Load() != before {
				t.Errorf("a later call: %v, %d more attempts; want ErrThrottled at once", err, attempts.Load()-before)
			}
		})
	}
}

// TestThrottlingBudgetResetsOnAnswers: 429s mixed with answers are a
// server pacing its clients, not one that keeps throttling.
func TestThrottlingBudgetResetsOnAnswers(t *testing.T) {
	clock := newStepClock()
	var n atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 != 0 {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		writeJSON(w, 200, `{"data":[],"offset":null}`)
	}, func(o *Options) { o.ThrottleBudget = 3 * time.Minute })
	c.now, c.sleep = clock.now, clock.sleep
	for i := range 10 {
		if _, err := c.Vaults.List(context.Background(), "cp", nil); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

// TestSilentWriteEndsWithTwoSends: a server that takes writes and never
// answers them (reads are answered) makes a secret's write fail within
// --timeout + --unreachable-after, having received the value at most
// twice; before, it got it nine times over five minutes.
func TestSilentWriteEndsWithTwoSends(t *testing.T) {
	const timeout, window = 100 * time.Millisecond, 300 * time.Millisecond
	for _, op := range []string{"update", "create", "create, reads hang too"} {
		t.Run(op, func(t *testing.T) {
			var writes atomic.Int32
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && op != "create, reads hang too" {
					writeJSON(w, 404, `{"status":404,"title":"Not Found"}`)
					return
				}
				if r.Method == http.MethodGet {
					<-r.Context().Done()
					return
				}
				writes.Add(1)
				// Read the body, so that the server notices when the
				// client gives up on the connection.
				_, _ = io.Copy(io.Discard, r.Body)
				<-r.Context().Done()
			}, func(o *Options) { o.RequestTimeout, o.UnreachableAfter = timeout, window })
			done := make(chan error, 1)
			go func() {
				var err error
				if op == "update" {
					_, err = c.Secrets.Update(context.Background(), "cp", "st", "k", Plaintext("fake-value-1111"))
				} else {
					_, err = c.Secrets.Create(context.Background(), "cp", "st", "k", Plaintext("fake-value-1111"))
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("a write that got no answer succeeded")
				}
				if strings.Contains(err.Error(), "fake-value-1111") {
					t.Error("the error holds the value")
				}
			case <-time.After(timeout + window + 5*time.Second):
				t.Fatal("the write did not fail within --timeout + --unreachable-after")
			}
			if got := writes.Load(); got < 1 || got > maxValueSends {
				t.Errorf("the value was sent %d times, want 1 or 2", got)
			}
		})
	}
}

// TestValueSentAtMostTwice: a write that is answered 5xx each time sends
// its value twice and stops (a write without a value goes on retrying).
func TestValueSentAtMostTwice(t *testing.T) {
	var puts atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		puts.Add(1)
		writeJSON(w, 502, `{"message":"bad gateway"}`)
	}, func(o *Options) { o.UnreachableAfter = -1 })
	_, err := c.Secrets.Update(context.Background(), "cp", "st", "k", Plaintext("fake-value-2222"))
	if err == nil || !strings.Contains(err.Error(), "sends a value at most 2 times") {
		t.Fatalf("error = %v", err)
	}
	if got := puts.Load(); got != 2 {
		t.Errorf("%d sends of the value, want 2", got)
	}
}
