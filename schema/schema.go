// Package schema describes JSON values once, declaratively, and derives
// everything else from that description: request validation (every problem
// of a value at once, each with its exact path, in pydantic's vocabulary,
// which is what Mixpeek's API answers with), the defaults a request is
// completed with, typed reading of the validated value, and the JSON Schema
// published in the OpenAPI document.
//
// A description is a tree of *Schema values. Named schemas (Name set) are
// models: they become components of the OpenAPI document and are referenced
// by $ref. Objects list their fields; an object rejects keys it does not
// declare (extra_forbidden) unless Extra says what other keys may hold.
//
// The package has no dependencies inside clusterd, so the engine (algorithm
// parameters), the wire models and the API all describe their values with it.
package schema

import (
	"regexp"
	"sync"
)

// Kind is the JSON type of a value a Schema accepts.
type Kind int

// The kinds. Any accepts every JSON value (including null).
const (
	Any Kind = iota
	Null
	Boolean
	Integer
	Number
	String
	Array
	Object
)

var kindNames = [...]string{"any", "null", "boolean", "integer", "number", "string", "array", "object"}

func (k Kind) String() string { return kindNames[k] }

// Schema describes the values one JSON location may hold.
type Schema struct {
	// Name makes the schema a model: a component of the OpenAPI document,
	// referenced by $ref wherever it is used. Mixpeek's names are kept
	// ("KMeansParams", "VectorBasedConfig-Input").
	Name string
	// Doc describes the value; it becomes the JSON Schema description.
	Doc  string
	Kind Kind
	// OneOf lists alternatives: the value must match at least one of them
	// (JSON Schema anyOf; Kind is ignored). Problems are reported against
	// the alternative whose kind matches the value.
	OneOf []*Schema
	// Discriminator names the key whose value chooses among OneOf's object
	// alternatives: each alternative declares that key with a Const. A
	// value with an unknown tag gets one problem at the key instead of
	// every alternative's.
	Discriminator string
	// Pick, when set, chooses among OneOf's alternatives by the value
	// itself (nil: the usual search), for unions whose alternatives would
	// otherwise both match.
	Pick func(v any) *Schema
	// Nullable also accepts null.
	Nullable bool

	// Enum lists the accepted values (strings or numbers).
	Enum []any
	// Const is the one accepted value, when set.
	Const any

	// Minimum and Maximum bound numbers (inclusive unless the Exclusive
	// flag is set).
	Minimum, Maximum                   *float64
	ExclusiveMinimum, ExclusiveMaximum bool
	// MinLength and MaxLength bound strings (in characters) and arrays (in
	// items).
	MinLength, MaxLength *int
	// Pattern is a regular expression a string must match (RE2 syntax).
	Pattern string
	// Format is informational ("date-time", "uri").
	Format string

	// Items describes the elements of an array.
	Items *Schema

	// Fields are an object's declared keys, in documentation order.
	Fields []*Field
	// Extra describes the values of keys an object does not declare; nil
	// forbids such keys (extra_forbidden).
	Extra *Schema
	// Select returns, for an object's given values, schemas that replace
	// the declared schemas of some fields (by name): a field whose shape
	// depends on a sibling, such as algorithm parameters on the algorithm's
	// name. Validation and Complete use the replacement; the published JSON
	// Schema shows the declared one.
	Select func(obj map[string]any) map[string]*Schema
	// Check runs cross-field rules. On an object it runs even when fields
	// had problems of their own (so one answer lists everything), and it
	// must skip fields of the wrong type (Values' OK getters tell); on other
	// kinds it runs only on a structurally valid value. at is the value's
	// path.
	Check func(v any, at Path) Problems

	// Examples are example values, published in the OpenAPI document.
	Examples []any

	pattern     *regexp.Regexp
	patternOnce sync.Once
}

// Field is one declared key of an object.
type Field struct {
	Name   string
	Schema *Schema
	// Required: the key must be present (null is allowed when the schema is
	// nullable).
	Required bool
	// Default is the value an absent key takes, as a JSON value (nil, bool,
	// float64, string, []any, map[string]any); set HasDefault for a default
	// of null. Complete fills it in.
	Default    any
	HasDefault bool
	// Doc describes the field; it overrides the schema's Doc in the field's
	// JSON Schema when set.
	Doc string
	// NoOp says why the field is accepted but has no effect in clusterd
	// (it is published as x-clusterd-no-op).
	NoOp string
	// Extension marks a field that is clusterd's, not Mixpeek's (published
	// as x-clusterd-extension).
	Extension bool
	// Deprecated marks a field kept for compatibility.
	Deprecated bool
}

// hasDefault reports whether the field has a default value.
func (f *Field) hasDefault() bool { return f.HasDefault || f.Default != nil }

// Field returns the declared field called name, or nil.
func (s *Schema) Field(name string) *Field {
	for _, f := range s.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func (s *Schema) compiledPattern() *regexp.Regexp {
	s.patternOnce.Do(func() {
		if s.Pattern != "" {
			s.pattern = regexp.MustCompile(s.Pattern)
		}
	})
	return s.pattern
}
