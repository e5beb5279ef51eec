package ci

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// actRunner runs the GitHub workflow with nektos/act on the host (the
// self-hosted platform: no containers), the remote actions replaced by
// local stand-ins and this repository's action by its own source.
type actRunner struct {
	t        *testing.T
	act      string
	repo     *repo
	gh       *fakeGitHub
	source   string // the action's source (kvsync/kvsync@v1.0.0)
	standins string
	runID    int
	rotated  bool
}

// run runs the workflow for an event; it returns the log and act's exit
// status.
func (a *actRunner) run(name, event string, extra ...string) (string, int) {
	a.t.Helper()
	a.runID++
	value := mistralKey
	if a.rotated {
		value = mistralKeyRotated
	}
	args := []string{event,
		"-W", ".github/workflows/kvsync.yml",
		"-P", "ubuntu-latest=-self-hosted",
		"--remote-name", "github",
		"--local-repository", "actions/checkout@v4=" + filepath.Join(a.standins, "checkout"),
		"--local-repository", "actions/upload-artifact@v4=" + filepath.Join(a.standins, "upload-artifact"),
		"--local-repository", "actions/download-artifact@v4=" + filepath.Join(a.standins, "download-artifact"),
		"--local-repository", "kvsync/kvsync@v1.0.0=" + a.source,
		"--env", "GITHUB_API_URL=" + a.gh.URL,
		"--env", fmt.Sprintf("GITHUB_RUN_ID=%d", a.runID),
		"-s", "GITHUB_TOKEN=" + githubToken,
		"-s", "KONNECT_READ_TOKEN=" + konnectToken,
		"-s", "KONNECT_TOKEN=" + konnectToken,
		"-s", "KVSYNC_FINGERPRINT_KEY=" + fingerprintKey,
		"-s", "MISTRAL_API_KEY=" + value,
	}
	return runLogged(a.t, name, a.repo.dir, nil, a.act, append(args, extra...)...)
}

func (a *actRunner) review(name string, number int, head string) (string, int) {
	a.t.Helper()
	return a.pullRequest(name, number, head, false)
}

// pullRequest runs the workflow for a push to pull request number, from a
// fork or not; a fork's run gets no secrets, as on GitHub.
func (a *actRunner) pullRequest(name string, number int, head string, fork bool) (string, int) {
	a.t.Helper()
	var extra []string
	if fork {
		extra = []string{"-s", "KONNECT_READ_TOKEN=", "-s", "KONNECT_TOKEN=", "-s", "KVSYNC_FINGERPRINT_KEY=", "-s", "MISTRAL_API_KEY="}
	}
	event := filepath.Join(a.t.TempDir(), "event.json")
	writeJSON(a.t, event, map[string]any{
		"number": number,
		"pull_request": map[string]any{
			"number": number,
			"head":   map[string]any{"sha": head, "repo": map[string]any{"fork": fork, "full_name": "acme/konnect-config"}},
			"base":   map[string]any{"ref": "main"},
		},
		"repository": map[string]any{"full_name": "acme/konnect-config", "name": "konnect-config", "owner": map[string]any{"login": "acme"}},
	})
	log, code := a.run(name, "pull_request", append([]string{"-e", event}, extra...)...)
	if code == 0 && !fork {
		a.gh.succeeded(a.runID, "pull_request", head)
	}
	return log, code
}

func (a *actRunner) checkReview(t *testing.T, log string, number, push int, model string) {
	t.Helper()
	if push == 1 {
		// The action installs kvsync: no release reachable here, so from
		// its own source, with the runner's Go.
		must(t, strings.Contains(log, "building the action's source"), "the action did not fall back to building its source:\n%s", tail(log, 40))
		must(t, strings.Contains(log, "kvsync v1.0.0 (from the source)"), "the action did not install kvsync v1.0.0 from its source:\n%s", tail(log, 40))
	}
	comments := a.gh.commentsOn(number)
	must(t, len(comments) == 1, "after push %d, pull request #%d has %d comments, want 1 (sticky)", push, number, len(comments))
	must(t, strings.Contains(comments[0].Body, "<!-- kvsync-plan:my-control-plane -->"), "the comment is not the plan:\n%s", comments[0].Body)
	must(t, strings.Contains(comments[0].Body, model), "the comment does not show the plugin's model %s:\n%s", model, comments[0].Body)
}

func (a *actRunner) merge(name, branch string, number int) (string, int) {
	a.t.Helper()
	head := run(a.t, a.repo.dir, nil, "git", "rev-parse", branch)
	mergeCommit := a.repo.merge(a.t, branch, fmt.Sprintf("Merge pull request #%d", number))
	a.gh.merged(mergeCommit, number, head)
	return a.run(name, "push")
}

func (a *actRunner) checkMerge(t *testing.T, log string, number int, head string) {
	t.Helper()
	must(t, strings.Contains(log, "downloaded artifact kvsync-plan-"+head), "the apply did not use the plan reviewed at %s:\n%s", head, tail(log, 40))
}

func (a *actRunner) schedule(name string) (string, int) { return a.run(name, "schedule") }

func (a *actRunner) dispatchApply(name string) (string, int) {
	log, code := a.run(name, "workflow_dispatch", "--input", "run=apply")
	if code == 0 {
		must(a.t, strings.Contains(log, "downloaded artifact kvsync-plan-dispatch"), "the dispatch did not apply its own plan:\n%s", tail(log, 40))
	}
	return log, code
}

func (a *actRunner) rotate() { a.rotated = true }

func TestGitHubWorkflowUnderAct(t *testing.T) {
	requireKit(t)
	k := newKonnect(t)
	a := &actRunner{t: t, act: tool(t, "act"), gh: newFakeGitHub(t, githubToken), source: actionSource(t)}
	a.standins, _ = filepath.Abs("testdata/actions")
	workflow, err := os.ReadFile("github-actions/kvsync.yml")
	if err != nil {
		t.Fatal(err)
	}
	// The one edit: Konnect is the emulator.
	wf := replaceOnce(t, string(workflow), "KVSYNC_KONNECT_ADDR: https://us.api.konghq.com", "KVSYNC_KONNECT_ADDR: "+k.srv.URL)
	a.repo = newRepo(t, map[string]string{".github/workflows/kvsync.yml": wf, ".gitignore": "kvsync.sum\nplan.json\nplan.md\n"})
	runScenario(t, a, k, a.repo)

	// A pull request from a fork: no token, so the offline checks and a
	// job summary that says why; no comment (its token could not write).
	run(t, a.repo.dir, nil, "git", "checkout", "-q", "-b", "fork", "main")
	head := a.repo.commit(t, "from a fork", map[string]string{"kvsync.yaml": stateFile("mistral-fork")})
	log, code := a.pullRequest("fork", 3, head, true)
	must(t, code == 0, "a fork's pull request failed (exit %d):\n%s", code, tail(log, 40))
	must(t, strings.Contains(log, "no plan: this run has no Konnect token"), "a fork's run does not say why it has no plan:\n%s", tail(log, 40))
	must(t, len(a.gh.commentsOn(3)) == 0, "a fork's pull request got a comment")
}
