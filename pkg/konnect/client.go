// Package konnect is a client for the parts of Kong Konnect's Control Planes
// (v2) and Control Planes Config (v2) APIs that kvsync manages: control
// planes, config stores and their secrets, vaults, plugins, plugin schemas,
// and lookups of routes, services, consumers and consumer groups.
//
// Lists hide Konnect's three pagination styles (page numbers for control
// planes, cursors for config stores and secrets, Kong's size/offset for core
// entities).
//
// Pacing. One adaptive pacer is shared by every request of a client, reads
// and writes alike, so that parallelism never turns into a storm of 429s:
// it hands out request slots spaced at its current rate. It starts at
// Options.InitialRate (1000 req/s unless set: no per-second limit of these
// APIs is documented for the client to assume, and when nothing pushes back
// the pacer must not be the bottleneck) and adapts to the server:
//
//   - A 429 cuts the rate, once per burst of 429s (answers to requests sent
//     at or before the last cut are its echo), to the lower of 0.8 times the
//     rate and the rate the server actually accepted since the last cut
//     (over at least the last second, at most the last ten). Against a
//     token bucket this brings a high start down to the server's rate in
//     one step.
//   - A Retry-After on a 429 or 503, as delta-seconds or an HTTP-date,
//     pauses every request of the client until then, not only the one that
//     drew it; callers already waiting for a slot are rescheduled after it.
//   - Every success (2xx to 4xx but 429) of a request sent at the full rate
//     (it waited for its slot, or others were waiting) raises the rate:
//     by 5% per second right after a cut, 5 points more every 10 seconds
//     without one, up to 50% per second. The probe for spare capacity
//     lingers near the rate that drew the last 429 and quickens when the
//     server keeps accepting more.
//   - Rate-limit headers (RateLimit-Limit/-Remaining/-Reset and
//     X-RateLimit-Limit-<window>/-Remaining-<window>, as Kong's rate-limiting
//     plugins send them): when a window has no more requests left than are
//     already on their way, every request waits for the window to reset, and
//     the rate is cut to the window's sustained rate (limit / length) when its
//     length is known. No 429 is needed to learn an exhausted quota.
//
// Concurrency. The pacer also advises how many requests to keep in flight
// (Client.Concurrency), for callers that choose how much work to start (a
// sync's operations): a window that starts at InitialConcurrency (8), so
// that the first burst at a throttled API stays small, and doubles per round
// trip while requests fill it and Konnect accepts them (up to
// MaxConcurrency, 256: the caller's own ceiling is then the limit, and
// latency with it); a burst of 429s halves what was in flight, after which
// the window grows by one per round trip while requests fill it (at least
// 2). Requests the rate holds back wait unsent and do not fill the window,
// so a throttled API never widens it.
//
// The rate stays within Options.MinRate and Options.MaxRate. A call whose
// next slot lies beyond its context's deadline fails at once, without
// sending. NoPacing turns pacing off.
//
// Retries. GET, PUT and DELETE are retried on 408, 429, 500, 502, 503, 504,
// per-attempt timeouts and connection errors, with exponential backoff and
// full jitter; a Retry-After header (delta-seconds or HTTP-date) on 429 and
// 503 replaces the computed delay. MaxRetries bounds the retries caused by
// server errors and connection failures. A 429 is different: it says "not
// now", never "no", so rate-limit answers are retried for as long as the
// context lives and never use up MaxRetries; bound a call with a context
// deadline. Options.ThrottleBudget bounds them for the whole client: once
// Konnect has answered nothing but 429 for that long, every call fails with
// ErrThrottled. A POST is retried only when it provably did not reach the server
// (the connection was never established, or a 429, which Konnect answers
// before processing) or after reading back whether it took effect: vaults,
// plugins, routes and services are created with a client-chosen id and read
// back by it; a secret is read back by key and finished with an idempotent PUT
// of its value; a config store is read back by name, and never repeated
// after an attempt that got no answer at all, since Konnect does not keep
// store names unique (see ConfigStoresService.Create); a control plane by
// its unique name. A POST
// whose outcome cannot be known is not repeated: the error says so.
//
// A write that gets no answer at all (a timeout, a connection broken after
// sending) is settled, read-back and one more attempt included, within
// Options.UnreachableAfter; and a call that sends a value (a Sensitive in
// its body) sends it at most twice, read-backs included, 429s aside.
//
// Listings end with an error when they cannot be real: an item twice, more
// than Options.MaxListItems items, longer than Options.MaxListDuration (see
// listing.go).
//
// Secret values and the token never appear in errors: request bodies are
// never quoted, and a secret value the server might echo is redacted.
package konnect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is Konnect's US region.
const DefaultBaseURL = "https://us.api.konghq.com"

