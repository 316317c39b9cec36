package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Path locates a value inside a document: object keys (string) and list
// indices (int), as pydantic's loc.
type Path []any

// With returns a new path with elem appended (p is not modified).
func (p Path) With(elem ...any) Path {
	out := make(Path, 0, len(p)+len(elem))
	return append(append(out, p...), elem...)
}

func (p Path) String() string {
	var b strings.Builder
	for i, e := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprint(&b, e)
	}
	return b.String()
}

// Problem is one reason a value is invalid: where (Loc), what (Msg, for
// people) and which kind (Type, pydantic's error type such as "missing",
// "extra_forbidden", "greater_than_equal", for programs).
type Problem struct {
	Loc  Path
	Msg  string
	Type string
}

// Problems are every problem found in one value, in document order. It is an
// error when not empty.
type Problems []Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		if len(p.Loc) == 0 {
			msgs[i] = p.Msg
		} else {
			msgs[i] = p.Loc.String() + ": " + p.Msg
		}
	}
	return strings.Join(msgs, "; ")
}

// Err returns ps as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// MaxProblems bounds the problems one validation reports, so a list of a
// million bad items answers with a short 422; the last item then says that
// more were found.
const MaxProblems = 100

// Validate checks v (a value as Parse returns it) against s and returns
// every problem, located under at.
func (s *Schema) Validate(v any, at Path) Problems {
	var out Problems
	s.validate(v, at, &out)
	if len(out) > MaxProblems {
		out = append(out[:MaxProblems], Problem{Loc: at, Type: "too_many_errors",
			Msg: fmt.Sprintf("more than %d problems; the first %d are listed", MaxProblems, MaxProblems)})
	}
	return out
}

func (s *Schema) validate(v any, at Path, out *Problems) {
	if len(*out) > MaxProblems {
		return
	}
	before := len(*out)
	if v == nil {
		if !s.acceptsNull() {
			*out = append(*out, s.typeProblem(at))
		}
		return
	}
	if len(s.OneOf) > 0 {
		s.validateOneOf(v, at, out)
	} else {
		switch s.Kind {
		case Any:
		case Null:
			*out = append(*out, Problem{Loc: at, Msg: "Input should be None", Type: "none_required"})
		case Boolean:
			if _, ok := v.(bool); !ok {
				*out = append(*out, s.typeProblem(at))
			}
		case Integer, Number:
			s.validateNumber(v, at, out)
		case String:
			s.validateString(v, at, out)
		case Array:
			s.validateArray(v, at, out)
		case Object:
			s.validateObject(v, at, out)
		}
	}
	// Cross-field rules run whatever the fields' own problems were, so one
	// answer lists everything; a Check reads fields with the OK getters and
	// skips what is ill-typed.
	if s.Check != nil {
		if _, isObj := v.(map[string]any); len(*out) == before || (isObj && s.Kind == Object) {
			*out = append(*out, s.Check(v, at)...)
		}
	}
}

// acceptsNull reports whether null is a valid value.
func (s *Schema) acceptsNull() bool {
	if s.Nullable || (len(s.OneOf) == 0 && (s.Kind == Any || s.Kind == Null)) {
		return true
	}
	for _, alt := range s.OneOf {
		if alt.acceptsNull() {
			return true
		}
	}
	return false
}

