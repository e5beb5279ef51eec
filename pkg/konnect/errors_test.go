package konnect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestErrorDecoding(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		check  func(*APIError) bool
		// wantText are substrings of Error(); notFound etc. the helpers.
		wantText                                    []string
		notFound, conflict, unauthorized, throttled bool
	}{
		{
			name:   "problem+json 400 with invalid parameters",
			status: 400,
			body: `{"status":400,"title":"Invalid Request","instance":"kong:trace:8405749052424858251","detail":"Invalid Parameters",
				"invalid_parameters":[{"field":"name","rule":"min_length","minimum":1,"reason":"name must be longer than or equal to 1 characters"},
				{"field":"force","rule":"required","reason":"This Config Store has 4 secrets.","source":"query"}]}`,
			check: func(e *APIError) bool {
				return e.Title == "Invalid Request" && e.Detail == "Invalid Parameters" && len(e.InvalidParameters) == 2 &&
					e.InvalidParameters[1].Source == "query" && e.InvalidParameters[0].Rule == "min_length"
			},
			wantText: []string{"POST /v2/control-planes/cp/config-stores: 400 Bad Request: Invalid Request: Invalid Parameters",
				"invalid parameters: name name must be longer than or equal to 1 characters; force (query) This Config Store has 4 secrets.",
				"[kong:trace:8405749052424858251]"},
		},
		{
			name:         "problem+json 401",
			status:       401,
			body:         `{"status":401,"title":"Unauthorized","instance":"kong:trace:1","detail":"Invalid credentials"}`,
			check:        func(e *APIError) bool { return e.Detail == "Invalid credentials" && e.Instance == "kong:trace:1" },
			wantText:     []string{"401 Unauthorized: Invalid credentials [kong:trace:1]"},
			unauthorized: true,
		},
		{
			name:         "gateway 401",
			status:       401,
			body:         `{"message":"Unauthorized","status":401}`,
			check:        func(e *APIError) bool { return e.Message == "Unauthorized" },
			wantText:     []string{"401 Unauthorized"},
			unauthorized: true,
		},
		{
			name:   "core entity data constraint error",
			status: 400,
			body: `{"code":3,"message":"data constraint error","details":[{"type":"ERROR_TYPE_FIELD","field":"prefix","messages":["unique constraint failed"]},
				{"type":"ERROR_TYPE_ENTITY","messages":["a","b"]}]}`,
			check:    func(e *APIError) bool { return e.Code == 3 && len(e.Details) == 2 },
			wantText: []string{"400 Bad Request: data constraint error: prefix: unique constraint failed; a, b"},
			conflict: true,
		},
		{
			name:     "core entity schema violation is no conflict",
			status:   400,
			body:     `{"code":2,"message":"schema violation","details":[{"field":"config.model","messages":["required field missing"]}]}`,
			check:    func(e *APIError) bool { return e.Code == 2 },
			wantText: []string{"schema violation: config.model: required field missing"},
		},
		{
			name:   "core entity validation error is no conflict",
			status: 400,
			body: `{"code":3,"message":"validation error","details":[{"@type":"type.googleapis.com/kong.admin.model.v1.ErrorDetail",
				"type":"ERROR_TYPE_FIELD","field":"config.model","messages":["required field missing"]}]}`,
			check:    func(e *APIError) bool { return e.Code == 3 && len(e.Details) == 1 },
			wantText: []string{"400 Bad Request: validation error: config.model: required field missing"},
		},
		{
			name:     "kong classic unique violation",
			status:   409,
			body:     `{"code":5,"name":"unique constraint violation","fields":{"prefix":"already exists with value 'env'"}}`,
			check:    func(e *APIError) bool { return e.Code == 5 && e.Message == "unique constraint violation" },
			wantText: []string{"409 Conflict: unique constraint violation: prefix: already exists with value 'env'"},
			conflict: true,
		},
		{
			name:     "legacy not found",
			status:   404,
			body:     `{"message":"Not found"}`,
			check:    func(e *APIError) bool { return e.Message == "Not found" },
			wantText: []string{"404 Not Found"},
			notFound: true,
		},
		{
			name:      "rate limited",
			status:    429,
			body:      `{"message":"API rate limit exceeded"}`,
			check:     func(e *APIError) bool { return e.Message == "API rate limit exceeded" },
			wantText:  []string{"429 Too Many Requests: API rate limit exceeded"},
			throttled: true,
		},
		{
			name:     "html from a proxy",
			status:   502,
			body:     "<html>\n<body>\n\t<h1>502 Bad Gateway</h1>\x00\n</body></html>",
			check:    func(e *APIError) bool { return e.Message == "<html> <body> <h1>502 Bad Gateway</h1> </body></html>" },
			wantText: []string{"502 Bad Gateway: <html>"},
		},
		{
			name:     "empty body",
			status:   403,
			body:     ``,
			check:    func(e *APIError) bool { return e.Message == "" && e.Title == "" },
			wantText: []string{"POST /v2/control-planes/cp/config-stores: 403 Forbidden"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}, func(o *Options) { o.MaxRetries = -1 })
			// 429s are retried until the context ends: end it at once.
			c.sleep = func(context.Context, time.Duration) error { return context.Canceled }
			err := c.do(context.Background(), &call{method: http.MethodPost, path: "/control-planes/cp/config-stores",
				query: map[string][]string{"page[size]": {"3"}}}, nil)
			var e *APIError
			if !errors.As(err, &e) {
				t.Fatalf("error %v is no *APIError", err)
			}
			if e.StatusCode != tt.status || e.Method != "POST" || e.Path != "/v2/control-planes/cp/config-stores" {
				t.Errorf("status/method/path = %d %s %s", e.StatusCode, e.Method, e.Path)
			}
			if !tt.check(e) {
				t.Errorf("decoded %+v", *e)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(e.Error(), want) {
					t.Errorf("Error() = %q\nlacks %q", e.Error(), want)
				}
			}
			if strings.Contains(e.Error(), "page[size]") {
				t.Errorf("Error() = %q shows the query", e.Error())
			}
			if IsNotFound(err) != tt.notFound || IsConflict(err) != tt.conflict ||
				IsUnauthorized(err) != tt.unauthorized || statusIs(err, http.StatusTooManyRequests) != tt.throttled {
				t.Errorf("helpers: notFound=%v conflict=%v unauthorized=%v rateLimited=%v",
					IsNotFound(err), IsConflict(err), IsUnauthorized(err), statusIs(err, http.StatusTooManyRequests))
			}
		})
	}
}