// Defaults applied by New to zero Options fields.
const (
	DefaultUserAgent      = "kvsync/dev"
	DefaultRequestTimeout = 30 * time.Second
	DefaultMaxRetries     = 8
	DefaultRetryBaseDelay = 250 * time.Millisecond
	DefaultRetryMaxDelay  = 30 * time.Second
)

// Options configure a Client. The zero value of every field but Token has a
// sensible default.
type Options struct {
	// BaseURL is the API root without the /v2 suffix, e.g.
	// https://eu.api.konghq.com or http://127.0.0.1:8123 for the emulator.
	// Empty means DefaultBaseURL; a trailing "/v2" is tolerated.
	BaseURL string
	// Token is a personal (kpat_…) or system account (spat_…) token.
	Token string
	// UserAgent defaults to "kvsync/dev".
	UserAgent string
	// HTTPClient defaults to a client with sensible transport settings.
	// Its Timeout should be zero: RequestTimeout bounds each attempt.
	HTTPClient *http.Client
	// RequestTimeout bounds one HTTP attempt (default 30s).
	RequestTimeout time.Duration
	// MaxRetries is the number of retries after the first attempt of a
	// request that is safe to repeat (default 8; negative disables). It
	// counts server errors and connection failures; 429 answers are
	// retried until the context ends and do not count.
	MaxRetries int
	// RetryBaseDelay and RetryMaxDelay shape the exponential backoff with
	// jitter (defaults 250ms and 30s). A Retry-After header overrides them.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration

	// Pacing (see the package documentation), in requests per second for
	// the whole client. Zero means the default; negative values are
	// rejected. A CLI maps --rps, --rps-max and --rps-min onto them.
	//
	// InitialRate is the rate the client starts at (default 1000; kept
	// within MinRate and MaxRate). A lower start is gentler on a server
	// that limits without saying so in headers; the pacer climbs from it
	// while requests wait for their slots and succeed.
	InitialRate float64
	// MaxRate is the most the client ever sends (default 1000): the rate
	// never grows above it, whatever the server accepts.
	MaxRate float64
	// MinRate is the floor of decreases (default 1, or MaxRate when that
	// is lower; New fails when MinRate is above MaxRate). Retry-After
	// pauses and exhausted quotas still hold requests back at any rate.
	MinRate float64
	// NoPacing turns pacing off: no rate, no shared pause (each call still
	// waits out its own Retry-After). Tests and benchmarks that measure the
	// server, not the client, use it.
	NoPacing bool
	// Trace, when set, is called after every attempt and before every wait
	// for a retry (see Event); calls may come from several goroutines.
	Trace func(Event)
	// UnreachableAfter is how long requests may keep failing without any
	// answer (connections refused or broken, 5xx) before the client gives
	// up on Konnect: every call then fails at once with ErrUnreachable.
	// Default DefaultUnreachableAfter; negative never gives up.
	UnreachableAfter time.Duration
	// MaxListItems and MaxListDuration bound one listing (all the pages
	// of one List call): more items, or a longer time, and it fails as a
	// listing that never ends; so does an item sent twice in one listing.
	// Defaults DefaultMaxListItems and DefaultMaxListDuration; negative
	// means no bound.
	MaxListItems    int
	MaxListDuration time.Duration
	// ThrottleBudget bounds how long Konnect may answer nothing but 429
	// (see throttle): past it, every call fails with ErrThrottled.
	// Default DefaultThrottleBudget; negative means no bound (the
	// context's deadline still holds).
	ThrottleBudget time.Duration
}

