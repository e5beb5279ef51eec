package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// kvsyncVersion is the one version string of this binary: the release's
// (stamped with -ldflags "-X main.version=…" by the Makefile and
// goreleaser), else the module version `go install …@vX` records in the
// build info, else "dev" (a build from a work tree), with the commit when
// the build info has one.
func kvsyncVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return versionOf(version, bi)
}

func versionOf(stamped string, bi *debug.BuildInfo) string {
	if stamped != "" {
		return stamped
	}
	if bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}

// printVersion is both `kvsync version` and `kvsync --version`.
func printVersion(c *cli.Context) {
	fmt.Fprintln(c.App.Writer, "kvsync "+c.App.Version)
}

// Flag categories, as help groups them. Every flag of every command has
// one (TestFlagCategories), so that no flag lands in an untitled heap.
const (
	categoryKonnect = "Konnect connection"
	categoryScope   = "Scope"
	categoryOutput  = "Output"
	categoryValues  = "Secret values"
	categoryFiles   = "Files and variables"
	categoryApply   = "Applying"
	categoryWatch   = "Watching"
)

var flagCategories = map[string]string{
	flagAddr: categoryKonnect, flagToken: categoryKonnect, flagTokenFile: categoryKonnect,
	flagControlPlane: categoryKonnect, flagTimeout: categoryKonnect, flagMaxDuration: categoryKonnect,
	flagUnreachableAfter: categoryKonnect, flagAllowHTTP: categoryKonnect, flagVerbose: categoryKonnect,
	flagRPS: categoryKonnect, flagRPSMax: categoryKonnect, flagRPSMin: categoryKonnect, flagRegion: categoryKonnect,
	flagThrottleBudget: categoryKonnect, flagMaxListItems: categoryKonnect, flagMaxListDuration: categoryKonnect,

	flagSelectTag: categoryScope, flagAdopt: categoryScope, flagAll: categoryScope, flagOnline: categoryScope,
	flagEnvironments: categoryScope, flagEnv: categoryScope,

	flagOutput: categoryOutput, flagNoColor: categoryOutput, flagExitCode: categoryOutput,
	flagOut: categoryOutput, flagOutputFile: categoryOutput,

	flagSum: categoryValues, flagNoSum: categoryValues, flagWriteSecrets: categoryValues, flagWriteSecret: categoryValues,

	flagAllowEmptyEnv: categoryFiles, flagAllowMissingEnv: categoryFiles, flagMaxFileSize: categoryFiles,

	flagParallelism: categoryApply, flagPlan: categoryApply, flagYes: categoryApply, flagRecordOnly: categoryApply,

	flagInterval: categoryWatch, flagJitter: categoryWatch, flagMetricsAddr: categoryWatch, flagRemediate: categoryWatch, flagLogFormat: categoryWatch,
}

// categorize files each flag of the commands under its category.
func categorize(commands []*cli.Command) {
	for _, cmd := range commands {
		for _, f := range cmd.Flags {
			setCategory(f, flagCategories[f.Names()[0]])
		}
	}
}

func setCategory(f cli.Flag, category string) {
	switch f := f.(type) {
	case *cli.StringFlag:
		f.Category = category
	case *cli.BoolFlag:
		f.Category = category
	case *cli.IntFlag:
		f.Category = category
	case *cli.Float64Flag:
		f.Category = category
	case *cli.StringSliceFlag:
		f.Category = category
	case *cli.DurationFlag:
		f.Category = category
	}
}

