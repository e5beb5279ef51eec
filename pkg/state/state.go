// Package state is kvsync's desired state: the file format, loading (several
// files merged, or "-" for standard input), environment substitution with
// decK's ${{ env "NAME" }} syntax, and offline validation that reports every
// problem at once with its location. It knows nothing of HTTP.
//
// # Format
//
// decK's top-level keys keep their meaning: _format_version, which must be
// "3.0" (decK's format for Kong 3.x, which Konnect runs; "1.1" is refused with
// decK's conversion hint, as decK refuses it for Kong 3.x), required in at
// least one of the merged files; _konnect.control_plane_name;
// _info.select_tags; vaults and plugins with decK's field names. kvsync adds
// config_stores (name, secrets: key, value). Unknown keys are problems at
// every level except inside a vault's or plugin's config, which is free-form
// and checked online against the schemas. A konnect vault names its store
// with config.config_store (moved to Vault.ConfigStore) or gives
// config.config_store_id (kept in Config), exactly one of the two; other
// vault types pass their config through. Config numbers decode as float64,
// as encoding/json would decode the API's answer, so both compare directly.
// A file holds one YAML document; anchors and aliases work, merge keys (<<)
// do not.
//
// # Environment substitution
//
// ${{ env "NAME" }} (any whitespace inside the braces, the name in double
// quotes or backquotes, any name) is replaced in string values after YAML
// parsing, so a placeholder in a comment is ignored and positions stay
// exact. Substitution is allowed where its result stays hidden: secret
// values and string values anywhere in a vault's or plugin's config, where
// the result becomes a Sensitive leaf that plans render as
// "(from env NAME)". Everywhere else (names, prefixes, keys, routes, tags,
// descriptions, config_store, map keys) it is a problem: those fields are
// identities shown in plans, and a value from the environment would either
// leak there or make the plan unreadable. Every unset variable is reported
// with its line and column, and then nothing is returned. Note that a
// double-quoted "${{ env "X" }}", which decK accepts because it substitutes
// the raw text, is invalid YAML here; the parse error says to write the
// placeholder unquoted or in single quotes.
//
// # References
//
// Each whole-value {vault://PREFIX/KEY[/PROPERTY]} string in a plugin's
// config is parsed as Kong does (see kong.ParseVaultRef) and kept in
// Plugin.VaultRefs. A reference inside a longer string is a problem (Kong
// only resolves whole values). PREFIX must be a vault of the files or a
// bundled vault type other than konnect (env, aws, gcp, hcv, azure, conjur:
// Kong resolves those without a vault entity). When it is a konnect vault
// over a store of the files, KEY must be declared there, and a PROPERTY
// needs the secret value to be a JSON object with that property as a string.
// References substituted from the environment are not inspected.
//
// Vaults and stores that exist only remotely: by default Load reports a
// config_store or a reference naming something the files do not declare.
// With LoadOptions.AllowUndeclared it accepts them, and the caller, once it
// has fetched the control plane, calls CheckReferences with the remote
// names (Remote) to report what exists nowhere.
//
// # Problems
//
// Load's error is a *Problems: one *Problem per line, sorted by file (in
// argument order), line and column, each "file:line:col: path: message".
// Messages never include a secret value, a substituted value, or the text
// of a wrongly typed secret value.
//
// # Writing
//
// Marshal and MarshalEnv write a File back as a kvsync file that Load reads,
// with every secret value, and every config value that came from the
// environment, written as a ${{ env "NAME" }} placeholder.
package state

import (
	"fmt"
	"strings"

	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

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
	// ControlPlanePos locates _konnect.control_plane_name when given.
	ControlPlanePos Position
	// SelectTags as given in _info.select_tags (nil when absent).
	SelectTags []string
	// SelectTagsPos locates _info.select_tags when given.
	SelectTagsPos Position
	ConfigStores  []ConfigStore
	Vaults        []Vault
	Plugins       []Plugin
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
	// FieldPos locates each config value, by path from the vault.
	FieldPos map[string]Position
}

// Plugin is a declared Kong plugin. Route, Service, Consumer and
// ConsumerGroup (its scope, see kong.ScopeField) hold a name or an id,
// resolved against the live state.
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
	// FieldPos locates route, service, consumer, consumer_group and each
	// config value, by path from the plugin ("config.model.provider").
	FieldPos map[string]Position
	// VaultRefs are the {vault://...} references found in Config's plain
	// string leaves, in document order.
	VaultRefs []VaultRef
}

// Locate returns where the value at path (from the entity, e.g.
// "config.model.provider") was written: the nearest enclosing value that
// was, else the entity itself.
func Locate(fieldPos map[string]Position, path string, entity Position) Position {
	for p := path; p != ""; {
		if pos, ok := fieldPos[p]; ok {
			return pos
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return entity
}

// VaultRef is a reference to a secret, {vault://PREFIX/KEY[/PROPERTY]},
// found in a plugin's config.
type VaultRef struct {
	kong.VaultRef
	// Path is the config field holding the reference, e.g.
	// "plugins[0].config.auth.header_value".
	Path string
	Pos  Position
}

// ScopeRef points at the plugin's field for a scope field.
func (p *Plugin) ScopeRef(f kong.ScopeField) *string {
	return [...]*string{kong.ScopeRoute: &p.Route, kong.ScopeService: &p.Service,
		kong.ScopeConsumer: &p.Consumer, kong.ScopeConsumerGroup: &p.ConsumerGroup}[f]
}

// Scope is the plugin's scope references, by scope field.
func (p Plugin) Scope() kong.Scope {
	var s kong.Scope
	for _, f := range kong.ScopeFields {
		s[f] = *p.ScopeRef(f)
	}
	return s
}
