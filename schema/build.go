package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// The constructors below keep declarations short:
//
//	schema.Model("KMeansParams", "Parameters for K-Means.",
//		schema.F("n_clusters", schema.Int().Min(1)).Def(8),
//		schema.F("verbose", schema.Int().Min(0)).Def(0).NoEffect("progress is reported by clusterd itself"),
//	)
//
// Each returns a new value, and the modifiers change and return their
// receiver, so a declaration reads left to right.

// Str is a string.
func Str() *Schema { return &Schema{Kind: String} }

// Int is an integer.
func Int() *Schema { return &Schema{Kind: Integer} }

// Num is a number.
func Num() *Schema { return &Schema{Kind: Number} }

// Bool is a boolean.
func Bool() *Schema { return &Schema{Kind: Boolean} }

// AnyValue accepts every JSON value.
func AnyValue() *Schema { return &Schema{Kind: Any} }

// List is an array of items.
func List(items *Schema) *Schema { return &Schema{Kind: Array, Items: items} }

// FreeObject is an object whose keys and values are not constrained.
func FreeObject() *Schema { return &Schema{Kind: Object, Extra: AnyValue()} }

// MapOf is an object whose every value matches v.
func MapOf(v *Schema) *Schema { return &Schema{Kind: Object, Extra: v} }

// Model is a named object with the given fields; other keys are forbidden.
func Model(name, doc string, fields ...*Field) *Schema {
	return &Schema{Name: name, Doc: doc, Kind: Object, Fields: fields}
}

// OneOf accepts a value matching any of alts.
func OneOf(alts ...*Schema) *Schema { return &Schema{OneOf: alts} }

// Enum is a string that must be one of values.
func Enum(values ...string) *Schema {
	s := &Schema{Kind: String}
	for _, v := range values {
		s.Enum = append(s.Enum, v)
	}
	return s
}

// Literal is a string that must equal v.
func Literal(v string) *Schema { return &Schema{Kind: String, Const: v} }

// Min sets an inclusive lower bound.
func (s *Schema) Min(v float64) *Schema { s.Minimum = &v; return s }

// Max sets an inclusive upper bound.
func (s *Schema) Max(v float64) *Schema { s.Maximum = &v; return s }

// Gt sets an exclusive lower bound.
func (s *Schema) Gt(v float64) *Schema { s.Minimum, s.ExclusiveMinimum = &v, true; return s }

// Lt sets an exclusive upper bound.
func (s *Schema) Lt(v float64) *Schema { s.Maximum, s.ExclusiveMaximum = &v, true; return s }

// MinLen sets the least length (characters or items).
func (s *Schema) MinLen(n int) *Schema { s.MinLength = &n; return s }

// MaxLen sets the greatest length (characters or items).
func (s *Schema) MaxLen(n int) *Schema { s.MaxLength = &n; return s }

// Matching sets the pattern a string must match.
func (s *Schema) Matching(re string) *Schema { s.Pattern = re; return s }

// OrNull also accepts null.
func (s *Schema) OrNull() *Schema { s.Nullable = true; return s }

// Describe sets the documentation.
func (s *Schema) Describe(doc string) *Schema { s.Doc = doc; return s }

// Named makes the schema a model called name.
func (s *Schema) Named(name string) *Schema { s.Name = name; return s }

// Checked adds a cross-field rule (see Schema.Check).
func (s *Schema) Checked(check func(v any, at Path) Problems) *Schema { s.Check = check; return s }

// WithFormat sets the informational format.
func (s *Schema) WithFormat(f string) *Schema { s.Format = f; return s }

// Example adds example values.
func (s *Schema) Example(v ...any) *Schema {
	for _, x := range v {
		s.Examples = append(s.Examples, normalize(x))
	}
	return s
}

// F declares a field.
func F(name string, s *Schema) *Field { return &Field{Name: name, Schema: s} }

// Req makes the field required.
func (f *Field) Req() *Field { f.Required = true; return f }

// Def sets the default (a Go value with a JSON form; nil means null).
func (f *Field) Def(v any) *Field {
	f.Default, f.HasDefault = normalize(v), true
	return f
}

// NoEffect marks the field accepted without effect, saying why.
func (f *Field) NoEffect(why string) *Field { f.NoOp = why; return f }

// Ext marks the field as clusterd's extension of Mixpeek's model.
func (f *Field) Ext() *Field { f.Extension = true; return f }

// Deprecate marks the field as kept for compatibility.
func (f *Field) Deprecate() *Field { f.Deprecated = true; return f }

// Describe sets the field's documentation.
func (f *Field) Describe(doc string) *Field { f.Doc = doc; return f }

// normalize turns a Go value into the representation Parse produces
// (json.Number for numbers, []any, map[string]any), so defaults and parsed
// values compare and copy alike.
func normalize(v any) any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("schema: value %#v has no JSON form: %v", v, err))
	}
	out, err := Parse(b)
	if err != nil {
		panic(fmt.Sprintf("schema: value %#v: %v", v, err))
	}
	return out
}

// Parse decodes one JSON document, keeping numbers exact (json.Number).
// Trailing data after the value is an error.
func Parse(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid data after the JSON value at offset %d", dec.InputOffset())
	}
	return v, nil
}
