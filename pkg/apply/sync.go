package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
)

// Planned is a plan with what it was made from: the client that read the
// live state (and goes on with its pace), the desired and the live state.
type Planned struct {
	Client *konnect.Client
	File   *state.File
	Live   *diff.Live
	Plan   *diff.Plan
}

// PlanOptions are one control plane's planning inputs.
type PlanOptions struct {
	// ControlPlane is the control plane by name or id; "" takes the
	// file's.
	ControlPlane string
	// Plan are the plan's options (select tags, no deletes, kvsync.sum,
	// forced writes, adoption).
	Plan diff.Options
	// Origins say where the target came from; the plan shows them.
	Origins diff.Origins
	// SumFile is where Plan.Sum was read (the plan shows it), and where
	// Sync writes it after the run, whatever happened; "" with no Sum.
	SumFile string
}

// ControlPlaneMismatchError: the control plane was given by id, and its
// name is not the file's _konnect.control_plane_name.
type ControlPlaneMismatchError struct {
	Given, FileName, LiveName string
}

func (e *ControlPlaneMismatchError) Error() string {
	return fmt.Sprintf("control plane %q (%s) differs from the file's _konnect.control_plane_name %q", e.Given, e.LiveName, e.FileName)
}

// Plan fetches the live state the file needs, checks the file against it
// (references, plugin and vault configs against the schemas) and computes
// the plan. Any problem stops here: nothing is applied.
//
// earlier is this run's earlier plan when it plans again (under the lock):
// what it read makes the fetch one round trip. nil otherwise.
func Plan(ctx context.Context, c *konnect.Client, f *state.File, opts PlanOptions, earlier *Planned) (*Planned, error) {
	return planWith(ctx, c, f, opts, earlier, planHooks{})
}

// planHooks let Sync act between the steps of a plan.
type planHooks struct {
	// resolved is called once the control plane is known, before its
	// entities are read.
	resolved func(konnect.ControlPlane)
	// fetched is called with the live state once it is read, before it is
	// checked and planned from; it may change it.
	fetched func(*diff.Live)
	// ours names the stores whose secrets need not be read (see
	// diff.FetchOptions.Ours).
	ours func(storeID string) bool
}

func planWith(ctx context.Context, c *konnect.Client, f *state.File, opts PlanOptions, earlier *Planned, hooks planHooks) (*Planned, error) {
	if c == nil || f == nil {
		return nil, errors.New("apply: Plan needs a client and a file")
	}
	fetch := diff.FetchOptions{ControlPlane: opts.ControlPlane, SelectTags: opts.Plan.SelectTags, Resolved: hooks.resolved, Ours: hooks.ours}
	if earlier != nil {
		fetch.Previous = earlier.Live
	}
	live, err := diff.Fetch(ctx, c, f, fetch)
	if err != nil {
		return nil, err
	}
	if hooks.fetched != nil {
		hooks.fetched(live)
	}
	// A control plane given by id is checked once its name is known.
	if f.ControlPlaneName != "" && live.ControlPlane.Name != f.ControlPlaneName {
		return nil, &ControlPlaneMismatchError{Given: opts.ControlPlane, FileName: f.ControlPlaneName, LiveName: live.ControlPlane.Name}
	}
	if err := diff.CheckOnline(f, live); err != nil {
		return nil, err
	}
	p, err := diff.Compute(f, live, opts.Plan)
	if err != nil {
		return nil, err
	}
	p.Address, p.Origins = c.BaseURL(), opts.Origins
	if opts.Plan.Sum != nil {
		p.SumFile = opts.SumFile
	}
	return &Planned{Client: c, File: f, Live: live, Plan: p}, nil
}

