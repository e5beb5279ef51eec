package konnect

import (
	"errors"
	"net/http"
	"time"
)

// InvalidParameter is one entry of a problem+json 400's invalid_parameters.
type InvalidParameter struct {
	Field  string `json:"field"`
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason"`
	Source string `json:"source,omitempty"`
}

// APIError is a non-2xx answer from Konnect. It carries both error shapes
// Konnect uses: problem+json (config stores, secrets, control planes) and
// Kong's Admin API shape (core entities: message, code, details).
type APIError struct {
	StatusCode int
	Method     string
	// Path is the request path without the query string.
	Path string

	// problem+json fields.
	Title             string
	Detail            string
	Instance          string
	InvalidParameters []InvalidParameter

	// Kong Admin API fields: {"code":3,"message":"data constraint error",...}.
	Code    int
	Message string
	Details []any

	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return "konnect: " + e.Method + " " + e.Path + ": " + http.StatusText(e.StatusCode) + " (unimplemented formatting)"
}

// IsNotFound reports whether err is a 404 from Konnect.
func IsNotFound(err error) bool { return statusIs(err, http.StatusNotFound) }

// IsConflict reports whether err says a uniqueness constraint was violated:
// a 409, or Kong's 400 "data constraint error" (code 3).
func IsConflict(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	return e.StatusCode == http.StatusConflict || (e.StatusCode == http.StatusBadRequest && e.Code == 3)
}

func statusIs(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == status
}
