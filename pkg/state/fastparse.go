package state

import (
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// fastParse parses the YAML that kvsync files are written in, straight
// into nodes whose values are slices of src: one block mapping at the top,
// block mappings and sequences below it, plain and quoted scalars on one
// line, flow mappings and sequences on one line (config: {"minute": 5}),
// comments, an opening "---". It declines (ok false) everything else, and
// yaml.v3 parses it instead: anchors, aliases, tags, block scalars,
// multi-line scalars, escapes, empty values, other document markers and
// directives, tabs, control characters, and any text it does not
// understand, so that errors stay yaml.v3's own. When it accepts, its tree
// is the one fromYAML builds from yaml.v3's parse of the same text
// (TestFastParseMatchesYAML, FuzzFastParse, and every test that loads a
// file): it spares yaml.v3's tree of 150-byte nodes, the larger part of
// what loading a large file allocated. The values keep src alive as long
// as the File holds them, which costs less than a copy of each.
func fastParse(src string) (*node, bool) {
	if len(src) > maxFastParse {
		return nil, false
	}
	ascii, ok := fastText(src)
	if !ok {
		return nil, false
	}
	p := &fastParser{src: src, ascii: ascii}
	p.setLine(0, 1)
	p.documentStart()
	if ind, ok := p.nextContent(); !ok || ind != 0 {
		return nil, false
	}
	root, ok := p.collection(false, p.ls, 0)
	if !ok || !p.eof() {
		return nil, false
	}
	return &root, true
}

// fastText checks that src holds only what the fast parser reads: line
// breaks ("\n" or "\r\n") and printable characters, in valid UTF-8,
// but for the byte order mark and the characters yaml.v3 also takes for
// line breaks (U+0085, U+2028, U+2029). ascii is set when src is ASCII.
func fastText(src string) (ascii, ok bool) {
	ascii = true
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c >= ' ' && c <= '~' || c == '\n':
			i++
			continue
		case c == '\r' && i+1 < len(src) && src[i+1] == '\n':
			i += 2
			continue
		case c < utf8.RuneSelf:
			return false, false
		}
		ascii = false
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case r >= 0xA0 && r <= 0xD7FF && r != 0x2028 && r != 0x2029,
			r >= 0xE000 && r <= 0xFFFD && r != 0xFEFF && !(r == utf8.RuneError && size == 1),
			r >= 0x10000 && r <= utf8.MaxRune:
			i += size
		default:
			return false, false
		}
	}
	return ascii, true
}

// maxFastParse bounds what fastParse reads, so that lines and columns fit
// a node's int32 with room to spare.
const maxFastParse = 1 << 30

// maxChunked is the most children taken from a shared chunk: longer lists
// have their own array, so that a chunk's unused end stays small.
const maxChunked = 256

// maxFastDepth is the deepest nesting fastParse follows.
const maxFastDepth = 64

type fastParser struct {
	src string
	// line is the current line's number; ls and le its start and end
	// (the offset of its '\n', or len(src)).
	line   int
	ls, le int
	// nl is the offset of the current line's '\n' (le, or le+1 after a
	// '\r'), or len(src).
	nl int
	// ascii is set when the text is ASCII: a column is then an offset.
	ascii bool
	// bad is set on anything declined found by nextContent.
	bad bool
	// stack holds the children of the collections being parsed; a
	// collection, once complete, moves its own into chunk.
	stack []node
	chunk []node
	depth int
}

func (p *fastParser) setLine(start, line int) {
	p.ls, p.line = start, line
	p.nl = len(p.src)
	if i := strings.IndexByte(p.src[start:], '\n'); i >= 0 {
		p.nl = start + i
	}
	p.le = p.nl
	if p.le > start && p.src[p.le-1] == '\r' {
		p.le--
	}
}

func (p *fastParser) eof() bool { return p.ls >= len(p.src) }

// advance moves to the next line.
func (p *fastParser) advance() {
	if p.nl >= len(p.src) {
		p.ls, p.le, p.nl = len(p.src), len(p.src), len(p.src)
		return
	}
	p.setLine(p.nl+1, p.line+1)
}

// c is the byte at i on the current line, '\n' past its end.
func (p *fastParser) c(i int) byte {
	if i < p.le {
		return p.src[i]
	}
	return '\n'
}

