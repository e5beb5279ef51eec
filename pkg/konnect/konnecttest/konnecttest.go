// Package konnecttest is a faithful, in-memory emulator of the Konnect API
// kvsync, decK and Kong's Go client (go-kong) use, for tests (like
// net/http/httptest), the demo and benchmarks. It serves real HTTP with
// Konnect's status codes, error bodies, pagination styles, uniqueness rules
// and server-filled defaults, and can inject latency, rate limiting (429 +
// Retry-After), 5xx answers and dropped connections.
//
// Served, under /v2:
//
//	control-planes                       GET (page numbers, filter[name]…) POST
//	control-planes/{id}                  GET PATCH DELETE
//	control-planes/{id}/group-memberships GET, …/add POST (a group's own
//	                                     config stores and core entities are read-only)
//	…/config-stores                      GET (cursor) POST
//	…/config-stores/{id}                 GET PUT DELETE (?force=true)
//	…/config-stores/{id}/secrets         GET (cursor) POST
//	…/config-stores/{id}/secrets/{key}   GET PUT (upsert) DELETE
//	…/core-entities/{collection}         GET (size/offset/tags) POST
//	…/core-entities/{collection}/{ref}   GET PUT (upsert) DELETE
//	…/core-entities/{parent}/{ref}/{collection}[/{ref}]   the same, scoped
//	…/core-entities/consumer_groups/{id}/consumers[/{id}] GET POST DELETE
//	…/core-entities/consumers/{id}/consumer_groups[/{id}] GET POST DELETE
//	…/core-entities/partials/{id}/links  GET
//	…/core-entities/schemas/plugins/{n}  GET
//
// Every core-entities collection of the control-planes-config v2 spec is
// served by one generic, table-driven store (kinds.go): services, routes,
// consumers, consumer_groups, plugins, vaults, certificates, snis,
// ca_certificates, upstreams, targets, acls, basic-auths, hmac-auths, jwts,
// key-auths, mtls-auths, key-sets, keys, partials, degraphql_routes,
// graphql-rate-limiting-advanced/costs and custom-plugins, with the spec's
// nested routes (/services/{id}/routes, /upstreams/{id}/targets,
// /consumers/{id}/key-auth, /key-sets/{id}/keys, …). A {ref} is an id or the
// kind's endpoint key (a service's name, a vault's prefix, …). Collections
// the spec serves read-only at the top level (credentials, targets,
// degraphql routes, cost decorations) are written through their parent.
// The entities' fields, types and defaults are a small checked-in table,
// schemas/entities.json, in Kong's schema language, written from the spec's
// component schemas and Kong's entity schemas; they are not generated from
// the spec at build time (the conformance test checks the answers against
// the spec). Deleting an entity cascades as Kong does (a consumer takes its
// credentials and plugins along) or is refused while it is referenced (a
// service with routes).
//
// decK compatibility, not in the public spec (what decK v1.65 and go-kong
// v0.77 call and read; see deckcompat.go):
//
//	GET /konnect-api/api/runtime_groups        decK's control-plane look-up:
//	                                           page/size, data[].id/name,
//	                                           page, pageCount; filter[name]
//	GET /v2/organizations/me                   `deck gateway ping`
//	GET …/core-entities/                       root info (version, configuration)
//	GET …/core-entities/v1/schemas/json/{name} entity JSON schemas decK fills
//	                                           defaults from (service, route,
//	                                           upstream, target, vault, …)
//	PATCH …/core-entities/…/{ref}              go-kong's Update (merge)
//
// GET …/consumer_groups/{id} answers the spec's wrapper {"consumer_group":
// …} with "consumers" (as go-kong reads it) and repeats the group's fields
// at the top level for clients that read the group directly.
//
// A konnect vault's unset ttl, neg_ttl and resurrect_ttl are left out of
// its config (the spec's Vault.config is a free-form object; decK's dumps
// of real Konnect carry no such keys, where Kong's Admin API shows null).
//
// Secret values are stored but never returned; credentials are returned
// as Konnect does (a basic-auth password only as Kong's salted hash).
//
// Emulator-only, not Konnect's (see AdminPrefix): GET /_emulator/counts
// serves the per-endpoint request and 429 counters as JSON, DELETE zeroes
// them.
package konnecttest

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultToken is the token NewServer (and New) accept when Options.Token is
// empty. It is obviously fake.
const DefaultToken = "kpat_emulator_fake_token"

