// Package ci holds the end-to-end test of the CI kit: the example files
// run by the real CI runners (nektos/act, gitlab-ci-local) against the
// Konnect emulator and a fake GitHub API. This file gives the package a
// non-test file, so that `make compile` can build it.
package ci