// typeProblem is the problem of a value of the wrong JSON type.
func (s *Schema) typeProblem(at Path) Problem {
	if len(s.OneOf) > 0 {
		descs := make([]string, 0, len(s.OneOf))
		for _, alt := range s.OneOf {
			descs = append(descs, alt.describe())
		}
		if s.Nullable {
			descs = append(descs, "null")
		}
		return Problem{Loc: at, Msg: "Input should be " + joinOr(descs), Type: s.OneOf[0].typeProblem(nil).Type}
	}
	switch s.Kind {
	case Boolean:
		return Problem{Loc: at, Msg: "Input should be a valid boolean", Type: "bool_type"}
	case Integer:
		return Problem{Loc: at, Msg: "Input should be a valid integer", Type: "int_type"}
	case Number:
		return Problem{Loc: at, Msg: "Input should be a valid number", Type: "float_type"}
	case String:
		if s.Const != nil {
			return Problem{Loc: at, Msg: "Input should be " + s.describe(), Type: "literal_error"}
		}
		if len(s.Enum) > 0 {
			return Problem{Loc: at, Msg: "Input should be " + s.describe(), Type: "enum"}
		}
		return Problem{Loc: at, Msg: "Input should be a valid string", Type: "string_type"}
	case Array:
		return Problem{Loc: at, Msg: "Input should be a valid list", Type: "list_type"}
	case Object:
		if s.Name != "" {
			return Problem{Loc: at, Msg: "Input should be a valid dictionary or instance of " + s.Name, Type: "model_type"}
		}
		return Problem{Loc: at, Msg: "Input should be a valid dictionary", Type: "dict_type"}
	case Null:
		return Problem{Loc: at, Msg: "Input should be None", Type: "none_required"}
	}
	return Problem{Loc: at, Msg: "Input is not valid", Type: "value_error"}
}

// describe names the values s accepts, for union messages.
func (s *Schema) describe() string {
	switch {
	case len(s.OneOf) > 0:
		descs := make([]string, len(s.OneOf))
		for i, alt := range s.OneOf {
			descs[i] = alt.describe()
		}
		return joinOr(descs)
	case s.Const != nil:
		return quote(s.Const)
	case len(s.Enum) > 0:
		q := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			q[i] = quote(e)
		}
		return joinOr(q)
	}
	switch s.Kind {
	case Boolean:
		return "a valid boolean"
	case Integer:
		return "a valid integer"
	case Number:
		return "a valid number"
	case String:
		return "a valid string"
	case Array:
		return "a valid list"
	case Object:
		if s.Name != "" {
			return "a valid " + s.Name + " object"
		}
		return "a valid dictionary"
	case Null:
		return "null"
	}
	return "any value"
}

func quote(v any) string {
	if s, ok := v.(string); ok {
		return "'" + s + "'"
	}
	return fmt.Sprint(v)
}

func joinOr(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// matchesKind reports whether v has the JSON type alt accepts (ignoring
// every other constraint): the alternative a union's problems are reported
// against.
func (s *Schema) matchesKind(v any) bool {
	if len(s.OneOf) > 0 {
		for _, alt := range s.OneOf {
			if alt.matchesKind(v) {
				return true
			}
		}
		return false
	}
	switch x := v.(type) {
	case nil:
		return s.acceptsNull()
	case bool:
		return s.Kind == Boolean || s.Kind == Any
	case json.Number:
		if s.Kind == Integer {
			_, ok := integral(x)
			return ok
		}
		return s.Kind == Number || s.Kind == Any
	case string:
		return s.Kind == String || s.Kind == Any
	case []any:
		return s.Kind == Array || s.Kind == Any
	case map[string]any:
		return s.Kind == Object || s.Kind == Any
	}
	return false
}

func (s *Schema) validateOneOf(v any, at Path, out *Problems) {
	if s.Pick != nil {
		if alt := s.Pick(v); alt != nil {
			alt.validate(v, at, out)
			return
		}
	}
	if s.Discriminator != "" {
		if alt, ps := s.discriminate(v, at); alt != nil {
			alt.validate(v, at, out)
			return
		} else if ps != nil {
			*out = append(*out, ps...)
			return
		}
	}
	var best Problems
	found := false
	for _, alt := range s.OneOf {
		var ps Problems
		alt.validate(v, at, &ps)
		if len(ps) == 0 {
			return
		}
		if alt.matchesKind(v) && (!found || len(ps) < len(best)) {
			best, found = ps, true
		}
	}
	if !found {
		// An integer alternative given a fractional number says so.
		for _, alt := range s.OneOf {
			if alt.Kind == Integer && len(alt.OneOf) == 0 {
				if n, ok := v.(json.Number); ok {
					if _, err := strconv.ParseFloat(string(n), 64); err == nil {
						var ps Problems
						alt.validate(v, at, &ps)
						*out = append(*out, ps...)
						return
					}
				}
			}
		}
		*out = append(*out, s.typeProblem(at))
		return
	}
	// A value of a literal's type that is not the literal ("two" where an
	// integer or "auto" is wanted) is described by the whole union.
	if len(best) == 1 && len(best[0].Loc) == len(at) && (best[0].Type == "literal_error" || best[0].Type == "enum") {
		*out = append(*out, s.typeProblem(at))
		return
	}
	*out = append(*out, best...)
}

// discriminate picks the alternative named by the discriminator key of an
// object value. It returns the problem of a missing or unknown tag, and
// neither when v is not an object.
func (s *Schema) discriminate(v any, at Path) (*Schema, Problems) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, Problems{s.typeProblem(at)}
	}
	tag, present := obj[s.Discriminator]
	var tags []string
	for _, alt := range s.OneOf {
		f := alt.Field(s.Discriminator)
		if f == nil || f.Schema.Const == nil {
			continue
		}
		if f.Schema.Const == tag {
			return alt, nil
		}
		tags = append(tags, quote(f.Schema.Const))
	}
	if !present {
		return nil, Problems{{Loc: at.With(s.Discriminator), Msg: "Field required", Type: "missing"}}
	}
	return nil, Problems{{Loc: at.With(s.Discriminator), Msg: "Input should be " + joinOr(tags), Type: "union_tag_invalid"}}
}

