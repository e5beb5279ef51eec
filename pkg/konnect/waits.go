package konnect

import (
	"sort"
	"sync"
	"time"
)

// Wait is one call the client is busy with, for a heartbeat that says what
// a quiet run waits for. It holds no body, value or token.
type Wait struct {
	Method string
	// Path is the request's path, e.g. /v2/control-planes/ID/vaults.
	Path string
	// Started is when the call began; Attempts counts the attempts sent
	// so far and Throttled the 429s among their answers.
	Started   time.Time
	Attempts  int
	Throttled int
	// Sent is when the current attempt went out (zero: none is on the
	// wire: the call waits for the pacer or for a retry).
	Sent time.Time
	// NextAttempt is when the next attempt goes, while the call waits
	// for a retry (zero otherwise).
	NextAttempt time.Time
}

// Activity is what the client waits for: its calls in flight, oldest
// first, and the 429s it has been answered so far.
type Activity struct {
	Calls     []Wait
	Throttled int
}

// Activity reports the calls in flight.
func (c *Client) Activity() Activity {
	return Activity{Calls: c.inflight.snapshot(), Throttled: int(c.inflight.throttled())}
}

// waits tracks the calls of a client in flight.
type waits struct {
	mu    sync.Mutex
	calls map[*Wait]struct{}
	n429  int64
}

func (w *waits) add(method, path string, now time.Time) *Wait {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.calls == nil {
		w.calls = map[*Wait]struct{}{}
	}
	x := &Wait{Method: method, Path: path, Started: now}
	w.calls[x] = struct{}{}
	return x
}

func (w *waits) remove(x *Wait) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.calls, x)
}

// update changes x under the lock.
func (w *waits) update(x *Wait, f func(*Wait)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(x)
}

func (w *waits) count429() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n429++
}

func (w *waits) throttled() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n429
}

func (w *waits) snapshot() []Wait {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Wait, 0, len(w.calls))
	for x := range w.calls {
		out = append(out, *x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}
