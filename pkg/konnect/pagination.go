package konnect

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Page size limits: every List asks for the largest page its endpoint
// accepts, so a listing of N entities costs ceil(N/size) requests.
//
//   - Core entities (vaults, plugins, routes, services, consumers,
//     consumer_groups; size/offset): 1000. The Control Planes
//     Configuration spec (control-planes-config/v2/openapi.yaml,
//     PaginationSize) states "default: 100, maximum: 1000", as Kong's Admin
//     API does; the emulator answers 400 above 1000.
//   - Config stores and their secrets (page[size], cursor), and control
//     planes (page[size], page numbers): 100. Both specs leave page[size]
//     without a maximum (PageSize: "example: 10"); Konnect serves at most
//     100 per page, and the emulator enforces that as Konnect does (400
//     above 100).
const (
	maxCorePageSize    = 1000
	maxKonnectPageSize = 100
)

func pageSize(opts *ListOptions, most int) int {
	if opts == nil || opts.PageSize <= 0 || opts.PageSize > most {
		return most
	}
	return opts.PageSize
}

// listPageNumbers walks page-number pagination (control planes):
// page[size], page[number] from 1, until meta.page.total items were seen (or,
// without a total, a page comes back short) or a page is empty.
func listPageNumbers[T any](ctx context.Context, c *Client, path string, query url.Values, opts *ListOptions) ([]T, error) {
	size := pageSize(opts, maxKonnectPageSize)
	var all []T
	guard := c.newListing(path)
	for number := 1; ; number++ {
		q := cloneQuery(query)
		q.Set("page[size]", strconv.Itoa(size))
		q.Set("page[number]", strconv.Itoa(number))
		var page struct {
			Data []T `json:"data"`
			Meta struct {
				Page struct {
					Total *int `json:"total"`
				} `json:"page"`
			} `json:"meta"`
		}
		if err := c.do(ctx, &call{method: http.MethodGet, path: path, query: q}, &page); err != nil {
			return nil, err
		}
		if err := checkPage(guard, page.Data); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		// A page holds at least one item, so a list of N items has at
		// most N pages, however small the server makes them.
		if total := page.Meta.Page.Total; total != nil && number > *total+1 {
			return nil, fmt.Errorf("konnect: GET /v2%s: the server served page %d of a list of %d items: a listing that never ends", path, number, *total)
		}
		switch total := page.Meta.Page.Total; {
		case len(page.Data) == 0:
			return all, nil
		case total != nil:
			// Trust the total over the page length: the server may
			// serve smaller pages than asked for.
			if len(all) >= *total {
				return all, nil
			}
		case len(page.Data) < size:
			return all, nil
		}
		// Full pages without end (no total, or one that grows as fast).
		if err := endless(path, len(page.Data), number); err != nil {
			return nil, err
		}
	}
}

// listCursor walks cursor pagination (config stores, secrets): page[size]
// and page[after], taken from meta.page.next, a relative path such as
// "/config-stores?page[after]=X", until next is null.
func listCursor[T any](ctx context.Context, c *Client, path string, opts *ListOptions) ([]T, error) {
	size := pageSize(opts, maxKonnectPageSize)
	var pages [][]T
	guard := c.newListing(path)
	seen := map[string]bool{}
	after := ""
	for {
		q := url.Values{}
		q.Set("page[size]", strconv.Itoa(size))
		if after != "" {
			q.Set("page[after]", after)
		}
		var page struct {
			Data []T `json:"data"`
			Meta struct {
				Page struct {
					Next *string `json:"next"`
				} `json:"page"`
			} `json:"meta"`
		}
		if len(pages) > 0 {
			page.Data = make([]T, 0, len(pages[len(pages)-1])) // as walkOffsets does
		}
		if err := c.do(ctx, &call{method: http.MethodGet, path: path, query: q}, &page); err != nil {
			return nil, err
		}
		if err := checkPage(guard, page.Data); err != nil {
			return nil, err
		}
		pages = append(pages, page.Data)
		next := page.Meta.Page.Next
		if next == nil || *next == "" {
			return joinPages(pages), nil
		}
		if err := endless(path, len(page.Data), len(seen)); err != nil {
			return nil, err
		}
		cursor, err := cursorFromNext(*next)
		if err != nil {
			return nil, fmt.Errorf("konnect: GET /v2%s: %w", path, err)
		}
		if seen[cursor] {
			return nil, fmt.Errorf("konnect: GET /v2%s: the server repeated page cursor %q", path, cursor)
		}
		seen[cursor] = true
		after = cursor
	}
}

