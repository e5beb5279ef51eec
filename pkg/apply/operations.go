package apply

import (
	"context"
	"fmt"
	"maps"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
)

// operation executes one change of a kind: the plan says what to send
// (the change's Op, plain data), the operation sends it. It returns what
// Konnect answered of the entity it created or updated: its id, which
// later changes may use through an IDRef, and its updated_at.
type operation func(ctx context.Context, t *target, ch *diff.Change) (diff.Applied, error)

// operations are the executors, keyed by kind: one entry per kind of the
// table in pkg/diff (a test checks that none is missing).
var operations = map[diff.Kind]operation{
	diff.KindConfigStore: applyConfigStore,
	diff.KindSecret:      applySecret,
	diff.KindVault:       applyVault,
	diff.KindPlugin:      applyPlugin,
}

// target is where operations run: one control plane, and the ids the
// changes that already ran produced.
type target struct {
	client *konnect.Client
	cpID   string
	// produced returns the id a change of the same plan produced when it
	// ran; ok is false when it has not (yet) run or produced none.
	produced func(c *diff.Change) (id string, ok bool)
	// speculative: the change runs before the plan is confirmed (see
	// speculate.go): a create must not turn into a write over what
	// exists.
	speculative bool
}

// resolve returns the id an IDRef names: the known one, or the one its
// change produced.
func (t *target) resolve(r diff.IDRef) (string, error) {
	if r.Known != "" {
		return r.Known, nil
	}
	if r.From != nil && t.produced != nil {
		if id, ok := t.produced(r.From); ok && id != "" {
			return id, nil
		}
	}
	what := "the entity"
	if r.From != nil {
		what = r.From.Kind.Label() + " " + r.From.Name
	}
	return "", fmt.Errorf("the id of %s is unknown (the change that creates it has not run)", what)
}

// execute runs a change's operation. The Result carries the change, so the
// error needs no prefix naming it.
func execute(ctx context.Context, ch *diff.Change, t *target) (diff.Applied, error) {
	op := operations[ch.Kind]
	if op == nil || ch.Op == nil {
		return diff.Applied{}, fmt.Errorf("no operation for %s", ch.String())
	}
	return op(ctx, t, ch)
}

func cannot(label string, a diff.Action) error {
	return fmt.Errorf("a %s cannot be %sd", label, a)
}

// applyConfigStore creates or deletes the store; a create returns the new
// id. A forced delete takes the secrets the plan showed, one by one, then
// the store without force, so that a secret added since the plan makes
// Konnect refuse and survives.
func applyConfigStore(ctx context.Context, t *target, ch *diff.Change) (diff.Applied, error) {
	o, ok := ch.Op.(*diff.ConfigStoreOp)
	if !ok {
		return diff.Applied{}, fmt.Errorf("no config store operation for %s", ch)
	}
	switch ch.Action {
	case diff.Create:
		s, err := t.client.ConfigStores.Create(ctx, t.cpID, o.Name)
		if err != nil {
			return diff.Applied{}, err
		}
		return diff.Applied{ID: s.ID, UpdatedAt: s.UpdatedAt}, nil
	case diff.Delete:
		for _, key := range o.SecretKeys {
			if err := t.client.Secrets.Delete(ctx, t.cpID, o.ID, key); err != nil && !konnect.IsNotFound(err) {
				return diff.Applied{}, fmt.Errorf("deleting its secret %q: %w", key, err)
			}
		}
		err := t.client.ConfigStores.Delete(ctx, t.cpID, o.ID, false)
		switch {
		case konnect.IsNotFound(err):
			return diff.Applied{}, nil // already gone: the goal is reached
		case konnect.IsBadRequest(err) || konnect.IsConflict(err):
			return diff.Applied{}, fmt.Errorf("not deleted: it holds secrets the plan did not show (added since the plan); the next diff shows them: %w", err)
		}
		return diff.Applied{}, err
	}
	return diff.Applied{}, cannot("config store", ch.Action)
}

