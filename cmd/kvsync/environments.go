package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/go-multierror"
	"github.com/urfave/cli/v2"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/render"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// errSomeEnvironmentsFailed ends a run over environments in which some
// failed and the others were planned or applied: exit 5 (4 is main's "deletes left out").
type errSomeEnvironmentsFailed struct{ failed, ok []string }

func (e *errSomeEnvironmentsFailed) Error() string {
	return fmt.Sprintf("environment%s %s failed (see above); %s completed", map[bool]string{true: "", false: "s"}[len(e.failed) == 1],
		strings.Join(e.failed, ", "), strings.Join(e.ok, ", "))
}

func environmentFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagEnvironments, Usage: "plan or sync the environments of this `FILE` (" + state.EnvironmentsFileName + "), each its own control plane" + envHint("KVSYNC_ENVIRONMENTS")},
		&cli.StringSliceFlag{Name: flagEnv, Usage: "only this environment (`NAME`, repeatable; default every one; a variable holds a comma-separated list)" + envHint("KVSYNC_ENV")},
	}
}

// environmentsPath is --environments, or "".
func environmentsPath(c *cli.Context) string {
	return strings.TrimSpace(setting(c, flagEnvironments, "KVSYNC_ENVIRONMENTS"))
}

// envRun is one environment of a run: its inputs, then its outcome.
type envRun struct {
	env      *state.Environment
	s        *settings
	file     *state.File
	values   *planInputs
	opts     apply.PlanOptions
	client   *konnect.Client
	reviewed *diff.SavedPlan

	planned *apply.Planned
	report  *diff.Report
	err     error
}

// prepareEnvironments reads the environments file and, for each selected
// environment, its files, values and kvsync.sum, all before any request:
// a problem in any environment stops the run with nothing planned or
// applied. Environments at the same address share one client, so that
// one pacer paces the organisation's requests.
func (p *program) prepareEnvironments(c *cli.Context, path string, writes bool, leaveOut string) ([]*envRun, *settings, error) {
	if c.NArg() > 0 {
		return nil, nil, fmt.Errorf("--%s takes the state files from %s: give no FILE arguments", flagEnvironments, path)
	}
	if setting(c, flagSum, "KVSYNC_SUM") != "" {
		return nil, nil, fmt.Errorf("--%s: each environment has its own kvsync.sum (sum: in %s)", flagSum, path)
	}
	s, err := p.readSettings(c)
	if err != nil {
		return nil, nil, err
	}
	if s.controlPlane != "" {
		return nil, nil, fmt.Errorf("control plane %q (from %s) with --%s: each environment names its control plane in %s", s.controlPlane, s.controlPlaneFrom, flagEnvironments, path)
	}
	es, err := state.LoadEnvironments(path)
	if err != nil {
		return nil, nil, err
	}
	names := c.StringSlice(flagEnv)
	if !c.IsSet(flagEnv) {
		for _, n := range strings.Split(os.Getenv("KVSYNC_ENV"), ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	selected, err := es.Select(names)
	if err != nil {
		return nil, nil, err
	}
	var problems *multierror.Error
	clients := map[string]*konnect.Client{}
	var runs []*envRun
	for _, e := range selected {
		r, err := p.prepareEnvironment(c, s, es.Path, e, writes, leaveOut)
		if err != nil {
			for _, pr := range p.problemsOf(err) {
				problems = multierror.Append(problems, fmt.Errorf("environment %s: %s", e.Name, pr.text))
			}
			continue
		}
		if r.client = clients[r.s.addr]; r.client == nil {
			if r.client, err = r.s.client(); err != nil {
				return nil, nil, err
			}
			clients[r.s.addr] = r.client
		}
		runs = append(runs, r)
	}
	if err := problems.ErrorOrNil(); err != nil {
		return nil, nil, err
	}
	return runs, s, nil
}

func (p *program) prepareEnvironment(c *cli.Context, s *settings, path string, e *state.Environment, writes bool, leaveOut string) (*envRun, error) {
	es := *s
	es.controlPlane, es.controlPlaneFrom = e.ControlPlane, fmt.Sprintf("%s, environment %s", path, e.Name)
	switch {
	case e.Address != "":
		es.addr, es.addrFrom = e.Address, es.controlPlaneFrom
	case e.Region != "":
		addr, err := konnect.RegionBaseURL(e.Region)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Pos, err)
		}
		es.addr, es.addrFrom = addr, es.controlPlaneFrom
	}
	warning, err := checkAddr(es.addr, es.addrFrom, es.allowHTTP)
	if err != nil {
		return nil, err
	}
	if warning != "" && es.addr != s.addr {
		p.warnOnce("environment " + e.Name + ": " + warning)
	}
	opts := loadOptions(c)
	opts.Stdin = p.stdin
	opts.LookupEnv, opts.PublicEnv = e.LookupEnv(os.LookupEnv), e.PublicEnv
	// The environment's secrets never show in a message.
	for _, v := range e.Variables {
		p.keepSecret(os.Getenv(v))
	}
	file, err := state.Load(e.Files, opts)
	if err != nil {
		return nil, err
	}
	values, err := p.readPlanInputsAt(c, writes, e.Sum)
	if err != nil {
		return nil, err
	}
	planOpts, err := planOptions(&es, file, values, leaveOut)
	if err != nil {
		return nil, err
	}
	return &envRun{env: e, s: &es, file: file, values: values, opts: planOpts}, nil
}

