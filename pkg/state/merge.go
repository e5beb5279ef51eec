package state

import (
	"fmt"
	"strings"

	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

// merge combines the files in order: lists concatenate, top-level scalars
// must agree, and duplicates are found across files as within one. It
// checks the references between entities and builds the File.
func merge(files []*fileEntries, opts LoadOptions, c *collector) *File {
	f := &File{}
	var formatAt, cpAt, tagsAt *located
	formatGiven := false
	for _, fe := range files {
		formatGiven = formatGiven || fe.formatGiven
		if fe.formatVersion.set {
			if formatAt == nil {
				f.FormatVersion, formatAt = fe.formatVersion.value, &fe.formatVersion.at
			}
		}
		if fe.controlPlane.set {
			if cpAt == nil {
				f.ControlPlaneName, cpAt = fe.controlPlane.value, &fe.controlPlane.at
				f.ControlPlanePos = cpAt.pos
			} else if fe.controlPlane.value != f.ControlPlaneName {
				c.add(fe.controlPlane.at.pos, fe.controlPlane.at.path, "%q conflicts with %q at %s", fe.controlPlane.value, f.ControlPlaneName, cpAt.pos)
			}
		}
		if fe.hasSelectTags {
			if tagsAt == nil {
				f.SelectTags, tagsAt = fe.selectTags, &fe.selectTagsAt
				f.SelectTagsPos = tagsAt.pos
			} else if !kong.SameTags(fe.selectTags, f.SelectTags) {
				c.add(fe.selectTagsAt.pos, fe.selectTagsAt.path, "[%s] conflicts with [%s] at %s", strings.Join(fe.selectTags, ", "), strings.Join(f.SelectTags, ", "), tagsAt.pos)
			}
		}
	}
	if !formatGiven && len(files) > 0 {
		c.add(Position{File: files[0].name, Line: 1, Column: 1}, "_format_version", "is required: add _format_version: %q", FormatVersion)
	}

	m := &merged{file: f, stores: map[string]*storeEntry{}, vaults: map[string]*vaultEntry{}}
	for _, sec := range sections {
		sec.merge(m, files, c)
	}
	checkDeclaredRefs(m.plugins, m.vaults, m.stores, c)
	if !opts.AllowUndeclared {
		rejected := map[string]bool{}
		for _, fe := range files {
			for k := range fe.rejected {
				rejected[k] = true
			}
		}
		checkUndeclared(f, m.vaultList, nil, rejected, c)
	}
	return f
}

// PluginScope describes where a plugin applies, for messages and plans:
// "globally" or e.g. "on route example-route, consumer alice".
func PluginScope(p Plugin) string {
	var parts []string
	for f, ref := range p.Scope() {
		if ref != "" {
			parts = append(parts, fmt.Sprintf("%s %q", kong.ScopeField(f).Key(), ref))
		}
	}
	if len(parts) == 0 {
		return "globally"
	}
	return "on " + strings.Join(parts, ", ")
}

// merged is the merge in progress: the File, and the entries that
// references between kinds are checked against.
type merged struct {
	file      *File
	stores    map[string]*storeEntry
	vaults    map[string]*vaultEntry
	vaultList []*vaultEntry
	plugins   []*pluginEntry
}

// mergeStores, mergeVaults and mergePlugins concatenate the files' entries
// of one kind, reporting duplicates across files as within one (see
// sections).
func mergeStores(m *merged, files []*fileEntries, c *collector) {
	for _, fe := range files {
		for _, se := range fe.stores {
			if first, dup := m.stores[se.store.Name]; dup {
				c.add(se.nameAt.pos, se.nameAt.path, "duplicate config store %q (first at %s)", se.store.Name, first.nameAt.pos)
				continue
			}
			m.stores[se.store.Name] = se
			// Duplicates are dropped in place: a kept secret only ever
			// moves down, to an index no later one overwrites.
			keys := make(map[string]int, len(se.secrets))
			kept := 0
			for i := range se.secrets {
				s, e := se.store.Secrets[i], se.secrets[i]
				if first, dup := keys[s.Key]; dup {
					c.add(e.keyPos, e.keyPath(), "duplicate secret key %q in config store %q (first at %s)", s.Key, se.store.Name, se.secrets[first].keyPos)
					continue
				}
				keys[s.Key] = kept
				se.store.Secrets[kept], se.secrets[kept] = s, e
				kept++
			}
			se.store.Secrets, se.secrets = se.store.Secrets[:kept], se.secrets[:kept]
			m.file.ConfigStores = append(m.file.ConfigStores, se.store)
		}
	}
}

func mergeVaults(m *merged, files []*fileEntries, c *collector) {
	for _, fe := range files {
		for _, ve := range fe.vaults {
			if first, dup := m.vaults[ve.vault.Prefix]; dup {
				c.add(ve.prefixAt.pos, ve.prefixAt.path, "duplicate vault prefix %q (first at %s)", ve.vault.Prefix, first.prefixAt.pos)
				continue
			}
			m.vaults[ve.vault.Prefix] = ve
			m.vaultList = append(m.vaultList, ve)
			m.file.Vaults = append(m.file.Vaults, ve.vault)
		}
	}
}

func mergePlugins(m *merged, files []*fileEntries, c *collector) {
	n := 0
	for _, fe := range files {
		n += len(fe.plugins)
	}
	scopes := make(map[string]*pluginEntry, n)
	instances := map[string]*pluginEntry{}
	if n > 0 {
		m.plugins = make([]*pluginEntry, 0, n)
		m.file.Plugins = make([]Plugin, 0, n)
	}
	for _, fe := range files {
		for _, pe := range fe.plugins {
			p := pe.plugin
			scope := p.Scope()
			id := p.Name + "\x00" + strings.Join(scope[:], "\x00")
			if first, dup := scopes[id]; dup {
				c.add(p.Pos, pe.path, "duplicate plugin %q %s (first at %s)", p.Name, PluginScope(p), first.plugin.Pos)
				continue
			}
			if p.InstanceName != "" {
				if first, dup := instances[p.InstanceName]; dup {
					c.add(pe.instanceAt.pos, pe.instanceAt.path, "duplicate instance_name %q (first at %s)", p.InstanceName, first.instanceAt.pos)
					continue
				}
				instances[p.InstanceName] = pe
			}
			scopes[id] = pe
			m.plugins = append(m.plugins, pe)
			m.file.Plugins = append(m.file.Plugins, p)
		}
	}
}
