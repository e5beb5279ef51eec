package state

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"gopkg.in/yaml.v3"
)

// LockVaultPrefix is reserved: kvsync's lock on a control plane is a vault
// with this prefix (pkg/apply), so a file may not declare one.
const LockVaultPrefix = "kvsync-lock"

// FormatVersion is the only _format_version kvsync reads: decK's format for
// Kong 3.x, which Konnect runs.
const FormatVersion = "3.0"

// Konnect's limits on config stores and secrets (control-planes-config v2),
// counted in characters as JSON Schema does.
const (
	MaxStoreNameLen   = 100
	MaxSecretKeyLen   = 512
	MaxSecretValueLen = 5120
)

// located is where a value sits: its node's position and field path.
type located struct {
	pos  Position
	path string
}

type scalarAt struct {
	value string
	at    located
	set   bool
}

// secretEntry is what merging and references need of a secret besides
// the Secret, which is decoded straight into its store's Secrets.
type secretEntry struct {
	keyPos Position
	// path is the secret's field path; its key's, path+".key", is built
	// only for a problem.
	path string
	// valueOK is false when the value could not be read (then it is not
	// checked further, nor used for references).
	valueOK bool
}

func (e *secretEntry) keyPath() string { return e.path + ".key" }

type storeEntry struct {
	store  ConfigStore
	nameAt located
	// secrets[i] is store.Secrets[i]'s entry.
	secrets []secretEntry
}

type vaultEntry struct {
	vault    Vault
	path     string
	prefixAt located
	storeAt  located
}

type pluginEntry struct {
	plugin     Plugin
	path       string
	instanceAt located
}

// fileEntries is what one file declares, before merging.
type fileEntries struct {
	name          string
	formatVersion scalarAt
	// formatGiven is set when the file has _format_version, even invalid.
	formatGiven   bool
	controlPlane  scalarAt
	selectTags    []string
	selectTagsAt  located
	hasSelectTags bool
	stores        []*storeEntry
	vaults        []*vaultEntry
	plugins       []*pluginEntry
	// rejected holds the store names and vault prefixes given but invalid,
	// so that references to them do not add "not declared" problems.
	rejected map[string]bool
}

// deckOnlyKeys are decK entities kvsync leaves to decK.
var deckOnlyKeys = []string{
	"services", "routes", "consumers", "consumer_groups", "upstreams", "targets",
	"certificates", "ca_certificates", "snis", "partials", "keys", "key_sets",
	"filter_chains", "custom_entities", "_plugin_configs", "_workspace", "_transform",
}

func topHint(key string) string {
	if contains(deckOnlyKeys, key) {
		return ": kvsync manages " + sectionKeys() + "; keep " + key + " in your decK files"
	}
	return ""
}

// document decodes one file's root node.
func (d *fileDecoder) document(root *node) *fileEntries {
	fe := &fileEntries{name: d.name, rejected: d.rejected}
	root = resolve(root)
	if root == nil || isNull(root) {
		return fe
	}
	fs, ok := d.mapping(root, "")
	if !ok {
		return fe
	}
	top := d.known(fs, "", topKeys(), topHint)
	if f, ok := top.get("_format_version"); ok {
		fe.formatGiven = true
		d.formatVersion(f.value, fe)
	}
	if f, ok := top.get("_konnect"); ok {
		d.konnect(f.value, fe)
	}
	if f, ok := top.get("_info"); ok {
		d.info(f.value, fe)
	}
	for _, sec := range sections {
		if f, ok := top.get(sec.key); ok {
			for i, n := range d.list(f.value, sec.key) {
				sec.decode(d, n, fmt.Sprintf("%s[%d]", sec.key, i), fe)
			}
		}
	}
	return fe
}

func (d *fileDecoder) formatVersion(n *node, fe *fileEntries) {
	const path = "_format_version"
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.c.add(d.pos(n), path, "expected \"%s\", got %s", FormatVersion, kindName(n))
		return
	}
	if hasPlaceholder(n.Value) {
		d.c.add(d.pos(n), path, "%s", identityRule)
		return
	}
	// An unquoted 3.0 is a YAML float; its text is what the user meant.
	switch n.Value {
	case FormatVersion:
		fe.formatVersion = scalarAt{value: n.Value, at: located{d.pos(n), path}, set: true}
	case "1.1":
		d.c.add(d.pos(n), path, "\"1.1\" is decK's format for Kong 2.x; Konnect runs Kong 3.x: use \"3.0\" (deck file convert --from kong-gateway-2.x --to kong-gateway-3.x)")
	default:
		d.c.add(d.pos(n), path, "unsupported version %q (kvsync reads decK's \"%s\")", n.Value, FormatVersion)
	}
}

func (d *fileDecoder) konnect(n *node, fe *fileEntries) {
	if isNull(n) {
		return
	}
	fs, ok := d.mapping(n, "_konnect")
	if !ok {
		return
	}
	kf := d.known(fs, "_konnect", []string{"control_plane_name"}, func(k string) string {
		if k == "runtime_group_name" {
			return ": runtime groups are now control planes; use control_plane_name"
		}
		return ""
	})
	if f, ok := kf.get("control_plane_name"); ok {
		const path = "_konnect.control_plane_name"
		if s, ok := d.str(f.value, path, true); ok {
			if s == "" {
				d.c.add(d.pos(f.value), path, "must not be empty")
				return
			}
			fe.controlPlane = scalarAt{value: s, at: located{d.pos(f.value), path}, set: true}
		}
	}
}

func (d *fileDecoder) info(n *node, fe *fileEntries) {
	if isNull(n) {
		return
	}
	fs, ok := d.mapping(n, "_info")
	if !ok {
		return
	}
	inf := d.known(fs, "_info", []string{"select_tags"}, func(k string) string {
		if k == "defaults" || k == "default_lookup_tags" {
			return ": kvsync reads only select_tags from _info"
		}
		return ""
	})
	if f, ok := inf.get("select_tags"); ok {
		const path = "_info.select_tags"
		if tags, ok := d.strList(f.value, path); ok {
			fe.selectTags, fe.hasSelectTags = tags, true
			fe.selectTagsAt = located{d.pos(f.value), path}
		}
	}
}

// requiredFields reports the required keys a mapping lacks, at the mapping.
func (d *fileDecoder) requiredFields(n *node, path string, got fieldSet, names ...string) {
	for _, k := range names {
		if _, ok := got.get(k); !ok {
			d.c.add(d.pos(n), joinKey(path, k), "is required")
		}
	}
}

// lengthProblem checks a string's length in characters against Konnect's
// bounds; it never includes the value in the message.
func lengthProblem(s string, max int) string {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return "must not be empty"
	case n > max:
		return fmt.Sprintf("is %d characters long; Konnect allows at most %d", n, max)
	}
	return ""
}

func (d *fileDecoder) store(n *node, path string) *storeEntry {
	fs, ok := d.mapping(n, path)
	if !ok {
		return nil
	}
	got := d.known(fs, path, []string{"name", "secrets"}, noHint)
	d.requiredFields(n, path, got, "name")
	e := &storeEntry{store: ConfigStore{Pos: d.pos(n)}}
	if f, ok := got.get("name"); ok {
		np := path + ".name"
		if s, ok := d.str(f.value, np, true); ok {
			if msg := lengthProblem(s, MaxStoreNameLen); msg != "" {
				d.c.add(d.pos(f.value), np, "%s", msg)
				d.rejected["store:"+s] = true
			} else {
				e.store.Name = s
				e.nameAt = located{d.pos(f.value), np}
			}
		}
	}
	if f, ok := got.get("secrets"); ok {
		nodes := d.list(f.value, path+".secrets")
		if len(nodes) > 0 {
			e.store.Secrets = make([]Secret, 0, len(nodes))
			e.secrets = make([]secretEntry, 0, len(nodes))
		}
		for i, sn := range nodes {
			var s Secret
			var se secretEntry
			if d.secret(sn, fmt.Sprintf("%s.secrets[%d]", path, i), &s, &se) {
				e.store.Secrets = append(e.store.Secrets, s)
				e.secrets = append(e.secrets, se)
			}
		}
		if len(e.secrets) == 0 {
			e.store.Secrets, e.secrets = nil, nil
		}
	}
	if e.store.Name == "" {
		return nil
	}
	return e
}

// secret decodes one secret into s and e; false when it has no valid key.
func (d *fileDecoder) secret(n *node, path string, s *Secret, e *secretEntry) bool {
	fs, ok := d.mapping(n, path)
	if !ok {
		return false
	}
	got := d.known(fs, path, []string{"key", "value"}, noHint)
	d.requiredFields(n, path, got, "key", "value")
	*s = Secret{Pos: d.pos(n)}
	*e = secretEntry{path: path}
	keyOK := false
	if f, ok := got.get("key"); ok {
		// A plain string key, the usual case, needs no field path.
		key, ok := f.value.Value, true
		if kn := f.value; kn.Kind != yaml.ScalarNode || kn.ShortTag() != "!!str" || hasPlaceholder(kn.Value) {
			key, ok = d.str(kn, e.keyPath(), true)
		}
		if ok {
			if msg := lengthProblem(key, MaxSecretKeyLen); msg != "" {
				d.c.add(d.pos(f.value), e.keyPath(), "%s", msg)
			} else {
				s.Key, keyOK = key, true
				e.keyPos = d.pos(f.value)
			}
		}
	}
	if f, ok := got.get("value"); ok {
		s.Value, e.valueOK = d.secretValue(f.value, path+".value")
	}
	return keyOK
}

