package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/render"
	"github.com/kvsync/kvsync/pkg/state"
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
		Usage:     "show the changes sync would make",
		ArgsUsage: "[FILE...] (default kvsync.yaml; - reads standard input)",
		Flags: flags(connectionFlags(), []cli.Flag{selectTagFlag()}, outputFlags(), valueFlags(), envFlags(), []cli.Flag{
			&cli.BoolFlag{Name: flagExitCode, Aliases: []string{"non-zero-exit-code"},
				Usage: "exit 2 when there are changes (0 none, 1 error)", EnvVars: []string{"KVSYNC_EXIT_CODE"}},
		}),
		Action: func(c *cli.Context) error {
			f, err := format(c)
			if err != nil {
				return err
			}
			file, err := loadFiles(c, p.stdin)
			if err != nil {
				return err
			}
			values, err := p.readSecretValues(c)
			if err != nil {
				return err
			}
			_, stop, pl, err := p.planOnline(c, file, values)
			if err != nil {
				return err
			}
			defer stop()
			if err := render.Plan(p.stdout, pl.plan, f, render.Options{Color: useColor(c, p.stdout, f)}); err != nil {
				return err
			}
			if c.Bool(flagExitCode) && !pl.plan.Empty() {
				return errChangesPending
			}
			return nil
		},
	}
}

func (p *program) syncCommand() *cli.Command {
	return &cli.Command{
		Name:      "sync",
		Usage:     "apply the changes: make the control plane match the files",
		ArgsUsage: "[FILE...] (default kvsync.yaml; - reads standard input)",
		Flags:     flags(connectionFlags(), []cli.Flag{selectTagFlag(), parallelismFlag()}, outputFlags(), valueFlags(), envFlags()),
		Action: func(c *cli.Context) error {
			if c.Bool(flagAllowMissingEnv) {
				return fmt.Errorf("sync refuses --%s: it would write values nobody knows (use it with diff, to review without the secrets)", flagAllowMissingEnv)
			}
			f, err := format(c)
			if err != nil {
				return err
			}
			workers, err := parallelism(c)
			if err != nil {
				return err
			}
			file, err := loadFiles(c, p.stdin)
			if err != nil {
				return err
			}
			values, err := p.readSecretValues(c)
			if err != nil {
				return err
			}
			ctx, stop, pl, err := p.planOnline(c, file, values)
			if err != nil {
				return err
			}
			defer stop()
			color := useColor(c, p.stdout, f)
			if f != render.JSON {
				if err := render.Plan(p.stdout, pl.plan, f, render.Options{Color: color}); err != nil {
					return err
				}
			}
			var rep *apply.Report
			var runErr error
			if !pl.plan.Empty() {
				prog := newProgress(p.stderr, len(pl.plan.Changes), showProgress(p.stderr, f))
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
					return errors.Join(runErr, err)
				}
			}
			if err := render.Report(p.stdout, pl.plan, rep, f, render.Options{Color: color, Scrub: p.scrub}); err != nil {
				return err
			}
			return runErr
		},
	}
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
				fmt.Fprintf(p.stdout, "%s: valid (offline; --online also checks against the control plane).\n", what)
				return nil
			}
			_, stop, pl, err := p.planOnline(c, file, nil)
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

// planOnline reads the connection settings and computes the plan of a loaded
// file under a context that Ctrl-C cancels; the caller defers stop. The file
// is loaded first, by the caller, so that an invalid one makes no request.
func (p *program) planOnline(c *cli.Context, file *state.File, values *secretValues) (context.Context, func(), *planned, error) {
	s, err := p.readSettings(c)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, stop := p.signalContext()
	pl, err := computePlan(ctx, s, file, values)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return ctx, stop, pl, nil
}
