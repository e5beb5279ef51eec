package konnecttest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"

	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

// Konnect answers in three error shapes, depending on the API family:
//   - problem+json (control planes, config stores, secrets):
//     {status,title,instance,detail[,invalid_parameters]};
//   - Konnect's core-entities API ("koko"), modelled on gRPC status:
//     {code,message,details[]}, code 3 (INVALID_ARGUMENT) for validation and
//     constraint errors, 5 (NOT_FOUND) for missing entities;
//   - the gateway's own 401: {message,status}.

func writeJSON(w http.ResponseWriter, status int, contentType string, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		contentType = "application/problem+json"
		b = []byte(`{"status":500,"title":"Internal Server Error","instance":"kong:trace:0","detail":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func traceID() string { return fmt.Sprintf("kong:trace:%d", rand.Uint64()>>1) }

// problem is an application/problem+json body.
type problem struct {
	Status            int            `json:"status"`
	Title             string         `json:"title"`
	Instance          string         `json:"instance"`
	Detail            string         `json:"detail"`
	InvalidParameters []invalidParam `json:"invalid_parameters,omitempty"`
}

// invalidParam covers the spec's InvalidParameter* shapes: Minimum/Maximum
// only with the min_length/max_length rules, Choices only with "enum".
type invalidParam struct {
	Field   string `json:"field"`
	Rule    string `json:"rule,omitempty"`
	Minimum *int   `json:"minimum,omitempty"`
	Maximum *int   `json:"maximum,omitempty"`
	Choices []any  `json:"choices,omitempty"`
	Source  string `json:"source,omitempty"`
	Reason  string `json:"reason"`
}

func writeProblem(w http.ResponseWriter, status int, title, detail string, params ...invalidParam) {
	writeJSON(w, status, "application/problem+json", problem{
		Status: status, Title: title, Instance: traceID(), Detail: detail, InvalidParameters: params,
	})
}

func badRequest(w http.ResponseWriter, params ...invalidParam) {
	writeProblem(w, http.StatusBadRequest, "Invalid Request", "Invalid Parameters", params...)
}

func notFoundProblem(w http.ResponseWriter, detail string) {
	writeProblem(w, http.StatusNotFound, "Not Found", detail)
}

func intp(n int) *int { return &n }

// koko error detail.
type errorDetail struct {
	Type     string   `json:"@type"`
	Kind     string   `json:"type"`
	Field    string   `json:"field,omitempty"`
	Messages []string `json:"messages"`
}

type kokoError struct {
	Code    int           `json:"code"`
	Message string        `json:"message"`
	Details []errorDetail `json:"details"`
}

const detailType = "type.googleapis.com/kong.admin.model.v1.ErrorDetail"

func writeKoko(w http.ResponseWriter, status, code int, message string, details ...errorDetail) {
	if details == nil {
		details = []errorDetail{}
	}
	writeJSON(w, status, "application/json", kokoError{Code: code, Message: message, Details: details})
}

// validationError answers 400 "validation error" with one detail per field.
func validationError(w http.ResponseWriter, errs []kong.FieldError) {
	details := make([]errorDetail, 0, len(errs))
	for _, e := range errs {
		kind := "ERROR_TYPE_FIELD"
		if e.Path == "" {
			kind = "ERROR_TYPE_ENTITY"
		}
		details = append(details, errorDetail{Type: detailType, Kind: kind, Field: e.Path, Messages: []string{e.Message}})
	}
	writeKoko(w, http.StatusBadRequest, 3, "validation error", details...)
}

// constraintError answers 400 "data constraint error" (uniqueness or a
// missing foreign entity), as Konnect does.
func constraintError(w http.ResponseWriter, field, msg string) {
	writeKoko(w, http.StatusBadRequest, 3, "data constraint error",
		errorDetail{Type: detailType, Kind: "ERROR_TYPE_REFERENCE", Field: field, Messages: []string{msg}})
}

func kokoNotFound(w http.ResponseWriter) {
	writeKoko(w, http.StatusNotFound, 5, "not found")
}
