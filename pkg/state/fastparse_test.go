package state

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// Every test of this package that loads a file the fast parser accepts
// checks its tree against yaml.v3's: the tables of load, validation and
// redaction tests, the fuzz seeds and FuzzLoad's inputs alike.
func init() {
	fastParseCheck = func(data string, root *node) {
		if msg := fastParseDiff(data, root); msg != "" {
			panic("fast parser differs from yaml.v3: " + msg)
		}
	}
}

// fastParseDiff compares the fast parser's tree with yaml.v3's parse of
// the same text, converted; "" when they are the same. It names positions
// and kinds, never values (a test's secret values stay out of failures).
func fastParseDiff(data string, fast *node) string {
	c := newCollector()
	y, ok := parseYAML("f", data, &sourceLines{data: data}, c)
	if !ok {
		return "yaml.v3 fails where the fast parser accepts: " + c.err().Error()
	}
	return nodeDiff(fromYAML(y), fast, "$")
}

func nodeDiff(want, got *node, path string) string {
	if (want == nil) != (got == nil) {
		return fmt.Sprintf("%s: node %v, want %v", path, got != nil, want != nil)
	}
	if want == nil {
		return ""
	}
	at := fmt.Sprintf("%s (line %d col %d, want line %d col %d)", path, got.Line, got.Column, want.Line, want.Column)
	switch {
	case want.Line != got.Line || want.Column != got.Column:
		return at + ": position"
	case want.Kind != got.Kind:
		return fmt.Sprintf("%s: kind %v, want %v", at, got.Kind, want.Kind)
	case want.Style != got.Style:
		return fmt.Sprintf("%s: style %v, want %v", at, got.Style, want.Style)
	case want.Tag() != got.Tag() || want.ShortTag() != got.ShortTag():
		return fmt.Sprintf("%s: tag %s/%s, want %s/%s", at, got.Tag(), got.ShortTag(), want.Tag(), want.ShortTag())
	case want.Value != got.Value:
		return fmt.Sprintf("%s: value of %d bytes differs from yaml.v3's of %d", at, len(got.Value), len(want.Value))
	case want.Alias() != nil || got.Alias() != nil:
		return at + ": an alias"
	case len(want.Content) != len(got.Content):
		return fmt.Sprintf("%s: %d children, want %d", at, len(got.Content), len(want.Content))
	}
	for i := range want.Content {
		if msg := nodeDiff(&want.Content[i], &got.Content[i], fmt.Sprintf("%s[%d]", path, i)); msg != "" {
			return msg
		}
	}
	return ""
}

// fastParseCorpus is every YAML text the repository holds for kvsync: the
// examples, the end-to-end scripts' files, the fuzz seeds, the benchmark
// files, and texts written to probe the fast parser's edges.
func fastParseCorpus(t *testing.T) map[string][]byte {
	t.Helper()
	corpus := map[string][]byte{}
	files, _ := filepath.Glob("../../examples/*/*.yaml")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		corpus[p] = data
	}
	scripts, _ := filepath.Glob("../../cmd/kvsync/testdata/script/*.txtar")
	for _, p := range scripts {
		a, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range a.Files {
			if ext := filepath.Ext(f.Name); ext == ".yaml" || ext == ".yml" {
				corpus[p+":"+f.Name] = f.Data
			}
		}
	}
	for i, s := range fuzzSeeds(t) {
		corpus[fmt.Sprintf("fuzz seed %d", i)] = s
	}
	for _, p := range []string{scaleFile(t), largeFile(t, "secrets", 64<<10), largeFile(t, "plugins", 64<<10)} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		corpus[filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p)] = data
	}
	for i, s := range fastParseEdges {
		corpus[fmt.Sprintf("edge %d", i)] = []byte(s)
	}
	return corpus
}

