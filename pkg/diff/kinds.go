package diff

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/go-multierror"

	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// descriptor is everything kvsync knows about one kind of entity. Each
// kind's descriptor and the functions it names live in the kind's own file;
// the rest of the package only iterates the table.
type descriptor struct {
	kind Kind
	// label names the kind in prose ("config store").
	label string
	// countsUnmanaged: the plan reports how many live entities of this
	// kind it leaves alone.
	countsUnmanaged bool
	// fetch reads the kind's live entities into f.live. It runs
	// concurrently with the other kinds' fetches and may wait for one of
	// them with f.await.
	fetch func(ctx context.Context, f *fetcher) error
	// plan adds the kind's changes (with their edges) to b. It reads only
	// the desired and live states and the kinds' indexes, never another
	// kind's changes, so the kinds plan in any order.
	plan func(b *builder)
	// check is the kind's online validation against the live state (nil:
	// none); problems are located in the file.
	check func(f *state.File, live *Live) []error
	// managed counts the live entities of the kind the plan may manage,
	// its unmanaged count not yet taken off (a mass delete is judged
	// against them).
	managed func(b *builder) int
	// dump writes the kind's live entities into a file being dumped (nil:
	// not dumped). Dumps run in table order, parents first.
	dump func(d *dumper)
	// sortDump puts the kind's part of a dumped file in its order, once
	// every kind has dumped (nil: as dumped).
	sortDump func(f *state.File)
	// dumped counts the kind's entities in a file, for a dump's summary
	// (nil: counted with its parent, as secrets are with their store).
	dumped func(f *state.File) int
	// record keeps kvsync.sum in step with a change of the kind that
	// succeeded (nil: the kind has nothing there).
	record func(s *sum.File, controlPlaneID string, c *Change, a Applied)
	// fingerprint names what the outcome of a change of the kind depends
	// on: the live objects it refers to or writes over, and the values it
	// writes (see Fingerprints).
	fingerprint func(f *fingerprinter, c *Change)
}

// kinds is the table, in ranking order: creates and updates run and print
// in this order, deletes in the reverse. Adding a kind takes one
// descriptor file and one entry here, plus what README's "Adding a kind of
// entity" lists outside this package.
var kinds []*descriptor

func init() {
	kinds = []*descriptor{configStoreKind, secretKind, vaultKind, pluginKind}
}

// Kinds lists the kinds kvsync manages, in the table's order.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, d := range kinds {
		out[i] = d.kind
	}
	return out
}

func descriptorOf(k Kind) *descriptor {
	for _, d := range kinds {
		if d.kind == k {
			return d
		}
	}
	return nil
}

// rank orders ready changes: creates and updates in table order, then
// deletes in reverse table order, so that unrelated changes print in a
// stable, familiar order.
func rank(c *Change) int {
	for i, d := range kinds {
		if d.kind == c.Kind {
			if c.Action == Delete {
				return 2*len(kinds) - 1 - i
			}
			return i
		}
	}
	return 2 * len(kinds)
}

// Compute builds the plan that turns live into desired. Every problem found
// (an unresolved reference, an ambiguous store name, …) is reported in one
// aggregated error (a *multierror.Error).
func Compute(desired *state.File, live *Live, opts Options) (*Plan, error) {
	if desired == nil || live == nil {
		return nil, fmt.Errorf("diff: desired and live state are both required")
	}
	tags, err := ResolveSelectTags(desired.SelectTags, opts.SelectTags)
	if err != nil {
		return nil, err
	}
	b := &builder{desired: desired, live: live, tags: tags, opts: opts, unmanaged: map[Kind]int{}}
	for _, d := range kinds {
		if d.countsUnmanaged {
			b.unmanaged[d.kind] = 0
		}
	}
	for _, d := range kinds {
		d.plan(b)
	}
	if err := b.errs.ErrorOrNil(); err != nil {
		return nil, err
	}
	shared := b.sharedTagWarning()
	if opts.NoDeletes {
		b.dropDeletes()
	}
	if err := b.link(); err != nil {
		return nil, err
	}
	b.edges()
	sort.Strings(b.warnings)
	if w := b.massDeleteWarning(); w != "" {
		b.warnings = append([]string{w}, b.warnings...)
	}
	if shared != "" {
		b.warnings = append(b.warnings, shared)
	}
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
		Notes:        b.notes,
		NotCompared:  b.notCompared,
		LeftOut:      b.leftOut,
	}, nil
}

// RecordSum keeps kvsync.sum in step with the changes of p that Konnect
// applied (applied reports, for a change, what Konnect answered and
// whether it succeeded), so that the file records exactly what was
// written, also after a partial failure or an interrupt.
func RecordSum(s *sum.File, p *Plan, applied func(c *Change) (Applied, bool)) {
	for _, c := range p.Changes {
		d := descriptorOf(c.Kind)
		if d == nil || d.record == nil {
			continue
		}
		if a, ok := applied(c); ok {
			d.record(s, p.ControlPlane.ID, c, a)
		}
	}
}

