package konnect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testToken = "kpat_test_fake_0000"

// recorder replaces the client's sleep: it records the delays asked for and
// spends none of them.
type recorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.delays = append(r.delays, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *recorder) got() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.delays...)
}

// newTestClient starts handler and returns a client for it whose backoff
// delays are recorded, not spent, and whose jitter always draws the ceiling.
func newTestClient(t testing.TB, handler http.HandlerFunc, tweak ...func(*Options)) (*Client, *recorder) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	opts := Options{
		BaseURL:        srv.URL,
		Token:          testToken,
		RetryBaseDelay: time.Millisecond,
		RetryMaxDelay:  8 * time.Millisecond,
		NoPacing:       true,
	}
	for _, f := range tweak {
		f(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	c.sleep = rec.sleep
	c.randN = func(n int64) int64 { return n - 1 }
	return c, rec
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// drop closes the connection without answering.
func drop(t *testing.T, w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Error("response writer cannot hijack")
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	conn.Close()
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
		wantURL string
	}{
		{name: "defaults", opts: Options{Token: testToken}, wantURL: DefaultBaseURL},
		{name: "trailing v2", opts: Options{Token: testToken, BaseURL: "http://127.0.0.1:8123/v2/"}, wantURL: "http://127.0.0.1:8123"},
		{name: "path prefix kept", opts: Options{Token: testToken, BaseURL: "https://proxy.example/konnect"}, wantURL: "https://proxy.example/konnect"},
		{name: "no token", opts: Options{BaseURL: "http://x"}, wantErr: "token is required"},
		{name: "blank token", opts: Options{Token: "  "}, wantErr: "token is required"},
		{name: "token with a line break", opts: Options{Token: "kpat_one\nkpat_two"}, wantErr: "the token holds a line break"},
		{name: "token with a tab", opts: Options{Token: "kpat_one\tx"}, wantErr: "space or control character"},
		{name: "no scheme", opts: Options{Token: testToken, BaseURL: "us.api.konghq.com"}, wantErr: "must start with"},
		{name: "ftp", opts: Options{Token: testToken, BaseURL: "ftp://x"}, wantErr: "must start with"},
		{name: "no host", opts: Options{Token: testToken, BaseURL: "https://"}, wantErr: "no host"},
		{name: "query", opts: Options{Token: testToken, BaseURL: "https://x/?a=b"}, wantErr: "query"},
		{name: "credentials", opts: Options{Token: testToken, BaseURL: "https://u:hunter2@x"}, wantErr: "credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New: got %v, want error containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") || (tt.opts.Token != "" && strings.Contains(err.Error(), tt.opts.Token)) {
					t.Error("error leaks a credential")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.BaseURL(); got != tt.wantURL {
				t.Errorf("BaseURL() = %q, want %q", got, tt.wantURL)
			}
		})
	}
}

func TestRequestHeadersAndPaths(t *testing.T) {
	type seen struct {
		method, rawPath, query, auth, accept, ctype, ua string
	}
	var mu sync.Mutex
	var got []seen
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Authorization"),
			r.Header.Get("Accept"), r.Header.Get("Content-Type"), r.Header.Get("User-Agent")})
		mu.Unlock()
		switch r.Method {
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPost:
			writeJSON(w, http.StatusCreated, `{"key":"k"}`)
		default:
			writeJSON(w, http.StatusOK, `{"key":"k"}`)
		}
	}, func(o *Options) { o.UserAgent = "kvsync/1.2.3" })
	ctx := context.Background()
	if _, err := c.Secrets.Get(ctx, "cp 1", "store/1", "a/b c?d#e"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Secrets.Update(ctx, "cp", "st", "..", Plaintext("v")); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigStores.Delete(ctx, "cp", "st", true); err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{"GET", "/v2/control-planes/cp%201/config-stores/store%2F1/secrets/a%2Fb%20c%3Fd%23e", "", "Bearer " + testToken, "application/json", "", "kvsync/1.2.3"},
		{"PUT", "/v2/control-planes/cp/config-stores/st/secrets/%2E%2E", "", "Bearer " + testToken, "application/json", "application/json", "kvsync/1.2.3"},
		{"DELETE", "/v2/control-planes/cp/config-stores/st", "force=true", "Bearer " + testToken, "application/json", "", "kvsync/1.2.3"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d requests, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestDefaultUserAgent(t *testing.T) {
	var ua atomic.Value
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.Header.Get("User-Agent"))
		writeJSON(w, 200, `{"id":"x","name":"n"}`)
	})
	if _, err := c.ControlPlanes.Get(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if got := ua.Load(); got != "kvsync/dev" {
		t.Errorf("User-Agent = %v, want kvsync/dev", got)
	}
}