// Event is one HTTP attempt, or one wait before the next attempt, for a
// verbose log. It holds no body, value, header or token: only what a
// person needs to see what happens.
type Event struct {
	Method string
	// Path is the request's path, e.g. /v2/control-planes/ID/config-stores.
	Path string
	// Status is the answer's status; 0 when none came (a connection
	// failure, a timeout).
	Status   int
	Duration time.Duration
	// Paced is how long the attempt waited for the pacer before it went.
	Paced time.Duration
	// Retry, when set, is the wait before the next attempt of the same
	// call (Status is then the answer that caused it).
	Retry time.Duration
}

// Client talks to one Konnect region. It is safe for concurrent use.
type Client struct {
	opts    Options
	baseURL *url.URL
	pacer   *pacer // nil: pacing off

	// sleep waits between attempts and randN draws the jitter; tests
	// replace them to observe delays without spending them.
	sleep   func(ctx context.Context, d time.Duration) error
	breaker *breaker
	sent    sent
	randN   func(n int64) int64
	// now is the clock of the listings' and the throttling's bounds.
	now      func() time.Time
	throttle *throttle
	// inflight is what the client waits for, for a heartbeat (Waiting).
	inflight waits

	ControlPlanes  *ControlPlanesService
	ConfigStores   *ConfigStoresService
	Secrets        *SecretsService
	Vaults         *VaultsService
	Plugins        *PluginsService
	PluginSchemas  *PluginSchemasService
	Routes         *RoutesService
	Services       *ServicesService
	Consumers      *ConsumersService
	ConsumerGroups *ConsumerGroupsService
}

// New returns a client for opts. It fails when Token is empty or BaseURL is
// not an absolute http(s) URL without query or fragment.
func New(opts Options) (*Client, error) {
	if strings.TrimSpace(opts.Token) == "" {
		return nil, errors.New("konnect: a token is required")
	}
	if err := checkToken(opts.Token); err != nil {
		return nil, err
	}
	base, err := parseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	opts.BaseURL = base.String()
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = defaultHTTPClient()
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	switch {
	case opts.MaxRetries == 0:
		opts.MaxRetries = DefaultMaxRetries
	case opts.MaxRetries < 0:
		opts.MaxRetries = 0
	}
	if opts.RetryBaseDelay <= 0 {
		opts.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if opts.RetryMaxDelay <= 0 {
		opts.RetryMaxDelay = DefaultRetryMaxDelay
	}
	if opts.RetryMaxDelay < opts.RetryBaseDelay {
		opts.RetryMaxDelay = opts.RetryBaseDelay
	}
	pace, err := pacingOptions(&opts)
	if err != nil {
		return nil, err
	}

	opts.HTTPClient = noRedirects(opts.HTTPClient)
	c := &Client{
		opts:    opts,
		baseURL: base,
		sleep:   sleepContext,
		randN:   rand.Int64N,
		now:     time.Now,
	}
	switch {
	case opts.MaxListItems == 0:
		c.opts.MaxListItems = DefaultMaxListItems
	case opts.MaxListItems < 0:
		c.opts.MaxListItems = 0
	}
	switch {
	case opts.MaxListDuration == 0:
		c.opts.MaxListDuration = DefaultMaxListDuration
	case opts.MaxListDuration < 0:
		c.opts.MaxListDuration = 0
	}
	if opts.ThrottleBudget == 0 {
		c.opts.ThrottleBudget = DefaultThrottleBudget
	}
	if c.opts.ThrottleBudget > 0 {
		c.throttle = newThrottle(c.opts.ThrottleBudget, func() time.Time { return c.now() })
	}
	if opts.UnreachableAfter == 0 {
		opts.UnreachableAfter = DefaultUnreachableAfter
	}
	if opts.UnreachableAfter > 0 {
		c.breaker = &breaker{after: opts.UnreachableAfter, now: time.Now}
	}
	if pace {
		c.pacer = newPacer(opts.InitialRate, opts.MinRate, opts.MaxRate)
	}
	c.ControlPlanes = &ControlPlanesService{c}
	c.ConfigStores = &ConfigStoresService{c}
	c.Secrets = &SecretsService{c}
	c.Vaults = newCore[Vault](c, "vaults", "vault", "id or prefix")
	c.Plugins = newCore[Plugin](c, "plugins", "plugin", "plugin id")
	c.PluginSchemas = &PluginSchemasService{c}
	c.Routes = newCore[Route](c, "routes", "route", "id or name")
	c.Services = newCore[Service](c, "services", "service", "id or name")
	c.Consumers = newCore[Consumer](c, "consumers", "consumer", "id or username")
	c.ConsumerGroups = &ConsumerGroupsService{newCore[ConsumerGroup](c, "consumer_groups", "consumer group", "id or name")}
	return c, nil
}

// NextRun returns a client for the next run of a long-running process
// (kvsync watch): the same address and options with token, which may have
// been rotated since; a fresh breaker, since an outage that ended one run
// must not fail the next at once; and the same pacer, so that all runs
// together keep one pace and what a 429 taught is not forgotten.
func (c *Client) NextRun(token string) (*Client, error) {
	opts := c.opts
	opts.Token = token
	n, err := New(opts)
	if err != nil {
		return nil, err
	}
	n.pacer, n.sleep, n.randN = c.pacer, c.sleep, c.randN
	return n, nil
}

// BaseURL returns the API root the client talks to, without /v2.
func (c *Client) BaseURL() string { return c.opts.BaseURL }

// Pacing reports the pacer's current rate and what it has seen so far (Rate
// is +Inf when pacing is off).
func (c *Client) Pacing() PacingStats { return c.pacer.Stats() }

// Concurrency is how many requests the client's pacer advises to keep in
// flight now (see the package documentation); MaxConcurrency when pacing is
// off.
func (c *Client) Concurrency() int { return c.pacer.Concurrency() }

// pacingOptions applies the pacing defaults to opts and reports whether
// pacing is on.
func pacingOptions(opts *Options) (bool, error) {
	for _, f := range []struct {
		name string
		v    float64
	}{{"InitialRate", opts.InitialRate}, {"MaxRate", opts.MaxRate}, {"MinRate", opts.MinRate}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return false, fmt.Errorf("konnect: %s must be a positive number of requests per second", f.name)
		}
	}
	if opts.NoPacing {
		return false, nil
	}
	if opts.MaxRate == 0 {
		opts.MaxRate = DefaultMaxRate
	}
	if opts.MinRate == 0 {
		opts.MinRate = min(DefaultMinRate, opts.MaxRate)
	}
	if opts.MinRate > opts.MaxRate {
		return false, fmt.Errorf("konnect: MinRate (%g) is above MaxRate (%g)", opts.MinRate, opts.MaxRate)
	}
	if opts.InitialRate == 0 {
		opts.InitialRate = DefaultInitialRate
	}
	opts.InitialRate = min(max(opts.InitialRate, opts.MinRate), opts.MaxRate)
	return true, nil
}

