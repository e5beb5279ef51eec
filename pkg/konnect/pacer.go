package konnect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Pacing constants. The defaults are documented on Options.
const (
	// DefaultInitialRate and DefaultMaxRate are high on purpose: no
	// per-second limit of Konnect's control plane APIs is documented for a
	// client to assume; Konnect says "not now" with 429 and Retry-After,
	// and a client is bounded anyway by parallelism / latency (32 workers
	// at 50 ms: 640 req/s). The pacer must not be what slows a run down
	// when nothing pushes back; it learns the server's rate from the first
	// 429.
	DefaultInitialRate = 1000
	DefaultMaxRate     = 1000
	DefaultMinRate     = 1

	// pacerDecrease is the multiplicative decrease on a 429 (the rate
	// never drops by less than this; see throttled).
	pacerDecrease = 0.8
	// pacerGrowth is the growth of the rate, per second spent sending at
	// the full rate, right after a decrease; it rises by pacerGrowth again
	// every pacerGrowthRamp without a 429, up to pacerGrowthMax. Probing
	// is thus gentle near the rate that drew the last 429 and quicker the
	// longer the server lets the rate climb.
	pacerGrowth     = 0.05
	pacerGrowthRamp = 10 * time.Second
	pacerGrowthMax  = 0.5
	// The accepted-rate estimate counts successes over the time since the
	// previous decrease, within these bounds.
	pacerMinWindow = time.Second
	pacerMaxWindow = 10 * time.Second
	// pacerMaxPause bounds a pause asked for by rate-limit headers.
	pacerMaxPause = 24 * time.Hour

	// The concurrency window (see Concurrency): it starts at
	// InitialConcurrency, so that the first burst against a throttled
	// server stays within what such a server lets through (a window
	// starting at 64 drew 13% of 429s at 20 requests/s); it doubles per
	// round trip while requests fill it and the server accepts them (8,
	// 16, 32, 64: three round trips to a ceiling of 64). A burst of 429s
	// halves what was in flight, after which the window grows by one per
	// round trip while requests fill it. It never goes below
	// minConcurrency nor above MaxConcurrency.
	InitialConcurrency = 8
	MaxConcurrency     = 256
	minConcurrency     = 2
)

// pacer spaces the requests of a whole client: one shared schedule of
// request slots at the current rate, adapted to the server's answers (see
// the package documentation). It is safe for concurrent use; a nil pacer
// paces nothing.
type pacer struct {
	mu       sync.Mutex
	now      func() time.Time
	newTimer func(d time.Duration) (<-chan time.Time, func() bool)

	rate, minRate, maxRate float64

	next        time.Time // earliest free slot
	lastGrant   time.Time // the last slot handed out
	pausedUntil time.Time // no slot before this (Retry-After, exhausted quota)
	lastCut     time.Time // the last decrease; 429s to earlier requests are its echo
	// epoch changes on every decrease and pause: waiters holding a slot
	// of an older schedule re-reserve one; changed is closed to wake them.
	epoch   uint64
	changed chan struct{}

	waiting  int // callers waiting for a slot
	inflight int // requests granted and not yet answered
	ok       successHistory

	// window is the concurrency the pacer advises (Concurrency); windowCut
	// is set once a 429 has halved it: growth is additive from then on.
	// filled is the slot of the last grant that filled the window.
	window    float64
	windowCut bool
	filled    time.Time
	// peak is the most requests in flight since the last cut.
	peak int

	stats PacingStats
}

// PacingStats describe the client's pacer, e.g. for a verbose log or a
// benchmark's report.
type PacingStats struct {
	// Rate is the current pace in requests per second.
	Rate float64
	// Throttled counts 429 answers, Decreases the cuts of the rate they
	// caused (one per burst of 429s) and Pauses the pauses of every
	// request (Retry-After, an exhausted quota in rate-limit headers).
	Throttled, Decreases, Pauses int
	// Concurrency is the requests in flight the pacer advises now (see
	// Client.Concurrency).
	Concurrency int
}

func newPacer(initial, minRate, maxRate float64) *pacer {
	p := &pacer{
		now:      time.Now,
		newTimer: realTimer,
		rate:     initial,
		minRate:  minRate,
		maxRate:  maxRate,
		changed:  make(chan struct{}),
		window:   InitialConcurrency,
	}
	p.lastCut = p.now()
	return p
}

func realTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// ticket is one granted slot, handed back to done with the answer.
type ticket struct {
	granted bool
	at      time.Time
	// saturated: the request waited for its slot, or others were waiting
	// too: the rate, not the callers, was the limit, so a success may
	// raise it.
	saturated bool
}

// errPaceDeadline: the next slot is after the context's deadline.
var errPaceDeadline = errors.New("the next request slot is after the context deadline")

// wait blocks until the caller may send one request.
func (p *pacer) wait(ctx context.Context) (ticket, error) {
	if p == nil {
		return ticket{}, ctx.Err()
	}
	p.mu.Lock()
	p.waiting++
	for {
		if err := ctx.Err(); err != nil {
			p.waiting--
			p.mu.Unlock()
			return ticket{}, err
		}
		now := p.now()
		slot := latest(now, p.next, p.pausedUntil)
		if deadline, ok := ctx.Deadline(); ok && slot.After(deadline) {
			p.waiting--
			p.mu.Unlock()
			return ticket{}, fmt.Errorf("%w (in %s)", errPaceDeadline, slot.Sub(now).Round(time.Millisecond))
		}
		saturated := slot.After(now) || p.waiting > 1
		p.next = slot.Add(p.interval())
		if !slot.After(now) {
			return p.grant(slot, saturated), nil
		}
		epoch, changed := p.epoch, p.changed
		p.mu.Unlock()

		fired, stop := p.newTimer(slot.Sub(now))
		select {
		case <-fired:
		case <-changed:
			stop()
		case <-ctx.Done():
			stop()
		}
		p.mu.Lock()
		if epoch == p.epoch && ctx.Err() == nil && !p.now().Before(slot) {
			return p.grant(slot, saturated), nil
		}
		if epoch == p.epoch && p.next.Equal(slot.Add(p.interval())) {
			p.next = slot // give the unused slot back
		}
	}
}

// grant hands out slot; p.mu is held and released.
func (p *pacer) grant(slot time.Time, saturated bool) ticket {
	p.waiting--
	p.inflight++
	p.peak = max(p.peak, p.inflight)
	p.lastGrant = slot
	if p.inflight >= int(p.window) {
		p.filled = slot
	}
	p.mu.Unlock()
	return ticket{granted: true, at: slot, saturated: saturated}
}

func (p *pacer) interval() time.Duration {
	return time.Duration(float64(time.Second) / p.rate)
}

