package konnecttest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"strings"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

// The core entities are one generic store driven by the table below: each
// kind names its collection, the spec's id parameter, the fields that may
// stand in for the id in a path, its uniqueness rules, its foreign keys
// (with Kong's on-delete behaviour) and the nested routes that scope it to
// a parent (/services/{id}/routes, /consumers/{id}/key-auth, ...). The
// fields, types and defaults come from schemas/entities.json, a small
// checked-in table in Kong's schema language written from the spec's
// component schemas (control-planes-config v2) and Kong's entity schemas;
// it is not generated at build time. The few rules a schema cannot say
// (a service's url shorthand, generated credentials, plugin and vault
// config) are hooks on the kind.

// foreignKey is a field holding {"id": ...} of another kind.
type foreignKey struct {
	field, target string
	// cascade: deleting the target deletes this entity too (Kong's
	// on_delete "cascade"); otherwise the delete is refused while the
	// target is referenced.
	cascade bool
}

// nesting serves a kind under a parent: /{parent}/{parentParam}/{path}.
type nesting struct {
	parent, parentParam, path, field string
}

// uniqueRule is one uniqueness constraint: the combination of fields must
// be unique among the kind's entities. Without withNulls an absent or null
// value never collides; with it (plugins: one per scope) it does.
type uniqueRule struct {
	fields    []string
	withNulls bool
}

type kind struct {
	name     string // collection path under core-entities
	idParam  string // the spec's path parameter for one entity
	jsonName string // name under v1/schemas/json/ (decK compatibility)
	// keys are fields that may stand in for the id in a path (Kong's
	// endpoint_key), looked up within the scope of a nested route.
	keys    []string
	unique  []uniqueRule
	foreign []foreignKey
	nested  []nesting
	// readOnly: the top-level collection and item only answer GET
	// (credentials are created under their consumer); noItem: the
	// top-level collection has no item path at all (targets).
	readOnly, noItem bool
	// nameField is what filter[name] compares (name, or username).
	nameField string

	// prepare rewrites a create or replace body before validation
	// (shorthands, generated values); check adds validation errors; finish
	// completes the filled object (config defaults, hashing).
	prepare func(body map[string]any) []kong.FieldError
	check   func(body map[string]any) []kong.FieldError
	finish  func(obj map[string]any)

	record *kong.Record
	fields []any // the raw schema fields, rendered as JSON schema
}

func (k *kind) hasField(name string) bool { return k.record.Field(name) != nil }

// dropNulls leaves out the unset fields the table marks "omit_null": the
// spec types them as objects that are never null (an mtls-auth's
// ca_certificate).
func (k *kind) dropNulls(obj map[string]any) {
	for _, f := range k.fields {
		m, _ := f.(map[string]any)
		for name, d := range m {
			if def, _ := d.(map[string]any); def["omit_null"] == true && obj[name] == nil {
				delete(obj, name)
			}
		}
	}
}

// consumerNest is the nesting of a consumer's credentials and plugins.
func consumerNest(path string) []nesting {
	return []nesting{{parent: "consumers", parentParam: "ConsumerIdForNestedEntities", path: path, field: "consumer"}}
}

func uniq(fields ...string) uniqueRule { return uniqueRule{fields: fields} }