func TestIdempotentRequestsRetryWithExponentialBackoff(t *testing.T) {
	statuses := []int{503, 502, 504, 500, 200}
	for _, method := range []string{"GET", "PUT", "DELETE"} {
		t.Run(method, func(t *testing.T) {
			var n atomic.Int32
			c, rec := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				if statuses[i] != 200 {
					writeJSON(w, statuses[i], `{"message":"try later"}`)
					return
				}
				if r.Method == http.MethodDelete {
					w.WriteHeader(204)
					return
				}
				writeJSON(w, 200, `{"id":"v1","name":"env","prefix":"env"}`)
			})
			ctx := context.Background()
			var err error
			switch method {
			case "GET":
				_, err = c.Vaults.Get(ctx, "cp", "v1")
			case "PUT":
				_, err = c.Vaults.Upsert(ctx, "cp", Vault{ID: "v1", Name: "env", Prefix: "env"})
			case "DELETE":
				err = c.Vaults.Delete(ctx, "cp", "v1")
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Load(); got != 5 {
				t.Errorf("attempts = %d, want 5", got)
			}
			// Base 1ms doubling, capped at 8ms; jitter draws the ceiling.
			want := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond}
			if got := rec.got(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("delays = %v, want %v", got, want)
			}
		})
	}
}

func TestBackoffJitterStaysUnderCeiling(t *testing.T) {
	c, err := New(Options{Token: testToken, RetryBaseDelay: 10 * time.Millisecond, RetryMaxDelay: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 70; n++ {
		ceiling := time.Second
		if n < 7 {
			ceiling = 10 * time.Millisecond << n
		}
		for range 20 {
			if d := c.backoff(n); d < 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, outside [0, %v]", n, d, ceiling)
			}
		}
	}
}

func TestRetriesGiveUpAfterMaxRetries(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 503, `{"status":503,"title":"Service Unavailable","instance":"kong:trace:42"}`)
	}, func(o *Options) { o.MaxRetries = 2 })
	_, err := c.ConfigStores.Get(context.Background(), "cp", "st")
	if got := n.Load(); got != 3 {
		t.Errorf("attempts = %d, want 3", got)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
		t.Fatalf("error = %v, want a 503 APIError", err)
	}
	if !strings.Contains(err.Error(), "gave up after 2 retries") || !strings.Contains(err.Error(), "kong:trace:42") {
		t.Errorf("error = %q, want the retry count and the trace", err)
	}
}

func TestNegativeMaxRetriesDisablesRetries(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 502, `{"message":"bad gateway"}`)
	}, func(o *Options) { o.MaxRetries = -1 })
	if _, err := c.Vaults.Get(context.Background(), "cp", "x"); err == nil {
		t.Fatal("want an error")
	}
	if got := n.Load(); got != 1 {
		t.Errorf("attempts = %d, want 1", got)
	}
}

func TestRateLimitNeverExhaustsRetries(t *testing.T) {
	var n atomic.Int32
	c, rec := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 6 {
			w.Header().Set("Retry-After", "2")
			writeJSON(w, 429, `{"message":"API rate limit exceeded"}`)
			return
		}
		writeJSON(w, 200, `{"data":[],"offset":null}`)
	}, func(o *Options) { o.MaxRetries = 1 })
	if _, err := c.Plugins.List(context.Background(), "cp", nil); err != nil {
		t.Fatalf("List: %v", err)
	}
	delays := rec.got()
	if len(delays) != 6 {
		t.Fatalf("slept %d times, want 6", len(delays))
	}
	for _, d := range delays {
		if d != 2*time.Second {
			t.Errorf("delay %v, want Retry-After 2s", d)
		}
	}
}

