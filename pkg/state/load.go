package state

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// StdinName is the file name positions use for the path "-".
const StdinName = "<stdin>"

// LoadOptions supply the environment and standard input to Load.
type LoadOptions struct {
	// LookupEnv defaults to os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// PublicEnv names the variables whose values are not secrets (an
	// environment's values, written in its configuration): a placeholder
	// of one counts as marked | public. A secret's value stays sensitive.
	PublicEnv func(string) bool
	// Stdin is read for the path "-" (default os.Stdin).
	Stdin io.Reader
	// AllowUndeclared accepts a vault's config.config_store naming a config
	// store the files do not declare, and {vault://PREFIX/...} references to
	// vaults they do not declare, leaving those to CheckReferences once the
	// control plane's names are known. Without it they are problems.
	AllowUndeclared bool
	// AllowMissingEnv turns an unset variable (or an empty one: CI passes a
	// secret a pull request may not read as empty) into an unknown value
	// instead of a problem, for a review without production secrets: a
	// Sensitive whose MissingEnv names it. Never for a run that writes.
	AllowMissingEnv bool
	// AllowEmptyEnv accepts a variable that is set but empty or blank in a
	// secret value; without it that is a problem ("Bearer " is never what
	// anybody meant).
	AllowEmptyEnv bool
	// MaxFileSize bounds each file, in bytes (default DefaultMaxFileSize):
	// a larger one is refused before it is read whole.
	MaxFileSize int64
}

// DefaultMaxFileSize is LoadOptions.MaxFileSize's default: 16 MiB.
//
// Loading holds the file's node tree and the decoded entities at once:
// BenchmarkLoadLarge measures a peak heap of about 10 times the file's
// size for secrets and 18 times for plugins with nested configs (17 and
// 28 with yaml.v3's tree, which a file outside the fast parser's YAML
// still takes: about 21 and 24 times then), and 0.04 to 0.09 s per MiB.
// The cap keeps the worst case within what a CI runner holds: 16 MiB is
// four times the largest control plane kvsync is benchmarked on (50
// stores of 1,000 secrets is about 4 MiB; 10,000 plugins about 3 MiB), and
// peaks at about 400 MB when yaml.v3 parses it, 300 MB otherwise.
const DefaultMaxFileSize = 16 << 20