// Options configure an Emulator.
type Options struct {
	// Token is the bearer token every request must carry (401 otherwise).
	// Empty means DefaultToken.
	Token string
	// DataFile, when set, is loaded at start and rewritten atomically after
	// every change, behind the request (Flush waits for it), so state
	// survives restarts.
	DataFile string
	// Faults to inject from the start; see SetFaults.
	Faults Faults
	// Preload names a built-in starting state (see PreloadNames), applied
	// after DataFile is loaded; "" preloads nothing.
	Preload string
}

// Faults are injected failures. The zero value injects nothing.
type Faults struct {
	// Latency is added to every request; LatencyJitter adds a random
	// extra delay in [0, LatencyJitter).
	Latency       time.Duration
	LatencyJitter time.Duration
	// RateLimit (requests per second) and RateBurst configure a token
	// bucket; a request that finds it empty gets 429 with Retry-After.
	RateLimit float64
	RateBurst int
	// ErrorRate is the fraction of requests answered 500 or 503 without
	// being processed.
	ErrorRate float64
	// DropRate is the fraction of connections closed mid-request, without
	// an answer and without being processed.
	DropRate float64
	// Rules fail specific requests, checked before the random faults.
	Rules []FaultRule
	// Seed makes the random faults repeatable (0: seeded from time).
	Seed int64
}

// FaultRule fails requests matching Method (empty: any) and whose path
// contains PathContains with Status (or drops them when Status is 0).
// Times limits how many requests it fails (0: all).
type FaultRule struct {
	Method       string
	PathContains string
	Status       int
	Times        int
}

// Emulator is an http.Handler emulating Konnect.
type Emulator struct {
	token    string
	dataFile string

	mu sync.Mutex // guards st and persistence
	st *state
	// dirty: a change is not in the data file yet; saving: saveBehind is
	// writing it; saved is signalled when saving ends.
	dirty, saving bool
	saved         *sync.Cond

	faults faultState

	countMu sync.Mutex
	counts  map[string]int
}

// New returns an emulator. It fails only when DataFile exists but cannot be
// loaded, or Preload names no known preload.
func New(opts Options) (*Emulator, error) {
	st, err := loadState(opts.DataFile)
	if err != nil {
		return nil, err
	}
	tok := opts.Token
	if tok == "" {
		tok = DefaultToken
	}
	e := &Emulator{token: tok, dataFile: opts.DataFile, st: st, counts: map[string]int{}}
	e.saved = sync.NewCond(&e.mu)
	e.SetFaults(opts.Faults)
	if opts.Preload != "" {
		load, ok := preloads[opts.Preload]
		if !ok {
			return nil, fmt.Errorf("konnecttest: unknown preload %q (known: %s)", opts.Preload, strings.Join(PreloadNames(), ", "))
		}
		if err := load(e); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// family selects the error shape of an endpoint.
type family int

const (
	famControlPlanes family = iota
	famConfigStores
	famCoreEntities
)

// endpoint is a matched request: its spec path template, error family and
// handler.
type endpoint struct {
	template string
	fam      family
	handle   func(w http.ResponseWriter, r *http.Request)
}

func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.serveAdmin(w, r) {
		return
	}
	ep := e.match(r)
	e.count(r.Method + " " + ep.template)

	if e.injectFaults(w, r) {
		return
	}
	if !e.authorized(r) {
		unauthorized(w, ep.fam)
		return
	}
	ep.handle(w, r)
}

func (e *Emulator) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(e.token)) == 1
}