func TestRetryAfterForms(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		min, max   time.Duration
	}{
		{"429 seconds", 429, "7", 7 * time.Second, 7 * time.Second},
		{"503 seconds", 503, "3", 3 * time.Second, 3 * time.Second},
		{"429 http-date", 429, date, 80 * time.Second, 91 * time.Second},
		{"503 http-date in the past", 503, "Mon, 02 Jan 2006 15:04:05 GMT", 0, time.Millisecond},
		{"502 ignores Retry-After", 502, "60", time.Millisecond, time.Millisecond},
		{"garbage falls back to backoff", 429, "soon", time.Millisecond, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			c, rec := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.Header().Set("Retry-After", tt.retryAfter)
					writeJSON(w, tt.status, `{"message":"later"}`)
					return
				}
				writeJSON(w, 200, `{"id":"x","name":"n"}`)
			})
			if _, err := c.ConfigStores.Get(context.Background(), "cp", "x"); err != nil {
				t.Fatal(err)
			}
			d := rec.got()
			if len(d) != 1 || d[0] < tt.min || d[0] > tt.max {
				t.Errorf("delays = %v, want one in [%v, %v]", d, tt.min, tt.max)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"Sat, 01 Mar 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Saturday, 01-Mar-25 12:01:00 GMT", time.Minute, true},
		{"Sat Mar  1 12:00:10 2025", 10 * time.Second, true},
		{"Sat, 01 Mar 2025 11:00:00 GMT", 0, true},
		{"tomorrow", 0, false},
		{"999999999999", 24 * time.Hour, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRateLimitedUntilContextEnds(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 429, `{"message":"API rate limit exceeded"}`)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	c.sleep = func(ctx context.Context, d time.Duration) error {
		if calls++; calls == 20 {
			cancel()
		}
		return ctx.Err()
	}
	_, err := c.ConfigStores.List(ctx, "cp", nil)
	if !statusIs(err, http.StatusTooManyRequests) || !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want a 429 that also is context.Canceled", err)
	}
	if got := n.Load(); got != 20 {
		t.Errorf("attempts = %d, want 20 (MaxRetries must not stop 429s)", got)
	}
}

func TestRetryAfterBeyondDeadlineFailsFast(t *testing.T) {
	var n atomic.Int32
	c, rec := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "3600")
		writeJSON(w, 429, `{"message":"API rate limit exceeded"}`)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.Vaults.List(ctx, "cp", nil)
	if !statusIs(err, http.StatusTooManyRequests) || !strings.Contains(err.Error(), "after the deadline") {
		t.Fatalf("error = %v, want a 429 explaining the deadline", err)
	}
	if n.Load() != 1 || len(rec.got()) != 0 {
		t.Errorf("attempts = %d, sleeps = %v; want 1 attempt and no sleep", n.Load(), rec.got())
	}
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			<-r.Context().Done() // hang until the client gives up
			return
		}
		writeJSON(w, 200, `{"id":"x","name":"n"}`)
	}, func(o *Options) { o.RequestTimeout = 50 * time.Millisecond })
	if _, err := c.ControlPlanes.Get(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("attempts = %d, want 2", got)
	}
}

// rawPost sends a POST without a read-back, the case the client must never
// repeat after an uncertain failure.
func rawPost(c *Client) error {
	return c.do(context.Background(), &call{method: http.MethodPost, path: "/control-planes/cp/things", body: map[string]string{"a": "b"}}, nil)
}

func TestPostWithoutReadBack(t *testing.T) {
	tests := []struct {
		name         string
		status       int // 0 drops the connection
		wantAttempts int32
		wantErr      string
	}{
		{"500 is not repeated", 500, 1, "may or may not have taken effect"},
		{"503 is not repeated", 503, 1, "may or may not have taken effect"},
		{"dropped connection is not repeated", 0, 1, "may or may not have taken effect"},
		{"400 is final", 400, 1, "400 Bad Request"},
		{"429 is repeated", 429, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) > 1 {
					writeJSON(w, 201, `{}`)
					return
				}
				if tt.status == 0 {
					drop(t, w)
					return
				}
				writeJSON(w, tt.status, `{"message":"nope"}`)
			})
			err := rawPost(c)
			if got := n.Load(); got != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tt.wantAttempts)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error = %v, want success", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// flakyDialer refuses the first fails dials, as a server that is not up yet
// would: those requests provably never left the client.
func flakyDialer(fails int32) *http.Client {
	var n atomic.Int32
	d := &net.Dialer{}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if n.Add(1) <= fails {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: t}
}

func TestPostRetriedWhenNeverSent(t *testing.T) {
	var posts atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		writeJSON(w, 201, `{}`)
	}, func(o *Options) { o.HTTPClient = flakyDialer(3) })
	if err := rawPost(c); err != nil {
		t.Fatal(err)
	}
	if got := posts.Load(); got != 1 {
		t.Errorf("server saw %d POSTs, want 1", got)
	}
}

func TestConnectionErrorNamesMethodAndPath(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {}, func(o *Options) {
		o.HTTPClient = flakyDialer(100)
		o.MaxRetries = 2
	})
	_, err := c.Secrets.Get(context.Background(), "cp", "st", "k")
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"GET /v2/control-planes/cp/config-stores/st/secrets/k", "connection refused", "gave up after 2 retries"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
