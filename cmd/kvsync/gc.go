package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// The garbage collector's settings for a kvsync process. Most of what a
// plan allocates is short-lived (the file's YAML, every page of the
// listings as it is decoded): with Go's default (GOGC=100: collect each
// time the heap doubles) a diff of 50,000 secrets and 10,000 plugins
// spends about a tenth of its CPU collecting, and its heap still peaks at
// twice what it keeps. So kvsync collects less often (gcPercent) under a
// soft memory limit (gcMemoryLimit): a small run rarely collects at all,
// and a large one collects as the limit nears instead of letting its heap
// double, which also bounds its peak RSS.
//
// The trade: a soft limit makes the collector run as often as it must to
// stay under it, so a process whose live heap nears the limit would
// collect nearly all the time (Go caps that at half the CPU). gcWatch
// lifts the limit, and goes back to Go's default pace, once the live heap
// after a collection passes three quarters of it: a control plane far
// larger than the benchmarks' pays the default's memory, never a
// collector running back to back.
//
// kvsync watch undoes them (untuneGC): it runs for days with a small
// live heap, which GOGC=400 would let grow to five times its size.
//
// GOGC or GOMEMLIMIT in the environment, when set, decide instead: then
// kvsync changes nothing.
const (
	gcPercent     = 400
	gcMemoryLimit = 128 << 20
	// gcLiftAt: past it, the limit leaves a quarter of itself between
	// collections, and less as the live heap grows.
	gcLiftAt = gcMemoryLimit / 4 * 3
)

// tuneGC applies kvsync's settings, unless the environment sets its own.
func tuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(gcMemoryLimit)
	gcTuned.Store(true)
	gcWatch(gcLiftAt, nil)
}

// gcTuned: tuneGC changed the settings (never in tests, which call run).
var gcTuned atomic.Bool

// untuneGC restores Go's defaults, when tuneGC changed them.
func untuneGC() {
	if gcTuned.CompareAndSwap(true, false) {
		debug.SetMemoryLimit(math.MaxInt64)
		debug.SetGCPercent(100)
	}
}

// gcTick is a heap object whose cleanup runs after the collection that
// found it unreachable: once per collection, re-armed each time. It is
// larger than 16 bytes so that it is not batched with other tiny
// objects, which would delay its collection.
type gcTick struct{ _ [32]byte }

// gcWatch checks the live heap after each collection and lifts the soft
// limit once it is past liftAt (see the top of this file); then it calls
// lifted, when set (tests), and stops watching.
func gcWatch(liftAt uint64, lifted func()) {
	runtime.AddCleanup(new(gcTick), func(struct{}) {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > liftAt {
			debug.SetMemoryLimit(math.MaxInt64)
			debug.SetGCPercent(100)
			gcTuned.Store(false)
			if lifted != nil {
				lifted()
			}
			return
		}
		gcWatch(liftAt, lifted)
	}, struct{}{})
}
