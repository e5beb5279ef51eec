package state

import (
	"gopkg.in/yaml.v3"
)

// node is a parsed YAML node as the decoder reads it: what a yaml.Node
// carries that decoding needs, in 64 bytes, its children held by value.
// A large file has hundreds of thousands of nodes, so their size is most
// of what loading allocates (see BenchmarkLoadScale). Nodes come from the
// fast parser (fastparse.go) or from yaml.v3's tree (fromYAML), alike:
// the decoder cannot tell them apart.
type node struct {
	Value string
	// Content: a mapping's keys and values in turn, a sequence's items.
	Content []node
	// extra is set only for what the fast parser never produces.
	extra        *nodeExtra
	Line, Column int32
	Kind         yaml.Kind
	Style        uint8 // a yaml.Style
	tag          uint8 // an index in shortTags
}

// nodeExtra holds the rare parts of a node: an alias's target, and a tag
// that is not one of shortTags or differs from the resolved one.
type nodeExtra struct {
	alias         *node
	tag, shortTag string
}

// shortTags are the tags a node refers to by index.
var shortTags = [...]string{tagStr: "!!str", tagMap: "!!map", tagSeq: "!!seq",
	"!!null", "!!bool", "!!int", "!!float", "!!timestamp", "!!merge", "!!binary"}

// The indexes in shortTags that the fast parser sets by name.
const (
	tagStr = 1 + iota
	tagMap
	tagSeq
)

func tagIndex(tag string) (uint8, bool) {
	for i, t := range shortTags {
		if t == tag {
			return uint8(i), true
		}
	}
	return 0, false
}

// ShortTag is yaml.Node.ShortTag of the node it stands for.
func (n *node) ShortTag() string {
	if n.extra != nil && n.extra.shortTag != "" {
		return n.extra.shortTag
	}
	return shortTags[n.tag]
}

// Tag is yaml.Node.Tag of the node it stands for.
func (n *node) Tag() string {
	if n.extra != nil && n.extra.tag != "" {
		return n.extra.tag
	}
	return shortTags[n.tag]
}

// Alias is an alias node's target.
func (n *node) Alias() *node {
	if n.extra == nil {
		return nil
	}
	return n.extra.alias
}

// Decode decodes a scalar as yaml.Node.Decode does: a scalar's decoding
// depends only on its kind, tag, style and value.
func (n *node) Decode(v any) error {
	y := yaml.Node{Kind: n.Kind, Style: yaml.Style(n.Style), Tag: n.Tag(), Value: n.Value}
	return y.Decode(v)
}

// setTags records y's tags on n.
func (n *node) setTags(tag, short string) {
	ti, known := tagIndex(tag)
	if known && tag == short {
		n.tag = ti
		return
	}
	if n.extra == nil {
		n.extra = &nodeExtra{}
	}
	n.extra.tag, n.extra.shortTag = tag, short
}

// fromYAML converts yaml.v3's tree into nodes, keeping its shape: an alias
// stays an alias to the converted anchored node (cycles included), so that
// the decoder walks it exactly as it walked yaml.v3's tree. It takes the
// tree apart as it goes, so that the parts converted can be collected
// while the rest is.
func fromYAML(y *yaml.Node) *node {
	if y == nil {
		return nil
	}
	root := &node{}
	anchored := map[*yaml.Node]*node{}
	var convert func(n *node, y *yaml.Node)
	convert = func(n *node, y *yaml.Node) {
		if y.Anchor != "" {
			anchored[y] = n
		}
		n.Kind, n.Style, n.Value = y.Kind, uint8(y.Style), y.Value
		n.Line, n.Column = int32(y.Line), int32(y.Column)
		n.setTags(y.Tag, y.ShortTag())
		if y.Kind == yaml.AliasNode && y.Alias != nil {
			if n.extra == nil {
				n.extra = &nodeExtra{}
			}
			target, ok := anchored[y.Alias]
			if !ok {
				target = &node{}
				convert(target, y.Alias)
			}
			n.extra.alias = target
		}
		if len(y.Content) > 0 {
			n.Content = make([]node, len(y.Content))
			for i, c := range y.Content {
				convert(&n.Content[i], c)
				y.Content[i] = nil
			}
		}
	}
	convert(root, y)
	return root
}
