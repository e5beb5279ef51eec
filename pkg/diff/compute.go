package diff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state"
)

// ResolveSelectTags returns the select tags a run uses: the flag's when
// given, else the file's, else [state.DefaultSelectTag]. Both given and
// different is an error. The result is sorted and free of duplicates.
func ResolveSelectTags(fileTags, flagTags []string) ([]string, error) {
	f, o := tagSet(fileTags), tagSet(flagTags)
	switch {
	case len(o) > 0 && len(f) > 0:
		if strings.Join(f, ",") != strings.Join(o, ",") {
			return nil, fmt.Errorf("select tags %q given on the command line differ from the file's _info.select_tags %q", o, f)
		}
		return o, nil
	case len(o) > 0:
		return o, nil
	case len(f) > 0:
		return f, nil
	}
	return []string{state.DefaultSelectTag}, nil
}

// tagSet sorts and deduplicates tags.
func tagSet(tags ...[]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, ts := range tags {
		for _, t := range ts {
			if t != "" && !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	sort.Strings(out)
	return out
}

func hasAllTags(have, want []string) bool {
	set := map[string]bool{}
	for _, t := range have {
		set[t] = true
	}
	for _, t := range want {
		if !set[t] {
			return false
		}
	}
	return true
}

func anyList(ss []string) []any {
	if ss == nil {
		return nil
	}
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Compute builds the plan that turns live into desired. Every problem found
// (an unresolved reference, an ambiguous store name, …) is reported in one
// aggregated error.
func Compute(desired *state.File, live *Live, opts Options) (*Plan, error) {
	if desired == nil || live == nil {
		return nil, fmt.Errorf("diff: desired and live state are both required")
	}
	tags, err := ResolveSelectTags(desired.SelectTags, opts.SelectTags)
	if err != nil {
		return nil, err
	}
	b := &builder{
		desired:   desired,
		live:      live,
		tags:      tags,
		unmanaged: map[Kind]int{KindConfigStore: 0, KindVault: 0, KindPlugin: 0},
	}
	b.indexStores()
	b.stores()
	b.vaults()
	b.storeDeletes()
	b.plugins()
	if err := b.errs.ErrorOrNil(); err != nil {
		return nil, err
	}
	b.edges()
	sort.Strings(b.warnings)
	changes, err := order(b.nodes)
	if err != nil {
		return nil, err
	}
	return &Plan{
		ControlPlane: live.ControlPlane,
		SelectTags:   tags,
		Changes:      changes,
		Unmanaged:    b.unmanaged,
		Warnings:     b.warnings,
	}, nil
}

// node is a change under construction, with what the graph needs to know.
type node struct {
	c    *Change
	deps map[*node]bool

	storeName string // config store and secret changes
	key       string // secret changes
	prefix    string // vault changes

	// vault changes: the store the live vault points at (update, delete)
	// and the store the desired vault points at (create, update).
	liveStoreID      string
	desiredStoreName string
	pendingStore     bool

	// plugin changes: references in the desired and live config.
	desiredRefs, liveRefs map[vaultRef]bool

	// naturalKeys are the unique keys the entity holds after the change
	// (create, update) or held before it (delete).
	naturalKeys []string
}

type builder struct {
	desired *state.File
	live    *Live
	tags    []string

	errs      *multierror.Error
	nodes     []*node
	unmanaged map[Kind]int
	warnings  []string

	liveStoresByName map[string][]konnect.ConfigStore
	liveStoreByID    map[string]konnect.ConfigStore
	declaredStores   map[string]bool
	// storeIDByName is the live id of each declared store that exists.
	storeIDByName map[string]string

	// Vault facts the store deletes and the graph need.
	vaultStoreByPrefix     map[string]string // desired prefix -> store name
	inScopeLiveStoreRefs   map[string]bool   // store ids of in-scope live vaults
	survivingStoreRefs     map[string]bool   // store ids still referenced after the plan
	outOfScopeStoreRefs    map[string]string // store id -> prefix of an out-of-scope vault
	liveVaultStoreByPrefix map[string]string // live prefix -> store id
}

func (b *builder) fail(format string, args ...any) {
	b.errs = multierror.Append(b.errs, fmt.Errorf(format, args...))
}

func (b *builder) add(n *node) *node {
	n.deps = map[*node]bool{}
	b.nodes = append(b.nodes, n)
	return n
}

func (b *builder) indexStores() {
	b.liveStoresByName = map[string][]konnect.ConfigStore{}
	b.liveStoreByID = map[string]konnect.ConfigStore{}
	for _, s := range b.live.ConfigStores {
		b.liveStoresByName[s.Name] = append(b.liveStoresByName[s.Name], s)
		b.liveStoreByID[s.ID] = s
	}
	b.declaredStores = map[string]bool{}
	b.storeIDByName = map[string]string{}
}

// liveStoreNamed returns the one live store with that name; two or more is
// an error that lists their ids.
func (b *builder) liveStoreNamed(name string) (konnect.ConfigStore, bool) {
	found := b.liveStoresByName[name]
	switch len(found) {
	case 0:
		return konnect.ConfigStore{}, false
	case 1:
		return found[0], true
	}
	ids := make([]string, len(found))
	for i, s := range found {
		ids[i] = s.ID
	}
	sort.Strings(ids)
	b.fail("config store %q: %d live config stores have this name (ids %s); rename or delete all but one", name, len(found), strings.Join(ids, ", "))
	return konnect.ConfigStore{}, false
}

func (b *builder) stores() {
	for _, ds := range b.desired.ConfigStores {
		b.declaredStores[ds.Name] = true
	}
	for _, ds := range b.desired.ConfigStores {
		if len(b.liveStoresByName[ds.Name]) > 1 {
			b.liveStoreNamed(ds.Name) // reports the ambiguity
			continue
		}
		ls, exists := b.liveStoreNamed(ds.Name)
		if !exists {
			b.add(&node{
				c: &Change{Action: Create, Kind: KindConfigStore, Name: ds.Name,
					ConfigStore: &ConfigStoreOp{Name: ds.Name}},
				storeName:   ds.Name,
				naturalKeys: []string{"store:" + ds.Name},
			})
			for _, sec := range ds.Secrets {
				b.secretCreate(ds.Name, "", sec)
			}
			continue
		}
		b.storeIDByName[ds.Name] = ls.ID
		liveKeys := map[string]bool{}
		for _, s := range b.live.Secrets[ls.ID] {
			liveKeys[s.Key] = true
		}
		declared := map[string]bool{}
		for _, sec := range ds.Secrets {
			declared[sec.Key] = true
			if !liveKeys[sec.Key] {
				b.secretCreate(ds.Name, ls.ID, sec)
			}
		}
		for _, s := range b.live.Secrets[ls.ID] {
			if !declared[s.Key] {
				b.add(&node{
					c: &Change{Action: Delete, Kind: KindSecret, Name: ds.Name + "/" + s.Key,
						Secret: &SecretOp{StoreID: ls.ID, StoreName: ds.Name, Key: s.Key}},
					storeName:   ds.Name,
					key:         s.Key,
					naturalKeys: []string{"secret:" + ds.Name + "\x00" + s.Key},
				})
			}
		}
	}
}

func (b *builder) secretCreate(storeName, storeID string, sec state.Secret) {
	b.add(&node{
		c: &Change{Action: Create, Kind: KindSecret, Name: storeName + "/" + sec.Key,
			Fields: []FieldChange{{Path: "value", New: SafeText(sec.Value.Describe()), HasNew: true}},
			Secret: &SecretOp{StoreID: storeID, StoreName: storeName, Key: sec.Key, Value: sec.Value}},
		storeName:   storeName,
		key:         sec.Key,
		naturalKeys: []string{"secret:" + storeName + "\x00" + sec.Key},
	})
}

func pendingStoreSentinel(name string) string { return "\x00new config_store " + name }

// resolveVaultStore finds the store a desired vault points at: its id when
// the store exists live, its name, and whether the plan creates it.
func (b *builder) resolveVaultStore(v state.Vault) (storeID, name string, pending, ok bool) {
	if ref := v.ConfigStore; ref != "" {
		if b.declaredStores[ref] {
			if id, exists := b.storeIDByName[ref]; exists {
				return id, ref, false, true
			}
			if len(b.liveStoresByName[ref]) > 1 {
				return "", ref, false, false // already reported
			}
			return "", ref, true, true
		}
		if s, exists := b.liveStoreNamed(ref); exists {
			return s.ID, s.Name, false, true
		}
		if s, exists := b.liveStoreByID[ref]; exists {
			return s.ID, s.Name, false, true
		}
		if len(b.liveStoresByName[ref]) <= 1 {
			b.fail("vault %q: config_store %q is neither declared in the file nor a live config store", v.Prefix, ref)
		}
		return "", ref, false, false
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
		return id, b.liveStoreByID[id].Name, false, true
	}
	return "", "", false, true
}

func (b *builder) vaults() {
	b.vaultStoreByPrefix = map[string]string{}
	b.inScopeLiveStoreRefs = map[string]bool{}
	b.survivingStoreRefs = map[string]bool{}
	b.outOfScopeStoreRefs = map[string]string{}
	b.liveVaultStoreByPrefix = map[string]string{}

	liveByPrefix := map[string]konnect.Vault{}
	for _, lv := range b.live.Vaults {
		liveByPrefix[lv.Prefix] = lv
		b.liveVaultStoreByPrefix[lv.Prefix] = liveStoreID(lv)
	}
	matched := map[string]bool{}
	for _, v := range b.desired.Vaults {
		storeID, storeName, pending, ok := b.resolveVaultStore(v)
		if !ok {
			continue
		}
		b.vaultStoreByPrefix[v.Prefix] = storeName
		if storeID != "" {
			b.survivingStoreRefs[storeID] = true
		}
		cfg := make(map[string]any, len(v.Config)+1)
		for k, e := range v.Config {
			cfg[k] = e
		}
		if storeID != "" && v.ConfigStore != "" {
			cfg["config_store_id"] = storeID
		}
		tags := tagSet(b.tags, v.Tags)
		body := konnect.Vault{Name: v.Name, Prefix: v.Prefix, Description: v.Description, Config: cfg, Tags: tags}

		compareCfg := make(map[string]any, len(cfg)+1)
		for k, e := range cfg {
			compareCfg[k] = e
		}
		r := &redactor{sensitive: map[string]sensitiveLeaf{}, placeholders: map[string]SafeText{}}
		if pending {
			compareCfg["config_store_id"] = pendingStoreSentinel(storeName)
			r.placeholders[pendingStoreSentinel(storeName)] = SafeText("(id of new config_store " + storeName + ")")
		}
		sensitiveLeaves(path{"config"}, cfg, r.sensitive)
		r.secretPaths = kong.VaultCredentialPaths()
		norm, err := normalizeMap(compareCfg)
		if err != nil {
			b.fail("vault %q: config: %v", v.Prefix, err)
			continue
		}
		norm, err = normalizeMap(vaultConfigDefaults(v.Name, norm))
		if err != nil {
			b.fail("vault %q: config: %v", v.Prefix, err)
			continue
		}
		want := map[string]any{"name": v.Name, "config": norm, "tags": anyList(tags), "description": nil}
		if v.Description != nil {
			want["description"] = *v.Description
		}
		n := &node{
			prefix:           v.Prefix,
			desiredStoreName: storeName,
			pendingStore:     pending,
			naturalKeys:      []string{"vault:" + v.Prefix},
		}
		lv, exists := liveByPrefix[v.Prefix]
		if !exists {
			var ls []leafDiff
			leaves(nil, want, &ls)
			n.c = &Change{Action: Create, Kind: KindVault, Name: v.Prefix,
				Fields: r.fieldChanges(ls), Vault: &VaultOp{Body: body, StoreName: storeName}}
			b.add(n)
			continue
		}
		matched[v.Prefix] = true
		b.adoptionWarning(KindVault, v.Prefix, lv.Tags)
		if hasAllTags(lv.Tags, b.tags) {
			b.inScopeLiveStoreRefs[liveStoreID(lv)] = true
		}
		liveCfg, err := normalizeMap(lv.Config)
		if err != nil {
			b.fail("vault %q: live config: %v", v.Prefix, err)
			continue
		}
		have := map[string]any{"name": lv.Name, "config": liveCfg, "tags": anyList(tagSet(lv.Tags)), "description": nil}
		if lv.Description != nil {
			have["description"] = *lv.Description
		}
		var diffs []leafDiff
		diffTrees(nil, have, want, true, true, &diffs)
		if len(diffs) == 0 {
			continue
		}
		body.ID = lv.ID
		n.liveStoreID = liveStoreID(lv)
		n.c = &Change{Action: Update, Kind: KindVault, Name: v.Prefix,
			Fields: r.fieldChanges(diffs), Vault: &VaultOp{Body: body, StoreName: storeName}}
		b.add(n)
	}
	for _, lv := range b.live.Vaults {
		if matched[lv.Prefix] {
			continue
		}
		if !hasAllTags(lv.Tags, b.tags) {
			b.unmanaged[KindVault]++
			if id := liveStoreID(lv); id != "" {
				b.survivingStoreRefs[id] = true
				b.outOfScopeStoreRefs[id] = lv.Prefix
			}
			continue
		}
		if id := liveStoreID(lv); id != "" {
			b.inScopeLiveStoreRefs[id] = true
		}
		b.add(&node{
			c: &Change{Action: Delete, Kind: KindVault, Name: lv.Prefix,
				Vault: &VaultOp{Body: konnect.Vault{ID: lv.ID, Name: lv.Name, Prefix: lv.Prefix}}},
			prefix:      lv.Prefix,
			liveStoreID: liveStoreID(lv),
			naturalKeys: []string{"vault:" + lv.Prefix},
		})
	}
}

func liveStoreID(v konnect.Vault) string {
	id, _ := v.Config["config_store_id"].(string)
	return id
}

// adoptionWarning warns when kvsync takes over an entity that another tool
// has tagged (an untagged one is adopted silently).
func (b *builder) adoptionWarning(kind Kind, name string, liveTags []string) {
	if len(liveTags) > 0 && !hasAllTags(liveTags, b.tags) {
		b.warnings = append(b.warnings, fmt.Sprintf("%s %s exists with tags %q, not the select tags %q: kvsync adopts it and adds its tags", kind, name, tagSet(liveTags), b.tags))
	}
}

// storeDeletes deletes the undeclared live stores that only in-scope vaults
// referenced and that nothing references any more. Their secrets go with
// them (force). Any other undeclared store is left alone.
func (b *builder) storeDeletes() {
	for _, s := range b.live.ConfigStores {
		if b.declaredStores[s.Name] {
			continue
		}
		if !b.inScopeLiveStoreRefs[s.ID] || b.survivingStoreRefs[s.ID] {
			b.unmanaged[KindConfigStore]++
			if prefix, ok := b.outOfScopeStoreRefs[s.ID]; ok && b.inScopeLiveStoreRefs[s.ID] {
				b.warnings = append(b.warnings, fmt.Sprintf("config store %s is also used by vault %s, which kvsync does not manage: left alone", s.Name, prefix))
			}
			continue
		}
		secrets := len(b.live.Secrets[s.ID])
		b.add(&node{
			c: &Change{Action: Delete, Kind: KindConfigStore, Name: s.Name, ForceSecrets: secrets,
				ConfigStore: &ConfigStoreOp{ID: s.ID, Name: s.Name, Force: true}},
			storeName:   s.Name,
			liveStoreID: s.ID,
			naturalKeys: []string{"store:" + s.Name},
		})
	}
}
