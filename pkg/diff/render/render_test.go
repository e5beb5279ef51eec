package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/difftest"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func everyChangePlan(t *testing.T) *diff.Plan {
	t.Helper()
	f, l := difftest.EveryChange()
	// The Mistral key was rotated since kvsync last wrote it.
	tracked := difftest.TrackedSum(f, l)
	id := sum.ID{ControlPlaneID: l.ControlPlane.ID, Store: "my-config-store", Key: "mistral-key"}
	tracked.Set(id, sum.Entry{Fingerprint: tracked.Fingerprint(id, "the old key")})
	p, err := diff.Compute(f, l, diff.Options{Sum: tracked, Adopt: true})
	if err != nil {
		t.Fatalf("diff.Compute: %v", err)
	}
	p.SumFile = "envs/kvsync.sum"
	return p
}

func renderPlan(t *testing.T, p *diff.Plan, f Format, opts Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Plan(&buf, p, f, opts); err != nil {
		t.Fatalf("Render %s: %v", f, err)
	}
	return buf.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/diff -run %s -update to create it)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got); rerun with -update if intended:\n%s", file, diff)
	}
}

func TestRenderGolden(t *testing.T) {
	p := everyChangePlan(t)
	empty, err := diff.Compute(difftest.SeedFile(), difftest.SeededLive(), diff.Options{Sum: difftest.TrackedSum(difftest.SeedFile(), difftest.SeededLive())})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing found, but the key the record was made with is missing: not
	// a clean drift check, and every format says so.
	keyless, err := sum.Parse(sum.New([]byte(difftest.FingerprintKey)).Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	uncompared, err := diff.Compute(difftest.SeedFile(), difftest.SeededLive(), diff.Options{Sum: keyless})
	if err != nil {
		t.Fatal(err)
	}
	uncompared.SumFile = "kvsync.sum"
	for _, tc := range []struct {
		name   string
		plan   *diff.Plan
		format Format
	}{
		{"uncompared.txt", uncompared, Text},
		{"uncompared.json", uncompared, JSON},
		{"uncompared.md", uncompared, Markdown},
		{"plan.txt", p, Text},
		{"plan.json", p, JSON},
		{"plan.md", p, Markdown},
		{"empty.txt", empty, Text},
		{"empty.json", empty, JSON},
		{"empty.md", empty, Markdown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, renderPlan(t, tc.plan, tc.format, Options{}))
		})
	}
}

func TestRenderTextColor(t *testing.T) {
	p := everyChangePlan(t)
	plain := renderPlan(t, p, Text, Options{})
	if strings.Contains(plain, "\x1b[") {
		t.Error("text without Color contains ANSI escapes")
	}
	colored := renderPlan(t, p, Text, Options{Color: true})
	for _, want := range []string{ansiGreen + "+ create" + ansiReset, ansiYellow + "~ update" + ansiReset, ansiRed + "- delete" + ansiReset} {
		if !strings.Contains(colored, want) {
			t.Errorf("coloured text lacks %q", want)
		}
	}
	stripped := strings.NewReplacer(ansiReset, "", ansiBold, "", ansiRed, "", ansiGreen, "", ansiYellow, "").Replace(colored)
	if stripped != plain {
		t.Error("coloured text differs from plain text beyond the escapes")
	}
}

