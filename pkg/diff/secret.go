package diff

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// KindSecret: the secrets of a config store, identified by (store, key).
// The secrets of a declared store are fully managed. Konnect never returns
// a value: a value is compared through kvsync.sum (see Options.Sum), which
// records a keyed fingerprint of what kvsync wrote and the updated_at
// Konnect answered.
const KindSecret Kind = "secret"

var secretKind = &descriptor{
	kind:   KindSecret,
	label:  "secret",
	fetch:  fetchSecrets,
	plan:   planSecrets,
	dump:   dumpSecrets,
	record: recordSecret,
	// The secrets of the declared stores that exist.
	managed: func(b *builder) int {
		n := 0
		for _, id := range b.stores().liveID {
			n += len(b.live.Secrets[id])
		}
		return n
	},
	fingerprint: fingerprintSecret,
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
	// Early listings end with this function: a store that left scope is
	// not listed on, and a failure elsewhere stops them.
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	early := f.listEarly(ectx)
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
		if !f.opts.All && !declared[s.Name] && !referenced[s.ID] || f.opts.Ours != nil && f.opts.Ours(s.ID) {
			continue
		}
		g.Go(func() error {
			var secrets []konnect.ConfigStoreSecret
			var err error
			if listed, ok := early[s.ID]; ok {
				select {
				case <-listed.done:
					secrets, err = listed.secrets, listed.err
				case <-gctx.Done():
					return gctx.Err()
				}
			} else {
				secrets, err = f.c.Secrets.List(gctx, f.cpID, s.ID, nil)
			}
			if err != nil {
				return fmt.Errorf("listing the secrets of config store %q: %w", s.Name, err)
			}
			f.set(func() { f.live.Secrets[s.ID] = secrets })
			return nil
		})
	}
	return g.Wait()
}

// earlyListing is a store's secret listing started before the stores are
// known; done is closed when it has ended.
type earlyListing struct {
	done    chan struct{}
	secrets []konnect.ConfigStoreSecret
	err     error
}

// listEarly starts listing the secrets of the stores a previous fetch
// listed (FetchOptions.Previous). A store no longer in scope, or gone, is
// then not used: its listing, error included, is dropped.
func (f *fetcher) listEarly(ctx context.Context) map[string]*earlyListing {
	if f.opts.Previous == nil {
		return nil
	}
	out := make(map[string]*earlyListing, len(f.opts.Previous.Secrets))
	for id := range f.opts.Previous.Secrets {
		l := &earlyListing{done: make(chan struct{})}
		out[id] = l
		go func() {
			defer close(l.done)
			l.secrets, l.err = f.c.Secrets.List(ctx, f.cpID, id, nil)
		}()
	}
	return out
}

func planSecrets(b *builder) {
	x := b.stores()
	forced := b.forcedSecrets()
	notCompared := 0
	// One index of a store's live secrets (key to position) and one set
	// of its declared keys, cleared for each store: at scale, 50 stores
	// of 1,000 secrets, fresh maps per store were a sixth of the plan's
	// allocations.
	live, declared := map[string]int{}, map[string]bool{}
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
		clear(live)
		for i, s := range b.live.Secrets[storeID] {
			live[s.Key] = i
		}
		clear(declared)
		for _, sec := range ds.Secrets {
			declared[sec.Key] = true
			i, exists := live[sec.Key]
			if !exists {
				b.secretCreate(ds.Name, KnownID(storeID), sec)
				continue
			}
			ls := &b.live.Secrets[storeID][i]
			// name is "STORE/KEY", made only when used: most of 50,000
			// secrets compared need none.
			name := func() string { return ds.Name + "/" + sec.Key }
			var reason Reason
			switch {
			case len(forced) > 0 && forced[name()] && sec.Value.Known():
				reason = ReasonForced
			case b.opts.Sum == nil:
				if !sec.Value.Known() {
					b.note("secret %s: %s, not compared", name(), strings.Trim(sec.Value.Describe(), "()"))
				} else {
					notCompared++
				}
				continue
			default:
				var compared bool
				id := sum.ID{ControlPlaneID: b.live.ControlPlane.ID, Store: ds.Name, Key: sec.Key}
				reason, compared = b.valueDrift(id, sec.Value, *ls)
				// A change found without the value (changed outside)
				// needs no comparison: the plan writes the value anyway.
				if !compared && reason == "" {
					if !sec.Value.Known() {
						b.note("secret %s: %s, not compared", name(), strings.Trim(sec.Value.Describe(), "()"))
					} else {
						notCompared++
					}
				}
				if reason == "" {
					continue
				}
			}
			b.add(&node{
				c: &Change{Action: Update, Kind: KindSecret, Name: name(), Reason: reason,
					Fields: []FieldChange{{Path: "value", Old: SafeText(state.Redacted), HasOld: true, New: SafeText(sec.Value.Describe()), HasNew: true}},
					Op:     &SecretOp{Store: KnownID(storeID), StoreName: ds.Name, Key: sec.Key, Value: sec.Value}},
				addrs:       []string{secretAddr(ds.Name, sec.Key)},
				naturalKeys: []string{secretAddr(ds.Name, sec.Key)},
			})
		}
		for _, s := range b.live.Secrets[storeID] {
			if declared[s.Key] {
				continue
			}
			b.add(&node{
				c: &Change{Action: Delete, Kind: KindSecret, Name: ds.Name + "/" + s.Key,
					Fields: []FieldChange{{Path: "value", Old: SafeText(state.Redacted), HasOld: true}},
					Op:     &SecretOp{Store: KnownID(storeID), StoreName: ds.Name, Key: s.Key}},
				addrs:       []string{secretAddr(ds.Name, s.Key), secretInStoreAddr(storeID)},
				naturalKeys: []string{secretAddr(ds.Name, s.Key)},
			})
		}
	}
	b.notCompared += notCompared
	switch {
	case notCompared == 0:
	case b.opts.Sum == nil:
		b.note("%d secret value%s not compared: kvsync.sum is not used (--no-sum); --write-secrets or --write-secret STORE/KEY writes them", notCompared, Plural(notCompared))
	default:
		b.note("%d secret value%s not compared: kvsync.sum: %v", notCompared, Plural(notCompared), b.opts.Sum.KeyProblem())
	}
}