func unauthorized(w http.ResponseWriter, fam family) {
	switch fam {
	case famControlPlanes:
		writeProblem(w, http.StatusUnauthorized, "Unauthenticated", "A valid token is required")
	case famConfigStores:
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
	default:
		writeJSON(w, http.StatusUnauthorized, "application/json", map[string]any{"message": "Unauthorized", "status": 401})
	}
}

// pathSegments splits the escaped path after /v2 and unescapes each
// segment, so a secret key sent as "a%2Fb" stays one segment "a/b". A
// trailing slash is tolerated (the seed tutorial POSTs to ".../secrets/").
func pathSegments(r *http.Request) ([]string, bool) {
	p, ok := strings.CutPrefix(r.URL.EscapedPath(), "/v2/")
	if !ok {
		return nil, false
	}
	p = strings.TrimSuffix(p, "/")
	raw := strings.Split(p, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return nil, false
		}
		segs[i] = u
	}
	return segs, true
}

type handlers = map[string]func(http.ResponseWriter, *http.Request)

// methodNotAllowed answers 405 in the endpoint family's error shape.
func methodNotAllowed(fam family, h handlers) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		allowed := make([]string, 0, len(h))
		for k := range h {
			allowed = append(allowed, k)
		}
		sort.Strings(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		if fam == famCoreEntities {
			writeJSON(w, http.StatusMethodNotAllowed, "application/json", map[string]any{"message": "Method not allowed"})
			return
		}
		writeProblem(w, http.StatusMethodNotAllowed, "Method Not Allowed", "Method "+r.Method+" is not allowed on this resource")
	}
}

func (e *Emulator) match(r *http.Request) endpoint {
	notFound := endpoint{template: "(unmatched)", fam: famCoreEntities, handle: func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, "application/json", map[string]any{"message": "Not Found"})
	}}
	ep := func(t string, fam family, h handlers) endpoint {
		handler, ok := h[r.Method]
		if !ok {
			handler = methodNotAllowed(fam, h)
		}
		return endpoint{template: t, fam: fam, handle: handler}
	}
	if ep, ok := e.matchCompat(r, ep); ok {
		return ep
	}
	segs, ok := pathSegments(r)
	if !ok || len(segs) == 0 || segs[0] != "control-planes" {
		return notFound
	}
	const cpT = "/v2/control-planes/{controlPlaneId}"
	switch n := len(segs); {
	case n == 1:
		return ep("/v2/control-planes", famControlPlanes, handlers{
			http.MethodGet:  e.listControlPlanes,
			http.MethodPost: e.createControlPlane,
		})
	case n == 2:
		id := segs[1]
		return ep(cpT, famControlPlanes, handlers{
			http.MethodGet:    func(w http.ResponseWriter, r *http.Request) { e.getControlPlane(w, r, id) },
			http.MethodPatch:  func(w http.ResponseWriter, r *http.Request) { e.patchControlPlane(w, r, id) },
			http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { e.deleteControlPlane(w, r, id) },
		})
	case segs[2] == "group-memberships":
		id := segs[1]
		switch {
		case n == 3:
			return ep(cpT+"/group-memberships", famControlPlanes, handlers{
				http.MethodGet: func(w http.ResponseWriter, r *http.Request) { e.listGroupMemberships(w, r, id) },
			})
		case n == 4 && segs[3] == "add":
			return ep(cpT+"/group-memberships/add", famControlPlanes, handlers{
				http.MethodPost: func(w http.ResponseWriter, r *http.Request) { e.addGroupMembers(w, r, id) },
			})
		}
	case (segs[2] == "config-stores" || segs[2] == "core-entities") && r.Method != http.MethodGet && e.readOnlyGroup(segs[1]):
		return endpoint{template: cpT + "/" + segs[2], fam: famControlPlanes, handle: groupIsReadOnly}
	case segs[2] == "config-stores":
		cp := segs[1]
		switch {
		case n == 3:
			return ep(cpT+"/config-stores", famConfigStores, handlers{
				http.MethodGet:  func(w http.ResponseWriter, r *http.Request) { e.listConfigStores(w, r, cp) },
				http.MethodPost: func(w http.ResponseWriter, r *http.Request) { e.createConfigStore(w, r, cp) },
			})
		case n == 4:
			sid := segs[3]
			return ep(cpT+"/config-stores/{configStoreId}", famConfigStores, handlers{
				http.MethodGet:    func(w http.ResponseWriter, r *http.Request) { e.getConfigStore(w, r, cp, sid) },
				http.MethodPut:    func(w http.ResponseWriter, r *http.Request) { e.updateConfigStore(w, r, cp, sid) },
				http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { e.deleteConfigStore(w, r, cp, sid) },
			})
		case n == 5 && segs[4] == "secrets":
			sid := segs[3]
			return ep(cpT+"/config-stores/{configStoreId}/secrets", famConfigStores, handlers{
				http.MethodGet:  func(w http.ResponseWriter, r *http.Request) { e.listSecrets(w, r, cp, sid) },
				http.MethodPost: func(w http.ResponseWriter, r *http.Request) { e.createSecret(w, r, cp, sid) },
			})
		case n == 6 && segs[4] == "secrets":
			sid, key := segs[3], segs[5]
			return ep(cpT+"/config-stores/{configStoreId}/secrets/{key}", famConfigStores, handlers{
				http.MethodGet:    func(w http.ResponseWriter, r *http.Request) { e.getSecret(w, r, cp, sid, key) },
				http.MethodPut:    func(w http.ResponseWriter, r *http.Request) { e.putSecret(w, r, cp, sid, key) },
				http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { e.deleteSecret(w, r, cp, sid, key) },
			})
		}
	case segs[2] == "core-entities":
		if t, h, ok := e.matchCore(segs[1], segs[3:]); ok {
			return ep(cpT+"/core-entities"+t, famCoreEntities, h)
		}
	}
	return notFound
}