// SyncOptions are one control plane's sync. The client may be shared with
// other syncs (its pacer then paces them all).
type SyncOptions struct {
	PlanOptions
	// Reviewed, when set, is the plan a person reviewed (diff --out): the
	// sync applies only that plan, made from the same live state and
	// values, and refuses anything else before any write.
	Reviewed *diff.SavedPlan
	// FingerprintKey keys the reviewed plan's fingerprints (the
	// KVSYNC_FINGERPRINT_KEY the review used, or nothing).
	FingerprintKey []byte
	// Holder names this run in the lock (see Holder); MaxDuration is the
	// most it may take, written in the lock.
	Holder      string
	MaxDuration time.Duration
	// Apply tunes the execution (parallelism, results as they come).
	Apply Options
	// Planned, when set, is called with the plan once it is made (and
	// verified against Reviewed): a caller shows it and may ask before
	// deleting. An error stops the sync, nothing applied.
	Planned func(*Planned) error
	// LockAfterPlan takes the lock once Planned has returned, and only
	// when the plan changes something: one round trip more on the way to
	// the first write. Set it when Planned may wait for a person (a
	// terminal asking before deletes: a person deciding must not hold
	// other runs back). Otherwise the lock is taken while the plan's reads
	// run, and a sync whose plan turns out empty releases it: two writes
	// (the lock's vault made and deleted), one round trip at the end.
	LockAfterPlan bool
	// Warn, when set, receives what the run warns about (a lock taken
	// over from an ended run, a lock it could not release).
	Warn func(string)
	// Locked, when set, is called once the lock is held (maybe while the
	// plan is being made, on another goroutine), with the function that
	// releases it (a caller quitting at once, on a second Ctrl-C, releases
	// it on its way out); the function it returns is called when the sync
	// releases the lock itself.
	Locked func(release func() error) (released func())
}

// SyncResult is what a sync did.
type SyncResult struct {
	// Planned is the plan applied: the one made under the lock, the same
	// changes as the one shown.
	Planned *Planned
	// Report holds one result per change (empty for an empty plan).
	Report *diff.Report
	// SumErr is set when kvsync.sum could not be written (it is also part
	// of the error Sync returns).
	SumErr error
}

// ErrPlanMoved: the control plane changed between the plan shown and the
// plan made under the lock.
var ErrPlanMoved = errors.New("the control plane changed while kvsync took its lock (another run, most likely): nothing was applied; run again to see the new plan")

// errNotConfirmed wraps why the plan could not be made again under the
// lock, once creates had started (see speculate.go); of the made creates,
// undone were deleted.
type errNotConfirmed struct {
	err          error
	made, undone int
}

func (e *errNotConfirmed) Error() string {
	msg := "the plan could not be made again under the lock, so nothing was applied"
	switch {
	case e.undone > 0 && e.undone == e.made:
		msg += fmt.Sprintf(" (the %d creates made meanwhile were deleted)", e.undone)
	case e.undone > 0:
		msg += fmt.Sprintf(" (%d of the %d creates made meanwhile were deleted)", e.undone, e.made)
	}
	return msg + ": " + e.err.Error()
}

func (e *errNotConfirmed) Unwrap() error { return e.err }

