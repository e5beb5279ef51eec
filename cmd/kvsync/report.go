package main

import (
	"fmt"
	"io"
	"sync"

	"github.com/kvsync/kvsync/pkg/apply"
)

// progressThreshold: syncs of more operations than this show progress (on
// a terminal).
const progressThreshold = 5

// progress draws "[n/total] applying…" on one terminal line.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	total   int
	n       int
	enabled bool
}

func newProgress(w io.Writer, total int, terminal bool) *progress {
	return &progress{w: w, total: total, enabled: terminal && total > progressThreshold}
}

func (p *progress) update(apply.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.enabled {
		fmt.Fprintf(p.w, "\r[%d/%d] applying…", p.n, p.total)
	}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.enabled {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