// kindTable is every core-entities collection of the spec.
var kindTable = []*kind{
	{name: "services", idParam: "ServiceId", jsonName: "service", keys: []string{"name"}, unique: []uniqueRule{uniq("name")},
		foreign: []foreignKey{{field: "client_certificate", target: "certificates"}},
		prepare: expandServiceURL},
	{name: "routes", idParam: "RouteId", jsonName: "route", keys: []string{"name"}, unique: []uniqueRule{uniq("name")},
		foreign: []foreignKey{{field: "service", target: "services"}},
		nested:  []nesting{{parent: "services", parentParam: "ServiceId", path: "routes", field: "service"}},
		check:   routeErrors},
	{name: "consumers", idParam: "ConsumerId", jsonName: "consumer", keys: []string{"username"},
		unique: []uniqueRule{uniq("username"), uniq("custom_id")}, nameField: "username", check: consumerErrors},
	{name: "consumer_groups", idParam: "ConsumerGroupId", jsonName: "consumer_group", keys: []string{"name"}, unique: []uniqueRule{uniq("name")}},
	{name: "plugins", idParam: "PluginId", unique: []uniqueRule{uniq("instance_name"),
		{fields: []string{"name", "route", "service", "consumer", "consumer_group"}, withNulls: true}},
		foreign: []foreignKey{{field: "route", target: "routes", cascade: true}, {field: "service", target: "services", cascade: true},
			{field: "consumer", target: "consumers", cascade: true}, {field: "consumer_group", target: "consumer_groups", cascade: true}},
		nested: []nesting{
			{parent: "routes", parentParam: "RouteId", path: "plugins", field: "route"},
			{parent: "services", parentParam: "ServiceId", path: "plugins", field: "service"},
			{parent: "consumers", parentParam: "ConsumerIdForNestedEntities", path: "plugins", field: "consumer"},
			{parent: "consumer_groups", parentParam: "ConsumerGroupId", path: "plugins", field: "consumer_group"},
		}},
	{name: "vaults", idParam: "VaultId", jsonName: "vault", keys: []string{"prefix"}, unique: []uniqueRule{uniq("prefix")},
		check: vaultErrors, finish: fillVaultConfig},
	{name: "certificates", idParam: "CertificateId", jsonName: "certificate"},
	{name: "ca_certificates", idParam: "CACertificateId", jsonName: "ca_certificate", unique: []uniqueRule{uniq("cert_digest")},
		finish: caCertDigest},
	{name: "snis", idParam: "SNIId", jsonName: "sni", keys: []string{"name"}, unique: []uniqueRule{uniq("name")},
		foreign: []foreignKey{{field: "certificate", target: "certificates", cascade: true}},
		nested:  []nesting{{parent: "certificates", parentParam: "CertificateId", path: "snis", field: "certificate"}}},
	{name: "upstreams", idParam: "UpstreamId", jsonName: "upstream", keys: []string{"name"}, unique: []uniqueRule{uniq("name")},
		foreign: []foreignKey{{field: "client_certificate", target: "certificates"}}},
	{name: "targets", idParam: "TargetId", jsonName: "target", keys: []string{"target"}, unique: []uniqueRule{uniq("upstream", "target")},
		foreign:  []foreignKey{{field: "upstream", target: "upstreams", cascade: true}},
		nested:   []nesting{{parent: "upstreams", parentParam: "UpstreamIdForTarget", path: "targets", field: "upstream"}},
		readOnly: true, noItem: true, prepare: targetPort},
	{name: "acls", idParam: "ACLId", unique: []uniqueRule{uniq("consumer", "group")},
		foreign: []foreignKey{{field: "consumer", target: "consumers", cascade: true}},
		nested:  consumerNest("acls"), readOnly: true},
	{name: "basic-auths", idParam: "BasicAuthId", jsonName: "basic-auth", keys: []string{"username"}, unique: []uniqueRule{uniq("username")},
		foreign: []foreignKey{{field: "consumer", target: "consumers", cascade: true}},
		nested:  consumerNest("basic-auth"), readOnly: true, finish: hashBasicAuth},
	{name: "hmac-auths", idParam: "HMACAuthId", jsonName: "hmac-auth", keys: []string{"username"}, unique: []uniqueRule{uniq("username")},
		foreign: []foreignKey{{field: "consumer", target: "consumers", cascade: true}},
		nested:  consumerNest("hmac-auth"), readOnly: true, prepare: generate("secret")},
	{name: "jwts", idParam: "JWTId", jsonName: "jwt", keys: []string{"key"}, unique: []uniqueRule{uniq("key")},
		foreign: []foreignKey{{field: "consumer", target: "consumers", cascade: true}},
		nested:  consumerNest("jwt"), readOnly: true, prepare: generate("key", "secret")},
	{name: "key-auths", idParam: "KeyAuthId", jsonName: "key-auth", keys: []string{"key"}, unique: []uniqueRule{uniq("key")},
		foreign: []foreignKey{{field: "consumer", target: "consumers", cascade: true}},
		nested:  consumerNest("key-auth"), readOnly: true, prepare: generate("key")},
	{name: "mtls-auths", idParam: "MTLSAuthId", jsonName: "mtls-auth",
		foreign: []foreignKey{{field: "consumer", target: "consumers", cascade: true}, {field: "ca_certificate", target: "ca_certificates"}},
		nested:  consumerNest("mtls-auth"), readOnly: true},
	{name: "key-sets", idParam: "KeySetId", jsonName: "key-set", keys: []string{"name"}, unique: []uniqueRule{uniq("name")}},
	{name: "keys", idParam: "KeyId", jsonName: "key", keys: []string{"name"}, unique: []uniqueRule{uniq("name"), uniq("set", "kid")},
		foreign: []foreignKey{{field: "set", target: "key-sets", cascade: true}},
		nested:  []nesting{{parent: "key-sets", parentParam: "KeySetId", path: "keys", field: "set"}}},
	{name: "partials", idParam: "PartialId", keys: []string{"name"}, unique: []uniqueRule{uniq("name")}},
	{name: "degraphql_routes", idParam: "Degraphql_routeId",
		foreign:  []foreignKey{{field: "service", target: "services", cascade: true}},
		nested:   []nesting{{parent: "services", parentParam: "ServiceId", path: "degraphql/routes", field: "service"}},
		readOnly: true},
	{name: "graphql-rate-limiting-advanced/costs", idParam: "GraphQLCostDecorationId", unique: []uniqueRule{uniq("service", "type_path")},
		foreign:  []foreignKey{{field: "service", target: "services", cascade: true}},
		nested:   []nesting{{parent: "services", parentParam: "ServiceId", path: "graphql-rate-limiting-advanced/costs", field: "service"}},
		readOnly: true},
	{name: "custom-plugins", idParam: "CustomPluginId", keys: []string{"name"}, unique: []uniqueRule{uniq("name")}},
}

