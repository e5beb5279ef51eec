package diff

import (
	"fmt"
	"strings"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state"
)

// scopeFields are a plugin's foreign keys, in Kong's order.
var scopeFields = []string{"route", "service", "consumer", "consumer_group"}

// pluginScope is a plugin's resolved foreign keys (ids, "" when unset).
type pluginScope [4]string

func (s pluginScope) key(name string) string {
	return "plugin:" + name + "\x00" + strings.Join(s[:], "\x00")
}

func liveScope(p konnect.Plugin) pluginScope {
	id := func(fk *konnect.ForeignKey) string {
		if fk == nil {
			return ""
		}
		return fk.ID
	}
	return pluginScope{id(p.Route), id(p.Service), id(p.Consumer), id(p.ConsumerGroup)}
}

func foreignKey(id string) *konnect.ForeignKey {
	if id == "" {
		return nil
	}
	return &konnect.ForeignKey{ID: id}
}

// scopeNames maps the ids of the entities the file names back to the name
// the file used, for display.
func (b *builder) scopeNames() [4]map[string]string {
	var out [4]map[string]string
	for i := range out {
		out[i] = map[string]string{}
	}
	for ref, r := range b.live.Routes {
		out[0][r.ID] = ref
	}
	for ref, s := range b.live.Services {
		out[1][s.ID] = ref
	}
	for ref, c := range b.live.Consumers {
		out[2][c.ID] = ref
	}
	for ref, g := range b.live.ConsumerGroups {
		out[3][g.ID] = ref
	}
	return out
}

// describeScope renders a plugin's scope, e.g. "route example-route".
func describeScope(instance string, refs [4]string) string {
	var parts []string
	if instance != "" {
		parts = append(parts, "instance "+instance)
	}
	for i, r := range refs {
		if r != "" {
			parts = append(parts, strings.ReplaceAll(scopeFields[i], "_", " ")+" "+r)
		}
	}
	return strings.Join(parts, ", ")
}

// resolveScope turns the names or ids a desired plugin uses into ids.
func (b *builder) resolveScope(p state.Plugin) (pluginScope, bool) {
	var s pluginScope
	ok := true
	refs := [4]string{p.Route, p.Service, p.Consumer, p.ConsumerGroup}
	for i, ref := range refs {
		if ref == "" {
			continue
		}
		var id string
		var found bool
		switch i {
		case 0:
			var e konnect.Route
			e, found = b.live.Routes[ref]
			id = e.ID
		case 1:
			var e konnect.Service
			e, found = b.live.Services[ref]
			id = e.ID
		case 2:
			var e konnect.Consumer
			e, found = b.live.Consumers[ref]
			id = e.ID
		case 3:
			var e konnect.ConsumerGroup
			e, found = b.live.ConsumerGroups[ref]
			id = e.ID
		}
		if !found || id == "" {
			b.fail("plugin %s: %s %q not found in control plane %s", pluginLabel(p), scopeFields[i], ref, b.live.ControlPlane.Name)
			ok = false
			continue
		}
		s[i] = id
	}
	return s, ok
}

func pluginLabel(p state.Plugin) string {
	label := p.Name
	if d := describeScope(p.InstanceName, [4]string{p.Route, p.Service, p.Consumer, p.ConsumerGroup}); d != "" {
		label += " (" + d + ")"
	}
	return fmt.Sprintf("%q", label)
}

func (b *builder) plugins() {
	names := b.scopeNames()
	byKey := map[string]int{}
	byInstance := map[string]int{}
	for i, lp := range b.live.Plugins {
		byKey[liveScope(lp).key(lp.Name)] = i
		if lp.InstanceName != nil && *lp.InstanceName != "" {
			byInstance[*lp.InstanceName] = i
		}
	}
	matched := map[int]string{}
	for _, p := range b.desired.Plugins {
		scope, ok := b.resolveScope(p)
		if !ok {
			continue
		}
		schema := b.live.Schemas[p.Name]
		if schema == nil {
			b.fail("plugin %s: no schema for plugin %q in control plane %s (is the plugin available?)", pluginLabel(p), p.Name, b.live.ControlPlane.Name)
			continue
		}
		idx, exists := -1, false
		if p.InstanceName != "" {
			idx, exists = byInstance[p.InstanceName]
			// An instance_name held by another kind of plugin is not this
			// plugin: create it (after that one's delete, when in scope).
			exists = exists && b.live.Plugins[idx].Name == p.Name
		} else {
			idx, exists = byKey[scope.key(p.Name)]
		}
		if exists {
			if other, taken := matched[idx]; taken {
				b.fail("plugin %s: matches the same live plugin (id %s) as plugin %s", pluginLabel(p), b.live.Plugins[idx].ID, other)
				continue
			}
			matched[idx] = pluginLabel(p)
		}
		b.plugin(p, scope, schema, idx, exists, names)
	}
	for i, lp := range b.live.Plugins {
		if _, ok := matched[i]; ok {
			continue
		}
		if !hasAllTags(lp.Tags, b.tags) {
			b.unmanaged[KindPlugin]++
			continue
		}
		s := liveScope(lp)
		var refs [4]string
		for j, id := range s {
			if id != "" {
				refs[j] = names[j][id]
				if refs[j] == "" {
					refs[j] = id
				}
			}
		}
		instance := ""
		if lp.InstanceName != nil {
			instance = *lp.InstanceName
		}
		n := &node{
			c: &Change{Action: Delete, Kind: KindPlugin, Name: lp.Name, Scope: describeScope(instance, refs),
				Plugin: &PluginOp{Body: konnect.Plugin{ID: lp.ID, Name: lp.Name, InstanceName: lp.InstanceName,
					Route: lp.Route, Service: lp.Service, Consumer: lp.Consumer, ConsumerGroup: lp.ConsumerGroup}}},
			liveRefs:    map[vaultRef]bool{},
			naturalKeys: pluginKeys(lp.Name, s, instance),
		}
		if cfg, err := normalizeMap(lp.Config); err == nil {
			vaultRefs(cfg, n.liveRefs)
		}
		b.add(n)
	}
}

