package state

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Problem is one thing wrong with a state file, located at a node.
type Problem struct {
	Pos Position
	// Path is the field's path, e.g. "vaults[0].prefix"; empty for problems
	// with the file as a whole.
	Path    string
	Message string
}

// Error renders "file:line:col: path: message".
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Pos.String())
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is the error Load and CheckReferences return: every problem
// found, sorted by position (files in the order given, then line, column).
// Get it with errors.As; errors.As to *Problem finds the first one.
type Problems struct {
	merr  *multierror.Error
	order map[string]int
}

// Error prints one problem per line.
func (ps *Problems) Error() string {
	return ps.merr.Error()
}

// List returns the problems in order.
func (ps *Problems) List() []*Problem {
	out := make([]*Problem, 0, len(ps.merr.Errors))
	for _, e := range ps.merr.Errors {
		out = append(out, e.(*Problem))
	}
	return out
}

// Len is the number of problems.
func (ps *Problems) Len() int { return len(ps.merr.Errors) }

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (ps *Problems) Unwrap() []error { return append([]error(nil), ps.merr.Errors...) }

// ProblemsOf returns the problems an error from this package carries, or nil.
func ProblemsOf(err error) []*Problem {
	var ps *Problems
	if errors.As(err, &ps) {
		return ps.List()
	}
	var p *Problem
	if errors.As(err, &p) {
		return []*Problem{p}
	}
	return nil
}

// collector gathers problems while a file is read and checked.
type collector struct {
	merr *multierror.Error
	// order ranks file names in the order they were given, so that problems
	// sort by argument order rather than alphabetically.
	order map[string]int
}

func newCollector() *collector { return &collector{order: map[string]int{}} }

func (c *collector) addFile(name string) {
	if _, ok := c.order[name]; !ok {
		c.order[name] = len(c.order)
	}
}

func (c *collector) add(pos Position, path, format string, args ...any) {
	c.merr = multierror.Append(c.merr, &Problem{Pos: pos, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (c *collector) empty() bool { return c.merr == nil || len(c.merr.Errors) == 0 }

// err returns the sorted problems, or nil when there are none.
func (c *collector) err() error {
	if c.empty() {
		return nil
	}
	errs := c.merr.Errors
	rank := func(file string) int {
		if r, ok := c.order[file]; ok {
			return r
		}
		return len(c.order)
	}
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i].(*Problem), errs[j].(*Problem)
		if ra, rb := rank(a.Pos.File), rank(b.Pos.File); ra != rb {
			return ra < rb
		}
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Column != b.Pos.Column {
			return a.Pos.Column < b.Pos.Column
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Message < b.Message
	})
	merr := &multierror.Error{Errors: errs, ErrorFormat: onePerLine}
	return &Problems{merr: merr, order: c.order}
}

func onePerLine(errs []error) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