// checkToken refuses a token that no HTTP request can carry (a line break,
// a space, any control character, as a token file with two lines or a
// pasted header gives): sent, it would fail every attempt the same way, so
// it fails here, before any request. The token itself is never echoed.
func checkToken(token string) error {
	for i := 0; i < len(token); i++ {
		if b := token[i]; b <= ' ' || b == 0x7f {
			what := "a space or control character"
			if b == '\n' || b == '\r' {
				what = "a line break"
			}
			return fmt.Errorf("konnect: the token holds %s (at byte %d): no request can carry it; check the file or variable it came from", what, i+1)
		}
	}
	return nil
}

func parseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		raw = DefaultBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole input, which may hold a token
		// pasted into the wrong flag: say what is wrong without echoing it.
		return nil, errors.New("konnect: invalid base URL: it does not parse as a URL")
	}
	// The errors below echo nothing of the address: a token pasted into
	// the wrong flag can sit in any part of it.
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("konnect: base URL must start with https:// or http://")
	}
	if u.Host == "" {
		return nil, errors.New("konnect: base URL has no host")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("konnect: base URL must not carry credentials, a query or a fragment")
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/v2")
	u.RawPath = ""
	return u, nil
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = MaxConcurrency // a connection per request in flight, kept between requests
	return &http.Client{Transport: t}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stopOf(ctx):
		return errStopped
	}
}

// ListOptions narrow a list call. Every List method returns all pages.
type ListOptions struct {
	// PageSize is the page size to ask for; 0 means the largest the
	// endpoint allows (1000 for core entities, 100 elsewhere). Larger
	// values are lowered to that maximum.
	PageSize int
	// Tags filters core entities to those carrying every tag (Kong's
	// comma-joined AND form). Ignored by endpoints without tags.
	Tags []string
}
