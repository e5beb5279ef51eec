package konnecttest

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

type faultState struct {
	mu      sync.Mutex
	f       Faults
	rng     *rand.Rand
	limiter *rate.Limiter
	used    []int // per rule: requests it has failed
	holds   []*hold
	// throttled counts the requests answered 429, keyed as Counts.
	throttled map[string]int
}

// countThrottled records one request answered 429.
func (e *Emulator) countThrottled(r *http.Request) {
	key := r.Method + " " + e.match(r).template
	fs := &e.faults
	fs.mu.Lock()
	if fs.throttled == nil {
		fs.throttled = map[string]int{}
	}
	fs.throttled[key]++
	fs.mu.Unlock()
}

// resetThrottled zeroes the 429 counters.
func (fs *faultState) resetThrottled() {
	fs.mu.Lock()
	fs.throttled = nil
	fs.mu.Unlock()
}

// hold parks the first request that matches until it is released.
type hold struct {
	method, pathPart string
	taken            bool
	arrived, release chan struct{}
	releaseOnce      sync.Once
}

// Hold makes the next request with that method whose path contains
// pathPart wait, once it has arrived and been counted, until release is
// called; it is then processed, even if the client gave up meanwhile (as a
// real server does). arrived is closed when it is parked: a test can act at
// a known point of a run (interrupt it, change the state underneath it, let
// the client time out) without sleeping.
func (e *Emulator) Hold(method, pathPart string) (arrived <-chan struct{}, release func()) {
	h := &hold{method: method, pathPart: pathPart, arrived: make(chan struct{}), release: make(chan struct{})}
	e.faults.mu.Lock()
	e.faults.holds = append(e.faults.holds, h)
	e.faults.mu.Unlock()
	return h.arrived, func() { h.releaseOnce.Do(func() { close(h.release) }) }
}

// takeHold returns the hold a request falls under, at most once per hold.
func (fs *faultState) takeHold(r *http.Request) *hold {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, h := range fs.holds {
		if !h.taken && strings.EqualFold(h.method, r.Method) &&
			(strings.Contains(r.URL.Path, h.pathPart) || strings.Contains(r.URL.EscapedPath(), h.pathPart)) {
			h.taken = true
			return h
		}
	}
	return nil
}

// SetFaults replaces the injected faults at run time. It resets the random
// generator (from f.Seed), the token bucket (full) and the rules' counters.
func (e *Emulator) SetFaults(f Faults) {
	fs := &e.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f.Rules = append([]FaultRule(nil), f.Rules...)
	fs.f = f
	seed := uint64(f.Seed)
	if f.Seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	fs.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	fs.limiter = nil
	if f.RateLimit > 0 {
		burst := f.RateBurst
		if burst <= 0 {
			burst = int(math.Max(1, math.Ceil(f.RateLimit)))
		}
		fs.limiter = rate.NewLimiter(rate.Limit(f.RateLimit), burst)
	}
	fs.used = make([]int, len(f.Rules))
}

// decision is what the fault layer does with one request.
type decision struct {
	delay      time.Duration
	drop       bool
	status     int           // an injected error status, 0 for none
	retryAfter time.Duration // with status 429
}

func (fs *faultState) decide(r *http.Request) decision {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var d decision
	d.delay = fs.f.Latency
	if fs.f.LatencyJitter > 0 {
		d.delay += time.Duration(fs.rng.Int64N(int64(fs.f.LatencyJitter)))
	}
	for i, rule := range fs.f.Rules {
		if rule.Method != "" && !strings.EqualFold(rule.Method, r.Method) {
			continue
		}
		if !strings.Contains(r.URL.Path, rule.PathContains) && !strings.Contains(r.URL.EscapedPath(), rule.PathContains) {
			continue
		}
		if rule.Times > 0 && fs.used[i] >= rule.Times {
			continue
		}
		fs.used[i]++
		if rule.Status == 0 {
			d.drop = true
		} else {
			d.status = rule.Status
			if rule.Status == http.StatusTooManyRequests {
				d.retryAfter = time.Second
			}
		}
		return d
	}
	if fs.f.DropRate > 0 && fs.rng.Float64() < fs.f.DropRate {
		d.drop = true
		return d
	}
	if fs.limiter != nil {
		res := fs.limiter.Reserve()
		if wait := res.Delay(); wait > 0 {
			res.Cancel()
			d.status = http.StatusTooManyRequests
			d.retryAfter = wait
			return d
		}
	}
	if fs.f.ErrorRate > 0 && fs.rng.Float64() < fs.f.ErrorRate {
		d.status = http.StatusInternalServerError
		if fs.rng.IntN(2) == 1 {
			d.status = http.StatusServiceUnavailable
		}
	}
	return d
}

// injectFaults applies latency and, when a fault hits, answers (or drops)
// the request and reports true: the request is then not processed.
func (e *Emulator) injectFaults(w http.ResponseWriter, r *http.Request) bool {
	if h := e.faults.takeHold(r); h != nil {
		// Like a real server, the request is processed once released,
		// even if the client has given up on it meanwhile.
		close(h.arrived)
		<-h.release
	}
	d := e.faults.decide(r)
	if d.delay > 0 {
		t := time.NewTimer(d.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch {
	case d.drop:
		dropConnection(w)
		return true
	case d.status == http.StatusTooManyRequests:
		e.countThrottled(r)
		secs := int(math.Ceil(d.retryAfter.Seconds()))
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, "application/json", map[string]any{"message": "API rate limit exceeded"})
		return true
	case d.status != 0:
		writeProblem(w, d.status, http.StatusText(d.status), "Injected failure (emulator fault injection)")
		return true
	}
	return false
}

// dropConnection closes the client connection without answering. When the
// writer cannot be hijacked (HTTP/2, a recorder) it aborts the handler,
// which net/http turns into a reset stream or closed connection.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
