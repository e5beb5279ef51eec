package state

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// section is one kind of entity in a kvsync file: its top-level key, how
// an entry of one file's list is decoded, how the files' lists merge, and
// how a File's entities are written back. Load and MarshalEnv iterate the
// table; adding a kind to the file format is its functions and one entry.
type section struct {
	key    string
	decode func(d *fileDecoder, n *node, path string, fe *fileEntries)
	merge  func(m *merged, files []*fileEntries, c *collector)
	write  func(w *writer, f *File) *yaml.Node
}

// sections are in the order a file is written (parents first).
var sections = []section{
	{key: "config_stores", merge: mergeStores, write: writeStores,
		decode: func(d *fileDecoder, n *node, path string, fe *fileEntries) {
			if e := d.store(n, path); e != nil {
				fe.stores = append(fe.stores, e)
			}
		}},
	{key: "vaults", merge: mergeVaults, write: writeVaults,
		decode: func(d *fileDecoder, n *node, path string, fe *fileEntries) {
			if e := d.vault(n, path); e != nil {
				fe.vaults = append(fe.vaults, e)
			}
		}},
	{key: "plugins", merge: mergePlugins, write: writePlugins,
		decode: func(d *fileDecoder, n *node, path string, fe *fileEntries) {
			if e := d.plugin(n, path); e != nil {
				fe.plugins = append(fe.plugins, e)
			}
		}},
}

// topKeys are the keys a file may hold at its top.
func topKeys() []string {
	keys := []string{"_format_version", "_konnect", "_info"}
	for _, s := range sections {
		keys = append(keys, s.key)
	}
	return keys
}

// sectionKeys names the kinds kvsync manages in a file: "config_stores,
// vaults and plugins".
func sectionKeys() string {
	keys := make([]string, len(sections))
	for i, s := range sections {
		keys[i] = s.key
	}
	return strings.Join(keys[:len(keys)-1], ", ") + " and " + keys[len(keys)-1]
}
