package diff

import (
	"github.com/hashicorp/go-multierror"

	"github.com/kvsync/kvsync/pkg/state"
)

// CheckOnline is the online half of validation, changing nothing: the
// file's references to vaults and stores that exist only remotely, then
// each kind's checks against the live state (plugin configs against the
// live schemas, vault configs against their type). Problems are located in
// the file; they come as a *state.Problems or a *multierror.Error.
func CheckOnline(f *state.File, live *Live) error {
	remote := state.Remote{}
	for _, v := range live.Vaults {
		remote.VaultPrefixes = append(remote.VaultPrefixes, v.Prefix)
	}
	for _, s := range live.ConfigStores {
		remote.ConfigStores = append(remote.ConfigStores, s.Name)
	}
	if err := state.CheckReferences(f, remote); err != nil {
		return err
	}
	var problems *multierror.Error
	for _, d := range kinds {
		if d.check != nil {
			problems = multierror.Append(problems, d.check(f, live)...)
		}
	}
	return problems.ErrorOrNil()
}
