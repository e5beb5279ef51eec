package diff

import (
	"context"
	"fmt"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
)

// KindSecret: the secrets of a config store, identified by (store, key).
// The secrets of a declared store are fully managed. Konnect never returns
// a value: a secret is compared by existence.
const KindSecret Kind = "secret"

var secretKind = &descriptor{
	kind:  KindSecret,
	label: "secret",
	fetch: fetchSecrets,
	plan:  planSecrets,
	dump:  dumpSecrets,
}

// SecretOp is the operation of a secret change.
type SecretOp struct {
	// Store is the store's id: known, or produced by the store's create.
	Store     IDRef
	StoreName string
	Key       string
	// Value is sent as is: the client reveals it when it encodes the body.
	Value state.Sensitive
}

func (o *SecretOp) refs() []*IDRef { return []*IDRef{&o.Store} }

// Apply creates or deletes the secret. A key that appeared since the plan
// (a concurrent writer, or a run whose answer was lost) gets the desired
// value written instead: Konnect refuses the create of an existing key
// with a 400 (the spec declares no 409), so a refused create reads the key
// back. Deleting a key already gone succeeds.
func (o *SecretOp) Apply(ctx context.Context, t *Target, a Action) (string, error) {
	storeID, err := o.Store.Resolve(t)
	if err != nil {
		return "", err
	}
	cpID := t.ControlPlaneID
	switch a {
	case Create:
		_, err := t.Client.Secrets.Create(ctx, cpID, storeID, o.Key, o.Value)
		if konnect.IsConflict(err) || konnect.IsBadRequest(err) {
			if _, gerr := t.Client.Secrets.Get(ctx, cpID, storeID, o.Key); gerr == nil {
				_, err = t.Client.Secrets.Update(ctx, cpID, storeID, o.Key, o.Value)
			}
		}
		return "", err
	case Delete:
		err := t.Client.Secrets.Delete(ctx, cpID, storeID, o.Key)
		if konnect.IsNotFound(err) {
			return "", nil
		}
		return "", err
	}
	return "", fmt.Errorf("a secret cannot be %sd", a)
}

func (o SecretOp) Format(f fmt.State, verb rune) {
	_, _ = fmt.Fprintf(f, "diff.SecretOp{store %q (id %q), key %q, value %s}", o.StoreName, o.Store.Known, o.Key, o.Value.Describe())
}

// secretAddr is the address of a change to the secret key of store (by
// name); secretInStoreAddr of every secret delete in a store (by live id).
func secretAddr(store, key string) string { return "secret:" + store + "\x00" + key }
func secretInStoreAddr(storeID string) string {
	return "secret-in-store:" + storeID
}

// fetchSecrets lists the keys of every store that could be in scope:
// declared by name, referenced by a vault carrying the select tags (or
// every store, with All), each store concurrently.
func fetchSecrets(ctx context.Context, f *fetcher) error {
	if err := f.await(ctx, KindConfigStore); err != nil {
		return err
	}
	if err := f.await(ctx, KindVault); err != nil {
		return err
	}
	declared := map[string]bool{}
	for _, s := range f.desired.ConfigStores {
		declared[s.Name] = true
	}
	referenced := map[string]bool{}
	for _, v := range f.live.Vaults {
		if f.inScope(v.Tags) {
			if id := liveVaultStoreID(v); id != "" {
				referenced[id] = true
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range f.live.ConfigStores {
		if !f.opts.All && !declared[s.Name] && !referenced[s.ID] {
			continue
		}
		g.Go(func() error {
			secrets, err := f.c.Secrets.List(gctx, f.cpID, s.ID, nil)
			if err != nil {
				return fmt.Errorf("listing the secrets of config store %q: %w", s.Name, err)
			}
			f.set(func() { f.live.Secrets[s.ID] = secrets })
			return nil
		})
	}
	return g.Wait()
}

func planSecrets(b *builder) {
	x := b.stores()
	for _, ds := range b.desired.ConfigStores {
		if x.ambiguous[ds.Name] {
			continue
		}
		storeID, exists := x.liveID[ds.Name]
		if !exists {
			for _, sec := range ds.Secrets {
				b.secretCreate(ds.Name, IDRef{addr: storeAddr(ds.Name)}, sec)
			}
			continue
		}
		live := b.live.Secrets[storeID]
		liveKeys := make(map[string]bool, len(live))
		for _, s := range live {
			liveKeys[s.Key] = true
		}
		declared := make(map[string]bool, len(ds.Secrets))
		for _, sec := range ds.Secrets {
			declared[sec.Key] = true
			if !liveKeys[sec.Key] {
				b.secretCreate(ds.Name, KnownID(storeID), sec)
			}
		}
		for _, s := range live {
			if declared[s.Key] {
				continue
			}
			b.add(&node{
				c: &Change{Action: Delete, Kind: KindSecret, Name: ds.Name + "/" + s.Key,
					Op: &SecretOp{Store: KnownID(storeID), StoreName: ds.Name, Key: s.Key}},
				addrs:       []string{secretAddr(ds.Name, s.Key), secretInStoreAddr(storeID)},
				naturalKeys: []string{secretAddr(ds.Name, s.Key)},
			})
		}
	}
}

func (b *builder) secretCreate(storeName string, store IDRef, sec state.Secret) {
	b.add(&node{
		c: &Change{Action: Create, Kind: KindSecret, Name: storeName + "/" + sec.Key,
			Fields: []FieldChange{{Path: "value", New: SafeText(sec.Value.Describe()), HasNew: true}},
			Op:     &SecretOp{Store: store, StoreName: storeName, Key: sec.Key, Value: sec.Value}},
		addrs:       []string{secretAddr(storeName, sec.Key)},
		naturalKeys: []string{secretAddr(storeName, sec.Key)},
	})
}

// dumpSecrets writes each dumped store's keys, sorted; values become
// placeholders when the file is written.
func dumpSecrets(d *dumper) {
	for i, id := range d.storeIDs {
		keys := make([]string, 0, len(d.live.Secrets[id]))
		for _, sec := range d.live.Secrets[id] {
			keys = append(keys, sec.Key)
		}
		sort.Strings(keys)
		for _, k := range keys {
			d.file.ConfigStores[i].Secrets = append(d.file.ConfigStores[i].Secrets, state.Secret{Key: k})
		}
	}
}
