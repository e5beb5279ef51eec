// Package conformance holds the OpenAPI conformance test of the Konnect
// client and emulator: it drives every endpoint the emulator serves, through
// the real client where it has a call and raw HTTP for error cases, and
// validates each request and response against the official Konnect specs
// (control-planes v2 and control-planes-config v2) read from
// KVSYNC_KONNECT_API_DIR (default <repo root>/../shared/konnect-api): 192
// endpoints, every core-entities collection with its nested routes, the
// consumer group memberships and PATCH of a control plane among them (the
// decK compatibility endpoints are not in the spec and are tested in
// konnecttest and compat/gokong instead). It also
// checks that no response ever carries a secret value. The package has no
// non-test code.
package conformance
