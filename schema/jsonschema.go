package schema

import (
	"fmt"
	"reflect"
)

// RefPrefix is where named schemas live in an OpenAPI document.
const RefPrefix = "#/components/schemas/"

// JSONSchema returns s as a JSON Schema (the OpenAPI 3.1 dialect): s itself
// is expanded, and the named schemas inside it are references to
// RefPrefix+Name (Components lists their expansions).
func (s *Schema) JSONSchema() map[string]any { return s.expand() }

// ref returns a reference to s when it is named, else its expansion.
func (s *Schema) ref() map[string]any {
	if s.Name != "" {
		r := map[string]any{"$ref": RefPrefix + s.Name}
		if s.Nullable {
			return map[string]any{"anyOf": []any{r, map[string]any{"type": "null"}}}
		}
		return r
	}
	return s.expand()
}

func (s *Schema) expand() map[string]any {
	out := map[string]any{}
	// A named schema's nullability belongs to its uses (see ref), not to
	// the component.
	nullable := s.Nullable && s.Name == ""
	if len(s.OneOf) > 0 {
		alts := make([]any, 0, len(s.OneOf)+1)
		for _, alt := range s.OneOf {
			alts = append(alts, alt.ref())
		}
		if nullable {
			alts = append(alts, map[string]any{"type": "null"})
		}
		out["anyOf"] = alts
		if s.Discriminator != "" && allNamed(s.OneOf) {
			out["discriminator"] = map[string]any{"propertyName": s.Discriminator}
		}
	} else {
		switch s.Kind {
		case Any:
		case Null:
			out["type"] = "null"
		case Array:
			out["type"] = "array"
			if s.Items != nil {
				out["items"] = s.Items.ref()
			}
		case Object:
			out["type"] = "object"
			if len(s.Fields) > 0 {
				props := map[string]any{}
				var required []any
				for _, f := range s.Fields {
					props[f.Name] = f.jsonSchema()
					if f.Required {
						required = append(required, f.Name)
					}
				}
				out["properties"] = props
				if len(required) > 0 {
					out["required"] = required
				}
			}
			if s.Extra == nil {
				out["additionalProperties"] = false
			} else if s.Extra.Kind == Any && len(s.Extra.OneOf) == 0 {
				out["additionalProperties"] = true
			} else {
				out["additionalProperties"] = s.Extra.ref()
			}
		default:
			out["type"] = s.Kind.String()
		}
		if nullable && s.Kind != Any && s.Kind != Null {
			// A nullable scalar or container: anyOf with null, as Mixpeek
			// (pydantic) writes Optional fields.
			inner := out
			out = map[string]any{"anyOf": []any{inner, map[string]any{"type": "null"}}}
		}
		constrain(s, firstNonNull(out))
	}
	if s.Name != "" {
		out["title"] = s.Name
	}
	if s.Doc != "" {
		out["description"] = s.Doc
	}
	if len(s.Examples) > 0 {
		out["examples"] = s.Examples
	}
	return out
}

// firstNonNull returns the schema a nullable wrapper wraps (or m itself).
func firstNonNull(m map[string]any) map[string]any {
	if alts, ok := m["anyOf"].([]any); ok && len(alts) == 2 && m["type"] == nil {
		if inner, ok := alts[0].(map[string]any); ok {
			return inner
		}
	}
	return m
}

func constrain(s *Schema, out map[string]any) {
	if s.Const != nil {
		out["const"] = s.Const
	}
	if len(s.Enum) > 0 {
		out["enum"] = s.Enum
	}
	if s.Minimum != nil {
		if s.ExclusiveMinimum {
			out["exclusiveMinimum"] = *s.Minimum
		} else {
			out["minimum"] = *s.Minimum
		}
	}
	if s.Maximum != nil {
		if s.ExclusiveMaximum {
			out["exclusiveMaximum"] = *s.Maximum
		} else {
			out["maximum"] = *s.Maximum
		}
	}
	if s.MinLength != nil {
		if s.Kind == Array {
			out["minItems"] = *s.MinLength
		} else {
			out["minLength"] = *s.MinLength
		}
	}
	if s.MaxLength != nil {
		if s.Kind == Array {
			out["maxItems"] = *s.MaxLength
		} else {
			out["maxLength"] = *s.MaxLength
		}
	}
	if s.Pattern != "" {
		out["pattern"] = s.Pattern
	}
	if s.Format != "" {
		out["format"] = s.Format
	}
}

func (f *Field) jsonSchema() map[string]any {
	out := f.Schema.ref()
	if _, isRef := out["$ref"]; isRef && (f.hasDefault() || f.Doc != "" || f.NoOp != "" || f.Extension || f.Deprecated) {
		// Siblings of $ref are allowed in OpenAPI 3.1; keep the reference
		// intact and annotate beside it.
		out = map[string]any{"$ref": out["$ref"]}
	}
	if f.hasDefault() {
		out["default"] = f.Default
	}
	if f.Doc != "" {
		out["description"] = f.Doc
	}
	if f.NoOp != "" {
		out["x-clusterd-no-op"] = f.NoOp
	}
	if f.Extension {
		out["x-clusterd-extension"] = true
	}
	if f.Deprecated {
		out["deprecated"] = true
	}
	return out
}

// Components returns the expansion of every named schema reachable from
// roots (the roots included when named), keyed by name. Two different
// schemas with one name are a programming error and panic.
func Components(roots ...*Schema) map[string]any {
	seen := map[string]*Schema{}
	out := map[string]any{}
	var walk func(s *Schema)
	walk = func(s *Schema) {
		if s == nil {
			return
		}
		if s.Name != "" {
			if prev, ok := seen[s.Name]; ok {
				if prev != s && !reflect.DeepEqual(prev.expand(), s.expand()) {
					panic(fmt.Sprintf("schema: two different schemas are named %q", s.Name))
				}
				return
			}
			seen[s.Name] = s
			out[s.Name] = s.expand()
		}
		for _, alt := range s.OneOf {
			walk(alt)
		}
		walk(s.Items)
		walk(s.Extra)
		for _, f := range s.Fields {
			walk(f.Schema)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return out
}

func allNamed(alts []*Schema) bool {
	for _, a := range alts {
		if a.Name == "" {
			return false
		}
	}
	return true
}
