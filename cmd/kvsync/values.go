package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// Flags about secret values and environment substitution.
const (
	flagSum             = "sum"
	flagNoSum           = "no-sum"
	flagWriteSecrets    = "write-secrets"
	flagWriteSecret     = "write-secret"
	flagAllowEmptyEnv   = "allow-empty-env"
	flagAllowMissingEnv = "allow-missing-env"
	flagAdopt           = "adopt"
	flagMaxFileSize     = "max-file-size"
)

// envFlags tune environment substitution; every command that loads files
// takes them (sync refuses --allow-missing-env).
func envFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: flagAllowEmptyEnv, Usage: "accept a variable that is set but empty or blank in a secret value", EnvVars: []string{"KVSYNC_ALLOW_EMPTY_ENV"}},
		&cli.BoolFlag{Name: flagAllowMissingEnv, Usage: "treat unset variables as unknown values (review without the secrets; diff and validate only)", EnvVars: []string{"KVSYNC_ALLOW_MISSING_ENV"}},
		&cli.IntFlag{Name: flagMaxFileSize, Usage: "refuse a state file larger than this many MiB", EnvVars: []string{"KVSYNC_MAX_FILE_SIZE"}, Value: state.DefaultMaxFileSize >> 20},
	}
}

// valueFlags say how secret values are compared and written.
func valueFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagSum, Usage: "the kvsync.sum `FILE` recording the secret values written (default: beside the first state file)" + envHint("KVSYNC_SUM")},
		&cli.BoolFlag{Name: flagNoSum, Usage: "compare secrets by existence only: no kvsync.sum is read or written", EnvVars: []string{"KVSYNC_NO_SUM"}},
		&cli.BoolFlag{Name: flagWriteSecrets, Usage: "write every declared secret's value, whatever the comparison says"},
		&cli.StringSliceFlag{Name: flagWriteSecret, Usage: "write this secret's value (`STORE/KEY`, repeatable)"},
		&cli.BoolFlag{Name: flagAdopt, Usage: "take over declared vaults and plugins that carry other tools' tags (kvsync adds its tags to theirs)", EnvVars: []string{"KVSYNC_ADOPT"}},
	}
}

// loadOptions are the state loader's options from the env flags.
func loadOptions(c *cli.Context) state.LoadOptions {
	return state.LoadOptions{AllowUndeclared: true, AllowEmptyEnv: c.Bool(flagAllowEmptyEnv), AllowMissingEnv: c.Bool(flagAllowMissingEnv),
		MaxFileSize: int64(c.Int(flagMaxFileSize)) << 20}
}

// sumPath is where kvsync.sum lives: --sum, $KVSYNC_SUM, else in the state
// files' common directory (see sumDir), whatever the order of the files.
func sumPath(c *cli.Context) string {
	if p := setting(c, flagSum, "KVSYNC_SUM"); p != "" {
		return p
	}
	args := c.Args().Slice()
	if len(args) == 0 {
		args = []string{defaultFile}
	}
	return filepath.Join(sumDir(args), sum.FileName)
}

// sumDir is the deepest directory holding every state file argument: a
// file stands for its directory, a directory for itself, standard input
// for the working directory. It is relative to the working directory, as
// the arguments usually are, so that plans show the short path.
func sumDir(args []string) string {
	wd, err := os.Getwd()
	if err != nil {
		wd = "."
	}
	var common string
	for i, a := range args {
		dir := wd
		if a != "-" {
			dir = a
			if fi, err := os.Stat(a); err != nil || !fi.IsDir() {
				dir = filepath.Dir(a)
			}
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(wd, dir)
			}
		}
		dir = filepath.Clean(dir)
		if i == 0 {
			common = dir
			continue
		}
		for !within(dir, common) {
			parent := filepath.Dir(common)
			if parent == common {
				break
			}
			common = parent
		}
	}
	if rel, err := filepath.Rel(wd, common); err == nil {
		return rel
	}
	return common
}

// within reports whether dir is base or below it.
func within(dir, base string) bool {
	rel, err := filepath.Rel(base, dir)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// warnMovedSum points at a kvsync.sum left where earlier versions of kvsync read it
// (beside the first state file argument) when none is where it reads it
// now: without the hint, every secret would show "value not tracked yet".
func (p *program) warnMovedSum(c *cli.Context, path string) {
	if c.IsSet(flagSum) || os.Getenv("KVSYNC_SUM") != "" || c.NArg() < 2 {
		return
	}
	if _, err := os.Stat(path); err == nil {
		return
	}
	old := filepath.Join(sumDir(c.Args().Slice()[:1]), sum.FileName)
	if _, err := os.Stat(old); err == nil && old != path {
		fmt.Fprintf(p.stderr, "Warning: kvsync.sum is read from the state files' common directory, %s, which has none; %s (beside the first file) is not read: move it there, or pass --%s %s\n", path, old, flagSum, old)
	}
}

// planInputs are a plan's options beyond the target: how secret values are
// compared and written (kvsync.sum, forced writes), and adoption.
type planInputs struct {
	// adopt: --adopt (it travels with the other plan options).
	adopt bool
	path  string
	// file is nil with --no-sum.
	file         *sum.File
	writeAll     bool
	writeSecrets []string
}

// readPlanInputs reads the plan flags and loads kvsync.sum (unless
// --no-sum) with the fingerprint key from $KVSYNC_FINGERPRINT_KEY, which
// the program then scrubs from every message. writes says whether the run
// may write the sum.
func (p *program) readPlanInputs(c *cli.Context, writes bool) (*planInputs, error) {
	return p.readPlanInputsAt(c, writes, sumPath(c))
}

// readPlanInputsAt is readPlanInputs with kvsync.sum at path (an
// environment's own).
func (p *program) readPlanInputsAt(c *cli.Context, writes bool, path string) (*planInputs, error) {
	v := &planInputs{path: path, writeAll: c.Bool(flagWriteSecrets), adopt: c.Bool(flagAdopt)}
	for _, s := range c.StringSlice(flagWriteSecret) {
		if s = strings.TrimSpace(s); s != "" {
			v.writeSecrets = append(v.writeSecrets, s)
		}
	}
	if c.Bool(flagNoSum) {
		return v, nil
	}
	p.warnMovedSum(c, v.path)
	key := os.Getenv(sum.EnvKey)
	p.keepSecret(key)
	f, err := sum.Load(v.path, []byte(key))
	if err != nil {
		return nil, fmt.Errorf("%w (fix or remove it; removing it makes kvsync write every secret value once more)", err)
	}
	// A read-only diff (a PR review without the key) goes on, its values
	// not compared (the plan notes why); a sync would write the sum over.
	if err := f.KeyProblem(); err != nil && writes {
		return nil, fmt.Errorf("%s: %w: set the key it was made with, or pass --%s (to change keys, remove the file: kvsync then writes every secret value once more)", v.path, err, flagNoSum)
	}
	v.file = f
	return v, nil
}
