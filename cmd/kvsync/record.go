package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/render"
)

// flagRecordOnly is sync --record-only: adoption of existing secrets
// without rewriting them.
const flagRecordOnly = "record-only"

func recordOnlyFlag() cli.Flag {
	return &cli.BoolFlag{Name: flagRecordOnly, Usage: "write nothing to Konnect: record in kvsync.sum the files' values of existing secrets it does not track yet, " +
		"against their live updated_at (you vouch that Konnect holds those values; nothing can check it)"}
}

// recordOnly is sync --record-only, like Terraform's apply -refresh-only:
// every secret the plan would write only because kvsync.sum does not track
// it ("value not tracked yet": an adoption, a lost or re-keyed sum file)
// is recorded with the value the files give and the updated_at Konnect
// holds; nothing is written to Konnect, and the plan's other changes are
// listed for a sync. A secret changed outside kvsync, or whose value
// changed, is not recorded: that would hide a write.
func (p *program) recordOnly(c *cli.Context, f render.Format, noDeletes bool) error {
	for _, other := range []string{flagPlan, flagNoSum, flagWriteSecrets, flagWriteSecret} {
		if c.IsSet(other) || (other == flagNoSum && c.Bool(flagNoSum)) {
			return fmt.Errorf("--%s records values in kvsync.sum and writes nothing: it does not go with --%s", flagRecordOnly, other)
		}
	}
	values, stop, pl, err := p.planFiles(c, true, noDeletes)
	if err != nil {
		return err
	}
	defer stop()
	recorded := diff.RecordUntracked(values.file, pl.Plan, pl.Live)
	done := map[string]bool{}
	for _, name := range recorded {
		done[name] = true
	}
	var left []string
	for _, ch := range pl.Plan.Changes {
		if ch.Kind != diff.KindSecret || !done[ch.Name] || ch.Action != diff.Update {
			left = append(left, ch.String())
		}
	}
	if len(recorded) > 0 {
		if err := values.file.Write(values.path); err != nil {
			return err
		}
	}
	if f == render.JSON {
		doc := struct {
			FormatVersion string   `json:"format_version"`
			ControlPlane  string   `json:"control_plane"`
			SumFile       string   `json:"sum_file"`
			Recorded      []string `json:"recorded"`
			NotApplied    []string `json:"not_applied"`
		}{diff.FormatVersion, pl.Plan.ControlPlane.Name, values.path, append([]string{}, recorded...), append([]string{}, left...)}
		raw, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		_, err = p.stdout.Write(append(raw, '\n'))
		p.jsonWritten = true
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Record only: control plane %s, sum file %s. Nothing was written to Konnect.\n\n", pl.Plan.ControlPlane.Name, values.path)
	if len(recorded) == 0 {
		b.WriteString("No secret to record: every existing secret is tracked already, or changed (see diff).\n")
	} else {
		fmt.Fprintf(&b, "Recorded %d secret value%s from the files, against the updated_at Konnect holds now:\n", len(recorded), diff.Plural(len(recorded)))
		for _, name := range recorded {
			fmt.Fprintf(&b, "  %s\n", name)
		}
		b.WriteString("These values were taken on trust: Konnect never returns a value, so nothing checked that it holds them. " +
			"diff now compares against them; should Konnect hold another value, it shows only when the value rotates " +
			"(sync --write-secret STORE/KEY writes one now).\n")
	}
	if len(left) > 0 {
		fmt.Fprintf(&b, "\nNot applied (sync applies them):\n")
		for _, l := range left {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	_, err = fmt.Fprint(p.stdout, b.String())
	return err
}
