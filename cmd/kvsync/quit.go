package main

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// quitGrace bounds what a second Ctrl-C does before the process ends:
// releasing the lock, when that takes under a second.
const quitGrace = time.Second

// exitNow ends the process (tests replace it).
var exitNow = os.Exit

// quitHooks are run by a second interrupt, at once, before the process
// ends: each has quitGrace to finish.
type quitHooks struct {
	mu    sync.Mutex
	next  int
	hooks map[int]func()
}

// atQuit registers f for a second interrupt; the returned function
// unregisters it.
func (p *program) atQuit(f func()) (forget func()) {
	q := &p.quitting
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.hooks == nil {
		q.hooks = map[int]func(){}
	}
	id := q.next
	q.next++
	q.hooks[id] = f
	return func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		delete(q.hooks, id)
	}
}

// quit is the second interrupt: the hooks run together for at most
// quitGrace, then the process ends with 130 (interrupted), as a shell
// reports a process killed by SIGINT.
func (p *program) quit() {
	q := &p.quitting
	q.mu.Lock()
	hooks := make([]func(), 0, len(q.hooks))
	for _, f := range q.hooks {
		hooks = append(hooks, f)
	}
	q.mu.Unlock()
	fmt.Fprintf(p.stderr, "\nkvsync: interrupted again: quitting now")
	if len(hooks) > 0 {
		fmt.Fprintf(p.stderr, ", releasing the lock first (%s at most)", quitGrace)
	}
	fmt.Fprintln(p.stderr)
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for _, f := range hooks {
			wg.Add(1)
			go func() { defer wg.Done(); f() }()
		}
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(quitGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		fmt.Fprintln(p.stderr, "kvsync: the lock was not released in time: `kvsync unlock` removes it, or the next run takes it over once its heartbeat is stale")
	}
	exitNow(130)
}