func TestRenderJSONSchema(t *testing.T) {
	p := everyChangePlan(t)
	var doc struct {
		FormatVersion string `json:"format_version"`
		Changes       []struct {
			ID        int    `json:"id"`
			Action    string `json:"action"`
			Kind      string `json:"kind"`
			Name      string `json:"name"`
			DependsOn []int  `json:"depends_on"`
			Fields    []struct {
				Path string           `json:"path"`
				Old  *json.RawMessage `json:"old"`
				New  *json.RawMessage `json:"new"`
			} `json:"fields"`
		} `json:"changes"`
		Summary   diff.Summary   `json:"summary"`
		Unmanaged map[string]int `json:"unmanaged"`
	}
	if err := json.Unmarshal([]byte(renderPlan(t, p, JSON, Options{})), &doc); err != nil {
		t.Fatalf("JSON rendering does not parse: %v", err)
	}
	if doc.FormatVersion != diff.FormatVersion {
		t.Errorf("format_version = %q", doc.FormatVersion)
	}
	if len(doc.Changes) != len(p.Changes) || doc.Summary != p.Summary() {
		t.Errorf("JSON has %d changes and summary %+v; plan has %d and %+v", len(doc.Changes), doc.Summary, len(p.Changes), p.Summary())
	}
	for i, c := range doc.Changes {
		if c.ID != i || c.Action != string(p.Changes[i].Action) || c.DependsOn == nil {
			t.Errorf("change %d: id %d action %q depends_on %v", i, c.ID, c.Action, c.DependsOn)
		}
	}
	// json.Marshal of the diff.Plan value is the same document.
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal(raw, &a)
	_ = json.Unmarshal([]byte(renderPlan(t, p, JSON, Options{})), &b)
	if !cmp.Equal(a, b) {
		t.Error("json.Marshal(plan) differs from the JSON rendering")
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	if err := Plan(&bytes.Buffer{}, &diff.Plan{}, "yaml", Options{}); err == nil {
		t.Error("Render accepted an unknown format")
	}
}

// TestNoSecretInAnyOutput is the canary test: distinctive secret values,
// environment values and old live values of sensitive fields never appear
// in any rendering, nor in any formatting or serialisation of the plan.
func TestNoSecretInAnyOutput(t *testing.T) {
	p := everyChangePlan(t)
	outputs := map[string]string{}
	for _, f := range []Format{Text, JSON, Markdown} {
		outputs[string(f)] = renderPlan(t, p, f, Options{})
		outputs[string(f)+"+color"] = renderPlan(t, p, f, Options{Color: true})
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json.Marshal(plan)"] = string(raw)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		outputs[verb+" plan"] = fmt.Sprintf(verb, p)
		outputs[verb+" *plan"] = fmt.Sprintf(verb, *p)
		for _, c := range p.Changes {
			outputs[fmt.Sprintf("%s change %d", verb, c.ID)] = fmt.Sprintf(verb, *c)
			for _, payload := range []any{c.Op, *c} {
				outputs[fmt.Sprintf("%s payload %d", verb, c.ID)] += fmt.Sprintf(verb, payload)
			}
			raw, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			outputs[fmt.Sprintf("json change %d", c.ID)] = string(raw)
		}
	}
	for name, out := range outputs {
		for _, canary := range difftest.Canaries {
			if strings.Contains(out, canary) {
				// Print which canary and where, never the output itself.
				t.Errorf("output %q contains a canary secret value (#%d)", name, indexOf(difftest.Canaries, canary))
			}
		}
	}
	// The redactions are visible where the values would have been.
	text := outputs["text"]
	for _, want := range []string{
		"value: (from env OPENAI_API_KEY)",
		"value: (sensitive)",
		"config.redis.password: (sensitive) -> (from env REDIS_PASSWORD, changed)",
		`config.auth.header_value: (sensitive) -> "{vault://mysecretvault/mistral-key}"`,
		"config.token: (sensitive) -> (from env VAULT_TOKEN, changed)",
		"~ update secret my-config-store/mistral-key (value changed)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text rendering lacks %q", want)
		}
	}
}

func indexOf(list []string, s string) int {
	for i, e := range list {
		if e == s {
			return i
		}
	}
	return -1
}

// TestMarkdownLargePlanFitsAComment: a plan too long for a pull request
// comment is cut under GitHub's limit, saying how much was left out, and
// keeps its verdict, target, notes and marker.
func TestMarkdownLargePlanFitsAComment(t *testing.T) {
	f, l := difftest.SeedFile(), difftest.EmptyLive()
	for i := range 1500 {
		f.ConfigStores[0].Secrets = append(f.ConfigStores[0].Secrets,
			state.Secret{Key: fmt.Sprintf("key-%04d", i), Value: state.NewSensitive("fake", "SECRET_"+fmt.Sprint(i))})
	}
	p, err := diff.Compute(f, l, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.Address = "https://us.api.konghq.com"
	md := renderPlan(t, p, Markdown, Options{})
	if len(md) > CommentLimit {
		t.Errorf("the Markdown plan has %d bytes, over the comment limit %d", len(md), CommentLimit)
	}
	for _, want := range []string{"### kvsync plan: 1504 to create, 0 to update, 0 to delete\n",
		"Target: control plane my-control-plane (id cp-1) at https://us.api.konghq.com, select tags kvsync.",
		"_The plan is too long for a comment: ", "<!-- kvsync-plan:my-control-plane -->\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("the cut plan lacks %q", want)
		}
	}
	golden(t, "large.md", md)
}

// A sync's results, in every format: the numbers match the plan's (from 1),
// a failure shows its scrubbed error, a skip names what it waited on.
func TestReportGolden(t *testing.T) {
	p := everyChangePlan(t)
	if len(p.Changes) < 4 {
		t.Fatalf("the plan has %d changes; the test needs 4", len(p.Changes))
	}
	rep := &diff.Report{}
	for i, c := range p.Changes {
		r := diff.Result{Change: c, Status: diff.NotStarted}
		switch i {
		case 0, 1:
			r.Status = diff.Succeeded
		case 2:
			r.Status, r.Err = diff.Failed, errors.New("konnect: 400 Bad Request: kpat_FAKEtoken0000 was echoed")
		case 3:
			r.Status, r.Cause = diff.Skipped, 2
			r.Err = errors.New("depends on failed " + p.Changes[2].String())
		}
		rep.Results = append(rep.Results, r)
	}
	scrub := func(s string) string { return strings.ReplaceAll(s, "kpat_FAKEtoken0000", "(a token, not shown)") }
	for _, tc := range []struct {
		name   string
		format Format
	}{
		{"report.txt", Text},
		{"report.json", JSON},
		{"report.md", Markdown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Report(&buf, p, rep, tc.format, Options{Scrub: scrub}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(buf.String(), "kpat_FAKE") {
				t.Error("the report shows an error text unscrubbed")
			}
			golden(t, tc.name, buf.String())
		})
	}
}
