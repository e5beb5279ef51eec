package konnect

// Unit tests of the pacer on a fake clock: nothing sleeps and nothing is
// timed. Its convergence against the emulator's token bucket is tested in
// pacer_emulator_test.go.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is the pacer's clock in tests. In auto mode a timer fires at
// once and moves the clock to its deadline (a caller that waits finds the
// time it waited for); otherwise timers fire when Advance passes them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	auto   bool
	timers []*fakeTimer
	waits  []time.Duration
	// made receives the duration of every timer created, so that a test
	// knows when a caller waits.
	made chan time.Duration
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

// start is a second boundary, far from any window's edge in the header
// tests below.
var start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Timer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	select {
	case c.made <- d:
	default:
	}
	t := &fakeTimer{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if c.auto {
		if t.at.After(c.now) {
			c.now = t.at
		}
		t.ch <- c.now
		return t.ch, func() bool { return false }
	}
	c.timers = append(c.timers, t)
	return t.ch, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		n := len(c.timers)
		c.timers = slices.DeleteFunc(c.timers, func(u *fakeTimer) bool { return u == t })
		return len(c.timers) < n
	}
}

// Advance moves the clock and fires the timers it passes.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool {
		if t.at.After(c.now) {
			return false
		}
		t.ch <- c.now
		return true
	})
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// testPacer is a pacer on a fake clock starting at start.
func testPacer(initial, minRate, maxRate float64, auto bool) (*pacer, *fakeClock) {
	clock := &fakeClock{now: start, auto: auto, made: make(chan time.Duration, 16)}
	p := newPacer(initial, minRate, maxRate)
	p.now, p.newTimer = clock.Now, clock.Timer
	p.lastCut = start
	return p, clock
}

