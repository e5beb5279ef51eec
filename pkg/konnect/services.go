package konnect

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Paths are built from escaped segments: ids, names and secret keys may hold
// any character.

// escape escapes one path segment. "." and ".." are spelled out too, lest a
// server or proxy on the way clean them away as relative segments.
func escape(segment string) string {
	switch segment {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(segment)
}

func cpPath(cpID string) string { return "/control-planes/" + escape(cpID) }

func storesPath(cpID string) string { return cpPath(cpID) + "/config-stores" }

func storePath(cpID, storeID string) string {
	return storesPath(cpID) + "/" + escape(storeID)
}

func secretsPath(cpID, storeID string) string { return storePath(cpID, storeID) + "/secrets" }

func corePath(cpID, collection string) string { return cpPath(cpID) + "/core-entities/" + collection }

// need rejects empty path segments before they turn a "get one" into a "list
// all" on the wire.
func need(what string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return fmt.Errorf("konnect: %s: %s must not be empty", what, pairs[i])
		}
	}
	return nil
}

func get[T any](ctx context.Context, c *Client, path string) (*T, error) {
	var out T
	if err := c.do(ctx, &call{method: http.MethodGet, path: path}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func put[T any](ctx context.Context, c *Client, path string, body any) (*T, error) {
	var out T
	if err := c.do(ctx, &call{method: http.MethodPut, path: path, body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func del(ctx context.Context, c *Client, path string, query url.Values) error {
	return c.do(ctx, &call{method: http.MethodDelete, path: path, query: query}, nil)
}

// ControlPlanesService covers /v2/control-planes.
type ControlPlanesService struct{ c *Client }

// List returns every control plane, optionally filtered by exact name.
func (s *ControlPlanesService) List(ctx context.Context, name string, opts *ListOptions) ([]ControlPlane, error) {
	q := url.Values{}
	if name != "" {
		q.Set("filter[name][eq]", name)
	}
	return listPageNumbers[ControlPlane](ctx, s.c, "/control-planes", q, opts)
}

// Get returns a control plane by id.
func (s *ControlPlanesService) Get(ctx context.Context, id string) (*ControlPlane, error) {
	if err := need("get control plane", "id", id); err != nil {
		return nil, err
	}
	return get[ControlPlane](ctx, s.c, cpPath(id))
}

// Resolve returns the control plane with that id or, failing that, that name.
// A name that matches nothing is a NotFound APIError-compatible error; a name
// several control planes share is an error listing their ids.
func (s *ControlPlanesService) Resolve(ctx context.Context, nameOrID string) (*ControlPlane, error) {
	if err := need("resolve control plane", "name or id", nameOrID); err != nil {
		return nil, err
	}
	if IsUUID(nameOrID) {
		cp, err := s.Get(ctx, nameOrID)
		if err == nil {
			return cp, nil
		}
		if !IsNotFound(err) {
			return nil, err
		}
		// A name may look like a UUID: fall through to the name.
	}
	cps, err := s.byName(ctx, nameOrID)
	if err != nil {
		return nil, err
	}
	switch len(cps) {
	case 0:
		return nil, &APIError{
			StatusCode: http.StatusNotFound, Method: http.MethodGet, Path: "/v2/control-planes",
			Detail: fmt.Sprintf("no control plane has the id or name %q", nameOrID),
		}
	case 1:
		return &cps[0], nil
	}
	ids := make([]string, len(cps))
	for i, cp := range cps {
		ids[i] = cp.ID
	}
	return nil, fmt.Errorf("konnect: %d control planes are named %q (ids %s): use an id", len(cps), nameOrID, strings.Join(ids, ", "))
}

// GroupMembers returns the members of a control plane group.
func (s *ControlPlanesService) GroupMembers(ctx context.Context, groupID string) ([]ControlPlane, error) {
	if err := need("list control plane group members", "id", groupID); err != nil {
		return nil, err
	}
	return listCursor[ControlPlane](ctx, s.c, cpPath(groupID)+"/group-memberships", nil)
}

// byName lists the control planes named exactly name (the server filter is
// re-checked, in case it is looser than equality).
func (s *ControlPlanesService) byName(ctx context.Context, name string) ([]ControlPlane, error) {
	cps, err := s.List(ctx, name, nil)
	if err != nil {
		return nil, err
	}
	var out []ControlPlane
	for _, cp := range cps {
		if cp.Name == name {
			out = append(out, cp)
		}
	}
	return out, nil
}

// Create creates a control plane (used by tests, the demo and scenarios).
// Control plane names are unique, so a create whose answer was lost is
// settled by looking the name up.
func (s *ControlPlanesService) Create(ctx context.Context, cp ControlPlane) (*ControlPlane, error) {
	if err := need("create control plane", "name", cp.Name); err != nil {
		return nil, err
	}
	var out ControlPlane
	cl := &call{method: http.MethodPost, path: "/control-planes", body: cp}
	cl.readBack = func(ctx context.Context) (bool, error) {
		found, err := s.byName(ctx, cp.Name)
		if err != nil || len(found) != 1 {
			return false, err
		}
		out = found[0]
		return true, nil
	}
	if err := s.c.do(ctx, cl, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ConfigStoresService covers /v2/control-planes/{cp}/config-stores.
type ConfigStoresService struct{ c *Client }

// List returns every config store of the control plane.
func (s *ConfigStoresService) List(ctx context.Context, cpID string, opts *ListOptions) ([]ConfigStore, error) {
	if err := need("list config stores", "control plane id", cpID); err != nil {
		return nil, err
	}
	return listCursor[ConfigStore](ctx, s.c, storesPath(cpID), opts)
}

// Get returns a config store by id.
func (s *ConfigStoresService) Get(ctx context.Context, cpID, id string) (*ConfigStore, error) {
	if err := need("get config store", "control plane id", cpID, "config store id", id); err != nil {
		return nil, err
	}
	return get[ConfigStore](ctx, s.c, storePath(cpID, id))
}

// Create creates a config store. Konnect neither keeps store names unique nor
// accepts a client-chosen id, so a create whose answer was lost is settled by
// listing the stores: one with this name is adopted as the result (kvsync
// creates a store only when none with that name existed). None after an
// error answer means the create did not happen, and it is repeated; none
// after no answer at all (a timeout) proves nothing, since the server may
// still apply it: then the create is not repeated, and the error says so.
func (s *ConfigStoresService) Create(ctx context.Context, cpID string, name string) (*ConfigStore, error) {
	if err := need("create config store", "control plane id", cpID, "name", name); err != nil {
		return nil, err
	}
	var out ConfigStore
	cl := &call{method: http.MethodPost, path: storesPath(cpID), body: map[string]string{"name": name}, noRepeatUnanswered: true}
	cl.readBack = func(ctx context.Context) (bool, error) {
		stores, err := s.List(ctx, cpID, nil)
		if err != nil {
			return false, err
		}
		var found []ConfigStore
		for _, st := range stores {
			if st.Name == name {
				found = append(found, st)
			}
		}
		switch len(found) {
		case 0:
			return false, nil
		case 1:
			out = found[0]
			return true, nil
		}
		ids := make([]string, len(found))
		for i, st := range found {
			ids[i] = st.ID
		}
		return false, fmt.Errorf("konnect: %d config stores are named %q (ids %s)", len(found), name, strings.Join(ids, ", "))
	}
	if err := s.c.do(ctx, cl, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Update renames a config store.
func (s *ConfigStoresService) Update(ctx context.Context, cpID, id, name string) (*ConfigStore, error) {
	if err := need("update config store", "control plane id", cpID, "config store id", id, "name", name); err != nil {
		return nil, err
	}
	return put[ConfigStore](ctx, s.c, storePath(cpID, id), map[string]string{"name": name})
}

// Delete removes a config store; force also removes the secrets it holds
// (without it Konnect refuses to delete a store that has secrets). A store
// that does not exist is a NotFound error: the caller decides.
func (s *ConfigStoresService) Delete(ctx context.Context, cpID, id string, force bool) error {
	if err := need("delete config store", "control plane id", cpID, "config store id", id); err != nil {
		return err
	}
	var q url.Values
	if force {
		q = url.Values{"force": {"true"}}
	}
	return del(ctx, s.c, storePath(cpID, id), q)
}

// SecretsService covers /v2/control-planes/{cp}/config-stores/{id}/secrets.
// Values are write-only: they go in as arguments and never come back.
type SecretsService struct{ c *Client }

// List returns every secret (keys and timestamps) of a config store.
func (s *SecretsService) List(ctx context.Context, cpID, storeID string, opts *ListOptions) ([]ConfigStoreSecret, error) {
	if err := need("list secrets", "control plane id", cpID, "config store id", storeID); err != nil {
		return nil, err
	}
	return listCursor[ConfigStoreSecret](ctx, s.c, secretsPath(cpID, storeID), opts)
}

// Get returns a secret's key and timestamps.
func (s *SecretsService) Get(ctx context.Context, cpID, storeID, key string) (*ConfigStoreSecret, error) {
	if err := need("get secret", "control plane id", cpID, "config store id", storeID, "key", key); err != nil {
		return nil, err
	}
	return get[ConfigStoreSecret](ctx, s.c, secretsPath(cpID, storeID)+"/"+escape(key))
}

// Create stores a new secret. A create whose answer was lost is settled by
// reading the key back: when it exists, the value is written again with an
// idempotent PUT, so the result is the same whichever copy landed.
func (s *SecretsService) Create(ctx context.Context, cpID, storeID, key string, value Sensitive) (*ConfigStoreSecret, error) {
	if err := need("create secret", "control plane id", cpID, "config store id", storeID, "key", key); err != nil {
		return nil, err
	}
	var out ConfigStoreSecret
	cl := &call{
		method: http.MethodPost,
		path:   secretsPath(cpID, storeID),
		body:   map[string]any{"key": key, "value": value},
	}
	cl.readBack = func(ctx context.Context) (bool, error) {
		if _, err := s.Get(ctx, cpID, storeID, key); err != nil {
			if IsNotFound(err) {
				return false, nil
			}
			return false, err
		}
		got, err := s.Update(ctx, cpID, storeID, key, value)
		if err != nil {
			return false, err
		}
		out = *got
		return true, nil
	}
	if err := s.c.do(ctx, cl, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Update replaces a secret's value.
func (s *SecretsService) Update(ctx context.Context, cpID, storeID, key string, value Sensitive) (*ConfigStoreSecret, error) {
	if err := need("update secret", "control plane id", cpID, "config store id", storeID, "key", key); err != nil {
		return nil, err
	}
	return put[ConfigStoreSecret](ctx, s.c, secretsPath(cpID, storeID)+"/"+escape(key),
		map[string]any{"value": value})
}

// Delete removes a secret. A secret that does not exist is a NotFound error:
// the caller decides.
func (s *SecretsService) Delete(ctx context.Context, cpID, storeID, key string) error {
	if err := need("delete secret", "control plane id", cpID, "config store id", storeID, "key", key); err != nil {
		return err
	}
	return del(ctx, s.c, secretsPath(cpID, storeID)+"/"+escape(key), nil)
}

// CoreService is the client of one core-entities collection (vaults,
// plugins, routes, …): the same List, Walk, Get, Create, Upsert and
// Delete for every kind, typed by the entity. P is *T, which knows its id.
type CoreService[T any, P coreEntity[T]] struct {
	c *Client
	// collection is the path segment, e.g. "consumer_groups"; noun names
	// one entity in errors ("consumer group"), key what Get accepts.
	collection, noun, key string
}

// coreEntity is a core entity whose id the client may choose.
type coreEntity[T any] interface {
	*T
	entityID() *string
}

func (v *Vault) entityID() *string         { return &v.ID }
func (p *Plugin) entityID() *string        { return &p.ID }
func (r *Route) entityID() *string         { return &r.ID }
func (s *Service) entityID() *string       { return &s.ID }
func (c *Consumer) entityID() *string      { return &c.ID }
func (g *ConsumerGroup) entityID() *string { return &g.ID }

func newCore[T any, P coreEntity[T]](c *Client, collection, noun, key string) *CoreService[T, P] {
	return &CoreService[T, P]{c: c, collection: collection, noun: noun, key: key}
}

type (
	// VaultsService covers core-entities/vaults; Get accepts an id or a
	// prefix.
	VaultsService = CoreService[Vault, *Vault]
	// PluginsService covers core-entities/plugins.
	PluginsService = CoreService[Plugin, *Plugin]
	// RoutesService covers core-entities/routes.
	RoutesService = CoreService[Route, *Route]
	// ServicesService covers core-entities/services (gateway services).
	ServicesService = CoreService[Service, *Service]
	// ConsumersService covers core-entities/consumers; Get accepts an id
	// or a username.
	ConsumersService = CoreService[Consumer, *Consumer]
)

// ConsumerGroupsService covers core-entities/consumer_groups, whose Get
// answers a wrapper.
type ConsumerGroupsService struct {
	*CoreService[ConsumerGroup, *ConsumerGroup]
}

func (s *CoreService[T, P]) path(cpID string) string { return corePath(cpID, s.collection) }

// List returns every entity, optionally filtered by tags.
func (s *CoreService[T, P]) List(ctx context.Context, cpID string, opts *ListOptions) ([]T, error) {
	if err := need("list "+s.noun+"s", "control plane id", cpID); err != nil {
		return nil, err
	}
	return listOffsets[T](ctx, s.c, s.path(cpID), opts)
}

// Walk hands the entities to fn one page (of up to 1000) at a time, last
// set on the last one, until the last page or until fn returns false.
func (s *CoreService[T, P]) Walk(ctx context.Context, cpID string, opts *ListOptions, fn func(page []T, last bool) bool) error {
	if err := need("list "+s.noun+"s", "control plane id", cpID); err != nil {
		return err
	}
	return walkOffsets(ctx, s.c, s.path(cpID), opts, fn)
}

// Get returns an entity by id, or by the key the collection also accepts
// (a name, a vault's prefix, a consumer's username).
func (s *CoreService[T, P]) Get(ctx context.Context, cpID, idOrKey string) (*T, error) {
	if err := need("get "+s.noun, "control plane id", cpID, s.key, idOrKey); err != nil {
		return nil, err
	}
	return get[T](ctx, s.c, s.path(cpID)+"/"+escape(idOrKey))
}

// Create creates an entity. Without an ID it gets a fresh client-chosen
// one, so that a create whose answer was lost is settled by getting that
// id back: found means done, absent means the create is repeated.
func (s *CoreService[T, P]) Create(ctx context.Context, cpID string, v T) (*T, error) {
	if err := need("create "+s.noun, "control plane id", cpID); err != nil {
		return nil, err
	}
	id := P(&v).entityID()
	if *id == "" {
		*id = NewUUID()
	}
	path := s.path(cpID)
	var out T
	cl := &call{method: http.MethodPost, path: path, body: v}
	cl.readBack = func(ctx context.Context) (bool, error) {
		got, err := get[T](ctx, s.c, path+"/"+escape(*id))
		if err != nil {
			if IsNotFound(err) {
				return false, nil
			}
			return false, err
		}
		out = *got
		return true, nil
	}
	if err := s.c.do(ctx, cl, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Upsert PUTs the entity at its ID (which must be set).
func (s *CoreService[T, P]) Upsert(ctx context.Context, cpID string, v T) (*T, error) {
	id := *P(&v).entityID()
	if err := need("upsert "+s.noun, "control plane id", cpID, s.noun+" id", id); err != nil {
		return nil, err
	}
	return put[T](ctx, s.c, s.path(cpID)+"/"+escape(id), v)
}

// Delete removes an entity; one that does not exist is not an error:
// Konnect answers 204 whether or not it existed, and a 404 (from an older
// or stricter server) means the same.
func (s *CoreService[T, P]) Delete(ctx context.Context, cpID, id string) error {
	if err := need("delete "+s.noun, "control plane id", cpID, s.noun+" id", id); err != nil {
		return err
	}
	err := del(ctx, s.c, s.path(cpID)+"/"+escape(id), nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// PluginSchemasService covers core-entities/schemas/plugins/{name}.
type PluginSchemasService struct{ c *Client }

// Get returns the schema of a plugin by name, e.g. "ai-proxy".
func (s *PluginSchemasService) Get(ctx context.Context, cpID, name string) (*PluginSchema, error) {
	if err := need("get plugin schema", "control plane id", cpID, "plugin name", name); err != nil {
		return nil, err
	}
	return get[PluginSchema](ctx, s.c, corePath(cpID, "schemas/plugins")+"/"+escape(name))
}

// Get accepts an id or a name.
func (s *ConsumerGroupsService) Get(ctx context.Context, cpID, idOrName string) (*ConsumerGroup, error) {
	if err := need("get consumer group", "control plane id", cpID, "id or name", idOrName); err != nil {
		return nil, err
	}
	// The spec wraps the group: {"consumer_group": {…}, "consumers": […]}.
	// An answer without the wrapper (an older gateway) is the group itself.
	var raw json.RawMessage
	if err := s.c.do(ctx, &call{method: http.MethodGet, path: corePath(cpID, "consumer_groups") + "/" + escape(idOrName)}, &raw); err != nil {
		return nil, err
	}
	var wrapped struct {
		Group *ConsumerGroup `json:"consumer_group"`
	}
	if err := json.Unmarshal(raw, &wrapped); err == nil && wrapped.Group != nil {
		return wrapped.Group, nil
	}
	var group ConsumerGroup
	if err := json.Unmarshal(raw, &group); err != nil {
		return nil, fmt.Errorf("konnect: GET consumer group: decoding response: %w", err)
	}
	return &group, nil
}
