package apply

import (
	"context"
	"fmt"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
)

// clientExecutor maps each change to client calls on one control plane.
type clientExecutor struct {
	c    *konnect.Client
	cpID string
}

func (x *clientExecutor) execute(ctx context.Context, ch *diff.Change) (string, error) {
	var (
		id  string
		err error
	)
	switch {
	case ch.Kind == diff.KindConfigStore && ch.ConfigStore != nil:
		id, err = x.configStore(ctx, ch)
	case ch.Kind == diff.KindSecret && ch.Secret != nil:
		err = x.secret(ctx, ch)
	case ch.Kind == diff.KindVault && ch.Vault != nil:
		err = x.vault(ctx, ch)
	case ch.Kind == diff.KindPlugin && ch.Plugin != nil:
		err = x.plugin(ctx, ch)
	default:
		err = fmt.Errorf("no %s payload", ch.Kind)
	}
	// The Result carries the change: the error needs no prefix naming it.
	return id, err
}

func (x *clientExecutor) configStore(ctx context.Context, ch *diff.Change) (string, error) {
	op := ch.ConfigStore
	switch ch.Action {
	case diff.Create:
		s, err := x.c.ConfigStores.Create(ctx, x.cpID, op.Name)
		if err != nil {
			return "", err
		}
		return s.ID, nil
	case diff.Update:
		s, err := x.c.ConfigStores.Update(ctx, x.cpID, op.ID, op.Name)
		if err != nil {
			return "", err
		}
		return s.ID, nil
	case diff.Delete:
		// Force only takes the secrets the plan showed going with the
		// store: secrets added since then make Konnect refuse, and the
		// next diff shows them.
		err := x.c.ConfigStores.Delete(ctx, x.cpID, op.ID, op.Force && ch.ForceSecrets > 0)
		if konnect.IsNotFound(err) {
			return "", nil // already gone: the goal is reached
		}
		return "", err
	}
	return "", fmt.Errorf("unknown action %q", ch.Action)
}

func (x *clientExecutor) secret(ctx context.Context, ch *diff.Change) error {
	op := ch.Secret
	if op.StoreID == "" {
		return fmt.Errorf("the id of config store %q is unknown", op.StoreName)
	}
	switch ch.Action {
	case diff.Create:
		_, err := x.c.Secrets.Create(ctx, x.cpID, op.StoreID, op.Key, op.Value.Reveal())
		if konnect.IsConflict(err) {
			// The key appeared since the plan (a concurrent writer or a
			// run whose answer was lost): write the desired value.
			_, err = x.c.Secrets.Update(ctx, x.cpID, op.StoreID, op.Key, op.Value.Reveal())
		}
		return err
	case diff.Update:
		_, err := x.c.Secrets.Update(ctx, x.cpID, op.StoreID, op.Key, op.Value.Reveal())
		return err
	case diff.Delete:
		err := x.c.Secrets.Delete(ctx, x.cpID, op.StoreID, op.Key)
		if konnect.IsNotFound(err) {
			return nil
		}
		return err
	}
	return fmt.Errorf("unknown action %q", ch.Action)
}

func (x *clientExecutor) vault(ctx context.Context, ch *diff.Change) error {
	body := ch.Vault.Body
	switch ch.Action {
	case diff.Create, diff.Update:
		if ch.Vault.StoreName != "" {
			if id, _ := body.Config["config_store_id"].(string); id == "" {
				return fmt.Errorf("the id of config store %q is unknown", ch.Vault.StoreName)
			}
		}
		body.Config = state.RevealMap(body.Config)
	}
	switch ch.Action {
	case diff.Create:
		_, err := x.c.Vaults.Create(ctx, x.cpID, body)
		if konnect.IsConflict(err) {
			// The prefix was taken since the plan: converge by updating
			// that vault in place.
			live, gerr := x.c.Vaults.Get(ctx, x.cpID, body.Prefix)
			if gerr != nil {
				return err
			}
			body.ID = live.ID
			_, err = x.c.Vaults.Upsert(ctx, x.cpID, body)
		}
		return err
	case diff.Update:
		_, err := x.c.Vaults.Upsert(ctx, x.cpID, body)
		return err
	case diff.Delete:
		return x.c.Vaults.Delete(ctx, x.cpID, body.ID)
	}
	return fmt.Errorf("unknown action %q", ch.Action)
}

func (x *clientExecutor) plugin(ctx context.Context, ch *diff.Change) error {
	body := ch.Plugin.Body
	switch ch.Action {
	case diff.Create:
		body.Config = state.RevealMap(body.Config)
		_, err := x.c.Plugins.Create(ctx, x.cpID, body)
		return err
	case diff.Update:
		body.Config = state.RevealMap(body.Config)
		_, err := x.c.Plugins.Upsert(ctx, x.cpID, body)
		return err
	case diff.Delete:
		return x.c.Plugins.Delete(ctx, x.cpID, body.ID)
	}
	return fmt.Errorf("unknown action %q", ch.Action)
}