// kinds indexes kindTable by collection name; init attaches the schemas.
var kinds = map[string]*kind{}

func init() {
	b, err := schemaFiles.ReadFile("schemas/entities.json")
	if err != nil {
		panic(err)
	}
	var m map[string]struct {
		Fields []any `json:"fields"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("konnecttest: embedded entities.json: %v", err))
	}
	for _, k := range kindTable {
		s, ok := m[k.name]
		if !ok {
			panic("konnecttest: entities.json has no schema for " + k.name)
		}
		k.fields, k.record = s.Fields, kong.NewRecord(s.Fields)
		if k.nameField == "" {
			k.nameField = "name"
		}
		kinds[k.name] = k
	}
	kinds["plugins"].check = pluginErrors
	kinds["plugins"].finish = fillPluginConfig
}

// referrers are the foreign keys of other kinds pointing at target.
func referrers(target string) []struct {
	k  *kind
	fk foreignKey
} {
	var out []struct {
		k  *kind
		fk foreignKey
	}
	for _, k := range kindTable {
		for _, fk := range k.foreign {
			if fk.target == target {
				out = append(out, struct {
					k  *kind
					fk foreignKey
				}{k, fk})
			}
		}
	}
	return out
}

// generate fills absent or null fields with a random credential, as Kong
// does for key-auth keys, JWT keys and secrets and HMAC secrets.
func generate(fields ...string) func(map[string]any) []kong.FieldError {
	return func(body map[string]any) []kong.FieldError {
		for _, f := range fields {
			if body[f] == nil {
				body[f] = randomHex(32)
			}
		}
		return nil
	}
}

// targetPort adds Kong's default target port (8000) when none is given.
func targetPort(body map[string]any) []kong.FieldError {
	t, ok := body["target"].(string)
	if !ok || t == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(t); err == nil {
		return nil
	}
	if strings.Contains(t, ":") && !strings.HasPrefix(t, "[") {
		t = "[" + t + "]" // a bare IPv6 address
	}
	body["target"] = t + ":8000"
	return nil
}

// hashBasicAuth stores the password as Kong does: the SHA-1 of the
// password followed by the consumer id, in hex. The clear text is never
// kept or returned.
func hashBasicAuth(obj map[string]any) {
	pw, ok := obj["password"].(string)
	if !ok {
		return
	}
	sum := sha1.Sum([]byte(pw + foreignID(obj["consumer"])))
	obj["password"] = hex.EncodeToString(sum[:])
}

// caCertDigest is the SHA-256 of the certificate (of its DER bytes when it
// is PEM), as Kong computes cert_digest.
func caCertDigest(obj map[string]any) {
	cert, _ := obj["cert"].(string)
	der := []byte(cert)
	if blk, _ := pem.Decode(der); blk != nil {
		der = blk.Bytes
	}
	sum := sha256.Sum256(der)
	obj["cert_digest"] = hex.EncodeToString(sum[:])
}

func consumerErrors(body map[string]any) []kong.FieldError {
	if body["username"] == nil && body["custom_id"] == nil {
		return []kong.FieldError{{Path: "", Message: "at least one of these fields must be non-empty: 'custom_id', 'username'"}}
	}
	return nil
}

func vaultErrors(body map[string]any) []kong.FieldError {
	prefix, _ := body["prefix"].(string)
	cfg, _ := body["config"].(map[string]any)
	return kong.ValidateVault(str(body["name"]), prefix, cfg)
}

// vaultTTLs are the cache TTLs every vault type has. Konnect leaves them
// out of a stored config when unset (decK's dumps of Konnect vaults carry
// no ttl keys, where a Kong Admin API shows them as null), so the emulator
// drops the nulls kong.VaultConfigDefaults fills.
var vaultTTLs = []string{"ttl", "neg_ttl", "resurrect_ttl"}

func fillVaultConfig(obj map[string]any) {
	cfg, _ := obj["config"].(map[string]any)
	filled := kong.VaultConfigDefaults(str(obj["name"]), cfg)
	for _, f := range vaultTTLs {
		if v, ok := filled[f]; ok && v == nil {
			delete(filled, f)
		}
	}
	obj["config"] = filled
}

// pluginErrors checks a plugin's name against the schemas the emulator
// knows and its config and protocols against that schema.
func pluginErrors(body map[string]any) []kong.FieldError {
	name := str(body["name"])
	if name == "" {
		return nil
	}
	s := cachedPluginSchema(name)
	if s == nil {
		return []kong.FieldError{{Path: "name", Message: fmt.Sprintf("plugin '%s' not enabled; add it to the 'plugins' configuration property", name)}}
	}
	sub := map[string]any{}
	if cfg, ok := body["config"].(map[string]any); ok {
		sub["config"] = cfg
	}
	if p, ok := body["protocols"]; ok && p != nil {
		sub["protocols"] = p
	}
	var errs []kong.FieldError
	for _, fe := range s.rules.Entity().Validate(sub, "") {
		if fe.Path == "config" || strings.HasPrefix(fe.Path, "config.") || strings.HasPrefix(fe.Path, "protocols") {
			errs = append(errs, fe)
		}
	}
	return errs
}

// fillPluginConfig fills a plugin's config and protocols from its schema.
func fillPluginConfig(obj map[string]any) {
	s := cachedPluginSchema(str(obj["name"]))
	if s == nil {
		return
	}
	cfg, _ := obj["config"].(map[string]any)
	obj["config"] = s.rules.ConfigDefaults(cfg)
	if obj["protocols"] == nil {
		protos := s.rules.DefaultProtocols()
		list := make([]any, len(protos))
		for i, p := range protos {
			list[i] = p
		}
		obj["protocols"] = list
	}
}

// refCheck is a reference outside the entity table: a konnect vault's
// config store must exist in the control plane.
func refCheck(cp *controlPlane, k *kind, obj map[string]any) (field, msg string) {
	if k.name == "vaults" && str(obj["name"]) == "konnect" {
		cfg, _ := obj["config"].(map[string]any)
		id := str(cfg["config_store_id"])
		if cp.store(id) == nil {
			return "config.config_store_id", fmt.Sprintf("config store '%s' does not exist in this control plane", id)
		}
	}
	return "", ""
}

// isID reports whether ref is an entity id rather than an endpoint key.
func isID(ref string) bool { return konnect.IsUUID(ref) }
