package diff

import (
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/kong"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// Live is the remote state of one control plane, as far as a plan needs it.
// Each kind's fetch fills its own fields.
type Live struct {
	ControlPlane konnect.ControlPlane
	ConfigStores []konnect.ConfigStore
	// Secrets holds each listed store's secret keys, by store id.
	Secrets map[string][]konnect.ConfigStoreSecret
	Vaults  []konnect.Vault
	Plugins []konnect.Plugin
	// Routes, Services, Consumers and ConsumerGroups hold the entities the
	// desired state names, keyed by the name or id the file used, and
	// those the live plugins in scope use besides, keyed by id.
	Routes         map[string]konnect.Route
	Services       map[string]konnect.Service
	Consumers      map[string]konnect.Consumer
	ConsumerGroups map[string]konnect.ConsumerGroup
	// Schemas are the plugin schemas of every plugin name in either state.
	Schemas map[string]*kong.PluginSchema
}

// FetchOptions tune Fetch.
type FetchOptions struct {
	// ControlPlane is a name or id; it overrides the file's
	// _konnect.control_plane_name.
	ControlPlane string
	// SelectTags, as in Options: they decide which config stores could be
	// in scope, and so whose secrets are listed.
	SelectTags []string
	// All puts every live entity in scope, whatever its tags (dump --all).
	All bool
	// Previous is what this run fetched before, when it fetches again (a
	// sync re-plans under its lock): its control plane is not resolved
	// again, and its stores' secrets are listed at once, beside the store
	// listing, so that the second fetch costs one round trip, not three.
	Previous *Live
	// Resolved, when set, is called once the control plane is known, before
	// anything in it is read (a sync takes its lock meanwhile).
	Resolved func(konnect.ControlPlane)
	// Ours, when set, names the stores whose secrets are not listed: a
	// sync's own, made while it plans again, which it takes out of what it
	// read.
	Ours func(storeID string) bool
}

// Options tune Compute.
type Options struct {
	// SelectTags override the file's _info.select_tags (they must agree
	// when both are given). Default: [state.DefaultSelectTag].
	SelectTags []string
	// Sum is the record of the secret values kvsync wrote (kvsync.sum),
	// against which desired values and Konnect's updated_at compare. Nil
	// compares secrets by existence only (--no-sum).
	Sum *sum.File
	// WriteSecrets writes the value of every declared secret that exists;
	// WriteSecret those named "STORE/KEY". Both also apply with a Sum.
	WriteSecrets bool
	WriteSecret  []string
	// NoDeletes leaves every delete out of the plan (kvsync apply), and
	// notes how many.
	NoDeletes bool
	// NoDeletesWhy is the reason the note gives for the deletes left out
	// (default: kvsync apply's).
	NoDeletesWhy string
	// Adopt takes over declared entities that carry other tags than the
	// select tags (kvsync adds its tags to theirs); without it they are an
	// error. Untagged ones are adopted either way.
	Adopt bool
}