func (p *fastParser) skipSpaces(i int) int {
	for i < p.le && p.src[i] == ' ' {
		i++
	}
	return i
}

// documentStart skips the "---" a document may open with, alone on its
// line (a comment aside), after blank and comment lines.
func (p *fastParser) documentStart() {
	for !p.eof() {
		i := p.skipSpaces(p.ls)
		if i == p.le || p.src[i] == '#' {
			p.advance()
			continue
		}
		if i == p.ls && strings.HasPrefix(p.src[i:p.le], "---") && p.lineEnd(i+3) {
			p.advance()
		}
		return
	}
}

// nextContent skips blank and comment lines; it returns the next line's
// indentation, false at the end of the text or when that line starts with
// a document marker or directive (then bad is set).
func (p *fastParser) nextContent() (int, bool) {
	for !p.eof() {
		i := p.skipSpaces(p.ls)
		if i == p.le || p.src[i] == '#' {
			p.advance()
			continue
		}
		if i == p.ls {
			if l := p.src[i:p.le]; strings.HasPrefix(l, "---") || strings.HasPrefix(l, "...") || l[0] == '%' {
				p.bad = true
				return 0, false
			}
		}
		return i - p.ls, true
	}
	return 0, false
}

// take moves the children pushed since start into their own slice.
func (p *fastParser) take(start int) []node {
	n := len(p.stack) - start
	if n == 0 {
		return nil
	}
	var out []node
	if n > maxChunked {
		out = make([]node, n)
	} else {
		if len(p.chunk) < n {
			p.chunk = make([]node, 16*maxChunked)
		}
		out = p.chunk[:n:n]
		p.chunk = p.chunk[n:]
	}
	copy(out, p.stack[start:])
	clear(p.stack[start:])
	p.stack = p.stack[:start]
	return out
}

// at makes a node at offset i of the current line; yaml.v3 counts its
// column in characters.
func (p *fastParser) at(kind yaml.Kind, style yaml.Style, tag uint8, i int) node {
	col := i - p.ls
	if !p.ascii {
		col = utf8.RuneCountInString(p.src[p.ls:i])
	}
	return node{Kind: kind, Style: uint8(style), tag: tag, Line: int32(p.line), Column: int32(col + 1)}
}

// enter counts one more level of nesting; false past maxFastDepth.
func (p *fastParser) enter() bool {
	p.depth++
	return p.depth <= maxFastDepth
}

// sibling finds the next line of a block whose items are at column
// indent: its offset; more is false when the block ends before it, ok
// false when it is declined (indented deeper, or a document marker).
func (p *fastParser) sibling(indent int) (at int, more, ok bool) {
	ind, found := p.nextContent()
	switch {
	case p.bad || (found && ind > indent):
		return 0, false, false
	case !found || ind < indent:
		return 0, false, true
	}
	return p.ls + ind, true, true
}

// collection parses a block mapping (seq false) or sequence whose first
// key or '-' is at offset at of the current line, the others at column
// indent of the lines below.
func (p *fastParser) collection(seq bool, at, indent int) (node, bool) {
	if !p.enter() {
		return node{}, false
	}
	defer func() { p.depth-- }()
	n := p.at(yaml.MappingNode, 0, tagMap, at)
	if seq {
		n = p.at(yaml.SequenceNode, 0, tagSeq, at)
	}
	start := len(p.stack)
	for first := true; ; first = false {
		if !first {
			next, more, ok := p.sibling(indent)
			if !ok {
				return node{}, false
			}
			// A sequence that is a mapping's value at the mapping's own
			// indentation ends at the mapping's next key.
			if !more || (seq && !p.seqItem(next)) {
				break
			}
			at = next
		}
		ok := false
		if seq {
			ok = p.item(at, indent)
		} else {
			ok = p.entry(at, indent)
		}
		if !ok {
			return node{}, false
		}
	}
	n.Content = p.take(start)
	return n, true
}

