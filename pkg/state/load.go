package state

import (
	"errors"
	"io"
)

// LoadOptions supply the environment and standard input to Load.
type LoadOptions struct {
	// LookupEnv defaults to os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Stdin is read for the path "-" (default os.Stdin).
	Stdin io.Reader
}

// Load reads, substitutes, merges and validates the files. On failure the
// error lists every problem found, one per line, sorted by position, each
// as "file:line:col: field.path: message".
func Load(paths []string, opts LoadOptions) (*File, error) {
	return nil, errors.New("state: not implemented yet")
}