// builder is a plan under construction.
type builder struct {
	desired *state.File
	live    *Live
	tags    []string
	opts    Options

	errs      *multierror.Error
	nodes     []*node
	unmanaged map[Kind]int
	warnings  []string
	notes     []string
	// notCompared counts the known values that could not be compared
	// (Plan.NotCompared).
	notCompared int
	leftOut     int

	// Indexes of facts several kinds read, each built on first use by the
	// file of the kind it is about.
	storeIdx *storeIndex
	vaultIdx *vaultIndex
}

// node is a change under construction, with what the graph needs to know.
type node struct {
	c *Change
	// addrs are the identities this change provides, which other changes'
	// edges and IDRefs name: "config_store:NAME", "vault:PREFIX", ….
	addrs []string
	// after are the changes this one runs after; before the changes that
	// run after this one.
	after, before []edge
	// naturalKeys are the unique keys the entity holds after the change
	// (create, update) or held before it (delete): a delete that frees a
	// key runs before the change that takes it.
	naturalKeys []string

	deps map[*node]bool
}

// edge names the changes with an address, restricted to one action (""
// for any).
type edge struct {
	action Action
	addr   string
}

func (b *builder) fail(format string, args ...any) {
	b.errs = multierror.Append(b.errs, fmt.Errorf(format, args...))
}

func (b *builder) warn(format string, args ...any) {
	b.warnings = append(b.warnings, fmt.Sprintf(format, args...))
}

// massDeleteWarning warns, first, when the plan deletes more than half of
// what kvsync manages in the control plane (and at least two things): a
// file piped alone (a snippet) plans to delete everything else in scope.
func (b *builder) massDeleteWarning() string {
	deletes := 0
	for _, n := range b.nodes {
		if n.c.Action == Delete {
			deletes++
		}
	}
	managed := 0
	for _, d := range kinds {
		managed += d.managed(b) - b.unmanaged[d.kind]
	}
	if deletes < 2 || 2*deletes <= managed {
		return ""
	}
	return fmt.Sprintf("this plan deletes %d of the %d entities kvsync manages here: are all the files given? (kvsync apply never deletes)", deletes, managed)
}

// dropDeletes leaves the deletes out (kvsync apply creates and updates
// only), saying how many.
func (b *builder) dropDeletes() {
	kept := b.nodes[:0]
	dropped := 0
	for _, n := range b.nodes {
		if n.c.Action == Delete {
			dropped++
			continue
		}
		kept = append(kept, n)
	}
	b.nodes = kept
	b.leftOut = dropped
	why := b.opts.NoDeletesWhy
	if why == "" {
		why = "apply never deletes (sync would)"
	}
	if dropped > 0 {
		b.note("%d delete%s left out: %s", dropped, Plural(dropped), why)
	}
}

func (b *builder) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *builder) add(n *node) *node {
	n.deps = map[*node]bool{}
	b.nodes = append(b.nodes, n)
	return n
}

func (b *builder) byAddr() map[string][]*node {
	out := map[string][]*node{}
	for _, n := range b.nodes {
		for _, a := range n.addrs {
			out[a] = append(out[a], n)
			out[string(n.c.Action)+" "+a] = append(out[string(n.c.Action)+" "+a], n)
		}
	}
	return out
}

func edgeKey(e edge) string {
	if e.action == "" {
		return e.addr
	}
	return string(e.action) + " " + e.addr
}

// link points each IDRef that names an address at the change that creates
// the entity, and makes the change that needs the id depend on it.
func (b *builder) link() error {
	idx := b.byAddr()
	nodeOf := make(map[*Change]*node, len(b.nodes))
	for _, n := range b.nodes {
		nodeOf[n.c] = n
	}
	for _, n := range b.nodes {
		for _, r := range n.c.Op.refs() {
			if r.From == nil && r.addr != "" {
				producers := idx[string(Create)+" "+r.addr]
				if len(producers) != 1 {
					return fmt.Errorf("diff: %s needs the id of %s, which %d changes create", n.c, r.addr, len(producers))
				}
				r.From = producers[0].c
			}
			if r.From == nil {
				continue
			}
			if m := nodeOf[r.From]; m != nil && m != n {
				n.deps[m] = true
			}
		}
	}
	return nil
}

// edges adds the dependency graph's edges between the planned changes.
func (b *builder) edges() {
	idx := b.byAddr()
	dep := func(n, on *node) {
		if n != on {
			n.deps[on] = true
		}
	}
	for _, n := range b.nodes {
		for _, e := range n.after {
			for _, m := range idx[edgeKey(e)] {
				dep(n, m)
			}
		}
		for _, e := range n.before {
			for _, m := range idx[edgeKey(e)] {
				dep(m, n)
			}
		}
	}
	held := map[string][]*node{}
	for _, n := range b.nodes {
		if n.c.Action == Delete {
			for _, k := range n.naturalKeys {
				held[k] = append(held[k], n)
			}
		}
	}
	for _, n := range b.nodes {
		if n.c.Action == Delete {
			continue
		}
		for _, k := range n.naturalKeys {
			for _, d := range held[k] {
				dep(n, d)
			}
		}
	}
}
