package konnect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzServerAnswers serves arbitrary answers (status, Retry-After, body) to
// the client's calls: it must never panic or hang, and no error may carry
// the secret value the request sent, whatever the server echoes.
func FuzzServerAnswers(f *testing.F) {
	const secret, token = "FUZZ-secret-value-9c1e", "kpat_fuzz_fake_0000"
	f.Add(200, "", `{"data": [], "offset": null}`)
	f.Add(400, "", `{"message": "bad: FUZZ-secret-value-9c1e", "code": 3}`)
	f.Add(429, "1", `{"message": "slow"}`)
	f.Add(503, "Wed, 21 Oct 2099 07:28:00 GMT", `<html>oops</html>`)
	f.Add(307, "", ``)
	f.Add(200, "", `{"data": [{"id": 1}], "meta": {"page": {"next": "/x?page[after]=a"}}}`)
	f.Add(201, "", `{"key": "k", "value": "FUZZ-secret-value-9c1e"}`)
	f.Add(401, "", `{"message": "bad token Bearer kpat_fuzz_fake_0000"}`)
	f.Fuzz(func(t *testing.T, status int, retryAfter, body string) {
		if status < 100 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if retryAfter != "" && !strings.ContainsAny(retryAfter, "\r\n") {
				w.Header().Set("Retry-After", retryAfter)
			}
			if status >= 300 && status < 400 {
				w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		defer srv.Close()
		c, err := New(Options{BaseURL: srv.URL, Token: token, NoPacing: true,
			MaxRetries: 1, RetryBaseDelay: time.Microsecond, RetryMaxDelay: time.Microsecond, RequestTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		c.sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
		// 429s are retried while the context lives: bound it.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var errs []error
		_, err = c.Secrets.Create(ctx, "cp", "store", "k", Plaintext(secret))
		errs = append(errs, err)
		_, err = c.Vaults.List(ctx, "cp", nil)
		errs = append(errs, err)
		_, err = c.ConfigStores.List(ctx, "cp", nil)
		errs = append(errs, err)
		_, err = c.ControlPlanes.Resolve(ctx, "name")
		errs = append(errs, err)
		for _, err := range errs {
			// A piece of the token the server made up itself is no leak;
			// the token is.
			if err != nil && (strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), token)) {
				t.Fatalf("an error carries the secret or the token: %q", err)
			}
		}
	})
}
