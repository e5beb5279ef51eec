package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/diff/render"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

const testToken = "kpat_test_fake_0000"

// runIn runs the program in-process.
func runIn(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"kvsync"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestIntersperse(t *testing.T) {
	app := (&program{}).app()
	tests := []struct {
		in, want string
	}{
		{"kvsync diff", "kvsync diff"},
		{"kvsync diff a.yaml", "kvsync diff -- a.yaml"},
		{"kvsync diff a.yaml --exit-code", "kvsync diff --exit-code -- a.yaml"},
		{"kvsync diff a.yaml -o json b.yaml", "kvsync diff -o json -- a.yaml b.yaml"},
		{"kvsync diff - --output=json", "kvsync diff --output=json -- -"},
		{"kvsync sync a.yaml --parallelism 2 --no-color", "kvsync sync --parallelism 2 --no-color -- a.yaml"},
		{"kvsync diff -- --odd-name.yaml", "kvsync diff -- --odd-name.yaml"},
		{"kvsync unknown a --x", "kvsync unknown a --x"},
	}
	for _, tt := range tests {
		got := strings.Join(intersperse(app, strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("intersperse(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseTimeout(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10", 10 * time.Second, true},
		{"1m30s", 90 * time.Second, true},
		{" 5s ", 5 * time.Second, true},
		{"0", 0, false},
		{"-3s", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, err := parseTimeout(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestTokenNeverPrinted: help, errors and plans never show the token,
// whichever way it was given.
func TestTokenNeverPrinted(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	file := filepath.Join(dir, "kvsync.yaml")
	if err := os.WriteFile(file, []byte("_format_version: \"3.0\"\n_konnect:\n  control_plane_name: nowhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const wrong = "kpat_wrong_fake_2222"
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	cases := [][]string{
		{"--help"},
		{"diff", "--help"},
		{"sync", "--help"},
		{"dump", "--help"},
		{"validate", "--help"},
		{"diff", file},                           // control plane not found
		{"diff", "--konnect-token", wrong, file}, // 401
		{"dump", "--konnect-token", wrong, "--konnect-control-plane-name", "x"},
		{"diff", "--konnect-addr", "http://" + testToken + "@example.invalid", file},
	}
	for _, args := range cases {
		code, stdout, stderr := runIn(t, "", args...)
		for _, tok := range []string{testToken, wrong} {
			if strings.Contains(stdout+stderr, tok) {
				t.Errorf("kvsync %s (exit %d) printed a token", strings.Join(args, " "), code)
			}
		}
	}
}

func TestColorAllowed(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	tests := []struct {
		name     string
		f        render.Format
		flag     bool
		vars     map[string]string
		terminal bool
		want     bool
	}{
		{"terminal", render.Text, false, nil, true, true},
		{"pipe", render.Text, false, nil, false, false},
		{"--no-color", render.Text, true, nil, true, false},
		{"NO_COLOR=1", render.Text, false, map[string]string{"NO_COLOR": "1"}, true, false},
		{"NO_COLOR=yes", render.Text, false, map[string]string{"NO_COLOR": "yes"}, true, false},
		{"TERM=dumb", render.Text, false, map[string]string{"TERM": "dumb"}, true, false},
		{"json", render.JSON, false, nil, true, false},
		{"markdown", render.Markdown, false, nil, true, false},
	}
	for _, tt := range tests {
		if got := colorAllowed(tt.f, tt.flag, env(tt.vars), tt.terminal); got != tt.want {
			t.Errorf("%s: colour %v, want %v", tt.name, got, tt.want)
		}
	}
	var buf bytes.Buffer
	if isTerminal(&buf) {
		t.Error("a buffer is not a terminal")
	}
}

func TestExitCodes(t *testing.T) {
	if code, _, _ := runIn(t, "", "version"); code != exitOK {
		t.Errorf("version: exit %d", code)
	}
	if code, _, stderr := runIn(t, "", "nosuchcommand"); code != exitError || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := runIn(t, "", "diff", "--nosuchflag")
	if code != exitError || strings.Contains(stdout+stderr, "USAGE") {
		t.Errorf("unknown flag: exit %d, usage printed: %v", code, strings.Contains(stdout+stderr, "USAGE"))
	}
}

// TestWarnOnce: kvsync watch reads its settings every cycle; a warning
// about them (--allow-http, a "Bearer " token) is printed once, not once
// per cycle.
func TestWarnOnce(t *testing.T) {
	var buf strings.Builder
	p := &program{stderr: &buf}
	for range 3 {
		p.warnOnce("the token goes in clear")
	}
	p.warnOnce("another")
	if got, want := buf.String(), "Warning: the token goes in clear\nWarning: another\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}
