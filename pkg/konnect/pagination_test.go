package konnect

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// queryLog records the raw queries a handler saw.
type queryLog struct {
	mu sync.Mutex
	qs []string
}

func (l *queryLog) add(r *http.Request) {
	l.mu.Lock()
	l.qs = append(l.qs, r.URL.Query().Encode())
	l.mu.Unlock()
}

func (l *queryLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.qs, "\n")
}

func TestControlPlanesPageNumbers(t *testing.T) {
	const total = 7
	var log queryLog
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		size, _ := strconv.Atoi(r.URL.Query().Get("page[size]"))
		number, _ := strconv.Atoi(r.URL.Query().Get("page[number]"))
		var items []string
		for i := (number - 1) * size; i < min(total, number*size); i++ {
			items = append(items, fmt.Sprintf(`{"id":"id-%d","name":"cp"}`, i))
		}
		writeJSON(w, 200, fmt.Sprintf(`{"data":[%s],"meta":{"page":{"number":%d,"size":%d,"total":%d}}}`,
			strings.Join(items, ","), number, size, total))
	})
	cps, err := c.ControlPlanes.List(context.Background(), "cp", &ListOptions{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != total || cps[0].ID != "id-0" || cps[6].ID != "id-6" {
		t.Fatalf("got %d control planes: %+v", len(cps), cps)
	}
	want := "filter%5Bname%5D%5Beq%5D=cp&page%5Bnumber%5D=1&page%5Bsize%5D=3\n" +
		"filter%5Bname%5D%5Beq%5D=cp&page%5Bnumber%5D=2&page%5Bsize%5D=3\n" +
		"filter%5Bname%5D%5Beq%5D=cp&page%5Bnumber%5D=3&page%5Bsize%5D=3"
	if got := log.String(); got != want {
		t.Errorf("queries:\n%s\nwant:\n%s", got, want)
	}
}

func TestPageNumbersTrustTotalOverShortPages(t *testing.T) {
	// The server serves 2 per page whatever is asked: the total decides.
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		number, _ := strconv.Atoi(r.URL.Query().Get("page[number]"))
		var items []string
		for i := (number - 1) * 2; i < min(5, number*2); i++ {
			items = append(items, fmt.Sprintf(`{"id":"id-%d","name":"x"}`, i))
		}
		writeJSON(w, 200, fmt.Sprintf(`{"data":[%s],"meta":{"page":{"number":%d,"size":2,"total":5}}}`, strings.Join(items, ","), number))
	})
	cps, err := c.ControlPlanes.List(context.Background(), "", nil)
	if err != nil || len(cps) != 5 {
		t.Fatalf("got %d control planes, %v; want 5", len(cps), err)
	}
}

func TestCursorPagination(t *testing.T) {
	const total = 7
	var log queryLog
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		size, _ := strconv.Atoi(r.URL.Query().Get("page[size]"))
		start := 0
		if a := r.URL.Query().Get("page[after]"); a != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(a, "c"))
		}
		var items []string
		end := min(total, start+size)
		for i := start; i < end; i++ {
			items = append(items, fmt.Sprintf(`{"id":"s-%d","name":"store %d"}`, i, i))
		}
		next := "null"
		if end < total {
			// A relative path, as Konnect sends, with a cursor needing escapes.
			next = fmt.Sprintf(`"/config-stores?page%%5Bsize%%5D=%d&page[after]=c%d"`, size, end)
		}
		writeJSON(w, 200, fmt.Sprintf(`{"data":[%s],"meta":{"page":{"size":%d,"next":%s,"previous":null}}}`, strings.Join(items, ","), size, next))
	})
	stores, err := c.ConfigStores.List(context.Background(), "cp", &ListOptions{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(stores) != total || stores[6].ID != "s-6" {
		t.Fatalf("got %d stores", len(stores))
	}
	want := "page%5Bsize%5D=3\npage%5Bafter%5D=c3&page%5Bsize%5D=3\npage%5Bafter%5D=c6&page%5Bsize%5D=3"
	if got := log.String(); got != want {
		t.Errorf("queries:\n%s\nwant:\n%s", got, want)
	}
}

func TestCursorPaginationRejectsBadLinks(t *testing.T) {
	tests := []struct{ next, wantErr string }{
		{`"/config-stores?page[size]=3"`, "has no page[after]"},
		{`"/config-stores?page[after]=same"`, "sent item \"k\" twice"},
	}
	for _, tt := range tests {
		c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, `{"data":[{"key":"k"}],"meta":{"page":{"size":1,"next":`+tt.next+`}}}`)
		})
		_, err := c.Secrets.List(context.Background(), "cp", "st", nil)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("next %s: error = %v, want %q", tt.next, err, tt.wantErr)
		}
	}
}

