package diff

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state"
)

// KindPlugin: Kong plugin entities, identified by name and scope (route,
// service, consumer, consumer group; by name or id in the file), or by
// instance_name when the file gives one. Configs compare after the
// schema's defaults are filled in; encrypted fields never print.
const KindPlugin Kind = "plugin"

var pluginKind = &descriptor{
	kind:            KindPlugin,
	label:           "plugin",
	countsUnmanaged: true,
	fetch:           fetchPlugins,
	plan:            planPlugins,
	check:           checkPlugins,
	dump:            dumpPlugins,
	managed:         func(b *builder) int { return len(b.live.Plugins) },
	dumped:          func(f *state.File) int { return len(f.Plugins) },
	fingerprint:     fingerprintPlugin,
}

// PluginOp is the operation of a plugin change.
type PluginOp struct {
	Body konnect.Plugin
}

func (o *PluginOp) refs() []*IDRef { return nil }

func (o PluginOp) Format(f fmt.State, verb rune) {
	_, _ = fmt.Fprintf(f, "diff.PluginOp{id %q, name %q}", o.Body.ID, o.Body.Name)
}

// pluginScope is a plugin's resolved scope: ids, "" when unset.
type pluginScope = kong.Scope

func scopeKey(name string, s pluginScope) string {
	return "plugin:" + name + "\x00" + strings.Join(s[:], "\x00")
}

func liveScope(p konnect.Plugin) pluginScope {
	id := func(fk *konnect.ForeignKey) string {
		if fk == nil {
			return ""
		}
		return fk.ID
	}
	return pluginScope{kong.ScopeRoute: id(p.Route), kong.ScopeService: id(p.Service),
		kong.ScopeConsumer: id(p.Consumer), kong.ScopeConsumerGroup: id(p.ConsumerGroup)}
}

func foreignKey(id string) *konnect.ForeignKey {
	if id == "" {
		return nil
	}
	return &konnect.ForeignKey{ID: id}
}

func pluginLabel(p state.Plugin) string {
	label := p.Name
	if d := p.Scope().Describe(p.InstanceName); d != "" {
		label += " (" + d + ")"
	}
	return fmt.Sprintf("%q", label)
}

func pluginKeys(name string, s pluginScope, instance string) []string {
	keys := []string{scopeKey(name, s)}
	if instance != "" {
		keys = append(keys, "plugin-instance:"+instance)
	}
	return keys
}

