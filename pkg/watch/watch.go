// Package watch runs kvsync's plan continuously (kvsync watch): every
// interval it plans each target (a control plane with its own inputs),
// exports what it found as Prometheus metrics and on a status page, and,
// when asked to, remediates by applying creates and updates under the
// control plane's lock, never deletes.
//
// Nothing it exports or logs holds a value: plans carry none, metrics'
// labels are control plane names, kinds, actions, reasons and status
// classes, and error texts go through the caller's scrubber.
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
)

// Inputs are one target's planning inputs, read afresh every cycle so that
// an edited file or kvsync.sum needs no restart.
type Inputs struct {
	File *state.File
	// Plan holds kvsync.sum (Plan.Plan.Sum) and where remediation records
	// it (Plan.SumFile).
	Plan apply.PlanOptions
	// Client is the cycle's client for the target's address: with the
	// token read afresh, sharing one pacer with every other cycle
	// (konnect.Client.NextRun).
	Client *konnect.Client
}

// Target is one control plane to watch.
type Target struct {
	// Name labels the target in metrics, logs and the status page: the
	// control plane's name.
	Name string
	// Environment is the environment the target is (issue 20's
	// environments file), or "".
	Environment string
	// Read loads the target's files and kvsync.sum. remediate says whether
	// this cycle may write (a sum made with another key then is an error).
	Read func(remediate bool) (Inputs, error)
}

// Config is a watcher's configuration.
type Config struct {
	Targets []Target
	// Interval is the time between the end of a cycle and the start of
	// the next; Jitter (a fraction, e.g. 0.1) spreads it at random so
	// that many watchers do not meet at Konnect.
	Interval time.Duration
	Jitter   float64
	// CheckTimeout bounds one target's check (a remediation included), so
	// that one slow control plane never keeps the others unchecked; 0:
	// Interval.
	CheckTimeout time.Duration
	// Remediate applies creates and updates (never deletes) each cycle,
	// under the control plane's lock; otherwise the watcher only reads and
	// takes no lock.
	Remediate bool
	// Holder names the watcher in the lock (default apply.Holder()).
	Holder string
	// Parallelism of a remediation (default apply.DefaultParallelism).
	Parallelism int
	Logger      *slog.Logger
	// Scrub is applied to every error text shown or logged (the token and
	// the fingerprint key, as a last line of defence); nil: none.
	Scrub func(string) string
	// Registerer receives the metrics (nil: a new registry, see
	// Watcher.Gatherer).
	Registerer prometheus.Registerer
	// Now and Wait are the clock; tests replace them. Wait returns early
	// with ctx's error.
	Now  func() time.Time
	Wait func(ctx context.Context, d time.Duration) error
	// Cycled, when set, is called after each cycle (tests wait on it).
	Cycled func(n int)
}

// Watcher plans its targets every interval.
type Watcher struct {
	cfg     Config
	metrics *metrics
	reg     *prometheus.Registry

	mu      sync.Mutex
	planes  map[string]*PlaneStatus
	cycles  int
	started time.Time
	lastEnd time.Time
}

// PlaneStatus is what the watcher last learned of one target.
type PlaneStatus struct {
	Name, Environment string
	// Checked is when the last check ended; Succeeded when the last one
	// that succeeded did (zero: none yet).
	Checked, Succeeded time.Time
	// Err is why the last check failed ("" when it succeeded), scrubbed.
	Err string
	// InSync: the last successful check found nothing to change.
	InSync bool
	// Plan is the last successful check's plan; Remediated counts the
	// changes the last cycle applied.
	Plan       *diff.Plan
	Remediated int
}

