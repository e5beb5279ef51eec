package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state"
)

const defaultFile = "kvsync.yaml"

// loadFiles reads the command's file arguments (default kvsync.yaml, "-"
// for standard input). It runs before any client exists, so an invalid
// file makes no request at all. Undeclared vaults and stores are accepted
// here and checked against the live state once it is fetched.
func loadFiles(c *cli.Context, stdin io.Reader) (*state.File, error) {
	paths := c.Args().Slice()
	if len(paths) == 0 {
		paths = []string{defaultFile}
	}
	opts := loadOptions(c)
	opts.Stdin = stdin
	return state.Load(paths, opts)
}

// planOnline reads the connection settings and computes the plan of a loaded
// file under a context that Ctrl-C cancels; the caller defers stop. The file
// is loaded first, by the caller, so that an invalid one makes no request.
//
// leaveOut, when set, leaves every delete out of the plan, saying why.
func (p *program) planOnline(c *cli.Context, file *state.File, values *planInputs, leaveOut string) (context.Context, func(), *apply.Planned, error) {
	s, err := p.readSettings(c)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, stop := p.runContext(s.maxDuration)
	pl, err := computePlan(ctx, s, file, values, leaveOut)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return ctx, stop, pl, nil
}

// computePlan checks the target the flags give against the file's, makes
// the client and plans (apply.Plan).
func computePlan(ctx context.Context, s *settings, f *state.File, values *planInputs, leaveOut string) (*apply.Planned, error) {
	opts, err := planOptions(s, f, values, leaveOut)
	if err != nil {
		return nil, err
	}
	client, err := s.client()
	if err != nil {
		return nil, err
	}
	pl, err := apply.Plan(ctx, client, f, opts, nil)
	return pl, targetError(s, f, err)
}

// planOptions are a run's planning inputs, from its settings and flags;
// leaveOut, when set, leaves every delete out, saying why.
func planOptions(s *settings, f *state.File, values *planInputs, leaveOut string) (apply.PlanOptions, error) {
	origins, err := checkTarget(s, f)
	if err != nil {
		return apply.PlanOptions{}, err
	}
	opts := apply.PlanOptions{ControlPlane: s.controlPlane, Origins: origins,
		Plan: diff.Options{SelectTags: s.selectTags, NoDeletes: leaveOut != "", NoDeletesWhy: leaveOut}}
	if values != nil {
		opts.Plan.Sum, opts.Plan.WriteSecrets, opts.Plan.WriteSecret, opts.Plan.Adopt = values.file, values.writeAll, values.writeSecrets, values.adopt
		if values.file != nil {
			opts.SumFile = values.path
		}
	}
	return opts, nil
}

// targetError names where a control plane given by id came from, when its
// name turns out not to be the file's.
func targetError(s *settings, f *state.File, err error) error {
	var mismatch *apply.ControlPlaneMismatchError
	if errors.As(err, &mismatch) {
		return targetConflict(s.controlPlane, s.controlPlaneFrom, f)
	}
	return err
}

// checkTarget refuses a control plane or select tags from the command line
// or the environment that disagree with the file's (a stale DECK_*
// variable must not retarget a run), and says where each part of the
// target comes from.
func checkTarget(s *settings, f *state.File) (diff.Origins, error) {
	o := diff.Origins{Address: s.addrFrom, ControlPlane: "file", SelectTags: "default"}
	if s.controlPlane != "" {
		o.ControlPlane = s.controlPlaneFrom
		if f.ControlPlaneName != "" && s.controlPlane != f.ControlPlaneName && !konnect.IsUUID(s.controlPlane) {
			return o, targetConflict(s.controlPlane, s.controlPlaneFrom, f)
		}
	}
	switch {
	case len(s.selectTags) > 0:
		o.SelectTags = s.selectTagsFrom
		if len(f.SelectTags) > 0 && !kong.SameTags(s.selectTags, f.SelectTags) {
			return o, fmt.Errorf("select tags %q (from %s) differ from the file's _info.select_tags %q (%s): remove one, or make them agree",
				s.selectTags, s.selectTagsFrom, f.SelectTags, f.SelectTagsPos)
		}
	case len(f.SelectTags) > 0:
		o.SelectTags = "file"
	}
	return o, nil
}

// targetConflict refuses a control plane that a flag or variable gives and
// the file contradicts, and says how to target another control plane with
// the same files: never by overriding the file.
func targetConflict(given, from string, f *state.File) error {
	return fmt.Errorf("control plane %q (from %s) differs from the file's _konnect.control_plane_name %q (%s): "+
		"a flag or variable never overrides the file's control plane; remove one, or make them agree. "+
		"To use the same files with another control plane, take _konnect.control_plane_name out of them and pass --%s (or set KVSYNC_KONNECT_CONTROL_PLANE_NAME), "+
		"or keep it in a small file per control plane given with the shared ones (kvsync diff shared/ prod.yaml)",
		given, from, f.ControlPlaneName, f.ControlPlanePos, flagControlPlane)
}
