package state

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits that keep a hostile file (deep nesting, alias bombs) from
// exhausting the stack or memory.
//
// The alias-expansion budget is maxNodeVisits plus one visit per byte of
// the file: a file without aliases has fewer nodes than bytes, so any
// valid file fits however large, while an alias bomb stops after about
// as many visits as its size allows.
const (
	maxDepth      = 64
	maxNodeVisits = 50_000
)

// fileDecoder turns one parsed YAML document into entries, reporting every
// problem to the collector with the file's name.
type fileDecoder struct {
	name      string
	lines     *sourceLines
	c         *collector
	lookupEnv func(string) (string, bool)
	publicEnv func(string) bool
	// posSink, when set, records the position of every config value
	// decoded, by field path below posPrefix (see Plugin.FieldPos).
	posSink   map[string]Position
	posPrefix string
	// allowMissingEnv and allowEmptyEnv: see LoadOptions.
	allowMissingEnv, allowEmptyEnv bool
	visits                         int
	exhausted                      bool
	// budget is the most node visits this file may take (see
	// maxNodeVisits); 0 means maxNodeVisits.
	budget int
	// rejected: see fileEntries.rejected.
	rejected map[string]bool
}

func (d *fileDecoder) pos(n *node) Position {
	return Position{File: d.name, Line: int(n.Line), Column: int(n.Column)}
}

// resolve follows aliases to the anchored node.
func resolve(n *node) *node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias()
	}
	return n
}

// visit counts a node against the alias-expansion budget.
func (d *fileDecoder) visit(n *node, path string, depth int) bool {
	d.visits++
	budget := d.budget
	if budget == 0 {
		budget = maxNodeVisits
	}
	if d.visits > budget {
		if !d.exhausted {
			d.exhausted = true
			d.c.add(d.pos(n), path, "the document expands to more than %d nodes (aliases?)", budget)
		}
		return false
	}
	if depth > maxDepth {
		d.c.add(d.pos(n), path, "nested more than %d levels deep", maxDepth)
		return false
	}
	return true
}

// kindName describes a node for "expected X, got Y" messages.
func kindName(n *node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "null"
		case "!!timestamp":
			return "a timestamp"
		default:
			return "a " + n.ShortTag() + " value"
		}
	}
	return "nothing"
}

