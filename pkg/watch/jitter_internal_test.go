package watch

import (
	"testing"
	"time"
)

// TestJitter: each wait is the interval spread by at most the jitter's
// fraction, and the waits do differ (watchers started together drift
// apart).
func TestJitter(t *testing.T) {
	w := &Watcher{cfg: Config{Interval: time.Minute, Jitter: 0.1}}
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := w.nextWait()
		if d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("wait %s is outside 1m ± 10%%", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct waits in 1000", len(seen))
	}
	w.cfg.Jitter = 0
	if d := w.nextWait(); d != time.Minute {
		t.Errorf("no jitter: wait %s", d)
	}
}