// take waits for one slot and fails the test when it cannot.
func take(t *testing.T, p *pacer) ticket {
	t.Helper()
	tk, err := p.wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestPacerSpacesRequestsAtItsRate(t *testing.T) {
	p, clock := testPacer(10, 1, 10, true)
	var at []time.Duration
	for range 4 {
		tk := take(t, p)
		at = append(at, tk.at.Sub(start))
		p.done(tk, 200, nil)
	}
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	if !slices.Equal(at, want) {
		t.Errorf("slots at %v, want %v", at, want)
	}
	// After an idle second, the next request goes at once: the pacer
	// banks no burst, it only spaces.
	clock.Advance(time.Second)
	if tk := take(t, p); !tk.at.Equal(clock.Now()) || tk.saturated {
		t.Errorf("after idling: slot %v (saturated %v), want now and not saturated", tk.at.Sub(start), tk.saturated)
	}
}

func TestPacerRaisesTheRateOnlyWhenItIsTheLimit(t *testing.T) {
	p, clock := testPacer(100, 1, 1000, true)
	// Requests spaced more widely than the rate: the callers are the limit,
	// and successes leave the rate alone.
	for range 50 {
		clock.Advance(50 * time.Millisecond)
		p.done(take(t, p), 200, nil)
	}
	if p.rate != 100 {
		t.Fatalf("rate %v after unsaturated successes, want 100", p.rate)
	}
	// Back-to-back requests wait for their slots: each success raises the
	// rate, by 5% per second's worth right after a cut...
	p.done(take(t, p), 200, nil)
	before := p.rate
	for range 100 {
		p.done(take(t, p), 200, nil)
	}
	firstSecond := p.rate - before
	if firstSecond < 4 || firstSecond > 8 {
		t.Errorf("rate rose by %.2f over ~100 saturated successes, want about 5%% of 100", firstSecond)
	}
	// ...and faster the longer no 429 comes.
	clock.Advance(20 * time.Second)
	p.done(take(t, p), 200, nil)
	before = p.rate
	for range 100 {
		p.done(take(t, p), 200, nil)
	}
	if later := p.rate - before; later < 2*firstSecond {
		t.Errorf("rate rose by %.2f 20s after the last cut, want at least twice %.2f", later, firstSecond)
	}
	// 5xx answers and requests that got no answer raise nothing.
	before = p.rate
	for _, status := range []int{500, 502, 0} {
		p.done(take(t, p), status, nil)
	}
	if p.rate != before {
		t.Errorf("rate %v after failures, want %v", p.rate, before)
	}
}

func TestPacerCutsOn429(t *testing.T) {
	p, clock := testPacer(1000, 1, 1000, true)
	// 50 successes in the first second, then a 429: a token bucket of
	// 50/s. The rate drops to the accepted rate in one step, not 0.8x.
	var echoes []ticket
	for range 50 {
		p.done(take(t, p), 201, nil)
	}
	for range 3 {
		echoes = append(echoes, take(t, p))
	}
	p.done(echoes[0], 429, nil)
	if p.rate != 50 {
		t.Fatalf("rate %v after a 429 following 50 successes in a second, want 50", p.rate)
	}
	// The other requests sent before the cut are its echo: no second cut.
	for _, tk := range echoes[1:] {
		p.done(tk, 429, nil)
	}
	if p.rate != 50 || p.stats.Decreases != 1 || p.stats.Throttled != 3 {
		t.Errorf("after the echoes: rate %v, stats %+v; want 50, one decrease of three 429s", p.rate, p.stats)
	}
	// A 429 to a request sent after the cut cuts again, by at least 0.8x
	// even though the accepted rate is higher.
	clock.Advance(time.Second)
	for range 40 {
		p.done(take(t, p), 200, nil)
	}
	before := p.rate
	p.done(take(t, p), 429, nil)
	if p.rate > 0.8*before+1e-9 {
		t.Errorf("rate %v after a second cut from %v, want at most 0.8x", p.rate, before)
	}
}

func TestPacerBounds(t *testing.T) {
	p, _ := testPacer(20, 10, 30, true)
	for range 20 {
		p.done(take(t, p), 429, nil)
	}
	if p.rate != 10 {
		t.Errorf("rate %v after many 429s, want the floor 10", p.rate)
	}
	for range 5000 {
		p.done(take(t, p), 200, nil)
	}
	if p.rate != 30 {
		t.Errorf("rate %v after many successes, want the ceiling 30", p.rate)
	}
}

func TestPacerRetryAfterPausesEveryCaller(t *testing.T) {
	for _, tt := range []struct {
		name, retryAfter string
		pause            time.Duration
	}{
		{"delta-seconds", "3", 3 * time.Second},
		{"HTTP-date", start.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := testPacer(100, 1, 100, true)
			p.done(take(t, p), 429, header("Retry-After", tt.retryAfter))
			// Callers that had nothing to do with the 429 wait too, and
			// come back one by one, spaced at the (cut) rate.
			var got []ticket
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tk, err := p.wait(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					got = append(got, tk)
					mu.Unlock()
				}()
			}
			wg.Wait()
			slices.SortFunc(got, func(a, b ticket) int { return a.at.Compare(b.at) })
			end := start.Add(tt.pause)
			for i, tk := range got {
				if tk.at.Before(end) {
					t.Errorf("caller %d sent at %v, before the pause ends at %v", i, tk.at.Sub(start), tt.pause)
				}
				if i > 0 && tk.at.Sub(got[i-1].at) < p.interval() {
					t.Errorf("callers %d and %d sent %v apart after the pause, want at least %v", i-1, i, tk.at.Sub(got[i-1].at), p.interval())
				}
			}
		})
	}
}

func TestPacerPauseReschedulesWaiters(t *testing.T) {
	p, clock := testPacer(1, 1, 1, false) // one slot per second
	first := take(t, p)
	// The next caller holds the slot at 1s.
	granted := make(chan ticket, 1)
	go func() {
		tk, err := p.wait(context.Background())
		if err != nil {
			t.Error(err)
		}
		granted <- tk
	}()
	if d := <-clock.made; d != time.Second {
		t.Fatalf("the waiter waits %v, want 1s", d)
	}
	// A 503 with Retry-After 5 pauses everybody, the waiter included.
	p.done(first, 503, header("Retry-After", "5"))
	if d := <-clock.made; d != 5*time.Second {
		t.Fatalf("the waiter waits %v after the pause, want 5s", d)
	}
	clock.Advance(time.Second)
	select {
	case tk := <-granted:
		t.Fatalf("waiter sent at %v, inside the pause", tk.at.Sub(start))
	default:
	}
	clock.Advance(4 * time.Second)
	if tk := <-granted; tk.at.Before(start.Add(5 * time.Second)) {
		t.Errorf("waiter sent at %v, want after the 5s pause", tk.at.Sub(start))
	}
	if p.rate != 1 || p.stats.Decreases != 0 {
		t.Errorf("a 503 changed the rate: %v, %+v", p.rate, p.stats)
	}
}

