package diff

import (
	"encoding/json"
	"fmt"
	"strings"
)

// SafeText is a display value that is already safe to print and prints
// verbatim (unquoted in text): "(sensitive)", "(from env NAME)", "(id of new
// config_store NAME)". In JSON it is a plain string.
type SafeText string

// DisplayValue renders a field value on one line: SafeText verbatim,
// anything else as compact JSON, "(absent)" when there is none.
func DisplayValue(v any, has bool) string {
	if !has {
		return "(absent)"
	}
	if s, ok := v.(SafeText); ok {
		return string(s)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return "(unprintable)"
	}
	return string(raw)
}

// Line renders the field as "path: old -> new", "path: new" in a create
// and "path: old" (what goes away) in a delete.
func (f FieldChange) Line(a Action) string {
	switch a {
	case Create:
		return f.Path + ": " + DisplayValue(f.New, f.HasNew)
	case Delete:
		return f.Path + ": " + DisplayValue(f.Old, f.HasOld)
	}
	return f.Path + ": " + DisplayValue(f.Old, f.HasOld) + " -> " + DisplayValue(f.New, f.HasNew)
}

// String is "Plan: N to create, N to update, N to delete."
func (s Summary) String() string {
	return fmt.Sprintf("Plan: %d to create, %d to update, %d to delete.", s.Create, s.Update, s.Delete)
}

// Every type of a plan formats itself, with every verb, as a safe summary.
// The operations hold Sensitive values, and fmt does not call their
// redacting methods when it prints a nested struct after a verb mismatch
// (%d of a struct): a plan's own Format keeps fmt from ever walking into
// them.

func (p Plan) Format(f fmt.State, verb rune) {
	var b strings.Builder
	fmt.Fprintf(&b, "diff.Plan{control plane %q, select tags %q, %s", p.ControlPlane.Name, p.SelectTags, strings.TrimSuffix(p.Summary().String(), "."))
	for _, c := range p.Changes {
		b.WriteString("; ")
		b.WriteString(changeSummary(c, f.Flag('+')))
	}
	b.WriteString("}")
	_, _ = f.Write([]byte(b.String()))
}

// Format prints a change as its String with %s and %v, and as a summary
// with its ID (and fields, with %+v) otherwise.
func (c Change) Format(f fmt.State, verb rune) {
	if verb == 's' || verb == 'v' && !f.Flag('+') && !f.Flag('#') {
		_, _ = f.Write([]byte(c.String()))
		return
	}
	_, _ = f.Write([]byte("diff.Change{" + changeSummary(&c, f.Flag('+')) + "}"))
}

// changeSummary is "ID action headline", with the field lines and
// dependencies when verbose.
func changeSummary(c *Change, verbose bool) string {
	s := fmt.Sprintf("%d %s", c.ID, c.String())
	if !verbose {
		return s
	}
	if len(c.DependsOn) > 0 {
		s += fmt.Sprintf(" after %v", c.DependsOn)
	}
	for _, fc := range c.Fields {
		s += " [" + fc.Line(c.Action) + "]"
	}
	return s
}
