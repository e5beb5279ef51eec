package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/kvsync/kvsync/pkg/diff"
)

// exitDeletesLeftOut ends a sync that applied everything but its deletes,
// which nobody consented to (no terminal to ask, no --yes, no reviewed
// plan). 3 is diff's exitNotCompared.
const exitDeletesLeftOut = 4

// applyNeverDeletes is the plan's note for the deletes apply leaves out.
const applyNeverDeletes = "apply never deletes (sync would)"

// noConsentWhy is the plan's note for the deletes a sync left out.
const noConsentWhy = "without a terminal to ask, sync deletes only with --yes (KVSYNC_YES=true) or a reviewed plan (--plan)"

// deleteConsent reports whether a sync may plan deletes: --yes (or
// KVSYNC_YES), a reviewed plan (--plan: the deletes were reviewed), or a
// terminal, where confirmDeletes asks. Without any, deletes are left out:
// a file that forgot another team's vault must not delete it in CI.
func (p *program) deleteConsent(c *cli.Context, reviewed bool) bool {
	return c.Bool(flagYes) || reviewed || p.interactive()
}

// deletesLeftOut ends a sync whose deletes were left out for want of
// consent: exit 4, after everything else was applied.
type deletesLeftOut struct{ n int }

func (e *deletesLeftOut) Error() string {
	return fmt.Sprintf("%d delete%s left out: %s; everything else was applied", e.n, diff.Plural(e.n), noConsentWhy)
}

func isDeletesLeftOut(err error) bool {
	var d *deletesLeftOut
	return errors.As(err, &d)
}
