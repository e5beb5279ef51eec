package diff

import "time"

// The outcome of executing a plan is plain data too, beside the plan: the
// executor (pkg/apply) produces it, the renderers (pkg/diff/render) print
// it, and RecordSum reads it.

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
	Change   *Change
	Status   Status
	Err      error
	Duration time.Duration
	// Cause is, for a skipped change, the ID of the failed change it
	// (transitively) depends on.
	Cause int
	// Applied is what Konnect answered of a change that succeeded.
	Applied Applied
}

// Report is the outcome of a whole run, one Result per change in plan order.
type Report struct {
	Results []Result
}

// Succeeded returns what Konnect answered of a change, when it succeeded;
// it suits RecordSum.
func (r *Report) Succeeded(c *Change) (Applied, bool) {
	if r == nil {
		return Applied{}, false
	}
	// Results are in plan order, so a plan's change is found at its ID;
	// recording a sum asks once per change and must not scan.
	if c.ID >= 0 && c.ID < len(r.Results) && r.Results[c.ID].Change == c {
		res := r.Results[c.ID]
		return res.Applied, res.Status == Succeeded
	}
	for _, res := range r.Results {
		if res.Change == c {
			return res.Applied, res.Status == Succeeded
		}
	}
	return Applied{}, false
}

// Counts tallies the report's results by status.
func (r *Report) Counts() map[Status]int {
	out := map[Status]int{}
	if r == nil {
		return out
	}
	for _, res := range r.Results {
		out[res.Status]++
	}
	return out
}
