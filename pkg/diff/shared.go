package diff

import (
	"fmt"

	"github.com/kvsync/kvsync/pkg/state"
)

// sharedTagWarning guards a control plane that several files share through
// the default select tag: when neither the file nor the command line sets
// select tags, every vault and plugin tagged "kvsync" is in scope, so a
// team's file that does not declare another team's entities deletes them.
// When the plan deletes such vaults or plugins, it says so.
func (b *builder) sharedTagWarning() string {
	if len(b.desired.SelectTags) > 0 || len(tagSet(b.opts.SelectTags)) > 0 {
		return ""
	}
	// A plugin moved to another route is a delete and a create of one
	// plugin the files do declare: only what no change keeps counts.
	kept := map[string]bool{}
	for _, n := range b.nodes {
		if n.c.Action != Delete {
			kept[string(n.c.Kind)+" "+n.c.Name] = true
		}
	}
	undeclared := 0
	for _, n := range b.nodes {
		if n.c.Action == Delete && (n.c.Kind == KindVault || n.c.Kind == KindPlugin) && !kept[string(n.c.Kind)+" "+n.c.Name] {
			undeclared++
		}
	}
	if undeclared == 0 {
		return ""
	}
	return fmt.Sprintf("the select tag is the bare default %q, and %d vault%s or plugin%s carrying it %s not declared in the files, so sync deletes them: if another team or file shares this control plane with the default tag, give each its own _info.select_tags",
		state.DefaultSelectTag, undeclared, Plural(undeclared), Plural(undeclared), map[bool]string{true: "is", false: "are"}[undeclared == 1])
}