// each runs fn for every environment at once and waits for all: a failure
// in one never stops another.
func each(runs []*envRun, fn func(r *envRun)) {
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(r)
		}()
	}
	wg.Wait()
}

func sections(runs []*envRun) []render.Section {
	var out []render.Section
	for _, r := range runs {
		sec := render.Section{Name: r.env.Name, Report: r.report, Err: r.err}
		if r.planned != nil {
			sec.Plan = r.planned.Plan
		}
		out = append(out, sec)
	}
	return out
}

// outcome is the run's exit: nil when every environment completed,
// errSomeEnvironmentsFailed (exit 5) when some failed, and an error (exit
// 1) when all did.
func outcome(runs []*envRun) error {
	var failed, ok []string
	for _, r := range runs {
		if r.err != nil {
			failed = append(failed, r.env.Name)
		} else {
			ok = append(ok, r.env.Name)
		}
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(ok) == 0:
		return fmt.Errorf("every environment failed (%s): see each one's error above", strings.Join(failed, ", "))
	}
	return &errSomeEnvironmentsFailed{failed: failed, ok: ok}
}

// diffEnvironments is diff --environments: every plan at once, one
// rendering, one exit code (errors win over changes pending).
func (p *program) diffEnvironments(c *cli.Context, path string, f render.Format) error {
	runs, s, err := p.prepareEnvironments(c, path, false, "")
	if err != nil {
		return err
	}
	ctx, stop := p.runContext(s.maxDuration)
	defer stop()
	each(runs, func(r *envRun) {
		r.planned, r.err = apply.Plan(ctx, r.client, r.file, r.opts, nil)
		r.err = targetError(r.s, r.file, r.err)
	})
	if out := c.String(flagOut); out != "" {
		if err := saveEnvironmentPlans(out, runs); err != nil {
			return err
		}
	}
	secs := sections(runs)
	if err := render.Environments(p.stdout, secs, false, f, render.Options{Color: useColor(c, p.stdout, f), Scrub: p.scrub}); err != nil {
		return err
	}
	p.jsonWritten = f == render.JSON
	if err := p.environmentsSummary(secs, false); err != nil {
		return err
	}
	if err := outcome(runs); err != nil {
		return err
	}
	if c.Bool(flagExitCode) {
		notCompared := false
		for _, r := range runs {
			if !r.planned.Plan.Empty() {
				return errChangesPending
			}
			notCompared = notCompared || r.planned.Plan.NotCompared > 0
		}
		if notCompared {
			return errNotCompared
		}
	}
	return nil
}

// saveEnvironmentPlans writes every environment's saved plan in one file,
// each keyed as its kvsync.sum; only when every environment was planned.
func saveEnvironmentPlans(path string, runs []*envRun) error {
	var envs []diff.SavedEnvironment
	for _, r := range runs {
		if r.err != nil {
			return fmt.Errorf("--%s: not written: environment %s could not be planned", flagOut, r.env.Name)
		}
		keying := r.values.file
		if keying == nil {
			keying = sum.New([]byte(os.Getenv(sum.EnvKey)))
		}
		var buf bytes.Buffer
		if err := diff.Save(&buf, r.planned.Plan, diff.TakeFingerprints(r.planned.Live, r.planned.Plan, keying), keying); err != nil {
			return fmt.Errorf("environment %s: %w", r.env.Name, err)
		}
		envs = append(envs, diff.SavedEnvironment{Name: r.env.Name, Saved: bytes.TrimSpace(buf.Bytes())})
	}
	var buf bytes.Buffer
	if err := diff.SaveSet(&buf, envs); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--%s: %w", flagOut, err)
	}
	return nil
}

