package diff_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-multierror"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/diff/difftest"
	"github.com/kvsync/kvsync/pkg/state"
)

// TestCheckOnline checks a file against a live state without any CLI:
// references to vaults that exist nowhere, then every kind's checks
// (plugin configs against the live schemas, vault configs against their
// type), each problem located in the file.
func TestCheckOnline(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // substrings, one per problem, in order
	}{
		{
			name: "valid",
			file: `plugins:
  - name: ai-proxy
    route: example-route
    config:
      route_type: llm/v1/chat
      auth:
        header_value: "{vault://mysecretvault/mistral-key}"
      model:
        provider: mistral
`,
		},
		{
			name: "a reference to a vault that exists nowhere",
			file: `plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth:
        header_value: "{vault://novault/key}"
      model:
        provider: mistral
`,
			want: []string{`kvsync.yaml:7:23: plugins[0].config.auth.header_value: {vault://novault/key}: no vault with prefix "novault" in the file or the control plane (vaults: mysecretvault)`},
		},
		{
			name: "plugin and vault configs against their schemas",
			file: `vaults:
  - name: env
    prefix: my-env
    config:
      base64_decode: "yes"
plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      nope: 1
      routetype: x
      model:
        provider: mistral
`,
			want: []string{
				`kvsync.yaml:6:22: vaults[0] (my-env).config.base64_decode: expected a boolean`,
				`kvsync.yaml:11:13: plugins[0] (ai-proxy).config.nope: unknown field`,
				`kvsync.yaml:12:18: plugins[0] (ai-proxy).config.routetype: unknown field (did you mean "route_type"?)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := loadFile(t, "_format_version: \"3.0\"\n"+tt.file, state.LoadOptions{AllowUndeclared: true})
			err := diff.CheckOnline(f, difftest.SeededLive())
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckOnline: %v", err)
				}
				return
			}
			var got []string
			var merr *multierror.Error
			var problems *state.Problems
			switch {
			case errors.As(err, &problems):
				for _, p := range problems.List() {
					got = append(got, p.Error())
				}
			case errors.As(err, &merr):
				for _, e := range merr.Errors {
					got = append(got, e.Error())
				}
			default:
				t.Fatalf("CheckOnline = %v, want located problems", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems:\n%s\nwant %d", strings.Join(got, "\n"), len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i][strings.Index(got[i], "kvsync.yaml:"):], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

// loadFile loads content as kvsync.yaml.
func loadFile(t *testing.T, content string, opts state.LoadOptions) *state.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kvsync.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := state.Load([]string{path}, opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return f
}
