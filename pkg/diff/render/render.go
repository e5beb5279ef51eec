// Package render writes plans and the outcomes of syncs (both plain data
// of pkg/diff) as text, JSON and Markdown; it depends on no executor. It is the one place where kvsync decides how a
// change looks: one headline (diff.Change.Headline), one colour palette,
// one Markdown escape. Everything it prints is a display value: the plan
// holds no secret in its fields, and error texts pass through the caller's
// scrubber.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/kvsync/kvsync/pkg/diff"
)

// Format is a rendering.
type Format string

const (
	Text     Format = "text"
	JSON     Format = "json"
	Markdown Format = "markdown"
)

// Formats lists the formats, for flag help and errors.
var Formats = []Format{Text, JSON, Markdown}

// ParseFormat checks a format name; "" is Text.
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return Text, nil
	}
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown output format (want text, json or markdown)")
}

// Options tune a rendering.
type Options struct {
	// Color enables ANSI colour in the text format.
	Color bool
	// Scrub is applied to every error text a report prints (the token,
	// as a last line of defence); nil leaves texts as they are.
	Scrub func(string) string
	// MarkdownLimit bounds a Markdown plan in bytes (default CommentLimit).
	MarkdownLimit int
}

// The palette.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

func (o Options) paint(color, s string) string {
	if !o.Color {
		return s
	}
	return color + s + ansiReset
}

func actionColor(a diff.Action) string {
	switch a {
	case diff.Create:
		return ansiGreen
	case diff.Update:
		return ansiYellow
	}
	return ansiRed
}

func statusColor(s diff.Status) string {
	switch s {
	case diff.Succeeded:
		return ansiGreen
	case diff.Failed:
		return ansiRed
	}
	return ansiYellow
}

// mdEscape escapes text for Markdown prose and table cells: HTML is
// neutralised and Markdown punctuation backslash-escaped.
var mdEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\\", "\\\\", "`", "\\`", "*", "\\*",
	"_", "\\_", "[", "\\[", "]", "\\]", "|", "\\|", "#", "\\#", "\n", " ").Replace

// fence returns a code fence longer than any backtick run in s.
func fence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if longest < 3 {
		return "```"
	}
	return strings.Repeat("`", longest+1)
}

