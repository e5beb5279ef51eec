package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/kvsync/kvsync/pkg/diff"
)

// progressThreshold: syncs of more operations than this show progress (on
// a terminal).
const progressThreshold = 5

// progress shows a sync while it runs: on a terminal, "[n/total]
// applying…" on one line; elsewhere (a CI log) one line per operation as
// it ends, so that a log shows what happens while it happens.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	total    int
	n        int
	terminal bool
	counter  bool
	scrub    func(string) string
}

func newProgress(w io.Writer, total int, terminal bool, scrub func(string) string) *progress {
	return &progress{w: w, total: total, terminal: terminal, counter: terminal && total > progressThreshold, scrub: scrub}
}

func (p *progress) update(r diff.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	switch {
	case p.counter:
		fmt.Fprintf(p.w, "\r[%d/%d] applying…", p.n, p.total)
	case !p.terminal:
		line := fmt.Sprintf("kvsync: [%d/%d] %s %s", p.n, p.total, strings.ReplaceAll(string(r.Status), "_", " "), r.Change)
		if r.Status == diff.Succeeded || r.Status == diff.Failed {
			line += fmt.Sprintf(" (%s)", r.Duration.Round(time.Millisecond))
		}
		fmt.Fprintln(p.w, p.scrub(line))
	}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counter {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
