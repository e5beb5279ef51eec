package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

// vaultRef inspects a plain string leaf of a plugin's config. A string that
// is one whole reference is returned; a reference inside a longer string,
// which Kong would send as is, is reported.
func (d *fileDecoder) vaultRef(s string, n *node, path string) (VaultRef, bool) {
	if e, embedded := kong.EmbeddedVaultRef(s); embedded {
		hint := "store the whole value in the secret and reference it alone"
		if before := strings.TrimSpace(e.Before); before != "" && e.Single {
			hint = fmt.Sprintf("put %q into the secret and reference it alone", before+" …")
		}
		d.c.add(d.pos(n), path, "Kong resolves %s only when it is the whole value, not inside a longer string; %s", e.Ref, hint)
		return VaultRef{}, false
	}
	ref, err := kong.ParseVaultRef(s)
	if errors.Is(err, kong.ErrNotRef) {
		return VaultRef{}, false
	}
	if err != nil {
		d.c.add(d.pos(n), path, "%s: %v", s, err)
		return VaultRef{}, false
	}
	return VaultRef{VaultRef: ref, Path: path, Pos: d.pos(n)}, true
}

// Remote names what exists in the control plane, for CheckReferences.
type Remote struct {
	// VaultPrefixes of the vaults that exist remotely.
	VaultPrefixes []string
	// ConfigStores are the names of the config stores that exist remotely.
	ConfigStores []string
}

// CheckReferences reports the references a loaded file makes to vaults and
// config stores it does not declare and that are not in remote either: the
// online half of the reference check, for files loaded with
// LoadOptions.AllowUndeclared. It returns *Problems or nil.
func CheckReferences(f *File, remote Remote) error {
	c := newCollector()
	perFile := map[string]int{}
	vaults := make([]*vaultEntry, len(f.Vaults))
	for i, v := range f.Vaults {
		c.addFile(v.Pos.File)
		// Load keeps each file's vaults in order, so the index within the
		// file is the count of earlier vaults from the same file.
		path := fmt.Sprintf("vaults[%d]", perFile[v.Pos.File])
		perFile[v.Pos.File]++
		vaults[i] = &vaultEntry{vault: v, path: path}
	}
	checkUndeclared(f, vaults, &remote, nil, c)
	return c.err()
}

// Undeclared lists, as located problems to show as warnings, the references
// a file loaded with LoadOptions.AllowUndeclared makes to vaults and
// config stores it does not declare: only the control plane can tell
// whether they exist (see CheckReferences).
func Undeclared(f *File) []*Problem {
	c := newCollector()
	perFile := map[string]int{}
	vaults := make([]*vaultEntry, len(f.Vaults))
	for i, v := range f.Vaults {
		c.addFile(v.Pos.File)
		vaults[i] = &vaultEntry{vault: v, path: fmt.Sprintf("vaults[%d]", perFile[v.Pos.File])}
		perFile[v.Pos.File]++
	}
	for _, p := range f.Plugins {
		c.addFile(p.Pos.File)
	}
	checkUndeclared(f, vaults, nil, nil, c)
	return ProblemsOf(c.err())
}

// checkUndeclared reports references to vaults and stores that neither the
// file nor remote (nil offline) has, except those rejected as invalid
// ("store:NAME", "vault:PREFIX"), already reported.
func checkUndeclared(f *File, vaults []*vaultEntry, remote *Remote, rejected map[string]bool, c *collector) {
	stores := map[string]bool{}
	for _, s := range f.ConfigStores {
		stores[s.Name] = true
	}
	prefixes := map[string]bool{}
	for _, v := range f.Vaults {
		prefixes[v.Prefix] = true
	}
	where := "in the file"
	if remote != nil {
		where = "in the file or the control plane"
		for _, s := range remote.ConfigStores {
			stores[s] = true
		}
		for _, p := range remote.VaultPrefixes {
			prefixes[p] = true
		}
	}
	for _, ve := range vaults {
		v := ve.vault
		if v.ConfigStore != "" && !stores[v.ConfigStore] && !rejected["store:"+v.ConfigStore] {
			c.add(v.ConfigStorePos, ve.path+".config.config_store", "no config store %q %s%s", v.ConfigStore, where, declaredList("config stores", slices.Sorted(maps.Keys(stores))))
		}
	}
	for _, p := range f.Plugins {
		for _, r := range p.VaultRefs {
			if prefixes[r.Prefix] || kong.BuiltinVaultPrefix(r.Prefix) || rejected["vault:"+r.Prefix] {
				continue
			}
			c.add(r.Pos, r.Path, "%s: no vault with prefix %q %s%s", r.Ref, r.Prefix, where, declaredList("vaults", slices.Sorted(maps.Keys(prefixes))))
		}
	}
}

func declaredList(what string, names []string) string {
	if len(names) == 0 {
		return ""
	}
	const max = 10
	if len(names) > max {
		names = append(names[:max:max], "…")
	}
	return fmt.Sprintf(" (%s: %s)", what, strings.Join(names, ", "))
}

// checkDeclaredRefs checks references to konnect vaults over config stores
// the file declares: the key must exist in the store and, when the reference
// names a property, the secret value must be a JSON object with that
// property as a string. Messages never include secret values.
func checkDeclaredRefs(plugins []*pluginEntry, vaults map[string]*vaultEntry, stores map[string]*storeEntry, c *collector) {
	for _, pe := range plugins {
		for _, r := range pe.plugin.VaultRefs {
			ve, ok := vaults[r.Prefix]
			if !ok || ve.vault.Name != "konnect" || ve.vault.ConfigStore == "" {
				continue
			}
			se, ok := stores[ve.vault.ConfigStore]
			if !ok {
				continue
			}
			found := -1
			for i := range se.store.Secrets {
				if se.store.Secrets[i].Key == r.Key {
					found = i
					break
				}
			}
			if found < 0 {
				c.add(r.Pos, r.Path, "%s: config store %q (vault %q) declares no secret %q", r.Ref, se.store.Name, r.Prefix, r.Key)
				continue
			}
			if r.Property == "" || !se.secrets[found].valueOK {
				continue
			}
			if msg := propertyProblem(se.store.Secrets[found].Value, r.Property); msg != "" {
				c.add(r.Pos, r.Path, "%s: the secret %s/%s %s", r.Ref, se.store.Name, r.Key, msg)
			}
		}
	}
}

// propertyProblem checks, without ever revealing the value in its message,
// that a secret value is a JSON object whose property prop is a string.
func propertyProblem(v Sensitive, prop string) string {
	var obj map[string]any
	// The decoder's error would quote part of the value: never use it.
	if err := json.Unmarshal([]byte(v.Reveal()), &obj); err != nil || obj == nil {
		return fmt.Sprintf("is not a JSON object, so it has no property %q", prop)
	}
	p, ok := obj[prop]
	if !ok {
		return fmt.Sprintf("has no property %q", prop)
	}
	if _, ok := p.(string); !ok {
		return fmt.Sprintf("has property %q, but not as a string", prop)
	}
	return ""
}
