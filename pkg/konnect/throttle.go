package konnect

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrThrottled is the error of every call once Konnect has answered nothing
// but 429 for longer than Options.ThrottleBudget.
var ErrThrottled = errors.New("Konnect kept throttling")

// DefaultThrottleBudget is how long a run waits while Konnect answers
// nothing but 429. Konnect asks for waits of up to about 77 s
// (Retry-After): five minutes lets three of the longest run back to back,
// and a fourth 429 in a row after them ends the run, well before a CI
// job's own timeout cuts it off (and leaves its lock behind).
const DefaultThrottleBudget = 5 * time.Minute

// throttle trips when Konnect answers nothing but 429 (no other status in
// between, from any request of the client) for longer than budget, or when
// a Retry-After asks for a wait that would end past it. A 429 says "not
// now"; a server that says it forever holds a run until its deadline,
// since 429s never use up retries. Like the breaker it does not close
// again: the next run starts afresh.
type throttle struct {
	budget time.Duration
	now    func() time.Time

	mu    sync.Mutex
	since time.Time // the first 429 of the current run of them; zero: none
	count int       // 429s in a row
	open  bool
	// tripped is closed when the throttle trips: calls waiting for the
	// pacer (paused by a Retry-After) stop at once.
	tripped chan struct{}
	once    sync.Once
}

func newThrottle(budget time.Duration, now func() time.Time) *throttle {
	return &throttle{budget: budget, now: now, tripped: make(chan struct{})}
}

// record learns from an answer's status (0: none came, which says nothing
// about throttling).
func (t *throttle) record(status int) {
	if t == nil || status == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if status != 429 {
		t.since, t.count = time.Time{}, 0
		return
	}
	if t.count == 0 {
		t.since = t.now()
	}
	t.count++
	if t.now().Sub(t.since) >= t.budget {
		t.trip()
	}
}

// allows reports whether a wait of d for a throttled call stays within the
// budget; when it does not, the throttle trips.
func (t *throttle) allows(d time.Duration) error {
	if t == nil {
		return nil
	}
	if err := t.check(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.count == 0 || t.now().Add(d).Sub(t.since) <= t.budget {
		return nil
	}
	t.trip()
	return fmt.Errorf("%w: it answered nothing but 429 (%d in a row) for %s, and the next attempt, in %s, would be past the throttling budget of %s (--throttle-budget); run again later",
		ErrThrottled, t.count, t.now().Sub(t.since).Round(time.Second), d.Round(time.Second), t.budget)
}

func (t *throttle) check() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.open {
		return t.errLocked()
	}
	return nil
}

func (t *throttle) trip() {
	t.open = true
	t.once.Do(func() { close(t.tripped) })
}

func (t *throttle) errLocked() error {
	return fmt.Errorf("%w: it answered nothing but 429 (%d in a row) for %s, and the throttling budget is %s (--throttle-budget); run again later",
		ErrThrottled, t.count, t.now().Sub(t.since).Round(time.Second), t.budget)
}

// done is closed once the throttle has tripped (nil throttle: never).
func (t *throttle) done() <-chan struct{} {
	if t == nil {
		return nil
	}
	return t.tripped
}
