package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestGCWatchLiftsTheLimit: once the live heap after a collection passes
// the threshold, the soft limit is lifted and Go's default pace restored,
// so that a large run never collects back to back.
func TestGCWatchLiftsTheLimit(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(gcMemoryLimit))
	lifted := make(chan struct{})
	gcWatch(1<<20, func() { close(lifted) })
	live := make([]byte, 4<<20) // past the 1 MiB threshold
	deadline := time.After(10 * time.Second)
	for done := false; !done; {
		runtime.GC()
		select {
		case <-lifted:
			done = true
		case <-deadline:
			t.Fatal("the limit was not lifted with 4 MiB live and a 1 MiB threshold")
		default:
			runtime.Gosched()
		}
	}
	runtime.KeepAlive(live)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit %d after lifting, want none", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC %d after lifting, want 100", got)
	}
}

// TestUntuneGC: kvsync watch returns to Go's defaults when the process was
// tuned, and leaves the settings alone otherwise (GOGC or GOMEMLIMIT set,
// or a test calling run).
func TestUntuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(gcMemoryLimit))

	untuneGC() // not tuned: nothing changes
	if got := debug.SetGCPercent(gcPercent); got != gcPercent {
		t.Errorf("untuned: GOGC %d, want %d left alone", got, gcPercent)
	}
	gcTuned.Store(true)
	untuneGC()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit %d after untuneGC, want none", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC %d after untuneGC, want 100", got)
	}
	if gcTuned.Load() {
		t.Error("still marked tuned")
	}
}
