// Package konnect is a client for the parts of Kong Konnect's Control Planes
// (v2) and Control Planes Config (v2) APIs that kvsync manages: control
// planes, config stores and their secrets, vaults, plugins, plugin schemas,
// and lookups of routes, services, consumers and consumer groups.
//
// Lists hide Konnect's three pagination styles (page numbers for control
// planes, cursors for config stores, Kong's size/offset for core entities).
// Requests that are safe to repeat are retried on 429, 502, 503, 504 and
// connection errors, and a shared limiter keeps the client under a request
// rate. Secret values and the token never appear in errors.
package konnect

import (
	"errors"
	"net/http"
	"time"
)

// DefaultBaseURL is Konnect's US region.
const DefaultBaseURL = "https://us.api.konghq.com"

// Options configure a Client. The zero value of every field but Token has a
// sensible default.
type Options struct {
	// BaseURL is the API root without the /v2 suffix, e.g.
	// https://eu.api.konghq.com or http://127.0.0.1:8123 for the emulator.
	BaseURL string
	// Token is a personal (kpat_…) or system account (spat_…) token.
	Token string
	// UserAgent defaults to "kvsync/dev".
	UserAgent string
	// HTTPClient defaults to a client with sensible transport settings.
	HTTPClient *http.Client
	// RequestTimeout bounds one HTTP attempt (default 30s).
	RequestTimeout time.Duration
	// MaxRetries is the number of retries after the first attempt of a
	// request that is safe to repeat (default 8; negative disables).
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
	opts Options

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

// ListOptions narrow a list call. Every List method returns all pages.
type ListOptions struct {
	// PageSize is the page size to ask for; 0 means the largest the
	// endpoint allows (1000 for core entities, 100 elsewhere).
	PageSize int
	// Tags filters core entities to those carrying every tag (Kong's
	// comma-joined AND form). Ignored by endpoints without tags.
	Tags []string
}

var errUnimplemented = errors.New("konnect: not implemented yet")
