package konnect

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrUnreachable is the error of every call once the client has given up
// on Konnect: no request has been answered for Options.UnreachableAfter
// (see breaker). Callers stop starting new work when they see it.
var ErrUnreachable = errors.New("Konnect unreachable")

// DefaultUnreachableAfter is how long the client keeps trying when no
// request gets an answer at all (connections refused or broken, 5xx).
const DefaultUnreachableAfter = 30 * time.Second

// breaker trips when Konnect stops answering: after failures (no answer, or
// a 5xx) with no success in between for longer than after. Then every call
// fails at once with ErrUnreachable, so that a run ends within about that
// time of an outage instead of each operation spending its own retries.
// It does not close again: the next run starts afresh and converges.
type breaker struct {
	after time.Duration
	now   func() time.Time

	mu       sync.Mutex
	failing  time.Time // when the current run of failures began
	failures int
	// definitive counts the definitive failures in a row.
	definitive int
	open       bool
	lastError  string
}

func (b *breaker) check() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open {
		return fmt.Errorf("%w: %d requests in a row got no answer (last: %s)", ErrUnreachable, b.failures, b.lastError)
	}
	return nil
}

// record learns from one attempt: answered (any status but 5xx) or not.
// A definitive failure (a connection refused, a host that does not
// resolve) says at once that Konnect is not there: three in a row open the
// breaker without waiting.
func (b *breaker) record(answered bool, status int, err error, definitive bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if answered && status < 500 {
		b.failures, b.definitive, b.failing = 0, 0, time.Time{}
		return
	}
	now := b.now()
	if b.failures == 0 {
		b.failing = now
	}
	b.failures++
	if definitive {
		b.definitive++
	} else {
		b.definitive = 0
	}
	if err != nil {
		b.lastError = err.Error()
	} else {
		b.lastError = fmt.Sprintf("HTTP %d", status)
	}
	if b.definitive >= 3 || b.failures >= 3 && now.Sub(b.failing) >= b.after {
		b.open = true
	}
}

// stopKey carries a channel that, once closed, cancels the waits of a call
// (for a retry, for the pacer) but not a request already on the wire.
type stopKey struct{}

// WithStop returns a context whose calls stop waiting for a retry or for
// the pacer as soon as stop is closed (Ctrl-C: what has not been sent needs
// no grace), while a request already sent finishes under ctx.
func WithStop(ctx context.Context, stop <-chan struct{}) context.Context {
	return context.WithValue(ctx, stopKey{}, stop)
}

// errStopped is the error of a wait cut short by WithStop's channel.
var errStopped = errors.New("stopped: interrupted before the request was sent")

func stopOf(ctx context.Context) <-chan struct{} {
	s, _ := ctx.Value(stopKey{}).(<-chan struct{})
	return s
}

// noRedirects makes an HTTP client answer a redirect with the redirect
// itself: Konnect's API does not redirect, and following one would send the
// token and the body (secret values) to wherever it points.
func noRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// redirectError reports a 3xx: the status and where it pointed, by host
// only (never a query, which could carry anything).
func redirectError(method, path string, resp *http.Response) error {
	where := "an unnamed location"
	if loc, err := resp.Location(); err == nil {
		where = loc.Scheme + "://" + loc.Host
	}
	return &localError{fmt.Errorf("konnect: %s %s: the server answered %d, redirecting to %s: kvsync never follows redirects (Konnect's API does not redirect; is --konnect-addr the API's address?)",
		method, path, resp.StatusCode, where)}
}

// permanent reports transport failures that no retry can fix: an
// untrusted certificate, a host that does not resolve, a connection
// refused. Their messages say what to check.
func permanent(err error, host string) error {
	var dnsErr *net.DNSError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &verify), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalid):
		return fmt.Errorf("the TLS certificate of %s is not trusted: %w", host, err)
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Errorf("the host of %s does not resolve (check --konnect-addr or --konnect-region: Konnect's regions are "+strings.Join(Regions, ", ")+", e.g. https://eu.api.konghq.com): %w", host, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%s refused the connection (check --konnect-addr, or that the emulator runs): %w", host, err)
	}
	return nil
}

// hostOf is a base URL's scheme and host, for messages.
func hostOf(u *url.URL) string { return u.Scheme + "://" + u.Host }

// sent remembers every value the client revealed into a request, so that
// no answer, to that request or to any later one, can put one in an error.
type sent struct {
	once     sync.Once
	redactor *redactor
}

func (c *Client) remember(values []string) {
	c.sentRedactor().add(values...)
}

// sentRedactor replaces every value the client has sent.
func (c *Client) sentRedactor() *redactor {
	c.sent.once.Do(func() { c.sent.redactor = newRedactor() })
	return c.sent.redactor
}
