package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/schema"
)

// readBody reads the request body within the server's limit; a larger body
// is a 413, a body with a content type other than JSON a 415. An empty body
// is nil when optional, else a 422.
func (s *Server) readBody(c *gin.Context, optional bool) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, err
		}
		return nil, &Error{Status: http.StatusBadRequest, Code: "unreadable_body", Message: "could not read the request body"}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil, nil
		}
		return nil, invalid([]any{"body"}, "Field required: the request needs a JSON body", "missing")
	}
	if ct := c.ContentType(); ct != "" && ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: fmt.Sprintf("Content-Type %q is not supported here; send application/json", ct), Details: map[string]any{"content_type": ct}}
	}
	return body, nil
}

// decode reads the body and validates it against m. It returns the parsed
// value (nil when the body is not JSON) and every problem found, located
// under "body"; the caller may add problems of its own (names that must
// exist, filters the store cannot run) and then call finish, so one 422
// lists them all. An error is a 413, 415 or unreadable body. An empty body
// reads as {} when optional.
func (s *Server) decode(c *gin.Context, m *schema.Schema, optional bool) (any, schema.Problems, error) {
	body, err := s.readBody(c, optional)
	if err != nil {
		return nil, nil, err
	}
	v, ps := decodeBody(body, m)
	return v, ps, nil
}

// decodeBody is decode without the HTTP part (the fuzz target).
func decodeBody(body []byte, m *schema.Schema) (any, schema.Problems) {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	v, err := schema.Parse(body)
	if err != nil {
		return nil, schema.Problems{{Loc: schema.Path{"body"}, Msg: "JSON decode error: " + errText(err), Type: "json_invalid"}}
	}
	return v, m.Validate(v, schema.Path{"body"})
}

// finish answers a 422 with ps when there are any; otherwise it completes v
// with m's defaults, stores it in dst (a Go value of the model) and returns
// the completed value.
func finish(m *schema.Schema, v any, ps schema.Problems, dst any) (any, error) {
	if len(ps) > 0 {
		return nil, problemsError(ps)
	}
	v = m.Complete(v)
	if err := schema.Into(v, dst); err != nil {
		return nil, fmt.Errorf("decoding a validated %s: %w", m.Name, err)
	}
	return v, nil
}

// bind decodes the body against m into dst, answering a 422 with every
// problem.
func (s *Server) bind(c *gin.Context, m *schema.Schema, dst any, optional bool) (any, error) {
	v, ps, err := s.decode(c, m, optional)
	if err != nil {
		return nil, err
	}
	return finish(m, v, ps, dst)
}

// problemsError turns problems into the 422 ValidationError.
func problemsError(ps schema.Problems) error {
	if len(ps) == 0 {
		return nil
	}
	out := &ValidationError{Items: make([]ValidationItem, len(ps))}
	for i, p := range ps {
		out.Items[i] = ValidationItem{Loc: []any(p.Loc), Msg: p.Msg, Type: p.Type}
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return "invalid JSON"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
