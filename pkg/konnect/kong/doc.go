// Package kong holds Kong's own rules, each written once, without HTTP:
// vault reference syntax, vault types, prefixes, credential fields and
// config defaults, and the interpretation of Kong's schema language
// (defaults, validation, encrypted fields). pkg/state validates files with
// it, pkg/diff predicts what Konnect stores with it, the dump writes files
// with it and the emulator (konnecttest) behaves like Konnect with it, so
// all of them agree by construction. The Konnect client (pkg/konnect) does
// not use it: it moves entities, it does not interpret them.
package kong
