package konnect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// call is one logical API request, which may take several attempts.
type call struct {
	method string
	// path is already escaped and relative to /v2, e.g.
	// "/control-planes/ID/config-stores".
	path  string
	query url.Values
	// body is the JSON request body; nil sends none.
	body any
	// readBack settles a POST whose outcome is unknown (the connection
	// broke after sending, or a 5xx): it reports whether the request took
	// effect, and when it did it fills the call's result itself. Without
	// it such a POST is not repeated.
	readBack func(ctx context.Context) (done bool, err error)
	// secrets are values sent in the body that must never show in errors.
	secrets []string
	// noRepeatUnanswered: a POST whose attempt timed out is never
	// repeated, even when reading back finds nothing yet: the server may
	// still be applying it (entities that Konnect neither keys by name nor
	// by a client id, where a repeat would make a duplicate).
	noRepeatUnanswered bool

	// wait is the call as Activity shows it.
	wait *Wait
	// timeout, when set, bounds the next attempt instead of
	// RequestTimeout (a write that got no answer has only what is left
	// of its window).
	timeout time.Duration
	// answerBy: a write that got no answer is settled by then (reading
	// back included, see noAnswerWindow), or fails.
	answerBy time.Time
}

// maxValueSends is how often one change may send a value (a request whose
// body reveals a Sensitive) to the server, 429s aside (Konnect answers
// them before reading the body): the first send and one repeat.
const maxValueSends = 2

type sendsKey struct{}

// withSends shares a count of value sends between a call and the calls made
// on its behalf (a secret create's read-back writes the value again).
func withSends(ctx context.Context) (context.Context, *atomic.Int32) {
	if n, ok := ctx.Value(sendsKey{}).(*atomic.Int32); ok {
		return ctx, n
	}
	n := new(atomic.Int32)
	return context.WithValue(ctx, sendsKey{}, n), n
}

// outcome classifies a failed attempt.
type outcome int

const (
	failFinal     outcome = iota // do not retry
	failRateLimit                // 429: retry until the context ends
	failRetry                    // safe to retry; counts against MaxRetries
	failUnknown                  // a POST that may have taken effect
)

// maxResponseBody bounds a successful answer (a page of 1000 plugins with
// filled-in defaults is a few megabytes).
const maxResponseBody = 64 << 20

// bodies recycles the buffers successful answers are read into. A diff
// at scale reads hundreds of pages (a page of 1000 plugins is most of a
// megabyte): a fresh buffer grown by doubling for each cost about as much
// as decoding them, and most of the garbage. A buffer is free again once
// decoded: the decoded values copy what they keep (strings,
// json.RawMessage).
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody: a buffer grown past it (an unusually large answer) is
// left to the collector rather than held by the pool.
const maxPooledBody = 4 << 20

func putBody(b *bytes.Buffer) {
	if b.Cap() > maxPooledBody {
		return
	}
	b.Reset()
	bodies.Put(b)
}

