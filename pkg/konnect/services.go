package konnect

import "context"

// ControlPlanesService covers /v2/control-planes.
type ControlPlanesService struct{ c *Client }

// List returns every control plane, optionally filtered by exact name.
func (s *ControlPlanesService) List(ctx context.Context, name string, opts *ListOptions) ([]ControlPlane, error) {
	return nil, errUnimplemented
}

// Get returns a control plane by id.
func (s *ControlPlanesService) Get(ctx context.Context, id string) (*ControlPlane, error) {
	return nil, errUnimplemented
}

// Resolve returns the control plane with that id or, failing that, that name.
// A name that matches nothing is a NotFound APIError-compatible error.
func (s *ControlPlanesService) Resolve(ctx context.Context, nameOrID string) (*ControlPlane, error) {
	return nil, errUnimplemented
}

// Create creates a control plane (used by tests, the demo and scenarios).
func (s *ControlPlanesService) Create(ctx context.Context, cp ControlPlane) (*ControlPlane, error) {
	return nil, errUnimplemented
}

// ConfigStoresService covers /v2/control-planes/{cp}/config-stores.
type ConfigStoresService struct{ c *Client }

func (s *ConfigStoresService) List(ctx context.Context, cpID string, opts *ListOptions) ([]ConfigStore, error) {
	return nil, errUnimplemented
}
func (s *ConfigStoresService) Get(ctx context.Context, cpID, id string) (*ConfigStore, error) {
	return nil, errUnimplemented
}
func (s *ConfigStoresService) Create(ctx context.Context, cpID string, name string) (*ConfigStore, error) {
	return nil, errUnimplemented
}
func (s *ConfigStoresService) Update(ctx context.Context, cpID, id, name string) (*ConfigStore, error) {
	return nil, errUnimplemented
}

// Delete removes a config store; force also removes the secrets it holds
// (without it Konnect refuses to delete a store that has secrets).
func (s *ConfigStoresService) Delete(ctx context.Context, cpID, id string, force bool) error {
	return errUnimplemented
}

// SecretsService covers /v2/control-planes/{cp}/config-stores/{id}/secrets.
// Values are write-only: they go in as arguments and never come back.
type SecretsService struct{ c *Client }

func (s *SecretsService) List(ctx context.Context, cpID, storeID string, opts *ListOptions) ([]ConfigStoreSecret, error) {
	return nil, errUnimplemented
}
func (s *SecretsService) Get(ctx context.Context, cpID, storeID, key string) (*ConfigStoreSecret, error) {
	return nil, errUnimplemented
}
func (s *SecretsService) Create(ctx context.Context, cpID, storeID, key, value string) (*ConfigStoreSecret, error) {
	return nil, errUnimplemented
}
func (s *SecretsService) Update(ctx context.Context, cpID, storeID, key, value string) (*ConfigStoreSecret, error) {
	return nil, errUnimplemented
}
func (s *SecretsService) Delete(ctx context.Context, cpID, storeID, key string) error {
	return errUnimplemented
}

// VaultsService covers core-entities/vaults.
type VaultsService struct{ c *Client }

func (s *VaultsService) List(ctx context.Context, cpID string, opts *ListOptions) ([]Vault, error) {
	return nil, errUnimplemented
}

// Get accepts an id or a prefix.
func (s *VaultsService) Get(ctx context.Context, cpID, idOrPrefix string) (*Vault, error) {
	return nil, errUnimplemented
}
func (s *VaultsService) Create(ctx context.Context, cpID string, v Vault) (*Vault, error) {
	return nil, errUnimplemented
}

// Upsert PUTs the vault at its ID (which must be set).
func (s *VaultsService) Upsert(ctx context.Context, cpID string, v Vault) (*Vault, error) {
	return nil, errUnimplemented
}
func (s *VaultsService) Delete(ctx context.Context, cpID, id string) error {
	return errUnimplemented
}

// PluginsService covers core-entities/plugins.
type PluginsService struct{ c *Client }

func (s *PluginsService) List(ctx context.Context, cpID string, opts *ListOptions) ([]Plugin, error) {
	return nil, errUnimplemented
}
func (s *PluginsService) Get(ctx context.Context, cpID, id string) (*Plugin, error) {
	return nil, errUnimplemented
}
func (s *PluginsService) Create(ctx context.Context, cpID string, p Plugin) (*Plugin, error) {
	return nil, errUnimplemented
}

// Upsert PUTs the plugin at its ID (which must be set).
func (s *PluginsService) Upsert(ctx context.Context, cpID string, p Plugin) (*Plugin, error) {
	return nil, errUnimplemented
}
func (s *PluginsService) Delete(ctx context.Context, cpID, id string) error {
	return errUnimplemented
}

// PluginSchemasService covers core-entities/schemas/plugins/{name}.
type PluginSchemasService struct{ c *Client }

func (s *PluginSchemasService) Get(ctx context.Context, cpID, name string) (*PluginSchema, error) {
	return nil, errUnimplemented
}

// RoutesService covers core-entities/routes.
type RoutesService struct{ c *Client }

func (s *RoutesService) List(ctx context.Context, cpID string, opts *ListOptions) ([]Route, error) {
	return nil, errUnimplemented
}

// Get accepts an id or a name.
func (s *RoutesService) Get(ctx context.Context, cpID, idOrName string) (*Route, error) {
	return nil, errUnimplemented
}
func (s *RoutesService) Create(ctx context.Context, cpID string, r Route) (*Route, error) {
	return nil, errUnimplemented
}

// ServicesService covers core-entities/services.
type ServicesService struct{ c *Client }

func (s *ServicesService) List(ctx context.Context, cpID string, opts *ListOptions) ([]Service, error) {
	return nil, errUnimplemented
}

// Get accepts an id or a name.
func (s *ServicesService) Get(ctx context.Context, cpID, idOrName string) (*Service, error) {
	return nil, errUnimplemented
}
func (s *ServicesService) Create(ctx context.Context, cpID string, svc Service) (*Service, error) {
	return nil, errUnimplemented
}

// ConsumersService covers core-entities/consumers.
type ConsumersService struct{ c *Client }

// Get accepts an id or a username.
func (s *ConsumersService) Get(ctx context.Context, cpID, idOrUsername string) (*Consumer, error) {
	return nil, errUnimplemented
}

// ConsumerGroupsService covers core-entities/consumer_groups.
type ConsumerGroupsService struct{ c *Client }

// Get accepts an id or a name.
func (s *ConsumerGroupsService) Get(ctx context.Context, cpID, idOrName string) (*ConsumerGroup, error) {
	return nil, errUnimplemented
}
