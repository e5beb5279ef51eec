package diff

import "github.com/kvsync/kvsync/pkg/konnect/kong"

// The default filling lives in pkg/konnect, where the emulator uses the same
// code to fill defaults into stored entities: the plan predicts what Konnect
// stores by construction.

// configDefaults fills the schema's defaults into a desired plugin config.
func configDefaults(schema *kong.PluginSchema, cfg map[string]any) map[string]any {
	return schema.ConfigDefaults(cfg)
}

// defaultProtocols is the schema's default for a plugin's protocols.
func defaultProtocols(schema *kong.PluginSchema) []string {
	return schema.DefaultProtocols()
}

// vaultConfigDefaults fills the fields the server fills into a vault's
// config.
func vaultConfigDefaults(vaultName string, cfg map[string]any) map[string]any {
	return kong.VaultConfigDefaults(vaultName, cfg)
}
