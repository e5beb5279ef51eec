package diff

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// KindConfigStore: Konnect config stores, identified by name. A store is in
// scope when the file declares it, or when only in-scope vaults reference
// it; it is then deleted (with force) once nothing references it.
const KindConfigStore Kind = "config_store"

var configStoreKind = &descriptor{
	kind:            KindConfigStore,
	label:           "config store",
	countsUnmanaged: true,
	fetch:           fetchConfigStores,
	plan:            planConfigStores,
	dump:            dumpConfigStores,
	record:          recordConfigStore,
	managed:         func(b *builder) int { return len(b.live.ConfigStores) },
	sortDump: func(f *state.File) {
		slices.SortStableFunc(f.ConfigStores, func(a, b state.ConfigStore) int { return strings.Compare(a.Name, b.Name) })
	},
	dumped:      func(f *state.File) int { return len(f.ConfigStores) },
	fingerprint: fingerprintConfigStore,
}

// ConfigStoreOp is the operation of a config store change.
type ConfigStoreOp struct {
	// ID is the live id (delete).
	ID   string
	Name string
	// SecretKeys are, for a forced delete (Change.Force), the secrets the
	// plan saw (and showed going): only those go, one by one, before the
	// store is deleted without force, so that a secret added since the
	// plan makes Konnect refuse and survives.
	SecretKeys []string
}

func (o *ConfigStoreOp) refs() []*IDRef { return nil }

func (o ConfigStoreOp) Format(f fmt.State, verb rune) {
	_, _ = fmt.Fprintf(f, "diff.ConfigStoreOp{id %q, name %q, secrets %q}", o.ID, o.Name, o.SecretKeys)
}

// storeAddr is the address of the change that creates or deletes a store,
// by name; storeIDAddr of the delete, by live id.
func storeAddr(name string) string { return "config_store:" + name }
func storeIDAddr(id string) string { return "config_store-id:" + id }

func fetchConfigStores(ctx context.Context, f *fetcher) error {
	stores, err := f.c.ConfigStores.List(ctx, f.cpID, nil)
	if err != nil {
		return fmt.Errorf("listing config stores: %w", err)
	}
	f.live.ConfigStores = stores
	return nil
}

// storeIndex is what several kinds need to know of config stores.
type storeIndex struct {
	byName   map[string][]konnect.ConfigStore
	byID     map[string]konnect.ConfigStore
	declared map[string]bool
	// liveID is the live id of each declared store that exists (once).
	liveID map[string]string
	// ambiguous names are held by two or more live stores (reported).
	ambiguous map[string]bool
	// duplicates are, by declared name, the live stores beyond the one
	// kept that kvsync can show it made by mistake (empty, unreferenced,
	// the name of a declared store): the plan deletes them.
	duplicates map[string][]konnect.ConfigStore
}

func (b *builder) stores() *storeIndex {
	if b.storeIdx != nil {
		return b.storeIdx
	}
	x := &storeIndex{byName: map[string][]konnect.ConfigStore{}, byID: map[string]konnect.ConfigStore{},
		declared: map[string]bool{}, liveID: map[string]string{}, ambiguous: map[string]bool{},
		duplicates: map[string][]konnect.ConfigStore{}}
	b.storeIdx = x
	for _, s := range b.live.ConfigStores {
		x.byName[s.Name] = append(x.byName[s.Name], s)
		x.byID[s.ID] = s
	}
	for _, ds := range b.desired.ConfigStores {
		x.declared[ds.Name] = true
		if keep, extra, ok := b.provableDuplicates(ds.Name); ok {
			x.liveID[ds.Name], x.duplicates[ds.Name] = keep.ID, extra
			continue
		}
		if s, ok := b.liveStoreNamed(ds.Name); ok {
			x.liveID[ds.Name] = s.ID
		}
	}
	return x
}

// provableDuplicates splits the live stores named like a declared store
// into the one to keep and the duplicates kvsync can show it made (a
// create repeated by an earlier run): empty and unreferenced by any vault.
// When more than one store holds secrets or is referenced, nothing is
// provable, and ok is false (Compute then names them all).
func (b *builder) provableDuplicates(name string) (keep konnect.ConfigStore, extra []konnect.ConfigStore, ok bool) {
	found := b.storeIdx.byName[name]
	if len(found) < 2 {
		return keep, nil, false
	}
	referenced := map[string]bool{}
	for _, v := range b.live.Vaults {
		referenced[liveVaultStoreID(v)] = true
	}
	var used []konnect.ConfigStore
	for _, s := range found {
		if len(b.live.Secrets[s.ID]) > 0 || referenced[s.ID] {
			used = append(used, s)
		}
	}
	switch len(used) {
	case 0:
		// All empty: keep the oldest.
		sorted := append([]konnect.ConfigStore(nil), found...)
		sort.Slice(sorted, func(i, j int) bool {
			if sorted[i].CreatedAt != sorted[j].CreatedAt {
				return sorted[i].CreatedAt < sorted[j].CreatedAt
			}
			return sorted[i].ID < sorted[j].ID
		})
		return sorted[0], sorted[1:], true
	case 1:
		for _, s := range found {
			if s.ID != used[0].ID {
				extra = append(extra, s)
			}
		}
		return used[0], extra, true
	}
	return keep, nil, false
}