// do runs c with retries and decodes a 2xx body into out (when non-nil).
func (c *Client) do(ctx context.Context, cl *call, out any) error {
	var body []byte
	if cl.body != nil {
		// The one place where Sensitive values become plain text.
		wire := reveal(cl.body, func(s string) { cl.secrets = append(cl.secrets, s) })
		c.remember(cl.secrets)
		if at := unrevealed(wire); at != "" {
			// Fail closed: JSON would send the redacted rendering.
			return fmt.Errorf("konnect: %s %s: encoding request: a sensitive value at %s cannot be revealed (the client reveals only a whole body and the leaves of maps and lists); nothing was sent", cl.method, c.displayPath(cl), at)
		}
		b, err := json.Marshal(wire)
		if err != nil {
			// json errors name types, never values.
			return fmt.Errorf("konnect: %s %s: encoding request: %w", cl.method, c.displayPath(cl), err)
		}
		body = b
	}

	// Requests made on behalf of this call (read-backs) redact its
	// secrets too.
	ctx = withSecrets(ctx, cl.secrets)
	var sends *atomic.Int32 // value sends of this change; nil: none carries a value
	if len(cl.secrets) > 0 {
		ctx, sends = withSends(ctx)
	}
	cl.wait = c.inflight.add(cl.method, c.displayPath(cl), c.now())
	defer c.inflight.remove(cl.wait)

	retries := 0       // retries spent on errors that count
	throttled := 0     // consecutive 429s, to grow their backoff
	uncertain := false // an earlier POST attempt may have taken effect
	for {
		if err := c.breaker.check(); err != nil {
			return fmt.Errorf("konnect: %s %s: %w", cl.method, c.displayPath(cl), err)
		}
		if err := c.throttle.check(); err != nil {
			return fmt.Errorf("konnect: %s %s: %w", cl.method, c.displayPath(cl), err)
		}
		status, err := c.attempt(ctx, cl, body, out)
		if err == nil {
			return nil
		}
		reached := reachedServer(status, err)
		if sends != nil && reached {
			sends.Add(1)
		}
		if ctx.Err() != nil {
			return stopped(err, ctx.Err())
		}
		kind := classify(cl.method, status, err)

		// A POST repeated after an uncertain attempt may collide with
		// its own first copy (same client id, same secret key): read
		// back once more before reporting the conflict.
		if kind == failFinal && uncertain && cl.readBack != nil &&
			(status == http.StatusBadRequest || status == http.StatusConflict) {
			if done, rbErr := c.readBack(ctx, cl); rbErr == nil && done {
				return nil
			}
		}

		var wait time.Duration
		switch kind {
		case failFinal:
			return err
		case failRateLimit:
			c.inflight.update(cl.wait, func(w *Wait) { w.Throttled++ })
			c.inflight.count429()
			wait = c.backoff(throttled)
			throttled++
		case failRetry, failUnknown:
			throttled = 0
			if kind == failUnknown && cl.readBack == nil {
				return fmt.Errorf("%w (the request may or may not have taken effect; not repeated)", err)
			}
			if retries >= c.opts.MaxRetries {
				return c.giveUp(ctx, cl, kind, err, retries)
			}
			if sends != nil && sends.Load() >= maxValueSends {
				return c.giveUp(ctx, cl, kind, fmt.Errorf("%w (not sent again: one change sends a value at most %d times)", err, maxValueSends), retries)
			}
			if cl.method != http.MethodGet && reached && status == 0 && cl.answerBy.IsZero() {
				// A write that got no answer: what follows (reading
				// back, trying again) fits in the window.
				cl.answerBy = c.now().Add(c.noAnswerWindow())
			}
			wait = c.backoff(retries)
			retries++
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 &&
			(status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
			wait = apiErr.RetryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return fmt.Errorf("%w (not retried: the next attempt in %s would be after the deadline)", err, wait.Round(time.Millisecond))
		}
		if kind == failRateLimit {
			if terr := c.throttle.allows(wait); terr != nil {
				return fmt.Errorf("%w (%w)", err, terr)
			}
		}
		if !cl.answerBy.IsZero() {
			left := cl.answerBy.Sub(c.now()) - wait
			if left <= 0 {
				return c.giveUp(ctx, cl, kind, fmt.Errorf("%w (no answer, and no time left to try again within --unreachable-after)", err), retries)
			}
			cl.timeout = min(c.opts.RequestTimeout, left)
		}
		if c.opts.Trace != nil {
			c.opts.Trace(Event{Method: cl.method, Path: c.displayPath(cl), Status: status, Retry: wait})
		}
		if stop := stopOf(ctx); stop != nil {
			select {
			case <-stop:
				return stopped(err, errStopped)
			default:
			}
		}
		c.inflight.update(cl.wait, func(w *Wait) { w.NextAttempt = c.now().Add(wait) })
		sleepErr := c.sleep(ctx, wait)
		c.inflight.update(cl.wait, func(w *Wait) { w.NextAttempt = time.Time{} })
		if sleepErr != nil {
			return stopped(err, sleepErr)
		}
		if kind == failUnknown {
			uncertain = true
			done, rbErr := c.readBack(ctx, cl)
			if rbErr != nil {
				return fmt.Errorf("%w (the request may or may not have taken effect, and reading back failed: %w)", err, rbErr)
			}
			if done {
				return nil
			}
			var timedOut *timeoutError
			if cl.noRepeatUnanswered && errors.As(err, &timedOut) {
				return fmt.Errorf("%w (nothing to read back yet, but the server may still apply it: it is not repeated, so that no duplicate is made; the next run sees what happened)", err)
			}
		}
	}
}

// readBack runs the call's read-back, within what is left of its window
// when a write got no answer. A read-back cut off by the window fails with
// an error of its own, not the context's deadline (which would read as
// the run's --max-duration).
func (c *Client) readBack(ctx context.Context, cl *call) (bool, error) {
	if cl.answerBy.IsZero() {
		return cl.readBack(ctx)
	}
	left := cl.answerBy.Sub(c.now())
	if left <= 0 {
		return false, errors.New("no time left within --unreachable-after to read back")
	}
	rctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	done, err := cl.readBack(rctx)
	if err != nil && ctx.Err() == nil && rctx.Err() != nil {
		return false, fmt.Errorf("reading back took longer than what was left of --unreachable-after (%s)", left.Round(time.Millisecond))
	}
	return done, err
}

// noAnswerWindow is how long a write that got no answer may still take to
// settle (reading back, one more attempt): --unreachable-after, so that
// such a write fails within --timeout + --unreachable-after.
func (c *Client) noAnswerWindow() time.Duration {
	if c.breaker != nil {
		return c.breaker.after
	}
	return c.opts.RequestTimeout
}

// reachedServer reports whether a failed attempt may have reached the
// server with its body: it was sent (a connection was made) and was not
// refused with a 429, which Konnect answers before reading anything.
func reachedServer(status int, err error) bool {
	var nse *notSentError
	var local *localError
	return status != http.StatusTooManyRequests && !errors.As(err, &nse) && !errors.As(err, &local)
}

// giveUp ends a call that ran out of retries. A POST whose last attempt may
// have taken effect is read back one last time, so that a create that did
// land is not reported as failed.
func (c *Client) giveUp(ctx context.Context, cl *call, kind outcome, err error, retries int) error {
	if kind == failUnknown {
		done, rbErr := c.readBack(ctx, cl)
		switch {
		case rbErr != nil:
			return fmt.Errorf("%w (the request may or may not have taken effect, and reading back failed: %w)", err, rbErr)
		case done:
			return nil
		}
		err = fmt.Errorf("%w (it had not taken effect when read back)", err)
	}
	if retries == 0 {
		return err
	}
	return fmt.Errorf("%w (gave up after %d retries)", err, retries)
}

// stopped reports the last failure of a call whose context ended.
func stopped(last, ctxErr error) error {
	if ctxErr == nil || errors.Is(last, ctxErr) {
		return last
	}
	return fmt.Errorf("%w (stopped retrying: %w)", last, ctxErr)
}

// classify decides what a failed attempt allows.
func classify(method string, status int, err error) outcome {
	idempotent := method != http.MethodPost
	var nse *notSentError
	var local *localError
	switch {
	case errors.As(err, &local):
		return failFinal
	case status == http.StatusTooManyRequests:
		// Konnect answers 429 before doing anything, POST included.
		return failRateLimit
	case errors.As(err, &nse):
		return failRetry
	case status == 0, status == http.StatusRequestTimeout, status == http.StatusInternalServerError, status == http.StatusBadGateway,
		status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
		// Connection errors, attempt timeouts and server failures:
		// repeatable only when repeating cannot do harm.
		if idempotent {
			return failRetry
		}
		return failUnknown
	}
	return failFinal
}

// backoff is the exponential backoff with full jitter for the n-th retry:
// uniform in [0, min(max, base*2^n)].
func (c *Client) backoff(n int) time.Duration {
	ceiling := c.opts.RetryMaxDelay
	if n < 32 {
		if d := c.opts.RetryBaseDelay << n; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	return time.Duration(c.randN(int64(ceiling) + 1))
}

// localError marks a failure of the client itself (the pacer refused to
// wait past the deadline, the request could not be built): repeating it
// cannot help.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// notSentError marks a failure that provably happened before the request
// reached the server (no connection was ever established).
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// timeoutError marks an attempt that was sent and timed out: the server
// may still be working on it.
type timeoutError struct{ err error }

func (e *timeoutError) Error() string { return e.err.Error() }
func (e *timeoutError) Unwrap() error { return e.err }

// displayPath is the request path as errors show it: under /v2, no query.
func (c *Client) displayPath(cl *call) string { return "/v2" + cl.path }

// attempt sends one HTTP request. It returns the status (0 when none came
// back) and an error for anything but a 2xx.
func (c *Client) attempt(ctx context.Context, cl *call, body []byte, out any) (status int, err error) {
	path := c.displayPath(cl)
	queued := time.Now()
	slot, err := c.slot(ctx, cl, path)
	if err != nil {
		return 0, err
	}
	if cl.wait != nil {
		c.inflight.update(cl.wait, func(w *Wait) { w.Sent = c.now(); w.Attempts++ })
		defer c.inflight.update(cl.wait, func(w *Wait) { w.Sent = time.Time{} })
	}
	if c.opts.Trace != nil {
		sent := time.Now()
		defer func() {
			c.opts.Trace(Event{Method: cl.method, Path: path, Status: status, Duration: time.Since(sent), Paced: sent.Sub(queued)})
		}()
	}
	// The pacer learns from every answer (status 0: none came back).
	var answer *http.Response
	defer func() {
		if answer != nil {
			c.pacer.done(slot, answer.StatusCode, answer.Header)
		} else {
			c.pacer.done(slot, 0, nil)
		}
	}()
	timeout := c.opts.RequestTimeout
	if cl.timeout > 0 {
		timeout = cl.timeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// GotConn fires once a connection is ready, before any byte of the
	// request is written: without it the server provably saw nothing.
	var connected atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected.Store(true) }}
	actx = httptrace.WithClientTrace(actx, trace)

	req, err := c.newRequest(actx, cl, path, body)
	if err != nil {
		return 0, err
	}

	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		terr := c.transportError(ctx, actx, cl.method, path, err, connected.Load())
		if ctx.Err() == nil {
			var local *localError
			c.breaker.record(false, 0, terr, errors.As(terr, &local))
		}
		return 0, terr
	}
	answer = resp
	defer resp.Body.Close()
	c.breaker.record(true, resp.StatusCode, nil, false)
	c.throttle.record(resp.StatusCode)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return resp.StatusCode, redirectError(cl.method, path, resp)
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		// The values sent by any call of the client, and this call's own
		// (a read-back's) and the token.
		own := newRedactor(append(secretsFrom(ctx), c.opts.Token)...)
		apiErr := decodeAPIError(cl.method, path, resp.StatusCode, resp.Header, raw, c.sentRedactor(), own)
		return resp.StatusCode, apiErr
	}
	buf := bodies.Get().(*bytes.Buffer)
	defer putBody(buf)
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBody))
	raw := buf.Bytes()
	if err != nil {
		// The server answered 2xx, so a POST did take effect; but
		// without the body the result is unknown: report it like a
		// broken connection (a POST is then read back, not repeated).
		return 0, c.transportError(ctx, actx, cl.method, path, fmt.Errorf("reading response: %w", err), true)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("konnect: %s %s: decoding response: %w", cl.method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// transportError wraps a failure without an HTTP answer with the method and
// path (the URL, which http.Client would print, is left out: the query adds
// nothing and the host is known).
func (c *Client) transportError(ctx, actx context.Context, method, path string, err error, connected bool) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if p := permanent(err, hostOf(c.baseURL)); p != nil {
		return &localError{fmt.Errorf("konnect: %s %s: %w", method, path, p)}
	}
	timedOut := ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded)
	if timedOut {
		err = fmt.Errorf("attempt timed out after %s: %w", c.opts.RequestTimeout, err)
	}
	wrapped := fmt.Errorf("konnect: %s %s: %w", method, path, err)
	if timedOut && connected {
		wrapped = &timeoutError{wrapped}
	}
	if !connected && ctx.Err() == nil {
		return &notSentError{wrapped}
	}
	return wrapped
}