func TestPacerRefusesToWaitPastTheDeadline(t *testing.T) {
	p, clock := testPacer(100, 1, 100, false)
	clock.now = time.Now() // the context's deadline is on the real clock
	p.done(take(t, p), 429, header("Retry-After", "60"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.wait(ctx); !errors.Is(err, errPaceDeadline) {
		t.Fatalf("error %v, want the deadline refusal", err)
	}
	if clock.pending() != 0 || p.waiting != 0 {
		t.Errorf("%d timers, %d waiting after a refusal; want none", clock.pending(), p.waiting)
	}
}

func TestPacerHeadersPauseBeforeA429(t *testing.T) {
	t.Run("RateLimit-Remaining 0", func(t *testing.T) {
		p, _ := testPacer(100, 1, 100, true)
		p.done(take(t, p), 200, header("RateLimit-Limit", "600", "RateLimit-Remaining", "0", "RateLimit-Reset", "7"))
		if tk := take(t, p); tk.at.Sub(start) < 7*time.Second {
			t.Errorf("next request at %v, want after the 7s reset", tk.at.Sub(start))
		}
		if p.rate != 100 || p.stats.Pauses != 1 {
			t.Errorf("rate %v, stats %+v: want a pause and the rate kept (window length unknown)", p.rate, p.stats)
		}
	})
	t.Run("requests in flight use up what remains", func(t *testing.T) {
		p, _ := testPacer(100, 1, 100, true)
		a, b, c := take(t, p), take(t, p), take(t, p)
		p.done(a, 200, header("RateLimit-Remaining", "3", "RateLimit-Reset", "2"))
		if p.stats.Pauses != 0 {
			t.Fatal("paused with 3 left and 2 in flight")
		}
		p.done(b, 200, header("RateLimit-Remaining", "1", "RateLimit-Reset", "2"))
		if p.stats.Pauses != 1 {
			t.Fatal("no pause with 1 left and 1 in flight")
		}
		p.done(c, 200, nil)
	})
	t.Run("X-RateLimit second window", func(t *testing.T) {
		p, clock := testPacer(1000, 1, 1000, true)
		clock.Advance(300 * time.Millisecond)
		p.done(take(t, p), 200, header("X-RateLimit-Limit-Second", "50", "X-RateLimit-Remaining-Second", "0",
			"X-RateLimit-Limit-Minute", "1000", "X-RateLimit-Remaining-Minute", "900"))
		// Kong's windows start on whole seconds: the next one in 0.7s.
		if tk := take(t, p); !tk.at.Equal(start.Add(time.Second)) {
			t.Errorf("next request at %v, want at the next second, 1s", tk.at.Sub(start))
		}
		if p.rate != 50 || p.stats.Decreases != 1 {
			t.Errorf("rate %v, stats %+v: want a cut to the window's sustained 50/s", p.rate, p.stats)
		}
	})
	t.Run("plenty left", func(t *testing.T) {
		p, _ := testPacer(100, 1, 100, true)
		p.done(take(t, p), 200, header("RateLimit-Remaining", "10", "RateLimit-Reset", "1",
			"X-RateLimit-Remaining-Hour", "5000"))
		if p.stats.Pauses != 0 || p.rate != 100 {
			t.Errorf("stats %+v, rate %v: want nothing to change", p.stats, p.rate)
		}
	})
}

func TestRateLimitWindows(t *testing.T) {
	now := start.Add(15*time.Minute + 20*time.Second + 250*time.Millisecond)
	type w = rateLimitWindow
	tests := []struct {
		name string
		h    http.Header
		want []w
	}{
		{"none", header("Retry-After", "1"), nil},
		{"Kong RateLimit-*", header("RateLimit-Limit", "5", "RateLimit-Remaining", "2", "RateLimit-Reset", "30"),
			[]w{{limit: 5, remaining: 2, reset: 30 * time.Second}}},
		{"IETF draft lists and policy", header("RateLimit-Limit", "100, 100;w=60", "RateLimit-Remaining", "40",
			"RateLimit-Reset", "12", "RateLimit-Policy", "100;w=60"),
			[]w{{limit: 100, remaining: 40, reset: 12 * time.Second, length: time.Minute}}},
		{"reset as a Unix time", header("RateLimit-Remaining", "0", "RateLimit-Reset", fmt.Sprint(now.Add(45*time.Second).Unix())),
			[]w{{remaining: 0, reset: 44750 * time.Millisecond}}},
		{"X-RateLimit minute", header("X-RateLimit-Limit-Minute", "60", "X-RateLimit-Remaining-Minute", "7"),
			[]w{{limit: 60, remaining: 7, reset: 39750 * time.Millisecond, length: time.Minute}}},
		{"rate-limiting-advanced window in seconds", header("X-RateLimit-Limit-30", "10", "X-RateLimit-Remaining-30", "1"),
			[]w{{limit: 10, remaining: 1, reset: 9750 * time.Millisecond, length: 30 * time.Second}}},
		{"response-ratelimiting named limit", header("X-RateLimit-Limit-Videos-Hour", "10", "X-RateLimit-Remaining-Videos-Hour", "3"),
			[]w{{limit: 10, remaining: 3, reset: 44*time.Minute + 39750*time.Millisecond, length: time.Hour}}},
		{"month: no reset known", header("X-RateLimit-Limit-Month", "10", "X-RateLimit-Remaining-Month", "0"),
			[]w{{limit: 10, remaining: 0}}},
		{"garbage ignored", header("RateLimit-Remaining", "many", "X-RateLimit-Remaining-Second", "-1"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rateLimitWindows(tt.h, now); !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestPacerConcurrentUse hammers one pacer from many goroutines with every
// kind of answer; run with -race.
func TestPacerConcurrentUse(t *testing.T) {
	p, _ := testPacer(200, 5, 500, true)
	answers := []struct {
		status int
		h      http.Header
	}{
		{200, nil}, {201, nil}, {404, nil}, {0, nil}, {500, nil},
		{429, header("Retry-After", "1")}, {429, nil},
		{503, header("Retry-After", "1")},
		{200, header("RateLimit-Remaining", "0", "RateLimit-Reset", "1")},
		{200, header("X-RateLimit-Limit-Second", "100", "X-RateLimit-Remaining-Second", "0")},
	}
	var sent atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				ctx, cancel := context.WithCancel(context.Background())
				if (g+i)%37 == 0 {
					cancel() // a caller that gives up
				}
				tk, err := p.wait(ctx)
				cancel()
				if err != nil {
					continue
				}
				sent.Add(1)
				a := answers[(g*7+i)%len(answers)]
				p.done(tk, a.status, a.h)
				_ = p.Stats()
			}
		}()
	}
	wg.Wait()
	if p.inflight != 0 || p.waiting != 0 {
		t.Errorf("inflight %d, waiting %d after every caller is done; want 0, 0", p.inflight, p.waiting)
	}
	if p.rate < 5 || p.rate > 500 {
		t.Errorf("rate %v outside [5, 500]", p.rate)
	}
	if sent.Load() == 0 {
		t.Error("no request was sent")
	}
}

// TestRetryAfterPausesTheWholeClient: a 429 to one call holds back another
// call that never saw it, through the client's shared pacer.
func TestRetryAfterPausesTheWholeClient(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "4")
			writeJSON(w, 429, `{"message":"API rate limit exceeded"}`)
			return
		}
		writeJSON(w, 200, `{"data":[],"meta":{"page":{"size":100,"next":null}}}`)
	}, func(o *Options) { o.NoPacing = false })
	clock := &fakeClock{now: time.Now(), auto: true}
	c.pacer.now, c.pacer.newTimer = clock.Now, clock.Timer

	// The first call draws the 429 and gives up while sleeping its
	// Retry-After.
	ctx, cancel := context.WithCancel(context.Background())
	var slept time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error {
		slept = d
		cancel()
		return ctx.Err()
	}
	if _, err := c.ConfigStores.List(ctx, "cp", nil); !statusIs(err, http.StatusTooManyRequests) {
		t.Fatalf("error %v, want the 429", err)
	}
	if slept != 4*time.Second {
		t.Errorf("the throttled call slept %v, want its Retry-After 4s", slept)
	}
	// Another service's call, which never saw the 429, waits out the pause.
	before := clock.Now()
	if _, err := c.Secrets.List(context.Background(), "cp", "st", nil); err != nil {
		t.Fatal(err)
	}
	if waited := clock.Now().Sub(before); waited < 4*time.Second-10*time.Millisecond {
		t.Errorf("the other call was held %v, want the 4s pause", waited)
	}
	if s := c.Pacing(); s.Throttled != 1 || s.Pauses != 1 || s.Decreases != 1 {
		t.Errorf("pacing stats %+v, want one 429, one pause, one decrease", s)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("server saw %d requests, want 2", got)
	}
}

