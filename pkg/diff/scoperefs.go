package diff

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

// Resolving the routes, services, consumers and consumer groups that
// plugins name costs either one GET per distinct ref, or a listing of the
// kind: ceil(N/1000) pages for N entities. Which is cheaper depends on N,
// which no request tells in advance (Kong's offset pagination carries no
// total), so a resolver decides as it goes:
//
//   - one ref: one GET (a listing costs at least one page too);
//   - k >= 2 refs: list, page by page, while at least two refs remain
//     unresolved and fewer than k pages were read; a complete listing
//     resolves every ref (one it lacks does not exist), an interrupted one
//     leaves the rest to one GET each.
//
// So a listing never costs more than k pages plus the GETs of what it
// did not find, and in the common case (a file naming many of a control
// plane's routes) it costs one page where k GETs did before.
//
// A ref is an id or a name (a username for consumers), looked up as Kong
// does: the id first, then the name. Ids are UUIDs, so a ref that is not
// one is resolved by name as soon as a page shows it; a UUID-shaped ref
// that a page shows only as a name waits for a complete listing (or its
// GET), lest the entity with that id come later.
type scopeResolver interface {
	// resolve puts each ref that exists into Live under that ref.
	resolve(ctx context.Context, f *fetcher, refs []string) error
}

// scopeKind is how the plan reads one scope field's entities (routes,
// services, consumers, consumer groups): the one place that knows, per
// field, the client's service, how an entity names itself and where Live
// keeps them. scopeKinds holds one per kong.ScopeField, in Kong's order.
type scopeKind interface {
	// resolver starts a resolution of refs for one fetch.
	resolver(f *fetcher) scopeResolver
	// lookup finds one entity by the name or id ref; one that does not
	// exist is left out.
	lookup(ctx context.Context, f *fetcher, ref string) error
	// each calls fn for each entity Live holds, with the ref it is kept
	// under, its id and its own name.
	each(l *Live, fn func(ref, id, name string))
	// idOf is the id of the entity Live holds under ref ("" when none).
	idOf(l *Live, ref string) string
}

var scopeKinds = [len(kong.ScopeFields)]scopeKind{
	kong.ScopeRoute: scopeKindOf[konnect.Route]{field: kong.ScopeRoute,
		svc:   func(c *konnect.Client) scopeService[konnect.Route] { return c.Routes },
		ident: func(r konnect.Route) (string, string) { return r.ID, r.Name },
		live:  func(l *Live) map[string]konnect.Route { return l.Routes }},
	kong.ScopeService: scopeKindOf[konnect.Service]{field: kong.ScopeService,
		svc:   func(c *konnect.Client) scopeService[konnect.Service] { return c.Services },
		ident: func(s konnect.Service) (string, string) { return s.ID, s.Name },
		live:  func(l *Live) map[string]konnect.Service { return l.Services }},
	kong.ScopeConsumer: scopeKindOf[konnect.Consumer]{field: kong.ScopeConsumer,
		svc:   func(c *konnect.Client) scopeService[konnect.Consumer] { return c.Consumers },
		ident: func(c konnect.Consumer) (string, string) { return c.ID, c.Username },
		live:  func(l *Live) map[string]konnect.Consumer { return l.Consumers }},
	kong.ScopeConsumerGroup: scopeKindOf[konnect.ConsumerGroup]{field: kong.ScopeConsumerGroup,
		svc:   func(c *konnect.Client) scopeService[konnect.ConsumerGroup] { return c.ConsumerGroups },
		ident: func(g konnect.ConsumerGroup) (string, string) { return g.ID, g.Name },
		live:  func(l *Live) map[string]konnect.ConsumerGroup { return l.ConsumerGroups }},
}

// scopeService is what the plan reads of a scope field's service.
type scopeService[T any] interface {
	Walk(ctx context.Context, cpID string, opts *konnect.ListOptions, fn func(page []T, last bool) bool) error
	Get(ctx context.Context, cpID, idOrName string) (*T, error)
}

