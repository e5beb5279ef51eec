package diff

import (
	"fmt"
	"strings"
)

// Every type of a plan formats itself, with every verb, as a safe summary.
// The payloads hold Sensitive values, and fmt does not call their redacting
// methods when it prints a nested struct after a verb mismatch (%d of a
// struct): a plan's own Format keeps fmt from ever walking into them.

func (p Plan) Format(f fmt.State, verb rune) {
	var b strings.Builder
	fmt.Fprintf(&b, "diff.Plan{control plane %q, select tags %q, %s", p.ControlPlane.Name, p.SelectTags, strings.TrimSuffix(summaryLine(&p), "."))
	for _, c := range p.Changes {
		b.WriteString("; ")
		b.WriteString(changeSummary(c, f.Flag('+')))
	}
	b.WriteString("}")
	_, _ = f.Write([]byte(b.String()))
}

func (c Change) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte("diff.Change{" + changeSummary(&c, f.Flag('+')) + "}"))
}

// changeSummary is "ID action headline", with the field lines and
// dependencies when verbose.
func changeSummary(c *Change, verbose bool) string {
	s := fmt.Sprintf("%d %s %s", c.ID, c.Action, headline(c))
	if !verbose {
		return s
	}
	if len(c.DependsOn) > 0 {
		s += fmt.Sprintf(" after %v", c.DependsOn)
	}
	for _, fc := range c.Fields {
		s += " [" + fieldLine(c, fc) + "]"
	}
	return s
}

func (o ConfigStoreOp) Format(f fmt.State, verb rune) {
	_, _ = fmt.Fprintf(f, "diff.ConfigStoreOp{id %q, name %q, force %t}", o.ID, o.Name, o.Force)
}

func (o SecretOp) Format(f fmt.State, verb rune) {
	_, _ = fmt.Fprintf(f, "diff.SecretOp{store %q (id %q), key %q, value %s}", o.StoreName, o.StoreID, o.Key, o.Value.Describe())
}

func (o VaultOp) Format(f fmt.State, verb rune) {
	_, _ = fmt.Fprintf(f, "diff.VaultOp{id %q, name %q, prefix %q, store %q}", o.Body.ID, o.Body.Name, o.Body.Prefix, o.StoreName)
}

func (o PluginOp) Format(f fmt.State, verb rune) {
	_, _ = fmt.Fprintf(f, "diff.PluginOp{id %q, name %q}", o.Body.ID, o.Body.Name)
}