func TestPacingOptions(t *testing.T) {
	tests := []struct {
		name              string
		in                Options
		initial, min, max float64
		err               string
	}{
		{"defaults", Options{}, DefaultInitialRate, DefaultMinRate, DefaultMaxRate, ""},
		{"--rps alone", Options{InitialRate: 20}, 20, DefaultMinRate, DefaultMaxRate, ""},
		{"start above the ceiling", Options{InitialRate: 500, MaxRate: 100}, 100, DefaultMinRate, 100, ""},
		{"start below the floor", Options{InitialRate: 2, MinRate: 5}, 5, 5, DefaultMaxRate, ""},
		{"a low ceiling lowers the floor", Options{MaxRate: 0.5}, 0.5, 0.5, 0.5, ""},
		{"floor above ceiling", Options{MinRate: 50, MaxRate: 10}, 0, 0, 0, "MinRate (50) is above MaxRate (10)"},
		{"negative", Options{MaxRate: -1}, 0, 0, 0, "MaxRate must be a positive number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Token = testToken
			c, err := New(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p := c.pacer; p.rate != tt.initial || p.minRate != tt.min || p.maxRate != tt.max {
				t.Errorf("pacer rate %v in [%v, %v], want %v in [%v, %v]", p.rate, p.minRate, p.maxRate, tt.initial, tt.min, tt.max)
			}
		})
	}
}