func pluginKeys(name string, s pluginScope, instance string) []string {
	keys := []string{s.key(name)}
	if instance != "" {
		keys = append(keys, "plugin-instance:"+instance)
	}
	return keys
}

// plugin plans one desired plugin against its live counterpart (when
// exists; idx indexes Live.Plugins).
func (b *builder) plugin(p state.Plugin, scope pluginScope, schema *kong.PluginSchema, idx int, exists bool, names [4]map[string]string) {
	label := pluginLabel(p)
	tags := tagSet(b.tags, p.Tags)
	enabled := true
	if p.Enabled != nil {
		enabled = *p.Enabled
	}
	body := konnect.Plugin{
		Name: p.Name, Config: p.Config, Enabled: &enabled, Protocols: p.Protocols, Tags: tags,
		Route: foreignKey(scope[0]), Service: foreignKey(scope[1]),
		Consumer: foreignKey(scope[2]), ConsumerGroup: foreignKey(scope[3]),
	}
	if p.InstanceName != "" {
		instance := p.InstanceName
		body.InstanceName = &instance
	}

	r := &redactor{sensitive: map[string]sensitiveLeaf{}, secretPaths: schema.EncryptedPaths()}
	sensitiveLeaves(path{"config"}, p.Config, r.sensitive)
	cfg, err := normalizeMap(p.Config)
	if err != nil {
		b.fail("plugin %s: config: %v", label, err)
		return
	}
	n := &node{desiredRefs: map[vaultRef]bool{}, liveRefs: map[vaultRef]bool{},
		naturalKeys: pluginKeys(p.Name, scope, p.InstanceName)}
	vaultRefs(cfg, n.desiredRefs)
	displayScope := describeScope(p.InstanceName, [4]string{p.Route, p.Service, p.Consumer, p.ConsumerGroup})

	if !exists {
		want := map[string]any{"config": cfg, "enabled": enabled, "tags": anyList(tags)}
		if p.Protocols != nil {
			want["protocols"] = anyList(p.Protocols)
		}
		var ls []leafDiff
		leaves(nil, want, &ls)
		n.c = &Change{Action: Create, Kind: KindPlugin, Name: p.Name, Scope: displayScope,
			Fields: r.fieldChanges(ls), Plugin: &PluginOp{Body: body}}
		b.add(n)
		return
	}

	lp := b.live.Plugins[idx]
	b.adoptionWarning(KindPlugin, p.Name+scopeSuffix(displayScope), lp.Tags)
	filled, err := normalizeMap(configDefaults(schema, cfg))
	if err != nil {
		b.fail("plugin %s: config: %v", label, err)
		return
	}
	protocols := p.Protocols
	if protocols == nil {
		protocols = defaultProtocols(schema)
	}
	want := map[string]any{"config": filled, "enabled": enabled, "tags": anyList(tags)}
	liveCfg, err := normalizeMap(lp.Config)
	if err != nil {
		b.fail("plugin %s: live config: %v", label, err)
		return
	}
	liveEnabled := lp.Enabled == nil || *lp.Enabled
	have := map[string]any{"config": liveCfg, "enabled": liveEnabled, "tags": anyList(tagSet(lp.Tags))}
	if protocols != nil {
		want["protocols"] = anyList(tagSet(protocols))
		have["protocols"] = anyList(tagSet(lp.Protocols))
	}
	if p.InstanceName != "" {
		want["instance_name"] = p.InstanceName
		if lp.InstanceName != nil {
			have["instance_name"] = *lp.InstanceName
		}
	} else {
		body.InstanceName = lp.InstanceName // a PUT without it would clear it
	}
	// The scope can differ only when the plugin was matched by instance_name.
	ls := liveScope(lp)
	for i, f := range scopeFields {
		if ls[i] != scope[i] {
			want[f], have[f] = displayID(names[i], scope[i]), displayID(names[i], ls[i])
		}
	}
	var diffs []leafDiff
	diffTrees(nil, have, want, true, true, &diffs)
	vaultRefs(liveCfg, n.liveRefs)
	if len(diffs) == 0 {
		return
	}
	body.ID = lp.ID
	n.c = &Change{Action: Update, Kind: KindPlugin, Name: p.Name, Scope: displayScope,
		Fields: r.fieldChanges(diffs), Plugin: &PluginOp{Body: body}}
	b.add(n)
}

func displayID(names map[string]string, id string) any {
	if id == "" {
		return nil
	}
	if n := names[id]; n != "" && n != id {
		return n + " (" + id + ")"
	}
	return id
}

func scopeSuffix(scope string) string {
	if scope == "" {
		return ""
	}
	return " (" + scope + ")"
}