// entry parses one key and its value; it leaves the parser at the start
// of the line after them.
func (p *fastParser) entry(at, indent int) bool {
	key, end, ok := p.blockKey(at)
	if !ok {
		return false
	}
	p.stack = append(p.stack, key)
	i := p.skipSpaces(end)
	if c := p.c(i); c == '\n' || c == '#' {
		// The value is on the lines below: a collection.
		p.advance()
		ind, ok := p.nextContent()
		if !ok {
			return false
		}
		var v node
		switch {
		case ind > indent:
			v, ok = p.block(p.ls + ind)
		case ind == indent && p.seqItem(p.ls+ind):
			v, ok = p.collection(true, p.ls+ind, indent)
		default:
			return false // an empty value
		}
		p.stack = append(p.stack, v)
		return ok
	}
	v, next, ok := p.inline(i)
	if !ok || !p.lineEnd(next) {
		return false
	}
	p.stack = append(p.stack, v)
	p.advance()
	return true
}

// block parses the collection at offset at, at the start of its line.
func (p *fastParser) block(at int) (node, bool) {
	return p.collection(p.seqItem(at), at, at-p.ls)
}

func (p *fastParser) seqItem(at int) bool {
	return p.c(at) == '-' && (p.c(at+1) == ' ' || p.c(at+1) == '\n')
}

// item parses a sequence's item, its '-' at offset at; it leaves the
// parser at the start of the line after it.
func (p *fastParser) item(at, indent int) bool {
	i := p.skipSpaces(at + 1)
	var v node
	var ok bool
	switch c := p.c(i); {
	case c == '\n' || c == '#':
		p.advance()
		ind, more := p.nextContent()
		if !more || ind <= indent {
			return false // an empty item
		}
		v, ok = p.block(p.ls + ind)
	case p.seqItem(i):
		return false
	case p.startsKey(i):
		v, ok = p.collection(false, i, i-p.ls)
	default:
		var next int
		v, next, ok = p.inline(i)
		ok = ok && p.lineEnd(next)
		p.advance()
	}
	p.stack = append(p.stack, v)
	return ok
}

// startsKey reports whether a block mapping's key starts at i.
func (p *fastParser) startsKey(i int) bool {
	_, _, ok := p.blockKey(i)
	return ok
}

// blockKey parses a block mapping's key and its ':' (followed by a space
// or the end of the line); end is the offset after the ':'.
func (p *fastParser) blockKey(at int) (key node, end int, ok bool) {
	if c := p.c(at); c == '"' || c == '\'' {
		key, end, ok = p.quoted(at)
		if !ok || p.c(end) != ':' || (p.c(end+1) != ' ' && p.c(end+1) != '\n') {
			return node{}, 0, false
		}
		return key, end + 1, true
	}
	if !plainStart(p.c(at), p.c(at+1)) {
		return node{}, 0, false
	}
	for j := at; j < p.le; j++ {
		switch {
		case p.src[j] == ':' && (p.c(j+1) == ' ' || p.c(j+1) == '\n'):
			// Longer keys are an error for yaml.v3.
			if j-at > 1000 {
				return node{}, 0, false
			}
			key, ok = p.plain(at, strings.TrimRight(p.src[at:j], " "))
			return key, j + 1, ok
		case p.src[j] == ' ' && p.c(j+1) == '#':
			return node{}, 0, false
		}
	}
	return node{}, 0, false
}

// inline parses a value that stands on its key's or item's line.
func (p *fastParser) inline(i int) (node, int, bool) {
	switch c := p.c(i); c {
	case '"', '\'':
		return p.quoted(i)
	case '{', '[':
		return p.flow(i)
	}
	if !plainStart(p.c(i), p.c(i+1)) {
		return node{}, 0, false
	}
	j := i
	for j < p.le && !(p.src[j] == ' ' && p.c(j+1) == '#') {
		if p.src[j] == ':' && (p.c(j+1) == ' ' || p.c(j+1) == '\n') {
			return node{}, 0, false // a mapping where a scalar was expected
		}
		j++
	}
	n, ok := p.plain(i, strings.TrimRight(p.src[i:j], " "))
	return n, j, ok
}

// lineEnd accepts what may follow a value: spaces, then a comment after
// at least one space, or the end of the line.
func (p *fastParser) lineEnd(i int) bool {
	j := p.skipSpaces(i)
	return p.c(j) == '\n' || (p.c(j) == '#' && j > i)
}

