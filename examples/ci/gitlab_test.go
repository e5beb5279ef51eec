package ci

import (
	"fmt"
	"os"
	"os/exec"
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
	konnect *konnectState
	path    string // PATH with kvsync first
	rotated bool
}

const gitlabToken = "glpat-fake-gitlab-token-0000"

// run runs the pipeline of a source (merge_request_event, push, schedule,
// web); it returns the log and gitlab-ci-local's exit status.
func (g *glcRunner) run(name, source string, extra ...string) (string, int) {
	g.t.Helper()
	// A pipeline starts from the commit: nothing a former one left.
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
	ctx, cancel := runnerContext()
	defer cancel()
	cmd := exec.CommandContext(ctx, g.glc, append(args, extra...)...)
	cmd.Dir = g.repo.dir
	cmd.Env = append(os.Environ(), "PATH="+g.path)
	out, err := cmd.CombinedOutput()
	log := string(out)
	path := logged(g.t, name, log)
	g.t.Logf("gitlab-ci-local %s (%s): exit %d, log in %s", source, name, exitCode(err), path)
	for _, secret := range []string{mistralKey, mistralKeyRotated, fingerprintKey} {
		if strings.Contains(log, secret) {
			g.t.Fatalf("gitlab-ci-local %s (%s): a secret value is in the pipeline's log (%s)", source, name, path)
		}
	}
	return log, exitCode(err)
}

// mergeRequest runs the merge request pipeline; the plan it keeps is
// what the fake API serves as the request's artifact.
func (g *glcRunner) mergeRequest(name string, mr int) (string, int) {
	g.t.Helper()
	log, code := g.run(name, "merge_request_event")
	if code == 0 {
		plan, err := os.ReadFile(filepath.Join(g.repo.dir, ".gitlab-ci-local", "artifacts", "kvsync-plan", "plan.json"))
		if err != nil {
			g.t.Fatalf("the merge request pipeline kept no plan.json artifact: %v", err)
		}
		g.lab.planned(mr, plan)
	}
	return log, code
}

func (g *glcRunner) merge(name, branch string, mr int) (string, int) {
	g.t.Helper()
	run(g.t, g.repo.dir, nil, "git", "checkout", "-q", "main")
	run(g.t, g.repo.dir, nil, "git", "merge", "-q", "--no-ff", "-m", fmt.Sprintf("Merge branch '%s' into 'main' (!%d)", branch, mr), branch)
	run(g.t, g.repo.dir, nil, "git", "push", "-q", "origin", "main")
	g.lab.merged(run(g.t, g.repo.dir, nil, "git", "rev-parse", "HEAD"), mr)
	return g.run(name, "push")
}

