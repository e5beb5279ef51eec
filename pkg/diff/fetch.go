package diff

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state"
)

// Fetch reads the live state the desired state needs, in one concurrent
// pass. The control plane is resolved once; then, at the same time:
//   - config stores are listed, and vaults; then the secret keys of every
//     store that could be in scope (declared by name, or referenced by a
//     vault carrying the select tags) are listed, each store concurrently;
//   - every plugin is listed (not filtered by tags: adoption and the
//     unmanaged counts need the others too), then the schemas of in-scope
//     live plugins that the file does not name are fetched;
//   - each plugin schema the file names is fetched once;
//   - each route, service, consumer and consumer group the file names is
//     looked up once by that name or id (one that does not exist is left
//     out of Live; Compute reports it).
//
// Lists use the largest page sizes, so a no-change diff costs the list
// pages plus the look-ups and schemas, nothing more.
func Fetch(ctx context.Context, c *konnect.Client, desired *state.File, opts FetchOptions) (*Live, error) {
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
	cp, err := c.ControlPlanes.Resolve(ctx, cpRef)
	if err != nil {
		return nil, fmt.Errorf("control plane %q: %w", cpRef, err)
	}
	f := &fetcher{c: c, cpID: cp.ID, desired: desired, tags: tags, live: &Live{
		ControlPlane:   *cp,
		Secrets:        map[string][]konnect.ConfigStoreSecret{},
		Routes:         map[string]konnect.Route{},
		Services:       map[string]konnect.Service{},
		Consumers:      map[string]konnect.Consumer{},
		ConsumerGroups: map[string]konnect.ConsumerGroup{},
		Schemas:        map[string]*kong.PluginSchema{},
	}}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return f.storesAndVaults(gctx) })
	g.Go(func() error { return f.plugins(gctx) })
	for _, name := range f.desiredPluginNames() {
		g.Go(func() error { return f.schema(gctx, name) })
	}
	f.lookups(gctx, g)
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return f.live, nil
}

type fetcher struct {
	c       *konnect.Client
	cpID    string
	desired *state.File
	tags    []string

	mu   sync.Mutex // guards live's maps
	live *Live
}

func (f *fetcher) desiredPluginNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range f.desired.Plugins {
		if !seen[p.Name] {
			seen[p.Name] = true
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}

// storesAndVaults lists stores and vaults together, then the secrets of the
// stores that could be in scope.
func (f *fetcher) storesAndVaults(ctx context.Context) error {
	var stores []konnect.ConfigStore
	var vaults []konnect.Vault
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		stores, err = f.c.ConfigStores.List(gctx, f.cpID, nil)
		if err != nil {
			return fmt.Errorf("listing config stores: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		var err error
		vaults, err = f.c.Vaults.List(gctx, f.cpID, nil)
		if err != nil {
			return fmt.Errorf("listing vaults: %w", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	f.live.ConfigStores, f.live.Vaults = stores, vaults

	declared := map[string]bool{}
	for _, s := range f.desired.ConfigStores {
		declared[s.Name] = true
	}
	referenced := map[string]bool{}
	for _, v := range vaults {
		if hasAllTags(v.Tags, f.tags) {
			if id := liveStoreID(v); id != "" {
				referenced[id] = true
			}
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	for _, s := range stores {
		if !declared[s.Name] && !referenced[s.ID] {
			continue
		}
		g.Go(func() error {
			secrets, err := f.c.Secrets.List(gctx, f.cpID, s.ID, nil)
			if err != nil {
				return fmt.Errorf("listing the secrets of config store %q: %w", s.Name, err)
			}
			f.mu.Lock()
			f.live.Secrets[s.ID] = secrets
			f.mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// plugins lists every plugin, then fetches the schemas of in-scope live
// plugins the file does not name (Live.Schemas covers both states).
func (f *fetcher) plugins(ctx context.Context) error {
	plugins, err := f.c.Plugins.List(ctx, f.cpID, nil)
	if err != nil {
		return fmt.Errorf("listing plugins: %w", err)
	}
	f.live.Plugins = plugins
	named := map[string]bool{}
	for _, n := range f.desiredPluginNames() {
		named[n] = true
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range plugins {
		if named[p.Name] || !hasAllTags(p.Tags, f.tags) {
			continue
		}
		named[p.Name] = true
		g.Go(func() error { return f.schema(gctx, p.Name) })
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
	f.mu.Lock()
	f.live.Schemas[name] = kong.NewPluginSchema(s.Fields)
	f.mu.Unlock()
	return nil
}

// lookups starts one look-up per distinct route, service, consumer and
// consumer group the file names.
func (f *fetcher) lookups(ctx context.Context, g *errgroup.Group) {
	seen := map[string]bool{}
	for _, p := range f.desired.Plugins {
		for i, ref := range [4]string{p.Route, p.Service, p.Consumer, p.ConsumerGroup} {
			if ref == "" || seen[scopeFields[i]+"\x00"+ref] {
				continue
			}
			seen[scopeFields[i]+"\x00"+ref] = true
			g.Go(func() error { return f.lookup(ctx, i, ref) })
		}
	}
}

func (f *fetcher) lookup(ctx context.Context, field int, ref string) error {
	var err error
	switch field {
	case 0:
		var r *konnect.Route
		if r, err = f.c.Routes.Get(ctx, f.cpID, ref); err == nil {
			f.mu.Lock()
			f.live.Routes[ref] = *r
			f.mu.Unlock()
		}
	case 1:
		var s *konnect.Service
		if s, err = f.c.Services.Get(ctx, f.cpID, ref); err == nil {
			f.mu.Lock()
			f.live.Services[ref] = *s
			f.mu.Unlock()
		}
	case 2:
		var c *konnect.Consumer
		if c, err = f.c.Consumers.Get(ctx, f.cpID, ref); err == nil {
			f.mu.Lock()
			f.live.Consumers[ref] = *c
			f.mu.Unlock()
		}
	case 3:
		var cg *konnect.ConsumerGroup
		if cg, err = f.c.ConsumerGroups.Get(ctx, f.cpID, ref); err == nil {
			f.mu.Lock()
			f.live.ConsumerGroups[ref] = *cg
			f.mu.Unlock()
		}
	}
	if err != nil && !konnect.IsNotFound(err) {
		return fmt.Errorf("looking up %s %q: %w", scopeFields[field], ref, err)
	}
	return nil
}
