package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kvsync/kvsync/pkg/konnect"
)

// The bounds of a run that Konnect's behaviour cannot stretch (README:
// "When Konnect misbehaves").
const (
	flagThrottleBudget  = "throttle-budget"
	flagMaxListItems    = "max-list-items"
	flagMaxListDuration = "max-list-duration"
)

func boundFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagThrottleBudget, Usage: "end the run when Konnect has answered nothing but 429 (rate limited) for this long" + envHint("KVSYNC_THROTTLE_BUDGET"), Value: konnect.DefaultThrottleBudget.String()},
		&cli.IntFlag{Name: flagMaxListItems, Usage: "the most items one listing may hold before it counts as one that never ends" + envHint("KVSYNC_MAX_LIST_ITEMS"), Value: konnect.DefaultMaxListItems},
		&cli.StringFlag{Name: flagMaxListDuration, Usage: "the longest one listing (all its pages) may take before it counts as one that never ends" + envHint("KVSYNC_MAX_LIST_DURATION"), Value: konnect.DefaultMaxListDuration.String()},
	}
}

// bounds are the resolved bound flags.
type bounds struct {
	throttleBudget, maxListDuration time.Duration
	maxListItems                    int
}

func readBounds(c *cli.Context) (bounds, error) {
	var b bounds
	for _, d := range []struct {
		flag, env string
		to        *time.Duration
	}{{flagThrottleBudget, "KVSYNC_THROTTLE_BUDGET", &b.throttleBudget}, {flagMaxListDuration, "KVSYNC_MAX_LIST_DURATION", &b.maxListDuration}} {
		v := setting(c, d.flag, d.env)
		var err error
		if *d.to, err = time.ParseDuration(strings.TrimSpace(v)); err != nil || *d.to <= 0 {
			return b, fmt.Errorf("--%s %s: want a duration like 5m", d.flag, shown(v))
		}
	}
	v := setting(c, flagMaxListItems, "KVSYNC_MAX_LIST_ITEMS")
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return b, fmt.Errorf("--%s %s: want a number of at least 1", flagMaxListItems, shown(v))
	}
	b.maxListItems = n
	return b, nil
}

// apply sets the bounds on a client's options.
func (b bounds) apply(o *konnect.Options) {
	o.ThrottleBudget, o.MaxListItems, o.MaxListDuration = b.throttleBudget, b.maxListItems, b.maxListDuration
}