// completionCommand prints a shell's completion script. The scripts ask
// kvsync itself for the candidates (urfave's --generate-bash-completion),
// so they never go stale as commands and flags change.
func (p *program) completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "bash:  source <(kvsync completion bash)        (or save it under /etc/bash_completion.d/kvsync)\n" +
			"   zsh:   source <(kvsync completion zsh)         (or save it as _kvsync in a directory of $fpath)\n" +
			"   fish:  kvsync completion fish > ~/.config/fish/completions/kvsync.fish",
		Action: func(c *cli.Context) error {
			var script string
			switch shell := c.Args().First(); shell {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return fmt.Errorf("fish completion: %w", err)
				}
				script = s
			case "":
				return fmt.Errorf("which shell? kvsync completion bash|zsh|fish")
			default:
				return fmt.Errorf("completion for %q: kvsync completes bash, zsh and fish", shell)
			}
			fmt.Fprint(p.stdout, script)
			return nil
		},
	}
}

// bashCompletion completes the word under the cursor with what kvsync
// lists for the words before it (flags when the word starts with "-").
const bashCompletion = `# kvsync completion for bash: source <(kvsync completion bash)
_kvsync_complete() {
  local word="${COMP_WORDS[COMP_CWORD]}"
  local -a before=("${COMP_WORDS[@]:0:COMP_CWORD}")
  local candidates
  if [[ "$word" == -* ]]; then
    candidates=$("${before[@]}" "$word" --generate-bash-completion 2>/dev/null)
  else
    candidates=$("${before[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$candidates" -- "$word"))
}
complete -o bashdefault -o default -F _kvsync_complete kvsync
`

// zshCompletion does the same for zsh.
const zshCompletion = `#compdef kvsync
# kvsync completion for zsh: source <(kvsync completion zsh)
_kvsync() {
  local -a candidates
  local word="${words[CURRENT]}"
  if [[ "$word" == -* ]]; then
    candidates=(${(f)"$(${words[@]:0:$((CURRENT-1))} "$word" --generate-bash-completion 2>/dev/null)"})
  else
    candidates=(${(f)"$(${words[@]:0:$((CURRENT-1))} --generate-bash-completion 2>/dev/null)"})
  fi
  if (( ${#candidates} )); then
    compadd -- ${candidates%%:*}
  else
    _files
  fi
}
if (( $+functions[compdef] )); then
  compdef _kvsync kvsync
fi
`

// completing reports whether urfave is asked for completion candidates
// (the last argument), which argument reordering must leave last.
func completing(args []string) bool {
	return len(args) > 0 && args[len(args)-1] == "--generate-bash-completion"
}

// hoistFlags moves the flags written before the command (`kvsync
// --konnect-addr X diff`) after it, where the command defines them, so
// that the shared flags work on either side of the command name. A flag
// the command does not define stays where it was, and urfave reports it.
func hoistFlags(app *cli.App, args []string) []string {
	if len(args) < 3 || !strings.HasPrefix(args[1], "-") {
		return args
	}
	takesValue := map[string]bool{}
	for _, cmd := range app.Commands {
		for _, f := range cmd.Flags {
			tv := false
			if d, ok := f.(cli.DocGenerationFlag); ok {
				tv = d.TakesValue()
			}
			for _, n := range f.Names() {
				takesValue[n] = takesValue[n] || tv
			}
		}
	}
	// Find the command: the first argument that is neither a flag nor a
	// flag's value.
	var before []string
	i := 1
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || len(a) < 2 {
			break
		}
		before = append(before, a)
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(args) {
			i++
			before = append(before, args[i])
		}
	}
	if i >= len(args) || args[i] == "--" {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		return args
	}
	defined := map[string]bool{}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			defined[n] = true
		}
	}
	var kept, moved []string
	for j := 0; j < len(before); j++ {
		name, _, _ := strings.Cut(strings.TrimLeft(before[j], "-"), "=")
		group := []string{before[j]}
		if !strings.Contains(before[j], "=") && takesValue[name] && j+1 < len(before) {
			j++
			group = append(group, before[j])
		}
		if defined[name] {
			moved = append(moved, group...)
		} else {
			kept = append(kept, group...)
		}
	}
	out := append([]string{args[0]}, kept...)
	out = append(out, args[i])
	out = append(out, moved...)
	return append(out, args[i+1:]...)
}
