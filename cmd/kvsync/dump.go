package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state"
)

func (p *program) dumpCommand() *cli.Command {
	return &cli.Command{
		Name:  "dump",
		Usage: "write the live state as a kvsync file (secret values become ${{ env \"…\" }} placeholders)",
		Flags: flags([]cli.Flag{
			&cli.StringFlag{Name: flagOutputFile, Aliases: []string{"o"}, Usage: "write to `FILE` (- is standard output)", Value: "-"},
			&cli.BoolFlag{Name: flagAll, Usage: "everything in the control plane, not only what the select tags scope"},
			selectTagFlag(),
		}, connectionFlags()),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("dump takes no arguments (write to a file with -o FILE)")
			}
			s, err := p.readSettings(c)
			if err != nil {
				return err
			}
			if s.controlPlane == "" {
				return fmt.Errorf("dump needs a control plane: pass --%s or set KVSYNC_KONNECT_CONTROL_PLANE_NAME", flagControlPlane)
			}
			tags, err := diff.ResolveSelectTags(nil, s.selectTags)
			if err != nil {
				return err
			}
			client, err := s.client()
			if err != nil {
				return err
			}
			ctx, stop := p.signalContext()
			defer stop()
			f, err := dumpState(ctx, client, s.controlPlane, tags, c.Bool(flagAll))
			if err != nil {
				return err
			}
			if len(s.selectTags) > 0 {
				f.SelectTags = tags
			}
			data, envNames, err := state.MarshalEnv(f)
			if err != nil {
				return err
			}
			out := c.String(flagOutputFile)
			if out == "-" || out == "" {
				if _, err := p.stdout.Write(data); err != nil {
					return err
				}
			} else if err := os.WriteFile(out, data, 0o644); err != nil {
				return err
			}
			what := fmt.Sprintf("control plane %s, %s, %s, %s", f.ControlPlaneName, countOf(len(f.ConfigStores), "config store"),
				countOf(len(f.Vaults), "vault"), countOf(len(f.Plugins), "plugin"))
			summary := "Dumped " + what + "."
			if out != "-" && out != "" {
				summary = "Wrote " + out + ": " + what + "."
			}
			fmt.Fprintln(p.stderr, summary)
			if len(envNames) > 0 {
				fmt.Fprintf(p.stderr, "Konnect never returns secret values: set %s before diff or sync.\n", strings.Join(envNames, ", "))
			}
			return nil
		},
	}
}

