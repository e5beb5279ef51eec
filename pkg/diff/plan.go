// Package diff computes kvsync's plan: the ordered set of changes that turn
// the live state of a control plane (fetched with pkg/konnect) into the
// desired state (loaded with pkg/state). A plan is computed once, then
// rendered (text, JSON, Markdown) or handed to pkg/apply.
package diff

import (
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
)

// FormatVersion is the version of the JSON rendering of a plan.
const FormatVersion = "1"

// Action is what a change does.
type Action string

const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Kind is the kind of entity a change touches.
type Kind string

const (
	KindConfigStore Kind = "config_store"
	KindSecret      Kind = "secret"
	KindVault       Kind = "vault"
	KindPlugin      Kind = "plugin"
)

// Plan is the full set of changes, as a dependency graph.
type Plan struct {
	ControlPlane konnect.ControlPlane
	SelectTags   []string
	// Changes are in a valid execution order (a topological order of the
	// graph); Change.DependsOn holds the graph's edges.
	Changes []*Change
	// Unmanaged counts the remote entities of each kind left alone because
	// they are out of scope (not tagged with the select tags, or a config
	// store that is neither declared nor referenced by an in-scope vault).
	Unmanaged map[Kind]int
	Warnings  []string
}

// Change is one operation of the plan.
type Change struct {
	// ID is the change's index in Plan.Changes.
	ID     int
	Action Action
	Kind   Kind
	// Name is the human identity: config store name, "store/key" for a
	// secret, vault prefix, plugin name.
	Name string
	// Scope qualifies plugins, e.g. "route example-route"; empty for global.
	Scope string
	// Fields are the changed fields of an update (and the set fields of a
	// create), with values already safe to print.
	Fields []FieldChange
	// DependsOn are IDs of changes that must succeed before this one runs.
	DependsOn []int
	// ForceSecrets is, for a config store delete, the number of secrets the
	// forced delete takes along.
	ForceSecrets int

	// Exactly one payload is set, matching Kind.
	ConfigStore *ConfigStoreOp
	Secret      *SecretOp
	Vault       *VaultOp
	Plugin      *PluginOp
}

// FieldChange is one changed field. Old and New are display values: any
// sensitive or substituted value is already replaced by its safe rendering
// ("(sensitive)", "(from env NAME)"), and so is the old value of a field
// whose new value is sensitive.
type FieldChange struct {
	Path string
	Old  any
	New  any
	// HasOld and HasNew tell an absent value from a null one.
	HasOld bool
	HasNew bool
}

// ConfigStoreOp is the payload of a config store change.
type ConfigStoreOp struct {
	// ID is the live id (update, delete).
	ID   string
	Name string
	// Force deletes the store together with the secrets it holds; set on
	// every store delete (Change.ForceSecrets says how many go with it).
	Force bool
}

// SecretOp is the payload of a secret change.
type SecretOp struct {
	// StoreID is the live store id; empty when the store is created by this
	// plan, in which case pkg/apply takes it from that change's result.
	StoreID   string
	StoreName string
	Key       string
	Value     state.Sensitive
}

// VaultOp is the payload of a vault change. Body.Config may hold Sensitive
// leaves (reveal with state.RevealMap before sending). When StoreName is set
// and the store is created by this plan, pkg/apply fills
// Body.Config["config_store_id"] from that change's result.
type VaultOp struct {
	Body      konnect.Vault
	StoreName string
}

// PluginOp is the payload of a plugin change. Body.Config may hold Sensitive
// leaves (reveal with state.RevealMap before sending).
type PluginOp struct {
	Body konnect.Plugin
}

// Summary counts the plan's changes by action.
type Summary struct {
	Create int `json:"create"`
	Update int `json:"update"`
	Delete int `json:"delete"`
}

// Summary counts the plan's changes by action.
func (p *Plan) Summary() Summary {
	var s Summary
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			s.Create++
		case Update:
			s.Update++
		case Delete:
			s.Delete++
		}
	}
	return s
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }
