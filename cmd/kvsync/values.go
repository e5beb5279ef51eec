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

// sumPath is where kvsync.sum lives: --sum, $KVSYNC_SUM, else beside the
// first state file (in the directory given, or the working directory for
// standard input).
func sumPath(c *cli.Context) string {
	if p := setting(c, flagSum, "KVSYNC_SUM"); p != "" {
		return p
	}
	first := defaultFile
	if c.NArg() > 0 {
		first = c.Args().First()
	}
	if first == "-" {
		return sum.FileName
	}
	if fi, err := os.Stat(first); err == nil && fi.IsDir() {
		return filepath.Join(first, sum.FileName)
	}
	return filepath.Join(filepath.Dir(first), sum.FileName)
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
	v := &planInputs{path: sumPath(c), writeAll: c.Bool(flagWriteSecrets), adopt: c.Bool(flagAdopt)}
	for _, s := range c.StringSlice(flagWriteSecret) {
		if s = strings.TrimSpace(s); s != "" {
			v.writeSecrets = append(v.writeSecrets, s)
		}
	}
	if c.Bool(flagNoSum) {
		return v, nil
	}
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
