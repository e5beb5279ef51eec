package ci

import (
	"fmt"
	"os"
	"os/exec"
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
	konnect  *konnectState
	source   string // the action's source (kvsync/kvsync@v1.0.0)
	runID    int
	rotated  bool
	standins string
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
	ctx, cancel := runnerContext()
	defer cancel()
	cmd := exec.CommandContext(ctx, a.act, append(args, extra...)...)
	cmd.Dir = a.repo.dir
	out, err := cmd.CombinedOutput()
	log := string(out)
	path := logged(a.t, name, log)
	a.t.Logf("act %s (%s): exit %d, log in %s", event, name, exitCode(err), path)
	for _, secret := range []string{mistralKey, mistralKeyRotated, fingerprintKey} {
		if strings.Contains(log, secret) {
			a.t.Fatalf("act %s (%s): a secret value is in the run's log (%s)", event, name, path)
		}
	}
	return log, exitCode(err)
}

// pullRequest runs the workflow for a push to pull request number.
func (a *actRunner) pullRequest(name string, number int, head string) (string, int) {
	a.t.Helper()
	event := filepath.Join(a.t.TempDir(), "event.json")
	writeJSON(a.t, event, map[string]any{
		"number": number,
		"pull_request": map[string]any{
			"number": number,
			"head":   map[string]any{"sha": head, "ref": "change", "repo": map[string]any{"fork": false, "full_name": "acme/konnect-config"}},
			"base":   map[string]any{"ref": "main"},
		},
		"repository": map[string]any{"full_name": "acme/konnect-config", "name": "konnect-config", "owner": map[string]any{"login": "acme"}},
	})
	log, code := a.run(name, "pull_request", "-e", event)
	if code == 0 {
		a.gh.succeeded(a.runID, "pull_request", head)
	}
	return log, code
}

// mergePR merges branch into main as pull request number and runs the
// push workflow.
func (a *actRunner) mergePR(name, branch string, number int) (string, int) {
	a.t.Helper()
	head := run(a.t, a.repo.dir, nil, "git", "rev-parse", branch)
	run(a.t, a.repo.dir, nil, "git", "checkout", "-q", "main")
	run(a.t, a.repo.dir, nil, "git", "merge", "-q", "--no-ff", "-m", fmt.Sprintf("Merge pull request #%d", number), branch)
	run(a.t, a.repo.dir, nil, "git", "push", "-q", "origin", "main")
	a.gh.merged(run(a.t, a.repo.dir, nil, "git", "rev-parse", "HEAD"), number, head)
	return a.run(name, "push")
}

