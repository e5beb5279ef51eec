package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/go-multierror"
	"github.com/urfave/cli/v2"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/render"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

func flags(groups ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func (p *program) diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Aliases:   []string{"plan"},
		Usage:     "show the changes sync would make (plan is the same command)",
		ArgsUsage: "[FILE...] (default kvsync.yaml; - reads standard input)",
		Flags: flags(connectionFlags(), []cli.Flag{selectTagFlag()}, outputFlags(), valueFlags(), envFlags(), environmentFlags(), []cli.Flag{
			&cli.BoolFlag{Name: flagExitCode, Aliases: []string{"non-zero-exit-code"},
				Usage: "exit 2 when there are changes, 3 when there are none but values were not compared (0 in sync, 1 error)", EnvVars: []string{"KVSYNC_EXIT_CODE"}},
			&cli.StringFlag{Name: flagOut, Usage: "save the plan to `FILE` for review, to apply later with sync --plan"},
		}),
		Action: func(c *cli.Context) error {
			f, err := p.format(c)
			if err != nil {
				return err
			}
			if path := environmentsPath(c); path != "" {
				return p.diffEnvironments(c, path, f)
			}
			values, stop, pl, err := p.planFiles(c, false, false)
			if err != nil {
				return err
			}
			defer stop()
			if out := c.String(flagOut); out != "" {
				if err := savePlan(out, pl, values); err != nil {
					return err
				}
			}
			if err := render.Plan(p.stdout, pl.Plan, f, render.Options{Color: useColor(c, p.stdout, f)}); err != nil {
				return err
			}
			p.jsonWritten = f == render.JSON
			if err := p.stepSummary(pl.Plan, nil); err != nil {
				return err
			}
			switch {
			case !c.Bool(flagExitCode):
			case !pl.Plan.Empty():
				return errChangesPending
			case pl.Plan.NotCompared > 0:
				return errNotCompared
			}
			return nil
		},
	}
}

// savePlan writes the plan and the fingerprints of what it read, keyed as
// kvsync.sum's values are (with --no-sum, by a fresh salt of its own).
func savePlan(path string, pl *apply.Planned, values *planInputs) error {
	keying := values.file
	if keying == nil {
		keying = sum.New([]byte(os.Getenv(sum.EnvKey)))
	}
	var buf bytes.Buffer
	if err := diff.Save(&buf, pl.Plan, diff.TakeFingerprints(pl.Live, pl.Plan, keying), keying); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--%s: %w", flagOut, err)
	}
	return nil
}

func (p *program) syncCommand() *cli.Command {
	return p.applyingCommand("sync", "apply the changes: make the control plane match the files", false)
}

func (p *program) applyCommand() *cli.Command {
	return p.applyingCommand("apply", "create and update only: like sync, but never delete", true)
}

// deleteFlags: --yes, for the command that deletes (apply never does, so
// its help does not offer it).
func deleteFlags(noDeletes bool) []cli.Flag {
	if noDeletes {
		return nil
	}
	return []cli.Flag{&cli.BoolFlag{Name: flagYes, Aliases: []string{"y"}, Usage: "consent to the plan's deletes: on a terminal, do not ask; without one, apply them (without --yes or --plan they are left out, exit 4)", EnvVars: []string{"KVSYNC_YES"}}}
}

// applyingCommand is sync, or apply (no deletes).
func (p *program) applyingCommand(name, usage string, noDeletes bool) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "[FILE...] (default kvsync.yaml; - reads standard input)",
		Flags: flags(connectionFlags(), []cli.Flag{selectTagFlag(), parallelismFlag()}, outputFlags(), valueFlags(), envFlags(), environmentFlags(), []cli.Flag{
			&cli.StringFlag{Name: flagPlan, Usage: "apply the reviewed changes saved in `FILE` (diff --out) and nothing else, if they still hold: same changes, depending on the same live objects and values"},
			recordOnlyFlag(),
		}, deleteFlags(noDeletes)),
		Action: func(c *cli.Context) error {
			if c.Bool(flagAllowMissingEnv) {
				return fmt.Errorf("%s refuses --%s: it would write values nobody knows (use it with diff, to review without the secrets)", name, flagAllowMissingEnv)
			}
			f, err := p.format(c)
			if err != nil {
				return err
			}
			if c.Bool(flagRecordOnly) {
				if environmentsPath(c) != "" {
					return fmt.Errorf("--%s works on one control plane, not with --%s: run it with an environment's files, its control plane and --%s kvsync.NAME.sum", flagRecordOnly, flagEnvironments, flagSum)
				}
				return p.recordOnly(c, f, noDeletes)
			}
			workers, err := parallelism(c)
			if err != nil {
				return err
			}
			if path := environmentsPath(c); path != "" {
				return p.syncEnvironments(c, path, f, noDeletes, workers)
			}
			var reviewed *diff.SavedPlan
			if path := c.String(flagPlan); path != "" {
				if reviewed, err = readSavedPlan(path); err != nil {
					return err
				}
			}
			file, err := loadFiles(c, p.stdin)
			if err != nil {
				return err
			}
			values, err := p.readPlanInputs(c, true)
			if err != nil {
				return err
			}
			s, err := p.readSettings(c)
			if err != nil {
				return err
			}
			ctx, stop := p.runContext(s.maxDuration)
			defer stop()
			leaveOut := ""
			if noDeletes {
				leaveOut = applyNeverDeletes
			} else if !p.deleteConsent(c, reviewed != nil) {
				leaveOut = noConsentWhy
			}
			planOpts, err := planOptions(s, file, values, leaveOut)
			if err != nil {
				return err
			}
			client, err := s.client()
			if err != nil {
				return err
			}
			color := useColor(c, p.stdout, f)
			var prog *progress
			opts := apply.SyncOptions{
				PlanOptions:    planOpts,
				Reviewed:       reviewed,
				FingerprintKey: []byte(os.Getenv(sum.EnvKey)),
				LockAfterPlan:  !c.Bool(flagYes) && p.interactive(), // confirmDeletes may ask
				MaxDuration:    s.maxDuration,
				Apply:          apply.Options{Parallelism: workers, OnResult: func(r diff.Result) { prog.update(r) }},
				Planned: func(pl *apply.Planned) error {
					if f != render.JSON {
						if err := render.Plan(p.stdout, pl.Plan, f, render.Options{Color: color}); err != nil {
							return err
						}
					}
					if err := p.confirmDeletes(c, pl.Plan, f != render.JSON); err != nil {
						return err
					}
					prog = newProgress(p.stderr, len(pl.Plan.Changes), showProgress(p.stderr, f), p.scrub)
					return nil
				},
				Warn:   func(msg string) { fmt.Fprintln(p.stderr, "Warning: "+p.scrub(msg)) },
				Locked: func(release func() error) func() { return p.atQuit(func() { _ = release() }) },
			}
			res, runErr := apply.Sync(ctx, client, file, opts)
			if prog != nil {
				prog.done()
			}
			if res == nil || res.SumErr != nil {
				return targetError(s, file, runErr)
			}
			if err := render.Report(p.stdout, res.Planned.Plan, res.Report, f, render.Options{Color: color, Scrub: p.scrub}); err != nil {
				return err
			}
			p.jsonWritten = f == render.JSON
			if err := p.stepSummary(res.Planned.Plan, res.Report); err != nil {
				return multierror.Append(runErr, err)
			}
			if runErr == nil && leaveOut == noConsentWhy && res.Planned.Plan.LeftOut > 0 {
				return &deletesLeftOut{n: res.Planned.Plan.LeftOut}
			}
			return runErr
		},
	}
}

// confirmDeletes asks, on a terminal, before a plan that deletes anything
// runs; --yes skips the question, and without a terminal there is none (as
// with Terraform and kongctl).
func (p *program) confirmDeletes(c *cli.Context, plan *diff.Plan, shown bool) error {
	deletes := 0
	var forced []string
	for _, ch := range plan.Changes {
		if ch.Action == diff.Delete {
			deletes++
			if ch.ForceSecrets > 0 {
				forced = append(forced, fmt.Sprintf("config store %s: %s", ch.Name, ch.ForceText()))
			}
		}
	}
	if deletes == 0 || c.Bool(flagYes) || !p.interactive() {
		return nil
	}
	if !shown {
		// -o json prints its document at the end: the person asked
		// must still see what the plan deletes.
		if err := render.Plan(p.stderr, plan, render.Text, render.Options{}); err != nil {
			return err
		}
	}
	question := fmt.Sprintf("\nThis deletes %d entit%s from control plane %s", deletes, map[bool]string{true: "y", false: "ies"}[deletes == 1], plan.ControlPlane.Name)
	if len(forced) > 0 {
		question += " (" + strings.Join(forced, "; ") + ")"
	}
	fmt.Fprint(p.stderr, question+". Apply the plan? [y/N] ")
	answer, _ := bufio.NewReader(p.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return errors.New("nothing applied: the deletes were not confirmed (--yes applies without asking)")
}

func readSavedPlan(path string) (*diff.SavedPlan, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagPlan, err)
	}
	defer fh.Close()
	s, err := diff.ReadSaved(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (p *program) unlockCommand() *cli.Command {
	return &cli.Command{
		Name:      "unlock",
		Usage:     "remove the control plane's lock that a kvsync run ended without releasing",
		ArgsUsage: "[FILE...] (for the control plane's name; default kvsync.yaml)",
		Flags:     connectionFlags(),
		Action: func(c *cli.Context) error {
			s, err := p.readSettings(c)
			if err != nil {
				return err
			}
			cpRef := s.controlPlane
			if cpRef == "" {
				file, err := loadFiles(c, p.stdin)
				if err != nil {
					return err
				}
				cpRef = file.ControlPlaneName
			}
			if cpRef == "" {
				return fmt.Errorf("unlock needs a control plane: pass --%s or name it in the file", flagControlPlane)
			}
			client, err := s.client()
			if err != nil {
				return err
			}
			ctx, stop := p.runContext(s.maxDuration)
			defer stop()
			cp, err := client.ControlPlanes.Resolve(ctx, cpRef)
			if err != nil {
				return fmt.Errorf("control plane %q: %w", cpRef, err)
			}
			if err := apply.Unlock(ctx, client, *cp); err != nil {
				return err
			}
			fmt.Fprintf(p.stdout, "Control plane %s is unlocked.\n", cp.Name)
			return nil
		},
	}
}

func (p *program) showCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "render a plan saved with diff --out",
		ArgsUsage: "PLAN-FILE",
		Flags:     outputFlags(),
		Action: func(c *cli.Context) error {
			f, err := p.format(c)
			if err != nil {
				return err
			}
			if c.NArg() != 1 {
				return fmt.Errorf("show takes one saved plan file")
			}
			path := c.Args().First()
			if set, order, err := readSavedSet(path); err == nil {
				var secs []render.Section
				for _, name := range order {
					secs = append(secs, render.Section{Name: name, Plan: set[name].Plan})
				}
				return render.Environments(p.stdout, secs, false, f, render.Options{Color: useColor(c, p.stdout, f)})
			}
			saved, err := readSavedPlan(path)
			if err != nil {
				return err
			}
			return render.Plan(p.stdout, saved.Plan, f, render.Options{Color: useColor(c, p.stdout, f)})
		},
	}
}

