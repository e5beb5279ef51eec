package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
)

// heartbeatAfter is how long a run outside a terminal may print nothing
// before it says what it waits for. A variable so that end-to-end tests
// can shorten it.
var heartbeatAfter = 10 * time.Second

// heartbeat prints, outside a terminal (a CI log), one line whenever the
// run has printed nothing for heartbeatAfter: which request it waits for,
// the 429s so far, when the next attempt goes and the time left before the
// run's deadline. A CI log then never looks like a hung job.
type heartbeat struct {
	out      io.Writer
	now      func() time.Time
	deadline time.Time // zero: none

	mu     sync.Mutex
	last   time.Time // the last output, of the run or of the heartbeat
	client *konnect.Client
}

func newHeartbeat(out io.Writer, now func() time.Time, deadline time.Time) *heartbeat {
	return &heartbeat{out: out, now: now, deadline: deadline, last: now()}
}

// wrote notes that the run printed something.
func (h *heartbeat) wrote() {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.last = h.now()
	h.mu.Unlock()
}

// watch makes c the client whose requests the heartbeat reports.
func (h *heartbeat) watch(c *konnect.Client) {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.client = c
	h.mu.Unlock()
}

// run beats on every tick until done is closed.
func (h *heartbeat) run(tick <-chan time.Time, done <-chan struct{}) {
	for {
		select {
		case <-tick:
			h.beat()
		case <-done:
			return
		}
	}
}

// beat prints the line when the run has been quiet long enough.
func (h *heartbeat) beat() {
	h.mu.Lock()
	now := h.now()
	quiet := now.Sub(h.last)
	client := h.client
	h.mu.Unlock()
	if quiet < heartbeatAfter {
		return
	}
	var a konnect.Activity
	if client != nil {
		a = client.Activity()
	}
	// The write resets h.last through wrote (the writer reports it).
	fmt.Fprintln(h.out, heartbeatLine(a, now, quiet, h.deadline))
	h.wrote()
}

// heartbeatLine says what the run waits for: its oldest call in flight.
func heartbeatLine(a konnect.Activity, now time.Time, quiet time.Duration, deadline time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kvsync: still running, nothing printed for %s: ", quiet.Round(time.Second))
	if len(a.Calls) == 0 {
		b.WriteString("no request in flight")
	} else {
		w := a.Calls[0]
		call := w.Method + " " + w.Path
		switch {
		case !w.Sent.IsZero():
			fmt.Fprintf(&b, "waiting for the answer to %s (sent %s ago, attempt %d)", call, now.Sub(w.Sent).Round(time.Second), w.Attempts)
		case !w.NextAttempt.IsZero():
			fmt.Fprintf(&b, "waiting to try %s again (%d attempt%s so far), next attempt in %s", call, w.Attempts, diff.Plural(w.Attempts), roundWait(w.NextAttempt.Sub(now)))
		default:
			fmt.Fprintf(&b, "waiting for a request slot for %s (paced, or paused by Konnect's Retry-After)", call)
		}
		if w.Throttled > 0 {
			fmt.Fprintf(&b, ", rate limited %d time%s", w.Throttled, diff.Plural(w.Throttled))
		}
		if more := len(a.Calls) - 1; more > 0 {
			fmt.Fprintf(&b, "; %d more request%s in flight", more, diff.Plural(more))
		}
	}
	fmt.Fprintf(&b, "; %d 429 answer%s so far", a.Throttled, diff.Plural(a.Throttled))
	if !deadline.IsZero() {
		fmt.Fprintf(&b, "; %s left before --max-duration", max(0, deadline.Sub(now)).Round(time.Second))
	}
	return b.String()
}

// startHeartbeat starts the run's heartbeat, outside a terminal only, for a
// run that ends at deadline (zero: none); the returned function stops it.
func (p *program) startHeartbeat(deadline time.Time) func() {
	if isTerminal(p.stderr) {
		return func() {}
	}
	h := newHeartbeat(p.stderr, time.Now, deadline)
	p.beat.Store(h)
	ticker := time.NewTicker(time.Second)
	done := make(chan struct{})
	go h.run(ticker.C, done)
	return func() {
		ticker.Stop()
		close(done)
		p.beat.Store(nil)
	}
}

// wrote tells the heartbeat, if any, that the run printed something.
func (p *program) wrote() { p.beat.Load().wrote() }

// watchClient makes the heartbeat report c's requests.
func (p *program) watchClient(c *konnect.Client) { p.beat.Load().watch(c) }

// roundWait shows a short wait to a tenth of a second, a long one to the
// second.
func roundWait(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return max(0, d).Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