// Sync runs the sync workflow for one control plane: plan (taking the
// control plane's lock meanwhile, unless LockAfterPlan), narrow it to a reviewed
// plan's changes (refusing one that no longer holds), show it
// (opts.Planned), hold the lock, plan again under it (the same plan, or
// nothing is applied; creates start meanwhile, see speculate.go), apply,
// record in kvsync.sum exactly what Konnect accepted, release the lock.
// A plan that changes nothing needs no lock: one taken meanwhile is
// released, one refused (another run's, a read-only token) is no error.
//
// The error is nil, or why nothing was applied (the result is then nil),
// or what went wrong while applying (a *RunError, and a sum write
// failure), with the result.
func Sync(ctx context.Context, c *konnect.Client, f *state.File, opts SyncOptions) (*SyncResult, error) {
	var lk *pendingLock
	hooks := planHooks{}
	if !opts.LockAfterPlan {
		hooks.resolved = func(cp konnect.ControlPlane) {
			// A control plane that is not the file's is refused once
			// read (ControlPlaneMismatchError): it gets no write, the
			// lock's neither.
			if f.ControlPlaneName == "" || cp.Name == f.ControlPlaneName {
				lk = opts.startLock(ctx, c, cp)
			}
		}
	}
	pl, err := planWith(ctx, c, f, opts.PlanOptions, nil, hooks)
	if err == nil {
		err = opts.verify(pl)
	}
	if err == nil && opts.Planned != nil {
		err = opts.Planned(pl)
	}
	if err != nil || pl.Plan.Empty() {
		opts.drop(lk)
		if err != nil {
			return nil, err
		}
	}
	res := &SyncResult{Planned: pl, Report: &diff.Report{}}
	var runErr error
	if !pl.Plan.Empty() {
		if lk == nil {
			lk = opts.startLock(ctx, pl.Client, pl.Plan.ControlPlane)
		}
		<-lk.done
		if lk.err != nil {
			return nil, lk.err
		}
		defer func() {
			if uerr := lk.release(); uerr != nil {
				opts.warn(uerr.Error())
			}
		}()
		applied, rep, err := opts.applyUnderLock(ctx, pl)
		if rep == nil {
			return nil, err
		}
		res.Planned, res.Report, runErr = applied, rep, err
		pl = applied
	}
	// Whatever happened, the sum records exactly what was written.
	if s := opts.Plan.Sum; s != nil && opts.SumFile != "" {
		diff.RecordSum(s, pl.Plan, res.Report.Succeeded)
		if err := s.Write(opts.SumFile); err != nil {
			res.SumErr = err
			return res, multierror.Append(runErr, err)
		}
	}
	return res, runErr
}

// pendingLock is the lock being taken; done is closed once it is held
// (unlock set) or refused (err).
type pendingLock struct {
	done   chan struct{}
	unlock func() error
	err    error
	// released tells the caller (SyncOptions.Locked) that the sync
	// releases the lock itself.
	released func()
}

// release releases a lock that is held.
func (lk *pendingLock) release() error {
	lk.released()
	return lk.unlock()
}

// startLock starts taking the control plane's lock: writes happen under
// it, from a plan made under it, so that two runs never both create.
func (opts *SyncOptions) startLock(ctx context.Context, c *konnect.Client, cp konnect.ControlPlane) *pendingLock {
	holder := opts.Holder
	if holder == "" {
		holder = Holder()
	}
	lk := &pendingLock{done: make(chan struct{})}
	go func() {
		defer close(lk.done)
		lk.unlock, lk.err = LockTakingOver(ctx, c, cp, holder, opts.MaxDuration, func(le *LockedError) {
			opts.warn(fmt.Sprintf("took over the lock of control plane %s left by %s: that run has ended", le.ControlPlane, le.Holder))
		})
		lk.released = func() {}
		if lk.err == nil && opts.Locked != nil {
			lk.released = opts.Locked(lk.unlock)
		}
	}()
	return lk
}

// drop gives up a lock taken while planning, once its answer is in: the
// sync writes nothing (its plan is empty, or it stopped before writing),
// so a lock it could not take is no error.
func (opts *SyncOptions) drop(lk *pendingLock) {
	if lk == nil {
		return
	}
	<-lk.done
	if lk.err != nil {
		return
	}
	if err := lk.release(); err != nil {
		opts.warn(err.Error())
	}
}