// secretValue reads a secret's value. Messages never quote the value: not
// even a wrongly typed one, which may be a real secret written unquoted.
func (d *fileDecoder) secretValue(n *node, path string) (Sensitive, bool) {
	if isNull(n) {
		d.c.add(d.pos(n), path, "is required")
		return Sensitive{}, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		hint := ""
		if n.Kind == yaml.ScalarNode {
			hint = " (quote the value)"
		}
		d.c.add(d.pos(n), path, "expected a string, got %s%s", kindName(n), hint)
		return Sensitive{}, false
	}
	e := d.expand(n, path)
	if !e.ok {
		return Sensitive{}, false
	}
	if !d.allowEmptyEnv {
		for _, b := range e.blank {
			d.c.add(b.pos, path, "environment variable %q is set but empty or blank, so the secret would hold nothing where it is substituted (set it, or pass --allow-empty-env)", b.name)
		}
		if len(e.blank) > 0 {
			return Sensitive{}, false
		}
	}
	v := e.sensitive()
	if !v.Known() {
		return v, true // nothing to check in a value nobody knows
	}
	if msg := lengthProblem(e.value, MaxSecretValueLen); msg != "" {
		if e.substituted() {
			msg += " after substitution " + v.Describe()
		}
		d.c.add(d.pos(n), path, "%s", msg)
		return Sensitive{}, false
	}
	return v, true
}

func (d *fileDecoder) vault(n *node, path string) *vaultEntry {
	fs, ok := d.mapping(n, path)
	if !ok {
		return nil
	}
	got := d.known(fs, path, []string{"name", "prefix", "description", "config", "tags"}, noHint)
	d.requiredFields(n, path, got, "name", "prefix")
	e := &vaultEntry{vault: Vault{Pos: d.pos(n)}, path: path}
	good := true
	if f, ok := got.get("name"); ok {
		np := path + ".name"
		if s, ok := d.str(f.value, np, true); ok {
			if kong.IsVaultType(s) {
				e.vault.Name = s
			} else {
				d.c.add(d.pos(f.value), np, "unknown vault type %q (one of %s)", s, strings.Join(kong.VaultTypes, ", "))
				good = false
			}
		} else {
			good = false
		}
	}
	if f, ok := got.get("prefix"); ok {
		pp := path + ".prefix"
		if s, ok := d.str(f.value, pp, true); ok {
			problem := kong.CheckVaultPrefix(s)
			if problem != kong.PrefixOK {
				d.rejected["vault:"+s] = true
			}
			switch {
			case s == LockVaultPrefix:
				d.rejected["vault:"+s] = true
				d.c.add(d.pos(f.value), pp, "%q is reserved: kvsync's lock on a control plane is a vault with this prefix", s)
			case problem == kong.PrefixReserved:
				d.c.add(d.pos(f.value), pp, "%q is reserved: a prefix may not be a vault type's name (%s)", s, strings.Join(kong.VaultTypes, ", "))
			case problem == kong.PrefixInvalid:
				d.c.add(d.pos(f.value), pp, "%q is not a valid prefix (lowercase letters, digits and dashes, starting with a letter, ending with a letter or digit, 2 characters at least)", s)
			default:
				e.vault.Prefix = s
				e.prefixAt = located{d.pos(f.value), pp}
			}
		}
	}
	if f, ok := got.get("description"); ok {
		if s, ok := d.str(f.value, path+".description", false); ok {
			e.vault.Description = &s
		}
	}
	if f, ok := got.get("tags"); ok {
		e.vault.Tags, _ = d.strList(f.value, path+".tags")
	}
	var configN *node
	if f, ok := got.get("config"); ok {
		configN = f.value
		e.vault.FieldPos = map[string]Position{}
		d.fieldPositions(e.vault.FieldPos, path, func() {
			e.vault.Config, _ = d.configMap(f.value, path+".config", nil)
		})
	}
	if good && e.vault.Name != "" {
		d.vaultStore(e, n, configN)
	}
	if e.vault.Prefix == "" {
		return nil
	}
	return e
}

