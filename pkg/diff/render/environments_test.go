package render

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/difftest"
)

// Three environments in every format: one planned with every kind of
// change, one in sync, one that failed; as a plan and as a sync.
func TestEnvironmentsGolden(t *testing.T) {
	p := everyChangePlan(t)
	empty, err := diff.Compute(difftest.SeedFile(), difftest.SeededLive(), diff.Options{Sum: difftest.TrackedSum(difftest.SeedFile(), difftest.SeededLive())})
	if err != nil {
		t.Fatal(err)
	}
	rep := &diff.Report{}
	for i, c := range p.Changes {
		r := diff.Result{Change: c, Status: diff.Succeeded}
		if i == 1 {
			r.Status, r.Err = diff.Failed, errors.New("konnect: 400 Bad Request: kpat_FAKEtoken0000 was echoed")
		}
		rep.Results = append(rep.Results, r)
	}
	scrub := func(s string) string { return strings.ReplaceAll(s, "kpat_FAKEtoken0000", "(a token, not shown)") }
	planned := []Section{
		{Name: "dev", Plan: p},
		{Name: "staging", Plan: empty},
		{Name: "prod", Err: errors.New(`control plane "prod-cp": not found (kpat_FAKEtoken0000)`)},
	}
	synced := []Section{
		{Name: "dev", Plan: p, Report: rep, Err: errors.New("1 operation failed")},
		{Name: "staging", Plan: empty, Report: &diff.Report{}},
		{Name: "prod", Err: errors.New("the reviewed plan no longer holds; nothing was applied")},
	}
	for _, tc := range []struct {
		name     string
		sections []Section
		sync     bool
		format   Format
	}{
		{"environments.txt", planned, false, Text},
		{"environments.json", planned, false, JSON},
		{"environments.md", planned, false, Markdown},
		{"environments-sync.txt", synced, true, Text},
		{"environments-sync.json", synced, true, JSON},
		{"environments-sync.md", synced, true, Markdown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Environments(&buf, tc.sections, tc.sync, tc.format, Options{Scrub: scrub}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if strings.Contains(out, "kpat_FAKE") {
				t.Error("an error text shows unscrubbed")
			}
			if tc.format == Markdown {
				if n := strings.Count(out, "<!-- kvsync-plan:"); n != 1 {
					t.Errorf("the comment has %d markers, want 1", n)
				}
				if !strings.HasSuffix(out, "<!-- kvsync-plan:environments:dev,staging,prod -->\n") {
					t.Error("the comment does not end with the environments' marker")
				}
			}
			golden(t, tc.name, out)
		})
	}
	if got := (Section{Name: "dev", Plan: p, Report: rep, Err: errors.New("x")}).Outcome(true); got != "partial" {
		t.Errorf("a sync with some operations applied is %q, want partial", got)
	}
}

// A comment of many large plans stays within the comment limit.
func TestEnvironmentsMarkdownFitsAComment(t *testing.T) {
	p := everyChangePlan(t)
	var secs []Section
	for _, n := range []string{"a", "b", "c"} {
		secs = append(secs, Section{Name: n, Plan: p})
	}
	var buf bytes.Buffer
	if err := Environments(&buf, secs, false, Markdown, Options{MarkdownLimit: 3000}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 3000 {
		t.Errorf("%d bytes, over the limit 3000", buf.Len())
	}
	if !strings.Contains(buf.String(), "The plan is too long for a comment") {
		t.Error("no section says it was cut")
	}
}
