package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
)

// progressThreshold: syncs of more operations than this show progress (on
// a terminal).
const progressThreshold = 5

// progress draws "[n/total] applying…" on one terminal line.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	total   int
	n       int
	enabled bool
}

func newProgress(w io.Writer, total int, terminal bool) *progress {
	return &progress{w: w, total: total, enabled: terminal && total > progressThreshold}
}

func (p *progress) update(apply.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.enabled {
		fmt.Fprintf(p.w, "\r[%d/%d] applying…", p.n, p.total)
	}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.enabled {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

func resultHeadline(c *diff.Change) string {
	s := string(c.Action) + " " + string(c.Kind) + " " + c.Name
	if c.Scope != "" {
		s += " (" + c.Scope + ")"
	}
	return s
}

func statusText(s apply.Status) string { return strings.ReplaceAll(string(s), "_", " ") }

func countsLine(rep *apply.Report) string {
	n := rep.Counts()
	return fmt.Sprintf("Sync: %d succeeded, %d failed, %d skipped, %d not started.",
		n[apply.Succeeded], n[apply.Failed], n[apply.Skipped], n[apply.NotStarted])
}

// jsonResult is one operation in `sync -o json`.
type jsonResult struct {
	ID         int          `json:"id"`
	Action     diff.Action  `json:"action"`
	Kind       diff.Kind    `json:"kind"`
	Name       string       `json:"name"`
	Scope      string       `json:"scope,omitempty"`
	Status     apply.Status `json:"status"`
	Error      string       `json:"error,omitempty"`
	Cause      *int         `json:"cause,omitempty"`
	DurationMS int64        `json:"duration_ms"`
}

// renderReport writes the per-operation results and a summary. The JSON
// form is one document holding the plan too. Error texts pass through
// scrub.
func renderReport(w io.Writer, p *diff.Plan, rep *apply.Report, f diff.Format, color bool, scrub func(string) string) error {
	errText := func(r apply.Result) string {
		if r.Err == nil {
			return ""
		}
		return scrub(r.Err.Error())
	}
	var buf bytes.Buffer
	switch f {
	case diff.FormatJSON:
		doc := struct {
			Plan    *diff.Plan           `json:"plan"`
			Results []jsonResult         `json:"results"`
			Summary map[apply.Status]int `json:"summary"`
		}{Plan: p, Results: []jsonResult{}, Summary: map[apply.Status]int{}}
		for _, s := range []apply.Status{apply.Succeeded, apply.Failed, apply.Skipped, apply.NotStarted} {
			doc.Summary[s] = rep.Counts()[s]
		}
		for _, r := range rep.Results {
			jr := jsonResult{ID: r.Change.ID, Action: r.Change.Action, Kind: r.Change.Kind, Name: r.Change.Name,
				Scope: r.Change.Scope, Status: r.Status, Error: errText(r), DurationMS: r.Duration.Milliseconds()}
			if r.Status == apply.Skipped {
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
	case diff.FormatMarkdown:
		if len(rep.Results) == 0 {
			break
		}
		fmt.Fprintln(&buf, "\n#### Results")
		fmt.Fprintln(&buf, "\n| # | Status | Change | Detail |\n| ---: | --- | --- | --- |")
		for _, r := range rep.Results {
			detail := strings.NewReplacer("|", "\\|", "\n", " ", "<", "&lt;", ">", "&gt;").Replace(errText(r))
			fmt.Fprintf(&buf, "| %d | %s | %s | %s |\n", r.Change.ID, statusText(r.Status),
				strings.ReplaceAll(resultHeadline(r.Change), "|", "\\|"), detail)
		}
		fmt.Fprintf(&buf, "\n**%s**\n", countsLine(rep))
	default:
		if len(rep.Results) == 0 {
			break
		}
		paint := func(code, s string) string {
			if !color {
				return s
			}
			return code + s + "\x1b[0m"
		}
		fmt.Fprintln(&buf, "\nResults:")
		for _, r := range rep.Results {
			code := "\x1b[32m"
			switch r.Status {
			case apply.Failed:
				code = "\x1b[31m"
			case apply.Skipped, apply.NotStarted:
				code = "\x1b[33m"
			}
			line := fmt.Sprintf("  %s %s", paint(code, fmt.Sprintf("%-11s", statusText(r.Status))), resultHeadline(r.Change))
			if e := errText(r); e != "" {
				line += ": " + e
			}
			fmt.Fprintln(&buf, line)
		}
		fmt.Fprintln(&buf)
		fmt.Fprintln(&buf, countsLine(rep))
	}
	_, err := w.Write(buf.Bytes())
	return err
}
