// Package diff computes kvsync's plan: the ordered set of changes that turn
// the live state of a control plane (fetched with pkg/konnect) into the
// desired state (loaded with pkg/state). A plan is a plain value, computed
// once, then rendered (pkg/diff/render) or handed to pkg/apply.
//
// # The table of kinds
//
// Every kind of entity kvsync manages (config stores, secrets, vaults,
// plugins) is one descriptor in one file (configstore.go, secret.go,
// vault.go, plugin.go), registered in the table in kinds.go. A descriptor
// owns the kind's identity, its live fetch, its comparison, its dependency
// edges, its operations (what a change sends to Konnect) and its display
// names; Fetch, Compute, the graph, online validation, the dump and the
// renderers iterate the table. Kong's own rules (vault references, vault
// types, schema defaults, encrypted fields) live in pkg/konnect/kong.
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
// kind (the table's order; deletes reversed) and then name. An id that only
// exists once another change has run (a new store's id, which its secrets
// and vault need) is an IDRef to that change, resolved by pkg/apply: like
// Terraform's "known after apply".
//
// # JSON (format_version "1")
//
// json.Marshal of a *Plan writes its documented form, which holds display
// values only, never a payload:
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
//	      "reason": "value_changed",     // secrets only: created | value_changed | changed_outside | untracked | forced
//	      "fields": [                    // set fields of a create, changed fields of an update
//	        {"path": "config.model.name", "old": "mistral-tiny", "new": "mistral-small"}
//	      ]
//	    }
//	  ],
//	  "summary": {"create": 1, "update": 0, "delete": 0},
//	  "unmanaged": {"config_store": 0, "plugin": 0, "vault": 0},
//	  "warnings": [],
//	  "notes": [],                       // what could not be compared (values not tracked or unknown)
//	  "not_compared": 0,                 // known secret values not compared (key missing or wrong, --no-sum)
//	  "sum_file": "kvsync.sum"           // the kvsync.sum read; omitted when none (--no-sum)
//	}
//
// "old" is omitted when the field was absent and "new" when it goes away; a
// JSON null means the value is null. Values are display values: a secret
// or substituted value is the string "(sensitive)" or "(from env NAME)",
// and so is the old value of a field whose new value is one.
package diff

import (
	"fmt"

	"github.com/kvsync/kvsync/pkg/konnect"
)

// FormatVersion is the version of the JSON form of a plan.
const FormatVersion = "1"

// Action is what a change does.
type Action string

const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Symbol is the action's one-character sign in plans: + ~ -.
func (a Action) Symbol() string {
	switch a {
	case Create:
		return "+"
	case Update:
		return "~"
	case Delete:
		return "-"
	}
	return "?"
}

// Kind is the kind of entity a change touches; Kinds lists them.
type Kind string

// Label is the kind's name in prose, e.g. "config store".
func (k Kind) Label() string {
	if d := descriptorOf(k); d != nil {
		return d.label
	}
	return string(k)
}

// Plan is the full set of changes, as a dependency graph.
type Plan struct {
	ControlPlane konnect.ControlPlane
	// Address is the Konnect API address the plan was made against (set
	// by the caller that knows it; shown as the plan's target).
	Address    string
	SelectTags []string
	// Origins say where the target came from (set by the caller).
	Origins Origins
	// Changes are in a valid execution order (a topological order of the
	// graph); Change.DependsOn holds the graph's edges.
	Changes []*Change
	// Unmanaged counts the remote entities of each kind left alone because
	// they are out of scope (not tagged with the select tags, or a config
	// store that is neither declared nor referenced by an in-scope vault).
	Unmanaged map[Kind]int
	Warnings  []string
	// Notes say what the plan could not compare: secret values not
	// tracked (--no-sum), values unknown (--allow-missing-env).
	Notes []string
	// NotCompared counts the known secret values the plan could not
	// compare (kvsync.sum keyed by a fingerprint key that is missing or
	// another one, or not used): a plan without changes then does not
	// show that nothing drifted. Values unknown (--allow-missing-env) do
	// not count: the run did not ask for them.
	NotCompared int
	// SumFile is the kvsync.sum the plan read ("" when none: --no-sum).
	SumFile string
	// LeftOut counts the deletes left out of the plan (Options.NoDeletes).
	LeftOut int
}

// Verdict is the plan's outcome in a few words: "No changes", "No changes
// found, 2 values not compared" or the summary's counts.
func (p *Plan) Verdict() string {
	switch {
	case !p.Empty():
		s := p.Summary()
		return fmt.Sprintf("%d to create, %d to update, %d to delete", s.Create, s.Update, s.Delete)
	case p.NotCompared > 0:
		return fmt.Sprintf("No changes found, but %d secret value%s not compared", p.NotCompared, Plural(p.NotCompared))
	}
	return "No changes"
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
	// Force marks a delete that takes what the object holds with it (a
	// config store and its secrets); ForceSecrets is how many secrets go.
	// Both are part of the plan, saved and reviewed with it.
	Force        bool
	ForceSecrets int
	// Reason says why a secret's value is written ("" for other kinds).
	Reason Reason
	// Op is what executing the change sends to Konnect; its type is the
	// kind's own (*ConfigStoreOp, *SecretOp, *VaultOp, *PluginOp).
	Op Operation
}