func TestHelpersSeeThroughWrapping(t *testing.T) {
	err := fmt.Errorf("vault %q: %w", "env", &APIError{StatusCode: 404})
	if !IsNotFound(err) || IsConflict(err) || IsNotFound(errors.New("404")) || IsNotFound(nil) {
		t.Error("helpers must follow errors.As through wrapping and nothing else")
	}
}

// Secret values and the token must not show in any error the client returns,
// whatever went wrong, even when the server echoes the value back.
func TestErrorsNeverContainSecretsOrToken(t *testing.T) {
	const value = "sk-live-SUPERSECRET-0001"
	scenarios := []struct {
		name    string
		handler http.HandlerFunc
		opts    func(*Options)
	}{
		{"server echoes the value", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 400, `{"status":400,"title":"Invalid `+value+`","detail":"value `+value+` is bad","instance":"`+value+`",
				"invalid_parameters":[{"field":"value","reason":"got `+value+`","rule":"`+value+`"}]}`)
		}, nil},
		{"kong details echo the value", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 400, `{"code":2,"message":"bad `+value+`","details":[{"field":"`+value+`","messages":["`+value+`"]},"`+value+`",{"x":["`+value+`"]}]}`)
		}, nil},
		{"non-JSON echo", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			fmt.Fprint(w, "<html>oops "+value+"</html>")
		}, nil},
		{"server error after retries", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 503, `{}`) }, nil},
		{"dropped connection", func(w http.ResponseWriter, r *http.Request) { drop(t, w) }, nil},
		{"connection refused", func(w http.ResponseWriter, r *http.Request) {}, func(o *Options) { o.HTTPClient = flakyDialer(1000) }},
		{"attempt timeout", func(w http.ResponseWriter, r *http.Request) {
			// The server notices a client hanging up only once the body is read.
			io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}, func(o *Options) { o.RequestTimeout = 20 * time.Millisecond }},
		{"unauthorized", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 401, `{"message":"Unauthorized","status":401}`)
		}, nil},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			tweak := func(o *Options) {
				o.MaxRetries = 2
				if sc.opts != nil {
					sc.opts(o)
				}
			}
			c, _ := newTestClient(t, sc.handler, tweak)
			ctx := context.Background()
			var errs []error
			_, err := c.Secrets.Create(ctx, "cp", "st", "k", Plaintext(value))
			errs = append(errs, err)
			_, err = c.Secrets.Update(ctx, "cp", "st", "k", Plaintext(value))
			errs = append(errs, err)
			for i, err := range errs {
				if err == nil {
					t.Fatalf("call %d: want an error", i)
				}
				for _, text := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err)} {
					if strings.Contains(text, value) {
						t.Errorf("call %d: error contains the secret value", i)
					}
					if strings.Contains(text, testToken) {
						t.Errorf("call %d: error contains the token", i)
					}
				}
			}
		})
	}
}

