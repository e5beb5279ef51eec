package kong

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// VaultTypes are the vault implementations a Konnect data plane bundles: the
// values a vault's name may take. No prefix may equal one of them.
var VaultTypes = []string{"konnect", "env", "aws", "gcp", "hcv", "azure", "conjur"}

// IsVaultType reports whether name is a bundled vault type.
func IsVaultType(name string) bool { return slices.Contains(VaultTypes, name) }

// BuiltinVaultPrefix reports whether a reference may use prefix without a
// vault entity: Kong falls back to the bundled vault of that type with its
// default config. konnect is not one: without a config store it resolves
// nothing.
func BuiltinVaultPrefix(prefix string) bool { return prefix != "konnect" && IsVaultType(prefix) }

// vaultPrefixRE is Kong's rule for a vault prefix (the Lua pattern
// ^[a-z][a-z%d-]-[a-z%d]+$): a lowercase letter, then lowercase letters,
// digits and dashes, ending with a letter or digit; two characters at least.
var vaultPrefixRE = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)

// PrefixProblem is a vault prefix's rule violation, or "" when the prefix is
// valid.
type PrefixProblem string

const (
	PrefixOK       PrefixProblem = ""
	PrefixReserved PrefixProblem = "reserved"
	PrefixInvalid  PrefixProblem = "invalid"
)

// CheckVaultPrefix applies Kong's prefix rules: the pattern above, and no
// vault type's name.
func CheckVaultPrefix(prefix string) PrefixProblem {
	switch {
	case IsVaultType(prefix):
		return PrefixReserved
	case !vaultPrefixRE.MatchString(prefix):
		return PrefixInvalid
	}
	return PrefixOK
}

// vaultCredentialFields are vault config fields that hold credentials in
// Kong's vault schemas (hcv token and approle secret id, azure client
// secret, gcp service account, conjur api key, aws keys, …): their values
// never print and are written to files as placeholders.
var vaultCredentialFields = []string{"token", "secret_id", "approle_secret_id", "client_secret",
	"service_account", "api_key", "password", "secret_access_key", "access_key"}

// VaultCredentialPaths are the credential fields of a vault's config, as
// paths from the vault root ("config", field).
func VaultCredentialPaths() []Path {
	out := make([]Path, len(vaultCredentialFields))
	for i, f := range vaultCredentialFields {
		out[i] = Path{"config", f}
	}
	return out
}

// ttlFields are the cache TTLs every bundled vault has had since Kong 3.2
// (typedefs.ttl: a number without default).
func ttlFields() []any {
	ttl := map[string]any{"type": "number", "between": []any{0.0, 100000000.0}}
	return []any{
		map[string]any{"ttl": ttl},
		map[string]any{"neg_ttl": ttl},
		map[string]any{"resurrect_ttl": ttl},
	}
}

// vaultConfigRecord returns the config record of a known vault type (nil
// when the type is unknown). Only env and konnect are modelled field by
// field (from kong/vaults/env/schema.lua and Konnect's vault docs); the other
// types accept any field and are filled with the TTLs only.
func vaultConfigRecord(vaultName string) (rec *Record, strict bool) {
	switch vaultName {
	case "env":
		return NewRecord(append([]any{
			map[string]any{"prefix": map[string]any{"type": "string"}},
			map[string]any{"base64_decode": map[string]any{"type": "boolean", "default": false}},
		}, ttlFields()...)), true
	case "konnect":
		return NewRecord(append([]any{
			map[string]any{"config_store_id": map[string]any{"type": "string", "required": true}},
		}, ttlFields()...)), true
	}
	if IsVaultType(vaultName) {
		return NewRecord(ttlFields()), false
	}
	return nil, false
}

// VaultConfigDefaults returns a new vault config with the fields Kong's
// vault schema fills for a known vault type (env: prefix null,
// base64_decode false; konnect: config_store_id as given; every type: ttl,
// neg_ttl and resurrect_ttl null when absent). Konnect itself leaves the
// unset TTLs out of what it returns (as the emulator does); a plan compares
// an absent field and a null one as equal, so both agree. Unknown types are
// copied unchanged. The input is not modified.
func VaultConfigDefaults(vaultName string, config map[string]any) map[string]any {
	rec, _ := vaultConfigRecord(vaultName)
	return rec.Fill(config)
}

// ValidateVaultConfig checks a vault config for a known vault type; paths
// start with "config.". For types modelled loosely, unknown fields pass.
func ValidateVaultConfig(vaultName string, config map[string]any) []FieldError {
	rec, strict := vaultConfigRecord(vaultName)
	if rec == nil {
		return []FieldError{{"name", fmt.Sprintf("vault '%s' is not installed", vaultName)}}
	}
	if strict {
		return rec.Validate(config, "config")
	}
	filled := rec.Fill(config)
	var errs []FieldError
	for _, f := range rec.fields {
		if v := filled[f.name]; v != nil {
			validateValue(f.def, f.sub, v, false, "config."+f.name, &errs)
		}
	}
	sortErrors(errs)
	return errs
}

// ValidateVault checks a vault entity's prefix (unless empty: the entity
// schema reports a missing one) and its config for its type, the way Kong
// does, with Kong's messages.
func ValidateVault(name, prefix string, config map[string]any) []FieldError {
	var errs []FieldError
	switch CheckVaultPrefix(prefix) {
	case PrefixOK:
	case PrefixInvalid:
		if prefix == "" {
			break
		}
		errs = append(errs, FieldError{Path: "prefix", Message: "invalid value: " + prefix})
	case PrefixReserved:
		errs = append(errs, FieldError{Path: "prefix", Message: "must not be one of: " + strings.Join(VaultTypes, ", ")})
	}
	if name == "" {
		return errs
	}
	return append(errs, ValidateVaultConfig(name, config)...)
}
