package apply

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
)

// The lock costs less than one round trip on a sync's critical path.
//
// A sync writes only from a plan made under its lock: a plan made from
// reads that started before the lock was held can miss another run's
// writes (that run may have released its lock between our reads and our
// take), and Konnect offers no version or ordering to prove it did not. So
// the lock is taken while the plan's reads run (see Sync), and under it
// the plan is made again from a second round of reads; only the plan shown
// is applied. The run does not wait for that round idle: while it runs,
// the plan's creates of config stores and secrets start (speculative
// creates), and nothing else. That is safe because:
//
//   - They can be undone exactly. Each makes an entity that did not exist
//     when the plan read: Konnect refuses the create of a secret key that
//     exists (a speculative create never falls back to writing over it, as
//     a confirmed one does), a store create makes a store of its own id, and
//     no other kvsync run writes while we hold the lock. Deleting what
//     Konnect answered (the new store ids, the new keys) restores the
//     control plane as it was.
//   - The re-plan tells them from anybody else's writes. Every create
//     started before the re-plan's reads were answered ends (with its id,
//     or failed) before the re-plan is compared, and what they made is taken
//     out of what the re-plan read. Anything else the re-plan reads that the
//     first plan did not (another run's store of the same name, a key it
//     wrote, a store it deleted) makes the plans differ. A create that
//     failed after Konnect had made its entity (its answer lost) makes them
//     differ too: the run fails where it could have gone on, never the
//     reverse.
//   - They change no behaviour of a gateway: a new store is referenced by
//     no vault until a vault change, which waits; a new key in an existing
//     store is what a {vault://} reference the plan shows would read once
//     the plan is applied. Vault and plugin creates, updates and deletes
//     wait for the re-plan: undoing them would show.
//
// When the re-plan is the plan shown, everything else starts and the run
// goes on as if it had waited. When it differs, or cannot be made, nothing
// more starts, what the speculative creates made is deleted (secrets, then
// stores, without force), and Sync fails with ErrPlanMoved (or the
// re-plan's error), naming anything it could not delete.

// speculative reports whether a change may start before the plan made
// under the lock confirms it.
func speculative(ch *diff.Change) bool {
	return ch.Action == diff.Create && (ch.Kind == diff.KindConfigStore || ch.Kind == diff.KindSecret)
}

// speculation connects Sync and the scheduler while the plan under the
// lock is being made.
type speculation struct {
	// freeze is closed by Sync when the re-plan's reads are answered.
	freeze chan struct{}
	// drained receives, once every create started before freeze has
	// ended (or the run has stopped), what the speculative creates made so
	// far.
	drained chan []made
	// verdict receives whether the plan was confirmed: true, everything
	// starts; false, nothing more does.
	verdict chan bool
	// made is everything the speculative creates made (the scheduler's;
	// Sync reads it once Apply has returned).
	made []made
	// stores are the ids of the stores made so far: the re-plan need not
	// read their secrets (it takes them out whole).
	mu     sync.Mutex
	stores map[string]bool
}

// ownStore reports whether a speculative create made the store.
func (s *speculation) ownStore(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stores[id]
}

func newSpeculation() *speculation {
	return &speculation{freeze: make(chan struct{}), drained: make(chan []made, 1), verdict: make(chan bool, 1), stores: map[string]bool{}}
}

// made is an entity a speculative create made.
type made struct {
	kind  diff.Kind
	name  string // as the plan names it
	store string // the store's id: its own, or the secret's
	key   string // the secret's key
}

// record notes what a speculative change that succeeded made.
func (s *speculation) record(ch *diff.Change, applied diff.Applied, t *target) {
	m := made{kind: ch.Kind, name: ch.Name}
	switch o := ch.Op.(type) {
	case *diff.ConfigStoreOp:
		m.store = applied.ID
		s.mu.Lock()
		s.stores[applied.ID] = true
		s.mu.Unlock()
	case *diff.SecretOp:
		id, err := t.resolve(o.Store)
		if err != nil {
			return // it could not have run
		}
		m.store, m.key = id, o.Key
	default:
		return
	}
	s.made = append(s.made, m)
}

// withoutMade takes what this run's speculative creates made out of live.
func withoutMade(live *diff.Live, ms []made) {
	stores := map[string]bool{}
	keys := map[string]map[string]bool{}
	for _, m := range ms {
		if m.kind == diff.KindConfigStore {
			stores[m.store] = true
		} else {
			if keys[m.store] == nil {
				keys[m.store] = map[string]bool{}
			}
			keys[m.store][m.key] = true
		}
	}
	live.ConfigStores = slices.DeleteFunc(slices.Clone(live.ConfigStores), func(s konnect.ConfigStore) bool { return stores[s.ID] })
	for id := range stores {
		delete(live.Secrets, id)
	}
	for id, ks := range keys {
		if list, ok := live.Secrets[id]; ok {
			live.Secrets[id] = slices.DeleteFunc(slices.Clone(list), func(s konnect.ConfigStoreSecret) bool { return ks[s.Key] })
		}
	}
}

