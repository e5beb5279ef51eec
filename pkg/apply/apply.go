// Package apply runs kvsync's sync workflow for one control plane (Sync:
// plan, verify a reviewed plan, lock, re-plan, apply, record kvsync.sum),
// and executes a plan from pkg/diff against Konnect (Apply): the plan's
// dependency graph runs with independent branches in parallel, each
// operation once, in dependency order. A plan is plain data: each change's
// Op says what to send, and this package's operation for its kind
// (operations.go) sends it; apply schedules them and hands each the ids
// that earlier changes produced, for the IDRefs the plan could not know (a
// new store's id, which its secrets and vault need).
//
// # Failures and interruptions
//
// When an operation fails, the operations in flight finish, everything that
// does not depend on the failure keeps running, and every (transitive)
// dependant is Skipped with the failed change as its Cause. When the
// context is cancelled (Ctrl-C), nothing new starts; the operations in
// flight finish on a context of their own, so that a request is not cut off
// half-way (bounded by the client's timeouts and Options.GracePeriod), and
// the rest is NotStarted.
//
// # Convergence
//
// A run that stops half-way leaves a state that the next diff sees, so a
// re-run of sync converges. The operations help: deleting something already
// gone succeeds, a secret created concurrently (Konnect refuses the create
// with a 400; the spec declares no 409) gets its value written with an
// idempotent PUT, and a vault whose prefix was taken concurrently (409) is
// updated in place.
package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
)

// DefaultParallelism is the most operations in flight when
// Options.Parallelism is not set. It is a ceiling, not a pace: within it the
// client's pacer chooses how many run at once (see Options.Concurrency).
// 64 lets a sync reach a thousand requests per second (the pacer's default
// top rate) at 64 ms of latency; Konnect sees at most that many requests at
// once, as many connections, and only while it answers them all at once.
const DefaultParallelism = 64

// DefaultGracePeriod bounds how long operations in flight may go on after
// the run's context is cancelled.
const DefaultGracePeriod = time.Minute

// Options tune Apply.
type Options struct {
	// Parallelism bounds operations in flight (default DefaultParallelism).
	Parallelism int
	// Concurrency, when set, is read before starting each operation: no
	// more than it are started while as many are in flight (and never more
	// than Parallelism). Apply sets it to the client's pacer
	// (konnect.Client.Concurrency), which widens it while Konnect answers
	// everything and narrows it when Konnect throttles.
	Concurrency func() int
	// Slots, when set, is shared by several runs at once (the control
	// planes of one kvsync run): an operation starts only once it holds
	// one, so that the runs together have at most cap(Slots) in flight.
	Slots Slots
	// OnResult, if set, is called (serially) as each operation ends. It is
	// called for every change, skipped and never started ones included, so
	// that a progress display can count to len(Plan.Changes).
	OnResult func(diff.Result)
	// GracePeriod bounds how long the operations in flight may take to
	// finish once the context is cancelled (default DefaultGracePeriod);
	// after it their requests are cancelled too. Without it a request
	// retried through 429s would keep an interrupted run alive.
	GracePeriod time.Duration

	// speculation, when set, runs the plan's speculative creates only,
	// until Sync confirms the plan (see speculate.go).
	speculation *speculation
}

// Slots bound the operations in flight of several runs together.
type Slots chan struct{}

// NewSlots makes n slots.
func NewSlots(n int) Slots { return make(Slots, max(1, n)) }

// RunError is the error Apply returns when not every operation succeeded.
type RunError struct {
	Failed, Skipped, NotStarted int
	// Interrupted is set when the context was cancelled before the end;
	// Deadline when that was the run's deadline.
	Interrupted, Deadline bool
	// Unreachable is set when Konnect stopped answering (see
	// konnect.ErrUnreachable): nothing new was started after that.
	Unreachable bool
	// Throttled is set when Konnect answered nothing but 429 past the
	// client's throttling budget (konnect.ErrThrottled): nothing new was
	// started after that.
	Throttled bool
}

func (e *RunError) Error() string {
	var parts []string
	if e.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", e.Failed))
	}
	if e.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped because a change they depend on failed", e.Skipped))
	}
	if e.NotStarted > 0 {
		parts = append(parts, fmt.Sprintf("%d not started", e.NotStarted))
	}
	msg := "sync incomplete: " + strings.Join(parts, ", ")
	switch {
	case e.Unreachable:
		msg = "Konnect unreachable: " + strings.Join(parts, ", ")
	case e.Throttled:
		msg = "Konnect kept throttling: " + strings.Join(parts, ", ")
	case e.Deadline:
		msg = "sync stopped at its deadline (--max-duration): " + strings.Join(parts, ", ")
	case e.Interrupted:
		msg = "sync interrupted: " + strings.Join(parts, ", ")
	}
	return msg + "; run sync again to converge"
}

// Apply executes the plan. It returns the report and an error when any
// operation failed, was skipped or never started (a *RunError), or when the
// plan's graph is malformed (then nothing runs).
func Apply(ctx context.Context, c *konnect.Client, p *diff.Plan, opts Options) (*diff.Report, error) {
	if c == nil {
		return nil, errors.New("apply: no client")
	}
	if p == nil {
		return nil, errors.New("apply: no plan")
	}
	if opts.Concurrency == nil {
		opts.Concurrency = c.Concurrency
	}
	return run(ctx, p, opts, &target{client: c, cpID: p.ControlPlane.ID}, execute)
}
