package schema_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/clusterd/clusterd/schema"
)

// point is a small model exercising every kind of rule.
var point = schema.Model("Point", "A test model.",
	schema.F("name", schema.Str().MinLen(1).MaxLen(5)).Req(),
	schema.F("k", schema.OneOf(schema.Int().Min(1), schema.Literal("auto"))).Def(8),
	schema.F("tol", schema.Num().Gt(0).Max(1)).Def(0.5),
	schema.F("mode", schema.Enum("a", "b")).Def("a"),
	schema.F("tags", schema.List(schema.Str().Matching(`^[a-z]+$`)).MaxLen(3).OrNull()),
	schema.F("extra", schema.FreeObject().OrNull()),
	schema.F("weights", schema.MapOf(schema.Num().Min(0))),
	schema.F("flag", schema.Bool()).Def(false),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	if o.IsString("mode", "b") && o.IsString("k", "auto") {
		return schema.Problems{{Loc: at.With("mode"), Msg: "b needs an integer k", Type: "value_error"}}
	}
	return nil
})

func mustParse(t *testing.T, s string) any {
	t.Helper()
	v, err := schema.Parse([]byte(s))
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return v
}

// TestValidate: each problem has pydantic's location, type and message,
// and every problem of a value is reported at once.
func TestValidate(t *testing.T) {
	type want struct {
		loc, typ, msg string
	}
	cases := []struct {
		name, body string
		want       []want
	}{
		{"valid", `{"name":"x"}`, nil},
		{"valid full", `{"name":"x","k":"auto","tol":1,"mode":"b","tags":null,"extra":{"a":[1]},"weights":{"w":0},"flag":true}`,
			[]want{{"body.mode", "value_error", "b needs an integer k"}}},
		{"integral float is an integer", `{"name":"x","k":3.0}`, nil},
		{"missing", `{}`, []want{{"body.name", "missing", "Field required"}}},
		{"extra key", `{"name":"x","nme":1}`, []want{{"body.nme", "extra_forbidden", "Extra inputs are not permitted"}}},
		{"string type", `{"name":3}`, []want{{"body.name", "string_type", "Input should be a valid string"}}},
		{"too short", `{"name":""}`, []want{{"body.name", "string_too_short", "String should have at least 1 character"}}},
		{"too long", `{"name":"abcdef"}`, []want{{"body.name", "string_too_long", "String should have at most 5 characters"}}},
		{"union literal", `{"name":"x","k":"many"}`, []want{{"body.k", "int_type", "Input should be a valid integer or 'auto'"}}},
		{"union range", `{"name":"x","k":0}`, []want{{"body.k", "greater_than_equal", "Input should be greater than or equal to 1"}}},
		{"union fraction", `{"name":"x","k":2.5}`, []want{{"body.k", "int_from_float", "Input should be a valid integer, got a number with a fractional part"}}},
		{"union wrong kind", `{"name":"x","k":true}`, []want{{"body.k", "int_type", "Input should be a valid integer or 'auto'"}}},
		{"exclusive minimum", `{"name":"x","tol":0}`, []want{{"body.tol", "greater_than", "Input should be greater than 0"}}},
		{"maximum", `{"name":"x","tol":1.5}`, []want{{"body.tol", "less_than_equal", "Input should be less than or equal to 1"}}},
		{"infinite", `{"name":"x","tol":1e999}`, []want{{"body.tol", "finite_number", "Input should be a finite number"}}},
		{"enum", `{"name":"x","mode":"c"}`, []want{{"body.mode", "enum", "Input should be 'a' or 'b'"}}},
		{"null not allowed", `{"name":"x","mode":null}`, []want{{"body.mode", "enum", "Input should be 'a' or 'b'"}}},
		{"list item", `{"name":"x","tags":["ok","NO",3]}`, []want{
			{"body.tags.1", "string_pattern_mismatch", "String should match pattern '^[a-z]+$'"},
			{"body.tags.2", "string_type", "Input should be a valid string"}}},
		{"list too long", `{"name":"x","tags":["a","b","c","d"]}`, []want{{"body.tags", "too_long", "List should have at most 3 items after validation, not 4"}}},
		{"map value", `{"name":"x","weights":{"a":-1,"b":"x"}}`, []want{
			{"body.weights.a", "greater_than_equal", "Input should be greater than or equal to 0"},
			{"body.weights.b", "float_type", "Input should be a valid number"}}},
		{"not an object", `[1]`, []want{{"body", "model_type", "Input should be a valid dictionary or instance of Point"}}},
		{"everything at once", `{"nme":1,"k":0,"tol":"x","flag":"yes"}`, []want{
			{"body.name", "missing", "Field required"},
			{"body.k", "greater_than_equal", "Input should be greater than or equal to 1"},
			{"body.tol", "float_type", "Input should be a valid number"},
			{"body.flag", "bool_type", "Input should be a valid boolean"},
			{"body.nme", "extra_forbidden", "Extra inputs are not permitted"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := point.Validate(mustParse(t, c.body), schema.Path{"body"})
			if len(ps) != len(c.want) {
				t.Fatalf("%d problems %v, want %d %v", len(ps), ps, len(c.want), c.want)
			}
			for i, p := range ps {
				if p.Loc.String() != c.want[i].loc || p.Type != c.want[i].typ || p.Msg != c.want[i].msg {
					t.Errorf("problem %d = %s %s %q, want %s %s %q", i, p.Loc, p.Type, p.Msg, c.want[i].loc, c.want[i].typ, c.want[i].msg)
				}
			}
		})
	}
}

// TestManyProblemsAreBounded: a huge invalid list answers with at most
// MaxProblems problems and a last one saying so.
func TestManyProblemsAreBounded(t *testing.T) {
	items := make([]string, 5000)
	for i := range items {
		items[i] = `"X"`
	}
	m := schema.List(schema.Str().Matching(`^[a-z]$`))
	ps := m.Validate(mustParse(t, "["+strings.Join(items, ",")+"]"), nil)
	if len(ps) != schema.MaxProblems+1 || ps[len(ps)-1].Type != "too_many_errors" {
		t.Fatalf("%d problems, last %+v", len(ps), ps[len(ps)-1])
	}
}

// TestComplete fills defaults at every depth without touching given values,
// and writes integral numbers of integer fields as integers.
func TestComplete(t *testing.T) {
	outer := schema.Model("Outer", "",
		schema.F("inner", schema.OneOf(point).OrNull()).Def(nil),
		schema.F("list", schema.List(point)).Def([]any{}),
	)
	v := mustParse(t, `{"inner":{"name":"x","k":3.0,"mode":"b"},"list":[{"name":"y"}]}`)
	if ps := outer.Validate(v, nil); len(ps) > 0 {
		t.Fatal(ps)
	}
	got, _ := json.Marshal(outer.Complete(v))
	want := `{"inner":{"flag":false,"k":3,"mode":"b","name":"x","tol":0.5},"list":[{"flag":false,"k":8,"mode":"a","name":"y","tol":0.5}]}`
	if string(got) != want {
		t.Fatalf("completed\n %s\nwant\n %s", got, want)
	}
	empty, ps := outer.Decode(nil, nil)
	if len(ps) > 0 || !reflect.DeepEqual(empty, map[string]any{"inner": nil, "list": []any{}}) {
		t.Fatalf("decode of nothing: %v %v", empty, ps)
	}
}

// TestDiscriminator: a union chosen by a tag reports an unknown tag once,
// and a known tag's own problems.
func TestDiscriminator(t *testing.T) {
	a := schema.Model("A", "", schema.F("kind", schema.Literal("a")).Req(), schema.F("n", schema.Int()).Req())
	b := schema.Model("B", "", schema.F("kind", schema.Literal("b")).Req())
	u := &schema.Schema{OneOf: []*schema.Schema{a, b}, Discriminator: "kind"}
	for body, want := range map[string]string{
		`{"kind":"c"}`:       "kind union_tag_invalid Input should be 'a' or 'b'",
		`{}`:                 "kind missing Field required",
		`{"kind":"a"}`:       "n missing Field required",
		`{"kind":"b"}`:       "",
		`{"kind":"b","n":1}`: "n extra_forbidden Extra inputs are not permitted",
	} {
		ps := u.Validate(mustParse(t, body), nil)
		got := ""
		if len(ps) > 0 {
			got = ps[0].Loc.String() + " " + ps[0].Type + " " + ps[0].Msg
		}
		if got != want || len(ps) > 1 {
			t.Errorf("%s: %v, want %q", body, ps, want)
		}
	}
}

// TestJSONSchemaAgreesWithKinOpenAPI: the published JSON Schema is a valid
// OpenAPI 3.1 component, and kin-openapi (a validator no one here wrote)
// accepts and rejects the same values as Validate.
func TestJSONSchemaAgreesWithKinOpenAPI(t *testing.T) {
	comps := schema.Components(point)
	doc := map[string]any{"openapi": "3.1.0", "info": map[string]any{"title": "t", "version": "1"}, "paths": map[string]any{},
		"components": map[string]any{"schemas": comps}}
	raw, _ := json.Marshal(doc)
	loader := openapi3.NewLoader()
	d, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(loader.Context); err != nil {
		t.Fatalf("published schema is not valid OpenAPI: %v", err)
	}
	ks := d.Components.Schemas["Point"].Value
	for _, body := range []string{
		`{"name":"x"}`, `{"name":"x","k":"auto","tol":1,"tags":["a"],"weights":{"w":2}}`, `{}`, `{"name":"x","nme":1}`,
		`{"name":"abcdef"}`, `{"name":"x","k":0}`, `{"name":"x","k":"many"}`, `{"name":"x","tol":0}`, `{"name":"x","tol":2}`,
		`{"name":"x","mode":"c"}`, `{"name":"x","tags":["A"]}`, `{"name":"x","tags":["a","b","c","d"]}`,
		`{"name":"x","weights":{"a":-1}}`, `{"name":"x","extra":{"any":[null]}}`, `{"name":"x","flag":1}`,
	} {
		var v any
		json.Unmarshal([]byte(body), &v)
		ours := len(point.Validate(mustParse(t, body), nil)) == 0
		theirs := ks.VisitJSON(v, openapi3.EnableJSONSchema2020()) == nil
		if ours != theirs {
			t.Errorf("%s: Validate accepts %v, kin-openapi accepts %v", body, ours, theirs)
		}
	}
}

// TestEqual compares JSON values, numbers by value.
func TestEqual(t *testing.T) {
	for _, c := range []struct {
		a, b string
		eq   bool
	}{
		{`{"a":[1,2.0]}`, `{"a":[1.0,2]}`, true},
		{`{"a":1}`, `{"a":1,"b":null}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`"1"`, `1`, false},
	} {
		if got := schema.Equal(mustParse(t, c.a), mustParse(t, c.b)); got != c.eq {
			t.Errorf("Equal(%s, %s) = %v", c.a, c.b, got)
		}
	}
}