// plain makes the scalar s, which starts at offset i, tagged as yaml.v3
// resolves it.
func (p *fastParser) plain(i int, s string) (node, bool) {
	tag, ok := tagIndex(plainTag(s))
	if !ok || s == "" {
		return node{}, false
	}
	n := p.at(yaml.ScalarNode, 0, tag, i)
	n.Value = s
	return n, true
}

// plainStart reports whether a plain scalar may start with c, followed by
// next: not with an indicator, nor with "-" unless a digit or letter
// follows (a negative number, a word).
func plainStart(c, next byte) bool {
	switch c {
	case '-':
		return isAlnum(next)
	case '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ', '\n':
		return false
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// quoted parses a single- or double-quoted scalar that ends on its line;
// a double-quoted one with an escape is declined.
func (p *fastParser) quoted(i int) (node, int, bool) {
	q := p.src[i]
	escaped := false
	j := i + 1
	for ; ; j++ {
		c := p.c(j)
		if c == '\n' || (c == '\\' && q == '"') {
			return node{}, 0, false
		}
		if c == q {
			if q == '\'' && p.c(j+1) == '\'' {
				escaped = true
				j++
				continue
			}
			break
		}
	}
	style := yaml.DoubleQuotedStyle
	if q == '\'' {
		style = yaml.SingleQuotedStyle
	}
	n := p.at(yaml.ScalarNode, style, tagStr, i)
	n.Value = p.src[i+1 : j]
	if escaped {
		n.Value = strings.ReplaceAll(n.Value, "''", "'")
	}
	return n, j + 1, true
}

// flow parses a flow mapping or sequence that closes on its line.
func (p *fastParser) flow(i int) (node, int, bool) {
	if !p.enter() {
		return node{}, 0, false
	}
	defer func() { p.depth-- }()
	open, close := p.src[i], byte(']')
	n := p.at(yaml.SequenceNode, yaml.FlowStyle, tagSeq, i)
	if open == '{' {
		close = '}'
		n = p.at(yaml.MappingNode, yaml.FlowStyle, tagMap, i)
	}
	start := len(p.stack)
	j := p.skipSpaces(i + 1)
	if p.c(j) == close {
		return n, j + 1, true
	}
	for {
		if open == '{' {
			k, next, ok := p.flowScalar(j)
			if !ok {
				return node{}, 0, false
			}
			p.stack = append(p.stack, k)
			next = p.skipSpaces(next)
			if p.c(next) != ':' {
				return node{}, 0, false
			}
			// A plain key's ':' is followed by a space; a quoted one's
			// may touch the value, as in JSON.
			if k.Style == 0 && p.c(next+1) != ' ' {
				return node{}, 0, false
			}
			j = p.skipSpaces(next + 1)
		}
		var v node
		var next int
		var ok bool
		if c := p.c(j); c == '{' || c == '[' {
			v, next, ok = p.flow(j)
		} else {
			v, next, ok = p.flowScalar(j)
		}
		if !ok {
			return node{}, 0, false
		}
		p.stack = append(p.stack, v)
		j = p.skipSpaces(next)
		switch p.c(j) {
		case ',':
			j = p.skipSpaces(j + 1)
			if c := p.c(j); c == close || c == ',' {
				return node{}, 0, false
			}
			continue
		case close:
			n.Content = p.take(start)
			return n, j + 1, true
		}
		return node{}, 0, false
	}
}

// flowScalar parses a quoted or plain scalar inside a flow collection.
func (p *fastParser) flowScalar(i int) (node, int, bool) {
	if c := p.c(i); c == '"' || c == '\'' {
		return p.quoted(i)
	}
	if !plainStart(p.c(i), p.c(i+1)) {
		return node{}, 0, false
	}
	j := i
	for ; j < p.le; j++ {
		c := p.src[j]
		if c == ',' || c == '[' || c == ']' || c == '{' || c == '}' || (c == ' ' && p.c(j+1) == '#') {
			break
		}
		if c == ':' && p.c(j+1) == ' ' {
			break
		}
		if c == ':' || c == '?' {
			return node{}, 0, false // yaml.v3 reads "a:b" and "a?" in flow its own way
		}
	}
	n, ok := p.plain(i, strings.TrimRight(p.src[i:j], " "))
	return n, j, ok
}