// dumpState reads the control plane and returns it as a desired state
// that diff finds in sync: in-scope vaults and plugins (or all of them),
// the config stores those vaults use (or all) with their secret keys,
// references by name, and server-filled defaults left out.
func dumpState(ctx context.Context, c *konnect.Client, cpRef string, tags []string, all bool) (*state.File, error) {
	cp, err := c.ControlPlanes.Resolve(ctx, cpRef)
	if err != nil {
		return nil, fmt.Errorf("control plane %q: %w", cpRef, err)
	}
	var (
		stores   []konnect.ConfigStore
		vaults   []konnect.Vault
		plugins  []konnect.Plugin
		routes   []konnect.Route
		services []konnect.Service
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { stores, err = c.ConfigStores.List(gctx, cp.ID, nil); return })
	g.Go(func() (err error) { vaults, err = c.Vaults.List(gctx, cp.ID, nil); return })
	g.Go(func() (err error) { plugins, err = c.Plugins.List(gctx, cp.ID, nil); return })
	g.Go(func() (err error) { routes, err = c.Routes.List(gctx, cp.ID, nil); return })
	g.Go(func() (err error) { services, err = c.Services.List(gctx, cp.ID, nil); return })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	inScope := func(have []string) bool {
		if all {
			return true
		}
		for _, t := range tags {
			if !slices.Contains(have, t) {
				return false
			}
		}
		return true
	}
	storeByID := map[string]konnect.ConfigStore{}
	for _, s := range stores {
		storeByID[s.ID] = s
	}

	f := &state.File{FormatVersion: "3.0", ControlPlaneName: cp.Name}
	wantStores := map[string]bool{}
	for _, v := range vaults {
		if !inScope(v.Tags) {
			continue
		}
		f.Vaults = append(f.Vaults, dumpVault(v, storeByID, tags, wantStores))
	}
	var keep []konnect.ConfigStore
	for _, s := range stores {
		if all || wantStores[s.ID] {
			keep = append(keep, s)
		}
	}
	secrets := make([][]konnect.ConfigStoreSecret, len(keep))
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, s := range keep {
		g.Go(func() (err error) {
			secrets[i], err = c.Secrets.List(gctx, cp.ID, s.ID, nil)
			if err != nil {
				err = fmt.Errorf("config store %q: %w", s.Name, err)
			}
			return
		})
	}
	var scoped []konnect.Plugin
	for _, pl := range plugins {
		if inScope(pl.Tags) {
			scoped = append(scoped, pl)
		}
	}
	var schemaNames []string
	for _, pl := range scoped {
		if !slices.Contains(schemaNames, pl.Name) {
			schemaNames = append(schemaNames, pl.Name)
		}
	}
	schemas := map[string]*kong.PluginSchema{}
	var schemaMu sync.Mutex
	for _, name := range schemaNames {
		g.Go(func() error {
			sc, err := c.PluginSchemas.Get(gctx, cp.ID, name)
			if err != nil {
				return fmt.Errorf("plugin schema %q: %w", name, err)
			}
			schemaMu.Lock()
			schemas[name] = kong.NewPluginSchema(sc.Fields)
			schemaMu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, s := range keep {
		ds := state.ConfigStore{Name: s.Name}
		keys := make([]string, 0, len(secrets[i]))
		for _, sec := range secrets[i] {
			keys = append(keys, sec.Key)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ds.Secrets = append(ds.Secrets, state.Secret{Key: k})
		}
		f.ConfigStores = append(f.ConfigStores, ds)
	}

	names := refNames{routes: map[string]string{}, services: map[string]string{}}
	for _, r := range routes {
		if r.Name != "" {
			names.routes[r.ID] = r.Name
		}
	}
	for _, s := range services {
		if s.Name != "" {
			names.services[s.ID] = s.Name
		}
	}
	for _, pl := range scoped {
		dp, err := dumpPlugin(ctx, c, cp.ID, pl, schemas[pl.Name], tags, names)
		if err != nil {
			return nil, err
		}
		f.Plugins = append(f.Plugins, dp)
	}
	sort.SliceStable(f.Vaults, func(i, j int) bool { return f.Vaults[i].Prefix < f.Vaults[j].Prefix })
	sort.SliceStable(f.ConfigStores, func(i, j int) bool { return f.ConfigStores[i].Name < f.ConfigStores[j].Name })
	return f, nil
}

func dumpVault(v konnect.Vault, storeByID map[string]konnect.ConfigStore, tags []string, wantStores map[string]bool) state.Vault {
	cfg := pruneDefaults(v.Config, func(m map[string]any) map[string]any { return kong.VaultConfigDefaults(v.Name, m) })
	dv := state.Vault{Name: v.Name, Prefix: v.Prefix, Description: v.Description, Tags: extraTags(v.Tags, tags)}
	if id, ok := cfg["config_store_id"].(string); ok && id != "" {
		wantStores[id] = true
		if s, known := storeByID[id]; known {
			delete(cfg, "config_store_id")
			dv.ConfigStore = s.Name
		}
	}
	hideCredentials(map[string]any{"config": cfg}, kong.VaultCredentialPaths())
	if len(cfg) > 0 {
		dv.Config = cfg
	}
	return dv
}

type refNames struct{ routes, services map[string]string }

func dumpPlugin(ctx context.Context, c *konnect.Client, cpID string, pl konnect.Plugin, schema *kong.PluginSchema, tags []string, names refNames) (state.Plugin, error) {
	dp := state.Plugin{Name: pl.Name, Tags: extraTags(pl.Tags, tags)}
	if pl.InstanceName != nil && *pl.InstanceName != "" {
		dp.InstanceName = *pl.InstanceName
	}
	if pl.Enabled != nil && !*pl.Enabled {
		disabled := false
		dp.Enabled = &disabled
	}
	if pl.Route != nil {
		dp.Route = nameOr(names.routes, pl.Route.ID)
	}
	if pl.Service != nil {
		dp.Service = nameOr(names.services, pl.Service.ID)
	}
	if pl.Consumer != nil {
		dp.Consumer = pl.Consumer.ID
		if cons, err := c.Consumers.Get(ctx, cpID, pl.Consumer.ID); err == nil && cons.Username != "" {
			dp.Consumer = cons.Username
		} else if err != nil && !konnect.IsNotFound(err) {
			return dp, fmt.Errorf("plugin %s: consumer: %w", pl.Name, err)
		}
	}
	if pl.ConsumerGroup != nil {
		dp.ConsumerGroup = pl.ConsumerGroup.ID
		if cg, err := c.ConsumerGroups.Get(ctx, cpID, pl.ConsumerGroup.ID); err == nil && cg.Name != "" {
			dp.ConsumerGroup = cg.Name
		} else if err != nil && !konnect.IsNotFound(err) {
			return dp, fmt.Errorf("plugin %s: consumer group: %w", pl.Name, err)
		}
	}
	cfg := pl.Config
	if schema != nil {
		cfg = pruneDefaults(pl.Config, schema.ConfigDefaults)
		if !sameSet(pl.Protocols, schema.DefaultProtocols()) {
			dp.Protocols = pl.Protocols
		}
		hideCredentials(map[string]any{"config": cfg}, schema.EncryptedPaths())
	} else {
		dp.Protocols = pl.Protocols
	}
	if len(cfg) > 0 {
		dp.Config = cfg
	}
	return dp, nil
}

func nameOr(names map[string]string, id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	return id
}

// extraTags are the entity's tags beyond the select tags, which kvsync adds
// by itself; nil when none.
func extraTags(have, selectTags []string) []string {
	var out []string
	for _, t := range have {
		if !slices.Contains(selectTags, t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

// hideCredentials turns the non-empty string values found at the given
// paths (credentials: encrypted schema fields, vault credential fields) into
// Sensitive values, so that the file gets placeholders instead of the
// credentials; vault references stay as they are.
func hideCredentials(tree map[string]any, paths []kong.Path) {
	var walk func(p kong.Path, v any, set func(any))
	walk = func(p kong.Path, v any, set func(any)) {
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				walk(p.With(k), e, func(n any) { t[k] = n })
			}
		case []any:
			for i, e := range t {
				walk(p.With(i), e, func(n any) { t[i] = n })
			}
		case string:
			if t != "" && !kong.IsVaultRef(t) && p.Within(paths) {
				set(state.NewSensitive(t))
			}
		}
	}
	walk(nil, tree, nil)
}

// pruneDefaults returns a copy of a live config without the fields that
// fill would put back as they are: removing each field (a whole subtree
// first, then inside it) is kept only when fill of the result still equals
// the live config, so the pruned config compares equal by construction.
// A config that fill changes (fields the schema does not know how to fill)
// is returned whole.
func pruneDefaults(live map[string]any, fill func(map[string]any) map[string]any) map[string]any {
	target, err := canonical(live)
	if err != nil {
		return copyMap(live)
	}
	if c, err := canonical(fill(copyMap(live))); err != nil || !bytes.Equal(c, target) {
		return copyMap(live)
	}
	cand := copyMap(live)
	same := func() bool {
		c, err := canonical(fill(cand))
		return err == nil && bytes.Equal(c, target)
	}
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := m[k]
			delete(m, k)
			if same() {
				continue
			}
			m[k] = v
			if sub, ok := v.(map[string]any); ok {
				walk(sub)
			}
		}
	}
	walk(cand)
	return cand
}

func canonical(v any) ([]byte, error) { return json.Marshal(v) }

// copyMap deep-copies a JSON-shaped map.
func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return m
	}
	return out
}

func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
