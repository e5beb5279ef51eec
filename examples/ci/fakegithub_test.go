package ci

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGitHub is the part of GitHub's REST API the workflow and the action
// use: pull request comments, the pull requests of a commit, workflow runs
// by head commit; and, for the artifact stand-ins, a store of artifacts by
// run id.
type fakeGitHub struct {
	*httptest.Server
	token string

	mu        sync.Mutex
	comments  []fakeComment
	nextID    int
	edits     int                 // PATCHes of a comment
	merges    map[string]fakePull // merge commit -> the pull request it merged
	runs      []fakeRun           // successful runs
	artifacts map[string][]byte   // "RUN/NAME" -> zip
}

type fakeComment struct {
	ID    int    `json:"id"`
	Issue int    `json:"-"`
	Body  string `json:"body"`
}

type fakePull struct {
	Number int `json:"number"`
	Head   struct {
		SHA string `json:"sha"`
	} `json:"head"`
}

type fakeRun struct {
	ID      int    `json:"id"`
	Event   string `json:"event"`
	HeadSHA string `json:"head_sha"`
}

func newFakeGitHub(t *testing.T, token string) *fakeGitHub {
	f := &fakeGitHub{token: token, nextID: 1000, merges: map[string]fakePull{}, artifacts: map[string][]byte{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Logf("fake GitHub API: %s %s", r.Method, r.URL)
		f.serve(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// merged records that commit merged pull request number with head sha.
func (f *fakeGitHub) merged(commit string, number int, head string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p fakePull
	p.Number, p.Head.SHA = number, head
	f.merges[commit] = p
}

// succeeded records a successful workflow run.
func (f *fakeGitHub) succeeded(id int, event, headSHA string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append([]fakeRun{{ID: id, Event: event, HeadSHA: headSHA}}, f.runs...)
}

func (f *fakeGitHub) commentsOn(issue int) []fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeComment
	for _, c := range f.comments {
		if c.Issue == issue {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	// The artifact stand-ins: /_fake/runs/RUN/artifacts/NAME.
	if len(parts) == 5 && parts[0] == "_fake" && parts[1] == "runs" && parts[3] == "artifacts" {
		key := parts[2] + "/" + parts[4]
		switch r.Method {
		case http.MethodPut:
			data, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			f.artifacts[key] = data
		case http.MethodGet:
			data, ok := f.artifacts[key]
			if !ok {
				http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
				return
			}
			_, _ = w.Write(data)
		}
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	// /repos/OWNER/REPO/...
	if len(parts) < 4 || parts[0] != "repos" {
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		return
	}
	rest := parts[3:]
	switch {
	case len(rest) == 3 && rest[0] == "issues" && rest[2] == "comments" && r.Method == http.MethodGet:
		issue, _ := strconv.Atoi(rest[1])
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		perPage, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		if page < 1 {
			page = 1
		}
		if perPage < 1 {
			perPage = 30
		}
		var all []fakeComment
		for _, c := range f.comments {
			if c.Issue == issue {
				all = append(all, c)
			}
		}
		lo, hi := min((page-1)*perPage, len(all)), min(page*perPage, len(all))
		reply(append([]fakeComment{}, all[lo:hi]...))
	case len(rest) == 3 && rest[0] == "issues" && rest[2] == "comments" && r.Method == http.MethodPost:
		issue, _ := strconv.Atoi(rest[1])
		var in fakeComment
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
			http.Error(w, `{"message":"Invalid request"}`, http.StatusUnprocessableEntity)
			return
		}
		f.nextID++
		c := fakeComment{ID: f.nextID, Issue: issue, Body: in.Body}
		f.comments = append(f.comments, c)
		w.WriteHeader(http.StatusCreated)
		reply(c)
	case len(rest) == 3 && rest[0] == "issues" && rest[1] == "comments" && r.Method == http.MethodPatch:
		id, _ := strconv.Atoi(rest[2])
		var in fakeComment
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
			http.Error(w, `{"message":"Invalid request"}`, http.StatusUnprocessableEntity)
			return
		}
		for i := range f.comments {
			if f.comments[i].ID == id {
				f.comments[i].Body = in.Body
				f.edits++
				reply(f.comments[i])
				return
			}
		}
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
	case len(rest) == 3 && rest[0] == "commits" && rest[2] == "pulls" && r.Method == http.MethodGet:
		if p, ok := f.merges[rest[1]]; ok {
			reply([]fakePull{p})
			return
		}
		reply([]fakePull{})
	case len(rest) == 2 && rest[0] == "actions" && rest[1] == "runs" && r.Method == http.MethodGet:
		q := r.URL.Query()
		if q.Get("status") != "success" {
			http.Error(w, `{"message":"this fake lists successful runs only"}`, http.StatusBadRequest)
			return
		}
		runs := []fakeRun{}
		for _, run := range f.runs {
			if (q.Get("event") == "" || run.Event == q.Get("event")) && (q.Get("head_sha") == "" || run.HeadSHA == q.Get("head_sha")) {
				runs = append(runs, run)
			}
		}
		reply(map[string]any{"total_count": len(runs), "workflow_runs": runs})
	default:
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
	}
}
