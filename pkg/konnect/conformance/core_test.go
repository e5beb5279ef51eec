package conformance

import (
	"net/http"
	"strings"
)

// coreT is the spec's path prefix of the core entities.
const coreT = "/v2/control-planes/{controlPlaneId}/core-entities"

// crud is one collection driven through raw HTTP: create, list, get,
// replace and delete, at the top level or under a parent. Templates are
// relative to coreT; paths relative to the control plane's core-entities.
type crud struct {
	template, path  string // the collection
	idParam         string
	create, replace map[string]any
	// readTemplate/readPath: the read-only top-level collection of a kind
	// written under its parent (GET list and, unless noItem, GET item).
	readTemplate, readPath string
	noItem                 bool
}

// driveCore drives every core-entities collection the spec declares beyond
// the six the client covers, plus the consumer group memberships, partial
// links and PATCH of a control plane; it returns the endpoints it expects.
func driveCore(r raw, cpID string) []string {
	core := "/control-planes/" + cpID + "/core-entities"
	var want []string
	hit := func(method, template string) { want = append(want, method+" "+coreT+template) }
	id := func(m map[string]any) string { s, _ := m["id"].(string); return s }

	const pem1 = "-----BEGIN CERTIFICATE-----\nb25l\n-----END CERTIFICATE-----\n"
	const pem2 = "-----BEGIN CERTIFICATE-----\ndHdv\n-----END CERTIFICATE-----\n"
	// Parents.
	svc := r.must(201, "POST", core+"/services", map[string]any{"name": "conf-parent", "host": "example.com"})
	consumer := r.must(201, "POST", core+"/consumers", map[string]any{"username": "conf-consumer"})
	group := r.must(201, "POST", core+"/consumer_groups", map[string]any{"name": "conf-group"})
	up := r.must(201, "POST", core+"/upstreams", map[string]any{"name": "conf-upstream"})
	cert := r.must(201, "POST", core+"/certificates", map[string]any{"cert": pem1, "key": pem1})
	ca := r.must(201, "POST", core+"/ca_certificates", map[string]any{"cert": pem1})
	ks := r.must(201, "POST", core+"/key-sets", map[string]any{"name": "conf-set"})
	route := r.must(201, "POST", core+"/routes", map[string]any{"name": "conf-route", "paths": []string{"/c"}})
	partial := r.must(201, "POST", core+"/partials", map[string]any{"name": "conf-redis", "type": "redis-ce", "config": map[string]any{"host": "localhost"}})
	for _, t := range []string{"/services", "/consumers", "/consumer_groups", "/upstreams", "/certificates", "/ca_certificates", "/key-sets", "/routes", "/partials"} {
		hit("POST", t)
	}

	sid, cid, gid, uid := id(svc), id(consumer), id(group), id(up)
	credential := func(path, param string, create, replace map[string]any) crud {
		return crud{template: "/consumers/{ConsumerIdForNestedEntities}/" + path, path: "/consumers/" + cid + "/" + path,
			idParam: param, create: create, replace: replace,
			readTemplate: "/" + strings.TrimSuffix(path, "s") + "s", readPath: "/" + strings.TrimSuffix(path, "s") + "s"}
	}
	cases := []crud{
		{template: "/certificates", path: "/certificates", idParam: "CertificateId",
			create: map[string]any{"cert": pem2, "key": pem2}, replace: map[string]any{"cert": pem2, "key": pem2, "tags": []string{"t"}}},
		{template: "/ca_certificates", path: "/ca_certificates", idParam: "CACertificateId",
			create: map[string]any{"cert": pem2}, replace: map[string]any{"cert": pem2, "tags": []string{"t"}}},
		{template: "/snis", path: "/snis", idParam: "SNIId",
			create:  map[string]any{"name": "a.example.com", "certificate": map[string]any{"id": id(cert)}},
			replace: map[string]any{"name": "a.example.com", "certificate": map[string]any{"id": id(cert)}, "tags": []string{"t"}}},
		{template: "/certificates/{CertificateId}/snis", path: "/certificates/" + id(cert) + "/snis", idParam: "SNIId",
			create: map[string]any{"name": "b.example.com"}, replace: map[string]any{"name": "b.example.com", "tags": []string{"t"}}},
		{template: "/upstreams", path: "/upstreams", idParam: "UpstreamId",
			create: map[string]any{"name": "conf-up-2"}, replace: map[string]any{"name": "conf-up-2", "slots": 100}},
		{template: "/upstreams/{UpstreamIdForTarget}/targets", path: "/upstreams/" + uid + "/targets", idParam: "TargetId",
			create: map[string]any{"target": "10.0.0.1:80"}, replace: map[string]any{"target": "10.0.0.1:80", "weight": 5},
			readTemplate: "/targets", readPath: "/targets", noItem: true},
		credential("acls", "ACLId", map[string]any{"group": "admins"}, map[string]any{"group": "ops"}),
		credential("basic-auth", "BasicAuthId", map[string]any{"username": "u1", "password": "fake-pw"}, map[string]any{"username": "u1", "password": "fake-pw-2"}),
		credential("hmac-auth", "HMACAuthId", map[string]any{"username": "h1"}, map[string]any{"username": "h1", "tags": []string{"t"}}),
		credential("jwt", "JWTId", map[string]any{}, map[string]any{"key": "conf-iss", "algorithm": "HS512"}),
		credential("key-auth", "KeyAuthId", map[string]any{}, map[string]any{"key": "conf-fake-key"}),
		credential("mtls-auth", "MTLSAuthId", map[string]any{"subject_name": "CN=a"}, map[string]any{"subject_name": "CN=b", "ca_certificate": map[string]any{"id": id(ca)}}),
		{template: "/consumers/{ConsumerIdForNestedEntities}/plugins", path: "/consumers/" + cid + "/plugins", idParam: "PluginId",
			create: map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 5}}, replace: map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 6}}},
		{template: "/consumer_groups/{ConsumerGroupId}/plugins", path: "/consumer_groups/" + gid + "/plugins", idParam: "PluginId",
			create: map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 5}}, replace: map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 6}}},
		{template: "/routes/{RouteId}/plugins", path: "/routes/" + id(route) + "/plugins", idParam: "PluginId",
			create: map[string]any{"name": "key-auth"}, replace: map[string]any{"name": "key-auth", "enabled": false}},
		{template: "/services/{ServiceId}/plugins", path: "/services/" + sid + "/plugins", idParam: "PluginId",
			create: map[string]any{"name": "key-auth"}, replace: map[string]any{"name": "key-auth", "enabled": false}},
		{template: "/services/{ServiceId}/routes", path: "/services/" + sid + "/routes", idParam: "RouteId",
			create: map[string]any{"name": "conf-nested-route", "paths": []string{"/n"}}, replace: map[string]any{"name": "conf-nested-route", "paths": []string{"/m"}}},
		{template: "/services/{ServiceId}/degraphql/routes", path: "/services/" + sid + "/degraphql/routes", idParam: "Degraphql_routeId",
			create: map[string]any{"uri": "/q", "query": "{ a }"}, replace: map[string]any{"uri": "/r", "query": "{ b }"},
			readTemplate: "/degraphql_routes", readPath: "/degraphql_routes"},
		{template: "/services/{ServiceId}/graphql-rate-limiting-advanced/costs", path: "/services/" + sid + "/graphql-rate-limiting-advanced/costs",
			idParam: "GraphQLCostDecorationId", create: map[string]any{"type_path": "Query.a"}, replace: map[string]any{"type_path": "Query.b"},
			readTemplate: "/graphql-rate-limiting-advanced/costs", readPath: "/graphql-rate-limiting-advanced/costs"},
		{template: "/key-sets", path: "/key-sets", idParam: "KeySetId",
			create: map[string]any{"name": "conf-set-2"}, replace: map[string]any{"name": "conf-set-2", "tags": []string{"t"}}},
		{template: "/keys", path: "/keys", idParam: "KeyId",
			create: map[string]any{"kid": "k1", "jwk": `{"kid":"k1"}`}, replace: map[string]any{"kid": "k1", "jwk": `{"kid":"k1"}`, "tags": []string{"t"}}},
		{template: "/key-sets/{KeySetId}/keys", path: "/key-sets/" + id(ks) + "/keys", idParam: "KeyId",
			create: map[string]any{"kid": "k2", "jwk": `{"kid":"k2"}`}, replace: map[string]any{"kid": "k2", "jwk": `{"kid":"k2"}`, "name": "k2"}},
		{template: "/partials", path: "/partials", idParam: "PartialId",
			create:  map[string]any{"name": "conf-redis-2", "type": "redis-ce", "config": map[string]any{"host": "localhost"}},
			replace: map[string]any{"name": "conf-redis-2", "type": "redis-ce", "config": map[string]any{"port": 6380}}},
		{template: "/custom-plugins", path: "/custom-plugins", idParam: "CustomPluginId",
			create: map[string]any{"name": "conf-plugin", "handler": "return {}", "schema": "return {}"}, replace: map[string]any{"name": "conf-plugin", "handler": "return { }", "schema": "return {}"}},
	}
	for _, c := range cases {
		item := c.template + "/{" + c.idParam + "}"
		e := r.must(201, "POST", core+c.path, c.create)
		r.must(200, "GET", core+c.path, nil)
		r.must(200, "GET", core+c.path+"/"+id(e), nil)
		r.must(200, "PUT", core+c.path+"/"+id(e), c.replace)
		hit("POST", c.template)
		hit("GET", c.template)
		hit("GET", item)
		hit("PUT", item)
		if c.readTemplate != "" {
			r.must(200, "GET", core+c.readPath, nil)
			hit("GET", c.readTemplate)
			if !c.noItem {
				r.must(200, "GET", core+c.readPath+"/"+id(e), nil)
				hit("GET", c.readTemplate+"/{"+c.idParam+"}")
			}
		}
		r.must(204, "DELETE", core+c.path+"/"+id(e), nil)
		hit("DELETE", item)
	}

	// Memberships, from both sides.
	r.must(201, "POST", core+"/consumer_groups/"+gid+"/consumers", map[string]any{"consumer": cid})
	r.must(200, "GET", core+"/consumer_groups/"+gid+"/consumers", nil)
	r.must(200, "GET", core+"/consumers/"+cid+"/consumer_groups", nil)
	r.must(204, "DELETE", core+"/consumer_groups/"+gid+"/consumers/"+cid, nil)
	r.must(201, "POST", core+"/consumers/"+cid+"/consumer_groups", map[string]any{"group": gid})
	r.must(204, "DELETE", core+"/consumers/"+cid+"/consumer_groups/"+gid, nil)
	r.must(201, "POST", core+"/consumers/"+cid+"/consumer_groups", map[string]any{"group": gid})
	r.must(204, "DELETE", core+"/consumers/"+cid+"/consumer_groups", nil)
	r.must(201, "POST", core+"/consumer_groups/"+gid+"/consumers", map[string]any{"consumer": cid})
	r.must(204, "DELETE", core+"/consumer_groups/"+gid+"/consumers", nil)
	for _, e := range []string{"POST /consumer_groups/{ConsumerGroupId}/consumers", "GET /consumer_groups/{ConsumerGroupId}/consumers",
		"DELETE /consumer_groups/{ConsumerGroupId}/consumers", "DELETE /consumer_groups/{ConsumerGroupId}/consumers/{ConsumerId}",
		"POST /consumers/{ConsumerId}/consumer_groups", "GET /consumers/{ConsumerId}/consumer_groups",
		"DELETE /consumers/{ConsumerId}/consumer_groups", "DELETE /consumers/{ConsumerId}/consumer_groups/{ConsumerGroupId}"} {
		method, t, _ := strings.Cut(e, " ")
		hit(method, t)
	}
	r.must(200, "GET", core+"/partials/"+id(partial)+"/links", nil)
	hit("GET", "/partials/{PartialId}/links")

	// PATCH of the control plane.
	r.must(200, "PATCH", "/control-planes/"+cpID, map[string]any{"description": "patched", "labels": map[string]any{"env": "conformance"}})
	want = append(want, "PATCH /v2/control-planes/{controlPlaneId}")

	// The parents go; plugins and credentials under them went before.
	for _, p := range []string{"/routes/" + id(route), "/services/" + sid, "/consumers/" + cid, "/consumer_groups/" + gid,
		"/upstreams/" + uid, "/certificates/" + id(cert), "/ca_certificates/" + id(ca), "/key-sets/" + id(ks), "/partials/" + id(partial)} {
		r.must(http.StatusNoContent, "DELETE", core+p, nil)
	}
	return want
}
