package ci

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// glcRunner runs the GitLab file with gitlab-ci-local's shell executor in
// the work clone, kvsync on PATH (as the image or the runner would have it).
type glcRunner struct {
	t       *testing.T
	glc     string
	repo    *repo
	lab     *fakeGitLab
	path    string // PATH with kvsync first
	rotated bool
}

const gitlabToken = "glpat-fake-gitlab-token-0000"

// run runs the pipeline of a source (merge_request_event, push, schedule,
// web); it returns the log and gitlab-ci-local's exit status.
func (g *glcRunner) run(name, source string, extra ...string) (string, int) {
	g.t.Helper()
	// The shell executor runs in the work clone: a pipeline starts from
	// the commit, without what a former one left.
	run(g.t, g.repo.dir, nil, "git", "clean", "-fdxq")
	value := mistralKey
	if g.rotated {
		value = mistralKeyRotated
	}
	args := []string{"--force-shell-executor", "--no-color",
		"--variable", "CI_PIPELINE_SOURCE=" + source,
		"--variable", "CI_API_V4_URL=" + g.lab.URL + "/api/v4",
		"--variable", "SUM_REMOTE=" + g.repo.origin,
		"--variable", "KONNECT_READ_TOKEN=" + konnectToken,
		"--variable", "KONNECT_TOKEN=" + konnectToken,
		"--variable", "GITLAB_TOKEN=" + gitlabToken,
		"--variable", "KVSYNC_FINGERPRINT_KEY=" + fingerprintKey,
		"--variable", "MISTRAL_API_KEY=" + value,
	}
	return runLogged(g.t, name, g.repo.dir, []string{"PATH=" + g.path}, g.glc, append(args, extra...)...)
}

// review runs the merge request pipeline; the plan it keeps is what the
// fake API serves as the request's artifact.
func (g *glcRunner) review(name string, number int, _ string) (string, int) {
	g.t.Helper()
	log, code := g.run(name, "merge_request_event")
	if code == 0 {
		plan, err := os.ReadFile(filepath.Join(g.repo.dir, ".gitlab-ci-local", "artifacts", "kvsync-plan", "plan.json"))
		if err != nil {
			g.t.Fatalf("the merge request pipeline kept no plan.json artifact: %v", err)
		}
		g.lab.planned(number, plan)
	}
	return log, code
}

func (g *glcRunner) checkReview(t *testing.T, log string, _, _ int, model string) {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(g.repo.dir, ".gitlab-ci-local", "artifacts", "kvsync-plan", "plan.md"))
	must(t, err == nil, "the merge request pipeline kept no plan.md artifact: %v", err)
	must(t, strings.Contains(string(md), "<!-- kvsync-plan:my-control-plane -->") && strings.Contains(string(md), model),
		"plan.md is not the plan with the model %s:\n%s", model, md)
}

func (g *glcRunner) merge(name, branch string, number int) (string, int) {
	g.t.Helper()
	g.lab.merged(g.repo.merge(g.t, branch, fmt.Sprintf("Merge branch '%s' into 'main' (!%d)", branch, number)), number)
	return g.run(name, "push")
}

func (g *glcRunner) checkMerge(t *testing.T, log string, number int, _ string) {
	t.Helper()
	must(t, strings.Contains(log, fmt.Sprintf("the plan reviewed in merge request !%d", number)), "the apply did not fetch the reviewed plan:\n%s", tail(log, 40))
}

func (g *glcRunner) schedule(name string) (string, int) { return g.run(name, "schedule") }

// dispatchApply: "Run pipeline" with KVSYNC_RUN=apply, the manual apply
// job played.
func (g *glcRunner) dispatchApply(name string) (string, int) {
	return g.run(name, "web", "--variable", "KVSYNC_RUN=apply", "--manual", "kvsync-apply")
}

func (g *glcRunner) rotate() { g.rotated = true }

func TestGitLabFileUnderGitLabCILocal(t *testing.T) {
	requireKit(t)
	k := newKonnect(t)
	g := &glcRunner{t: t, glc: tool(t, "gitlab-ci-local"), lab: newFakeGitLab(t, gitlabToken)}
	bin := t.TempDir()
	run(t, "../..", nil, "go", "build", "-o", filepath.Join(bin, "kvsync"), "./cmd/kvsync")
	g.path = bin + string(os.PathListSeparator) + os.Getenv("PATH")
	file, err := os.ReadFile("gitlab/.gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	// The one edit: Konnect is the emulator.
	ci := replaceOnce(t, string(file), "KVSYNC_KONNECT_ADDR: https://us.api.konghq.com", "KVSYNC_KONNECT_ADDR: "+k.srv.URL)
	g.repo = newRepo(t, map[string]string{".gitlab-ci.yml": ci, ".gitignore": "kvsync.sum\nplan.json\nplan.md\n.gitlab-ci-local/\n"})
	runScenario(t, g, k, g.repo)
}