// fastParseEdges probe where the fast parser's subset ends: each is either
// parsed exactly as yaml.v3 parses it, or declined.
var fastParseEdges = []string{
	"a: 1\n",
	"a: 1",
	"a:\n- x\n- y\nb: z\n",
	"a:\n  - x\n  - y\n",
	"a:\n  - x\n  b: y\n",
	"a:\n  b:\n    c: d\n  e: f\n",
	"a: b\n  c: d\n",
	"a:\n",
	"a:\nb: c\n",
	"a: ~\nb: null\nc: Null\nd: NULL\n",
	"a: true\nb: True\nc: TRUE\nd: yes\ne: on\nf: y\ng: No\n",
	"a: 0\n",
	"a: -1\n",
	"a: 0x1F\n",
	"a: 0o17\n",
	"a: 0b101\n",
	"a: 1_000\n",
	"a: +5\n",
	"a: 1.5\n",
	"a: .inf\n",
	"a: -.inf\n",
	"a: .nan\n",
	"a: 1e3\n",
	"a: 2001-12-14\n",
	"a: 2001-12-14T21:59:43.10-05:00\n",
	"a: 123456789012345678901234567890\n",
	"a: -0\n",
	"a: 007\n",
	"a: 1.\n",
	"a: +.5\n",
	"a: Yes\n",
	"a: NO\n",
	"a: n\n",
	"a: ~x\n",
	"a: null0\n",
	"a: <<\n",
	"a: <\n",
	"a: =\n",
	"a: 0.1.2\n",
	"a: 10.0.0.1\n",
	"a: 1:20\n",
	"a: 'x'\nb: \"y\"\nc: 'it''s'\nd: ''\ne: \"\"\n",
	"a: \"x\\ny\"\n",
	"a: 'x\n  y'\n",
	"a: x\n  y\n",
	"a: x # c\nb: y#z\nc: 'q' # c\n# c\n  # c\nd: e\n",
	"a: x #\n",
	"a: 'q'#c\n",
	"a: b: c\n",
	"a: b:\n",
	"a: b :c\n",
	"a: http://x:80/y\n",
	"a: -\n",
	"a: - x\n",
	"a: -x\n",
	"a: --x\n",
	"a: ?x\n",
	"a: :x\n",
	"a: [x, y]\nb: {c: d, e: [f]}\nc: []\nd: {}\n",
	"a: {\"minute\":10,\"policy\":\"local\"}\nb: {\"k\":[\"v\"],\"h\":true}\n",
	"a: { \"x\" : 1 , y: 2 }\n",
	"a: {x:1}\n",
	"a: {x: }\n",
	"a: {x}\n",
	"a: [x,]\n",
	"a: [x, , y]\n",
	"a: [x\n  , y]\n",
	"a: [x] y\n",
	"a: [a:b]\n",
	"a: [a: b]\n",
	"a: {a: [b, {c: [d]}]}\n",
	"a: [-1, -x, 'y', \"z\"]\n",
	"a: [x] # c\n",
	"a: &x b\nc: *x\n",
	"a: !!str 1\n",
	"a: |\n  x\n",
	"a: >\n  x\n",
	"<<: {}\n",
	"a:\n  <<: {}\n",
	"? a\n: b\n",
	"---\na: 1\n",
	"# c\n\n---\na: 1\n",
	"--- # c\na: 1\n",
	"---  \r\na: 1\n",
	"---#c\na: 1\n",
	"--- a: 1\n",
	"---\n---\na: 1\n",
	"---\n",
	"---\n# c\n",
	"a: 1\n---\nb: 2\n",
	"a: 1\n...\n",
	"%YAML 1.2\n---\na: 1\n",
	"\ta: 1\n",
	"a:\t1\n",
	"a: 1\r\n",
	"a: é\n",
	"é: ü\nb: {ä: ö, c: [ß, 'ñ', \"中文\"]}\nd: 😀 x # 😀\ne: [😀, x]\n",
	"a:\n  - name: ü\n    b: {x: é}\n",
	"a: 1\r\nb:\r\n  - c\r\n  - {d: e}\r\n\r\n# c\r\nf: 'g' # h\r\n",
	"a: 1\r\n",
	"a: 1\rb: 2\n",
	"a: x\u2028y\n",
	"a: x\u0085y\n",
	"a: x\u0080y\n",
	"a: x\ufeffy\n",
	"a: x\ufffey\n",
	"a: x\xffy\n",
	"a: x\xc3\n",
	"a: \u00a0x\n",
	"a: x\u00a0\n",
	"\ufeffa: 1\n",
	"  a: 1\n",
	"- a\n- b\n",
	"x\n",
	"",
	"# only a comment\n",
	"a: 1\na: 2\n",
	"a b: c\n",
	"'a': b\n\"c\": d\n",
	"'e':f\n",
	"\"a\":b\n",
	"a : b\n",
	"1: x\ntrue: y\n~: z\n",
	"a:\n-\n  b: c\n-\n  - d\n",
	"a:\n- - x\n",
	"a:\n-   b: 1\n    c: 2\n-  d: 3\n   e: 4\n",
	"a:\n- b: 1\n    c: 2\n",
	"a:\n- b: 1\n c: 2\n",
	"a:\n  - b\n - c\n",
	"a:\n    - b\n  - c\n",
	"a:\n  b: 1\n   c: 2\n",
	"a:\n  b: 1\n c: 2\n",
	"a:\n  b:\n  - c\n  d: e\n",
	"a: x\n\n\nb: y\n\n",
	"a: x   \nb: y\n",
	"a:    x\n",
	"a: \"x\" \"y\"\n",
	"a: 'x' y\n",
	"a: x, y\n",
	"a: x]\n",
	"a: {x: y}}\n",
	"a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	"a: ${{ env \"X\" }}\nb: '${{ env \"X\" }}'\n",
	"a: \"${{ env \"X\" }}\"\n",
	"a: x\n#c\nb:\n  # c\n  c: d\n",
	"a: @x\n",
	"a: `x`\n",
	"a: %x\n",
	"a: x\n- y\n",
	"a: " + strings.Repeat("k", 1100) + "\n",
	strings.Repeat("k", 1100) + ": a\n",
}

// TestFastParseMatchesYAML: on every text of the corpus the fast parser
// either declines or gives exactly the tree yaml.v3's parse converts to,
// and it accepts the files kvsync is written in (the examples, the
// benchmarks').
func TestFastParseMatchesYAML(t *testing.T) {
	accepted := 0
	for name, data := range fastParseCorpus(t) {
		src := rewriteDeckQuotes(string(data))
		root, ok := fastParse(src)
		if !ok {
			continue
		}
		accepted++
		if msg := fastParseDiff(src, root); msg != "" {
			t.Errorf("%s: %s", name, msg)
		}
	}
	examples, _ := filepath.Glob("../../examples/*/kvsync.yaml")
	for _, p := range append(examples, scaleFile(t), largeFile(t, "secrets", 64<<10), largeFile(t, "plugins", 64<<10)) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fastParse(rewriteDeckQuotes(string(data))); !ok {
			t.Errorf("the fast parser declines %s", p)
		}
	}
	t.Logf("the fast parser accepted %d texts", accepted)
}

// FuzzFastParse: whatever the text, the fast parser declines it or gives
// yaml.v3's tree.
func FuzzFastParse(f *testing.F) {
	for _, s := range fastParseEdges {
		f.Add([]byte(s))
	}
	f.Add([]byte("_format_version: \"3.0\"\nplugins:\n- name: p\n  route: r\n  config: {\"minute\":5,\"policy\":\"local\",\"k\":[\"a\", 'b']}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root, ok := fastParse(string(data))
		if !ok {
			return
		}
		if msg := fastParseDiff(string(data), root); msg != "" {
			t.Fatal(msg)
		}
	})
}