// count records one request under its template.
func (e *Emulator) count(key string) {
	e.countMu.Lock()
	e.counts[key]++
	e.countMu.Unlock()
}

// Counts returns the number of requests served so far, keyed by method and
// the spec's path template, e.g.
// "GET /v2/control-planes/{controlPlaneId}/config-stores". Requests answered
// by an injected fault are counted too; unknown paths count under
// "METHOD (unmatched)".
func (e *Emulator) Counts() map[string]int {
	e.countMu.Lock()
	defer e.countMu.Unlock()
	out := make(map[string]int, len(e.counts))
	for k, v := range e.counts {
		out[k] = v
	}
	return out
}

// TotalRequests is the sum of Counts.
func (e *Emulator) TotalRequests() int {
	e.countMu.Lock()
	defer e.countMu.Unlock()
	n := 0
	for _, v := range e.counts {
		n += v
	}
	return n
}

// ResetCounts zeroes the counters (requests and 429s).
func (e *Emulator) ResetCounts() {
	e.countMu.Lock()
	e.counts = map[string]int{}
	e.countMu.Unlock()
	e.faults.resetThrottled()
}

// Server is an Emulator listening on a loopback port, like httptest.Server.
type Server struct {
	*Emulator
	// URL is the base URL (http://127.0.0.1:PORT), without /v2.
	URL string
	// Token is the token the server accepts.
	Token string

	srv *http.Server
	ln  net.Listener
}

// NewServer starts an emulator on a free loopback port with a fake token
// (DefaultToken unless opts.Token is set). Like httptest.NewServer it panics
// when it cannot listen or load opts.DataFile. Call Close when done
// (t.Cleanup(srv.Close) in tests).
func NewServer(opts Options) *Server {
	e, err := New(opts)
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("konnecttest: listen: " + err.Error())
	}
	s := &Server{Emulator: e, URL: "http://" + ln.Addr().String(), Token: e.token, ln: ln,
		srv: &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s
}

// Close shuts the server down, closing open connections, and waits for
// the data file to hold the last change.
func (s *Server) Close() {
	_ = s.srv.Close()
	s.Emulator.Flush()
}
