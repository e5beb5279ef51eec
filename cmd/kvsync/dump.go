package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/state"
)

func (p *program) dumpCommand() *cli.Command {
	return &cli.Command{
		Name:  "dump",
		Usage: "write the live state as a kvsync file (secret values become ${{ env \"…\" }} placeholders)",
		Flags: flags([]cli.Flag{
			&cli.StringFlag{Name: flagOutput, Aliases: []string{"o"}, Usage: "file `FORMAT`: yaml or json", Value: "yaml"},
			&cli.StringFlag{Name: flagOutputFile, Usage: "write to `FILE` (- is standard output)", Value: "-"},
			&cli.BoolFlag{Name: flagAll, Usage: "everything in the control plane, not only what the select tags scope"},
			selectTagFlag(),
		}, connectionFlags()),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("dump takes no arguments (write to a file with --%s FILE)", flagOutputFile)
			}
			format := strings.ToLower(strings.TrimSpace(c.String(flagOutput)))
			if format != "yaml" && format != "json" {
				// -o used to name the file; it is a format everywhere now.
				return fmt.Errorf("dump -o takes a format, yaml or json; write to a file with --%s FILE", flagOutputFile)
			}
			s, err := p.readSettings(c)
			if err != nil {
				return err
			}
			if s.controlPlane == "" {
				return fmt.Errorf("dump needs a control plane: pass --%s or set KVSYNC_KONNECT_CONTROL_PLANE_NAME", flagControlPlane)
			}
			tags, err := diff.ResolveSelectTags(nil, s.selectTags)
			if err != nil {
				return err
			}
			client, err := s.client()
			if err != nil {
				return err
			}
			ctx, stop := p.runContext(s.maxDuration)
			defer stop()
			live, err := diff.Fetch(ctx, client, &state.File{}, diff.FetchOptions{ControlPlane: s.controlPlane,
				SelectTags: tags, All: c.Bool(flagAll)})
			if err != nil {
				return err
			}
			f := diff.Dump(live, diff.DumpOptions{SelectTags: tags, All: c.Bool(flagAll)})
			if len(s.selectTags) > 0 {
				f.SelectTags = tags
			}
			data, envNames, err := state.MarshalEnv(f)
			if err != nil {
				return err
			}
			if format == "json" {
				if data, err = yamlToJSON(data); err != nil {
					return err
				}
			}
			out := c.String(flagOutputFile)
			if out == "-" || out == "" {
				if _, err := p.stdout.Write(data); err != nil {
					return err
				}
			} else if err := os.WriteFile(out, data, 0o644); err != nil {
				return err
			}
			counts, dumped := diff.DumpSummary(f)
			what := fmt.Sprintf("control plane %s, %s", f.ControlPlaneName, strings.Join(counts, ", "))
			summary := "Dumped " + what + "."
			if out != "-" && out != "" {
				summary = "Wrote " + out + ": " + what + "."
			}
			fmt.Fprintln(p.stderr, summary)
			if dumped == 0 && !c.Bool(flagAll) {
				// Nothing carries the select tags: most likely a control
				// plane kvsync has not managed yet.
				if counts, n := diff.DumpSummary(diff.Dump(live, diff.DumpOptions{SelectTags: tags, All: true})); n > 0 {
					fmt.Fprintf(p.stderr, "Nothing on control plane %s is in scope (vaults and plugins tagged %s, and the config stores they use); %s are not: --%s dumps everything (kvsync then adopts what the file declares).\n",
						f.ControlPlaneName, strings.Join(tags, ", "), andList(counts), flagAll)
				}
			}
			if len(envNames) > 0 {
				fmt.Fprintf(p.stderr, "Konnect never returns secret values: set %s before diff or sync.\n", strings.Join(envNames, ", "))
			}
			return nil
		},
	}
}

// andList joins "a", "b", "c" as "a, b and c".
func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// yamlToJSON re-encodes a written state file as JSON (kvsync reads both).
func yamlToJSON(data []byte) ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("dump as JSON: %w", err)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dump as JSON: %w", err)
	}
	return append(out, '\n'), nil
}
