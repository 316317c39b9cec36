package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"
)

func init() {
	// Validation errors name fields by their JSON names, so a 422's loc is
	// the path the client wrote.
	if v, ok := binding.Validator.Engine().(*validator.Validate); ok {
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				return ""
			}
			if name == "" {
				return f.Name
			}
			return name
		})
	}
}

// readBody reads the request body within the server's limit; a larger body
// is a 413, a body with a content type other than JSON a 415.
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

// bindJSON decodes a JSON body into dst strictly (unknown fields are an
// error, each reported with its path) and validates it with the
// go-playground validator's `binding` tags. An empty body is allowed when
// optional (dst keeps its zero value).
func (s *Server) bindJSON(c *gin.Context, dst any, optional bool) error {
	body, err := s.readBody(c, optional)
	if err != nil || body == nil {
		return err
	}
	return decodeStrict(body, dst)
}

// decodeStrict is bindJSON without the HTTP part (the fuzz target).
func decodeStrict(body []byte, dst any) error {
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		var se *json.SyntaxError
		offset := int64(0)
		if errors.As(err, &se) {
			offset = se.Offset
		}
		return invalid([]any{"body", offset}, "JSON decode error: "+errText(err), "json_invalid")
	}
	if items := unknownFields(body, reflect.TypeOf(dst), []any{"body"}); len(items) > 0 {
		return &ValidationError{Items: items}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if items := typeErrors(body, reflect.TypeOf(dst)); len(items) > 0 {
			return &ValidationError{Items: items}
		}
		if errors.As(err, &te) {
			loc := []any{"body"}
			for _, p := range strings.Split(te.Field, ".") {
				if p != "" {
					loc = append(loc, p)
				}
			}
			return invalid(loc, fmt.Sprintf("Input should be a valid %s, got a JSON %s", typeName(te.Type), te.Value), typeName(te.Type)+"_type")
		}
		return invalid([]any{"body"}, "JSON decode error: "+errText(err), "json_invalid")
	}
	if err := binding.Validator.ValidateStruct(dst); err != nil {
		return validationItems(err)
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return "invalid JSON"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "list"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer:
		return typeName(t.Elem())
	}
	return t.String()
}

// validationItems converts validator errors into 422 items with JSON paths.
func validationItems(err error) error {
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) {
		return invalid([]any{"body"}, err.Error(), "value_error")
	}
	out := &ValidationError{}
	for _, fe := range ves {
		loc := []any{"body"}
		parts := strings.Split(fe.Namespace(), ".")
		for _, p := range parts[1:] { // parts[0] is the Go type name
			name, idx, hasIdx := strings.Cut(p, "[")
			loc = append(loc, name)
			if hasIdx {
				if i, err := strconv.Atoi(strings.TrimSuffix(idx, "]")); err == nil {
					loc = append(loc, i)
				}
			}
		}
		msg, typ := tagMessage(fe)
		out.Items = append(out.Items, ValidationItem{Loc: loc, Msg: msg, Type: typ})
	}
	return out
}

func tagMessage(fe validator.FieldError) (string, string) {
	switch fe.Tag() {
	case "required":
		return "Field required", "missing"
	case "oneof":
		return fmt.Sprintf("Input should be one of: %s", strings.ReplaceAll(fe.Param(), " ", ", ")), "literal_error"
	case "min":
		if fe.Kind() == reflect.Slice || fe.Kind() == reflect.String {
			return fmt.Sprintf("Should have at least %s item(s)", fe.Param()), "too_short"
		}
		return fmt.Sprintf("Input should be greater than or equal to %s", fe.Param()), "greater_than_equal"
	case "max":
		if fe.Kind() == reflect.Slice || fe.Kind() == reflect.String {
			return fmt.Sprintf("Should have at most %s item(s)/characters", fe.Param()), "too_long"
		}
		return fmt.Sprintf("Input should be less than or equal to %s", fe.Param()), "less_than_equal"
	case "gte":
		return fmt.Sprintf("Input should be greater than or equal to %s", fe.Param()), "greater_than_equal"
	case "gt":
		return fmt.Sprintf("Input should be greater than %s", fe.Param()), "greater_than"
	}
	return fmt.Sprintf("failed the %q check", fe.Tag()), "value_error"
}

// unknownFields walks a JSON document alongside a Go type and reports every
// object key the type has no field for, with its path. json.RawMessage and
// map fields are free-form and not walked.
func unknownFields(body []byte, t reflect.Type, path []any) []ValidationItem {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var out []ValidationItem
	walkUnknown(v, t, path, &out)
	return out
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

func walkUnknown(v any, t reflect.Type, path []any, out *[]ValidationItem) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return // a type error, reported by the decoder
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fields[name] = f.Type
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			p := append(append([]any{}, path...), k)
			if !ok {
				*out = append(*out, ValidationItem{Loc: p, Msg: "Extra inputs are not permitted", Type: "extra_forbidden"})
				continue
			}
			walkUnknown(obj[k], ft, p, out)
		}
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			return
		}
		for i, item := range list {
			walkUnknown(item, t.Elem(), append(append([]any{}, path...), i), out)
		}
	}
}

// typeErrors walks a JSON document alongside a Go type and reports every
// value of the wrong JSON type (or out of range for its Go number type) with
// its exact path, list indices and map keys included; encoding/json's own
// error names only the struct fields.
func typeErrors(body []byte, t reflect.Type) []ValidationItem {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	var out []ValidationItem
	walkTypes(v, t, []any{"body"}, &out)
	return out
}

func walkTypes(v any, t reflect.Type, path []any, out *[]ValidationItem) {
	if len(*out) >= 20 {
		return
	}
	for t.Kind() == reflect.Pointer {
		if v == nil {
			return
		}
		t = t.Elem()
	}
	if t == rawMessageType || t.Kind() == reflect.Interface || v == nil {
		return
	}
	bad := func(msg, typ string) {
		*out = append(*out, ValidationItem{Loc: append([]any{}, path...), Msg: msg, Type: typ})
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			bad("Input should be a valid dictionary or object", "model_type")
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if fv, ok := obj[name]; ok && f.IsExported() && name != "-" {
				walkTypes(fv, f.Type, append(append([]any{}, path...), name), out)
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			bad("Input should be a valid dictionary", "dict_type")
			return
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkTypes(obj[k], t.Elem(), append(append([]any{}, path...), k), out)
		}
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			bad("Input should be a valid list", "list_type")
			return
		}
		for i, item := range list {
			walkTypes(item, t.Elem(), append(append([]any{}, path...), i), out)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			bad("Input should be a valid string", "string_type")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			bad("Input should be a valid boolean", "bool_type")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			bad("Input should be a valid integer", "int_type")
			return
		}
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			bad("Input should be a valid integer within range", "int_type")
		}
	case reflect.Float32, reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			bad("Input should be a valid number", "float_type")
			return
		}
		if _, err := strconv.ParseFloat(string(n), t.Bits()); err != nil {
			bad(fmt.Sprintf("Input should be a finite number within the range of a %d-bit float", t.Bits()), "float_type")
		}
	}
}