func cursorFromNext(next string) (string, error) {
	u, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("unreadable next page link %q: %w", next, err)
	}
	after := u.Query().Get("page[after]")
	if after == "" {
		return "", fmt.Errorf("next page link %q has no page[after]", next)
	}
	return after, nil
}

// listOffsets walks Kong Admin API pagination (core entities): size and
// offset, until the answer carries no offset.
func listOffsets[T any](ctx context.Context, c *Client, path string, opts *ListOptions) ([]T, error) {
	var pages [][]T
	err := walkOffsets(ctx, c, path, opts, func(page []T, _ bool) bool {
		pages = append(pages, page)
		return true
	})
	if err != nil {
		return nil, err
	}
	return joinPages(pages), nil
}

// joinPages is a listing's items in order. The pages are joined once, at
// the end, into a slice of the exact size: appending each page as it came
// would copy a listing of 10,000 plugins about twice over, and leave as
// much garbage.
func joinPages[T any](pages [][]T) []T {
	if len(pages) == 1 {
		return pages[0]
	}
	return slices.Concat(pages...)
}

// walkOffsets hands each page of a core entity listing to fn, in order,
// with last set on the last page, until the last page or until fn returns
// false (then no further page is asked for).
func walkOffsets[T any](ctx context.Context, c *Client, path string, opts *ListOptions, fn func(page []T, last bool) bool) error {
	size := pageSize(opts, maxCorePageSize)
	base := url.Values{}
	base.Set("size", strconv.Itoa(size))
	if opts != nil && len(opts.Tags) > 0 {
		for _, t := range opts.Tags {
			// Kong reads ',' as AND and '/' as OR, so a tag holding
			// either cannot be asked for.
			if t == "" || strings.ContainsAny(t, ",/") {
				return fmt.Errorf("konnect: GET /v2%s: cannot filter by tag %q", path, t)
			}
		}
		base.Set("tags", strings.Join(opts.Tags, ","))
	}
	guard := c.newListing(path)
	seen := map[string]bool{}
	offset := ""
	// next sizes the slice the next page decodes into: a page after a
	// full one is as long, and decoding into room made for it spares
	// growing the slice item by item (about as much garbage again as
	// the items). The first page, whose length is not known, grows.
	next := 0
	for {
		q := cloneQuery(base)
		if offset != "" {
			q.Set("offset", offset)
		}
		var page struct {
			Data   []T     `json:"data"`
			Offset *string `json:"offset"`
		}
		page.Data = make([]T, 0, next)
		if err := c.do(ctx, &call{method: http.MethodGet, path: path, query: q}, &page); err != nil {
			return err
		}
		if err := checkPage(guard, page.Data); err != nil {
			return err
		}
		next = len(page.Data)
		last := page.Offset == nil || *page.Offset == ""
		if !fn(page.Data, last) || last {
			return nil
		}
		if err := endless(path, len(page.Data), len(seen)); err != nil {
			return err
		}
		if seen[*page.Offset] {
			return fmt.Errorf("konnect: GET /v2%s: the server repeated offset %q", path, *page.Offset)
		}
		seen[*page.Offset] = true
		offset = *page.Offset
	}
}

// maxPages bounds any listing: a hundred thousand pages is tens of
// millions of entities, far past any control plane.
var maxPages = 100000 // a variable only so that a test can lower it

// endless stops a listing that cannot end: an empty page that still points
// to a next one, or more pages than any real list has. A server handing
// out a fresh cursor every time is caught by one or the other.
func endless(path string, items, pagesSoFar int) error {
	switch {
	case items == 0:
		return fmt.Errorf("konnect: GET /v2%s: the server sent an empty page that points to a next one: a listing that never ends", path)
	case pagesSoFar >= maxPages:
		return fmt.Errorf("konnect: GET /v2%s: more than %d pages: a listing that never ends", path, maxPages)
	}
	return nil
}

func cloneQuery(q url.Values) url.Values {
	out := make(url.Values, len(q)+2)
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
