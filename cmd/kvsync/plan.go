package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
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

// planned is what the shared pipeline produces.
type planned struct {
	settings *settings
	client   *konnect.Client
	file     *state.File
	live     *diff.Live
	plan     *diff.Plan
}

// computePlan fetches the live state the file needs, checks the file
// against it (references, plugin and vault configs against the schemas)
// and computes the plan. Any problem stops here: nothing is applied.
//
// earlier is this run's earlier plan when it plans again (under the lock):
// its client, and the pace it learned, go on, and what it read makes the
// fetch one round trip. nil otherwise.
func computePlan(ctx context.Context, s *settings, f *state.File, values *planInputs, noDeletes bool, earlier *planned) (*planned, error) {
	origins, err := checkTarget(s, f)
	if err != nil {
		return nil, err
	}
	opts := diff.FetchOptions{ControlPlane: s.controlPlane, SelectTags: s.selectTags}
	var client *konnect.Client
	if earlier != nil {
		client, opts.Previous = earlier.client, earlier.live
	} else if client, err = s.client(); err != nil {
		return nil, err
	}
	live, err := diff.Fetch(ctx, client, f, opts)
	if err != nil {
		return nil, err
	}
	// A control plane given by id is checked once its name is known.
	if f.ControlPlaneName != "" && live.ControlPlane.Name != f.ControlPlaneName {
		return nil, targetConflict(s.controlPlane, s.controlPlaneFrom, f)
	}
	if err := diff.CheckOnline(f, live); err != nil {
		return nil, err
	}
	planOpts := diff.Options{SelectTags: s.selectTags, NoDeletes: noDeletes}
	if values != nil {
		planOpts.Sum, planOpts.WriteSecrets, planOpts.WriteSecret, planOpts.Adopt = values.file, values.writeAll, values.writeSecrets, values.adopt
	}
	p, err := diff.Compute(f, live, planOpts)
	if err != nil {
		return nil, err
	}
	p.Address, p.Origins = client.BaseURL(), origins
	if values != nil && values.file != nil {
		p.SumFile = values.path
	}
	return &planned{settings: s, client: client, file: f, live: live, plan: p}, nil
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
		if len(f.SelectTags) > 0 && !sameTags(s.selectTags, f.SelectTags) {
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

func sameTags(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}