// valueDrift compares a secret that exists with what kvsync.sum recorded
// when kvsync last wrote it: the reason to write it ("" when nothing
// moved), and whether its value was compared at all. A write by anybody
// else shows in Konnect's updated_at, which needs no key: it is found
// whatever the fingerprint key, and whether the desired value is known.
// Only comparing the value needs the fingerprint made with the right key.
func (b *builder) valueDrift(id sum.ID, value state.Sensitive, live konnect.ConfigStoreSecret) (Reason, bool) {
	s := b.opts.Sum
	rec, recorded := s.Get(id)
	keyOK := s.KeyProblem() == nil
	comparable := recorded && value.Known() && keyOK && s.Comparable(rec)
	switch {
	case comparable && s.Fingerprint(id, value.Reveal()) != rec.Fingerprint:
		return ReasonValueChanged, true
	case recorded && live.UpdatedAt != rec.UpdatedAt:
		return ReasonChangedOutside, comparable
	case comparable:
		return "", true
	case !value.Known() || !keyOK:
		return "", false
	}
	// No record, or one made with another keying: written once more.
	return ReasonUntracked, true
}

// forcedSecrets are the "STORE/KEY"s whose values are written whatever
// the comparison says; naming a secret the file does not declare is an
// error.
func (b *builder) forcedSecrets() map[string]bool {
	out := map[string]bool{}
	if !b.opts.WriteSecrets && len(b.opts.WriteSecret) == 0 {
		return out // the usual run: no map of every declared secret
	}
	declared := map[string]bool{}
	for _, ds := range b.desired.ConfigStores {
		for _, sec := range ds.Secrets {
			declared[ds.Name+"/"+sec.Key] = true
			if b.opts.WriteSecrets {
				out[ds.Name+"/"+sec.Key] = true
			}
		}
	}
	for _, name := range b.opts.WriteSecret {
		if !declared[name] {
			b.fail("--write-secret %s: the files declare no such secret (want STORE/KEY)", name)
			continue
		}
		out[name] = true
	}
	return out
}

func (b *builder) secretCreate(storeName string, store IDRef, sec state.Secret) {
	b.add(&node{
		c: &Change{Action: Create, Kind: KindSecret, Name: storeName + "/" + sec.Key, Reason: ReasonCreated,
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

// recordSecret keeps kvsync.sum in step with a secret change that
// succeeded: a value written is recorded with the updated_at Konnect
// answered, a deleted secret forgotten.
func recordSecret(s *sum.File, cpID string, c *Change, a Applied) {
	o, ok := c.Op.(*SecretOp)
	if !ok {
		return
	}
	id := sum.ID{ControlPlaneID: cpID, Store: o.StoreName, Key: o.Key}
	switch c.Action {
	case Create, Update:
		if o.Value.Known() {
			s.Set(id, sum.Entry{Fingerprint: s.Fingerprint(id, o.Value.Reveal()), UpdatedAt: a.UpdatedAt})
		}
	case Delete:
		s.Delete(id)
	}
}

// RecordUntracked takes over secrets that exist in Konnect but that
// kvsync.sum does not track (the plan's "value not tracked yet" updates: an
// adoption, a lost or re-keyed sum file): it records each one's desired
// value against the updated_at Konnect holds now, without writing it. It
// is a statement of trust, not a comparison: Konnect never returns a value,
// so nothing checks that the live value is the desired one. Secrets
// changed outside kvsync or whose value changed are not recorded: that
// would hide a write nobody reviewed. It returns the names recorded.
func RecordUntracked(s *sum.File, p *Plan, live *Live) []string {
	var out []string
	for _, c := range p.Changes {
		o, ok := c.Op.(*SecretOp)
		if !ok || c.Action != Update || c.Reason != ReasonUntracked || !o.Value.Known() {
			continue
		}
		for _, ls := range live.Secrets[o.Store.Known] {
			if ls.Key == o.Key {
				id := sum.ID{ControlPlaneID: p.ControlPlane.ID, Store: o.StoreName, Key: o.Key}
				s.Set(id, sum.Entry{Fingerprint: s.Fingerprint(id, o.Value.Reveal()), UpdatedAt: ls.UpdatedAt})
				out = append(out, c.Name)
			}
		}
	}
	return out
}

// fingerprintSecret: a secret's create or update depends on the value it
// writes; an update or delete on the live secret it writes over or takes
// (its key and timestamps, all Konnect returns: a write by anybody else
// moves its updated_at).
func fingerprintSecret(f *fingerprinter, c *Change) {
	o, ok := c.Op.(*SecretOp)
	if !ok {
		return
	}
	if c.Action != Delete {
		f.value(c.Name, o.Value)
	}
	if c.Action != Create {
		for _, s := range f.live.Secrets[o.Store.Known] {
			if s.Key == o.Key {
				f.object("secret "+c.Name, s)
			}
		}
	}
}