// fetchPlugins lists every plugin (not filtered by tags: adoption and the
// unmanaged counts need the others too), fetches each schema the file or
// an in-scope live plugin names once, and resolves each route, service,
// consumer and consumer group the file names by that name or id (one that
// does not exist is left out of Live; Compute reports it), by a GET or a
// listing of the kind, whichever costs fewer requests (see
// scopeResolver). Then, so that a plan can name what a live plugin in
// scope is attached to, it resolves by id the ones still unknown: none in
// a no-change diff, where every live plugin in scope is one the file
// names. Only the kinds plugins use are read; lists run concurrently.
func fetchPlugins(ctx context.Context, f *fetcher) error {
	g, gctx := errgroup.WithContext(ctx)
	requested := map[string]bool{}
	request := func(what string) bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		if requested[what] {
			return false
		}
		requested[what] = true
		return true
	}
	resolvers := f.scopeResolvers()
	var refs [len(kong.ScopeFields)][]string
	for _, p := range f.desired.Plugins {
		if request("schema\x00" + p.Name) {
			g.Go(func() error { return f.schema(gctx, p.Name) })
		}
		for i, ref := range p.Scope() {
			if ref != "" && request(kong.ScopeField(i).Key()+"\x00"+ref) {
				refs[i] = append(refs[i], ref)
			}
		}
	}
	for i, r := range resolvers {
		g.Go(func() error { return r.resolve(gctx, f, refs[i]) })
	}
	g.Go(func() error {
		plugins, err := f.c.Plugins.List(gctx, f.cpID, nil)
		if err != nil {
			return fmt.Errorf("listing plugins: %w", err)
		}
		f.live.Plugins = plugins
		for _, p := range plugins {
			if f.inScope(p.Tags) && request("schema\x00"+p.Name) {
				g.Go(func() error { return f.schema(gctx, p.Name) })
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	known := f.live.scopeRefs()
	var ids [len(kong.ScopeFields)][]string
	for _, p := range f.live.Plugins {
		if !f.inScope(p.Tags) {
			continue
		}
		for i, id := range liveScope(p) {
			if _, ok := known[i][id]; id != "" && !ok && request(kong.ScopeField(i).Key()+"\x00"+id) {
				ids[i] = append(ids[i], id)
			}
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	for i, r := range resolvers {
		g.Go(func() error { return r.resolve(gctx, f, ids[i]) })
	}
	return g.Wait()
}

// schema fetches one plugin schema; an unknown plugin is left out.
func (f *fetcher) schema(ctx context.Context, name string) error {
	s, err := f.c.PluginSchemas.Get(ctx, f.cpID, name)
	if konnect.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("plugin schema %q: %w", name, err)
	}
	parsed := kong.NewPluginSchema(s.Fields)
	f.set(func() { f.live.Schemas[name] = parsed })
	return nil
}

// scopeRefs maps, for each scope field, the live id of each entity Live
// holds to how a plan names it: the name or id the file used, else its
// own name, else its id.
func (l *Live) scopeRefs() [len(kong.ScopeFields)]map[string]string {
	var out [len(kong.ScopeFields)]map[string]string
	for i := range out {
		out[i] = map[string]string{}
	}
	add := func(i int, ref, id, name string) {
		if ref == id && name != "" {
			ref = name // looked up by id: name it by its name
		}
		if prev, ok := out[i][id]; ok && prev != id && prev != name {
			return // the file's own spelling wins
		}
		out[i][id] = ref
	}
	for i, k := range scopeKinds {
		k.each(l, func(ref, id, name string) { add(i, ref, id, name) })
	}
	return out
}

// at prefixes a message with a position, when there is one.
func at(pos state.Position) string {
	if s := pos.String(); s != "" {
		return s + ": "
	}
	return ""
}

// scopeNames are the names of the entities of scope field i that Live
// holds (for "did you mean").
func (l *Live) scopeNames(i int) []string {
	seen := map[string]bool{}
	add := func(name string) {
		if name != "" {
			seen[name] = true
		}
	}
	scopeKinds[i].each(l, func(_, _, name string) { add(name) })
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	return out
}

// resolveScope turns the names or ids a desired plugin uses into ids.
func (b *builder) resolveScope(p state.Plugin) (pluginScope, bool) {
	var s pluginScope
	ok := true
	for i, ref := range p.Scope() {
		if ref == "" {
			continue
		}
		f := kong.ScopeField(i)
		id := scopeKinds[f].idOf(b.live, ref)
		if id == "" {
			b.fail("%splugin %s: %s %q not found in control plane %s%s", at(state.Locate(p.FieldPos, f.Key(), p.Pos)),
				pluginLabel(p), f.Key(), ref, b.live.ControlPlane.Name, kong.DidYouMean(ref, f.Plural(), b.live.scopeNames(i)))
			ok = false
			continue
		}
		s[i] = id
	}
	return s, ok
}

func planPlugins(b *builder) {
	names := b.live.scopeRefs()
	byKey := map[string]int{}
	byInstance := map[string]int{}
	for i, lp := range b.live.Plugins {
		byKey[scopeKey(lp.Name, liveScope(lp))] = i
		if lp.InstanceName != nil && *lp.InstanceName != "" {
			byInstance[*lp.InstanceName] = i
		}
	}
	// matched[i] is the desired plugin that live plugin i is, -1 for
	// none (its label is made only for an error: most plans never need
	// one, and a plan at scale matches 10,000).
	matched := make([]int, len(b.live.Plugins))
	for i := range matched {
		matched[i] = -1
	}
	for di, p := range b.desired.Plugins {
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
			idx, exists = byKey[scopeKey(p.Name, scope)]
		}
		if exists {
			if other := matched[idx]; other >= 0 {
				b.fail("plugin %s: matches the same live plugin (id %s) as plugin %s", pluginLabel(p), b.live.Plugins[idx].ID, pluginLabel(b.desired.Plugins[other]))
				continue
			}
			matched[idx] = di
		}
		var live *konnect.Plugin
		if exists {
			live = &b.live.Plugins[idx]
		}
		b.planPlugin(p, scope, schema, live, names)
	}
	for i, lp := range b.live.Plugins {
		if matched[i] >= 0 {
			continue
		}
		if !hasAllTags(lp.Tags, b.tags) {
			b.unmanaged[KindPlugin]++
			continue
		}
		s := liveScope(lp)
		var refs kong.Scope
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
		gone := map[string]any{"config": lp.Config, "enabled": lp.Enabled == nil || *lp.Enabled, "tags": anyList(tagSet(lp.Tags))}
		if norm, err := normalizeMap(gone); err == nil {
			gone = norm
		}
		// Without a schema nothing says which fields are credentials:
		// the whole config is then shown redacted.
		r := &redactor{secretPaths: []path{{"config"}}}
		if schema := b.live.Schemas[lp.Name]; schema != nil {
			r.secretPaths = schema.EncryptedPaths()
		}
		n := &node{
			c: &Change{Action: Delete, Kind: KindPlugin, Name: lp.Name, Scope: refs.Describe(instance),
				Fields: r.goneFields(gone),
				Op: &PluginOp{Body: konnect.Plugin{ID: lp.ID, Name: lp.Name, InstanceName: lp.InstanceName,
					Route: lp.Route, Service: lp.Service, Consumer: lp.Consumer, ConsumerGroup: lp.ConsumerGroup}}},
			naturalKeys: pluginKeys(lp.Name, s, instance),
		}
		liveRefs := map[vaultRef]bool{}
		if cfg, err := normalizeMap(lp.Config); err == nil {
			vaultRefs(cfg, liveRefs)
		}
		b.pluginEdges(n, nil, liveRefs)
		b.add(n)
	}
}

// planPlugin plans one desired plugin against its live counterpart (nil
// when there is none). What only a change needs (its label, body, keys
// and edges) is made once there is one: at scale most plugins compare
// equal, and making it for each cost a fifth of the plan.
func (b *builder) planPlugin(p state.Plugin, scope pluginScope, schema *kong.PluginSchema, lp *konnect.Plugin, names [len(kong.ScopeFields)]map[string]string) {
	tags := tagSet(b.tags, p.Tags)
	enabled := p.Enabled == nil || *p.Enabled // as pluginBody sends it

	r := &redactor{sensitive: map[string]sensitiveLeaf{}, secretPaths: schema.EncryptedPaths()}
	sensitiveLeaves(path{"config"}, p.Config, r.sensitive)
	cfg, err := normalizeMap(p.Config)
	if err != nil {
		b.fail("plugin %s: config: %v", pluginLabel(p), err)
		return
	}
	displayScope := p.Scope().Describe(p.InstanceName)
	// change adds the change once there is one, with its edges.
	change := func(action Action, fields []FieldChange, body konnect.Plugin, liveRefs map[vaultRef]bool) {
		desiredRefs := map[vaultRef]bool{}
		vaultRefs(cfg, desiredRefs)
		n := &node{c: &Change{Action: action, Kind: KindPlugin, Name: p.Name, Scope: displayScope,
			Fields: fields, Op: &PluginOp{Body: body}}, naturalKeys: pluginKeys(p.Name, scope, p.InstanceName)}
		b.pluginEdges(n, desiredRefs, liveRefs)
		b.add(n)
	}

	if lp == nil {
		want := map[string]any{"config": cfg, "enabled": enabled, "tags": anyList(tags)}
		if p.Protocols != nil {
			want["protocols"] = anyList(p.Protocols)
		}
		var ls []leafDiff
		leaves(nil, want, &ls)
		change(Create, r.fieldChanges(ls), pluginBody(p, scope, schema, tags), nil)
		return
	}

	adopted, ok := b.adopt(KindPlugin, p.Name+scopeSuffix(displayScope), lp.Tags, p.Tags)
	if !ok {
		return
	}
	tags = adopted
	filled, err := normalizeMap(schema.ConfigDefaults(cfg))
	if err != nil {
		b.fail("plugin %s: config: %v", pluginLabel(p), err)
		return
	}
	protocols := p.Protocols
	if protocols == nil {
		protocols = schema.DefaultProtocols()
	}
	want := map[string]any{"config": filled, "enabled": enabled, "tags": anyList(tags)}
	liveCfg, err := normalizeMap(lp.Config)
	if err != nil {
		b.fail("plugin %s: live config: %v", pluginLabel(p), err)
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
	}
	// The scope can differ only when the plugin was matched by instance_name.
	ls := liveScope(*lp)
	for _, f := range kong.ScopeFields {
		if ls[f] != scope[f] {
			want[f.Key()], have[f.Key()] = displayID(names[f], scope[f]), displayID(names[f], ls[f])
		}
	}
	for _, l := range maskUnknown(want, have, r.sensitive) {
		b.note("plugin %s: %s compared as unknown (%s not set)", pluginLabel(p), l.path, strings.Join(l.value.MissingEnv(), ", "))
	}
	var diffs []leafDiff
	diffTrees(nil, have, want, true, true, &diffs)
	if len(diffs) == 0 {
		return
	}
	body := pluginBody(p, scope, schema, tags)
	body.ID = lp.ID
	if p.InstanceName == "" {
		body.InstanceName = lp.InstanceName // a PUT without it would clear it
	}
	liveRefs := map[vaultRef]bool{}
	vaultRefs(liveCfg, liveRefs)
	change(Update, r.fieldChanges(diffs), body, liveRefs)
}

// pluginEdges orders a plugin change against the vaults and secrets its
// references read: the vaults and secrets it will read first, and the
// deletes of those it stops reading after it.
func (b *builder) pluginEdges(n *node, desired, live map[vaultRef]bool) {
	vaults, stores := b.vaults(), b.stores()
	for ref := range desired {
		n.after = append(n.after, edge{"", vaultResolutionAddr(ref.prefix)})
		if vs, ok := vaults.desired[ref.prefix]; ok {
			n.after = append(n.after, edge{Create, secretAddr(vs.name, ref.key)})
		}
	}
	for ref := range live {
		if n.c.Action == Update && desired[ref] {
			continue
		}
		n.before = append(n.before, edge{Delete, vaultAddr(ref.prefix)})
		if id := vaults.liveStore[ref.prefix]; id != "" {
			n.before = append(n.before, edge{Delete, secretAddr(stores.byID[id].Name, ref.key)})
		}
	}
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

// checkPlugins checks each plugin's config against its live schema.
func checkPlugins(f *state.File, live *Live) []error {
	var problems []error
	for i, p := range f.Plugins {
		schema := live.Schemas[p.Name]
		if schema == nil {
			continue // Compute reports a plugin without a schema
		}
		// Messages name fields and constraints, never values; revealing
		// lets a substituted string count as the string it is.
		for _, fe := range schema.Validate(state.RevealMap(p.Config)) {
			msg := fe.Message
			if msg == "unknown field" {
				parent, field := fe.Path, fe.Path
				if j := strings.LastIndexByte(fe.Path, '.'); j >= 0 {
					parent, field = fe.Path[:j], fe.Path[j+1:]
				}
				if best, ok := kong.Closest(field, schema.FieldNames(parent)); ok {
					msg += ` (did you mean "` + best + `"?)`
				}
			}
			problems = append(problems, fmt.Errorf("%s: plugins[%d] (%s).%s: %s", state.Locate(p.FieldPos, fe.Path, p.Pos), i, p.Name, fe.Path, msg))
		}
	}
	return problems
}

// dumpPlugins writes the plugins in scope, naming what they attach to,
// without the schema's defaults and with encrypted fields as placeholders.
func dumpPlugins(d *dumper) {
	var byID [len(kong.ScopeFields)]map[string]string // scope field -> id -> name
	for i, k := range scopeKinds {
		byID[i] = map[string]string{}
		k.each(d.live, func(_, id, name string) { byID[i][id] = name })
	}
	for _, pl := range d.live.Plugins {
		if !d.inScope(pl.Tags) {
			continue
		}
		dp := state.Plugin{Name: pl.Name, Tags: d.extraTags(pl.Tags)}
		if pl.InstanceName != nil && *pl.InstanceName != "" {
			dp.InstanceName = *pl.InstanceName
		}
		if pl.Enabled != nil && !*pl.Enabled {
			disabled := false
			dp.Enabled = &disabled
		}
		for i, id := range liveScope(pl) {
			if id == "" {
				continue
			}
			ref := dp.ScopeRef(kong.ScopeField(i))
			*ref = id
			if n := byID[i][id]; n != "" {
				*ref = n
			}
		}
		cfg := pl.Config
		if schema := d.live.Schemas[pl.Name]; schema != nil {
			cfg = pruneDefaults(pl.Config, schema.ConfigDefaults)
			if !kong.SameTags(pl.Protocols, schema.DefaultProtocols()) {
				dp.Protocols = pl.Protocols
			}
			cfg = markSecrets(cfg, schema.EncryptedPaths())
		} else {
			dp.Protocols = pl.Protocols
		}
		if len(cfg) > 0 {
			dp.Config = cfg
		}
		d.file.Plugins = append(d.file.Plugins, dp)
	}
}

// pluginBody is what a create or update of a declared plugin sends:
// credentials marked sensitive, the scope by id.
func pluginBody(p state.Plugin, scope pluginScope, schema *kong.PluginSchema, tags []string) konnect.Plugin {
	enabled := true
	if p.Enabled != nil {
		enabled = *p.Enabled
	}
	body := konnect.Plugin{
		Name: p.Name, Config: markSecrets(p.Config, schema.EncryptedPaths()), Enabled: &enabled, Protocols: p.Protocols, Tags: tags,
		Route: foreignKey(scope[kong.ScopeRoute]), Service: foreignKey(scope[kong.ScopeService]),
		Consumer: foreignKey(scope[kong.ScopeConsumer]), ConsumerGroup: foreignKey(scope[kong.ScopeConsumerGroup]),
	}
	if p.InstanceName != "" {
		instance := p.InstanceName
		body.InstanceName = &instance
	}
	return body
}

// fingerprintPlugin: a plugin's create or update depends on its
// substituted values and on which route, service, consumer and consumer
// group it is scoped to (their ids and names, not their other fields); an
// update or delete on which plugin it is.
func fingerprintPlugin(f *fingerprinter, c *Change) {
	o, ok := c.Op.(*PluginOp)
	if !ok {
		return
	}
	owner := "plugin " + c.Name + scopeSuffix(c.Scope)
	if c.Action != Delete {
		f.configValues(owner, o.Body.Config)
		ids := liveScope(o.Body)
		for i, k := range scopeKinds {
			if ids[i] == "" {
				continue
			}
			// By the name or id the file used for it.
			k.each(f.live, func(ref, id, name string) {
				if id == ids[i] {
					f.object(kong.ScopeField(i).Label()+" "+ref, identity{id, name})
				}
			})
		}
	}
	if c.Action != Create {
		f.object(owner, identity{ID: o.Body.ID, Name: o.Body.Name})
	}
}
