package main

import (
	"runtime/debug"
	"slices"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestVersionOf(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    string
	}{
		{"stamped by the release", "v1.4.0", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.4.0"},
		{"go install pkg@version", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.3.0"},
		{"go install of a pseudo-version", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261203120000-abcdef123456"}}, "v0.0.0-20261203120000-abcdef123456"},
		{"a work tree with vcs stamping", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("vcs.revision", "0123456789abcdef0123", "vcs.modified", "true")}, "dev-0123456789ab-dirty"},
		{"a work tree without", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"no build info", "", nil, "dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionOf(tc.stamped, tc.bi); got != tc.want {
				t.Errorf("versionOf = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFlagCategories: every flag of every command is in a category, so
// that help never shows an untitled group.
func TestFlagCategories(t *testing.T) {
	app := (&program{}).app()
	for _, cmd := range app.Commands {
		for _, f := range cmd.Flags {
			c, ok := f.(cli.CategorizableFlag)
			if !ok || c.GetCategory() == "" {
				t.Errorf("kvsync %s --%s has no category: add it to flagCategories", cmd.Name, f.Names()[0])
			}
		}
	}
}

func TestHoistFlags(t *testing.T) {
	app := (&program{}).app()
	for _, tc := range []struct {
		in, want []string
	}{
		{[]string{"kvsync", "--konnect-addr", "X", "diff", "f.yaml"}, []string{"kvsync", "diff", "--konnect-addr", "X", "f.yaml"}},
		{[]string{"kvsync", "-o", "json", "-v", "sync", "--plan", "p.json"}, []string{"kvsync", "sync", "-o", "json", "-v", "--plan", "p.json"}},
		{[]string{"kvsync", "--select-tag=a", "plan"}, []string{"kvsync", "plan", "--select-tag=a"}},
		// show takes no connection flag: it stays before, for urfave to refuse.
		{[]string{"kvsync", "--konnect-addr", "X", "show", "p.json"}, []string{"kvsync", "--konnect-addr", "X", "show", "p.json"}},
		{[]string{"kvsync", "--help", "diff"}, []string{"kvsync", "--help", "diff"}},
		{[]string{"kvsync", "diff", "--exit-code"}, []string{"kvsync", "diff", "--exit-code"}},
	} {
		if got := hoistFlags(app, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("hoistFlags(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
