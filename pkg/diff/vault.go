package diff

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state"
)

// KindVault: Kong vault entities, identified by prefix. A konnect vault
// names its config store (config.config_store, by name); kvsync resolves
// the id, and a vault over a store the plan creates waits for it.
const KindVault Kind = "vault"

var vaultKind = &descriptor{
	kind:            KindVault,
	label:           "vault",
	countsUnmanaged: true,
	fetch:           fetchVaults,
	plan:            planVaults,
	check:           checkVaults,
	dump:            dumpVaults,
	managed:         func(b *builder) int { return len(b.live.Vaults) },
	sortDump: func(f *state.File) {
		slices.SortStableFunc(f.Vaults, func(a, b state.Vault) int { return strings.Compare(a.Prefix, b.Prefix) })
	},
	dumped:      func(f *state.File) int { return len(f.Vaults) },
	fingerprint: fingerprintVault,
}

// VaultOp is the operation of a vault change. When the vault names its
// config store, Store is that store's id (known, or produced by the
// store's create) and goes into Body.Config["config_store_id"].
type VaultOp struct {
	Body      konnect.Vault
	Store     IDRef
	StoreName string
}

func (o *VaultOp) refs() []*IDRef { return []*IDRef{&o.Store} }

func (o VaultOp) Format(f fmt.State, verb rune) {
	_, _ = fmt.Fprintf(f, "diff.VaultOp{id %q, name %q, prefix %q, store %q}", o.Body.ID, o.Body.Name, o.Body.Prefix, o.StoreName)
}

// vaultAddr is the address of any change to a vault; vaultResolutionAddr of
// a create or update that can change what references through it resolve
// to (a description or tags update cannot).
func vaultAddr(prefix string) string           { return "vault:" + prefix }
func vaultResolutionAddr(prefix string) string { return "vault-resolution:" + prefix }

// liveVaultStoreID is the config store a live konnect vault reads.
func liveVaultStoreID(v konnect.Vault) string {
	id, _ := v.Config["config_store_id"].(string)
	return id
}

// LockPrefix is the prefix of the vault that serves as kvsync's lock on a
// control plane (see pkg/apply's Lock): no plan reads or touches it, and no
// file may declare it.
const LockPrefix = state.LockVaultPrefix

func fetchVaults(ctx context.Context, f *fetcher) error {
	vaults, err := f.c.Vaults.List(ctx, f.cpID, nil)
	if err != nil {
		return fmt.Errorf("listing vaults: %w", err)
	}
	f.live.Vaults = slices.DeleteFunc(vaults, func(v konnect.Vault) bool { return v.Prefix == LockPrefix })
	return nil
}

// vaultIndex is what several kinds need to know of vaults.
type vaultIndex struct {
	// desired is the store each desired vault resolves to, by prefix (only
	// vaults that resolved).
	desired      map[string]vaultStore
	liveByPrefix map[string]konnect.Vault
	// liveStore is the store id each live vault reads, by prefix.
	liveStore map[string]string
	// inScopeLiveStores are the stores in-scope live vaults read;
	// survivingStores those still read after the plan; outOfScopeStores
	// those out-of-scope vaults read (store id -> prefix).
	inScopeLiveStores map[string]bool
	survivingStores   map[string]bool
	outOfScopeStores  map[string]string
}

// vaultStore is the store a desired vault reads: its live id (empty when
// the plan creates it: pending) and its name.
type vaultStore struct {
	id, name string
	pending  bool
}

func (b *builder) vaults() *vaultIndex {
	if b.vaultIdx != nil {
		return b.vaultIdx
	}
	x := &vaultIndex{desired: map[string]vaultStore{}, liveByPrefix: map[string]konnect.Vault{},
		liveStore: map[string]string{}, inScopeLiveStores: map[string]bool{},
		survivingStores: map[string]bool{}, outOfScopeStores: map[string]string{}}
	b.vaultIdx = x
	for _, v := range b.desired.Vaults {
		if vs, ok := b.resolveVaultStore(v); ok {
			x.desired[v.Prefix] = vs
			if vs.id != "" {
				x.survivingStores[vs.id] = true
			}
		}
	}
	for _, lv := range b.live.Vaults {
		id := liveVaultStoreID(lv)
		x.liveByPrefix[lv.Prefix] = lv
		x.liveStore[lv.Prefix] = id
		if id == "" {
			continue
		}
		if hasAllTags(lv.Tags, b.tags) {
			x.inScopeLiveStores[id] = true
		} else if _, matched := x.desired[lv.Prefix]; !matched {
			x.survivingStores[id] = true
			x.outOfScopeStores[id] = lv.Prefix
		}
	}
	return x
}

