package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeEnvFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), EnvironmentsFileName)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadEnvironments(t *testing.T) {
	path := writeEnvFile(t, `files: [base]
region: eu
environments:
  - name: dev
    control_plane: dev-cp
    values: {MODEL: mistral-tiny}
    variables: {MISTRAL_API_KEY: DEV_MISTRAL_API_KEY}
  - name: prod
    control_plane: prod-cp
    address: https://konnect.example.com
    files: [envs/prod.yaml]
    sum: sums/prod.sum
`)
	dir := filepath.Dir(path)
	es, err := LoadEnvironments(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(es.List) != 2 {
		t.Fatalf("%d environments, want 2", len(es.List))
	}
	dev, prod := es.List[0], es.List[1]
	for _, c := range []struct{ what, got, want string }{
		{"dev region", dev.Region, "eu"},
		{"dev address", dev.Address, ""},
		{"prod region", prod.Region, ""},
		{"prod address", prod.Address, "https://konnect.example.com"},
		{"dev files", strings.Join(dev.Files, ","), filepath.Join(dir, "base")},
		{"prod files", strings.Join(prod.Files, ","), filepath.Join(dir, "base") + "," + filepath.Join(dir, "envs/prod.yaml")},
		{"dev sum", dev.Sum, filepath.Join(dir, "kvsync.dev.sum")},
		{"prod sum", prod.Sum, filepath.Join(dir, "sums/prod.sum")},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	env := map[string]string{"MISTRAL_API_KEY": "shared", "DEV_MISTRAL_API_KEY": "dev-only", "OTHER": "o"}
	lookup := dev.LookupEnv(func(n string) (string, bool) { v, ok := env[n]; return v, ok })
	for name, want := range map[string]string{"MODEL": "mistral-tiny", "MISTRAL_API_KEY": "dev-only", "OTHER": "o"} {
		if got, _ := lookup(name); got != want {
			t.Errorf("dev's %s resolves to another value than want (%q)", name, want)
		}
	}
	if !dev.PublicEnv("MODEL") || dev.PublicEnv("MISTRAL_API_KEY") {
		t.Error("only dev's values are public")
	}
	if sel, err := es.Select([]string{"prod"}); err != nil || len(sel) != 1 || sel[0].Name != "prod" {
		t.Errorf("Select(prod) = %v, %v", sel, err)
	}
	if _, err := es.Select([]string{"qa", "prod"}); err == nil || !strings.Contains(err.Error(), `no environment "qa" (it has dev, prod)`) {
		t.Errorf("Select(qa) = %v", err)
	}
}

func TestLoadEnvironmentsProblems(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"no environments", "files: [a]\n", []string{"environments: want a list of environments"}},
		{"unknown field", "environments:\n  - name: dev\n    control_plane: x\n    files: [a]\n    colour: red\n",
			[]string{":5:5: environments[0].colour: unknown field"}},
		{"every problem at once", `environments:
  - control_plane: a
    files: [a]
  - name: Dev
    files: [a]
  - name: x
    control_plane: c
    region: eu
    address: https://h
  - name: y
    control_plane: d
    values: {K: v}
    variables: {K: V, bad-name: W}
`, []string{
			":2:5: environments[0].name: required",
			":4:5: environments[1].name: \"Dev\": want lower-case",
			"environments[1].control_plane: required",
			":9:5: environments[2].address: region and address both given",
			"environments[3]: K is in both values and variables",
			"environments[3].variables.bad-name: want a variable name",
			"environments[2].files: no state files",
		}},
		{"duplicates", `files: [a]
environments:
  - name: dev
    control_plane: cp
  - name: dev
    control_plane: cp
`, []string{"environment \"dev\" is already declared at", "\"cp\" is also environment dev's control plane", "is also environment dev's kvsync.sum"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadEnvironments(writeEnvFile(t, tc.text))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	if _, err := LoadEnvironments(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml: cannot read: no such file or directory") {
		t.Errorf("a missing file: %v", err)
	}
}