func isNull(n *node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// field is one key of a mapping.
type field struct {
	key   string
	keyN  *node
	value *node
}

// mapping returns a mapping's keys in order, reporting non-string keys,
// duplicate keys, merge keys and placeholders in keys.
func (d *fileDecoder) mapping(n *node, path string) ([]field, bool) {
	if n.Kind != yaml.MappingNode {
		d.c.add(d.pos(n), path, "expected a mapping, got %s", kindName(n))
		return nil, false
	}
	out := make([]field, 0, len(n.Content)/2)
	// Mappings are small: a scan of the keys kept finds a duplicate with
	// fewer allocations than a map, up to a size where the map is cheaper.
	var first map[string]*node
	if len(n.Content) > 2*smallMapping {
		first = make(map[string]*node, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(&n.Content[i]), resolve(&n.Content[i+1])
		if k == nil || v == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
			d.c.add(d.pos(k), path, "keys must be strings, got %s", kindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.c.add(d.pos(k), path, "YAML merge keys (<<) are not supported")
			continue
		}
		if hasPlaceholder(k.Value) {
			d.c.add(d.pos(k), joinKey(path, k.Value), "environment substitution is not allowed in keys")
			continue
		}
		if prev := firstKey(out, first, k.Value); prev != nil {
			d.c.add(d.pos(k), joinKey(path, k.Value), "duplicate key (first at line %d)", prev.Line)
			continue
		}
		if first != nil {
			first[k.Value] = k
		}
		out = append(out, field{key: k.Value, keyN: k, value: v})
	}
	return out, true
}

// smallMapping is the most keys mapping checks for duplicates by a scan.
const smallMapping = 16

// firstKey returns the key node already kept for key: from first when the
// mapping is large enough to have one, else by a scan of out.
func firstKey(out []field, first map[string]*node, key string) *node {
	if first != nil {
		return first[key]
	}
	for _, f := range out {
		if f.key == key {
			return f.keyN
		}
	}
	return nil
}

// fieldSet is a mapping's known fields, each key once; entities have a
// handful, which a scan finds faster than a map is built.
type fieldSet []field

func (s fieldSet) get(key string) (field, bool) {
	for _, f := range s {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

// known splits a mapping's fields by name, reporting unknown keys. It
// keeps the known ones in fs's own array (callers are done with fs).
func (d *fileDecoder) known(fs []field, path string, allowed []string, hint func(string) string) fieldSet {
	out := fieldSet(fs[:0])
	for _, f := range fs {
		if contains(allowed, f.key) {
			out = append(out, f)
			continue
		}
		msg := fmt.Sprintf("unknown key %q", f.key)
		if h := hint(f.key); h != "" {
			msg += h
		} else if s := closest(f.key, allowed); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else {
			msg += " (known keys: " + strings.Join(allowed, ", ") + ")"
		}
		d.c.add(d.pos(f.keyN), joinKey(path, f.key), "%s", msg)
	}
	return out
}

func noHint(string) string { return "" }

// identityRule explains why substitution is refused outside secret values
// and config maps.
const identityRule = "environment substitution is only allowed in secret values and in vault and plugin config, whose values stay hidden; this field is shown in plans"

// str reads a string scalar that is not a secret: substitution is refused.
// A null is reported as missing when required, else returns "", false.
func (d *fileDecoder) str(n *node, path string, required bool) (string, bool) {
	if isNull(n) {
		if required {
			d.c.add(d.pos(n), path, "is required")
		}
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.c.add(d.pos(n), path, "expected a string, got %s%s", kindName(n), quoteHint(n))
		return "", false
	}
	if hasPlaceholder(n.Value) {
		d.c.add(d.pos(n), path, "%s", identityRule)
		return "", false
	}
	return n.Value, true
}

// quoteHint suggests quoting a scalar YAML read as another type.
func quoteHint(n *node) string {
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!str" {
		return fmt.Sprintf(" (quote it: \"%s\")", n.Value)
	}
	return ""
}

func (d *fileDecoder) boolean(n *node, path string) (*bool, bool) {
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.c.add(d.pos(n), path, "expected true or false, got %s", kindName(n))
		return nil, false
	}
	b, ok := plainBool(n.Value)
	if !ok {
		if err := n.Decode(&b); err != nil {
			d.c.add(d.pos(n), path, "expected true or false")
			return nil, false
		}
	}
	return &b, true
}

// strList reads a list of non-empty strings without duplicates.
func (d *fileDecoder) strList(n *node, path string) ([]string, bool) {
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		d.c.add(d.pos(n), path, "expected a list of strings, got %s", kindName(n))
		return nil, false
	}
	out := []string{}
	ok := true
	seen := map[string]int{}
	for i := range n.Content {
		e := resolve(&n.Content[i])
		ep := fmt.Sprintf("%s[%d]", path, i)
		s, good := d.str(e, ep, true)
		if !good {
			ok = false
			continue
		}
		if s == "" {
			d.c.add(d.pos(e), ep, "must not be empty")
			ok = false
			continue
		}
		if j, dup := seen[s]; dup {
			d.c.add(d.pos(e), ep, "duplicate %q (also at %s[%d])", s, path, j)
			ok = false
			continue
		}
		seen[s] = i
		out = append(out, s)
	}
	return out, ok
}

// list returns a sequence's elements; null is an empty list.
func (d *fileDecoder) list(n *node, path string) []*node {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.c.add(d.pos(n), path, "expected a list, got %s", kindName(n))
		return nil
	}
	out := make([]*node, 0, len(n.Content))
	for i := range n.Content {
		if e := resolve(&n.Content[i]); e != nil {
			out = append(out, e)
		}
	}
	return out
}

// configValue converts a free-form config node to maps, lists and scalars
// as encoding/json would decode them (numbers are float64). String leaves
// that used substitution become Sensitive; onString sees the others.
func (d *fileDecoder) configValue(n *node, path string, depth int, onString func(s string, n *node, path string)) (any, bool) {
	n = resolve(n)
	if n == nil || !d.visit(n, path, depth) {
		return nil, false
	}
	if d.posSink != nil {
		d.posSink[strings.TrimPrefix(path, d.posPrefix)] = d.pos(n)
	}
	switch n.Kind {
	case yaml.MappingNode:
		fs, ok := d.mapping(n, path)
		out := make(map[string]any, len(fs))
		for _, f := range fs {
			v, good := d.configValue(f.value, joinKey(path, f.key), depth+1, onString)
			ok = ok && good
			out[f.key] = v
		}
		return out, ok
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		ok := true
		for i := range n.Content {
			v, good := d.configValue(&n.Content[i], fmt.Sprintf("%s[%d]", path, i), depth+1, onString)
			ok = ok && good
			out = append(out, v)
		}
		return out, ok
	case yaml.ScalarNode:
		return d.configScalar(n, path, onString)
	}
	d.c.add(d.pos(n), path, "unsupported YAML node")
	return nil, false
}

