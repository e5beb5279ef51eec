package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"
)

// TestCIExamples checks the CI kit under examples/ci: every file is valid
// YAML, and every kvsync command its scripts run exists with every flag
// they pass, so that the examples cannot rot as the CLI changes.
func TestCIExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/ci/*/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../../action.yml")
	if len(files) < 3 {
		t.Fatalf("found %d CI example files, want the GitHub workflow and the GitLab snippet", len(files))
	}
	app := (&program{}).app()
	// The checker itself: a bogus command and a bogus flag are caught.
	if got := checkInvocations(app, "kvsync nosuch\nkvsync diff --exit-code --no-such-flag plan.json"); len(got) != 2 {
		t.Fatalf("the checker finds %v in a script with a bogus command and a bogus flag", got)
	}
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("not valid YAML: %v", err)
			}
			var scripts []string
			collectScripts(&doc, false, &scripts)
			calls := 0
			for _, script := range scripts {
				calls += len(invocation.FindAllString(script, -1))
				for _, problem := range checkInvocations(app, script) {
					t.Error(problem)
				}
			}
			if calls == 0 {
				t.Error("runs no kvsync command")
			}
		})
	}
}

var invocation = regexp.MustCompile(`\bkvsync\s+([a-z]+)((?:[ \t]+(?:--?[a-z][a-z-]*(?:=\S+)?|[^\s|;&>-]\S*))*)`)

// checkInvocations lists the kvsync commands and flags a script uses that
// do not exist.
func checkInvocations(app *cli.App, script string) []string {
	var problems []string
	for _, m := range invocation.FindAllStringSubmatch(script, -1) {
		cmd := app.Command(m[1])
		if cmd == nil {
			problems = append(problems, "kvsync "+m[1]+": no such command")
			continue
		}
		names := map[string]bool{}
		for _, f := range cmd.Flags {
			for _, n := range f.Names() {
				names[n] = true
			}
		}
		for _, arg := range strings.Fields(m[2]) {
			if !strings.HasPrefix(arg, "-") {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
			if !names[name] {
				problems = append(problems, "kvsync "+m[1]+" "+arg+": the command has no such flag")
			}
		}
	}
	return problems
}

// collectScripts gathers the shell of a CI file: GitHub's run: values and
// GitLab's script lists.
func collectScripts(n *yaml.Node, inScript bool, out *[]string) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			collectScripts(c, inScript, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			collectScripts(n.Content[i+1], key == "run" || key == "script" || key == "before_script" || key == "after_script", out)
		}
	case yaml.ScalarNode:
		if inScript {
			*out = append(*out, n.Value)
		}
	}
}