// Plan writes the plan in the given format.
func Plan(w io.Writer, p *diff.Plan, f Format, opts Options) error {
	if p == nil {
		return fmt.Errorf("render: no plan")
	}
	var buf bytes.Buffer
	switch f {
	case Text, "":
		planText(&buf, p, opts)
	case JSON:
		// What json.MarshalIndent(p) writes, without its pass that
		// checks and compacts MarshalJSON's output again (compact and
		// escaped already): a plan at scale is megabytes.
		raw, err := p.MarshalJSON()
		if err == nil {
			err = json.Indent(&buf, raw, "", "  ")
		}
		if err != nil {
			return fmt.Errorf("render: plan as JSON: %w", err)
		}
		buf.WriteByte('\n')
	case Markdown:
		limit := opts.MarkdownLimit
		if limit <= 0 {
			limit = CommentLimit
		}
		planMarkdown(&buf, p, limit)
	default:
		return fmt.Errorf("render: unknown output format %q (want text, json or markdown)", f)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// unmanagedLine says what the plan leaves alone, e.g. "1 config store,
// 2 vaults"; empty when nothing.
func unmanagedLine(p *diff.Plan) string {
	var parts []string
	for _, k := range diff.Kinds() {
		if n := p.Unmanaged[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s%s", n, k.Label(), diff.Plural(n)))
		}
	}
	return strings.Join(parts, ", ")
}

func planText(w *bytes.Buffer, p *diff.Plan, opts Options) {
	fmt.Fprintf(w, "Target: %s.\n", target(p))
	if p.SumFile != "" {
		fmt.Fprintf(w, "Sum file: %s.\n", p.SumFile)
	}
	fmt.Fprintln(w)
	if p.Empty() {
		if p.NotCompared > 0 {
			fmt.Fprintln(w, opts.paint(ansiYellow, p.Verdict()+" (see the notes): not a clean drift check."))
		} else {
			fmt.Fprintln(w, "No changes.")
		}
	}
	for _, c := range p.Changes {
		fmt.Fprintf(w, "%s %s\n", opts.paint(actionColor(c.Action), c.Action.Symbol()+" "+string(c.Action)), c.Headline())
		for _, f := range c.Fields {
			fmt.Fprintf(w, "    %s\n", f.Line(c.Action))
		}
	}
	if u := unmanagedLine(p); u != "" {
		fmt.Fprintf(w, "\nLeft alone (not managed by kvsync, select tags %s): %s.\n", strings.Join(p.SelectTags, ", "), u)
	}
	if len(p.Warnings)+len(p.Notes) > 0 {
		fmt.Fprintln(w)
		for _, warn := range p.Warnings {
			fmt.Fprintf(w, "%s %s\n", opts.paint(ansiYellow, "Warning:"), warn)
		}
		for _, note := range p.Notes {
			fmt.Fprintf(w, "Note: %s\n", note)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, opts.paint(ansiBold, p.Summary().String()))
}

// CommentLimit is the most a Markdown plan may take: GitHub refuses a
// pull request comment of more than 65,536 characters.
const CommentLimit = 65536

// MarkdownMarker is the hidden line that identifies a plan's comment, so
// that a workflow can update one sticky comment per control plane.
func MarkdownMarker(p *diff.Plan) string {
	return "<!-- kvsync-plan:" + strings.ReplaceAll(p.ControlPlane.Name, "--", "- -") + " -->"
}

// target is "control plane NAME (id ID, from ORIGIN) at ADDRESS (from
// ORIGIN), select tags T (from ORIGIN)".
func target(p *diff.Plan) string {
	from := func(origin string) string {
		switch origin {
		case "":
			return ""
		case "default":
			return ", by default"
		case "file":
			return ", from the file"
		}
		return ", from " + origin
	}
	s := "control plane " + p.ControlPlane.Name
	if p.ControlPlane.ID != "" || p.Origins.ControlPlane != "" {
		s += " (" + strings.TrimPrefix("id "+p.ControlPlane.ID+from(p.Origins.ControlPlane), "id , ") + ")"
	}
	if p.Address != "" {
		s += " at " + p.Address
		if o := from(p.Origins.Address); o != "" {
			s += " (" + strings.TrimPrefix(o, ", ") + ")"
		}
	}
	if len(p.SelectTags) > 0 {
		s += ", select tags " + strings.Join(p.SelectTags, ", ")
		if o := from(p.Origins.SelectTags); o != "" {
			s += " (" + strings.TrimPrefix(o, ", ") + ")"
		}
	}
	return s
}

// planMarkdown renders a plan for a pull request comment: the verdict and
// the target first, a summary, a table of the changes numbered from 1 with
// what each depends on and the destructive ones marked, each change's
// fields (what goes away, for a delete), the warnings and notes, and the
// hidden marker. A plan that would not fit in a comment is cut, saying how
// much was left out.
func planMarkdown(w *bytes.Buffer, p *diff.Plan, limit int) {
	s := p.Summary()
	verdict := p.Verdict()
	if s.Delete > 0 {
		verdict += " (destructive)"
	}
	head := fmt.Sprintf("### kvsync plan: %s\n\nTarget: %s.\n\n", verdict, mdEscape(target(p)))
	if p.SumFile != "" {
		head += fmt.Sprintf("Sum file: %s.\n\n", mdEscape(p.SumFile))
	}
	head += fmt.Sprintf("| Create | Update | Delete |\n| ---: | ---: | ---: |\n| %d | %d | %d |\n\n", s.Create, s.Update, s.Delete)

	var tail strings.Builder
	for _, warn := range p.Warnings {
		fmt.Fprintf(&tail, "> **Warning:** %s\n", mdEscape(warn))
	}
	for _, note := range p.Notes {
		fmt.Fprintf(&tail, "> **Note:** %s\n", mdEscape(note))
	}
	if tail.Len() > 0 {
		tail.WriteString("\n")
	}
	if u := unmanagedLine(p); u != "" {
		fmt.Fprintf(&tail, "Left alone (not managed by kvsync, select tags %s): %s.\n\n", mdEscape(strings.Join(p.SelectTags, ", ")), u)
	}
	tail.WriteString(MarkdownMarker(p) + "\n")

	// Room for the parts that always show, and for the line that says what
	// was cut.
	const cutLine = 200
	room := limit - len(head) - tail.Len() - cutLine
	w.WriteString(head)
	var rows, details []string
	for _, c := range p.Changes {
		rows = append(rows, markdownRow(c))
		details = append(details, markdownDetails(c))
	}
	rowsShown, detailsShown := 0, 0
	tableHead := "| # | Action | Kind | Name | Scope | Depends on |\n| ---: | --- | --- | --- | --- | --- |\n"
	if len(rows) > 0 && room > len(tableHead) {
		w.WriteString(tableHead)
		room -= len(tableHead)
		for _, r := range rows {
			if len(r) > room {
				break
			}
			w.WriteString(r)
			room -= len(r)
			rowsShown++
		}
		w.WriteString("\n")
		for _, d := range details[:rowsShown] {
			if len(d) > room {
				break
			}
			w.WriteString(d)
			room -= len(d)
			detailsShown++
		}
	}
	if detailsShown < len(p.Changes) {
		fmt.Fprintf(w, "_The plan is too long for a comment: %d of %d changes are not in the table, and %d are not shown in full. The whole plan is in its JSON (`kvsync diff --out`)._\n\n",
			len(p.Changes)-rowsShown, len(p.Changes), len(p.Changes)-detailsShown)
	}
	w.WriteString(tail.String())
}

// number is a change's number in Markdown: its ID plus one.
func number(id int) string { return fmt.Sprint(id + 1) }

func markdownRow(c *diff.Change) string {
	deps := make([]string, len(c.DependsOn))
	for i, d := range c.DependsOn {
		deps[i] = number(d)
	}
	action := c.Action.Symbol() + " " + string(c.Action)
	if c.Action == diff.Delete {
		action = "**" + action + "** :warning:"
	}
	name := mdEscape(c.Name)
	if t := c.ForceText(); t != "" {
		name += " (" + t + ")"
	}
	if t := c.Reason.Text(); t != "" {
		name += " (" + t + ")"
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s |\n", number(c.ID), action, c.Kind, name, mdEscape(c.Scope), strings.Join(deps, ", "))
}

func markdownDetails(c *diff.Change) string {
	summary := fmt.Sprintf("%s. %s %s %s", number(c.ID), c.Action.Symbol(), c.Action, html.EscapeString(c.Headline()))
	if len(c.Fields) == 0 {
		return fmt.Sprintf("<details><summary>%s</summary>\n\nNo fields to show.\n\n</details>\n\n", summary)
	}
	lines := make([]string, len(c.Fields))
	for i, f := range c.Fields {
		lines[i] = f.Line(c.Action)
	}
	body := strings.Join(lines, "\n")
	fn := fence(body)
	intro := ""
	if c.Action == diff.Delete {
		intro = "What goes away:\n\n"
	}
	return fmt.Sprintf("<details><summary>%s</summary>\n\n%s%stext\n%s\n%s\n\n</details>\n\n", summary, intro, fn, body, fn)
}

// statusText is a status in prose: "not started".
func statusText(s diff.Status) string { return strings.ReplaceAll(string(s), "_", " ") }

func countsLine(rep *diff.Report) string {
	n := rep.Counts()
	return fmt.Sprintf("Sync: %d succeeded, %d failed, %d skipped, %d not started.",
		n[diff.Succeeded], n[diff.Failed], n[diff.Skipped], n[diff.NotStarted])
}

// jsonResult is one operation in the JSON report.
type jsonResult struct {
	ID         int         `json:"id"`
	Action     diff.Action `json:"action"`
	Kind       diff.Kind   `json:"kind"`
	Name       string      `json:"name"`
	Scope      string      `json:"scope,omitempty"`
	Status     diff.Status `json:"status"`
	Error      string      `json:"error,omitempty"`
	Cause      *int        `json:"cause,omitempty"`
	DurationMS int64       `json:"duration_ms"`
}

// Report writes the per-operation results of a sync and a summary. The
// JSON form is one document holding the plan too; text and Markdown follow
// the plan's own rendering.
func Report(w io.Writer, p *diff.Plan, rep *diff.Report, f Format, opts Options) error {
	errText := func(r diff.Result) string {
		if r.Err == nil {
			return ""
		}
		if opts.Scrub != nil {
			return opts.Scrub(r.Err.Error())
		}
		return r.Err.Error()
	}
	var buf bytes.Buffer
	switch f {
	case JSON:
		doc := struct {
			Plan    *diff.Plan          `json:"plan"`
			Results []jsonResult        `json:"results"`
			Summary map[diff.Status]int `json:"summary"`
		}{Plan: p, Results: []jsonResult{}, Summary: map[diff.Status]int{}}
		for _, s := range []diff.Status{diff.Succeeded, diff.Failed, diff.Skipped, diff.NotStarted} {
			doc.Summary[s] = rep.Counts()[s]
		}
		for _, r := range rep.Results {
			jr := jsonResult{ID: r.Change.ID, Action: r.Change.Action, Kind: r.Change.Kind, Name: r.Change.Name,
				Scope: r.Change.Scope, Status: r.Status, Error: errText(r), DurationMS: r.Duration.Milliseconds()}
			if r.Status == diff.Skipped {
				cause := r.Cause
				jr.Cause = &cause
			}
			doc.Results = append(doc.Results, jr)
		}
		raw, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		buf.Write(raw)
		buf.WriteByte('\n')
	case Markdown:
		if len(rep.Results) == 0 {
			break
		}
		fmt.Fprintln(&buf, "\n#### Results")
		fmt.Fprintln(&buf, "\n| # | Status | Change | Detail |\n| ---: | --- | --- | --- |")
		for _, r := range rep.Results {
			fmt.Fprintf(&buf, "| %s | %s | %s | %s |\n", number(r.Change.ID), statusText(r.Status), mdEscape(r.Change.String()), mdEscape(errText(r)))
		}
		fmt.Fprintf(&buf, "\n**%s**\n", countsLine(rep))
	case Text, "":
		if len(rep.Results) == 0 {
			break
		}
		fmt.Fprintln(&buf, "\nResults:")
		for _, r := range rep.Results {
			line := fmt.Sprintf("  %s %s", opts.paint(statusColor(r.Status), fmt.Sprintf("%-11s", statusText(r.Status))), r.Change)
			if e := errText(r); e != "" {
				line += ": " + e
			}
			fmt.Fprintln(&buf, line)
		}
		fmt.Fprintln(&buf)
		fmt.Fprintln(&buf, countsLine(rep))
	default:
		return fmt.Errorf("render: unknown output format %q (want text, json or markdown)", f)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
