package state

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// placeholderOpen starts every substitution expression, as in decK.
const placeholderOpen = "${{"

// placeholderRE matches decK's ${{ env "NAME" }} at the start of a string,
// with any whitespace inside the braces and the name in double quotes or
// backquotes (both are Go template strings, which decK uses). kvsync adds
// one marker: ${{ env "NAME" | public }} says the value is not a secret (a
// host name), so that a config field holding only public values prints in
// plans; a secret's value stays sensitive whatever its markers.
var placeholderRE = regexp.MustCompile("^\\$\\{\\{\\s*env\\s+(?:\"([^\"]*)\"|`([^`]*)`)\\s*(\\|\\s*public\\s*)?\\}\\}")

// deckQuotedRE finds a double-quoted YAML scalar whose only inner double
// quotes are those of ${{ env "NAME" }} placeholders: decK's docs write
// "${{ env "DECK_CONFIG_STORE_ID" }}", which YAML would cut at the inner
// quote (decK substitutes before parsing).
var deckQuotedRE = regexp.MustCompile(`"((?:\$\{\{\s*env\s+"[^"\n]*"\s*(?:\|\s*public\s*)?\}\}|[^"\\'\n])*)"`)

// rewriteDeckQuotes turns the outer double quotes of such scalars into
// single quotes, which keeps every line and column, so that problems stay
// located where the user wrote them.
func rewriteDeckQuotes(data string) string {
	if !strings.Contains(data, placeholderOpen) {
		return data
	}
	return deckQuotedRE.ReplaceAllStringFunc(data, func(m string) string {
		inner := m[1 : len(m)-1]
		if !strings.Contains(inner, `"`) {
			return m // an ordinary double-quoted string: leave it
		}
		return "'" + inner + "'"
	})
}

// expansion is a string scalar after environment substitution.
type expansion struct {
	value string
	// names of the variables used, in order of appearance, deduplicated.
	names []string
	// whole is set when the scalar was exactly one placeholder.
	whole bool
	// ok is false when a variable was unset or an expression malformed; the
	// problems have been reported and value is meaningless.
	ok bool
	// missing are the unset variables, when unset ones are allowed: the
	// value is then unknown.
	missing []string
	// blank are the variables used that are set but empty or only white
	// space, where they appear.
	blank []blankVar
	// publics counts the placeholders marked public.
	publics, placeholders int
}

type blankVar struct {
	name string
	pos  Position
}

func (e expansion) substituted() bool { return len(e.names) > 0 || len(e.missing) > 0 }

// public reports whether every placeholder was marked public and every
// variable is known: the value may print.
func (e expansion) public() bool {
	return e.placeholders > 0 && e.publics == e.placeholders && len(e.missing) == 0
}

// sensitive wraps the expansion's value, keeping the variable names.
func (e expansion) sensitive() Sensitive {
	s := NewSensitive(e.value, e.names...)
	s.whole = e.whole
	s.unknown = e.missing
	return s
}

// hasPlaceholder reports whether s holds anything substitution would touch.
func hasPlaceholder(s string) bool { return strings.Contains(s, placeholderOpen) }

// expand substitutes every ${{ env "NAME" }} in the scalar n. Each unset
// variable and each malformed expression is reported at its own column when
// that can be located in the source line.
func (d *fileDecoder) expand(n *node, path string) expansion {
	s := n.Value
	if !hasPlaceholder(s) {
		return expansion{value: s, ok: true}
	}
	var b strings.Builder
	exp := expansion{ok: true}
	seen := map[string]bool{}
	count := 0
	rest, off := s, 0
	for {
		i := strings.Index(rest, placeholderOpen)
		if i < 0 {
			b.WriteString(rest)
			break
		}
		if i > 0 && rest[i-1] == '$' {
			// $${{ is a literal ${{.
			b.WriteString(rest[:i-1] + placeholderOpen)
			rest, off = rest[i+len(placeholderOpen):], off+i+len(placeholderOpen)
			continue
		}
		b.WriteString(rest[:i])
		at := off + i
		m := placeholderRE.FindStringSubmatch(rest[i:])
		if m == nil {
			// The text is not quoted: it may be part of a secret value.
			d.c.add(d.posAt(n, at), path, "unsupported substitution here: kvsync substitutes only ${{ env \"NAME\" }} (write $${{ for a literal ${{)")
			exp.ok = false
			b.WriteString(placeholderOpen)
			rest, off = rest[i+len(placeholderOpen):], at+len(placeholderOpen)
			continue
		}
		count++
		exp.placeholders++
		name := m[1] + m[2]
		if m[3] != "" || (d.publicEnv != nil && d.publicEnv(name)) {
			exp.publics++
		}
		switch v, set := d.lookupEnv(name); {
		case name == "":
			d.c.add(d.posAt(n, at), path, "empty environment variable name in %s", m[0])
			exp.ok = false
		case (!set || strings.TrimSpace(v) == "") && d.allowMissingEnv:
			// CI passes a secret a pull request may not read as an
			// empty variable: unknown too.
			if !seen[name] {
				seen[name] = true
				exp.missing = append(exp.missing, name)
			}
		case !set:
			d.c.add(d.posAt(n, at), path, "environment variable %q is not set", name)
			exp.ok = false
		default:
			b.WriteString(v)
			if strings.TrimSpace(v) == "" {
				exp.blank = append(exp.blank, blankVar{name: name, pos: d.posAt(n, at)})
			}
			if !seen[name] {
				seen[name] = true
				exp.names = append(exp.names, name)
			}
		}
		rest, off = rest[i+len(m[0]):], at+len(m[0])
	}
	exp.value = b.String()
	exp.whole = count == 1 && placeholderRE.FindString(s) == s
	return exp
}

// posAt locates byte offset off of scalar n's value in the source. It
// checks the source line really holds the value's text up to there (folded
// or escaped scalars do not), and falls back to the scalar's own position.
func (d *fileDecoder) posAt(n *node, off int) Position {
	pos := d.pos(n)
	prefix := n.Value[:off]
	if n.Line < 1 || strings.ContainsRune(prefix, '\n') {
		return pos
	}
	lines := d.lines.get()
	if int(n.Line) > len(lines) {
		return pos
	}
	line := []rune(lines[n.Line-1])
	start := int(n.Column) - 1
	if yaml.Style(n.Style)&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
		start++
	}
	end := start + utf8.RuneCountInString(prefix)
	if start < 0 || end+len(placeholderOpen) > len(line) {
		return pos
	}
	if string(line[start:end]) != prefix || string(line[end:end+len(placeholderOpen)]) != placeholderOpen {
		return pos
	}
	pos.Column = end + 1
	return pos
}