// vaultStore moves a konnect vault's config.config_store to ConfigStore and
// checks that exactly one of config_store and config_store_id is given.
func (d *fileDecoder) vaultStore(e *vaultEntry, vaultN, configN *node) {
	cfgPath := e.path + ".config"
	storeN := mapValue(configN, "config_store")
	idN := mapValue(configN, "config_store_id")
	if e.vault.Name != "konnect" {
		if storeN != nil {
			d.c.add(d.pos(storeN), cfgPath+".config_store", "config_store is only for konnect vaults")
		}
		return
	}
	switch {
	case storeN != nil && idN != nil:
		d.c.add(d.pos(idN), cfgPath+".config_store_id", "give either config_store (a config store's name) or config_store_id, not both")
		return
	case storeN == nil && idN == nil:
		at := vaultN
		if configN != nil && !isNull(configN) {
			at = configN
		}
		d.c.add(d.pos(at), cfgPath, "a konnect vault needs config.config_store (a config store's name) or config.config_store_id")
		return
	case idN != nil:
		if isNull(idN) {
			d.c.add(d.pos(idN), cfgPath+".config_store_id", "is required")
			return
		}
		if idN.Kind != yaml.ScalarNode || idN.ShortTag() != "!!str" || idN.Value == "" {
			d.c.add(d.pos(idN), cfgPath+".config_store_id", "expected a config store id, got %s", kindName(idN))
		}
		return
	}
	sp := cfgPath + ".config_store"
	if storeN.Kind == yaml.ScalarNode && hasPlaceholder(storeN.Value) {
		d.c.add(d.pos(storeN), sp, "config_store names a config store, which plans show: environment substitution is not allowed here (config_store_id may come from the environment)")
		return
	}
	if s, ok := d.str(storeN, sp, true); ok {
		if s == "" {
			d.c.add(d.pos(storeN), sp, "must not be empty")
			return
		}
		e.vault.ConfigStore = s
		e.vault.ConfigStorePos = d.pos(storeN)
		e.storeAt = located{d.pos(storeN), sp}
	}
	delete(e.vault.Config, "config_store")
}

// mapValue returns the value node of key in mapping n, if any.
func mapValue(n *node, key string) *node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(&n.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return resolve(&n.Content[i+1])
		}
	}
	return nil
}

var pluginKeys = []string{"name", "instance_name", "enabled", "route", "service", "consumer", "consumer_group", "protocols", "config", "tags"}

func (d *fileDecoder) plugin(n *node, path string) *pluginEntry {
	fs, ok := d.mapping(n, path)
	if !ok {
		return nil
	}
	got := d.known(fs, path, pluginKeys, func(k string) string {
		if k == "id" {
			return ": kvsync identifies plugins by name and scope (route, service, consumer, consumer_group) or instance_name"
		}
		return ""
	})
	d.requiredFields(n, path, got, "name")
	e := &pluginEntry{plugin: Plugin{Pos: d.pos(n)}, path: path}
	nonEmpty := func(key string) (string, *node) {
		f, ok := got.get(key)
		if !ok {
			return "", nil
		}
		fp := path + "." + key
		s, ok := d.str(f.value, fp, false)
		if ok && s == "" {
			d.c.add(d.pos(f.value), fp, "must not be empty")
		}
		return s, f.value
	}
	e.plugin.Name, _ = nonEmpty("name")
	if f, ok := got.get("name"); ok && isNull(f.value) {
		d.c.add(d.pos(f.value), path+".name", "is required")
	}
	var instN *node
	e.plugin.InstanceName, instN = nonEmpty("instance_name")
	if e.plugin.InstanceName != "" {
		e.instanceAt = located{d.pos(instN), path + ".instance_name"}
	}
	scopes := 0
	for _, f := range kong.ScopeFields {
		if _, ok := got.get(f.Key()); ok {
			scopes++
		}
	}
	e.plugin.FieldPos = make(map[string]Position, scopes+configSize(got))
	for _, f := range kong.ScopeFields {
		var n *node
		if *e.plugin.ScopeRef(f), n = nonEmpty(f.Key()); n != nil {
			e.plugin.FieldPos[f.Key()] = d.pos(n)
		}
	}
	if f, ok := got.get("enabled"); ok {
		e.plugin.Enabled, _ = d.boolean(f.value, path+".enabled")
	}
	if f, ok := got.get("protocols"); ok {
		e.plugin.Protocols, _ = d.strList(f.value, path+".protocols")
	}
	if f, ok := got.get("tags"); ok {
		e.plugin.Tags, _ = d.strList(f.value, path+".tags")
	}
	if f, ok := got.get("config"); ok {
		d.fieldPositions(e.plugin.FieldPos, path, func() {
			e.plugin.Config, _ = d.configMap(f.value, path+".config", func(s string, sn *node, sp string) {
				if ref, ok := d.vaultRef(s, sn, sp); ok {
					e.plugin.VaultRefs = append(e.plugin.VaultRefs, ref)
				}
			})
		})
	}
	if e.plugin.Name == "" {
		return nil
	}
	return e
}