// applySecret creates, writes or deletes the secret. A key that appeared
// since the plan (a concurrent writer, or a run whose answer was lost) gets
// the desired value written instead: Konnect refuses the create of an
// existing key with a 400 (the spec declares no 409), so a refused create
// reads the key back. Deleting a key already gone succeeds.
func applySecret(ctx context.Context, t *target, ch *diff.Change) (diff.Applied, error) {
	o, ok := ch.Op.(*diff.SecretOp)
	if !ok {
		return diff.Applied{}, fmt.Errorf("no secret operation for %s", ch)
	}
	storeID, err := t.resolve(o.Store)
	if err != nil {
		return diff.Applied{}, err
	}
	c, cpID := t.client, t.cpID
	var written *konnect.ConfigStoreSecret
	switch ch.Action {
	case diff.Create:
		written, err = c.Secrets.Create(ctx, cpID, storeID, o.Key, o.Value)
		if (konnect.IsConflict(err) || konnect.IsBadRequest(err)) && !t.speculative {
			if _, gerr := c.Secrets.Get(ctx, cpID, storeID, o.Key); gerr == nil {
				written, err = c.Secrets.Update(ctx, cpID, storeID, o.Key, o.Value)
			}
		}
	case diff.Update:
		written, err = c.Secrets.Update(ctx, cpID, storeID, o.Key, o.Value)
	case diff.Delete:
		err := c.Secrets.Delete(ctx, cpID, storeID, o.Key)
		if konnect.IsNotFound(err) {
			return diff.Applied{}, nil
		}
		return diff.Applied{}, err
	default:
		return diff.Applied{}, cannot("secret", ch.Action)
	}
	if err != nil {
		return diff.Applied{}, err
	}
	return diff.Applied{UpdatedAt: written.UpdatedAt}, nil
}

// applyVault creates, updates or deletes the vault, with its store's id
// (known, or produced by the store's create) in config.config_store_id. A
// prefix taken since the plan (409) converges by updating that vault in
// place.
func applyVault(ctx context.Context, t *target, ch *diff.Change) (diff.Applied, error) {
	o, ok := ch.Op.(*diff.VaultOp)
	if !ok {
		return diff.Applied{}, fmt.Errorf("no vault operation for %s", ch)
	}
	c, cpID, body := t.client, t.cpID, o.Body
	if ch.Action == diff.Delete {
		return diff.Applied{}, c.Vaults.Delete(ctx, cpID, body.ID)
	}
	if !o.Store.IsZero() {
		id, err := t.resolve(o.Store)
		if err != nil {
			return diff.Applied{}, err
		}
		body.Config = maps.Clone(body.Config)
		if body.Config == nil {
			body.Config = map[string]any{}
		}
		body.Config["config_store_id"] = id
	}
	var v *konnect.Vault
	var err error
	switch ch.Action {
	case diff.Create:
		v, err = c.Vaults.Create(ctx, cpID, body)
		if konnect.IsConflict(err) {
			live, gerr := c.Vaults.Get(ctx, cpID, body.Prefix)
			if gerr != nil {
				return diff.Applied{}, err
			}
			body.ID = live.ID
			v, err = c.Vaults.Upsert(ctx, cpID, body)
		}
	case diff.Update:
		v, err = c.Vaults.Upsert(ctx, cpID, body)
	default:
		return diff.Applied{}, cannot("vault", ch.Action)
	}
	if err != nil {
		return diff.Applied{}, err
	}
	return diff.Applied{ID: v.ID}, nil
}

// applyPlugin creates, updates (PUT) or deletes the plugin.
func applyPlugin(ctx context.Context, t *target, ch *diff.Change) (diff.Applied, error) {
	o, ok := ch.Op.(*diff.PluginOp)
	if !ok {
		return diff.Applied{}, fmt.Errorf("no plugin operation for %s", ch)
	}
	c, cpID := t.client, t.cpID
	var p *konnect.Plugin
	var err error
	switch ch.Action {
	case diff.Create:
		p, err = c.Plugins.Create(ctx, cpID, o.Body)
	case diff.Update:
		p, err = c.Plugins.Upsert(ctx, cpID, o.Body)
	case diff.Delete:
		return diff.Applied{}, c.Plugins.Delete(ctx, cpID, o.Body.ID)
	default:
		return diff.Applied{}, cannot("plugin", ch.Action)
	}
	if err != nil {
		return diff.Applied{}, err
	}
	return diff.Applied{ID: p.ID}, nil
}
