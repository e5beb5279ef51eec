package ci

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// environmentsKonnect is an emulator with the control planes of
// examples/environments (dev, staging, prod), each with the tutorial's
// example-service and example-route.
func environmentsKonnect(t *testing.T) (*konnecttest.Server, map[string]*konnectState) {
	t.Helper()
	srv := konnecttest.NewServer(konnecttest.Options{Token: konnectToken})
	t.Cleanup(srv.Close)
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: konnectToken, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	planes := map[string]*konnectState{}
	for _, name := range []string{"dev", "staging", "prod"} {
		id := srv.AddControlPlane(name)
		svc, err := c.Services.Create(context.Background(), id, konnect.Service{Name: "example-service", URL: "http://httpbin.konghq.com/anything"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Routes.Create(context.Background(), id, konnect.Route{Name: "example-route", Paths: []string{"/anything"}, Service: &konnect.ForeignKey{ID: svc.ID}}); err != nil {
			t.Fatal(err)
		}
		planes[name] = &konnectState{srv: srv, client: c, cpID: id}
	}
	return srv, planes
}

// environmentsFiles are examples/environments' files, their regions made
// the emulator's address (the one edit).
func environmentsFiles(t *testing.T, addr string) map[string]string {
	t.Helper()
	files := map[string]string{}
	root := "../environments"
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	envs := files["kvsync.environments.yaml"]
	if n := len(regexp.MustCompile(`(?m)^\s*region: [a-z]+`).FindAllString(envs, -1)); n != 2 {
		t.Fatalf("examples/environments names %d regions, want 2 (the test makes them the emulator)", n)
	}
	files["kvsync.environments.yaml"] = regexp.MustCompile(`(?m)^(\s*)region: [a-z]+`).ReplaceAllString(envs, "${1}address: "+addr)
	return files
}

// sumFileOnBranch is an environment's kvsync.NAME.sum on origin's
// kvsync-sum branch, "" when there is none.
func (r *repo) sumFileOnBranch(t *testing.T, name string) string {
	t.Helper()
	out, err := runOutput(r.origin, "git", "--git-dir", r.origin, "show", "kvsync-sum:"+name)
	if err != nil {
		return ""
	}
	return out
}

// The matrix form of the GitHub workflow under act: one job per
// environment, each with its own plan comment, its reviewed plan applied,
// and its own kvsync.NAME.sum recorded on the sum branch by jobs that run
// at once (none lost); then the drift check of each.
func TestGitHubMatrixUnderAct(t *testing.T) {
	requireKit(t)
	srv, planes := environmentsKonnect(t)
	a := &actRunner{t: t, act: tool(t, "act"), gh: newFakeGitHub(t, githubToken), source: actionSource(t)}
	a.standins, _ = filepath.Abs("testdata/actions")
	workflow, err := os.ReadFile("github-actions/kvsync-environments.yml")
	if err != nil {
		t.Fatal(err)
	}
	a.repo = newRepo(t, map[string]string{".github/workflows/kvsync.yml": string(workflow), "README.md": "konnect config\n"})
	git := func(args ...string) string { return run(t, a.repo.dir, nil, "git", args...) }

	// 1. A pull request: one plan comment per environment, each sticky by
	// its own marker.
	git("checkout", "-q", "-b", "environments")
	head := a.repo.commit(t, "three environments", environmentsFiles(t, srv.URL))
	log, code := a.pullRequest("matrix-pr", 1, head, false)
	must(t, code == 0, "the pull request's plan jobs failed (exit %d):\n%s", code, tail(log, 60))
	comments := a.gh.commentsOn(1)
	must(t, len(comments) == 3, "pull request #1 has %d comments, want one per environment (3):\n%s", len(comments), tail(log, 60))
	bodies := ""
	for _, c := range comments {
		bodies += c.Body
	}
	for _, env := range []string{"dev", "staging", "prod"} {
		must(t, strings.Contains(bodies, "<!-- kvsync-plan:environments:"+env+" -->"), "no plan comment for %s", env)
	}
	must(t, strings.Contains(bodies, "mistral-large") && strings.Contains(bodies, "mistral-tiny"), "the comments do not show each environment's model")
	for env, k := range planes {
		must(t, k.modelName(t) == "", "a pull request changed %s", env)
	}

	// 2. The merge: each environment's reviewed plan applied by its own
	// job, each kvsync.NAME.sum recorded on the branch.
	log, code = a.merge("matrix-merge", "environments", 1)
	must(t, code == 0, "the apply jobs of the merge failed (exit %d):\n%s", code, tail(log, 60))
	for env, model := range map[string]string{"dev": "mistral-tiny", "staging": "mistral-small", "prod": "mistral-large"} {
		must(t, strings.Contains(log, "downloaded artifact kvsync-plan-"+env+"-"+head), "the %s job did not apply its reviewed plan:\n%s", env, tail(log, 60))
		must(t, planes[env].modelName(t) == model, "after the merge, %s's model is %q, want %s", env, planes[env].modelName(t), model)
		must(t, planes[env].secretIs(t, mistralKey), "after the merge, %s's secret does not hold MISTRAL_API_KEY", env)
		sum := a.repo.sumFileOnBranch(t, "kvsync."+env+".sum")
		must(t, strings.Contains(sum, " my-config-store mistral-key "), "kvsync.%s.sum was not recorded on branch kvsync-sum (or was lost by a concurrent job)", env)
	}

	// 3. The drift check of each environment: green.
	log, code = a.run("matrix-drift", "schedule")
	must(t, code == 0, "the drift checks failed on control planes that match the files (exit %d):\n%s", code, tail(log, 60))
	must(t, strings.Count(log, "kvsync drift check") >= 3, "the drift check did not run once per environment:\n%s", tail(log, 60))
}

// runOutput runs a command and returns its standard output.
func runOutput(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return string(out), err
}

// The matrix form of the GitLab file under gitlab-ci-local: one job per
// environment (parallel:matrix), each environment's plan kept, applied
// from its own reviewed plan, and its kvsync.NAME.sum recorded beside the
// others'; then the drift check of each.
func TestGitLabMatrixUnderGitLabCILocal(t *testing.T) {
	requireKit(t)
	srv, planes := environmentsKonnect(t)
	g := &glcRunner{t: t, glc: tool(t, "gitlab-ci-local"), lab: newFakeGitLab(t, gitlabToken)}
	bin := t.TempDir()
	run(t, "../..", nil, "go", "build", "-o", filepath.Join(bin, "kvsync"), "./cmd/kvsync")
	g.path = bin + string(os.PathListSeparator) + os.Getenv("PATH")
	file, err := os.ReadFile("gitlab/.gitlab-ci-environments.yml")
	if err != nil {
		t.Fatal(err)
	}
	g.repo = newRepo(t, map[string]string{".gitlab-ci.yml": string(file), ".gitignore": "kvsync.*.sum\nplan.json\nplan.md\n.gitlab-ci-local/\n"})
	git := func(args ...string) string { return run(t, g.repo.dir, nil, "git", args...) }

	// 1. A merge request: one plan job per environment, each plan kept.
	git("checkout", "-q", "-b", "environments")
	g.repo.commit(t, "three environments", environmentsFiles(t, srv.URL))
	// gitlab-ci-local's shell executor runs every job in the one work
	// clone (and with --shell-isolation, the after_script found no sum
	// file): the jobs run one at a time here. Jobs pushing their sum files
	// at once are exercised under act.
	oneAtATime := "--concurrency=1"
	log, code := g.run("matrix-mr", "merge_request_event", oneAtATime)
	must(t, code == 0, "the merge request's plan jobs failed (exit %d):\n%s", code, tail(log, 60))
	plans := map[string][]byte{}
	found, _ := filepath.Glob(filepath.Join(g.repo.dir, ".gitlab-ci-local", "artifacts", "*", "plan.json"))
	for _, path := range found {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Environments []struct {
				Name string `json:"name"`
			} `json:"environments"`
		}
		if err := json.Unmarshal(data, &doc); err != nil || len(doc.Environments) != 1 {
			t.Fatalf("%s is not one environment's saved plan: %v", path, err)
		}
		plans["kvsync-plan: ["+doc.Environments[0].Name+"]"] = data
	}
	must(t, len(plans) == 3, "the merge request kept %d plans, want one per environment (3):\n%s", len(plans), tail(log, 60))
	for _, env := range []string{"dev", "staging", "prod"} {
		must(t, strings.Contains(log, "<!-- kvsync-plan:environments:"+env+" -->"), "no plan printed for %s", env)
	}
	g.lab.plannedJobs(1, plans)

	// 2. The merge: each environment applies its reviewed plan and records
	// its kvsync.NAME.sum, none lost.
	g.lab.merged(g.repo.merge(t, "environments", "Merge branch 'environments' into 'main' (!1)"), 1)
	log, code = g.run("matrix-merge", "push", oneAtATime)
	must(t, code == 0, "the apply jobs of the merge failed (exit %d):\n%s", code, tail(log, 60))
	for env, model := range map[string]string{"dev": "mistral-tiny", "staging": "mistral-small", "prod": "mistral-large"} {
		must(t, strings.Contains(log, "the plan of "+env+" reviewed in merge request !1"), "the %s job did not fetch its reviewed plan:\n%s", env, tail(log, 60))
		must(t, planes[env].modelName(t) == model, "after the merge, %s's model is %q, want %s", env, planes[env].modelName(t), model)
		must(t, planes[env].secretIs(t, mistralKey), "after the merge, %s's secret does not hold MISTRAL_API_KEY", env)
		sum := g.repo.sumFileOnBranch(t, "kvsync."+env+".sum")
		must(t, strings.Contains(sum, " my-config-store mistral-key "), "kvsync.%s.sum was not recorded on branch kvsync-sum (or was lost)", env)
	}

	// 3. Each environment's drift check: green.
	log, code = g.run("matrix-drift", "schedule", oneAtATime)
	must(t, code == 0, "the drift checks failed on control planes that match the files (exit %d):\n%s", code, tail(log, 60))
}