type scopeKindOf[T any] struct {
	field kong.ScopeField
	svc   func(c *konnect.Client) scopeService[T]
	ident func(T) (id, name string)
	live  func(l *Live) map[string]T
}

func (k scopeKindOf[T]) resolver(f *fetcher) scopeResolver {
	return &scopeLister[T]{kind: k, walk: func(ctx context.Context, fn func([]T, bool) bool) error {
		return k.svc(f.c).Walk(ctx, f.cpID, nil, fn)
	}}
}

func (k scopeKindOf[T]) lookup(ctx context.Context, f *fetcher, ref string) error {
	e, err := k.svc(f.c).Get(ctx, f.cpID, ref)
	if err == nil {
		f.set(func() { k.live(f.live)[ref] = *e })
		return nil
	}
	if konnect.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("looking up %s %q: %w", k.field.Key(), ref, err)
}

func (k scopeKindOf[T]) each(l *Live, fn func(ref, id, name string)) {
	for ref, e := range k.live(l) {
		id, name := k.ident(e)
		fn(ref, id, name)
	}
}

func (k scopeKindOf[T]) idOf(l *Live, ref string) string {
	e, ok := k.live(l)[ref]
	if !ok {
		return ""
	}
	id, _ := k.ident(e)
	return id
}

// scopeLister is the resolver of one scope field.
type scopeLister[T any] struct {
	kind scopeKindOf[T]
	walk func(ctx context.Context, fn func(page []T, last bool) bool) error

	// What the listings read: by id and by name, complete once a listing
	// reached its last page. The maps point into the pages read (a copy
	// of each entity per map was most of what resolving 5,000 routes
	// allocated).
	byID, byName map[string]*T
	complete     bool
}

// scopeResolvers returns the resolvers of the four scope fields, in
// Kong's order.
func (f *fetcher) scopeResolvers() [len(kong.ScopeFields)]scopeResolver {
	var out [len(kong.ScopeFields)]scopeResolver
	for i, k := range scopeKinds {
		out[i] = k.resolver(f)
	}
	return out
}

// found is the entity ref names in what was listed so far, and whether
// that is final.
func (s *scopeLister[T]) found(ref string) (T, bool) {
	if e, ok := s.byID[ref]; ok {
		return *e, true
	}
	if e, ok := s.byName[ref]; ok && (s.complete || !konnect.IsUUID(ref)) {
		return *e, true
	}
	var zero T
	return zero, false
}

func (s *scopeLister[T]) resolve(ctx context.Context, f *fetcher, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	if !s.complete && len(refs) >= 2 {
		if err := s.list(ctx, refs); err != nil {
			return fmt.Errorf("listing %s: %w", s.kind.field.Plural(), err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, ref := range refs {
		if e, ok := s.found(ref); ok {
			f.set(func() { s.kind.live(f.live)[ref] = e })
			continue
		}
		if s.complete {
			continue // it does not exist: Compute reports it
		}
		g.Go(func() error { return s.kind.lookup(gctx, f, ref) })
	}
	return g.Wait()
}

// list reads pages while listing is still the cheaper way to resolve refs.
func (s *scopeLister[T]) list(ctx context.Context, refs []string) error {
	pages := 0
	return s.walk(ctx, func(page []T, last bool) bool {
		pages++
		if s.byID == nil {
			s.byID, s.byName = make(map[string]*T, len(page)), make(map[string]*T, len(page))
		}
		for i := range page {
			id, name := s.kind.ident(page[i])
			s.byID[id] = &page[i]
			if name != "" {
				s.byName[name] = &page[i]
			}
		}
		if last {
			s.complete = true
			return false
		}
		unresolved := 0
		for _, ref := range refs {
			if _, ok := s.found(ref); !ok {
				unresolved++
			}
		}
		return unresolved >= 2 && pages < len(refs)
	})
}
