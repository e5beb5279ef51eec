package state

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// head is the first line of most bad files, so that their content starts
// on line 2.
const head = "_format_version: \"3.0\"\n"

// TestValidationRules holds one bad file per rule, each with the exact
// located messages Load must give.
func TestValidationRules(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		want []string
	}{
		// The format.
		{
			name: "format version missing",
			file: "config_stores: []\n",
			want: []string{`kvsync.yaml:1:1: _format_version: is required: add _format_version: "3.0"`},
		},
		{
			name: "format version 1.1",
			file: "_format_version: \"1.1\"\n",
			want: []string{
				`kvsync.yaml:1:18: _format_version: "1.1" is decK's format for Kong 2.x; Konnect runs Kong 3.x: use "3.0" (deck file convert --from kong-gateway-2.x --to kong-gateway-3.x)`,
			},
		},
		{
			name: "format version unquoted is accepted",
			file: "_format_version: 3.0\n",
		},
		{
			// decK's "${{ env "X" }}" is read as decK reads it, and
			// located where it is written.
			name: "decK's double-quoted placeholder",
			file: head + "vaults:\n  - name: konnect\n    prefix: kv\n    config:\n      config_store_id: \"${{ env \"DECK_CONFIG_STORE_ID\" }}\"\n",
			want: []string{`kvsync.yaml:6:25: vaults[0].config.config_store_id: environment variable "DECK_CONFIG_STORE_ID" is not set`},
		},
		{
			name: "two documents",
			file: head + "---\n" + head,
			want: []string{`kvsync.yaml:2:1: a state file holds one YAML document; split the others into files of their own`},
		},
		{
			name: "top level not a mapping",
			file: "- a\n",
			want: []string{
				`kvsync.yaml:1:1: expected a mapping, got a list`,
				`kvsync.yaml:1:1: _format_version: is required: add _format_version: "3.0"`,
			},
		},

		// Unknown keys, at every level.
		{
			name: "unknown top-level key from decK",
			file: head + "services: []\n",
			want: []string{`kvsync.yaml:2:1: services: unknown key "services": kvsync manages config_stores, vaults and plugins; keep services in your decK files`},
		},
		{
			name: "unknown keys with typos",
			file: head + "_konnect:\n  control_plane: cp\nconfig_stores:\n  - name: s\n    secret: []\nvaults:\n  - name: env\n    prefx: ev\nplugins:\n  - name: p\n    id: 1\n",
			want: []string{
				`kvsync.yaml:3:3: _konnect.control_plane: unknown key "control_plane" (known keys: control_plane_name)`,
				`kvsync.yaml:6:5: config_stores[0].secret: unknown key "secret" (did you mean "secrets"?)`,
				`kvsync.yaml:8:5: vaults[0].prefix: is required`,
				`kvsync.yaml:9:5: vaults[0].prefx: unknown key "prefx" (did you mean "prefix"?)`,
				`kvsync.yaml:12:5: plugins[0].id: unknown key "id": kvsync identifies plugins by name and scope (route, service, consumer, consumer_group) or instance_name`,
			},
		},
		{
			name: "unknown keys inside config are free-form",
			file: head + "plugins:\n  - name: p\n    config:\n      anything: {goes: [1, true, null, x]}\n",
		},
		{
			name: "duplicate YAML key",
			file: head + "vaults:\n  - name: env\n    prefix: ev\n    prefix: ev2\n",
			want: []string{`kvsync.yaml:5:5: vaults[0].prefix: duplicate key (first at line 4)`},
		},

		// Wrong types.
		{
			name: "wrong types",
			file: head + "config_stores: {}\nvaults:\n  - name: 12\n    prefix: [a]\nplugins:\n  - name: p\n    enabled: \"yes\"\n    tags: x\n    config: [a]\n",
			want: []string{
				`kvsync.yaml:2:16: config_stores: expected a list, got a mapping`,
				`kvsync.yaml:4:11: vaults[0].name: expected a string, got an integer (quote it: "12")`,
				`kvsync.yaml:5:13: vaults[0].prefix: expected a string, got a list`,
				`kvsync.yaml:8:14: plugins[0].enabled: expected true or false, got a string`,
				`kvsync.yaml:9:11: plugins[0].tags: expected a list of strings, got a string`,
				`kvsync.yaml:10:13: plugins[0].config: expected a mapping, got a list`,
			},
		},
		{
			name: "secret value of the wrong type is not quoted back",
			file: head + "config_stores:\n  - name: s\n    secrets:\n      - key: k\n        value: 918273645\n",
			want: []string{`kvsync.yaml:6:16: config_stores[0].secrets[0].value: expected a string, got an integer (quote the value)`},
		},

		// Required fields.
		{
			name: "required fields",
			file: head + "config_stores:\n  - secrets:\n      - key: k\n      - value: v\nvaults:\n  - name: env\nplugins:\n  - route: r\n",
			want: []string{
				`kvsync.yaml:3:5: config_stores[0].name: is required`,
				`kvsync.yaml:4:9: config_stores[0].secrets[0].value: is required`,
				`kvsync.yaml:5:9: config_stores[0].secrets[1].key: is required`,
				`kvsync.yaml:7:5: vaults[0].prefix: is required`,
				`kvsync.yaml:9:5: plugins[0].name: is required`,
			},
		},

		// Duplicates.
		{
			name: "duplicate store names and secret keys",
			file: head + "config_stores:\n  - name: s\n    secrets:\n      - {key: k, value: a}\n      - {key: k, value: b}\n  - name: s\n",
			want: []string{
				`kvsync.yaml:6:15: config_stores[0].secrets[1].key: duplicate secret key "k" in config store "s" (first at kvsync.yaml:5:15)`,
				`kvsync.yaml:7:11: config_stores[1].name: duplicate config store "s" (first at kvsync.yaml:3:11)`,
			},
		},
		{
			name: "duplicate secret keys after a dropped one point at the first",
			file: head + "config_stores:\n  - name: s\n    secrets:\n      - {key: a, value: x}\n      - {key: b, value: x}\n      - {key: a, value: x}\n      - {key: c, value: x}\n      - {key: b, value: x}\n",
			want: []string{
				`kvsync.yaml:7:15: config_stores[0].secrets[2].key: duplicate secret key "a" in config store "s" (first at kvsync.yaml:5:15)`,
				`kvsync.yaml:9:15: config_stores[0].secrets[4].key: duplicate secret key "b" in config store "s" (first at kvsync.yaml:6:15)`,
			},
		},
		{
			name: "duplicate vault prefixes",
			file: head + "vaults:\n  - {name: env, prefix: ev}\n  - {name: aws, prefix: ev}\n",
			want: []string{`kvsync.yaml:4:25: vaults[1].prefix: duplicate vault prefix "ev" (first at kvsync.yaml:3:25)`},
		},
		{
			name: "duplicate plugins",
			file: head + "plugins:\n  - {name: p}\n  - {name: p}\n  - {name: p, route: r, consumer: c}\n  - {name: p, route: r, consumer: c}\n  - {name: p, route: r, instance_name: i1}\n  - {name: q, instance_name: i1}\n",
			want: []string{
				`kvsync.yaml:4:5: plugins[1]: duplicate plugin "p" globally (first at kvsync.yaml:3:5)`,
				`kvsync.yaml:6:5: plugins[3]: duplicate plugin "p" on route "r", consumer "c" (first at kvsync.yaml:5:5)`,
				`kvsync.yaml:8:30: plugins[5].instance_name: duplicate instance_name "i1" (first at kvsync.yaml:7:40)`,
			},
		},

		// Konnect's limits.
		{
			name: "limits",
			file: head + "config_stores:\n  - name: " + long(101) + "\n  - name: \"\"\n  - name: s\n    secrets:\n      - key: " + long(513) + "\n        value: v\n      - key: k\n        value: ${{ env \"LONG\" }}\n      - key: e\n        value: ${{ env \"EMPTY\" }}\n      - key: ok\n        value: " + long(5120) + "\n",
			env:  map[string]string{"LONG": long(5121), "EMPTY": ""},
			want: []string{
				`kvsync.yaml:3:11: config_stores[0].name: is 101 characters long; Konnect allows at most 100`,
				`kvsync.yaml:4:11: config_stores[1].name: must not be empty`,
				`kvsync.yaml:7:14: config_stores[2].secrets[0].key: is 513 characters long; Konnect allows at most 512`,
				`kvsync.yaml:10:16: config_stores[2].secrets[1].value: is 5121 characters long; Konnect allows at most 5120 after substitution (from env LONG)`,
				`kvsync.yaml:12:16: config_stores[2].secrets[2].value: environment variable "EMPTY" is set but empty or blank, so the secret would hold nothing where it is substituted (set it, or pass --allow-empty-env)`,
			},
		},

		// Vaults.
		{
			name: "vault prefixes",
			file: head + "vaults:\n  - {name: env, prefix: My_Vault}\n  - {name: env, prefix: env}\n  - {name: env, prefix: a}\n  - {name: env, prefix: ab-}\n  - {name: env, prefix: 1ab}\n  - {name: env, prefix: a-1}\n  - {name: env, prefix: kvsync-lock}\n",
			want: []string{
				`kvsync.yaml:3:25: vaults[0].prefix: "My_Vault" is not a valid prefix (lowercase letters, digits and dashes, starting with a letter, ending with a letter or digit, 2 characters at least)`,
				`kvsync.yaml:4:25: vaults[1].prefix: "env" is reserved: a prefix may not be a vault type's name (konnect, env, aws, gcp, hcv, azure, conjur)`,
				`kvsync.yaml:5:25: vaults[2].prefix: "a" is not a valid prefix (lowercase letters, digits and dashes, starting with a letter, ending with a letter or digit, 2 characters at least)`,
				`kvsync.yaml:6:25: vaults[3].prefix: "ab-" is not a valid prefix (lowercase letters, digits and dashes, starting with a letter, ending with a letter or digit, 2 characters at least)`,
				`kvsync.yaml:7:25: vaults[4].prefix: "1ab" is not a valid prefix (lowercase letters, digits and dashes, starting with a letter, ending with a letter or digit, 2 characters at least)`,
				`kvsync.yaml:9:25: vaults[6].prefix: "kvsync-lock" is reserved: kvsync's lock on a control plane is a vault with this prefix`,
			},
		},
		{
			name: "vault types and config stores",
			file: head + `config_stores:
  - name: s
vaults:
  - {name: vaultx, prefix: v1}
  - {name: konnect, prefix: v2}
  - {name: konnect, prefix: v3, config: {config_store: s, config_store_id: abc}}
  - {name: env, prefix: v4, config: {config_store: s}}
  - {name: konnect, prefix: v5, config: {config_store: nope}}
  - {name: konnect, prefix: v6, config: {config_store: '${{ env "S" }}'}}
  - {name: konnect, prefix: v7, config: {config_store_id: 12}}
  - {name: konnect, prefix: v8, config: {config_store: s}}
  - {name: konnect, prefix: v9, config: {config_store_id: '${{ env "S" }}'}}
`,
			env: map[string]string{"S": "s"},
			want: []string{
				`kvsync.yaml:5:12: vaults[0].name: unknown vault type "vaultx" (one of konnect, env, aws, gcp, hcv, azure, conjur)`,
				`kvsync.yaml:6:5: vaults[1].config: a konnect vault needs config.config_store (a config store's name) or config.config_store_id`,
				`kvsync.yaml:7:76: vaults[2].config.config_store_id: give either config_store (a config store's name) or config_store_id, not both`,
				`kvsync.yaml:8:52: vaults[3].config.config_store: config_store is only for konnect vaults`,
				`kvsync.yaml:9:56: vaults[4].config.config_store: no config store "nope" in the file (config stores: s)`,
				`kvsync.yaml:10:56: vaults[5].config.config_store: config_store names a config store, which plans show: environment substitution is not allowed here (config_store_id may come from the environment)`,
				`kvsync.yaml:11:59: vaults[6].config.config_store_id: expected a config store id, got an integer`,
			},
		},

		{
			name: "an invalid prefix or store name is reported once, not again by its references",
			file: head + "config_stores:\n  - name: " + long(101) + "\nvaults:\n  - {name: konnect, prefix: My_Vault, config: {config_store: " + long(101) + "}}\nplugins:\n  - {name: p, config: {a: '{vault://My_Vault/k}'}}\n",
			want: []string{
				`kvsync.yaml:3:11: config_stores[0].name: is 101 characters long; Konnect allows at most 100`,
				`kvsync.yaml:5:29: vaults[0].prefix: "My_Vault" is not a valid prefix (lowercase letters, digits and dashes, starting with a letter, ending with a letter or digit, 2 characters at least)`,
			},
		},

		// References.
		{
			name: "references",
			file: head + `config_stores:
  - name: s
    secrets:
      - {key: plain, value: not-json}
      - {key: creds, value: '{"user": "u", "port": 5432}'}
vaults:
  - {name: konnect, prefix: kv, config: {config_store: s}}
  - {name: konnect, prefix: byid, config: {config_store_id: some-id}}
plugins:
  - name: p
    config:
      ok: "{vault://kv/plain}"
      ok-property: "{vault://kv/creds/user}"
      ok-remote-store: "{vault://byid/anything/prop}"
      ok-builtin: "{vault://env/MY_VAR}"
      missing-vault: "{vault://nope/k}"
      missing-key: "{vault://kv/nokey}"
      not-json: "{vault://kv/plain/prop}"
      no-property: "{vault://kv/creds/password}"
      not-string: "{vault://kv/creds/port}"
      bearer: "Bearer {vault://kv/plain}"
      two: "{vault://kv/plain}{vault://kv/creds}"
      malformed: "{vault://kv}"
      list: ["{vault://nope/k2}"]
`,
			want: []string{
				`kvsync.yaml:17:22: plugins[0].config.missing-vault: {vault://nope/k}: no vault with prefix "nope" in the file (vaults: byid, kv)`,
				`kvsync.yaml:18:20: plugins[0].config.missing-key: {vault://kv/nokey}: config store "s" (vault "kv") declares no secret "nokey"`,
				`kvsync.yaml:19:17: plugins[0].config.not-json: {vault://kv/plain/prop}: the secret s/plain is not a JSON object, so it has no property "prop"`,
				`kvsync.yaml:20:20: plugins[0].config.no-property: {vault://kv/creds/password}: the secret s/creds has no property "password"`,
				`kvsync.yaml:21:19: plugins[0].config.not-string: {vault://kv/creds/port}: the secret s/creds has property "port", but not as a string`,
				`kvsync.yaml:22:15: plugins[0].config.bearer: Kong resolves {vault://kv/plain} only when it is the whole value, not inside a longer string; put "Bearer …" into the secret and reference it alone`,
				`kvsync.yaml:23:12: plugins[0].config.two: Kong resolves {vault://kv/plain} only when it is the whole value, not inside a longer string; store the whole value in the secret and reference it alone`,
				`kvsync.yaml:24:18: plugins[0].config.malformed: {vault://kv}: the reference names no key`,
				`kvsync.yaml:25:14: plugins[0].config.list[0]: {vault://nope/k2}: no vault with prefix "nope" in the file (vaults: byid, kv)`,
			},
		},

		// Substitution.
		{
			name: "substitution outside secret values and config",
			file: head + "_konnect:\n  control_plane_name: ${{ env \"CP\" }}\nconfig_stores:\n  - name: ${{ env \"S\" }}\n    secrets:\n      - key: ${{ env \"K\" }}\n        value: v\nplugins:\n  - name: p\n    route: ${{ env \"R\" }}\n    config:\n      ${{ env \"KEY\" }}: v\n",
			env:  map[string]string{"CP": "cp", "S": "s", "K": "k", "R": "r", "KEY": "key"},
			want: []string{
				`kvsync.yaml:3:23: _konnect.control_plane_name: environment substitution is only allowed in secret values and in vault and plugin config, whose values stay hidden; this field is shown in plans`,
				`kvsync.yaml:5:11: config_stores[0].name: environment substitution is only allowed in secret values and in vault and plugin config, whose values stay hidden; this field is shown in plans`,
				`kvsync.yaml:7:14: config_stores[0].secrets[0].key: environment substitution is only allowed in secret values and in vault and plugin config, whose values stay hidden; this field is shown in plans`,
				`kvsync.yaml:11:12: plugins[0].route: environment substitution is only allowed in secret values and in vault and plugin config, whose values stay hidden; this field is shown in plans`,
				`kvsync.yaml:13:7: plugins[0].config["${{ env \"KEY\" }}"]: environment substitution is not allowed in keys`,
			},
		},
		{
			name: "unsupported template expressions",
			file: head + "config_stores:\n  - name: s\n    secrets:\n      - key: k\n        value: ${{ .Values.x }}\n      - key: e\n        value: ${{ env \"\" }}\n",
			want: []string{
				`kvsync.yaml:6:16: config_stores[0].secrets[0].value: unsupported substitution here: kvsync substitutes only ${{ env "NAME" }} (write $${{ for a literal ${{)`,
				`kvsync.yaml:8:16: config_stores[0].secrets[1].value: empty environment variable name in ${{ env "" }}`,
			},
		},

		// Top-level lists and tags.
		{
			name: "select tags",
			file: head + "_info:\n  select_tags: [a, a, \"\"]\n  defaults: {}\n",
			want: []string{
				`kvsync.yaml:3:20: _info.select_tags[1]: duplicate "a" (also at _info.select_tags[0])`,
				`kvsync.yaml:3:23: _info.select_tags[2]: must not be empty`,
				`kvsync.yaml:4:3: _info.defaults: unknown key "defaults": kvsync reads only select_tags from _info`,
			},
		},
		{
			name: "aliases resolve",
			file: head + "x-common: &c\n  minute: 5\nplugins:\n  - name: rate-limiting\n    config: *c\n",
			want: []string{`kvsync.yaml:2:1: x-common: unknown key "x-common" (known keys: _format_version, _konnect, _info, config_stores, vaults, plugins)`},
		},
		{
			name: "alias cycle",
			file: head + "plugins:\n  - name: p\n    config: &a\n      x: *a\n",
			want: []string{`kvsync.yaml:4:13: plugins[0].config.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x: nested more than 64 levels deep`},
		},
		{
			name: "merge keys",
			file: head + "plugins:\n  - name: p\n    config:\n      <<: {a: 1}\n",
			want: []string{`kvsync.yaml:5:7: plugins[0].config: YAML merge keys (<<) are not supported`},
		},
		{
			name: "non-finite numbers",
			file: head + "plugins:\n  - name: p\n    config:\n      a: .inf\n",
			want: []string{`kvsync.yaml:5:10: plugins[0].config.a: ".inf" is not a finite number`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inDir(t, map[string]string{"kvsync.yaml": tc.file})
			f, err := Load([]string{"kvsync.yaml"}, LoadOptions{LookupEnv: fakeEnv(tc.env)})
			if diff := cmp.Diff(tc.want, problemLines(t, err)); diff != "" {
				t.Errorf("problems differ (-want +got):\n%s", diff)
			}
			if (err != nil) != (f == nil) {
				t.Errorf("Load returned a File with an error, or neither")
			}
		})
	}
}
