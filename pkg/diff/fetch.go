package diff

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state"
)

// Fetch reads the live state the desired state needs, in one concurrent
// pass: the control plane is resolved once, then every kind's fetch runs at
// the same time, a kind waiting only for the lists it needs (secrets are
// listed once stores and vaults are known, for the stores that could be in
// scope). Lists use the largest page sizes, so a no-change diff costs the
// list pages plus the look-ups and schemas, nothing more.
func Fetch(ctx context.Context, c *konnect.Client, desired *state.File, opts FetchOptions) (_ *Live, retErr error) {
	if c == nil || desired == nil {
		return nil, errors.New("diff: Fetch needs a client and a desired state")
	}
	tags, err := ResolveSelectTags(desired.SelectTags, opts.SelectTags)
	if err != nil {
		return nil, err
	}
	cpRef := opts.ControlPlane
	if cpRef == "" {
		cpRef = desired.ControlPlaneName
	}
	if cpRef == "" {
		return nil, errors.New("no control plane given: set _konnect.control_plane_name in the file or pass --konnect-control-plane-name")
	}
	var cp *konnect.ControlPlane
	if opts.Previous != nil {
		cp = &opts.Previous.ControlPlane
	} else {
		cp, err = c.ControlPlanes.Resolve(ctx, cpRef)
	}
	if err != nil && opts.ControlPlane == "" {
		// The file named it: say where.
		defer func() {
			if retErr != nil {
				retErr = fmt.Errorf("%s: _konnect.control_plane_name: %w", desired.ControlPlanePos, retErr)
			}
		}()
	}
	if konnect.IsNotFound(err) {
		// Say which exist: a typo, or a token of another organization or
		// region, shows at once.
		if all, lerr := c.ControlPlanes.List(ctx, "", nil); lerr == nil {
			names := make([]string, len(all))
			for i, p := range all {
				names[i] = p.Name
			}
			return nil, fmt.Errorf("control plane %q: %w%s", cpRef, err, kong.DidYouMean(cpRef, "control planes at this address", names))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("control plane %q: %w", cpRef, err)
	}
	if cp.IsGroup() && opts.Previous == nil {
		return nil, groupRefusal(ctx, c, cp)
	}
	if opts.Resolved != nil {
		opts.Resolved(*cp)
	}
	f := &fetcher{c: c, cpID: cp.ID, desired: desired, tags: tags, opts: opts, done: map[Kind]chan struct{}{},
		live: &Live{
			ControlPlane:   *cp,
			Secrets:        map[string][]konnect.ConfigStoreSecret{},
			Routes:         map[string]konnect.Route{},
			Services:       map[string]konnect.Service{},
			Consumers:      map[string]konnect.Consumer{},
			ConsumerGroups: map[string]konnect.ConsumerGroup{},
			Schemas:        map[string]*kong.PluginSchema{},
		}}
	for _, d := range kinds {
		f.done[d.kind] = make(chan struct{})
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, d := range kinds {
		g.Go(func() error {
			if err := d.fetch(gctx, f); err != nil {
				return err
			}
			close(f.done[d.kind])
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return f.live, nil
}

// fetcher is one Fetch in progress.
type fetcher struct {
	c       *konnect.Client
	cpID    string
	desired *state.File
	tags    []string
	opts    FetchOptions

	// done[k] is closed when kind k's fetch has filled its part of live.
	done map[Kind]chan struct{}
	mu   sync.Mutex // guards live's maps while a kind fills them
	live *Live
}

// await waits until kind k's live entities are fetched.
func (f *fetcher) await(ctx context.Context, k Kind) error {
	select {
	case <-f.done[k]:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// inScope is the ownership rule as the fetch applies it.
func (f *fetcher) inScope(tags []string) bool { return f.opts.All || hasAllTags(tags, f.tags) }

// set stores a fetched value under the lock.
func (f *fetcher) set(store func()) {
	f.mu.Lock()
	store()
	f.mu.Unlock()
}

// groupRefusal: a control plane group is read-only in Konnect (its
// configuration is its members'), so kvsync never targets one; the
// refusal names the members to target instead.
func groupRefusal(ctx context.Context, c *konnect.Client, g *konnect.ControlPlane) error {
	members, err := c.ControlPlanes.GroupMembers(ctx, g.ID)
	if err != nil {
		return fmt.Errorf("control plane %s is a control plane group, which Konnect keeps read-only; its members could not be listed: %w", g.Name, err)
	}
	names := make([]string, len(members))
	for i, m := range members {
		names[i] = m.Name
	}
	list := "none yet"
	if len(names) > 0 {
		list = strings.Join(names, ", ")
	}
	return fmt.Errorf("control plane %s is a control plane group (members: %s): Konnect keeps a group read-only and builds its configuration from its members, so kvsync cannot plan or apply to it; target its members instead (one environment each in %s)",
		g.Name, list, state.EnvironmentsFileName)
}