// stepSummary appends the Markdown plan (and the sync's results) to the
// GitHub Actions job summary, when there is one. The summary is published
// with the run, so its error texts are scrubbed like the terminal's.
func (p *program) stepSummary(plan *diff.Plan, rep *diff.Report) error {
	path := os.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	var buf bytes.Buffer
	if err := render.Plan(&buf, plan, render.Markdown, render.Options{Scrub: p.scrub}); err != nil {
		return err
	}
	if rep != nil {
		if err := render.Report(&buf, plan, rep, render.Markdown, render.Options{Scrub: p.scrub}); err != nil {
			return err
		}
	}
	return appendStepSummary(path, buf.Bytes())
}

// appendStepSummary appends a Markdown text to the job summary file.
func appendStepSummary(path string, md []byte) error {
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	_, err = fh.Write(append(md, '\n'))
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

func (p *program) validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check files offline, or with --online against the control plane (read-only)",
		ArgsUsage: "[FILE...] (default kvsync.yaml; - reads standard input)",
		Flags: flags([]cli.Flag{
			&cli.BoolFlag{Name: flagOnline, Usage: "also resolve the control plane, routes, services and vault references, and check configs against the live plugin schemas"},
			selectTagFlag(),
		}, connectionFlags(), envFlags()),
		Action: func(c *cli.Context) error {
			file, err := loadFiles(c, p.stdin)
			if err != nil {
				return err
			}
			names := c.Args().Slice()
			if len(names) == 0 {
				names = []string{defaultFile}
			}
			what := strings.Join(names, ", ")
			if !c.Bool(flagOnline) {
				undeclared := state.Undeclared(file)
				for _, pr := range undeclared {
					fmt.Fprintf(p.stderr, "Warning: %s (--online checks it against the control plane; env, aws, gcp, hcv, azure and conjur are built in)\n", pr.Error())
				}
				if len(undeclared) > 0 {
					fmt.Fprintf(p.stdout, "%s: valid offline, %d reference%s checked only online (--online).\n", what, len(undeclared), diff.Plural(len(undeclared)))
					return nil
				}
				fmt.Fprintf(p.stdout, "%s: valid (offline; --online also checks against the control plane).\n", what)
				return nil
			}
			_, stop, pl, err := p.planOnline(c, file, nil, "")
			if err != nil {
				return err
			}
			defer stop()
			fmt.Fprintf(p.stdout, "%s: valid against control plane %s (%s).\n", what, pl.Plan.ControlPlane.Name, changesSummary(pl.Plan))
			return nil
		},
	}
}

func changesSummary(p *diff.Plan) string {
	if p.Empty() {
		return "in sync"
	}
	s := p.Summary()
	return fmt.Sprintf("sync would make %d create, %d update, %d delete", s.Create, s.Update, s.Delete)
}

// planFiles loads the command's files, reads kvsync.sum and the plan flags
// (writes: the run may write the sum), and computes the plan online; the
// caller defers stop.
func (p *program) planFiles(c *cli.Context, writes, noDeletes bool) (*planInputs, func(), *apply.Planned, error) {
	file, err := loadFiles(c, p.stdin)
	if err != nil {
		return nil, nil, nil, err
	}
	values, err := p.readPlanInputs(c, writes)
	if err != nil {
		return nil, nil, nil, err
	}
	leaveOut := ""
	if noDeletes {
		leaveOut = applyNeverDeletes
	}
	_, stop, pl, err := p.planOnline(c, file, values, leaveOut)
	if err != nil {
		return nil, nil, nil, err
	}
	return values, stop, pl, nil
}
