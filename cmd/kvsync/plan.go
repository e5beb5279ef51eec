package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

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
	return state.Load(paths, state.LoadOptions{Stdin: stdin, AllowUndeclared: true})
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
func computePlan(ctx context.Context, s *settings, f *state.File) (*planned, error) {
	client, err := s.client()
	if err != nil {
		return nil, err
	}
	live, err := diff.Fetch(ctx, client, f, diff.FetchOptions{ControlPlane: s.controlPlane, SelectTags: s.selectTags})
	if err != nil {
		return nil, err
	}
	if err := checkOnline(f, live); err != nil {
		return nil, err
	}
	p, err := diff.Compute(f, live, diff.Options{SelectTags: s.selectTags})
	if err != nil {
		return nil, err
	}
	return &planned{client: client, file: f, live: live, plan: p}, nil
}

// checkOnline is the online half of validation: references to vaults and
// stores that exist only remotely, and configs against the live schemas.
func checkOnline(f *state.File, live *diff.Live) error {
	remote := state.Remote{}
	for _, v := range live.Vaults {
		remote.VaultPrefixes = append(remote.VaultPrefixes, v.Prefix)
	}
	for _, s := range live.ConfigStores {
		remote.ConfigStores = append(remote.ConfigStores, s.Name)
	}
	if err := state.CheckReferences(f, remote); err != nil {
		return err
	}
	var problems []string
	for i, p := range f.Plugins {
		schema := live.Schemas[p.Name]
		if schema == nil {
			continue // Compute reports a plugin without a schema
		}
		// Messages name fields and constraints, never values; revealing
		// lets a substituted string count as the string it is.
		for _, fe := range schema.Validate(state.RevealMap(p.Config)) {
			problems = append(problems, fmt.Sprintf("%s: plugins[%d] (%s).%s: %s", p.Pos, i, p.Name, fe.Path, fe.Message))
		}
	}
	for i, v := range f.Vaults {
		cfg := state.RevealMap(v.Config)
		if v.ConfigStore != "" {
			if cfg == nil {
				cfg = map[string]any{}
			}
			cfg["config_store_id"] = "(resolved from config_store)"
		}
		for _, fe := range kong.ValidateVaultConfig(v.Name, cfg) {
			problems = append(problems, fmt.Sprintf("%s: vaults[%d] (%s).%s: %s", v.Pos, i, v.Prefix, fe.Path, fe.Message))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return nil
}
