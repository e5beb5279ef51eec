package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kvsync/kvsync/pkg/diff"
)

// EnvironmentsFormatVersion is the version of the JSON document of a run
// over environments: {"format_version": "2", "environments": [...]}, each
// entry holding one control plane's plan (format "1") or its error.
const EnvironmentsFormatVersion = "2"

// Section is one environment of a run: its plan (nil when planning
// failed), its sync report (nil for a diff, or when nothing was applied)
// and its error.
type Section struct {
	Name   string
	Plan   *diff.Plan
	Report *diff.Report
	Err    error
}

// Outcome says in one word how an environment ended: for a diff
// "planned" or "failed"; for a sync "applied", "failed" (nothing was
// applied) or "partial" (some operations failed).
func (s Section) Outcome(sync bool) string {
	switch {
	case s.Err == nil && !sync:
		return "planned"
	case s.Err == nil:
		return "applied"
	case s.Report != nil && s.Report.Counts()[diff.Succeeded] > 0:
		return "partial"
	}
	return "failed"
}

func (s Section) errText(opts Options) string {
	if s.Err == nil {
		return ""
	}
	if opts.Scrub != nil {
		return opts.Scrub(s.Err.Error())
	}
	return s.Err.Error()
}

// EnvironmentsMarker is the hidden line of a run's one Markdown comment:
// one sticky comment per set of environments.
func EnvironmentsMarker(sections []Section) string {
	var names []string
	for _, s := range sections {
		names = append(names, s.Name)
	}
	return "<!-- kvsync-plan:environments:" + strings.ReplaceAll(strings.Join(names, ","), "--", "- -") + " -->"
}

// Environments writes the plans (sync: false) or the syncs (sync: true) of
// a run over environments: text sections, one JSON document listing every
// environment, or one Markdown comment with a section each under one
// marker.
func Environments(w io.Writer, sections []Section, sync bool, f Format, opts Options) error {
	var buf bytes.Buffer
	switch f {
	case Text, "":
		for _, s := range sections {
			fmt.Fprintf(&buf, "%s\n\n", opts.paint(ansiBold, "=== Environment "+s.Name+" ==="))
			if s.Plan != nil {
				planText(&buf, s.Plan, opts)
				if s.Report != nil {
					if err := Report(&buf, s.Plan, s.Report, Text, opts); err != nil {
						return err
					}
				}
			}
			if s.Err != nil {
				for _, line := range strings.Split(strings.TrimRight(s.errText(opts), "\n"), "\n") {
					fmt.Fprintf(&buf, "%s %s\n", opts.paint(ansiRed, "Error:"), line)
				}
			}
			buf.WriteString("\n")
		}
		buf.WriteString(environmentsSummary(sections, sync) + "\n")
	case JSON:
		type entry struct {
			Name    string              `json:"name"`
			Outcome string              `json:"outcome"`
			Plan    *diff.Plan          `json:"plan,omitempty"`
			Results json.RawMessage     `json:"results,omitempty"`
			Summary map[diff.Status]int `json:"summary,omitempty"`
			Error   string              `json:"error,omitempty"`
		}
		doc := struct {
			FormatVersion string  `json:"format_version"`
			Environments  []entry `json:"environments"`
		}{FormatVersion: EnvironmentsFormatVersion, Environments: []entry{}}
		for _, s := range sections {
			e := entry{Name: s.Name, Outcome: s.Outcome(sync), Plan: s.Plan, Error: s.errText(opts)}
			if s.Report != nil && s.Plan != nil {
				var one bytes.Buffer
				if err := Report(&one, s.Plan, s.Report, JSON, opts); err != nil {
					return err
				}
				var r struct {
					Results json.RawMessage     `json:"results"`
					Summary map[diff.Status]int `json:"summary"`
				}
				if err := json.Unmarshal(one.Bytes(), &r); err != nil {
					return err
				}
				e.Results, e.Summary = r.Results, r.Summary
			}
			doc.Environments = append(doc.Environments, e)
		}
		raw, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return fmt.Errorf("render: environments as JSON: %w", err)
		}
		buf.Write(raw)
		buf.WriteByte('\n')
	case Markdown:
		environmentsMarkdown(&buf, sections, sync, opts)
	default:
		return fmt.Errorf("render: unknown output format %q (want text, json or markdown)", f)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// environmentsSummary is one line per environment: its outcome and plan.
func environmentsSummary(sections []Section, sync bool) string {
	var b strings.Builder
	b.WriteString("Environments:\n")
	for _, s := range sections {
		line := "  " + s.Name + ": " + s.Outcome(sync)
		if s.Plan != nil {
			changes := "no changes"
			if !s.Plan.Empty() {
				changes = strings.TrimSuffix(strings.TrimPrefix(s.Plan.Summary().String(), "Plan: "), ".")
			}
			line += " (control plane " + s.Plan.ControlPlane.Name + "; " + changes
			if s.Report != nil && len(s.Report.Results) > 0 {
				line += "; " + strings.TrimSuffix(strings.TrimPrefix(countsLine(s.Report), "Sync: "), ".")
			}
			line += ")"
		}
		b.WriteString(line + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// environmentsMarkdown is one comment: a table of the environments, then
// each environment's plan (and results) as a section, each section within
// its share of the comment limit, and one marker.
func environmentsMarkdown(w *bytes.Buffer, sections []Section, sync bool, opts Options) {
	what := "plan"
	if sync {
		what = "sync"
	}
	fmt.Fprintf(w, "## kvsync %s: %d environment%s\n\n", what, len(sections), diff.Plural(len(sections)))
	w.WriteString("| Environment | Control plane | Outcome | Create | Update | Delete |\n| --- | --- | --- | ---: | ---: | ---: |\n")
	for _, s := range sections {
		cp, counts := "-", "- | - | -"
		if s.Plan != nil {
			sum := s.Plan.Summary()
			cp, counts = mdEscape(s.Plan.ControlPlane.Name), fmt.Sprintf("%d | %d | %d", sum.Create, sum.Update, sum.Delete)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", mdEscape(s.Name), cp, s.Outcome(sync), counts)
	}
	w.WriteString("\n")
	limit := opts.MarkdownLimit
	if limit <= 0 {
		limit = CommentLimit
	}
	share := (limit - w.Len() - 200) / max(1, len(sections))
	for _, s := range sections {
		fmt.Fprintf(w, "## Environment %s\n\n", mdEscape(s.Name))
		if s.Plan != nil {
			var one bytes.Buffer
			planMarkdown(&one, s.Plan, share)
			// The run's comment has one marker, at its end.
			w.WriteString(strings.TrimSuffix(one.String(), MarkdownMarker(s.Plan)+"\n"))
			if s.Report != nil {
				_ = Report(w, s.Plan, s.Report, Markdown, opts)
				w.WriteString("\n")
			}
		}
		if s.Err != nil {
			fmt.Fprintf(w, "> **Error:** %s\n\n", mdEscape(s.errText(opts)))
		}
	}
	w.WriteString(EnvironmentsMarker(sections) + "\n")
}