// rounds sends n rounds of as many requests at once as the pacer advises,
// each answered with status after latency, and returns the advised
// concurrency before each round and after the last.
// rounds runs n round trips of a caller whose ceiling is most (its
// --parallelism): each starts as many requests as the pacer advises within
// it, all answered with status one latency later. It returns the advised
// concurrency before each round and after the last.
func rounds(t *testing.T, p *pacer, clock *fakeClock, n, most int, latency time.Duration, status int) []int {
	t.Helper()
	var seen []int
	for range n {
		w := p.Concurrency()
		seen = append(seen, w)
		tickets := make([]ticket, min(w, most))
		for i := range tickets {
			tickets[i] = take(t, p)
		}
		clock.Advance(latency)
		for _, tk := range tickets {
			p.done(tk, status, nil)
		}
	}
	return append(seen, p.Concurrency())
}

func TestPacerConcurrency(t *testing.T) {
	const latency = 50 * time.Millisecond
	// cutTo brings a fresh pacer's window to w: full rounds up to 2w,
	// then one round answered with 429s.
	cutTo := func(t *testing.T, p *pacer, clock *fakeClock, w int) {
		t.Helper()
		rounds(t, p, clock, 5, 2*w, latency, http.StatusCreated)
		if got := rounds(t, p, clock, 1, 2*w, latency, http.StatusTooManyRequests); got[1] != w {
			t.Fatalf("concurrency %v after a round of %d 429s, want %d", got, 2*w, w)
		}
	}
	t.Run("doubles per round trip while the window is full, up to the most", func(t *testing.T) {
		p, clock := testPacer(DefaultInitialRate, DefaultMinRate, DefaultMaxRate, true)
		got := rounds(t, p, clock, 7, 2*MaxConcurrency, latency, http.StatusCreated)
		want := []int{InitialConcurrency, 16, 32, 64, 128, MaxConcurrency, MaxConcurrency, MaxConcurrency}
		if !slices.Equal(got, want) {
			t.Errorf("concurrency per round %v, want %v", got, want)
		}
	})
	t.Run("reaches the caller's ceiling and stops filling there", func(t *testing.T) {
		// --parallelism 32: three round trips below it, then 32 a round;
		// the window, never filled again, stops at the last doubling.
		p, clock := testPacer(DefaultInitialRate, DefaultMinRate, DefaultMaxRate, true)
		got := rounds(t, p, clock, 6, 32, latency, http.StatusCreated)
		if want := []int{InitialConcurrency, 16, 32, 64, 64, 64, 64}; !slices.Equal(got, want) {
			t.Errorf("concurrency per round %v, want %v", got, want)
		}
	})
	t.Run("a burst of 429s halves what was in flight, once", func(t *testing.T) {
		for _, most := range []int{8, 32, 64} {
			p, clock := testPacer(DefaultInitialRate, DefaultMinRate, DefaultMaxRate, true)
			rounds(t, p, clock, 4, most, latency, http.StatusCreated)
			got := rounds(t, p, clock, 1, most, latency, http.StatusTooManyRequests)
			if got[1] != most/2 || p.stats.Decreases != 1 {
				t.Errorf("ceiling %d: concurrency %v after a round of 429s (%d decreases), want %d and one decrease", most, got, p.stats.Decreases, most/2)
			}
		}
	})
	t.Run("after a cut, full rounds grow it by one per round trip", func(t *testing.T) {
		p, clock := testPacer(DefaultInitialRate, DefaultMinRate, DefaultMaxRate, true)
		cutTo(t, p, clock, 32)
		// The rate was cut too; full rounds at it now grow the window by
		// about one each (1/w per success: a round of 32 adds just under
		// one).
		got := rounds(t, p, clock, 4, 64, latency, http.StatusCreated)
		if want := []int{32, 32, 33, 34, 35}; !slices.Equal(got, want) {
			t.Errorf("concurrency per round after the cut %v, want %v", got, want)
		}
	})
	t.Run("a caller below the window does not widen it", func(t *testing.T) {
		p, clock := testPacer(DefaultInitialRate, DefaultMinRate, DefaultMaxRate, true)
		// Three at a time, never the whole window: the caller, not the
		// window, is the limit.
		got := rounds(t, p, clock, 100, 3, latency, http.StatusOK)
		if got[100] != InitialConcurrency {
			t.Errorf("concurrency %d after 300 successes three at a time, want %d", got[100], InitialConcurrency)
		}
	})
	t.Run("a throttled server never widens it", func(t *testing.T) {
		// The rate (10/s) holds requests back: each waits for its slot,
		// unsent and not in flight, and is answered in 5 ms, long before
		// the next slot. The window never fills, whatever the callers
		// start.
		p, clock := testPacer(10, 1, 10, true)
		for range 100 {
			tk := take(t, p)
			clock.Advance(5 * time.Millisecond)
			p.done(tk, http.StatusCreated, nil)
		}
		if got := p.Concurrency(); got != InitialConcurrency {
			t.Errorf("concurrency %d after 100 requests paced at 10/s, want %d", got, InitialConcurrency)
		}
	})
	t.Run("never below the least", func(t *testing.T) {
		p, clock := testPacer(DefaultInitialRate, DefaultMinRate, DefaultMaxRate, true)
		for range 10 {
			clock.Advance(time.Second)
			p.done(take(t, p), http.StatusTooManyRequests, nil)
		}
		if got := p.Concurrency(); got != minConcurrency {
			t.Errorf("concurrency %d after ten bursts of 429s, want %d", got, minConcurrency)
		}
	})
	t.Run("never above the most", func(t *testing.T) {
		p, clock := testPacer(DefaultInitialRate, DefaultMinRate, DefaultMaxRate, true)
		if got := rounds(t, p, clock, 8, 2*MaxConcurrency, latency, http.StatusCreated); got[8] != MaxConcurrency {
			t.Errorf("concurrency %v for a caller above the most, want %d", got, MaxConcurrency)
		}
	})
	t.Run("without pacing the caller's ceiling decides", func(t *testing.T) {
		var p *pacer
		if got := p.Concurrency(); got != MaxConcurrency {
			t.Errorf("concurrency %d without a pacer, want %d", got, MaxConcurrency)
		}
	})
}