type secretsKey struct{}

// withSecrets adds values that errors of calls made under ctx must redact.
func withSecrets(ctx context.Context, secrets []string) context.Context {
	if len(secrets) == 0 {
		return ctx
	}
	all := append(secretsFrom(ctx), secrets...)
	return context.WithValue(ctx, secretsKey{}, all)
}

func secretsFrom(ctx context.Context) []string {
	s, _ := ctx.Value(secretsKey{}).([]string)
	return s[:len(s):len(s)]
}

// slot waits for the pacer's slot for an attempt. An interrupt ends the
// wait (nothing was sent yet), and so does a throttle that has tripped.
func (c *Client) slot(ctx context.Context, cl *call, path string) (ticket, error) {
	pctx := ctx
	if stop, tripped := stopOf(ctx), c.throttle.done(); c.pacer != nil && (stop != nil || tripped != nil) {
		var cancel context.CancelFunc
		pctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-stop:
				cancel()
			case <-tripped:
				cancel()
			case <-pctx.Done():
			}
		}()
	}
	slot, err := c.pacer.wait(pctx)
	if err != nil {
		if terr := c.throttle.check(); terr != nil {
			return slot, &localError{fmt.Errorf("konnect: %s %s: %w", cl.method, path, terr)}
		}
		return slot, &localError{fmt.Errorf("konnect: %s %s: waiting for the pacer: %w", cl.method, path, err)}
	}
	return slot, nil
}

// newRequest builds an attempt's HTTP request.
func (c *Client) newRequest(actx context.Context, cl *call, path string, body []byte) (*http.Request, error) {
	// path is escaped already: concatenate rather than go through
	// url.URL.Path, which would escape it a second time.
	target := c.baseURL.String() + path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, target, reader)
	if err != nil {
		return nil, &localError{fmt.Errorf("konnect: %s %s: %w", cl.method, path, err)}
	}
	req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}