func TestGitLabFileUnderGitLabCILocal(t *testing.T) {
	requireKit(t)
	g := &glcRunner{t: t, glc: tool(t, "gitlab-ci-local"), lab: newFakeGitLab(t, gitlabToken), konnect: newKonnect(t)}
	bin := t.TempDir()
	run(t, "../..", nil, "go", "build", "-o", filepath.Join(bin, "kvsync"), "./cmd/kvsync")
	g.path = bin + string(os.PathListSeparator) + os.Getenv("PATH")
	file, err := os.ReadFile("gitlab/.gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	// The one edit: Konnect is the emulator.
	ci := replaceOnce(t, string(file), "KVSYNC_KONNECT_ADDR: https://us.api.konghq.com", "KVSYNC_KONNECT_ADDR: "+g.konnect.srv.URL)
	g.repo = newRepo(t, map[string]string{".gitlab-ci.yml": ci, ".gitignore": "kvsync.sum\nplan.json\nplan.md\n.gitlab-ci-local/\n"})
	git := func(args ...string) string { return run(t, g.repo.dir, nil, "git", args...) }

	// 1. A merge request: its plan kept as artifacts.
	git("checkout", "-q", "-b", "change")
	g.repo.commit(t, "declare the tutorial", map[string]string{"kvsync.yaml": stateFile("mistral-small")})
	log, code := g.mergeRequest("mr1", 1)
	must(t, code == 0, "the merge request's plan job failed (exit %d):\n%s", code, tail(log, 40))
	must(t, strings.Contains(log, "<!-- kvsync-plan:my-control-plane -->") && strings.Contains(log, "mistral-small"), "the plan job did not print the plan:\n%s", tail(log, 40))
	must(t, g.konnect.modelName(t) == "", "a merge request changed Konnect")

	// 2. The merge applies the reviewed plan and records kvsync.sum.
	log, code = g.merge("merge1", "change", 1)
	must(t, code == 0, "the apply of the merge failed (exit %d):\n%s", code, tail(log, 40))
	must(t, strings.Contains(log, "the plan reviewed in merge request !1"), "the apply did not fetch the reviewed plan:\n%s", tail(log, 40))
	must(t, g.konnect.modelName(t) == "mistral-small", "after the merge, the plugin's model is %q, want mistral-small", g.konnect.modelName(t))
	must(t, g.konnect.secretIs(t, mistralKey), "after the merge, the secret does not hold MISTRAL_API_KEY")
	sum := g.repo.sumOnBranch(t)
	must(t, strings.Contains(sum, " my-config-store mistral-key "), "kvsync.sum was not recorded on branch kvsync-sum")
	subject := run(t, g.repo.dir, nil, "git", "--git-dir", g.repo.origin, "log", "-1", "--format=%s", "kvsync-sum")
	must(t, strings.Contains(subject, "[skip ci]"), "the kvsync.sum commit does not skip CI: %q", subject)

	// 3. The drift check: green, then red after a change made by hand.
	log, code = g.run("drift-green", "schedule")
	must(t, code == 0, "the drift check failed on a control plane that matches the files (exit %d):\n%s", code, tail(log, 40))
	g.konnect.putSecret(t, "Bearer changed-by-hand")
	log, code = g.run("drift-red", "schedule")
	must(t, code != 0, "the drift check passed after the secret was changed by hand:\n%s", tail(log, 40))
	must(t, strings.Contains(log, "changed outside kvsync"), "the drift check does not say the value was changed outside kvsync:\n%s", tail(log, 40))

	// 4. A rotation through the dispatch path (Run pipeline, KVSYNC_RUN=apply,
	// the manual job played).
	g.rotated = true
	log, code = g.run("rotate", "web", "--variable", "KVSYNC_RUN=apply", "--manual", "kvsync-apply")
	must(t, code == 0, "the dispatched apply of the rotation failed (exit %d):\n%s", code, tail(log, 40))
	must(t, g.konnect.secretIs(t, mistralKeyRotated), "after the rotation, the secret does not hold the rotated value")
	must(t, g.repo.sumOnBranch(t) != sum, "the rotation did not record kvsync.sum")
	log, code = g.run("drift-after-rotation", "schedule")
	must(t, code == 0, "the drift check failed after the rotation (exit %d):\n%s", code, tail(log, 40))

	// 5. A refused apply, then the recovery.
	git("checkout", "-q", "-b", "change2", "main")
	g.repo.commit(t, "the largest model", map[string]string{"kvsync.yaml": stateFile("mistral-large")})
	log, code = g.mergeRequest("mr2", 2)
	must(t, code == 0, "the second merge request's plan failed (exit %d):\n%s", code, tail(log, 40))
	g.konnect.touchPlugin(t, "mistral-medium")
	log, code = g.merge("merge2-refused", "change2", 2)
	must(t, code != 0, "the apply of a plan whose live state moved succeeded:\n%s", tail(log, 40))
	must(t, refused(log), "the refused apply does not say what moved:\n%s", tail(log, 40))
	must(t, g.konnect.modelName(t) == "mistral-medium", "the refused apply changed the plugin (model %q)", g.konnect.modelName(t))
	log, code = g.run("recover", "web", "--variable", "KVSYNC_RUN=apply", "--manual", "kvsync-apply")
	must(t, code == 0, "the dispatched apply after the refusal failed (exit %d):\n%s", code, tail(log, 40))
	must(t, g.konnect.modelName(t) == "mistral-large", "after the recovery, the plugin's model is %q, want mistral-large", g.konnect.modelName(t))
	log, code = g.run("drift-after-recovery", "schedule")
	must(t, code == 0, "the drift check failed after the recovery (exit %d):\n%s", code, tail(log, 40))
}
