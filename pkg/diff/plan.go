// Package diff computes kvsync's plan: the ordered set of changes that turn
// the live state of a control plane (fetched with pkg/konnect) into the
// desired state (loaded with pkg/state). A plan is computed once, then
// rendered (text, JSON, Markdown) or handed to pkg/apply.
//
// # Identity, scope and equality
//
// A config store is identified by name, a secret by (store, key), a vault by
// prefix, a plugin by name + route + service + consumer + consumer_group, or
// by instance_name when the file gives one. Vaults and plugins are in scope
// when they carry every select tag (default "kvsync"); an out-of-scope
// entity with a declared identity is adopted (updated to add the tags). A
// live config store is in scope when declared, or when only in-scope vaults
// reference it: it is then deleted with force once nothing references it.
// Secrets of a declared store are fully managed. Plugins compare after the
// schema's defaults are filled into the desired config, vaults after the
// vault type's; ids, timestamps and tag order are ignored.
//
// # The graph
//
// Plan.Changes is a topological order of a dependency graph whose edges are
// Change.DependsOn (and Plan.Dependents, the reverse): a store before its
// secrets and the vaults that point at it; a vault and the secrets a plugin
// references before that plugin; deletes the other way round; a delete that
// frees a unique key before the change that takes it. Ties are broken by
// kind (stores, secrets, vaults, plugins; deletes reversed) and then name.
//
// # JSON rendering (format_version "1")
//
// Render with FormatJSON and json.Marshal of a *Plan write the same
// document:
//
//	{
//	  "format_version": "1",
//	  "control_plane": {"id": "…", "name": "…"},
//	  "select_tags": ["kvsync"],
//	  "changes": [
//	    {
//	      "id": 0,                       // index in changes
//	      "action": "create",            // create | update | delete
//	      "kind": "config_store",        // config_store | secret | vault | plugin
//	      "name": "my-config-store",     // store name, "store/key", vault prefix, plugin name
//	      "scope": "route example-route",// plugins only; omitted when empty
//	      "depends_on": [],              // ids that must succeed first
//	      "force": true,                 // config store deletes only
//	      "force_secrets": 3,            // secrets the forced delete takes; omitted when 0
//	      "fields": [                    // set fields of a create, changed fields of an update
//	        {"path": "config.model.name", "old": "mistral-tiny", "new": "mistral-small"}
//	      ]
//	    }
//	  ],
//	  "summary": {"create": 1, "update": 0, "delete": 0},
//	  "unmanaged": {"config_store": 0, "plugin": 0, "vault": 0},
//	  "warnings": []
//	}
//
// "old" is omitted when the field was absent and "new" when it goes away; a
// JSON null means the value is null. Values are display values: a secret
// or substituted value is the string "(sensitive)" or "(from env NAME)",
// and so is the old value of a field whose new value is one.
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