// resolveVaultStore finds the store a desired vault points at: by name
// (declared, or live), by a live id, or as a config_store_id given as is.
func (b *builder) resolveVaultStore(v state.Vault) (vaultStore, bool) {
	x := b.stores()
	if ref := v.ConfigStore; ref != "" {
		if x.declared[ref] {
			if id, exists := x.liveID[ref]; exists {
				return vaultStore{id: id, name: ref}, true
			}
			if x.ambiguous[ref] {
				return vaultStore{}, false // already reported
			}
			return vaultStore{name: ref, pending: true}, true
		}
		if s, exists := b.liveStoreNamed(ref); exists {
			return vaultStore{id: s.ID, name: s.Name}, true
		}
		if s, exists := x.byID[ref]; exists {
			return vaultStore{id: s.ID, name: s.Name}, true
		}
		if !x.ambiguous[ref] {
			b.fail("vault %q: config_store %q is neither declared in the file nor a live config store", v.Prefix, ref)
		}
		return vaultStore{}, false
	}
	// config_store_id given as is, possibly from the environment.
	id := ""
	switch t := v.Config["config_store_id"].(type) {
	case string:
		id = t
	case state.Sensitive:
		id = t.Reveal()
	}
	if id != "" {
		return vaultStore{id: id, name: x.byID[id].Name}, true
	}
	return vaultStore{}, true
}

func pendingStoreSentinel(name string) string { return "\x00new config_store " + name }

func planVaults(b *builder) {
	x := b.vaults()
	for _, v := range b.desired.Vaults {
		if vs, ok := x.desired[v.Prefix]; ok {
			b.planVault(x, v, vs)
		}
	}
	for _, lv := range b.live.Vaults {
		if _, matched := x.desired[lv.Prefix]; !matched {
			b.planVaultDelete(lv)
		}
	}
}

// planVault plans a declared vault: a create, an update, or nothing.
func (b *builder) planVault(x *vaultIndex, v state.Vault, vs vaultStore) {
	cfg := maps.Clone(v.Config)
	if cfg == nil {
		cfg = map[string]any{}
	}
	var store IDRef
	if v.ConfigStore != "" {
		store = KnownID(vs.id)
		if vs.pending {
			store = IDRef{addr: storeAddr(vs.name)}
		} else {
			cfg["config_store_id"] = vs.id
		}
	}
	tags := tagSet(b.tags, v.Tags)
	body := konnect.Vault{Name: v.Name, Prefix: v.Prefix, Description: v.Description, Config: markSecrets(cfg, kong.VaultCredentialPaths()), Tags: tags}

	compareCfg := maps.Clone(cfg)
	r := &redactor{sensitive: map[string]sensitiveLeaf{}, placeholders: map[string]SafeText{},
		secretPaths: kong.VaultCredentialPaths()}
	if vs.pending {
		compareCfg["config_store_id"] = pendingStoreSentinel(vs.name)
		r.placeholders[pendingStoreSentinel(vs.name)] = SafeText("(id of new config_store " + vs.name + ")")
	}
	sensitiveLeaves(path{"config"}, cfg, r.sensitive)
	norm, err := normalizeMap(compareCfg)
	if err == nil {
		norm, err = normalizeMap(kong.VaultConfigDefaults(v.Name, norm))
	}
	if err != nil {
		b.fail("vault %q: config: %v", v.Prefix, err)
		return
	}
	want := map[string]any{"name": v.Name, "config": norm, "tags": anyList(tags), "description": nil}
	if v.Description != nil {
		want["description"] = *v.Description
	}
	op := &VaultOp{Body: body, Store: store, StoreName: vs.name}
	lv, exists := x.liveByPrefix[v.Prefix]
	if !exists {
		var ls []leafDiff
		leaves(nil, want, &ls)
		b.add(&node{
			c:           &Change{Action: Create, Kind: KindVault, Name: v.Prefix, Fields: r.fieldChanges(ls), Op: op},
			addrs:       []string{vaultAddr(v.Prefix), vaultResolutionAddr(v.Prefix)},
			naturalKeys: []string{vaultAddr(v.Prefix)},
		})
		return
	}
	adopted, ok := b.adopt(KindVault, v.Prefix, lv.Tags, v.Tags)
	if !ok {
		return
	}
	op.Body.Tags, want["tags"] = adopted, anyList(adopted)
	liveCfg, err := normalizeMap(lv.Config)
	if err != nil {
		b.fail("vault %q: live config: %v", v.Prefix, err)
		return
	}
	have := map[string]any{"name": lv.Name, "config": liveCfg, "tags": anyList(tagSet(lv.Tags)), "description": nil}
	if lv.Description != nil {
		have["description"] = *lv.Description
	}
	for _, l := range maskUnknown(want, have, r.sensitive) {
		b.note("vault %s: %s compared as unknown (%s not set)", v.Prefix, l.path, strings.Join(l.value.MissingEnv(), ", "))
	}
	var diffs []leafDiff
	diffTrees(nil, have, want, true, true, &diffs)
	if len(diffs) == 0 {
		return
	}
	op.Body.ID = lv.ID
	n := &node{
		c:           &Change{Action: Update, Kind: KindVault, Name: v.Prefix, Fields: r.fieldChanges(diffs), Op: op},
		addrs:       []string{vaultAddr(v.Prefix)},
		naturalKeys: []string{vaultAddr(v.Prefix)},
	}
	if resolvesDifferently(n.c) {
		n.addrs = append(n.addrs, vaultResolutionAddr(v.Prefix))
	}
	if old := liveVaultStoreID(lv); old != "" && old != vs.id {
		// The store the vault leaves goes after it.
		n.before = append(n.before, edge{Delete, storeIDAddr(old)})
	}
	b.add(n)
}

// planVaultDelete plans the delete of a live vault the files do not
// declare, when kvsync owns it.
func (b *builder) planVaultDelete(lv konnect.Vault) {
	if !hasAllTags(lv.Tags, b.tags) {
		b.unmanaged[KindVault]++
		return
	}
	gone := map[string]any{"name": lv.Name, "config": lv.Config, "tags": anyList(tagSet(lv.Tags))}
	if lv.Description != nil {
		gone["description"] = *lv.Description
	}
	if norm, err := normalizeMap(gone); err == nil {
		gone = norm
	}
	r := &redactor{secretPaths: kong.VaultCredentialPaths()}
	n := &node{
		c: &Change{Action: Delete, Kind: KindVault, Name: lv.Prefix, Fields: r.goneFields(gone),
			Op: &VaultOp{Body: konnect.Vault{ID: lv.ID, Name: lv.Name, Prefix: lv.Prefix}}},
		addrs:       []string{vaultAddr(lv.Prefix)},
		naturalKeys: []string{vaultAddr(lv.Prefix)},
	}
	if id := liveVaultStoreID(lv); id != "" {
		// The store and its secrets go after the vault over them.
		n.before = append(n.before, edge{Delete, storeIDAddr(id)}, edge{Delete, secretInStoreAddr(id)})
	}
	b.add(n)
}

// resolvesDifferently reports whether a vault change can change what a
// reference through the vault resolves to (a description or tags update
// cannot, and so does not hold up the plugins that use the vault).
func resolvesDifferently(c *Change) bool {
	if c.Action != Update {
		return true
	}
	for _, f := range c.Fields {
		if f.Path == "name" || f.Path == "prefix" || strings.HasPrefix(f.Path, "config") {
			return true
		}
	}
	return false
}

// checkVaults checks each vault's config against its type's schema.
func checkVaults(f *state.File, _ *Live) []error {
	var problems []error
	for i, v := range f.Vaults {
		// Messages name fields and constraints, never values; revealing
		// lets a substituted string count as the string it is.
		cfg := state.RevealMap(v.Config)
		if v.ConfigStore != "" {
			if cfg == nil {
				cfg = map[string]any{}
			}
			cfg["config_store_id"] = "(resolved from config_store)"
		}
		for _, fe := range kong.ValidateVaultConfig(v.Name, cfg) {
			problems = append(problems, fmt.Errorf("%s: vaults[%d] (%s).%s: %s", state.Locate(v.FieldPos, fe.Path, v.Pos), i, v.Prefix, fe.Path, fe.Message))
		}
	}
	return problems
}

// storesUsedByVaults are the stores the dumped vaults read.
func (d *dumper) storesUsedByVaults() map[string]bool {
	out := map[string]bool{}
	for _, v := range d.live.Vaults {
		if id := liveVaultStoreID(v); id != "" && d.inScope(v.Tags) {
			out[id] = true
		}
	}
	return out
}

// dumpVaults writes the vaults in scope, naming their store, without the
// defaults the server fills and with credentials as placeholders.
func dumpVaults(d *dumper) {
	byID := map[string]konnect.ConfigStore{}
	for _, s := range d.live.ConfigStores {
		byID[s.ID] = s
	}
	for _, v := range d.live.Vaults {
		if !d.inScope(v.Tags) {
			continue
		}
		cfg := pruneDefaults(v.Config, func(m map[string]any) map[string]any { return kong.VaultConfigDefaults(v.Name, m) })
		dv := state.Vault{Name: v.Name, Prefix: v.Prefix, Description: v.Description, Tags: d.extraTags(v.Tags)}
		if id, ok := cfg["config_store_id"].(string); ok && id != "" {
			if s, known := byID[id]; known {
				delete(cfg, "config_store_id")
				dv.ConfigStore = s.Name
			}
		}
		cfg = markSecrets(cfg, kong.VaultCredentialPaths())
		if len(cfg) > 0 {
			dv.Config = cfg
		}
		d.file.Vaults = append(d.file.Vaults, dv)
	}
}

// fingerprintVault: a vault's create or update depends on its substituted
// values and on which store it points at; an update or delete on which
// vault it is.
func fingerprintVault(f *fingerprinter, c *Change) {
	o, ok := c.Op.(*VaultOp)
	if !ok {
		return
	}
	if c.Action != Delete {
		f.configValues("vault "+c.Name, o.Body.Config)
		if s, ok := f.storeByID(o.Store.Known); ok {
			f.object("config store "+s.Name, identity{ID: s.ID, Name: s.Name})
		}
	}
	if c.Action != Create {
		f.object("vault "+c.Name, identity{ID: o.Body.ID, Name: o.Body.Prefix})
	}
}