// applyUnderLock applies the plan shown, under the lock, once the plan
// made again under it confirms it; creates start meanwhile (see
// speculate.go). It returns the plan applied with the live state it
// holds, and Apply's report and error; no report when nothing was applied.
func (opts *SyncOptions) applyUnderLock(ctx context.Context, shown *Planned) (*Planned, *diff.Report, error) {
	spec := newSpeculation()
	aopts := opts.Apply
	aopts.speculation = spec
	type outcome struct {
		rep *diff.Report
		err error
	}
	applied, ended := make(chan outcome, 1), make(chan struct{})
	go func() {
		defer close(ended)
		rep, err := Apply(ctx, shown.Client, shown.Plan, aopts)
		applied <- outcome{rep, err}
	}()
	pl, err := opts.replan(ctx, shown, planHooks{
		fetched: func(live *diff.Live) {
			close(spec.freeze)
			select {
			case m := <-spec.drained:
				withoutMade(live, m)
			case <-ended: // it drained on its way out, or never ran
				select {
				case m := <-spec.drained:
					withoutMade(live, m)
				default:
				}
			}
		},
		ours: spec.ownStore,
	})
	spec.verdict <- err == nil
	out := <-applied
	if err == nil {
		// The plan shown is the one applied (the same changes as the
		// re-plan's), from the live state the re-plan read.
		return &Planned{Client: shown.Client, File: shown.File, Live: pl.Live, Plan: shown.Plan}, out.rep, out.err
	}
	if out.rep == nil {
		return nil, nil, multierror.Append(err, out.err)
	}
	undone, uerr := 0, error(nil)
	if len(spec.made) > 0 {
		undone, uerr = undo(shown.Client, shown.Plan.ControlPlane.ID, spec.made, opts.Apply.Parallelism)
	}
	if !errors.Is(err, ErrPlanMoved) {
		err = &errNotConfirmed{err: err, made: len(spec.made), undone: undone}
		// What stopped the re-plan (Konnect gone, Ctrl-C) stopped the
		// run: say it as a run says it, whichever saw it first.
		var re *RunError
		if errors.As(out.err, &re) {
			re.Unreachable = re.Unreachable || errors.Is(err, konnect.ErrUnreachable)
			re.Throttled = re.Throttled || errors.Is(err, konnect.ErrThrottled)
			if re.Unreachable || re.Throttled || re.Interrupted {
				err = multierror.Append(err, re)
			}
		}
	}
	if uerr != nil {
		return nil, nil, multierror.Append(err, uerr)
	}
	return nil, nil, err
}

// replan plans again under the lock; the plan must be the one shown.
func (opts *SyncOptions) replan(ctx context.Context, shown *Planned, hooks planHooks) (*Planned, error) {
	pl, err := planWith(ctx, shown.Client, shown.File, opts.PlanOptions, shown, hooks)
	if err != nil {
		return nil, err
	}
	if err := opts.verify(pl); err != nil {
		return nil, err
	}
	if !samePlan(shown.Plan, pl.Plan) {
		return nil, ErrPlanMoved
	}
	return pl, nil
}

// verify narrows the plan to the reviewed changes it still makes (see
// diff.SavedPlan.Review): what nobody reviewed is left out, and named in
// the plan's warnings; a plan that no longer holds is refused, before any
// write, naming everything that moved.
func (opts *SyncOptions) verify(pl *Planned) error {
	if opts.Reviewed == nil {
		return nil
	}
	keying, err := opts.Reviewed.Keyed(opts.FingerprintKey)
	if err != nil {
		return err
	}
	r, err := opts.Reviewed.Review(pl.Plan, diff.TakeFingerprints(pl.Live, pl.Plan, keying))
	var moved *multierror.Error
	if errors.As(err, &moved) {
		return multierror.Append(errors.New("the reviewed plan no longer holds; nothing was applied (make and review a new plan):"), moved.Errors...)
	}
	if err != nil {
		return err
	}
	pl.Plan = r.Plan
	return nil
}

func (opts *SyncOptions) warn(msg string) {
	if opts.Warn != nil {
		opts.Warn(msg)
	}
}

// samePlan reports whether two plans make the same changes.
func samePlan(a, b *diff.Plan) bool {
	x, errA := json.Marshal(a.Changes)
	y, errB := json.Marshal(b.Changes)
	return errA == nil && errB == nil && bytes.Equal(x, y)
}
