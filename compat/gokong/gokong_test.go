package gokong

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/kong/go-kong/kong"

	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

const token = "kpat_emulator_fake_token"

// collection is one core-entities collection as go-kong drives it: create
// returns the new entity's id, upsert replaces it by id (go-kong's Create
// with an ID is a PUT, which is how decK updates), update is go-kong's
// Update (PATCH, nil when go-kong has none), count lists them all.
type collection struct {
	name   string
	create func(ctx context.Context) (*string, error)
	upsert func(ctx context.Context, id *string) error
	update func(ctx context.Context, id *string) error
	count  func(ctx context.Context) (int, error)
	delete func(ctx context.Context, id *string) error
}

func count[T any](list []T, err error) (int, error) { return len(list), err }

// newClient starts an emulator and returns go-kong pointed at a fresh
// control plane's core-entities, in Konnect mode like decK's.
func newClient(t *testing.T) *kong.Client {
	t.Helper()
	srv := konnecttest.NewServer(konnecttest.Options{Token: token, Preload: "tutorial"})
	t.Cleanup(srv.Close)
	base := srv.URL + "/v2/control-planes/" + srv.ControlPlaneID(konnecttest.TutorialControlPlane) + "/core-entities"
	hc := kong.HTTPClientWithHeaders(&http.Client{Timeout: 10 * time.Second},
		http.Header{"Authorization": []string{"Bearer " + token}})
	c, err := kong.NewClient(&base, hc)
	if err != nil {
		t.Fatal(err)
	}
	c.SetKonnectFlag(true)
	return c
}

// parents creates the entities the nested collections hang from.
type parents struct {
	service, consumer, group, upstream, cert, caCert, keySet *string
}

func setup(ctx context.Context, t *testing.T, c *kong.Client) parents {
	t.Helper()
	must := func(id *string, err error) *string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	var p parents
	p.service = must(idOf(c.Services.Create(ctx, &kong.Service{Name: kong.String("parent-svc"), Host: kong.String("example.com")})))
	p.consumer = must(idOf(c.Consumers.Create(ctx, &kong.Consumer{Username: kong.String("parent-consumer")})))
	p.group = must(idOf(c.ConsumerGroups.Create(ctx, &kong.ConsumerGroup{Name: kong.String("parent-group")})))
	p.upstream = must(idOf(c.Upstreams.Create(ctx, &kong.Upstream{Name: kong.String("parent-upstream")})))
	p.cert = must(idOf(c.Certificates.Create(ctx, &kong.Certificate{Cert: kong.String(fakePEM), Key: kong.String(fakePEM)})))
	p.caCert = must(idOf(c.CACertificates.Create(ctx, &kong.CACertificate{Cert: kong.String(fakePEM)})))
	p.keySet = must(idOf(c.KeySets.Create(ctx, &kong.KeySet{Name: kong.String("parent-set")})))
	return p
}

// idOf adapts a go-kong create to (id, error); every go-kong entity has an
// ID field.
func idOf[T any](e *T, err error) (*string, error) {
	if err != nil {
		return nil, err
	}
	switch v := any(e).(type) {
	case *kong.Service:
		return v.ID, nil
	case *kong.Consumer:
		return v.ID, nil
	case *kong.ConsumerGroup:
		return v.ID, nil
	case *kong.Upstream:
		return v.ID, nil
	case *kong.Certificate:
		return v.ID, nil
	case *kong.CACertificate:
		return v.ID, nil
	case *kong.KeySet:
		return v.ID, nil
	case *kong.Route:
		return v.ID, nil
	case *kong.Plugin:
		return v.ID, nil
	case *kong.Vault:
		return v.ID, nil
	case *kong.SNI:
		return v.ID, nil
	case *kong.Target:
		return v.ID, nil
	case *kong.KeyAuth:
		return v.ID, nil
	case *kong.BasicAuth:
		return v.ID, nil
	case *kong.HMACAuth:
		return v.ID, nil
	case *kong.JWTAuth:
		return v.ID, nil
	case *kong.MTLSAuth:
		return v.ID, nil
	case *kong.ACLGroup:
		return v.ID, nil
	case *kong.Key:
		return v.ID, nil
	case *kong.Partial:
		return v.ID, nil
	case *kong.DegraphqlRoute:
		return v.ID, nil
	case *kong.GraphqlRateLimitingCostDecoration:
		return v.ID, nil
	case *kong.CustomPluginDefinition:
		return v.ID, nil
	}
	panic("idOf: unsupported type")
}

// ignore drops an entity, keeping the error.
func ignore[T any](_ *T, err error) error { return err }

// Fake certificates: PEM-shaped, not real (the emulator keys ca
// certificates by the digest of their DER bytes).
const (
	fakePEM  = "-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----\n"
	otherPEM = "-----BEGIN CERTIFICATE-----\nb3RoZXI=\n-----END CERTIFICATE-----\n"
)

func collections(c *kong.Client, p parents) []collection {
	s := kong.String
	return []collection{
		{name: "services",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.Services.Create(ctx, &kong.Service{Name: s("svc"), Host: s("a.example.com")}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.Services.Create(ctx, &kong.Service{ID: id, Name: s("svc"), Host: s("b.example.com")}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.Services.Update(ctx, &kong.Service{ID: id, Retries: kong.Int(3)}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.Services.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.Services.Delete(ctx, id) }},
		{name: "routes",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.Routes.CreateInService(ctx, p.service, &kong.Route{Name: s("rt"), Paths: kong.StringSlice("/a")}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.Routes.Create(ctx, &kong.Route{ID: id, Name: s("rt"), Paths: kong.StringSlice("/b"), Service: &kong.Service{ID: p.service}}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.Routes.Update(ctx, &kong.Route{ID: id, StripPath: kong.Bool(false)}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.Routes.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.Routes.Delete(ctx, id) }},
		{name: "consumers",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.Consumers.Create(ctx, &kong.Consumer{Username: s("bob")}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.Consumers.Create(ctx, &kong.Consumer{ID: id, Username: s("bob"), CustomID: s("b-1")}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.Consumers.Update(ctx, &kong.Consumer{ID: id, CustomID: s("b-2")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.Consumers.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.Consumers.Delete(ctx, id) }},
		{name: "consumer_groups",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.ConsumerGroups.Create(ctx, &kong.ConsumerGroup{Name: s("silver")}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.ConsumerGroups.Create(ctx, &kong.ConsumerGroup{ID: id, Name: s("silver"), Tags: kong.StringSlice("t")}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.ConsumerGroups.Update(ctx, &kong.ConsumerGroup{ID: id, Name: s("silver-2")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.ConsumerGroups.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.ConsumerGroups.Delete(ctx, id) }},
		{name: "plugins",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.Plugins.Create(ctx, &kong.Plugin{Name: s("rate-limiting"), Service: &kong.Service{ID: p.service},
					Config: kong.Configuration{"minute": 5}}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.Plugins.Create(ctx, &kong.Plugin{ID: id, Name: s("rate-limiting"), Service: &kong.Service{ID: p.service},
					Config: kong.Configuration{"minute": 10}}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.Plugins.Update(ctx, &kong.Plugin{ID: id, Enabled: kong.Bool(false)}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.Plugins.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.Plugins.Delete(ctx, id) }},
		{name: "vaults",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.Vaults.Create(ctx, &kong.Vault{Name: s("env"), Prefix: s("my-env"), Config: kong.Configuration{"prefix": "APP_"}}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.Vaults.Create(ctx, &kong.Vault{ID: id, Name: s("env"), Prefix: s("my-env"), Description: s("d")}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.Vaults.Update(ctx, &kong.Vault{ID: id, Description: s("e")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.Vaults.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.Vaults.Delete(ctx, id) }},
		{name: "certificates",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.Certificates.Create(ctx, &kong.Certificate{Cert: s(fakePEM), Key: s(fakePEM)}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.Certificates.Create(ctx, &kong.Certificate{ID: id, Cert: s(fakePEM), Key: s(fakePEM), Tags: kong.StringSlice("t")}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.Certificates.Update(ctx, &kong.Certificate{ID: id, Tags: kong.StringSlice("u")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.Certificates.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.Certificates.Delete(ctx, id) }},
		{name: "ca_certificates",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.CACertificates.Create(ctx, &kong.CACertificate{Cert: s(otherPEM)}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.CACertificates.Create(ctx, &kong.CACertificate{ID: id, Cert: s(otherPEM), Tags: kong.StringSlice("t")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.CACertificates.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.CACertificates.Delete(ctx, id) }},
		{name: "snis",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.SNIs.Create(ctx, &kong.SNI{Name: s("a.example.com"), Certificate: &kong.Certificate{ID: p.cert}}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.SNIs.Create(ctx, &kong.SNI{ID: id, Name: s("b.example.com"), Certificate: &kong.Certificate{ID: p.cert}}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.SNIs.Update(ctx, &kong.SNI{ID: id, Tags: kong.StringSlice("u")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.SNIs.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.SNIs.Delete(ctx, id) }},
		{name: "upstreams",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.Upstreams.Create(ctx, &kong.Upstream{Name: s("up")}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.Upstreams.Create(ctx, &kong.Upstream{ID: id, Name: s("up"), Slots: kong.Int(100)}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.Upstreams.Update(ctx, &kong.Upstream{ID: id, Algorithm: s("least-connections")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.Upstreams.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.Upstreams.Delete(ctx, id) }},
		{name: "targets",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.Targets.Create(ctx, p.upstream, &kong.Target{Target: s("10.0.0.1:80")}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.Targets.Create(ctx, p.upstream, &kong.Target{ID: id, Target: s("10.0.0.1:80"), Weight: kong.Int(5)}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.Targets.ListAllTargetsAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.Targets.Delete(ctx, p.upstream, id) }},
		{name: "key-auths",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.KeyAuths.Create(ctx, p.consumer, &kong.KeyAuth{}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.KeyAuths.Create(ctx, p.consumer, &kong.KeyAuth{ID: id, Key: s("fake-key-0001")}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.KeyAuths.Update(ctx, p.consumer, &kong.KeyAuth{ID: id, Tags: kong.StringSlice("u")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.KeyAuths.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.KeyAuths.Delete(ctx, p.consumer, id) }},
		{name: "basic-auths",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.BasicAuths.Create(ctx, p.consumer, &kong.BasicAuth{Username: s("u1"), Password: s("fake-password")}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.BasicAuths.Create(ctx, p.consumer, &kong.BasicAuth{ID: id, Username: s("u1"), Password: s("fake-password-2")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.BasicAuths.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.BasicAuths.Delete(ctx, p.consumer, id) }},
		{name: "hmac-auths",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.HMACAuths.Create(ctx, p.consumer, &kong.HMACAuth{Username: s("h1")}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.HMACAuths.Create(ctx, p.consumer, &kong.HMACAuth{ID: id, Username: s("h1"), Secret: s("fake-secret")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.HMACAuths.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.HMACAuths.Delete(ctx, p.consumer, id) }},
		{name: "jwts",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.JWTAuths.Create(ctx, p.consumer, &kong.JWTAuth{}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.JWTAuths.Create(ctx, p.consumer, &kong.JWTAuth{ID: id, Key: s("fake-iss"), Algorithm: s("HS512")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.JWTAuths.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.JWTAuths.Delete(ctx, p.consumer, id) }},
		{name: "mtls-auths",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.MTLSAuths.Create(ctx, p.consumer, &kong.MTLSAuth{SubjectName: s("CN=a"), CACertificate: &kong.CACertificate{ID: p.caCert}}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.MTLSAuths.Create(ctx, p.consumer, &kong.MTLSAuth{ID: id, SubjectName: s("CN=b")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.MTLSAuths.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.MTLSAuths.Delete(ctx, p.consumer, id) }},
		{name: "acls",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.ACLs.Create(ctx, p.consumer, &kong.ACLGroup{Group: s("admins")}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.ACLs.Create(ctx, p.consumer, &kong.ACLGroup{ID: id, Group: s("operators")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.ACLs.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.ACLs.Delete(ctx, p.consumer, id) }},
		{name: "key-sets",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.KeySets.Create(ctx, &kong.KeySet{Name: s("ks")}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.KeySets.Create(ctx, &kong.KeySet{ID: id, Name: s("ks"), Tags: kong.StringSlice("t")}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.KeySets.Update(ctx, &kong.KeySet{ID: id, Tags: kong.StringSlice("u")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.KeySets.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.KeySets.Delete(ctx, id) }},
		{name: "keys",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.Keys.Create(ctx, &kong.Key{Name: s("k"), KID: s("kid-1"), JWK: s(`{"kid":"kid-1"}`), Set: &kong.KeySet{ID: p.keySet}}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.Keys.Create(ctx, &kong.Key{ID: id, Name: s("k"), KID: s("kid-2"), JWK: s(`{"kid":"kid-2"}`)}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.Keys.Update(ctx, &kong.Key{ID: id, Tags: kong.StringSlice("u")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.Keys.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.Keys.Delete(ctx, id) }},
		{name: "partials",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.Partials.Create(ctx, &kong.Partial{Name: s("redis"), Type: s("redis-ce"), Config: kong.Configuration{"host": "localhost"}}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.Partials.Create(ctx, &kong.Partial{ID: id, Name: s("redis"), Type: s("redis-ce"), Config: kong.Configuration{"port": 6380}}))
			},
			update: func(ctx context.Context, id *string) error {
				return ignore(c.Partials.Update(ctx, &kong.Partial{ID: id, Tags: kong.StringSlice("u")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.Partials.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.Partials.Delete(ctx, id) }},
		{name: "degraphql_routes",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.DegraphqlRoutes.Create(ctx, &kong.DegraphqlRoute{Service: &kong.Service{ID: p.service}, URI: s("/q"), Query: s("{ a }")}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.DegraphqlRoutes.Update(ctx, &kong.DegraphqlRoute{ID: id, Service: &kong.Service{ID: p.service}, URI: s("/r"), Query: s("{ b }")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.DegraphqlRoutes.ListAll(ctx, p.service)) },
			delete: func(ctx context.Context, id *string) error { return c.DegraphqlRoutes.Delete(ctx, p.service, id) }},
		{name: "graphql-rate-limiting-advanced/costs",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.GraphqlRateLimitingCostDecorations.CreateForService(ctx,
					&kong.GraphqlRateLimitingCostDecoration{TypePath: s("Query.a"), Service: &kong.Service{ID: p.service}}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.GraphqlRateLimitingCostDecorations.UpdateForService(ctx,
					&kong.GraphqlRateLimitingCostDecoration{ID: id, TypePath: s("Query.b"), Service: &kong.Service{ID: p.service}}))
			},
			count: func(ctx context.Context) (int, error) {
				return count(c.GraphqlRateLimitingCostDecorations.ListAllForService(ctx, p.service))
			},
			delete: func(ctx context.Context, id *string) error {
				return c.GraphqlRateLimitingCostDecorations.DeleteForService(ctx,
					&kong.GraphqlRateLimitingCostDecoration{ID: id, Service: &kong.Service{ID: p.service}})
			}},
		{name: "custom-plugins",
			create: func(ctx context.Context) (*string, error) {
				return idOf(c.CustomPlugins.Create(ctx, &kong.CustomPluginDefinition{Name: s("my-plugin"), Handler: s("return {}"), Schema: s("return {}")}))
			},
			upsert: func(ctx context.Context, id *string) error {
				return ignore(c.CustomPlugins.Update(ctx, &kong.CustomPluginDefinition{ID: id, Name: s("my-plugin"), Handler: s("return { }"), Schema: s("return {}")}))
			},
			count:  func(ctx context.Context) (int, error) { return count(c.CustomPlugins.ListAll(ctx)) },
			delete: func(ctx context.Context, id *string) error { return c.CustomPlugins.Delete(ctx, id) }},
	}
}

// TestEveryCollection creates, lists, upserts, updates and deletes one
// entity of every collection with go-kong, checking the listing each time.
func TestEveryCollection(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	p := setup(ctx, t, c)
	for _, col := range collections(c, p) {
		t.Run(col.name, func(t *testing.T) {
			before, err := col.count(ctx)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			id, err := col.create(ctx)
			if err != nil || id == nil {
				t.Fatalf("create: %v (id %v)", err, id)
			}
			wantCount := func(step string, want int) {
				t.Helper()
				if n, err := col.count(ctx); err != nil || n != want {
					t.Fatalf("after %s: %d listed (err %v), want %d", step, n, err, want)
				}
			}
			wantCount("create", before+1)
			if err := col.upsert(ctx, id); err != nil {
				t.Fatalf("upsert: %v", err)
			}
			wantCount("upsert", before+1)
			if col.update != nil {
				if err := col.update(ctx, id); err != nil {
					t.Fatalf("update: %v", err)
				}
			}
			if err := col.delete(ctx, id); err != nil {
				t.Fatalf("delete: %v", err)
			}
			wantCount("delete", before)
		})
	}
}

// TestTutorialAndMemberships reads the preloaded tutorial entities and
// manages a consumer group's members the way decK does.
func TestTutorialAndMemberships(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	svc, err := c.Services.Get(ctx, kong.String("example-service"))
	if err != nil || *svc.Host != "httpbin.konghq.com" || *svc.Path != "/anything" {
		t.Fatalf("example-service: %+v, %v", svc, err)
	}
	routes, _, err := c.Routes.ListForService(ctx, svc.ID, nil)
	if err != nil || len(routes) != 1 || *routes[0].Name != "example-route" {
		t.Fatalf("routes of example-service: %v, %v", routes, err)
	}
	if _, err := c.Consumers.Create(ctx, &kong.Consumer{Username: kong.String("carol")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConsumerGroups.Create(ctx, &kong.ConsumerGroup{Name: kong.String("gold")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConsumerGroupConsumers.Create(ctx, kong.String("gold"), kong.String("carol")); err != nil {
		t.Fatal(err)
	}
	members, err := c.ConsumerGroupConsumers.ListAll(ctx, kong.String("gold"))
	if err != nil || len(members) != 1 || *members[0].Username != "carol" {
		t.Fatalf("members: %v, %v", members, err)
	}
	group, err := c.ConsumerGroups.Get(ctx, kong.String("gold"))
	if err != nil || group.ConsumerGroup == nil || *group.ConsumerGroup.Name != "gold" || len(group.Consumers) != 1 {
		t.Fatalf("consumer group object: %+v, %v", group, err)
	}
	if err := c.ConsumerGroupConsumers.Delete(ctx, kong.String("gold"), kong.String("carol")); err != nil {
		t.Fatal(err)
	}
	if members, err := c.ConsumerGroupConsumers.ListAll(ctx, kong.String("gold")); err != nil || len(members) != 0 {
		t.Fatalf("members after delete: %v, %v", members, err)
	}
	root, err := c.Root(ctx)
	if err != nil || root["version"] != konnecttest.KongVersion {
		t.Fatalf("root: %v, %v", root, err)
	}
}