// integral returns n as an int64 when it is a whole number within ±2^53
// (written 3 or 3.0), as pydantic accepts.
func integral(n json.Number) (int64, bool) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, i >= -(1<<53) && i <= 1<<53
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func (s *Schema) validateNumber(v any, at Path, out *Problems) {
	n, ok := v.(json.Number)
	if !ok {
		*out = append(*out, s.typeProblem(at))
		return
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		*out = append(*out, Problem{Loc: at, Msg: "Input should be a finite number", Type: "finite_number"})
		return
	}
	if s.Kind == Integer {
		if _, ok := integral(n); !ok {
			if f != math.Trunc(f) {
				*out = append(*out, Problem{Loc: at, Msg: "Input should be a valid integer, got a number with a fractional part", Type: "int_from_float"})
			} else {
				*out = append(*out, Problem{Loc: at, Msg: "Input should be a valid integer between -2^53 and 2^53", Type: "int_type"})
			}
			return
		}
	}
	if len(s.Enum) > 0 && !containsValue(s.Enum, v) {
		*out = append(*out, Problem{Loc: at, Msg: "Input should be " + s.describe(), Type: "literal_error"})
		return
	}
	if s.Minimum != nil {
		if s.ExclusiveMinimum && !(f > *s.Minimum) {
			*out = append(*out, Problem{Loc: at, Msg: "Input should be greater than " + fmtNum(*s.Minimum), Type: "greater_than"})
		} else if !s.ExclusiveMinimum && f < *s.Minimum {
			*out = append(*out, Problem{Loc: at, Msg: "Input should be greater than or equal to " + fmtNum(*s.Minimum), Type: "greater_than_equal"})
		}
	}
	if s.Maximum != nil {
		if s.ExclusiveMaximum && !(f < *s.Maximum) {
			*out = append(*out, Problem{Loc: at, Msg: "Input should be less than " + fmtNum(*s.Maximum), Type: "less_than"})
		} else if !s.ExclusiveMaximum && f > *s.Maximum {
			*out = append(*out, Problem{Loc: at, Msg: "Input should be less than or equal to " + fmtNum(*s.Maximum), Type: "less_than_equal"})
		}
	}
}

// fmtNum writes a bound as pydantic does: integers without an exponent.
func fmtNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func containsValue(list []any, v any) bool {
	for _, e := range list {
		if equalValues(e, v) {
			return true
		}
	}
	return false
}

