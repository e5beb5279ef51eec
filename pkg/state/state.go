// Package state is kvsync's desired state: the file format, loading (several
// files merged, or "-" for standard input), environment substitution with
// decK's ${{ env "NAME" }} syntax, and offline validation that reports every
// problem at once with its location. It knows nothing of HTTP.
package state

import "fmt"

// DefaultSelectTag is the tag kvsync scopes itself to when the file gives no
// _info.select_tags, so that it can share a control plane with decK.
const DefaultSelectTag = "kvsync"

// Position locates a node of a state file.
type Position struct {
	File   string
	Line   int
	Column int
}

// String renders "file:line:col", dropping the parts that are unknown (a
// problem with a whole file has no line).
func (p Position) String() string {
	switch {
	case p.Line <= 0:
		return p.File
	case p.Column <= 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// File is the desired state after loading, merging and substitution.
type File struct {
	FormatVersion    string
	ControlPlaneName string
	// SelectTags as given in _info.select_tags (nil when absent).
	SelectTags   []string
	ConfigStores []ConfigStore
	Vaults       []Vault
	Plugins      []Plugin
}

// ConfigStore is a declared Konnect Config Store with the secrets it holds.
type ConfigStore struct {
	Name    string
	Secrets []Secret
	Pos     Position
}

// Secret is one key of a config store. Its value is always Sensitive.
type Secret struct {
	Key   string
	Value Sensitive
	Pos   Position
}

// Vault is a declared Kong vault.
type Vault struct {
	Name        string
	Prefix      string
	Description *string
	// Config is the vault's config as written, minus config_store (which
	// moves to ConfigStore). String leaves that used environment
	// substitution are Sensitive values.
	Config map[string]any
	// ConfigStore names a config store (declared in the file or existing
	// remotely) whose id becomes config.config_store_id.
	ConfigStore string
	Tags        []string
	Pos         Position
	// ConfigStorePos locates config.config_store when it is given.
	ConfigStorePos Position
}

// Plugin is a declared Kong plugin. Route, Service, Consumer and
// ConsumerGroup hold a name or an id, resolved against the live state.
type Plugin struct {
	Name          string
	InstanceName  string
	Enabled       *bool
	Route         string
	Service       string
	Consumer      string
	ConsumerGroup string
	Protocols     []string
	// Config is the plugin's config as written; string leaves that used
	// environment substitution are Sensitive values.
	Config map[string]any
	Tags   []string
	Pos    Position
	// VaultRefs are the {vault://...} references found in Config's plain
	// string leaves, in document order.
	VaultRefs []VaultRef
}

// VaultRef is a reference to a secret, {vault://PREFIX/KEY[/PROPERTY]},
// found in a plugin's config.
type VaultRef struct {
	// Ref is the reference as written.
	Ref      string
	Prefix   string
	Key      string
	Property string
	// Path is the config field holding the reference, e.g.
	// "plugins[0].config.auth.header_value".
	Path string
	Pos  Position
}
