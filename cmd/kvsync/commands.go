package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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
		Flags: flags(connectionFlags(), []cli.Flag{selectTagFlag()}, outputFlags(), valueFlags(), envFlags(), []cli.Flag{
			&cli.BoolFlag{Name: flagExitCode, Aliases: []string{"non-zero-exit-code"},
				Usage: "exit 2 when there are changes, 3 when there are none but values were not compared (0 in sync, 1 error)", EnvVars: []string{"KVSYNC_EXIT_CODE"}},
			&cli.StringFlag{Name: flagOut, Usage: "save the plan to `FILE` for review, to apply later with sync --plan"},
		}),
		Action: func(c *cli.Context) error {
			f, err := p.format(c)
			if err != nil {
				return err
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
			if err := render.Plan(p.stdout, pl.plan, f, render.Options{Color: useColor(c, p.stdout, f)}); err != nil {
				return err
			}
			p.jsonWritten = f == render.JSON
			if err := p.stepSummary(pl.plan, nil); err != nil {
				return err
			}
			switch {
			case !c.Bool(flagExitCode):
			case !pl.plan.Empty():
				return errChangesPending
			case pl.plan.NotCompared > 0:
				return errNotCompared
			}
			return nil
		},
	}
}

// savePlan writes the plan and the fingerprints of what it read, keyed as
// kvsync.sum's values are (with --no-sum, by a fresh salt of its own).
func savePlan(path string, pl *planned, values *planInputs) error {
	keying := values.file
	if keying == nil {
		keying = sum.New([]byte(os.Getenv(sum.EnvKey)))
	}
	var buf bytes.Buffer
	if err := diff.Save(&buf, pl.plan, diff.TakeFingerprints(pl.live, pl.plan, keying), keying); err != nil {
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
	return []cli.Flag{&cli.BoolFlag{Name: flagYes, Aliases: []string{"y"}, Usage: "do not ask before deleting (kvsync asks only on a terminal)", EnvVars: []string{"KVSYNC_YES"}}}
}

// applyingCommand is sync, or apply (no deletes).
func (p *program) applyingCommand(name, usage string, noDeletes bool) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "[FILE...] (default kvsync.yaml; - reads standard input)",
		Flags: flags(connectionFlags(), []cli.Flag{selectTagFlag(), parallelismFlag()}, outputFlags(), valueFlags(), envFlags(), []cli.Flag{
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
				return p.recordOnly(c, f, noDeletes)
			}
			workers, err := parallelism(c)
			if err != nil {
				return err
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
			ctx, stop, pl, err := p.planOnline(c, file, values, noDeletes)
			if err != nil {
				return err
			}
			defer stop()
			if reviewed != nil {
				if err := keepReviewed(reviewed, pl); err != nil {
					return err
				}
			}
			color := useColor(c, p.stdout, f)
			if f != render.JSON {
				if err := render.Plan(p.stdout, pl.plan, f, render.Options{Color: color}); err != nil {
					return err
				}
			}
			if err := p.confirmDeletes(c, pl.plan, f != render.JSON); err != nil {
				return err
			}
			if !pl.plan.Empty() {
				// Writes happen under the control plane's lock, from a
				// plan made under it (two runs never both create), which
				// must be the plan shown.
				unlock, err := apply.LockTakingOver(ctx, pl.client, pl.plan.ControlPlane, apply.Holder(), pl.settings.maxDuration, func(le *apply.LockedError) {
					fmt.Fprintf(p.stderr, "Warning: took over the lock of control plane %s left by %s: that run has ended\n", le.ControlPlane, le.Holder)
				})
				if err != nil {
					return err
				}
				defer func() {
					if uerr := unlock(); uerr != nil {
						fmt.Fprintln(p.stderr, "Warning: "+p.scrub(uerr.Error()))
					}
				}()
				shown := pl.plan
				if pl, err = computePlan(ctx, pl.settings, file, values, noDeletes, pl); err != nil {
					return err
				}
				if reviewed != nil {
					if err := keepReviewed(reviewed, pl); err != nil {
						return err
					}
				}
				if !samePlan(shown, pl.plan) {
					return errors.New("the control plane changed while kvsync took its lock (another run, most likely): nothing was applied; run again to see the new plan")
				}
			}
			var rep *apply.Report
			var runErr error
			if !pl.plan.Empty() {
				prog := newProgress(p.stderr, len(pl.plan.Changes), showProgress(p.stderr, f), p.scrub)
				rep, runErr = apply.Apply(ctx, pl.client, pl.plan, apply.Options{Parallelism: workers, OnResult: prog.update})
				prog.done()
				if rep == nil {
					return runErr
				}
			} else {
				rep = &apply.Report{}
			}
			// Whatever happened, the sum records exactly what was written.
			if values.file != nil {
				diff.RecordSum(values.file, pl.plan, rep.Succeeded)
				if err := values.file.Write(values.path); err != nil {
					return multierror.Append(runErr, err)
				}
			}
			if err := render.Report(p.stdout, pl.plan, rep, f, render.Options{Color: color, Scrub: p.scrub}); err != nil {
				return err
			}
			p.jsonWritten = f == render.JSON
			if err := p.stepSummary(pl.plan, rep); err != nil {
				return multierror.Append(runErr, err)
			}
			return runErr
		},
	}
}