// Load reads, substitutes, merges and validates the files. On failure the
// error lists every problem found, one per line, sorted by position, each
// as "file:line:col: field.path: message"; it is a *Problems (see
// ProblemsOf), and no File is returned.
func Load(paths []string, opts LoadOptions) (*File, error) {
	if len(paths) == 0 {
		return nil, errors.New("no state file given")
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	c := newCollector()
	var files []*fileEntries
	stdinRead := false
	paths = expandDirs(paths, c)
	for _, p := range paths {
		name := p
		var data string
		var err error
		if p == "-" {
			name = StdinName
			c.addFile(name)
			if stdinRead {
				c.add(Position{File: name}, "", "standard input (-) given more than once")
				continue
			}
			stdinRead = true
			data, err = readBounded(opts.Stdin, opts.MaxFileSize)
		} else {
			c.addFile(name)
			data, err = readFileBounded(p, opts.MaxFileSize)
		}
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			c.add(Position{File: name}, "", "cannot read: %v", err)
			continue
		}
		if fe := decodeFile(name, data, opts, c); fe != nil {
			files = append(files, fe)
		}
	}
	f := merge(files, opts, c)
	if err := c.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// decodeFile parses one file and decodes its single YAML document.
func decodeFile(name string, data string, opts LoadOptions, c *collector) (fe *fileEntries) {
	data = rewriteDeckQuotes(data)
	lines := &sourceLines{data: data}
	root, ok := parse(name, data, lines, c)
	if !ok {
		return nil
	}
	d := &fileDecoder{name: name, lines: lines, c: c, lookupEnv: opts.LookupEnv, publicEnv: opts.PublicEnv, rejected: map[string]bool{},
		allowMissingEnv: opts.AllowMissingEnv, allowEmptyEnv: opts.AllowEmptyEnv, budget: maxNodeVisits + len(data)}
	return d.document(root)
}

// parse parses a file with the fast parser when it is written in the YAML
// it reads, else with yaml.v3; nil for an empty file.
func parse(name string, data string, lines *sourceLines, c *collector) (*node, bool) {
	if root, ok := fastParse(data); ok {
		if fastParseCheck != nil {
			fastParseCheck(data, root)
		}
		return root, true
	}
	root, ok := parseYAML(name, data, lines, c)
	if !ok {
		return nil, false
	}
	return fromYAML(root), true
}

// fastParseCheck, set by the tests, sees every tree the fast parser gives,
// to compare it with yaml.v3's.
var fastParseCheck func(data string, root *node)

// sourceLines are a file's lines, split on first use: only problems and
// placeholders need them, and a copy of a large file's text is worth
// sparing.
type sourceLines struct {
	data  string
	lines []string
	split bool
}

func (s *sourceLines) get() []string {
	if s == nil {
		return nil
	}
	if !s.split {
		s.lines = strings.Split(s.data, "\n")
		for i, l := range s.lines {
			s.lines[i] = strings.TrimSuffix(l, "\r")
		}
		s.split = true
	}
	return s.lines
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses exactly one YAML document; nil for an empty file.
func parseYAML(name string, data string, lines *sourceLines, c *collector) (root *yaml.Node, ok bool) {
	// yaml.v3 has panicked on some malformed inputs; a bad file must only
	// ever be a problem.
	defer func() {
		if r := recover(); r != nil {
			c.add(Position{File: name}, "", "invalid YAML")
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		c.add(yamlErrorPos(name, err), "", "%s", yamlErrorMessage(err, lines.get()))
		return nil, false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		c.add(Position{File: name, Line: extra.Line, Column: extra.Column}, "", "a state file holds one YAML document; split the others into files of their own")
		return nil, false
	case !errors.Is(err, io.EOF):
		c.add(yamlErrorPos(name, err), "", "%s", yamlErrorMessage(err, lines.get()))
		return nil, false
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, true
		}
		return doc.Content[0], true
	}
	return &doc, true
}

func yamlErrorPos(name string, err error) Position {
	pos := Position{File: name}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
	}
	return pos
}

// yamlErrorMessage rewords a parser error, with a hint for decK's habit of
// double-quoting a placeholder whose own quotes then end the string.
func yamlErrorMessage(err error, lines []string) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	msg = "invalid YAML: " + msg
	// The parser often blames a line next to the culprit.
	for _, l := range []int{line, line + 1, line - 1} {
		if l >= 1 && l <= len(lines) && strings.Contains(lines[l-1], `"${{`) {
			return msg + fmt.Sprintf(` (line %d: inside "…" the quotes of ${{ env "NAME" }} end the string; write the placeholder unquoted or in single quotes)`, l)
		}
	}
	return msg
}

// expandDirs replaces a directory given as a file by the *.yaml, *.yml and
// *.json files under it, sorted by path, as decK reads a directory.
func expandDirs(paths []string, c *collector) []string {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if p == "-" || err != nil || !fi.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".yaml", ".yml", ".json":
				if !d.IsDir() {
					found = append(found, path)
				}
			}
			return nil
		})
		c.addFile(p)
		if err != nil {
			c.add(Position{File: p}, "", "cannot read the directory: %v", err)
			continue
		}
		if len(found) == 0 {
			c.add(Position{File: p}, "", "the directory holds no *.yaml, *.yml or *.json file")
			continue
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out
}

// errTooLarge is the error for a file over LoadOptions.MaxFileSize.
type errTooLarge struct{ max int64 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("larger than %d MiB, the most kvsync reads (raise it with --max-file-size)", e.max>>20)
}

// readBounded reads at most max bytes, and fails beyond.
func readBounded(r io.Reader, max int64) (string, error) {
	return readBoundedSized(r, max, 0)
}

// readBoundedSized is readBounded into a buffer sized for size bytes (a
// regular file's size, 0 when unknown), read in one allocation instead of
// doubling. The text is a string from the start: the fast parser's values
// are slices of it, with no copy of the file.
func readBoundedSized(r io.Reader, max, size int64) (string, error) {
	var b strings.Builder
	if size > 0 && size <= max {
		b.Grow(int(size) + bytes.MinRead)
	}
	if _, err := io.Copy(&b, io.LimitReader(r, max+1)); err != nil {
		return "", err
	}
	if int64(b.Len()) > max {
		return "", errTooLarge{max}
	}
	return b.String(), nil
}

// readFileBounded refuses a file over max bytes before reading it (a
// device like /dev/zero has no size: it is read up to the bound).
func readFileBounded(path string, max int64) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	var size int64
	if fi, err := fh.Stat(); err == nil && fi.Mode().IsRegular() {
		if fi.Size() > max {
			return "", errTooLarge{max}
		}
		size = fi.Size()
	}
	return readBoundedSized(fh, max, size)
}
