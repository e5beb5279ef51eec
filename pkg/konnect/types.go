package konnect

// The entity types mirror the Konnect Control Planes (v2) and Control Planes
// Config (v2) APIs. Field names and JSON tags follow the official OpenAPI
// specs; only the fields kvsync reads or writes are modelled, except where a
// round trip must not lose data (plugin and vault config stay free-form maps).

// ControlPlane is a Konnect control plane (control-planes v2 API).
type ControlPlane struct {
	ID          string            `json:"id,omitempty"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// Config is kept free-form: kvsync only needs id and name, and the
	// emulator must echo what it was given.
	Config    map[string]any `json:"config,omitempty"`
	CreatedAt string         `json:"created_at,omitempty"`
	UpdatedAt string         `json:"updated_at,omitempty"`
}

// ClusterTypeGroup is the cluster_type of a control plane group.
const ClusterTypeGroup = "CLUSTER_TYPE_CONTROL_PLANE_GROUP"

// IsGroup reports whether the control plane is a control plane group
// (read-only: its configuration is its members').
func (cp ControlPlane) IsGroup() bool {
	t, _ := cp.Config["cluster_type"].(string)
	return t == ClusterTypeGroup
}

// ConfigStore is a Konnect Config Store. Timestamps are ISO-8601 strings.
type ConfigStore struct {
	ID        string `json:"id,omitempty"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// ConfigStoreSecret is a secret as Konnect returns it: the value is write-only
// and never part of a response, so this type has no field for it. Values are
// passed to the create and update calls as separate arguments.
type ConfigStoreSecret struct {
	Key       string `json:"key"`
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// ForeignKey references another core entity by id, as Kong's Admin API does.
type ForeignKey struct {
	ID string `json:"id"`
}

// Vault is a Kong vault entity (core-entities/vaults). Timestamps are integer
// epoch seconds.
type Vault struct {
	ID          string         `json:"id,omitempty"`
	Name        string         `json:"name"`
	Prefix      string         `json:"prefix"`
	Description *string        `json:"description,omitempty"`
	Config      map[string]any `json:"config,omitempty"`
	Tags        []string       `json:"tags,omitempty"`
	CreatedAt   int64          `json:"created_at,omitempty"`
	UpdatedAt   int64          `json:"updated_at,omitempty"`
}

// Plugin is a Kong plugin entity (core-entities/plugins).
type Plugin struct {
	ID            string         `json:"id,omitempty"`
	Name          string         `json:"name"`
	InstanceName  *string        `json:"instance_name,omitempty"`
	Config        map[string]any `json:"config,omitempty"`
	Enabled       *bool          `json:"enabled,omitempty"`
	Protocols     []string       `json:"protocols,omitempty"`
	Tags          []string       `json:"tags,omitempty"`
	Route         *ForeignKey    `json:"route,omitempty"`
	Service       *ForeignKey    `json:"service,omitempty"`
	Consumer      *ForeignKey    `json:"consumer,omitempty"`
	ConsumerGroup *ForeignKey    `json:"consumer_group,omitempty"`
	CreatedAt     int64          `json:"created_at,omitempty"`
	UpdatedAt     int64          `json:"updated_at,omitempty"`
}

// Route is the part of a Kong route kvsync needs: identity, for resolving a
// plugin's `route:` by name, plus enough to create one in a test scenario.
type Route struct {
	ID        string      `json:"id,omitempty"`
	Name      string      `json:"name,omitempty"`
	Paths     []string    `json:"paths,omitempty"`
	Protocols []string    `json:"protocols,omitempty"`
	Service   *ForeignKey `json:"service,omitempty"`
	Tags      []string    `json:"tags,omitempty"`
	CreatedAt int64       `json:"created_at,omitempty"`
	UpdatedAt int64       `json:"updated_at,omitempty"`
}

// Service is the part of a Kong gateway service kvsync needs.
type Service struct {
	ID        string   `json:"id,omitempty"`
	Name      string   `json:"name,omitempty"`
	URL       string   `json:"url,omitempty"`
	Protocol  string   `json:"protocol,omitempty"`
	Host      string   `json:"host,omitempty"`
	Port      int      `json:"port,omitempty"`
	Path      string   `json:"path,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	CreatedAt int64    `json:"created_at,omitempty"`
	UpdatedAt int64    `json:"updated_at,omitempty"`
}

// Consumer is the part of a Kong consumer kvsync needs.
type Consumer struct {
	ID        string   `json:"id,omitempty"`
	Username  string   `json:"username,omitempty"`
	CustomID  string   `json:"custom_id,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	CreatedAt int64    `json:"created_at,omitempty"`
	UpdatedAt int64    `json:"updated_at,omitempty"`
}

// ConsumerGroup is the part of a Kong consumer group kvsync needs.
type ConsumerGroup struct {
	ID        string   `json:"id,omitempty"`
	Name      string   `json:"name"`
	Tags      []string `json:"tags,omitempty"`
	CreatedAt int64    `json:"created_at,omitempty"`
	UpdatedAt int64    `json:"updated_at,omitempty"`
}

// PluginSchema is a plugin's schema in Kong's own schema language, as served
// by GET …/core-entities/schemas/plugins/{name}: a list of single-key field
// objects ({"config": {"type": "record", "fields": [...]}}, {"protocols": ...}).
type PluginSchema struct {
	Fields []map[string]any `json:"fields"`
}