func TestKongOffsetPagination(t *testing.T) {
	const total = 25
	var log queryLog
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		start, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		var items []string
		end := min(total, start+size)
		for i := start; i < end; i++ {
			items = append(items, fmt.Sprintf(`{"id":"v-%d","name":"env","prefix":"p%d"}`, i, i))
		}
		if end < total {
			writeJSON(w, 200, fmt.Sprintf(`{"data":[%s],"next":"/x?offset=%d","offset":"%d"}`, strings.Join(items, ","), end, end))
			return
		}
		writeJSON(w, 200, fmt.Sprintf(`{"data":[%s],"next":null}`, strings.Join(items, ",")))
	})
	vaults, err := c.Vaults.List(context.Background(), "cp", &ListOptions{PageSize: 10, Tags: []string{"managed-by:kvsync", "team a"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vaults) != total || vaults[24].Prefix != "p24" {
		t.Fatalf("got %d vaults", len(vaults))
	}
	want := "size=10&tags=managed-by%3Akvsync%2Cteam+a\n" +
		"offset=10&size=10&tags=managed-by%3Akvsync%2Cteam+a\n" +
		"offset=20&size=10&tags=managed-by%3Akvsync%2Cteam+a"
	if got := log.String(); got != want {
		t.Errorf("queries:\n%s\nwant:\n%s", got, want)
	}
}

func TestDefaultAndMaximumPageSizes(t *testing.T) {
	tests := []struct {
		name string
		list func(*Client, *ListOptions) error
		opts *ListOptions
		want string
	}{
		{"core default", func(c *Client, o *ListOptions) error {
			_, err := c.Plugins.List(context.Background(), "cp", o)
			return err
		}, nil, "size=1000"},
		{"core capped", func(c *Client, o *ListOptions) error {
			_, err := c.Routes.List(context.Background(), "cp", o)
			return err
		}, &ListOptions{PageSize: 5000}, "size=1000"},
		{"cursor default", func(c *Client, o *ListOptions) error {
			_, err := c.ConfigStores.List(context.Background(), "cp", o)
			return err
		}, nil, "page%5Bsize%5D=100"},
		{"cursor capped", func(c *Client, o *ListOptions) error {
			_, err := c.Secrets.List(context.Background(), "cp", "st", o)
			return err
		}, &ListOptions{PageSize: 101}, "page%5Bsize%5D=100"},
		{"page numbers default", func(c *Client, o *ListOptions) error {
			_, err := c.ControlPlanes.List(context.Background(), "", o)
			return err
		}, nil, "page%5Bnumber%5D=1&page%5Bsize%5D=100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log queryLog
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				log.add(r)
				writeJSON(w, 200, `{"data":[],"meta":{"page":{"next":null,"total":0}}}`)
			})
			if err := tt.list(c, tt.opts); err != nil {
				t.Fatal(err)
			}
			if got := log.String(); got != tt.want {
				t.Errorf("query %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTagsThatKongCannotExpress(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { t.Error("no request expected") })
	for _, tag := range []string{"a,b", "a/b", ""} {
		if _, err := c.Vaults.List(context.Background(), "cp", &ListOptions{Tags: []string{tag}}); err == nil {
			t.Errorf("tag %q: want an error", tag)
		}
	}
}

func TestResolveControlPlane(t *testing.T) {
	const id = "d32d905a-ed33-46a3-a093-d8f536af9a8a"
	const uuidName = "0b6b1d39-5b1f-4a24-b3c3-1f0a0a0a0a0a"
	byName := map[string]string{
		"prod":   `[{"id":"` + id + `","name":"prod"}]`,
		"shared": `[{"id":"a","name":"shared"},{"id":"b","name":"shared"}]`,
		"fuzzy":  `[{"id":"c","name":"Fuzzy"}]`, // a looser server filter
		uuidName: `[{"id":"e","name":"` + uuidName + `"}]`,
	}
	var log queryLog
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		switch r.URL.Path {
		case "/v2/control-planes/" + id:
			writeJSON(w, 200, `{"id":"`+id+`","name":"prod"}`)
		case "/v2/control-planes":
			data, ok := byName[r.URL.Query().Get("filter[name][eq]")]
			if !ok {
				data = "[]"
			}
			writeJSON(w, 200, `{"data":`+data+`,"meta":{"page":{"number":1,"size":100,"total":`+strconv.Itoa(strings.Count(data, "{"))+`}}}`)
		default:
			writeJSON(w, 404, `{"status":404,"title":"Not Found","detail":"control plane not found"}`)
		}
	})
	ctx := context.Background()
	tests := []struct {
		in, wantID, wantErr string
		notFound            bool
	}{
		{in: id, wantID: id},
		{in: "prod", wantID: id},
		{in: uuidName, wantID: "e"},
		{in: "nope", wantErr: `no control plane has the id or name "nope"`, notFound: true},
		{in: "fuzzy", wantErr: `"fuzzy"`, notFound: true},
		{in: "shared", wantErr: `2 control planes are named "shared" (ids a, b)`},
		{in: "", wantErr: "must not be empty"},
	}
	for _, tt := range tests {
		cp, err := c.ControlPlanes.Resolve(ctx, tt.in)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || IsNotFound(err) != tt.notFound {
				t.Errorf("Resolve(%q): error %v, want %q (not found: %v)", tt.in, err, tt.wantErr, tt.notFound)
			}
		case err != nil:
			t.Errorf("Resolve(%q): %v", tt.in, err)
		case cp.ID != tt.wantID:
			t.Errorf("Resolve(%q) = %s, want %s", tt.in, cp.ID, tt.wantID)
		}
	}
}