func TestPacerIsSharedByTheWholeClient(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 200, `{"data":[],"meta":{"page":{"size":100,"next":null}}}`)
	}, func(o *Options) { o.NoPacing, o.MaxRate = false, 0.01 }) // one request, then one per 100s
	if _, err := c.ConfigStores.List(context.Background(), "cp", nil); err != nil {
		t.Fatal(err)
	}
	// The slot is spent: another service's request must wait ~100s, which
	// a 1s deadline does not allow, so it fails without reaching the server.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.Secrets.List(ctx, "cp", "st", nil)
	if err == nil || !strings.Contains(err.Error(), "pacer") {
		t.Fatalf("error = %v, want the pacer to refuse", err)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
	if strings.Contains(err.Error(), "gave up") {
		t.Errorf("error = %v: a pacer refusal must not be retried", err)
	}
}

func TestPacingDefaultsAndDisabling(t *testing.T) {
	c, err := New(Options{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	p := c.pacer
	if p == nil || p.rate != DefaultInitialRate || p.maxRate != DefaultMaxRate || p.minRate != DefaultMinRate {
		t.Fatalf("default pacer %+v, want rate %d in [%d, %d]", p, DefaultInitialRate, DefaultMinRate, DefaultMaxRate)
	}
	c, err = New(Options{Token: testToken, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.pacer != nil {
		t.Fatal("RateLimit -1 must turn pacing off")
	}
	for range 1000 {
		if _, err := c.pacer.wait(context.Background()); err != nil {
			t.Fatalf("a disabled pacer refused a request: %v", err)
		}
	}
	if r := c.Pacing().Rate; !math.IsInf(r, 1) {
		t.Errorf("Pacing().Rate = %v with pacing off, want +Inf", r)
	}
}

// A non-JSON error page is shortened and its whitespace collapsed before it
// is shown; neither may leave a piece of a secret behind, and a value the
// page carries JSON-escaped is redacted like the plain one.
func TestErrorPagesRedactEveryFormOfASecret(t *testing.T) {
	const pem = "-----BEGIN KEY-----\nMIIfakefakefakeFAKEKEY0001\n-----END KEY-----"
	const html = `sk<fake>&"key"-0002`
	cases := []struct {
		name, value, page string
	}{
		{"cut at the excerpt limit", "sk-fake-CUTHERE-0003", strings.Repeat("x", 190) + " sk-fake-CUTHERE-0003 tail"},
		{"whitespace collapsed", pem, "<pre>" + pem + "</pre>"},
		{"JSON-escaped in a page", pem, `<script>var v = "` + strings.ReplaceAll(pem, "\n", `\n`) + `";</script>`},
		{"HTML-escaped JSON", html, `<p>{"v":"sk\u003cfake\u003e\u0026\"key\"-0002"}</p>`},
		{"JSON without HTML escaping", html, `<p>{"v":"sk<fake>&\"key\"-0002"}</p>`},
		{"HTML entities", html, `<p>sk&lt;fake&gt;&amp;&#34;key&#34;-0002</p>`},
		{"slashes escaped, as Lua and PHP write JSON", "a/b/fake-slash-0004", `<p>{"v":"a\/b\/fake-slash-0004"}</p>`},
		{"non-ASCII escaped, as Python writes JSON", "päss-fake-0005", `<p>{"v":"p\u00e4ss-fake-0005"}</p>`},
		{"beyond the basic plane", "key-🔑-fake-0006", `<p>{"v":"key-\ud83d\udd11-fake-0006"}</p>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(400)
				fmt.Fprint(w, tc.page)
			}, func(*Options) {})
			_, err := c.Secrets.Update(context.Background(), "cp", "st", "k", Plaintext(tc.value))
			if err == nil {
				t.Fatal("want an error")
			}
			text := err.Error()
			for _, line := range strings.Split(tc.value, "\n") {
				for _, piece := range []string{line, line[:8], line[len(line)-8:]} {
					if strings.Contains(text, piece) {
						t.Errorf("error shows part of the secret (%d bytes of line %d)", len(piece), len(line))
					}
				}
			}
			if !strings.Contains(text, "[REDACTED]") && !strings.Contains(text, "[REDA") {
				// The text is not printed: it may hold the value.
				t.Errorf("no redaction marker in the error (%d bytes)", len(text))
			}
		})
	}
}

// BenchmarkRedactErrorPage: a 10 KB HTML error page answered after a sync
// sent 50,000 values. The cost must follow the page, not the number of
// values (one scan per value took 0.66 s per error).
func BenchmarkRedactErrorPage(b *testing.B) {
	sent := newRedactor()
	for i := range 50000 {
		sent.add(fmt.Sprintf("fake-secret-value-%05d", i))
	}
	page := []byte(strings.Repeat("<p>upstream error, try again later</p>\n", 256))
	own := newRedactor(testToken)
	b.ResetTimer()
	for b.Loop() {
		e := decodeAPIError("PUT", "/x", 502, http.Header{}, page, sent, own)
		if strings.Contains(e.Message, "[REDACTED]") {
			b.Fatal("nothing to redact here")
		}
	}
}
