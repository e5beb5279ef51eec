package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSumDir: kvsync.sum's directory is the arguments' deepest common
// directory, whatever their order.
func TestSumDir(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"base", "envs/dev", "envs/prod"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"base/kvsync.yaml", "envs/dev/a.yaml", "envs/prod/b.yaml", "kvsync.yaml"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(root)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"kvsync.yaml"}, "."},
		{[]string{"-"}, "."},
		{[]string{"base"}, "base"},
		{[]string{"base/kvsync.yaml"}, "base"},
		{[]string{"base", "envs/dev"}, "."},
		{[]string{"envs/dev", "base"}, "."},
		{[]string{"envs/dev/a.yaml", "envs/prod"}, "envs"},
		{[]string{"envs/prod", "envs/dev/a.yaml"}, "envs"},
		{[]string{"envs/dev", "-"}, "."},
		{[]string{filepath.Join(root, "envs/dev"), "envs/prod/b.yaml"}, "envs"},
		{[]string{"envs/dev/missing.yaml"}, "envs/dev"},
	} {
		if got := sumDir(tc.args); got != tc.want {
			t.Errorf("sumDir(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