// done reports the answer to the request of t: its status (0 when none came
// back) and headers.
func (p *pacer) done(t ticket, status int, h http.Header) {
	if p == nil || !t.granted {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	now := p.now()
	switch {
	case status == http.StatusTooManyRequests:
		p.stats.Throttled++
		p.throttled(t, now)
		if d, ok := parseRetryAfter(h.Get("Retry-After"), now); ok {
			p.pause(now.Add(d))
		}
	case status == http.StatusServiceUnavailable:
		// Overloaded or down for a while: everybody waits as asked,
		// but a 5xx says nothing about the rate.
		if d, ok := parseRetryAfter(h.Get("Retry-After"), now); ok {
			p.pause(now.Add(d))
		}
	case status >= 200 && status < 500:
		p.ok.add(now)
		if t.saturated {
			p.raise(now)
		}
		// The window was full while this request was on its way: the
		// window, not the rate, was the limit. Requests the rate holds
		// back wait unsent and fill nothing, so a throttled server never
		// widens it.
		if !p.filled.Before(t.at) {
			p.widen()
		}
	}
	if status != 0 {
		p.quota(h, now)
	}
}

// throttled cuts the rate after a 429, once per burst: a 429 to a request
// sent before the last cut is an echo of the overload that cut already
// answered. The new rate is the lower of a multiplicative decrease and the
// rate the server actually accepted since the previous cut (at least over
// the last second), which brings a high starting rate down to the server's
// in one step.
func (p *pacer) throttled(t ticket, now time.Time) {
	if !t.at.After(p.lastCut) {
		return
	}
	window := min(max(now.Sub(p.lastCut), pacerMinWindow), pacerMaxWindow)
	next := p.rate * pacerDecrease
	if n := p.ok.count(now, window); n > 0 {
		next = min(next, float64(n)/window.Seconds())
	}
	p.cut(next, now)
	// Half of what was in flight, not of the window: a caller whose
	// ceiling is below the window would not feel half of the window.
	p.window = max(minConcurrency, min(p.window, float64(p.peak))/2)
	p.windowCut = true
	p.peak = p.inflight
}

// widen grows the concurrency window after a success of a request that was
// in flight while the window was full: by one per success (doubling per round
// trip) until the first 429, by one per window's worth of successes (one
// per round trip) after it.
func (p *pacer) widen() {
	if p.windowCut {
		p.window += 1 / p.window
	} else {
		p.window++
	}
	p.window = min(p.window, MaxConcurrency)
}

// Concurrency is how many requests the pacer advises to keep in flight: a
// caller that starts work on its own (apply's scheduler) starts no more
// than this (and no more than its own ceiling, --parallelism). On a fast
// API that accepts everything it climbs within a few round trips until the
// caller's ceiling is the limit, so that a sync is bounded by latency and
// the dependency depth of its plan; against a throttled API the rate holds requests back before they are sent, a burst
// of 429s halves what was in flight, and the window grows back by one per
// round trip only while requests fill it. Without pacing it is
// MaxConcurrency.
func (p *pacer) Concurrency() int {
	if p == nil {
		return MaxConcurrency
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return int(p.window)
}

// cut lowers the rate to r (within the bounds), restarts the gentle probing
// and reschedules waiting callers.
func (p *pacer) cut(r float64, now time.Time) {
	p.rate = min(max(r, p.minRate), p.maxRate)
	p.lastCut = now
	p.stats.Decreases++
	p.reschedule()
}

// raise grows the rate after a success sent at the full rate.
func (p *pacer) raise(now time.Time) {
	if p.rate >= p.maxRate {
		return
	}
	g := pacerGrowth * (1 + float64(now.Sub(p.lastCut))/float64(pacerGrowthRamp))
	// One success in rate-many per second: +g per success is +g·rate
	// per second.
	p.rate = min(p.maxRate, p.rate+min(g, pacerGrowthMax))
}

// pause holds every request until until.
func (p *pacer) pause(until time.Time) {
	if !until.After(p.pausedUntil) {
		return
	}
	if !until.After(p.now()) {
		return
	}
	p.pausedUntil = until
	p.stats.Pauses++
	p.reschedule()
}

// reschedule drops the reservations made on the old schedule: waiters wake
// and take new slots.
func (p *pacer) reschedule() {
	p.next = latest(p.lastGrant.Add(p.interval()), p.pausedUntil)
	p.epoch++
	close(p.changed)
	p.changed = make(chan struct{})
}

// quota reads rate-limit headers. When a window has no more requests left
// than are already on their way, every request waits for it to reset (no
// 429 needed), and the rate is cut to the window's sustained rate when the
// window's length is known.
func (p *pacer) quota(h http.Header, now time.Time) {
	for _, w := range rateLimitWindows(h, now) {
		if w.remaining > p.inflight || w.reset <= 0 {
			continue
		}
		p.pause(now.Add(min(w.reset, pacerMaxPause)))
		if w.limit > 0 && w.length > 0 {
			if sustained := float64(w.limit) / w.length.Seconds(); sustained < p.rate {
				p.cut(sustained, now)
			}
		}
	}
}

// Stats returns the pacer's current state.
func (p *pacer) Stats() PacingStats {
	if p == nil {
		return PacingStats{Rate: math.Inf(1), Concurrency: MaxConcurrency}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Rate = p.rate
	s.Concurrency = int(p.window)
	return s
}

func latest(t time.Time, more ...time.Time) time.Time {
	for _, u := range more {
		if u.After(t) {
			t = u
		}
	}
	return t
}

// successHistory counts successes per 100 ms over the last pacerMaxWindow.
type successHistory struct {
	buckets [int(pacerMaxWindow / historyBucket)]struct {
		index int64
		n     int
	}
}

const historyBucket = 100 * time.Millisecond

func (s *successHistory) add(now time.Time) {
	i := now.UnixNano() / int64(historyBucket)
	b := &s.buckets[i%int64(len(s.buckets))]
	if b.index != i {
		b.index, b.n = i, 0
	}
	b.n++
}

// count sums the successes of the last window (in whole buckets).
func (s *successHistory) count(now time.Time, window time.Duration) int {
	cur := now.UnixNano() / int64(historyBucket)
	span := min(int64((window+historyBucket-1)/historyBucket), int64(len(s.buckets)))
	total := 0
	for i := cur - span + 1; i <= cur; i++ {
		if b := s.buckets[i%int64(len(s.buckets))]; b.index == i {
			total += b.n
		}
	}
	return total
}

// rateLimitWindow is one quota a server reports.
type rateLimitWindow struct {
	limit, remaining int
	reset            time.Duration // until the window starts afresh; 0 unknown
	length           time.Duration // the window's length; 0 unknown
}

// rateLimitWindows reads the quotas of an answer:
//
//   - RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds; a
//     Unix time is accepted too), as Kong's rate-limiting plugins and the
//     IETF draft send them; RateLimit-Policy's "w=" gives the window length.
//     Values may carry the draft's list form ("100, 100;w=60"): the first
//     number counts.
//   - X-RateLimit-Limit-<W> and X-RateLimit-Remaining-<W>, one pair per
//     window, W being Second, Minute, Hour, Day, Month or Year (Kong's
//     rate-limiting plugin) or a number of seconds (rate-limiting-advanced),
//     possibly after a limit name (response-ratelimiting:
//     X-RateLimit-Remaining-Videos-Minute). These windows are fixed and
//     start at multiples of their length in Unix time, so the reset is the
//     next such boundary (month and year: unknown).
func rateLimitWindows(h http.Header, now time.Time) []rateLimitWindow {
	var out []rateLimitWindow
	if rem, ok := headerInt(h.Get("RateLimit-Remaining")); ok {
		w := rateLimitWindow{remaining: rem}
		w.limit, _ = headerInt(h.Get("RateLimit-Limit"))
		if r, ok := headerInt(h.Get("RateLimit-Reset")); ok {
			if r > 1_000_000_000 { // a Unix time, not a delta
				w.reset = max(0, time.Unix(int64(r), 0).Sub(now))
			} else {
				w.reset = time.Duration(r) * time.Second
			}
		}
		w.length = policyWindow(h.Get("RateLimit-Policy"))
		out = append(out, w)
	}
	const prefix = "X-Ratelimit-Remaining-"
	for key, vals := range h {
		if !strings.HasPrefix(key, prefix) || len(vals) == 0 {
			continue
		}
		suffix := key[len(prefix):]
		rem, ok := headerInt(vals[0])
		if !ok {
			continue
		}
		w := rateLimitWindow{remaining: rem}
		w.limit, _ = headerInt(h.Get("X-Ratelimit-Limit-" + suffix))
		unit := suffix
		if i := strings.LastIndexByte(suffix, '-'); i >= 0 {
			unit = suffix[i+1:]
		}
		if w.length = windowLength(unit); w.length > 0 {
			w.reset = untilBoundary(now, w.length)
		}
		out = append(out, w)
	}
	return out
}

// headerInt reads the leading non-negative integer of a header value.
func headerInt(v string) (int, bool) {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, ",;"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return int(min(n, math.MaxInt32)), true
}

// policyWindow reads "w=SECONDS" from a RateLimit-Policy value.
func policyWindow(v string) time.Duration {
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
		if s, ok := strings.CutPrefix(strings.TrimSpace(part), "w="); ok {
			if n, ok := headerInt(s); ok && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}

// windowLength is the length of the fixed windows Kong names in its
// X-RateLimit headers (0 for month, year and anything unknown).
func windowLength(unit string) time.Duration {
	switch strings.ToLower(unit) {
	case "second":
		return time.Second
	case "minute":
		return time.Minute
	case "hour":
		return time.Hour
	case "day":
		return 24 * time.Hour
	}
	if n, ok := headerInt(unit); ok && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

// untilBoundary is the time from now to the next multiple of length in Unix
// time.
func untilBoundary(now time.Time, length time.Duration) time.Duration {
	into := time.Duration(now.UnixNano() % int64(length))
	return length - into
}
