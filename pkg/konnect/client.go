// Package konnect is a client for the parts of Kong Konnect's Control Planes
// (v2) and Control Planes Config (v2) APIs that kvsync manages: control
// planes, config stores and their secrets, vaults, plugins, plugin schemas,
// and lookups of routes, services, consumers and consumer groups.
//
// Lists hide Konnect's three pagination styles (page numbers for control
// planes, cursors for config stores and secrets, Kong's size/offset for core
// entities). A shared limiter keeps the whole client under a request rate.
//
// Retries. GET, PUT and DELETE are retried on 429, 500, 502, 503, 504,
// per-attempt timeouts and connection errors, with exponential backoff and
// full jitter; a Retry-After header (delta-seconds or HTTP-date) on 429 and
// 503 replaces the computed delay. MaxRetries bounds the retries caused by
// server errors and connection failures. A 429 is different: it says "not
// now", never "no", so rate-limit answers are retried for as long as the
// context lives and never use up MaxRetries; bound a call with a context
// deadline. A POST is retried only when it provably did not reach the server
// (the connection was never established, or a 429, which Konnect answers
// before processing) or after reading back whether it took effect: vaults,
// plugins, routes and services are created with a client-chosen id and read
// back by it; a secret is read back by key and finished with an idempotent PUT
// of its value; a config store is read back by name (see
// ConfigStoresService.Create); a control plane by its unique name. A POST
// whose outcome cannot be known is not repeated: the error says so.
//
// Secret values and the token never appear in errors: request bodies are
// never quoted, and a secret value the server might echo is redacted.
package konnect

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"
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
	DefaultRateLimit      = 10
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
	// RateLimit is the most requests per second the whole client sends
	// (default 10; negative disables). RateBurst defaults to RateLimit.
	RateLimit float64
	RateBurst int
}

// Client talks to one Konnect region. It is safe for concurrent use.
type Client struct {
	opts    Options
	baseURL *url.URL
	limiter *rate.Limiter

	// sleep waits between attempts and randN draws the jitter; tests
	// replace them to observe delays without spending them.
	sleep func(ctx context.Context, d time.Duration) error
	randN func(n int64) int64

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
	if opts.RateLimit == 0 {
		opts.RateLimit = DefaultRateLimit
	}
	limit := rate.Inf
	if opts.RateLimit > 0 {
		limit = rate.Limit(opts.RateLimit)
		if opts.RateBurst <= 0 {
			opts.RateBurst = max(1, int(opts.RateLimit))
		}
	}

	c := &Client{
		opts:    opts,
		baseURL: base,
		limiter: rate.NewLimiter(limit, opts.RateBurst),
		sleep:   sleepContext,
		randN:   rand.Int64N,
	}
	c.ControlPlanes = &ControlPlanesService{c}
	c.ConfigStores = &ConfigStoresService{c}
	c.Secrets = &SecretsService{c}
	c.Vaults = &VaultsService{c}
	c.Plugins = &PluginsService{c}
	c.PluginSchemas = &PluginSchemasService{c}
	c.Routes = &RoutesService{c}
	c.Services = &ServicesService{c}
	c.Consumers = &ConsumersService{c}
	c.ConsumerGroups = &ConsumerGroupsService{c}
	return c, nil
}

// BaseURL returns the API root the client talks to, without /v2.
func (c *Client) BaseURL() string { return c.opts.BaseURL }

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
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: t}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
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
