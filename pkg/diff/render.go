package diff

import (
	"errors"
	"io"
)

// Format is a rendering of a plan.
type Format string

const (
	FormatText     Format = "text"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
)

// RenderOptions tune Render.
type RenderOptions struct {
	// Color enables ANSI colour in the text format.
	Color bool
}

// Render writes the plan in the given format.
func Render(w io.Writer, p *Plan, f Format, opts RenderOptions) error {
	return errors.New("diff: not implemented yet")
}