// samePlan reports whether two plans make the same changes.
func samePlan(a, b *diff.Plan) bool {
	x, errA := json.Marshal(a.Changes)
	y, errB := json.Marshal(b.Changes)
	return errA == nil && errB == nil && bytes.Equal(x, y)
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
				forced = append(forced, fmt.Sprintf("config store %s takes %d secret%s with it", ch.Name, ch.ForceSecrets, diff.Plural(ch.ForceSecrets)))
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

// keepReviewed narrows the plan to the reviewed changes it still makes
// (see diff.SavedPlan.Review): what nobody reviewed is left out, and named
// in the plan's warnings; a plan that no longer holds is refused, before
// any write, naming everything that moved.
func keepReviewed(reviewed *diff.SavedPlan, pl *planned) error {
	keying, err := reviewed.Keyed([]byte(os.Getenv(sum.EnvKey)))
	if err != nil {
		return err
	}
	r, err := reviewed.Review(pl.plan, diff.TakeFingerprints(pl.live, pl.plan, keying))
	var moved *multierror.Error
	if errors.As(err, &moved) {
		return multierror.Append(errors.New("the reviewed plan no longer holds; nothing was applied (make and review a new plan):"), moved.Errors...)
	}
	if err != nil {
		return err
	}
	pl.plan = r.Plan
	return nil
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
			saved, err := readSavedPlan(c.Args().First())
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
func (p *program) stepSummary(plan *diff.Plan, rep *apply.Report) error {
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
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	_, err = fh.Write(append(buf.Bytes(), '\n'))
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
			_, stop, pl, err := p.planOnline(c, file, nil, false)
			if err != nil {
				return err
			}
			defer stop()
			fmt.Fprintf(p.stdout, "%s: valid against control plane %s (%s).\n", what, pl.plan.ControlPlane.Name, changesSummary(pl.plan))
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
func (p *program) planFiles(c *cli.Context, writes, noDeletes bool) (*planInputs, func(), *planned, error) {
	file, err := loadFiles(c, p.stdin)
	if err != nil {
		return nil, nil, nil, err
	}
	values, err := p.readPlanInputs(c, writes)
	if err != nil {
		return nil, nil, nil, err
	}
	_, stop, pl, err := p.planOnline(c, file, values, noDeletes)
	if err != nil {
		return nil, nil, nil, err
	}
	return values, stop, pl, nil
}

// planOnline reads the connection settings and computes the plan of a loaded
// file under a context that Ctrl-C cancels; the caller defers stop. The file
// is loaded first, by the caller, so that an invalid one makes no request.
func (p *program) planOnline(c *cli.Context, file *state.File, values *planInputs, noDeletes bool) (context.Context, func(), *planned, error) {
	s, err := p.readSettings(c)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, stop := p.runContext(s.maxDuration)
	pl, err := computePlan(ctx, s, file, values, noDeletes, nil)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return ctx, stop, pl, nil
}