func TestDeleteOfAbsentEntities(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "core-entities") {
			writeJSON(w, 404, `{"message":"Not found"}`)
			return
		}
		writeJSON(w, 404, `{"status":404,"title":"Not Found","detail":"not found"}`)
	})
	ctx := context.Background()
	if err := c.Vaults.Delete(ctx, "cp", "v"); err != nil {
		t.Errorf("vault delete: %v, want success (core deletes are idempotent)", err)
	}
	if err := c.Plugins.Delete(ctx, "cp", "p"); err != nil {
		t.Errorf("plugin delete: %v, want success", err)
	}
	if err := c.Secrets.Delete(ctx, "cp", "st", "k"); !IsNotFound(err) {
		t.Errorf("secret delete: %v, want NotFound", err)
	}
	if err := c.ConfigStores.Delete(ctx, "cp", "st", false); !IsNotFound(err) {
		t.Errorf("config store delete: %v, want NotFound", err)
	}
}

func TestEmptyIdentifiersAreRefusedLocally(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { t.Error("no request expected") })
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["secret get"] = c.Secrets.Get(ctx, "cp", "st", "")
	_, checks["store get"] = c.ConfigStores.Get(ctx, "cp", "")
	_, checks["vault upsert"] = c.Vaults.Upsert(ctx, "cp", Vault{Name: "env"})
	_, checks["plugin upsert"] = c.Plugins.Upsert(ctx, "cp", Plugin{Name: "x"})
	checks["vault delete"] = c.Vaults.Delete(ctx, "", "v")
	_, checks["vault list"] = c.Vaults.List(ctx, "", nil)
	for name, err := range checks {
		if err == nil || !strings.Contains(err.Error(), "must not be empty") {
			t.Errorf("%s: error %v, want a local refusal", name, err)
		}
	}
}

func TestNewUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewUUID()
		if !IsUUID(id) || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) || seen[id] {
			t.Fatalf("bad or repeated UUID %q", id)
		}
		seen[id] = true
	}
	for _, s := range []string{"", "prod", "d32d905a-ed33-46a3-a093-d8f536af9a8", "d32d905a_ed33-46a3-a093-d8f536af9a8a", "g32d905a-ed33-46a3-a093-d8f536af9a8a"} {
		if IsUUID(s) {
			t.Errorf("IsUUID(%q) = true", s)
		}
	}
}
