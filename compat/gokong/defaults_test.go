package gokong

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kong/go-kong/kong"
)

// TestSchemaDefaultsMatchTheStore: what go-kong fills from the emulator's
// entity JSON schemas (as decK does before a diff) is what the emulator
// stores for a minimal entity, so decK sees no changes after a sync.
func TestSchemaDefaultsMatchTheStore(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	p := setup(ctx, t, c)
	schema := func(name string) kong.Schema {
		t.Helper()
		req, err := c.NewRequest(http.MethodGet, "/v1/schemas/json/"+name, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var s kong.Schema
		if _, err := c.Do(ctx, req, &s); err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
		return s
	}
	ignore := cmpopts.IgnoreFields
	cases := []struct {
		name          string
		want, created any
		opts          cmp.Option
	}{
		{"service", &kong.Service{Name: kong.String("d-svc"), Host: kong.String("example.com")},
			must(c.Services.Create(ctx, &kong.Service{Name: kong.String("d-svc"), Host: kong.String("example.com")})),
			ignore(kong.Service{}, "ID", "CreatedAt", "UpdatedAt")},
		{"route", &kong.Route{Name: kong.String("d-rt"), Paths: kong.StringSlice("/d"), Service: &kong.Service{ID: p.service}},
			must(c.Routes.Create(ctx, &kong.Route{Name: kong.String("d-rt"), Paths: kong.StringSlice("/d"), Service: &kong.Service{ID: p.service}})),
			ignore(kong.Route{}, "ID", "CreatedAt", "UpdatedAt")},
		{"upstream", &kong.Upstream{Name: kong.String("d-up")},
			must(c.Upstreams.Create(ctx, &kong.Upstream{Name: kong.String("d-up")})),
			ignore(kong.Upstream{}, "ID", "CreatedAt")},
		{"target", &kong.Target{Target: kong.String("10.1.1.1:80"), Upstream: &kong.Upstream{ID: p.upstream}},
			must(c.Targets.Create(ctx, p.upstream, &kong.Target{Target: kong.String("10.1.1.1:80")})),
			ignore(kong.Target{}, "ID", "CreatedAt")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := kong.FillEntityDefaults(tc.want, schema(tc.name)); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, tc.created, tc.opts); d != "" {
				t.Errorf("filled from the schema (-) vs stored (+):\n%s", d)
			}
		})
	}
}

func must[T any](v *T, err error) *T {
	if err != nil {
		panic(err)
	}
	return v
}