func (d *fileDecoder) configScalar(n *node, path string, onString func(string, *node, string)) (any, bool) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp":
		e := d.expand(n, path)
		if !e.ok {
			return nil, false
		}
		if e.substituted() && !e.public() {
			return e.sensitive(), true
		}
		if onString != nil {
			onString(e.value, n, path)
		}
		return e.value, true
	case "!!null":
		return nil, true
	case "!!bool":
		if b, ok := plainBool(n.Value); ok {
			return b, true
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.c.add(d.pos(n), path, "invalid boolean %q", n.Value)
			return nil, false
		}
		return b, true
	case "!!int", "!!float":
		if i, ok := plainInt(n.Value); ok && n.ShortTag() == "!!int" {
			return float64(i), true
		}
		var v any
		if err := n.Decode(&v); err != nil {
			d.c.add(d.pos(n), path, "invalid number %q", n.Value)
			return nil, false
		}
		var f float64
		switch t := v.(type) {
		case int:
			f = float64(t)
		case int64:
			f = float64(t)
		case uint64:
			f = float64(t)
		case float64:
			f = t
		default:
			d.c.add(d.pos(n), path, "invalid number %q", n.Value)
			return nil, false
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			d.c.add(d.pos(n), path, "%q is not a finite number", n.Value)
			return nil, false
		}
		return f, true
	}
	d.c.add(d.pos(n), path, "unsupported YAML tag %s", n.Tag())
	return nil, false
}

// plainBool reads the spellings yaml.v3 resolves to a boolean, sparing
// the decoder that Node.Decode builds for every scalar; ok is false for
// anything else, which Node.Decode then handles as before.
func plainBool(s string) (b, ok bool) {
	switch s {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// plainTag is the tag yaml.v3 resolves a plain scalar to. A word (a
// letter first) is a string unless it spells a boolean or null, which
// spares yaml.v3's resolution, which allocates for every string; the rest
// is left to that resolution.
func plainTag(s string) string {
	if s != "" && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		if _, ok := plainBool(s); ok {
			return "!!bool"
		}
		switch s {
		case "null", "Null", "NULL":
			return "!!null"
		}
		return "!!str"
	}
	if _, ok := plainInt(s); ok {
		return "!!int"
	}
	if s == "<<" {
		return "!!merge" // yaml.v3's parser tags it so, not its resolution
	}
	n := yaml.Node{Kind: yaml.ScalarNode, Value: s}
	return n.ShortTag()
}

// plainInt reads a plain decimal integer (no sign but '-', no leading
// zero, no '_', at most 18 digits), which yaml.v3 resolves to the same
// int; ok is false for any other form (hex, octal, '_', large), left to
// Node.Decode.
func plainInt(s string) (int64, bool) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || len(digits) > 18 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.ParseInt(s, 10, 64)
	return i, err == nil
}

// configMap reads a vault's or plugin's config mapping.
// configSize estimates how many positions fieldPositions records for the
// config among fs (its values, nested ones counted to a few levels), so
// that the map is sized once; a hint, never a limit.
func configSize(fs fieldSet) int {
	f, ok := fs.get("config")
	if !ok {
		return 0
	}
	var count func(n *node, depth int) int
	count = func(n *node, depth int) int {
		if n == nil || depth > 4 {
			return 0
		}
		total := 1
		switch n.Kind {
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				total += count(&n.Content[i], depth+1)
			}
		case yaml.SequenceNode:
			for i := range n.Content {
				total += count(&n.Content[i], depth+1)
			}
		}
		return min(total, 1<<10)
	}
	return count(f.value, 0)
}

// fieldPositions decodes with decode and records in out where each config
// value sits, keyed by its path below prefix ("config.model.provider").
func (d *fileDecoder) fieldPositions(out map[string]Position, prefix string, decode func()) {
	d.posSink, d.posPrefix = out, prefix+"."
	decode()
	d.posSink, d.posPrefix = nil, ""
}

func (d *fileDecoder) configMap(n *node, path string, onString func(string, *node, string)) (map[string]any, bool) {
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.c.add(d.pos(n), path, "expected a mapping, got %s", kindName(n))
		return nil, false
	}
	v, ok := d.configValue(n, path, 1, onString)
	m, _ := v.(map[string]any)
	return m, ok
}

var simpleKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// joinKey appends a mapping key to a field path, quoting keys that would be
// ambiguous.
func joinKey(path, key string) string {
	if !simpleKey.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// closest returns the allowed key nearest to s when it is a likely typo.
func closest(s string, allowed []string) string {
	best, bestD := "", 3
	sorted := append([]string(nil), allowed...)
	sort.Strings(sorted)
	for _, a := range sorted {
		limit := 2
		if len(a) <= 4 {
			limit = 1
		}
		if dist := levenshtein(s, a); dist <= limit && dist < bestD {
			best, bestD = a, dist
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 99
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
