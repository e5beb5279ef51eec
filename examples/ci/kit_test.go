package ci

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

const (
	konnectToken = "kpat_emulator_fake_token"
	githubToken  = "ghs_fake_github_token_0000"
	// The secret values of the scenario: fake, and never printed.
	mistralKey        = "fake-mistral-key-1111"
	mistralKeyRotated = "fake-mistral-key-2222"
	fingerprintKey    = "fake-fingerprint-key-3333"
)

// tool finds a runner installed by `make ci-tools`, or fails saying so:
// the kit's test never passes without its runners.
func tool(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("KVSYNC_TOOLS")
	if dir == "" {
		dir = "../../bin/tools"
	}
	path, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is not installed in %s (%v): `make ci-tools` installs it; the CI kit cannot be tested without it", name, dir, err)
	}
	return path
}

// requireKit skips unless `make test-ci-kit` runs the test, which installs
// the runners first: a plain `go test ./...` has no act or gitlab-ci-local.
func requireKit(t *testing.T) {
	t.Helper()
	if os.Getenv("KVSYNC_CI_KIT") != "1" {
		t.Skip("the CI kit runs under real CI runners: `make test-ci-kit` installs them and runs this test (KVSYNC_CI_KIT=1)")
	}
	for _, prog := range []string{"git", "curl", "jq", "zip", "unzip", "rsync"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Fatalf("%s is not installed: the CI kit's runs need it (make ci-tools installs rsync; the others come with the machine)", prog)
		}
	}
}