// syncEnvironments is sync (or apply) --environments: each environment's
// sync workflow (apply.Sync: plan, verify the reviewed plan, lock,
// re-plan, apply, record its kvsync.sum) at once, under the shared
// client's one pacer; a failure in one never stops another.
func (p *program) syncEnvironments(c *cli.Context, path string, f render.Format, noDeletes bool, workers int) error {
	var reviewed map[string]*diff.SavedPlan
	if planPath := c.String(flagPlan); planPath != "" {
		var err error
		if reviewed, _, err = readSavedSet(planPath); err != nil {
			return err
		}
	}
	// Deletes need consent, as in a single run.
	leaveOut := ""
	if noDeletes {
		leaveOut = applyNeverDeletes
	} else if !p.deleteConsent(c, reviewed != nil) {
		leaveOut = noConsentWhy
	}
	runs, s, err := p.prepareEnvironments(c, path, true, leaveOut)
	if err != nil {
		return err
	}
	ctx, stop := p.runContext(s.maxDuration)
	defer stop()
	var ask sync.Mutex
	// --parallelism bounds the run's operations in flight, over every
	// environment: one machine, one organisation.
	slots := apply.NewSlots(workers)
	each(runs, func(r *envRun) {
		name := r.env.Name
		if reviewed != nil {
			if r.reviewed = reviewed[name]; r.reviewed == nil {
				r.err = fmt.Errorf("environment %s is not in the reviewed plan file: nothing applied to it", name)
				return
			}
		}
		var prog *progress
		opts := apply.SyncOptions{
			PlanOptions:    r.opts,
			Reviewed:       r.reviewed,
			FingerprintKey: []byte(os.Getenv(sum.EnvKey)),
			LockAfterPlan:  !c.Bool(flagYes) && p.interactive(), // confirmDeletes may ask
			MaxDuration:    s.maxDuration,
			Apply:          apply.Options{Parallelism: workers, Slots: slots, OnResult: func(res diff.Result) { prog.update(res) }},
			Planned: func(pl *apply.Planned) error {
				ask.Lock()
				defer ask.Unlock()
				if err := p.confirmDeletes(c, pl.Plan, false); err != nil {
					return err
				}
				prog = newProgress(&prefixWriter{w: p.stderr, prefix: "[" + name + "] "}, len(pl.Plan.Changes), false, p.scrub)
				return nil
			},
			Warn:   func(msg string) { fmt.Fprintln(p.stderr, "Warning: environment "+name+": "+p.scrub(msg)) },
			Locked: func(release func() error) func() { return p.atQuit(func() { _ = release() }) },
		}
		res, err := apply.Sync(ctx, r.client, r.file, opts)
		if prog != nil {
			prog.done()
		}
		r.err = targetError(r.s, r.file, err)
		if res != nil {
			r.planned, r.report = res.Planned, res.Report
		}
	})
	secs := sections(runs)
	if err := render.Environments(p.stdout, secs, true, f, render.Options{Color: useColor(c, p.stdout, f), Scrub: p.scrub}); err != nil {
		return err
	}
	p.jsonWritten = f == render.JSON
	if err := p.environmentsSummary(secs, true); err != nil {
		return multierror.Append(outcome(runs), err)
	}
	if err := outcome(runs); err != nil {
		return err
	}
	leftOut := 0
	for _, r := range runs {
		leftOut += r.planned.Plan.LeftOut
	}
	if leaveOut == noConsentWhy && leftOut > 0 {
		return &deletesLeftOut{n: leftOut}
	}
	return nil
}

// environmentsSummary appends the run's Markdown to the GitHub Actions job
// summary, when there is one.
func (p *program) environmentsSummary(secs []render.Section, sync bool) error {
	path := os.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	var buf bytes.Buffer
	if err := render.Environments(&buf, secs, sync, render.Markdown, render.Options{Scrub: p.scrub}); err != nil {
		return err
	}
	return appendStepSummary(path, buf.Bytes())
}

// prefixWriter starts every line with prefix (an environment's name in
// the progress lines of a run over several).
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (pw *prefixWriter) Write(b []byte) (int, error) {
	lines := strings.SplitAfter(string(b), "\n")
	var out strings.Builder
	for _, l := range lines {
		if l != "" {
			out.WriteString(pw.prefix + l)
		}
	}
	if _, err := io.WriteString(pw.w, out.String()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// readSavedSet reads the saved plans of environments (diff
// --environments --out).
func readSavedSet(path string) (map[string]*diff.SavedPlan, []string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--%s: %w", flagPlan, err)
	}
	defer fh.Close()
	set, order, err := diff.ReadSavedSet(fh)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return set, order, nil
}
