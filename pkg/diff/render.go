package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
)

// Format is a rendering of a plan.
type Format string

const (
	FormatText     Format = "text"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
)

// RenderOptions tune Render.
type RenderOptions struct {
	// Color enables ANSI colour in the text format.
	Color bool
}

// Render writes the plan in the given format.
func Render(w io.Writer, p *Plan, f Format, opts RenderOptions) error {
	if p == nil {
		return fmt.Errorf("diff: no plan to render")
	}
	var buf bytes.Buffer
	switch f {
	case FormatText, "":
		renderText(&buf, p, opts)
	case FormatJSON:
		raw, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return fmt.Errorf("diff: rendering JSON: %w", err)
		}
		buf.Write(raw)
		buf.WriteByte('\n')
	case FormatMarkdown:
		renderMarkdown(&buf, p)
	default:
		return fmt.Errorf("diff: unknown output format %q (want text, json or markdown)", f)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

func symbol(a Action) string {
	switch a {
	case Create:
		return "+"
	case Update:
		return "~"
	case Delete:
		return "-"
	}
	return "?"
}

func actionColor(a Action) string {
	switch a {
	case Create:
		return ansiGreen
	case Update:
		return ansiYellow
	}
	return ansiRed
}

// headline is the one-line description of a change, e.g.
// "plugin ai-proxy (route example-route)".
func headline(c *Change) string {
	s := string(c.Kind) + " " + c.Name
	if c.Scope != "" {
		s += " (" + c.Scope + ")"
	}
	if c.Kind == KindConfigStore && c.Action == Delete && c.ForceSecrets > 0 {
		s += fmt.Sprintf(" (force, takes %d secret%s)", c.ForceSecrets, plural(c.ForceSecrets))
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// displayValue renders a field value on one line: SafeText verbatim,
// anything else as compact JSON.
func displayValue(v any, has bool) string {
	if !has {
		return "(absent)"
	}
	if s, ok := v.(SafeText); ok {
		return string(s)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return "(unprintable)"
	}
	return string(raw)
}

// fieldLine renders a field as "path: old -> new" (update) or
// "path: new" (create).
func fieldLine(c *Change, f FieldChange) string {
	if c.Action == Create {
		return f.Path + ": " + displayValue(f.New, f.HasNew)
	}
	return f.Path + ": " + displayValue(f.Old, f.HasOld) + " -> " + displayValue(f.New, f.HasNew)
}

func summaryLine(p *Plan) string {
	s := p.Summary()
	return fmt.Sprintf("Plan: %d to create, %d to update, %d to delete.", s.Create, s.Update, s.Delete)
}

// unmanagedLine says what the plan leaves alone, e.g. "1 config store,
// 2 vaults"; empty when nothing.
func unmanagedLine(p *Plan) string {
	var parts []string
	for _, k := range []Kind{KindConfigStore, KindSecret, KindVault, KindPlugin} {
		if n := p.Unmanaged[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s%s", n, strings.ReplaceAll(string(k), "_", " "), plural(n)))
		}
	}
	return strings.Join(parts, ", ")
}

func renderText(w *bytes.Buffer, p *Plan, opts RenderOptions) {
	paint := func(color, s string) string {
		if !opts.Color {
			return s
		}
		return color + s + ansiReset
	}
	if p.Empty() {
		fmt.Fprintln(w, "No changes.")
	}
	for _, c := range p.Changes {
		fmt.Fprintf(w, "%s %s\n", paint(actionColor(c.Action), symbol(c.Action)+" "+string(c.Action)), headline(c))
		for _, f := range c.Fields {
			fmt.Fprintf(w, "    %s\n", fieldLine(c, f))
		}
	}
	if u := unmanagedLine(p); u != "" {
		fmt.Fprintf(w, "\nLeft alone (not managed by kvsync, select tags %s): %s.\n", strings.Join(p.SelectTags, ", "), u)
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintln(w)
		for _, warn := range p.Warnings {
			fmt.Fprintf(w, "%s %s\n", paint(ansiYellow, "Warning:"), warn)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, paint(ansiBold, summaryLine(p)))
}

// The JSON rendering; see the package documentation for its schema.
type jsonPlan struct {
	FormatVersion string           `json:"format_version"`
	ControlPlane  jsonControlPlane `json:"control_plane"`
	SelectTags    []string         `json:"select_tags"`
	Changes       []jsonChange     `json:"changes"`
	Summary       Summary          `json:"summary"`
	Unmanaged     map[string]int   `json:"unmanaged"`
	Warnings      []string         `json:"warnings"`
}

type jsonControlPlane struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type jsonChange struct {
	ID           int         `json:"id"`
	Action       Action      `json:"action"`
	Kind         Kind        `json:"kind"`
	Name         string      `json:"name"`
	Scope        string      `json:"scope,omitempty"`
	DependsOn    []int       `json:"depends_on"`
	Force        bool        `json:"force,omitempty"`
	ForceSecrets int         `json:"force_secrets,omitempty"`
	Fields       []jsonField `json:"fields"`
}

type jsonField struct {
	Path string          `json:"path"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// MarshalJSON renders the plan in its documented JSON form (the same as
// Render with FormatJSON), so that no serialisation of a plan can carry a
// payload's secret values.
func (p *Plan) MarshalJSON() ([]byte, error) {
	out := jsonPlan{
		FormatVersion: FormatVersion,
		ControlPlane:  jsonControlPlane{ID: p.ControlPlane.ID, Name: p.ControlPlane.Name},
		SelectTags:    append([]string{}, p.SelectTags...),
		Changes:       make([]jsonChange, 0, len(p.Changes)),
		Summary:       p.Summary(),
		Unmanaged:     map[string]int{},
		Warnings:      append([]string{}, p.Warnings...),
	}
	for _, k := range []Kind{KindConfigStore, KindVault, KindPlugin} {
		out.Unmanaged[string(k)] = p.Unmanaged[k]
	}
	for _, c := range p.Changes {
		jc := jsonChange{ID: c.ID, Action: c.Action, Kind: c.Kind, Name: c.Name, Scope: c.Scope,
			DependsOn: append([]int{}, c.DependsOn...), Fields: make([]jsonField, 0, len(c.Fields))}
		if c.ConfigStore != nil && c.Action == Delete {
			jc.Force, jc.ForceSecrets = c.ConfigStore.Force, c.ForceSecrets
		}
		for _, f := range c.Fields {
			jf := jsonField{Path: f.Path}
			var err error
			if f.HasOld {
				if jf.Old, err = json.Marshal(f.Old); err != nil {
					return nil, fmt.Errorf("change %d field %s: %w", c.ID, f.Path, err)
				}
			}
			if f.HasNew {
				if jf.New, err = json.Marshal(f.New); err != nil {
					return nil, fmt.Errorf("change %d field %s: %w", c.ID, f.Path, err)
				}
			}
			jc.Fields = append(jc.Fields, jf)
		}
		out.Changes = append(out.Changes, jc)
	}
	return json.Marshal(out)
}

// MarshalJSON keeps a lone change as safe as a plan: only display values.
func (c *Change) MarshalJSON() ([]byte, error) {
	p := &Plan{Changes: []*Change{c}}
	raw, err := p.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var whole struct {
		Changes []json.RawMessage `json:"changes"`
	}
	if err := json.Unmarshal(raw, &whole); err != nil {
		return nil, err
	}
	return whole.Changes[0], nil
}

// mdEscape escapes text for Markdown prose and table cells: HTML is
// neutralised and Markdown punctuation backslash-escaped.
func mdEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\\", "\\\\", "`", "\\`", "*", "\\*",
		"_", "\\_", "[", "\\[", "]", "\\]", "|", "\\|", "#", "\\#", "\n", " ")
	return r.Replace(s)
}

// fence returns a code fence longer than any backtick run in s.
func fence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			if run > longest {
				longest = run
			}
		} else {
			run = 0
		}
	}
	if longest < 3 {
		return "```"
	}
	return strings.Repeat("`", longest+1)
}

func renderMarkdown(w *bytes.Buffer, p *Plan) {
	title := "kvsync plan"
	if p.ControlPlane.Name != "" {
		title += " for control plane " + mdEscape(p.ControlPlane.Name)
	}
	fmt.Fprintf(w, "### %s\n\n", title)
	s := p.Summary()
	fmt.Fprintf(w, "| | Create | Update | Delete |\n| --- | ---: | ---: | ---: |\n| **Changes** | %d | %d | %d |\n\n", s.Create, s.Update, s.Delete)
	if p.Empty() {
		fmt.Fprintln(w, "No changes.")
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "| # | Action | Kind | Name | Scope | After |")
		fmt.Fprintln(w, "| ---: | --- | --- | --- | --- | --- |")
		for _, c := range p.Changes {
			deps := make([]string, len(c.DependsOn))
			for i, d := range c.DependsOn {
				deps[i] = fmt.Sprint(d)
			}
			name := mdEscape(c.Name)
			if c.Kind == KindConfigStore && c.Action == Delete && c.ForceSecrets > 0 {
				name += fmt.Sprintf(" (force, takes %d secret%s)", c.ForceSecrets, plural(c.ForceSecrets))
			}
			fmt.Fprintf(w, "| %d | %s %s | %s | %s | %s | %s |\n", c.ID, symbol(c.Action), c.Action, c.Kind, name, mdEscape(c.Scope), strings.Join(deps, ", "))
		}
		fmt.Fprintln(w)
		for _, c := range p.Changes {
			var lines []string
			for _, f := range c.Fields {
				lines = append(lines, fieldLine(c, f))
			}
			if len(lines) == 0 {
				fmt.Fprintf(w, "<details><summary>%d. %s %s %s</summary>\n\nNo fields to show.\n\n</details>\n\n", c.ID, symbol(c.Action), c.Action, html.EscapeString(headline(c)))
				continue
			}
			body := strings.Join(lines, "\n")
			fn := fence(body)
			fmt.Fprintf(w, "<details><summary>%d. %s %s %s</summary>\n\n", c.ID, symbol(c.Action), c.Action, html.EscapeString(headline(c)))
			fmt.Fprintf(w, "%stext\n%s\n%s\n\n</details>\n\n", fn, body, fn)
		}
	}
	if u := unmanagedLine(p); u != "" {
		fmt.Fprintf(w, "Left alone (not managed by kvsync, select tags %s): %s.\n\n", mdEscape(strings.Join(p.SelectTags, ", ")), u)
	}
	if len(p.Warnings) > 0 {
		for _, warn := range p.Warnings {
			fmt.Fprintf(w, "> **Warning:** %s\n", mdEscape(warn))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "**%s**\n", summaryLine(p))
}
