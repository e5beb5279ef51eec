// Package apply executes a plan from pkg/diff against Konnect: the plan's
// dependency graph runs with independent branches in parallel, each
// operation once, in dependency order; ids created along the way flow into
// the operations that need them.
package apply

import (
	"context"
	"errors"
	"time"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
)

// Status is the outcome of one operation.
type Status string

const (
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	// Skipped: a change it depends on failed (or was itself skipped).
	Skipped Status = "skipped"
	// NotStarted: the run was cancelled before the operation started.
	NotStarted Status = "not_started"
)

// Result is the outcome of one change.
type Result struct {
	Change   *diff.Change
	Status   Status
	Err      error
	Duration time.Duration
	// Cause is, for a skipped change, the ID of the failed change it
	// (transitively) depends on.
	Cause int
}

// Report is the outcome of a whole run, one Result per change in plan order.
type Report struct {
	Results []Result
}

// Options tune Apply.
type Options struct {
	// Parallelism bounds operations in flight (default 8).
	Parallelism int
	// OnResult, if set, is called (serially) as each operation ends.
	OnResult func(Result)
}

// Apply executes the plan. It returns the report and an error when any
// operation failed, was skipped or never started.
func Apply(ctx context.Context, c *konnect.Client, p *diff.Plan, opts Options) (*Report, error) {
	return nil, errors.New("apply: not implemented yet")
}