// New makes a watcher; the metrics are registered on cfg.Registerer.
func New(cfg Config) (*Watcher, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("watch: nothing to watch")
	}
	if cfg.Interval <= 0 {
		return nil, errors.New("watch: the interval must be positive")
	}
	if cfg.Jitter < 0 || cfg.Jitter > 1 {
		return nil, fmt.Errorf("watch: jitter %g is not a fraction between 0 and 1", cfg.Jitter)
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = cfg.Interval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Scrub == nil {
		cfg.Scrub = func(s string) string { return s }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Wait == nil {
		cfg.Wait = sleep
	}
	if cfg.Holder == "" {
		cfg.Holder = apply.Holder()
	}
	w := &Watcher{cfg: cfg, planes: map[string]*PlaneStatus{}}
	reg := cfg.Registerer
	if reg == nil {
		w.reg = prometheus.NewRegistry()
		reg = w.reg
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	w.metrics = m
	for _, t := range cfg.Targets {
		if _, dup := w.planes[t.Name]; dup {
			return nil, fmt.Errorf("watch: control plane %q is watched twice", t.Name)
		}
		w.planes[t.Name] = &PlaneStatus{Name: t.Name, Environment: t.Environment}
		m.init(t.Name)
	}
	return w, nil
}

// Gatherer is the registry the metrics went to when Config.Registerer was
// nil; nil otherwise.
func (w *Watcher) Gatherer() prometheus.Gatherer {
	if w.reg == nil {
		return nil
	}
	return w.reg
}

// Trace feeds the API request metrics; pass it as the client's
// konnect.Options.Trace (alone or with another tracer).
func (w *Watcher) Trace(e konnect.Event) { w.metrics.trace(e) }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run checks every target, waits the interval, and again, until ctx ends;
// it then returns nil: the cycle in flight is cancelled, and a remediation
// cut short is finished by the next run (a re-run converges).
func (w *Watcher) Run(ctx context.Context) error {
	w.mu.Lock()
	w.started = w.cfg.Now()
	w.mu.Unlock()
	for {
		w.Cycle(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err := w.cfg.Wait(ctx, w.nextWait()); err != nil {
			return nil
		}
	}
}

// nextWait is the interval with its jitter, within ±Jitter of it.
func (w *Watcher) nextWait() time.Duration {
	d := w.cfg.Interval
	if j := w.cfg.Jitter; j > 0 {
		d += time.Duration((rand.Float64()*2 - 1) * j * float64(d))
	}
	return d
}

// Cycle checks every target once.
func (w *Watcher) Cycle(ctx context.Context) {
	for _, t := range w.cfg.Targets {
		if ctx.Err() != nil {
			// Stopped: what was not checked is not a failure.
			break
		}
		start := w.cfg.Now()
		checkCtx, cancel := context.WithTimeout(ctx, w.cfg.CheckTimeout)
		res, err := w.check(checkCtx, t)
		cancel()
		if ctx.Err() != nil {
			break
		}
		w.record(t.Name, start, res, err)
	}
	w.mu.Lock()
	w.cycles++
	n := w.cycles
	w.lastEnd = w.cfg.Now()
	w.mu.Unlock()
	w.metrics.cycles.Inc()
	if w.cfg.Cycled != nil {
		w.cfg.Cycled(n)
	}
}

// checkResult is one target's check.
type checkResult struct {
	plan       *diff.Plan
	remediated int
}

// check plans one target and, with remediation, applies its creates and
// updates, then plans again to show what is left (deletes, failures).
func (w *Watcher) check(ctx context.Context, t Target) (checkResult, error) {
	in, err := t.Read(w.cfg.Remediate)
	if err != nil {
		return checkResult{}, err
	}
	c := in.Client
	pl, err := apply.Plan(ctx, c, in.File, in.Plan, nil)
	if err != nil {
		return checkResult{}, err
	}
	if !w.cfg.Remediate || !remediable(pl.Plan) {
		return checkResult{plan: pl.Plan}, nil
	}
	opts := apply.SyncOptions{PlanOptions: in.Plan, Holder: w.cfg.Holder, MaxDuration: w.cfg.CheckTimeout,
		Apply: apply.Options{Parallelism: w.cfg.Parallelism},
		Warn:  func(msg string) { w.cfg.Logger.Warn(w.cfg.Scrub(msg), "control_plane", t.Name) }}
	opts.Plan.NoDeletes, opts.Plan.NoDeletesWhy = true, "kvsync watch --remediate never deletes"
	res, syncErr := apply.Sync(ctx, c, in.File, opts)
	n := 0
	if res != nil {
		n = w.logRemediation(t.Name, res)
	}
	if syncErr != nil {
		return checkResult{remediated: n}, &remediationError{syncErr}
	}
	// The plan after remediation, from the inputs as they are now (the
	// sum records what was written).
	if in, err = t.Read(false); err != nil {
		return checkResult{remediated: n}, err
	}
	after, err := apply.Plan(ctx, in.Client, in.File, in.Plan, nil)
	if err != nil {
		return checkResult{remediated: n}, err
	}
	return checkResult{plan: after.Plan, remediated: n}, nil
}

// remediable: the plan creates or updates something.
func remediable(p *diff.Plan) bool {
	for _, ch := range p.Changes {
		if ch.Action != diff.Delete {
			return true
		}
	}
	return false
}

// logRemediation logs and counts each change a remediation applied or
// failed; it returns how many succeeded.
func (w *Watcher) logRemediation(plane string, res *apply.SyncResult) int {
	n := 0
	for _, r := range res.Report.Results {
		ch := r.Change
		attrs := []any{"control_plane", plane, "kind", string(ch.Kind), "action", string(ch.Action), "name", ch.Headline(), "reason", string(ch.Reason)}
		if r.Status == diff.Succeeded {
			n++
			w.cfg.Logger.Info("remediated", attrs...)
		} else {
			msg := string(r.Status)
			if r.Err != nil {
				msg = w.cfg.Scrub(r.Err.Error())
			}
			w.cfg.Logger.Warn("remediation failed", append(attrs, "error", msg)...)
		}
		w.metrics.remediations.WithLabelValues(plane, string(ch.Kind), string(ch.Action), string(r.Status)).Inc()
	}
	return n
}

// record keeps a check's outcome for the metrics, the status page and the
// log.
func (w *Watcher) record(name string, start time.Time, res checkResult, err error) {
	end := w.cfg.Now()
	took := end.Sub(start)
	w.mu.Lock()
	st := w.planes[name]
	st.Checked, st.Remediated = end, res.remediated
	if err != nil {
		st.Err = w.cfg.Scrub(err.Error())
	} else {
		st.Err, st.Succeeded, st.Plan, st.InSync = "", end, res.plan, res.plan.Empty()
	}
	env := st.Environment
	w.mu.Unlock()
	w.metrics.observe(name, end, took, res.plan, err)
	log := w.cfg.Logger.With("control_plane", name)
	if env != "" {
		log = log.With("environment", env)
	}
	log = log.With("duration_ms", took.Milliseconds())
	if err != nil {
		log.Error("check failed", "error", w.cfg.Scrub(err.Error()), "remediated", res.remediated)
		return
	}
	s := res.plan.Summary()
	log.Info("checked", "in_sync", res.plan.Empty(), "create", s.Create, "update", s.Update, "delete", s.Delete,
		"remediated", res.remediated)
}

// Status returns a copy of what the watcher knows, in the targets' order.
func (w *Watcher) Status() []PlaneStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]PlaneStatus, 0, len(w.cfg.Targets))
	for _, t := range w.cfg.Targets {
		out = append(out, *w.planes[t.Name])
	}
	return out
}

