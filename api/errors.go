package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/store"
)

// Error is an API error: it becomes the seed's ErrorResponse envelope
// {"success": false, "status": …, "error": {message, type, code, details}}.
type Error struct {
	Status  int
	Code    string // stable snake_case reason a client may branch on
	Message string
	Details map[string]any
}

func (e *Error) Error() string { return e.Message }

// errorTypes is the one status table: HTTP status → the envelope's type.
var errorTypes = map[int]string{
	http.StatusBadRequest:            "BadRequestError",
	http.StatusUnauthorized:          "AuthenticationError",
	http.StatusForbidden:             "ForbiddenError",
	http.StatusNotFound:              "NotFoundError",
	http.StatusConflict:              "ConflictError",
	http.StatusRequestEntityTooLarge: "PayloadTooLargeError",
	http.StatusUnsupportedMediaType:  "UnsupportedMediaTypeError",
	http.StatusTooManyRequests:       "RateLimitError",
	http.StatusInternalServerError:   "InternalServerError",
	http.StatusServiceUnavailable:    "ServiceUnavailableError",
}

// ErrorBody is the seed's ErrorResponse.
type ErrorBody struct {
	Success bool        `json:"success"`
	Status  int         `json:"status"`
	Error   ErrorDetail `json:"error"`
}

// ErrorDetail is the seed's ErrorDetail.
type ErrorDetail struct {
	Message string         `json:"message"`
	Type    string         `json:"type"`
	Code    *string        `json:"code"`
	Details map[string]any `json:"details"`
}

// ValidationBody is the seed's HTTPValidationError.
type ValidationBody struct {
	Detail []ValidationItem `json:"detail"`
}

// ValidationItem is the seed's ValidationError: loc is the JSON path of
// the problem ("body", then field names and list indices as the client
// spelled them; or "path"/"query" and the parameter's name).
type ValidationItem struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// ValidationError is a 422.
type ValidationError struct{ Items []ValidationItem }

func (e *ValidationError) Error() string {
	if len(e.Items) == 0 {
		return "validation error"
	}
	return fmt.Sprintf("%v: %s", e.Items[0].Loc, e.Items[0].Msg)
}

func invalid(loc []any, msg, typ string) *ValidationError {
	return &ValidationError{Items: []ValidationItem{{Loc: loc, Msg: msg, Type: typ}}}
}

func notFound(resource, id string) *Error {
	return &Error{Status: http.StatusNotFound, Code: resource + "_not_found",
		Message: fmt.Sprintf("%s %s not found", capitalize(resource), id), Details: map[string]any{"resource": resource, "id": id}}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// classify maps any error a handler returns to a status and body: the one
// place where errors become HTTP.
func classify(err error) (int, any) {
	var ae *Error
	var ve *ValidationError
	var nf *store.NotFoundError
	var ce *store.ConflictError
	var qe *store.QueryError
	var de *store.DocumentError
	var mb *http.MaxBytesError
	var te *store.TextNULError
	switch {
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, ValidationBody{Detail: ve.Items}
	case errors.As(err, &ae):
	case errors.As(err, &nf):
		ae = notFound(nf.Resource, nf.ID)
	case errors.As(err, &ce):
		ae = &Error{Status: http.StatusConflict, Code: conflictCode(ce), Message: ce.Msg, Details: map[string]any{"resource": ce.Resource}}
	case errors.As(err, &qe):
		typ := qe.Type
		if typ == "" {
			typ = "value_error"
		}
		return http.StatusUnprocessableEntity, ValidationBody{Detail: []ValidationItem{{Loc: append([]any{"body"}, qe.Path...), Msg: qe.Msg, Type: typ}}}
	case errors.As(err, &de):
		loc := append([]any{"body", "documents", de.Index}, de.Field...)
		return http.StatusUnprocessableEntity, ValidationBody{Detail: []ValidationItem{{Loc: loc, Msg: de.Error(), Type: "value_error"}}}
	case errors.As(err, &te):
		return http.StatusUnprocessableEntity, ValidationBody{Detail: []ValidationItem{{Loc: []any{"body"}, Msg: te.Error(), Type: "value_error"}}}
	case errors.As(err, &mb):
		ae = &Error{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large",
			Message: fmt.Sprintf("request body is larger than the limit of %d bytes", mb.Limit), Details: map[string]any{"limit_bytes": mb.Limit}}
	case errors.Is(err, context.DeadlineExceeded):
		ae = &Error{Status: http.StatusServiceUnavailable, Code: "timeout", Message: "the request timed out"}
	default:
		ae = &Error{Status: http.StatusInternalServerError, Code: "internal_error", Message: "internal server error"}
	}
	return ae.Status, envelope(ae)
}

func conflictCode(ce *store.ConflictError) string {
	switch ce.Resource {
	case "run":
		return "run_already_finished"
	case "import":
		return "import_removed"
	}
	return ce.Resource + "_name_taken"
}

func envelope(e *Error) ErrorBody {
	t, ok := errorTypes[e.Status]
	if !ok {
		t = "InternalServerError"
	}
	var code *string
	if e.Code != "" {
		code = &e.Code
	}
	return ErrorBody{Success: false, Status: e.Status, Error: ErrorDetail{Message: e.Message, Type: t, Code: code, Details: e.Details}}
}

// handler is a Gin handler that returns an error instead of writing one.
type handler func(c *gin.Context) error

// wrap adapts a handler: a returned error is classified and written; 500s
// are logged with the error (never sent to the client).
func (s *Server) wrap(h handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.writeError(c, err)
		}
	}
}

func (s *Server) writeError(c *gin.Context, err error) {
	status, body := classify(err)
	if status >= 500 {
		s.log.Error("request failed", "method", c.Request.Method, "route", c.FullPath(), "err", err)
	} else {
		s.log.Debug("request rejected", "method", c.Request.Method, "route", c.FullPath(), "status", status, "err", err)
	}
	c.AbortWithStatusJSON(status, body)
}
