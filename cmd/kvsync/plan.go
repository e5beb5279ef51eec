package main

import (
	"context"
	"io"

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
	client *konnect.Client
	file   *state.File
	live   *diff.Live
	plan   *diff.Plan
}

// computePlan fetches the live state the file needs, checks the file
// against it (references, plugin and vault configs against the schemas)
// and computes the plan. Any problem stops here: nothing is applied.
func computePlan(ctx context.Context, s *settings, f *state.File, values *secretValues, noDeletes bool) (*planned, error) {
	client, err := s.client()
	if err != nil {
		return nil, err
	}
	live, err := diff.Fetch(ctx, client, f, diff.FetchOptions{ControlPlane: s.controlPlane, SelectTags: s.selectTags})
	if err != nil {
		return nil, err
	}
	if err := diff.CheckOnline(f, live); err != nil {
		return nil, err
	}
	opts := diff.Options{SelectTags: s.selectTags, NoDeletes: noDeletes}
	if values != nil {
		opts.Sum, opts.WriteSecrets, opts.WriteSecret = values.file, values.writeAll, values.writeSecrets
	}
	p, err := diff.Compute(f, live, opts)
	if err != nil {
		return nil, err
	}
	p.Address = client.BaseURL()
	return &planned{client: client, file: f, live: live, plan: p}, nil
}
