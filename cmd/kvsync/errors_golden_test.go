package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/kvsync -run %s -update to create it)", err, t.Name())
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-want +got); rerun with -update if intended:\n%s", path, d)
	}
}

// TestErrorDocuments: an invalid file under GitHub Actions gives one
// annotation per problem, and with -o json a JSON error document, on
// standard output, with exit 1 and no request made.
func TestErrorDocuments(t *testing.T) {
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	t.Setenv("KVSYNC_KONNECT_ADDR", "http://127.0.0.1:9") // never reached: the file is invalid
	t.Setenv("GITHUB_ACTIONS", "true")
	code, stdout, _ := runIn(t, "", "diff", "testdata/bad.yaml")
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	goldenFile(t, "annotations.golden", stdout)

	t.Setenv("GITHUB_ACTIONS", "")
	code, stdout, _ = runIn(t, "", "diff", "-o", "json", "testdata/bad.yaml")
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	goldenFile(t, "error.json.golden", stdout)
}