func TestGitHubWorkflowUnderAct(t *testing.T) {
	requireKit(t)
	a := &actRunner{t: t, act: tool(t, "act"), gh: newFakeGitHub(t, githubToken), konnect: newKonnect(t), source: actionSource(t)}
	a.standins, _ = filepath.Abs("testdata/actions")
	workflow, err := os.ReadFile("github-actions/kvsync.yml")
	if err != nil {
		t.Fatal(err)
	}
	// The one edit: Konnect is the emulator.
	wf := replaceOnce(t, string(workflow), "KVSYNC_KONNECT_ADDR: https://us.api.konghq.com", "KVSYNC_KONNECT_ADDR: "+a.konnect.srv.URL)
	a.repo = newRepo(t, map[string]string{".github/workflows/kvsync.yml": wf, "README.md": "konnect config\n"})
	git := func(args ...string) string { return run(t, a.repo.dir, nil, "git", args...) }

	// 1. A pull request: its plan as the sticky comment, plan.json kept.
	git("checkout", "-q", "-b", "change")
	head := a.repo.commit(t, "declare the tutorial", map[string]string{"kvsync.yaml": stateFile("mistral-tiny")})
	log, code := a.pullRequest("pr1-push1", 1, head)
	must(t, code == 0, "the pull request's plan job failed (exit %d):\n%s", code, tail(log, 40))
	must(t, strings.Contains(log, "building the action's source"), "the action did not fall back to building its source:\n%s", tail(log, 40))
	must(t, strings.Contains(log, "kvsync v1.0.0 (from the source)"), "the action did not install kvsync v1.0.0 from its source:\n%s", tail(log, 40))
	comments := a.gh.commentsOn(1)
	must(t, len(comments) == 1, "after the first push, pull request #1 has %d comments, want 1", len(comments))
	must(t, strings.Contains(comments[0].Body, "<!-- kvsync-plan:my-control-plane -->") && strings.Contains(comments[0].Body, "create"),
		"the comment is not the plan:\n%s", comments[0].Body)
	must(t, strings.Contains(comments[0].Body, "mistral-tiny"), "the comment does not show the plugin's model")

	// A second push to the pull request: the same comment, updated.
	head = a.repo.commit(t, "a bigger model", map[string]string{"kvsync.yaml": stateFile("mistral-small")})
	log, code = a.pullRequest("pr1-push2", 1, head)
	must(t, code == 0, "the pull request's second plan failed (exit %d):\n%s", code, tail(log, 40))
	comments = a.gh.commentsOn(1)
	must(t, len(comments) == 1, "after the second push, pull request #1 has %d comments, want 1 (sticky)", len(comments))
	must(t, strings.Contains(comments[0].Body, "mistral-small"), "the sticky comment was not updated to the new plan")
	must(t, a.gh.edits == 1, "the comment was edited %d times, want 1", a.gh.edits)
	must(t, a.konnect.modelName(t) == "", "a pull request changed Konnect")

	// 2. The merge applies exactly the reviewed plan, and records kvsync.sum
	// on its branch.
	log, code = a.mergePR("merge1", "change", 1)
	must(t, code == 0, "the apply of the merge failed (exit %d):\n%s", code, tail(log, 40))
	must(t, strings.Contains(log, "downloaded artifact kvsync-plan-"+head), "the apply did not use the reviewed plan of %s:\n%s", head, tail(log, 40))
	must(t, a.konnect.modelName(t) == "mistral-small", "after the merge, the plugin's model is %q, want mistral-small", a.konnect.modelName(t))
	must(t, a.konnect.secretIs(t, mistralKey), "after the merge, the secret does not hold MISTRAL_API_KEY")
	sum := a.repo.sumOnBranch(t)
	must(t, strings.Contains(sum, " my-config-store mistral-key "), "kvsync.sum was not recorded on branch kvsync-sum")
	mainLog := git("--git-dir", a.repo.origin, "log", "--format=%s", "main")
	must(t, !strings.Contains(mainLog, "kvsync.sum"), "the apply pushed to main:\n%s", mainLog)

	// 3. The scheduled drift check: green, then red after a change made
	// outside kvsync.
	log, code = a.run("drift-green", "schedule")
	must(t, code == 0, "the drift check failed on a control plane that matches the files (exit %d):\n%s", code, tail(log, 40))
	a.konnect.putSecret(t, "Bearer changed-by-hand")
	log, code = a.run("drift-red", "schedule")
	must(t, code != 0, "the drift check passed after the secret was changed by hand:\n%s", tail(log, 40))
	must(t, strings.Contains(log, "changed outside kvsync"), "the drift check does not say the value was changed outside kvsync:\n%s", tail(log, 40))

	// 4. A rotation through the dispatch path: the CI secret changes, a
	// dispatch plans and applies it (and repairs the change by hand).
	a.rotated = true
	log, code = a.run("rotate", "workflow_dispatch", "--input", "run=apply")
	must(t, code == 0, "the dispatch apply of the rotation failed (exit %d):\n%s", code, tail(log, 40))
	must(t, strings.Contains(log, "downloaded artifact kvsync-plan-dispatch"), "the dispatch did not apply its own plan:\n%s", tail(log, 40))
	must(t, a.konnect.secretIs(t, mistralKeyRotated), "after the rotation, the secret does not hold the rotated value")
	must(t, a.repo.sumOnBranch(t) != sum, "the rotation did not record kvsync.sum")
	log, code = a.run("drift-after-rotation", "schedule")
	must(t, code == 0, "the drift check failed after the rotation (exit %d):\n%s", code, tail(log, 40))

	// 5. A refused apply: the live state moves between review and merge;
	// nothing is written, and a dispatch recovers.
	git("checkout", "-q", "-b", "change2", "main")
	head = a.repo.commit(t, "the largest model", map[string]string{"kvsync.yaml": stateFile("mistral-large")})
	log, code = a.pullRequest("pr2", 2, head)
	must(t, code == 0, "the second pull request's plan failed (exit %d):\n%s", code, tail(log, 40))
	a.konnect.touchPlugin(t, "mistral-medium")
	log, code = a.mergePR("merge2-refused", "change2", 2)
	must(t, code != 0, "the apply of a plan whose live state moved succeeded:\n%s", tail(log, 40))
	must(t, refused(log), "the refused apply does not say what moved:\n%s", tail(log, 40))
	must(t, a.konnect.modelName(t) == "mistral-medium", "the refused apply changed the plugin (model %q)", a.konnect.modelName(t))
	log, code = a.run("recover", "workflow_dispatch", "--input", "run=apply")
	must(t, code == 0, "the dispatch apply after the refusal failed (exit %d):\n%s", code, tail(log, 40))
	must(t, a.konnect.modelName(t) == "mistral-large", "after the recovery, the plugin's model is %q, want mistral-large", a.konnect.modelName(t))
	log, code = a.run("drift-after-recovery", "schedule")
	must(t, code == 0, "the drift check failed after the recovery (exit %d):\n%s", code, tail(log, 40))
}
