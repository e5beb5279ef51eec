package ci

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeGitLab is the part of GitLab's API the apply job uses to fetch the
// plan reviewed in a merge request: the merge requests of a commit, their
// pipelines, a pipeline's jobs and a job's artifact.
type fakeGitLab struct {
	*httptest.Server
	token string

	mu        sync.Mutex
	merges    map[string]int // merge commit -> merge request iid
	pipelines map[int][]int  // merge request iid -> successful pipelines, newest first
	plans     map[int][]byte // job -> plan.json
	jobs      map[int][]fakeJob
	next      int
}

// fakeJob is a successful job of a pipeline that kept a plan.json.
type fakeJob struct {
	id   int
	name string
}

func newFakeGitLab(t *testing.T, token string) *fakeGitLab {
	f := &fakeGitLab{token: token, merges: map[string]int{}, pipelines: map[int][]int{}, plans: map[int][]byte{}, jobs: map[int][]fakeJob{}, next: 500}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Logf("fake GitLab API: %s %s", r.Method, r.URL)
		f.serve(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// planned records a successful merge request pipeline whose kvsync-plan
// job kept plan.
func (f *fakeGitLab) planned(mr int, plan []byte) {
	f.plannedJobs(mr, map[string][]byte{"kvsync-plan": plan})
}

// plannedJobs records a successful merge request pipeline whose jobs (by
// name) each kept a plan.json.
func (f *fakeGitLab) plannedJobs(mr int, plans map[string][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	pipeline := f.next
	f.pipelines[mr] = append([]int{pipeline}, f.pipelines[mr]...)
	for _, name := range slices.Sorted(maps.Keys(plans)) {
		f.next++
		f.jobs[pipeline] = append(f.jobs[pipeline], fakeJob{id: f.next, name: name})
		f.plans[f.next] = plans[name]
	}
}

func (f *fakeGitLab) merged(commit string, mr int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.merges[commit] = mr
}

func (f *fakeGitLab) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	if r.Header.Get("PRIVATE-TOKEN") != f.token {
		http.Error(w, `{"message":"401 Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	// /api/v4/projects/ID/...
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 5 || parts[0] != "api" || parts[1] != "v4" || parts[2] != "projects" || r.Method != http.MethodGet {
		http.Error(w, `{"message":"404 Not Found"}`, http.StatusNotFound)
		return
	}
	rest := parts[4:]
	var n int
	switch {
	case len(rest) == 4 && rest[0] == "repository" && rest[1] == "commits" && rest[3] == "merge_requests":
		if mr, ok := f.merges[rest[2]]; ok {
			reply([]map[string]any{{"iid": mr}})
			return
		}
		reply([]any{})
	case len(rest) == 3 && rest[0] == "merge_requests" && rest[2] == "pipelines":
		fmt.Sscan(rest[1], &n)
		out := []map[string]any{}
		for _, id := range f.pipelines[n] {
			out = append(out, map[string]any{"id": id, "status": "success"})
		}
		reply(out)
	case len(rest) == 3 && rest[0] == "pipelines" && rest[2] == "jobs":
		fmt.Sscan(rest[1], &n)
		out := []map[string]any{}
		if r.URL.Query().Get("scope[]") == "success" {
			for _, j := range f.jobs[n] {
				out = append(out, map[string]any{"id": j.id, "name": j.name, "status": "success"})
			}
		}
		reply(out)
	case len(rest) == 4 && rest[0] == "jobs" && rest[2] == "artifacts" && rest[3] == "plan.json":
		fmt.Sscan(rest[1], &n)
		plan, ok := f.plans[n]
		if !ok {
			http.Error(w, `{"message":"404 Not Found"}`, http.StatusNotFound)
			return
		}
		_, _ = w.Write(plan)
	default:
		http.Error(w, `{"message":"404 Not Found"}`, http.StatusNotFound)
	}
}
