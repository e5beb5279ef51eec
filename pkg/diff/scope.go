package diff

import (
	"fmt"
	"strings"

	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state"
)

// ResolveSelectTags returns the select tags a run uses: the flag's when
// given, else the file's, else [state.DefaultSelectTag]. Both given and
// different is an error. The result is sorted and free of duplicates.
func ResolveSelectTags(fileTags, flagTags []string) ([]string, error) {
	f, o := tagSet(fileTags), tagSet(flagTags)
	switch {
	case len(o) > 0 && len(f) > 0:
		if strings.Join(f, ",") != strings.Join(o, ",") {
			return nil, fmt.Errorf("select tags %q given on the command line differ from the file's _info.select_tags %q", o, f)
		}
		return o, nil
	case len(o) > 0:
		return o, nil
	case len(f) > 0:
		return f, nil
	}
	return []string{state.DefaultSelectTag}, nil
}

// tagSet and hasAllTags are Kong's rules for tag sets (pkg/konnect/kong);
// hasAllTags is kvsync's ownership rule: an entity is in scope when it
// carries every select tag.
var (
	tagSet     = kong.TagSet
	hasAllTags = kong.HasAllTags
)

func anyList(ss []string) []any {
	if ss == nil {
		return nil
	}
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// adopt decides the tags of a declared entity that exists. One that
// carries the select tags is kvsync's: the file's tags and the select tags.
// An untagged one is adopted as it is, and the plan lists it. One that
// carries other tags belongs to another tool: kvsync takes it over only
// with Options.Adopt, and then adds its tags to the ones it has instead of
// replacing them.
func (b *builder) adopt(kind Kind, name string, liveTags, fileTags []string) ([]string, bool) {
	switch {
	case hasAllTags(liveTags, b.tags):
		return tagSet(b.tags, fileTags), true
	case len(liveTags) == 0:
		b.note("%s %s exists untagged: kvsync adopts it (adds the select tags %s)", kind, name, strings.Join(b.tags, ", "))
		return tagSet(b.tags, fileTags), true
	case !b.opts.Adopt:
		b.fail("%s %s exists with tags %q, not the select tags %q: another tool may own it; pass --adopt to take it over (kvsync then adds its tags)", kind, name, tagSet(liveTags), b.tags)
		return nil, false
	}
	b.warn("%s %s exists with tags %q: adopted (--adopt), kvsync adds the select tags %q", kind, name, tagSet(liveTags), b.tags)
	return tagSet(liveTags, b.tags, fileTags), true
}