// Ready: every target has been checked once (whatever the outcome).
func (w *Watcher) Ready() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, st := range w.planes {
		if st.Checked.IsZero() {
			return false
		}
	}
	return true
}

// Alive: the loop is turning: the last cycle ended (or the watcher
// started) less than two intervals plus every check's timeout ago.
func (w *Watcher) Alive() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	last := w.lastEnd
	if last.IsZero() {
		last = w.started
	}
	if last.IsZero() {
		return true
	}
	return w.cfg.Now().Sub(last) < 2*w.cfg.Interval+time.Duration(len(w.cfg.Targets))*w.cfg.CheckTimeout
}

// state is a target's state in a word, for the page.
func (s PlaneStatus) state() string {
	switch {
	case s.Checked.IsZero():
		return "pending"
	case s.Err != "":
		return "failing"
	case s.InSync:
		return "in sync"
	}
	return "drifted"
}

// failureClasses are errorClass's answers.
var failureClasses = []string{"unreachable", "unauthorized", "timeout", "remediation", "invalid_file", "error"}

// errorClass names why a check failed, for a label: a closed set
// (failureClasses), never the error's text.
func errorClass(err error) string {
	switch {
	case errors.Is(err, konnect.ErrUnreachable):
		return "unreachable"
	case konnect.IsUnauthorized(err):
		return "unauthorized"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	var rem *remediationError
	if errors.As(err, &rem) {
		return "remediation"
	}
	var located *state.Problems
	if errors.As(err, &located) {
		return "invalid_file"
	}
	return "error"
}

// remediationError: a remediation did not complete (the lock was held,
// the plan moved, a write failed).
type remediationError struct{ err error }

func (e *remediationError) Error() string { return "remediation: " + e.err.Error() }
func (e *remediationError) Unwrap() error { return e.err }