// Origins say where each part of a plan's target came from: "file",
// "--FLAG", an environment variable's name, or "default".
type Origins struct {
	ControlPlane string `json:"control_plane,omitempty"`
	Address      string `json:"address,omitempty"`
	SelectTags   string `json:"select_tags,omitempty"`
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

// Reason says why a secret's value is written.
type Reason string

const (
	// ReasonCreated: the key does not exist in Konnect.
	ReasonCreated Reason = "created"
	// ReasonValueChanged: the desired value's fingerprint differs from the
	// one recorded when kvsync last wrote it (a rotated value).
	ReasonValueChanged Reason = "value_changed"
	// ReasonChangedOutside: Konnect's updated_at differs from the one
	// recorded: somebody else wrote the secret; kvsync writes it back.
	ReasonChangedOutside Reason = "changed_outside"
	// ReasonUntracked: the key exists but kvsync.sum has no comparable
	// record of it (first adoption, a lost sum file, another key).
	ReasonUntracked Reason = "untracked"
	// ReasonForced: --write-secrets or --write-secret asked for it.
	ReasonForced Reason = "forced"
)

// Text is the reason in a plan's prose; "" for a create.
func (r Reason) Text() string {
	switch r {
	case ReasonValueChanged:
		return "value changed"
	case ReasonChangedOutside:
		return "changed outside kvsync"
	case ReasonUntracked:
		return "value not tracked yet"
	case ReasonForced:
		return "write forced"
	}
	return ""
}

// Headline is the one-line description of a change, without its action,
// e.g. "plugin ai-proxy (route example-route)" or "config_store s (its 2
// secrets first, sparing any added since)". Every rendering and message uses
// it.
func (c *Change) Headline() string {
	s := string(c.Kind) + " " + c.Name
	if c.Scope != "" {
		s += " (" + c.Scope + ")"
	}
	if t := c.ForceText(); t != "" {
		s += " (" + t + ")"
	}
	if t := c.Reason.Text(); t != "" {
		s += " (" + t + ")"
	}
	return s
}

// ForceText says what a config store's delete takes with it: the secrets
// the plan read, one by one, and then the store without force, so a secret
// added since the plan was made survives (and the store's delete is then
// refused). Empty for any other change.
func (c *Change) ForceText() string {
	if c.ForceSecrets == 0 {
		return ""
	}
	return fmt.Sprintf("its %d secret%s first, sparing any added since", c.ForceSecrets, Plural(c.ForceSecrets))
}

// String is "action headline", e.g. "create secret my-store/key".
func (c *Change) String() string { return string(c.Action) + " " + c.Headline() }

// Plural is "s" unless n is 1.
func Plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Operation is a change's payload: plain data saying what executing it
// sends to Konnect (pkg/apply executes it, keyed by kind). Each kind's
// operation type lives in its descriptor's file. Payloads may hold
// Sensitive values: the client reveals them when it encodes a request
// body, and nowhere else, so no operation has to remember to.
type Operation interface {
	// refs are the ids the operation needs from other changes.
	refs() []*IDRef
}

// Applied is what Konnect answered of a change it applied.
type Applied struct {
	ID string
	// UpdatedAt is the entity's updated_at as Konnect wrote it (secrets:
	// an ISO-8601 string), recorded in kvsync.sum.
	UpdatedAt string
}

// IDRef is an entity id: known when the plan is made, or produced by
// another change of the plan when that change runs (a store created by
// the plan, whose id its secrets and vault need).
type IDRef struct {
	// Known is the id when the plan knows it.
	Known string
	// From is the change that produces the id, when Known is empty.
	From *Change
	// addr is the identity address of the producing change before the
	// plan is linked (see builder.link).
	addr string
}

// KnownID is an id the plan knows.
func KnownID(id string) IDRef { return IDRef{Known: id} }

// IsZero reports whether the reference names no id at all.
func (r IDRef) IsZero() bool { return r.Known == "" && r.From == nil && r.addr == "" }

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

// Dependents returns the IDs of the changes that depend directly on the
// change with that ID (the reverse of Change.DependsOn), in order.
func (p *Plan) Dependents(id int) []int {
	var out []int
	for _, c := range p.Changes {
		for _, d := range c.DependsOn {
			if d == id {
				out = append(out, c.ID)
				break
			}
		}
	}
	return out
}
