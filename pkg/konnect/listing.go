package konnect

import (
	"fmt"
	"time"
)

// Bounds of one listing (one List call, all its pages). A real list ends;
// a server that hands out a fresh cursor with one new item per page, or
// repeats its pages, must not hold a run, or fill its memory, until the
// run's deadline.
const (
	// DefaultMaxListItems bounds the items of one listing: five times
	// the largest listing kvsync makes in its benchmarks (10,000
	// plugins), and far from what fills a CI runner's memory: 50,000
	// plugins with rate-limiting's configs hold about 160 MB
	// (BenchmarkListAtItemBound).
	DefaultMaxListItems = 50000
	// DefaultMaxListDuration bounds the time one listing takes, from its
	// first request to its last page. A real listing is tens of pages
	// (100 stores or secrets, 1,000 core entities a page): seconds, or
	// a minute or two when Konnect throttles it.
	DefaultMaxListDuration = 5 * time.Minute
)

// lister is implemented by the entities a listing can tell apart: its key
// is unique within one listing (an id, a secret's key).
type lister interface{ listKey() string }

func (x ControlPlane) listKey() string      { return x.ID }
func (x ConfigStore) listKey() string       { return x.ID }
func (x ConfigStoreSecret) listKey() string { return x.Key }
func (x Vault) listKey() string             { return x.ID }
func (x Plugin) listKey() string            { return x.ID }
func (x Route) listKey() string             { return x.ID }
func (x Service) listKey() string           { return x.ID }
func (x Consumer) listKey() string          { return x.ID }
func (x ConsumerGroup) listKey() string     { return x.ID }

// listing watches one listing for what no real list does: an item seen
// twice, more items than DefaultMaxListItems (Options.MaxListItems), a
// listing running longer than Options.MaxListDuration. What it retains is
// the keys of the items seen so far, so it never holds more than the item
// bound's worth of keys.
type listing struct {
	path     string
	start    time.Time
	now      func() time.Time
	maxItems int
	maxTime  time.Duration
	seen     map[string]struct{}
	items    int
}

func (c *Client) newListing(path string) *listing {
	return &listing{path: path, start: c.now(), now: c.now, maxItems: c.opts.MaxListItems, maxTime: c.opts.MaxListDuration, seen: map[string]struct{}{}}
}

// checkPage checks the next page of the listing, once it has been read
// and before the next one is asked for.
func checkPage[T any](l *listing, data []T) error {
	for i := range data {
		k, ok := any(data[i]).(lister)
		if !ok || k.listKey() == "" {
			continue
		}
		key := k.listKey()
		if _, dup := l.seen[key]; dup {
			return fmt.Errorf("konnect: GET /v2%s: the server sent item %q twice in one listing (after %d items): its paging is broken, or the list changed while it was read (run again); a listing that never ends is not followed", l.path, key, l.items+i)
		}
		l.seen[key] = struct{}{}
	}
	l.items += len(data)
	if l.maxItems > 0 && l.items > l.maxItems {
		return fmt.Errorf("konnect: GET /v2%s: more than %d items in one listing, the most kvsync reads (--max-list-items): a listing that never ends, or a control plane far larger than kvsync expects", l.path, l.maxItems)
	}
	if took := l.now().Sub(l.start); l.maxTime > 0 && took > l.maxTime {
		return fmt.Errorf("konnect: GET /v2%s: the listing has run for %s (%d items so far), longer than any real one takes (--max-list-duration %s): a listing that never ends", l.path, took.Round(time.Second), l.items, l.maxTime)
	}
	return nil
}
