package diff

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/kvsync/kvsync/pkg/konnect"
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

// scopeLister is the resolver of one kind (scope field).
type scopeLister[T any] struct {
	field int
	what  string // "routes", for errors
	walk  func(ctx context.Context, fn func(page []T, last bool) bool) error
	ident func(T) (id, name string)
	put   func(l *Live, ref string, v T)

	// What the listings read: by id and by name, complete once a listing
	// reached its last page.
	byID, byName map[string]T
	complete     bool
}

// scopeResolvers returns the resolvers of the four scope fields, in
// scopeFields' order.
func (f *fetcher) scopeResolvers() [4]scopeResolver {
	c, cp := f.c, f.cpID
	return [4]scopeResolver{
		&scopeLister[konnect.Route]{field: 0, what: "routes",
			walk: func(ctx context.Context, fn func([]konnect.Route, bool) bool) error {
				return c.Routes.Walk(ctx, cp, nil, fn)
			},
			ident: func(r konnect.Route) (string, string) { return r.ID, r.Name },
			put:   func(l *Live, ref string, r konnect.Route) { l.Routes[ref] = r }},
		&scopeLister[konnect.Service]{field: 1, what: "services",
			walk: func(ctx context.Context, fn func([]konnect.Service, bool) bool) error {
				return c.Services.Walk(ctx, cp, nil, fn)
			},
			ident: func(s konnect.Service) (string, string) { return s.ID, s.Name },
			put:   func(l *Live, ref string, s konnect.Service) { l.Services[ref] = s }},
		&scopeLister[konnect.Consumer]{field: 2, what: "consumers",
			walk: func(ctx context.Context, fn func([]konnect.Consumer, bool) bool) error {
				return c.Consumers.Walk(ctx, cp, nil, fn)
			},
			ident: func(cs konnect.Consumer) (string, string) { return cs.ID, cs.Username },
			put:   func(l *Live, ref string, cs konnect.Consumer) { l.Consumers[ref] = cs }},
		&scopeLister[konnect.ConsumerGroup]{field: 3, what: "consumer groups",
			walk: func(ctx context.Context, fn func([]konnect.ConsumerGroup, bool) bool) error {
				return c.ConsumerGroups.Walk(ctx, cp, nil, fn)
			},
			ident: func(g konnect.ConsumerGroup) (string, string) { return g.ID, g.Name },
			put:   func(l *Live, ref string, g konnect.ConsumerGroup) { l.ConsumerGroups[ref] = g }},
	}
}

// found is the entity ref names in what was listed so far, and whether
// that is final.
func (s *scopeLister[T]) found(ref string) (T, bool) {
	if e, ok := s.byID[ref]; ok {
		return e, true
	}
	if e, ok := s.byName[ref]; ok && (s.complete || !konnect.IsUUID(ref)) {
		return e, true
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
			return fmt.Errorf("listing %s: %w", s.what, err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, ref := range refs {
		if e, ok := s.found(ref); ok {
			f.set(func() { s.put(f.live, ref, e) })
			continue
		}
		if s.complete {
			continue // it does not exist: Compute reports it
		}
		g.Go(func() error { return f.lookup(gctx, s.field, ref) })
	}
	return g.Wait()
}

// list reads pages while listing is still the cheaper way to resolve refs.
func (s *scopeLister[T]) list(ctx context.Context, refs []string) error {
	if s.byID == nil {
		s.byID, s.byName = map[string]T{}, map[string]T{}
	}
	pages := 0
	return s.walk(ctx, func(page []T, last bool) bool {
		pages++
		for _, e := range page {
			id, name := s.ident(e)
			s.byID[id] = e
			if name != "" {
				s.byName[name] = e
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
