package diff

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// TestScopeListerStopsListing resolves routes over pages of two (six
// routes, three pages): the listing stops once GETs are cheaper, a
// complete listing settles what does not exist, and every ref found is
// kept under the ref the file used.
func TestScopeListerStopsListing(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{})
	t.Cleanup(srv.Close)
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: srv.Token, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cp, err := c.ControlPlanes.Create(ctx, konnect.ControlPlane{Name: "cp"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for i := range 6 {
		name := fmt.Sprintf("r%d", i)
		r, err := c.Routes.Create(ctx, cp.ID, konnect.Route{Name: name, Paths: []string{"/" + name}})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = r.ID
	}
	const list, get = "GET /v2/control-planes/{controlPlaneId}/core-entities/routes",
		"GET /v2/control-planes/{controlPlaneId}/core-entities/routes/{RouteId}"
	tests := []struct {
		name  string
		refs  []string
		found []string
		calls map[string]int
	}{
		{"one ref: a GET", []string{"r5"}, []string{"r5"}, map[string]int{get: 1}},
		{"the first page resolves all but one: that one is a GET", []string{"r0", ids["r1"], "r5"}, []string{"r0", ids["r1"], "r5"},
			map[string]int{list: 1, get: 1}},
		{"a complete listing settles a missing ref", []string{"r4", "r5", "nope"}, []string{"r4", "r5"}, map[string]int{list: 3}},
		{"never more pages than refs", []string{"r5", "r4"}, []string{"r4", "r5"}, map[string]int{list: 2, get: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fetcher{c: c, cpID: cp.ID, live: &Live{Routes: map[string]konnect.Route{}}}
			r := f.scopeResolvers()[0].(*scopeLister[konnect.Route])
			r.walk = func(ctx context.Context, fn func([]konnect.Route, bool) bool) error {
				return c.Routes.Walk(ctx, cp.ID, &konnect.ListOptions{PageSize: 2}, fn)
			}
			srv.ResetCounts()
			if err := r.resolve(ctx, f, tt.refs); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.calls, srv.Counts()); d != "" {
				t.Errorf("requests (-want +got):\n%s", d)
			}
			if len(f.live.Routes) != len(tt.found) {
				t.Errorf("resolved %d refs, want %d", len(f.live.Routes), len(tt.found))
			}
			for _, ref := range tt.found {
				want := ids[ref]
				if want == "" {
					want = ref
				}
				if got := f.live.Routes[ref].ID; got != want {
					t.Errorf("ref %q resolved to id %q, want %q", ref, got, want)
				}
			}
		})
	}
}
