package state

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

// MarshalEnv writes f as a kvsync file and returns the environment
// variables it reads, sorted. No secret value is ever written: each secret
// value, and each config value that came from the environment, becomes a
// placeholder ${{ env "NAME" }}. NAME is the variable the value came from
// when it was written as exactly one placeholder; otherwise (a literal
// value, "Bearer ${{ env "X" }}", or a secret read from Konnect, which never
// returns values) it is SecretEnvName(store, key) for secrets and
// KVSYNC_<field path> for config values, made unique with a _2, _3 suffix.
// A vault's ConfigStore goes back into config.config_store. A plain string
// containing "${{" is an error, since Load would substitute it.
func MarshalEnv(f *File) ([]byte, []string, error) {
	w := &writer{owner: map[string]string{}}
	root := mapNode()
	version := f.FormatVersion
	if version == "" {
		version = FormatVersion
	}
	addPair(root, "_format_version", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: version, Style: yaml.DoubleQuotedStyle})
	if f.ControlPlaneName != "" {
		k := mapNode()
		addPair(k, "control_plane_name", w.str(f.ControlPlaneName))
		addPair(root, "_konnect", k)
	}
	if f.SelectTags != nil {
		info := mapNode()
		addPair(info, "select_tags", w.strList(f.SelectTags))
		addPair(root, "_info", info)
	}
	for _, sec := range sections {
		if n := sec.write(w, f); n != nil {
			addPair(root, sec.key, n)
		}
	}
	if w.err != nil {
		return nil, nil, w.err
	}
	names := make([]string, 0, len(w.owner))
	for n := range w.owner {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 0 {
		root.HeadComment = "Secret values come from the environment: set " + strings.Join(names, ", ")
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, nil, fmt.Errorf("encode state file: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, nil, fmt.Errorf("encode state file: %w", err)
	}
	return buf.Bytes(), names, nil
}

// SecretEnvName is the variable a written file reads a secret's value from
// when the value did not come from exactly one variable:
// KVSYNC_<STORE>_<KEY>, upper-cased, other characters replaced by "_".
func SecretEnvName(store, key string) string {
	return envName("KVSYNC_" + store + "_" + key)
}

func envName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToUpper(r))
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

type writer struct {
	// owner maps each variable name used to what it stands for, so that two
	// different values never share a derived name.
	owner map[string]string
	err   error
}

func (w *writer) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf(format, args...)
	}
}

func (w *writer) str(s string) *yaml.Node {
	if hasPlaceholder(s) {
		w.fail("%q contains %q, which loading would substitute", s, placeholderOpen)
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func (w *writer) strList(list []string) *yaml.Node {
	n := seqNode()
	n.Style = yaml.FlowStyle
	for _, s := range list {
		n.Content = append(n.Content, w.str(s))
	}
	return n
}

// placeholder writes a Sensitive value as ${{ env "NAME" }}.
func (w *writer) placeholder(s Sensitive, derived, what string) *yaml.Node {
	name, ok := s.WholeEnv()
	if !ok {
		name = derived
		for i := 2; ; i++ {
			if owner, used := w.owner[name]; !used || owner == what {
				break
			}
			name = fmt.Sprintf("%s_%d", derived, i)
		}
	}
	if _, used := w.owner[name]; !used {
		w.owner[name] = what
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: `${{ env "` + name + `" }}`}
}

// value writes a config value; keys are sorted for a stable output.
func (w *writer) value(v any, envBase, path string) *yaml.Node {
	switch t := v.(type) {
	case Sensitive:
		return w.placeholder(t, envName("KVSYNC_"+envBase), path)
	case map[string]any:
		n := mapNode()
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			addPair(n, k, w.value(t[k], envBase+"_"+k, joinKey(path, k)))
		}
		return n
	case []any:
		n := seqNode()
		for i, e := range t {
			n.Content = append(n.Content, w.value(e, fmt.Sprintf("%s_%d", envBase, i), fmt.Sprintf("%s[%d]", path, i)))
		}
		return n
	case string:
		return w.str(t)
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		w.fail("%s: %w", path, err)
	}
	return n
}

func mapNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

func seqNode() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"} }

func addPair(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// writeStores, writeVaults and writePlugins write a File's entities of
// one kind back (see sections); nil when there are none.
func writeStores(w *writer, f *File) *yaml.Node {
	if len(f.ConfigStores) > 0 {
		stores := seqNode()
		for _, s := range f.ConfigStores {
			sn := mapNode()
			addPair(sn, "name", w.str(s.Name))
			if len(s.Secrets) > 0 {
				secrets := seqNode()
				for _, sec := range s.Secrets {
					en := mapNode()
					addPair(en, "key", w.str(sec.Key))
					addPair(en, "value", w.placeholder(sec.Value, SecretEnvName(s.Name, sec.Key), s.Name+"/"+sec.Key))
					secrets.Content = append(secrets.Content, en)
				}
				addPair(sn, "secrets", secrets)
			}
			stores.Content = append(stores.Content, sn)
		}
		return stores
	}
	return nil
}

func writeVaults(w *writer, f *File) *yaml.Node {
	if len(f.Vaults) > 0 {
		vaults := seqNode()
		for i, v := range f.Vaults {
			vn := mapNode()
			addPair(vn, "name", w.str(v.Name))
			addPair(vn, "prefix", w.str(v.Prefix))
			if v.Description != nil {
				addPair(vn, "description", w.str(*v.Description))
			}
			cfg := v.Config
			if v.ConfigStore != "" {
				cfg = make(map[string]any, len(v.Config)+1)
				for k, e := range v.Config {
					cfg[k] = e
				}
				cfg["config_store"] = v.ConfigStore
			}
			if cfg != nil {
				addPair(vn, "config", w.value(cfg, fmt.Sprintf("vault_%s_config", v.Prefix), fmt.Sprintf("vaults[%d].config", i)))
			}
			if v.Tags != nil {
				addPair(vn, "tags", w.strList(v.Tags))
			}
			vaults.Content = append(vaults.Content, vn)
		}
		return vaults
	}
	return nil
}

func writePlugins(w *writer, f *File) *yaml.Node {
	if len(f.Plugins) > 0 {
		plugins := seqNode()
		for i, p := range f.Plugins {
			pn := mapNode()
			addPair(pn, "name", w.str(p.Name))
			if p.InstanceName != "" {
				addPair(pn, "instance_name", w.str(p.InstanceName))
			}
			for _, f := range kong.ScopeFields {
				if ref := *p.ScopeRef(f); ref != "" {
					addPair(pn, f.Key(), w.str(ref))
				}
			}
			if p.Enabled != nil {
				addPair(pn, "enabled", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(*p.Enabled)})
			}
			if p.Protocols != nil {
				addPair(pn, "protocols", w.strList(p.Protocols))
			}
			if p.Config != nil {
				name := "plugin_" + p.Name
				if p.InstanceName != "" {
					name = "plugin_" + p.InstanceName
				}
				addPair(pn, "config", w.value(p.Config, name+"_config", fmt.Sprintf("plugins[%d].config", i)))
			}
			if p.Tags != nil {
				addPair(pn, "tags", w.strList(p.Tags))
			}
			plugins.Content = append(plugins.Content, pn)
		}
		return plugins
	}
	return nil
}