// equalValues compares scalars, numbers by value (1 equals 1.0).
func equalValues(a, b any) bool {
	na, aok := a.(json.Number)
	nb, bok := b.(json.Number)
	if aok && bok {
		fa, err1 := strconv.ParseFloat(string(na), 64)
		fb, err2 := strconv.ParseFloat(string(nb), 64)
		return err1 == nil && err2 == nil && fa == fb
	}
	return a == b
}

func (s *Schema) validateString(v any, at Path, out *Problems) {
	str, ok := v.(string)
	if !ok {
		*out = append(*out, s.typeProblem(at))
		return
	}
	if s.Const != nil && s.Const != str {
		*out = append(*out, Problem{Loc: at, Msg: "Input should be " + quote(s.Const), Type: "literal_error"})
		return
	}
	if len(s.Enum) > 0 && !containsValue(s.Enum, str) {
		*out = append(*out, Problem{Loc: at, Msg: "Input should be " + s.describe(), Type: "enum"})
		return
	}
	n := utf8.RuneCountInString(str)
	if s.MinLength != nil && n < *s.MinLength {
		*out = append(*out, Problem{Loc: at, Msg: fmt.Sprintf("String should have at least %d %s", *s.MinLength, plural(*s.MinLength, "character")), Type: "string_too_short"})
	}
	if s.MaxLength != nil && n > *s.MaxLength {
		*out = append(*out, Problem{Loc: at, Msg: fmt.Sprintf("String should have at most %d %s", *s.MaxLength, plural(*s.MaxLength, "character")), Type: "string_too_long"})
	}
	if re := s.compiledPattern(); re != nil && !re.MatchString(str) {
		*out = append(*out, Problem{Loc: at, Msg: fmt.Sprintf("String should match pattern '%s'", s.Pattern), Type: "string_pattern_mismatch"})
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func (s *Schema) validateArray(v any, at Path, out *Problems) {
	list, ok := v.([]any)
	if !ok {
		*out = append(*out, s.typeProblem(at))
		return
	}
	if s.MinLength != nil && len(list) < *s.MinLength {
		*out = append(*out, Problem{Loc: at, Msg: fmt.Sprintf("List should have at least %d %s after validation, not %d", *s.MinLength, plural(*s.MinLength, "item"), len(list)), Type: "too_short"})
	}
	if s.MaxLength != nil && len(list) > *s.MaxLength {
		*out = append(*out, Problem{Loc: at, Msg: fmt.Sprintf("List should have at most %d %s after validation, not %d", *s.MaxLength, plural(*s.MaxLength, "item"), len(list)), Type: "too_long"})
		return // the items of an oversized list are not worth checking one by one
	}
	if s.Items == nil {
		return
	}
	for i, item := range list {
		if len(*out) > MaxProblems {
			return
		}
		s.Items.validate(item, at.With(i), out)
	}
}

func (s *Schema) validateObject(v any, at Path, out *Problems) {
	obj, ok := v.(map[string]any)
	if !ok {
		*out = append(*out, s.typeProblem(at))
		return
	}
	selected := s.selected(obj)
	for _, f := range s.Fields {
		fv, present := obj[f.Name]
		if !present {
			if f.Required {
				*out = append(*out, Problem{Loc: at.With(f.Name), Msg: "Field required", Type: "missing"})
			}
			continue
		}
		fs := f.Schema
		if r, ok := selected[f.Name]; ok {
			fs = r
		}
		fs.validate(fv, at.With(f.Name), out)
	}
	var extra []string
	for k := range obj {
		if s.Field(k) == nil {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		if s.Extra == nil {
			*out = append(*out, Problem{Loc: at.With(k), Msg: "Extra inputs are not permitted", Type: "extra_forbidden"})
			continue
		}
		s.Extra.validate(obj[k], at.With(k), out)
	}
}

// selected returns the Select replacements for obj (nil without Select).
func (s *Schema) selected(obj map[string]any) map[string]*Schema {
	if s.Select == nil {
		return nil
	}
	return s.Select(obj)
}

// Equal reports whether two values (as Parse returns them) are the same
// JSON value, numbers compared by value.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !Equal(xv, yv) {
				return false
			}
		}
		return true
	}
	return equalValues(a, b)
}
