// Package gokong is a compatibility test, in a Go module of its own so that
// kvsync's dependencies stay lean: it drives the Konnect emulator
// (pkg/konnect/konnecttest, started in-process) with Kong's own Go client,
// github.com/kong/go-kong, in Konnect mode as decK uses it, and lists,
// creates, upserts (PUT by id), updates and deletes every core-entities
// collection. `make test` runs it (cd compat/gokong && go test ./...).
package gokong