// undo deletes what the speculative creates made: the secrets first, then
// the stores without force (a secret nobody expected keeps its store). It
// works on a context of its own, as the lock's release does. deleted
// counts what it deleted (or found gone).
func undo(c *konnect.Client, cpID string, ms []made, parallelism int) (deleted int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if parallelism <= 0 {
		parallelism = DefaultParallelism // as the run that made them
	}
	var mu sync.Mutex
	var errs *multierror.Error
	run := func(kind diff.Kind) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, parallelism)
		for _, m := range ms {
			if m.kind != kind {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				var err error
				if kind == diff.KindSecret {
					err = c.Secrets.Delete(ctx, cpID, m.store, m.key)
				} else {
					err = c.ConfigStores.Delete(ctx, cpID, m.store, false)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil && !konnect.IsNotFound(err) {
					errs = multierror.Append(errs, fmt.Errorf("%s %s: %w", kind.Label(), m.name, err))
				} else {
					deleted++
				}
			}()
		}
		wg.Wait()
	}
	run(diff.KindSecret)
	run(diff.KindConfigStore)
	if errs != nil {
		return deleted, fmt.Errorf("the creates started before the plan was confirmed could not all be deleted (run sync again: the next plan shows them): %w", errs)
	}
	return deleted, nil
}

// speculating is the scheduler's side of a speculation. Without one the
// plan is confirmed from the start.
type speculating struct {
	spec               *speculation
	confirmed, aborted bool
	// held are ready changes that wait for the verdict.
	held []int
	// running are the changes started before the verdict and not ended;
	// before, those running when freeze came (nil until then).
	running, before map[int]bool
	drainSent       bool
	// plain is the run's target; guarded, the same for changes started
	// before the verdict (a create never writes over what exists).
	plain, guarded *target
}

func newSpeculating(s *speculation, t *target) *speculating {
	sp := &speculating{spec: s, confirmed: s == nil, plain: t}
	if s != nil {
		g := *t
		g.speculative = true
		sp.guarded, sp.running = &g, map[int]bool{}
	}
	return sp
}

// next is the next change to start: held changes first once confirmed;
// before the verdict only speculative ones (the others are held).
func (sp *speculating) next(ready *diff.ReadyQueue, changes []*diff.Change) (int, bool) {
	if sp.confirmed && len(sp.held) > 0 {
		i := sp.held[0]
		sp.held = sp.held[1:]
		return i, true
	}
	for ready.Len() > 0 {
		i := ready.Pop()
		if sp.confirmed || speculative(changes[i]) {
			return i, true
		}
		sp.held = append(sp.held, i)
	}
	return 0, false
}

// start is the target change i runs on, as it starts.
func (sp *speculating) start(i int) *target {
	if sp.confirmed {
		return sp.plain
	}
	sp.running[i] = true
	return sp.guarded
}

// ended notes the end of an operation.
func (sp *speculating) ended(d done, ch *diff.Change) {
	if !sp.running[d.idx] {
		return
	}
	delete(sp.running, d.idx)
	if d.err == nil && !d.notStarted {
		sp.spec.record(ch, d.applied, sp.guarded)
	}
	if sp.before != nil {
		delete(sp.before, d.idx)
		sp.drain()
	}
}

// frozen: the re-plan's reads are answered; what it may have seen is what
// the creates running now and those ended made.
func (sp *speculating) frozen() {
	sp.before = maps.Clone(sp.running)
	sp.drain()
}

func (sp *speculating) drain() {
	if !sp.drainSent && len(sp.before) == 0 {
		sp.spec.drained <- slices.Clone(sp.spec.made)
		sp.drainSent = true
	}
}

func (sp *speculating) decided(ok bool) { sp.confirmed, sp.aborted = ok, !ok }

// settled: the plan is confirmed or refused (or there is nothing to
// confirm).
func (sp *speculating) settled() bool { return sp.confirmed || sp.aborted }

func (sp *speculating) freeze() <-chan struct{} {
	if sp.spec == nil || sp.before != nil || sp.settled() {
		return nil
	}
	return sp.spec.freeze
}

func (sp *speculating) verdict() <-chan bool {
	if sp.spec == nil || sp.settled() {
		return nil
	}
	return sp.spec.verdict
}

// stop: the run ends; Sync waiting for what was made is answered.
func (sp *speculating) stop() {
	if sp.spec != nil && !sp.drainSent {
		sp.spec.drained <- slices.Clone(sp.spec.made)
		sp.drainSent = true
	}
}
