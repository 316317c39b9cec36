package schema

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Complete returns v with the default of every absent field filled in, at
// every depth (v is not modified). v should have passed Validate; values
// that do not match the schema are left as they are.
func (s *Schema) Complete(v any) any {
	if v == nil {
		return nil
	}
	if len(s.OneOf) > 0 {
		if s.Pick != nil {
			if alt := s.Pick(v); alt != nil {
				return alt.Complete(v)
			}
		}
		if s.Discriminator != "" {
			if alt, _ := s.discriminate(v, nil); alt != nil {
				return alt.Complete(v)
			}
			return v
		}
		for _, alt := range s.OneOf {
			if len(alt.Validate(v, nil)) == 0 {
				return alt.Complete(v)
			}
		}
		return v
	}
	switch s.Kind {
	case Integer:
		// 3.0 is a valid integer; write it 3 so it decodes into Go ints.
		if n, ok := v.(json.Number); ok {
			if i, ok := integral(n); ok {
				return json.Number(strconv.FormatInt(i, 10))
			}
		}
		return v
	case Array:
		list, ok := v.([]any)
		if !ok || s.Items == nil {
			return v
		}
		out := make([]any, len(list))
		for i, item := range list {
			out[i] = s.Items.Complete(item)
		}
		return out
	case Object:
		obj, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(obj)+len(s.Fields))
		selected := s.selected(obj)
		for k, fv := range obj {
			if r, ok := selected[k]; ok {
				out[k] = r.Complete(fv)
			} else if f := s.Field(k); f != nil {
				out[k] = f.Schema.Complete(fv)
			} else if s.Extra != nil {
				out[k] = s.Extra.Complete(fv)
			} else {
				out[k] = fv
			}
		}
		for _, f := range s.Fields {
			if _, present := obj[f.Name]; !present && f.hasDefault() {
				out[f.Name] = f.Schema.Complete(deepCopy(f.Default))
			}
		}
		return out
	}
	return v
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	}
	return v
}

// Decode parses data, validates it against s (problems located under at)
// and completes it with the defaults. Empty data or null stand for an empty
// object when s is an object, so a model with every field defaulted decodes
// from nothing.
func (s *Schema) Decode(data []byte, at Path) (any, Problems) {
	data = bytes.TrimSpace(data)
	var v any
	if len(data) == 0 || (bytes.Equal(data, []byte("null")) && s.Kind == Object && !s.Nullable) {
		v = map[string]any{}
	} else {
		var err error
		if v, err = Parse(data); err != nil {
			return nil, Problems{{Loc: at, Msg: "JSON decode error: " + err.Error(), Type: "json_invalid"}}
		}
	}
	if ps := s.Validate(v, at); len(ps) > 0 {
		return nil, ps
	}
	return s.Complete(v), nil
}

// Into stores a validated value in dst (a pointer to a Go value whose JSON
// form matches the schema) through encoding/json.
func Into(v any, dst any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(dst)
}

// Values is a JSON object (as Parse returns it) read by field name; after
// Validate and Complete every declared field has its declared type. The
// getters never panic: a field that is absent, null or of another type
// reads as the zero value (use the OK forms to tell).
type Values map[string]any

// AsValues returns v as Values (nil when v is not an object).
func AsValues(v any) Values {
	m, _ := v.(map[string]any)
	return Values(m)
}

// Has reports whether name is present and not null.
func (o Values) Has(name string) bool { return o[name] != nil }

// IntOK returns an integer field and whether it is one.
func (o Values) IntOK(name string) (int, bool) {
	n, ok := o[name].(json.Number)
	if !ok {
		return 0, false
	}
	i, ok := integral(n)
	return int(i), ok
}

// FloatOK returns a number field and whether it is one.
func (o Values) FloatOK(name string) (float64, bool) {
	n, ok := o[name].(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil
}

// Int returns an integer field (0 when it is not one).
func (o Values) Int(name string) int {
	i, _ := o.IntOK(name)
	return i
}

// Float returns a number field (0 when it is not one).
func (o Values) Float(name string) float64 {
	f, _ := o.FloatOK(name)
	return f
}

// IntPtr returns an integer field, nil when it is not one (absent, null).
func (o Values) IntPtr(name string) *int {
	if i, ok := o.IntOK(name); ok {
		return &i
	}
	return nil
}

// FloatPtr returns a number field, nil when it is not one (absent, null).
func (o Values) FloatPtr(name string) *float64 {
	if f, ok := o.FloatOK(name); ok {
		return &f
	}
	return nil
}

// Str returns a string field ("" when it is not one).
func (o Values) Str(name string) string {
	s, _ := o[name].(string)
	return s
}

// Bool returns a boolean field (false when it is not one).
func (o Values) Bool(name string) bool {
	b, _ := o[name].(bool)
	return b
}

// IsString reports whether name holds the string s.
func (o Values) IsString(name, s string) bool {
	v, ok := o[name].(string)
	return ok && v == s
}

// Obj returns an object field (nil when it is not one).
func (o Values) Obj(name string) Values { return AsValues(o[name]) }

// List returns a list field (nil when it is not one).
func (o Values) List(name string) []any {
	l, _ := o[name].([]any)
	return l
}