// run runs a command in dir, failing the test with its output.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// copyTree copies the files under src (those keep returns true for) to dst.
func copyTree(t *testing.T, src, dst string, keep func(rel string, d fs.DirEntry) bool) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if rel != "." && !keep(rel, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// actionSource is the action as a user's workflow gets it: the repository's
// sources, without build outputs and tools.
func actionSource(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	copyTree(t, "../..", dst, func(rel string, d fs.DirEntry) bool {
		top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		switch top {
		case "go.mod", "go.sum", "action.yml", "README.md":
			return true
		case "cmd", "pkg":
			return !strings.Contains(filepath.ToSlash(rel), "/testdata")
		}
		return false
	})
	return dst
}

// konnectState reads what the scenario checks, never a value.
type konnectState struct {
	srv    *konnecttest.Server
	client *konnect.Client
	cpID   string
}

func newKonnect(t *testing.T) *konnectState {
	srv := konnecttest.NewServer(konnecttest.Options{Token: konnectToken, Preload: "tutorial"})
	t.Cleanup(srv.Close)
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: konnectToken, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	return &konnectState{srv: srv, client: c, cpID: srv.ControlPlaneID("my-control-plane")}
}

func (k *konnectState) storeID(t *testing.T) string {
	t.Helper()
	stores, err := k.client.ConfigStores.List(context.Background(), k.cpID, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		if s.Name == "my-config-store" {
			return s.ID
		}
	}
	t.Fatal("no config store my-config-store in Konnect")
	return ""
}

// secretIs reports whether the stored secret is "Bearer "+want, without
// ever printing either.
func (k *konnectState) secretIs(t *testing.T, want string) bool {
	t.Helper()
	got, ok := k.srv.SecretValue(k.cpID, k.storeID(t), "mistral-key")
	return ok && got == "Bearer "+want
}

// putSecret changes the secret out of band, as someone in the UI would.
func (k *konnectState) putSecret(t *testing.T, value string) {
	t.Helper()
	if _, err := k.client.Secrets.Update(context.Background(), k.cpID, k.storeID(t), "mistral-key", konnect.Plaintext(value)); err != nil {
		t.Fatal(err)
	}
}

// modelName is the ai-proxy plugin's model, "" when there is no plugin.
func (k *konnectState) modelName(t *testing.T) string {
	t.Helper()
	plugins, err := k.client.Plugins.List(context.Background(), k.cpID, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plugins {
		if p.Name == "ai-proxy" {
			if m, ok := p.Config["model"].(map[string]any); ok {
				name, _ := m["name"].(string)
				return name
			}
		}
	}
	return ""
}

// touchPlugin changes the ai-proxy plugin's model out of band (someone in
// the UI): the live state a reviewed plan read has moved.
func (k *konnectState) touchPlugin(t *testing.T, model string) {
	t.Helper()
	plugins, err := k.client.Plugins.List(context.Background(), k.cpID, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plugins {
		if m, ok := p.Config["model"].(map[string]any); ok && p.Name == "ai-proxy" {
			m["name"] = model
			if _, err := k.client.Plugins.Upsert(context.Background(), k.cpID, p); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatal("no ai-proxy plugin in Konnect")
}

// repo is the user's repository: a work clone and its origin.
type repo struct {
	dir, origin string
}

func newRepo(t *testing.T, files map[string]string) *repo {
	t.Helper()
	root := t.TempDir()
	r := &repo{dir: filepath.Join(root, "work"), origin: filepath.Join(root, "origin.git")}
	run(t, root, nil, "git", "init", "-q", "--bare", "-b", "main", r.origin)
	// As GitLab does: push options (-o ci.skip).
	run(t, r.origin, nil, "git", "config", "receive.advertisePushOptions", "true")
	run(t, root, nil, "git", "init", "-q", "-b", "main", r.dir)
	run(t, r.dir, nil, "git", "config", "user.name", "Test")
	run(t, r.dir, nil, "git", "config", "user.email", "test@example.com")
	run(t, r.dir, nil, "git", "remote", "add", "origin", r.origin)
	// act reads the repository's name from this remote (--remote-name).
	run(t, r.dir, nil, "git", "remote", "add", "github", "https://github.com/acme/konnect-config.git")
	r.commit(t, "initial", files)
	run(t, r.dir, nil, "git", "push", "-q", "origin", "main")
	return r
}

// commit writes files on the current branch and commits them; it returns
// the commit.
func (r *repo) commit(t *testing.T, msg string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(r.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, r.dir, nil, "git", "add", "-A")
	run(t, r.dir, nil, "git", "commit", "-q", "-m", msg)
	return run(t, r.dir, nil, "git", "rev-parse", "HEAD")
}

// merge merges branch into main with a merge commit, pushes main and
// returns the merge commit.
func (r *repo) merge(t *testing.T, branch, msg string) string {
	t.Helper()
	run(t, r.dir, nil, "git", "checkout", "-q", "main")
	run(t, r.dir, nil, "git", "merge", "-q", "--no-ff", "-m", msg, branch)
	run(t, r.dir, nil, "git", "push", "-q", "origin", "main")
	return run(t, r.dir, nil, "git", "rev-parse", "HEAD")
}

// sumOnBranch is kvsync.sum as recorded on origin's kvsync-sum branch.
func (r *repo) sumOnBranch(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("git", "--git-dir", r.origin, "show", "kvsync-sum:kvsync.sum")
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// stateFile is the scenario's kvsync.yaml: the tutorial's, with the
// plugin's model and the vault's description as the changes.
func stateFile(model string) string {
	data, err := os.ReadFile("../mistral-ai-proxy/kvsync.yaml")
	if err != nil {
		panic(err)
	}
	return strings.Replace(string(data), "name: mistral-tiny", "name: "+model, 1)
}

// replaceOnce replaces old in s, which must contain it exactly once (the
// test's edits of the example files fail loudly when the files change).
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("the example file has %d copies of %q, want 1", n, old)
	}
	return strings.Replace(s, old, new, 1)
}

// refused reports whether a log shows sync --plan refusing a plan whose
// live state moved since the review.
func refused(log string) bool {
	return strings.Contains(log, "changed since the plan was made") || strings.Contains(log, "differs from the reviewed one")
}

// must fails the test when a step of the scenario did not hold.
func must(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf(format, args...)
	}
}

// logged writes a run's log to the test's log directory and says where,
// so that a failure shows the run without flooding the output.
func logged(t *testing.T, name, log string) string {
	t.Helper()
	dir := os.Getenv("KVSYNC_CI_KIT_LOGS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()+"-"+name)+".log")
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tail is the end of a log, for failure messages.
func tail(log string, lines int) string {
	all := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// exitCode is a finished command's status (-1: it did not run).
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// deadline bounds one runner invocation.
const deadline = 5 * time.Minute

func runnerContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), deadline)
}

// ciSystem is one CI system's runner of the example file: the pipelines
// the scenario starts, and the checks that differ between systems.
type ciSystem interface {
	// review runs the pipeline of a push to pull (merge) request number,
	// whose head is commit head.
	review(name string, number int, head string) (log string, code int)
	// checkReview checks where the plan went (a sticky comment, an
	// artifact) after the push-th push to the request.
	checkReview(t *testing.T, log string, number, push int, model string)
	// merge merges branch as request number and runs the pipeline of the
	// push to main.
	merge(name, branch string, number int) (string, int)
	// checkMerge checks that the apply used the plan reviewed at head.
	checkMerge(t *testing.T, log string, number int, head string)
	schedule(name string) (string, int)
	// dispatchApply runs the dispatch path: a fresh plan, approved, applied.
	dispatchApply(name string) (string, int)
	// rotate changes the CI secret MISTRAL_API_KEY.
	rotate()
}

// runScenario is the CI kit's scenario, the same for every CI system: a
// pull request's plan (twice pushed), the merge applying exactly that
// plan, the drift check green then red after a change by hand, a rotation
// through the dispatch path, and a refused apply followed by its recovery.
func runScenario(t *testing.T, sys ciSystem, k *konnectState, r *repo) {
	git := func(args ...string) string { return run(t, r.dir, nil, "git", args...) }

	// 1. A pull request: its plan, updated by a second push.
	git("checkout", "-q", "-b", "change")
	head := r.commit(t, "declare the tutorial", map[string]string{"kvsync.yaml": stateFile("mistral-tiny")})
	log, code := sys.review("pr1-push1", 1, head)
	must(t, code == 0, "the pull request's plan failed (exit %d):\n%s", code, tail(log, 40))
	sys.checkReview(t, log, 1, 1, "mistral-tiny")
	head = r.commit(t, "a bigger model", map[string]string{"kvsync.yaml": stateFile("mistral-small")})
	log, code = sys.review("pr1-push2", 1, head)
	must(t, code == 0, "the pull request's second plan failed (exit %d):\n%s", code, tail(log, 40))
	sys.checkReview(t, log, 1, 2, "mistral-small")
	must(t, k.modelName(t) == "", "a pull request changed Konnect")

	// 2. The merge applies exactly the reviewed plan and records kvsync.sum
	// on its branch, never on main.
	log, code = sys.merge("merge1", "change", 1)
	must(t, code == 0, "the apply of the merge failed (exit %d):\n%s", code, tail(log, 40))
	sys.checkMerge(t, log, 1, head)
	must(t, k.modelName(t) == "mistral-small", "after the merge, the plugin's model is %q, want mistral-small", k.modelName(t))
	must(t, k.secretIs(t, mistralKey), "after the merge, the secret does not hold MISTRAL_API_KEY")
	sum := r.sumOnBranch(t)
	must(t, strings.Contains(sum, " my-config-store mistral-key "), "kvsync.sum was not recorded on branch kvsync-sum")
	subject := git("--git-dir", r.origin, "log", "-1", "--format=%s", "kvsync-sum")
	must(t, strings.Contains(subject, "[skip ci]"), "the kvsync.sum commit does not skip CI: %q", subject)
	mainLog := git("--git-dir", r.origin, "log", "--format=%s", "main")
	must(t, !strings.Contains(mainLog, "kvsync.sum"), "the apply pushed to main:\n%s", mainLog)

	// 3. The scheduled drift check: green, then red after a change made
	// outside kvsync.
	log, code = sys.schedule("drift-green")
	must(t, code == 0, "the drift check failed on a control plane that matches the files (exit %d):\n%s", code, tail(log, 40))
	k.putSecret(t, "Bearer changed-by-hand")
	log, code = sys.schedule("drift-red")
	must(t, code != 0, "the drift check passed after the secret was changed by hand:\n%s", tail(log, 40))
	must(t, strings.Contains(log, "changed outside kvsync"), "the drift check does not say the value was changed outside kvsync:\n%s", tail(log, 40))

	// 4. A rotation through the dispatch path: the CI secret changes, a
	// dispatched run plans and applies it (and repairs the change by hand).
	sys.rotate()
	log, code = sys.dispatchApply("rotate")
	must(t, code == 0, "the dispatched apply of the rotation failed (exit %d):\n%s", code, tail(log, 40))
	must(t, k.secretIs(t, mistralKeyRotated), "after the rotation, the secret does not hold the rotated value")
	must(t, r.sumOnBranch(t) != sum, "the rotation did not record kvsync.sum")
	log, code = sys.schedule("drift-after-rotation")
	must(t, code == 0, "the drift check failed after the rotation (exit %d):\n%s", code, tail(log, 40))

	// 5. A refused apply: the live state moves between review and merge;
	// nothing is written, and a dispatched run recovers.
	git("checkout", "-q", "-b", "change2", "main")
	head = r.commit(t, "the largest model", map[string]string{"kvsync.yaml": stateFile("mistral-large")})
	log, code = sys.review("pr2", 2, head)
	must(t, code == 0, "the second pull request's plan failed (exit %d):\n%s", code, tail(log, 40))
	k.touchPlugin(t, "mistral-medium")
	log, code = sys.merge("merge2-refused", "change2", 2)
	must(t, code != 0, "the apply of a plan whose live state moved succeeded:\n%s", tail(log, 40))
	must(t, refused(log), "the refused apply does not say what moved:\n%s", tail(log, 40))
	must(t, k.modelName(t) == "mistral-medium", "the refused apply changed the plugin (model %q)", k.modelName(t))
	log, code = sys.dispatchApply("recover")
	must(t, code == 0, "the dispatched apply after the refusal failed (exit %d):\n%s", code, tail(log, 40))
	must(t, k.modelName(t) == "mistral-large", "after the recovery, the plugin's model is %q, want mistral-large", k.modelName(t))
	log, code = sys.schedule("drift-after-recovery")
	must(t, code == 0, "the drift check failed after the recovery (exit %d):\n%s", code, tail(log, 40))
}

// runLogged runs a CI runner; it keeps the log (see logged), and fails the
// test when a secret value is in it.
func runLogged(t *testing.T, name, dir string, env []string, prog string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := runnerContext()
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	log := string(out)
	path := logged(t, name, log)
	t.Logf("%s %s: exit %d, log in %s", filepath.Base(prog), name, exitCode(err), path)
	for _, secret := range []string{mistralKey, mistralKeyRotated, fingerprintKey} {
		if strings.Contains(log, secret) {
			t.Fatalf("%s %s: a secret value is in the log (%s)", filepath.Base(prog), name, path)
		}
	}
	return log, exitCode(err)
}