// liveStoreNamed returns the one live store with that name; two or more is
// an error that lists their ids, reported once per name.
func (b *builder) liveStoreNamed(name string) (konnect.ConfigStore, bool) {
	x := b.storeIdx
	found := x.byName[name]
	switch len(found) {
	case 0:
		return konnect.ConfigStore{}, false
	case 1:
		return found[0], true
	}
	if !x.ambiguous[name] {
		x.ambiguous[name] = true
		ids := make([]string, len(found))
		for i, s := range found {
			ids[i] = s.ID
		}
		sort.Strings(ids)
		b.fail("config store %q: %d live config stores have this name (ids %s); rename or delete all but one", name, len(found), strings.Join(ids, ", "))
	}
	return konnect.ConfigStore{}, false
}

func planConfigStores(b *builder) {
	x := b.stores()
	for _, ds := range b.desired.ConfigStores {
		if x.ambiguous[ds.Name] || x.liveID[ds.Name] != "" {
			continue
		}
		b.add(&node{
			c: &Change{Action: Create, Kind: KindConfigStore, Name: ds.Name,
				Fields: []FieldChange{{Path: "name", New: ds.Name, HasNew: true}},
				Op:     &ConfigStoreOp{Name: ds.Name}},
			addrs:       []string{storeAddr(ds.Name)},
			naturalKeys: []string{"store:" + ds.Name},
		})
	}
	for _, name := range slices.Sorted(maps.Keys(x.duplicates)) {
		for _, dup := range x.duplicates[name] {
			b.warn("config store %s: %s (id %s) is an empty, unreferenced duplicate (a create an earlier run repeated): kvsync deletes it", name, name, dup.ID)
			b.add(&node{
				c: &Change{Action: Delete, Kind: KindConfigStore, Name: name, Scope: "duplicate id " + dup.ID,
					Fields: []FieldChange{{Path: "name", Old: name, HasOld: true}, {Path: "secrets", Old: 0, HasOld: true}},
					Op:     &ConfigStoreOp{ID: dup.ID, Name: name}},
				addrs: []string{storeIDAddr(dup.ID)},
			})
		}
	}
	// An undeclared store goes only when in-scope vaults referenced it and
	// nothing references it any more; any other is left alone.
	v := b.vaults()
	for _, s := range b.live.ConfigStores {
		if x.declared[s.Name] {
			continue
		}
		if !v.inScopeLiveStores[s.ID] || v.survivingStores[s.ID] {
			b.unmanaged[KindConfigStore]++
			if prefix, ok := v.outOfScopeStores[s.ID]; ok && v.inScopeLiveStores[s.ID] {
				b.warn("config store %s is also used by vault %s, which kvsync does not manage: left alone", s.Name, prefix)
			}
			continue
		}
		keys := make([]string, 0, len(b.live.Secrets[s.ID]))
		for _, sec := range b.live.Secrets[s.ID] {
			keys = append(keys, sec.Key)
		}
		secrets := len(keys)
		b.add(&node{
			c: &Change{Action: Delete, Kind: KindConfigStore, Name: s.Name, Force: true, ForceSecrets: secrets,
				Fields: []FieldChange{{Path: "name", Old: s.Name, HasOld: true}, {Path: "secrets", Old: secrets, HasOld: true}},
				Op:     &ConfigStoreOp{ID: s.ID, Name: s.Name, SecretKeys: keys}},
			addrs:       []string{storeAddr(s.Name), storeIDAddr(s.ID)},
			naturalKeys: []string{"store:" + s.Name},
		})
	}
}

// dumpConfigStores writes the stores the dumped vaults use (or all).
func dumpConfigStores(d *dumper) {
	used := d.storesUsedByVaults()
	for _, s := range d.live.ConfigStores {
		if d.all || used[s.ID] {
			d.file.ConfigStores = append(d.file.ConfigStores, state.ConfigStore{Name: s.Name})
			d.storeIDs = append(d.storeIDs, s.ID)
		}
	}
}

// recordConfigStore forgets the secrets of a store that was deleted.
func recordConfigStore(s *sum.File, cpID string, c *Change, _ Applied) {
	// Only a forced delete took the store's secrets; deleting an empty
	// duplicate of a store leaves the store, and its record, in place.
	if c.Action == Delete && c.Force {
		s.DeleteStore(cpID, c.Name)
	}
}

// fingerprintConfigStore: a store's delete depends on which store it is
// and on the secrets it takes (a create depends on nothing live).
func fingerprintConfigStore(f *fingerprinter, c *Change) {
	o, ok := c.Op.(*ConfigStoreOp)
	if !ok || c.Action != Delete {
		return
	}
	f.object("config store "+o.Name, identity{ID: o.ID, Name: o.Name})
	for _, sec := range f.live.Secrets[o.ID] {
		f.object("secret "+o.Name+"/"+sec.Key, sec)
	}
}
