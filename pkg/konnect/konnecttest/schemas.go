package konnecttest

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

// The plugin schemas are written in Kong's schema language, as Konnect
// serves them. ai-proxy is translated from the official JSON-schema form
// (gateway-plugin-schemas/3.15/AiProxy.json: names, types, defaults, enums,
// required) with the record rules of Kong's Lua source (config, model and
// logging are required records; auth and model.options are optional ones).
// rate-limiting and key-auth follow Kong's bundled plugin schemas.
// entities.json describes the core entities themselves the same way, so
// one engine validates and fills them all.
//
//go:embed schemas/*.json
var schemaFiles embed.FS

// PluginSchemaNames lists the plugins the emulator knows, sorted.
func PluginSchemaNames() []string {
	entries, _ := schemaFiles.ReadDir("schemas")
	var names []string
	for _, e := range entries {
		n := strings.TrimSuffix(e.Name(), ".json")
		if n != "entities" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// PluginSchema returns a fresh copy of the schema the emulator serves for a
// plugin, or nil for an unknown plugin. Tests of code that fills or compares
// plugin defaults can use it without a server.
func PluginSchema(name string) *konnect.PluginSchema {
	if strings.ContainsAny(name, "/\\.") || name == "entities" {
		return nil
	}
	b, err := schemaFiles.ReadFile("schemas/" + name + ".json")
	if err != nil {
		return nil
	}
	var s konnect.PluginSchema
	if err := json.Unmarshal(b, &s); err != nil {
		panic(fmt.Sprintf("konnecttest: embedded schema %s: %v", name, err))
	}
	return &s
}

// pluginSchema is a schema the emulator serves, decoded once: as served,
// and parsed for validation and default filling. Callers must not modify it.
type pluginSchema struct {
	wire  *konnect.PluginSchema
	rules *kong.PluginSchema
}

var (
	schemaCacheMu sync.Mutex
	schemaCache   = map[string]*pluginSchema{}
)

// cachedPluginSchema is PluginSchema decoded once; nil for an unknown
// plugin.
func cachedPluginSchema(name string) *pluginSchema {
	schemaCacheMu.Lock()
	defer schemaCacheMu.Unlock()
	if s, ok := schemaCache[name]; ok {
		return s
	}
	wire := PluginSchema(name)
	if wire == nil {
		return nil
	}
	s := &pluginSchema{wire: wire, rules: kong.NewPluginSchema(wire.Fields)}
	schemaCache[name] = s
	return s
}
