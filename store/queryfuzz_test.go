package store

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterd/clusterd/schema"
)

// FuzzFilters checks the filter compiler on arbitrary trees: an input that
// is a JSON object is the tree itself, anything else drives a generator of
// trees over the fixture's fields, operators and awkward values. For every
// list kind:
//   - CheckFilters and whereClause agree (problems ⇔ an error);
//   - a tree CheckFilters accepts runs on SQLite, with and without a sort
//     (never a 500);
//   - every problem is located under the given path (strings and indices),
//     with a message and a type;
//   - on documents, the rows SQLite returns are those a reference evaluator
//     (plain Go, written from docs/API.md's rules) selects; one document
//     holds U+0000 (addNULDocument).
//
// CI runs it for 15 s; the seed corpus (testdata/fuzz/FuzzFilters and the
// f.Add seeds) runs in every go test.
func FuzzFilters(f *testing.F) {
	for _, s := range []string{
		`{"AND":[{"field":"category","operator":"eq","value":"café"},{"OR":[{"field":"n","operator":"gt","value":5}],"case_sensitive":true}]}`,
		`{"NOT":[{"field":"tags","operator":"in","value":["red",1,true,null]}],"text":"x"}`,
		`{"operator":"OR","conditions":[{"field":"n","operator":">=","value":5},{"field":"text","operator":"text","value":"quick fox"}]}`,
		`{"field":"payload.a\u0000b","operator":"eq","value":1}`,
		`{"field":"we\"ird[$]\\","operator":"regex","value":"^Q$"}`,
		`{"field":"x","operator":"eq","value":{"type":"dynamic","field":"inputs.q"}}`,
		"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15",
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0\xef\xee\xed\xec",
	} {
		f.Add([]byte(s))
	}
	fx := newFilterFixture(f, sqliteDB)
	docs := addNULDocument(f, fx, referenceDocs(f))
	kinds := []FilterKind{DocumentFilters, CollectionFilters, ClusterFilters, RunFilters, TaskFilters}
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, sortField := treeOf(data)
		raw, err := json.Marshal(tree)
		if err != nil {
			t.Skip() // not representable (invalid UTF-8 keys are replaced, fine; NaN cannot occur)
		}
		for _, kind := range kinds {
			obj, _ := tree.(map[string]any)
			ps := CheckFilters(kind, obj, schema.Path{"body", "filters"})
			for _, p := range ps {
				if len(p.Loc) < 2 || p.Loc[0] != "body" || p.Loc[1] != "filters" || p.Msg == "" || !regexp.MustCompile(`^[a-z_]+$`).MatchString(p.Type) {
					t.Fatalf("%s %s: malformed problem %#v", kind.Name, raw, p)
				}
				for _, e := range p.Loc {
					switch e.(type) {
					case string, int:
					default:
						t.Fatalf("%s %s: loc element %#v in %v", kind.Name, raw, e, p.Loc)
					}
				}
			}
			_, _, werr := whereClause(raw, kind.fields, dialectSQLite)
			if (len(ps) == 0) != (werr == nil) {
				t.Fatalf("%s %s: CheckFilters %v but whereClause %v", kind.Name, raw, ps, werr)
			}
			if len(ps) > 0 {
				continue
			}
			got, err := fx.list(kind, string(raw), nil)
			if err != nil {
				t.Fatalf("%s %s: an accepted filter failed on SQLite: %v", kind.Name, raw, err)
			}
			srt := &Sort{Field: sortField, Direction: "desc"}
			if len(CheckSort(kind, srt, schema.Path{"sort"})) == 0 {
				if _, err := fx.list(kind, string(raw), srt); err != nil {
					t.Fatalf("%s %s sorted by %q: an accepted list failed on SQLite: %v", kind.Name, raw, sortField, err)
				}
			}
			if kind.Name == "documents" {
				var want []string
				for _, d := range docs {
					if refNode(obj, d, false) {
						want = append(want, d.id)
					}
				}
				if !slices.Equal(sorted(got), want) {
					where, args, _ := whereClause(raw, kind.fields, dialectSQLite)
					t.Fatalf("%s:\nSQLite    %v\nreference %v\nSQL %s %v", raw, sorted(got), want, where, args)
				}
			}
		}
	})
}

// treeOf makes a filter tree of fuzz data: the data when it is a JSON
// object, else a generated tree. It also picks a sort field.
func treeOf(data []byte) (any, string) {
	if v, err := schema.Parse(data); err == nil {
		if _, ok := v.(map[string]any); ok {
			return v, "n"
		}
	}
	g := &treeGen{data: data}
	tree := g.operator(1)
	return tree, g.field()
}

// treeGen turns bytes into choices.
type treeGen struct {
	data []byte
	pos  int
}

func (g *treeGen) pick(n int) int {
	if g.pos >= len(g.data) {
		return 0
	}
	b := g.data[g.pos]
	g.pos++
	return int(b) % n
}

var (
	genFields = []string{"category", "n", "tags", "flag", "text", "nested.k", "nested", "nul", "document_id", "created_at", "updated_at",
		"payload.category", "metadata.n", "metadata.team", `we"ird[$]\`, "payload.", "a\x00b", "a..b", "missing", "status", "cluster_name",
		"metrics.silhouette_score", "collection_ids", "num_clusters", "completed_at", "task_type", "error_message", "and", "payload", ""}
	genOps    = []string{"eq", "ne", "gt", "lt", "gte", "lte", "in", "nin", "contains", "starts_with", "ends_with", "regex", "exists", "is_null", "text", "==", ">", "like"}
	genValues = []any{"café", "CAFÉ", "strasse", "STRAẞE", "red", "quick fox", "^the", "(bad", "", "5", "2026-01-02T00:00:00Z", "ß", "a\x00b", "%_", "Ünï", "completed", "kmeans",
		json.Number("5"), json.Number("7.5"), json.Number("-2"), json.Number("0"), json.Number("1e999"), json.Number("100"), true, false, nil}
)

func (g *treeGen) field() string { return genFields[g.pick(len(genFields))] }

func (g *treeGen) value() any {
	switch g.pick(12) {
	case 0:
		n := g.pick(4)
		list := make([]any, n)
		for i := range list {
			list[i] = genValues[g.pick(len(genValues))]
		}
		return list
	case 1:
		return map[string]any{"type": "dynamic", "field": "inputs.x"}
	}
	return genValues[g.pick(len(genValues))]
}

func (g *treeGen) condition() map[string]any {
	c := map[string]any{"field": g.field()}
	if g.pick(8) != 0 {
		c["operator"] = genOps[g.pick(len(genOps))]
	}
	if g.pick(10) != 0 {
		c["value"] = g.value()
	}
	if g.pick(20) == 0 {
		c["extra"] = 1
	}
	return c
}

func (g *treeGen) operator(depth int) map[string]any {
	op := map[string]any{}
	switch g.pick(6) {
	case 0:
		op["case_sensitive"] = true
	case 1:
		op["case_sensitive"] = false
	case 2:
		op["case_sensitive"] = nil
	}
	if g.pick(10) == 0 { // the documented {"operator", "conditions"} form
		op["operator"] = []string{"AND", "OR", "NOT", "xor"}[g.pick(4)]
		op["conditions"] = g.items(depth)
		return op
	}
	for _, k := range []string{"AND", "OR", "NOT"} {
		if g.pick(3) == 0 {
			op[k] = g.items(depth)
		}
	}
	if g.pick(4) == 0 {
		op[g.field()] = g.value()
	}
	return op
}

func (g *treeGen) items(depth int) []any {
	n := g.pick(4)
	out := make([]any, 0, n)
	for range n {
		if depth < MaxFilterDepth+2 && g.pick(3) == 0 {
			out = append(out, g.operator(depth+1))
		} else {
			out = append(out, g.condition())
		}
	}
	return out
}

// refDoc is a fixture document as the reference evaluator sees it.
type refDoc struct {
	id               string
	payload          map[string]any // nil: no payload
	created, updated int64
}

func referenceDocs(tb testing.TB) []refDoc {
	out := make([]refDoc, len(fixtureDocs))
	for i, d := range fixtureDocs {
		ts := at2026("01-0" + string(rune('1'+i)) + "T00:00:00Z")
		out[i] = refDoc{id: d.id, created: ts, updated: ts}
		if d.payload != "" {
			v, err := schema.Parse([]byte(d.payload))
			if err != nil {
				tb.Fatal(err)
			}
			out[i].payload = v.(map[string]any)
		}
	}
	return out
}

// refNode evaluates an accepted tree on a document by docs/API.md's rules.
func refNode(obj map[string]any, d refDoc, cs bool) bool {
	if obj == nil {
		return true
	}
	if v, ok := obj["case_sensitive"].(bool); ok {
		cs = cs || v
	}
	if _, ok := obj["field"]; ok {
		return refCondition(obj, d, cs)
	}
	if list, ok := obj["conditions"].([]any); ok {
		if op, ok := obj["operator"].(string); ok {
			return refList(strings.ToUpper(op), list, d, cs)
		}
	}
	for k, v := range obj {
		switch k {
		case "case_sensitive":
		case "AND", "OR", "NOT":
			if list, ok := v.([]any); ok && !refList(k, list, d, cs) {
				return false
			}
		default:
			if !refCondition(map[string]any{"field": k, "operator": "eq", "value": v}, d, cs) {
				return false
			}
		}
	}
	return true
}

func refList(op string, list []any, d refDoc, cs bool) bool {
	if len(list) == 0 {
		return true
	}
	some := false
	for _, item := range list {
		if refNode(item.(map[string]any), d, cs) {
			some = true
		} else if op == "AND" {
			return false
		}
	}
	switch op {
	case "OR":
		return some
	case "NOT":
		return !some
	}
	return true
}

// refValue is the field's value: present, and its elements (a list's
// items, else the value itself; an object has none).
func refValue(name string, d refDoc) (v any, present bool, elems []any) {
	switch name {
	case "document_id":
		return d.id, true, []any{d.id}
	case "created_at":
		return d.created, true, []any{d.created}
	case "updated_at":
		return d.updated, true, []any{d.updated}
	}
	path := name
	for _, p := range []string{"payload.", "metadata."} {
		path = strings.TrimPrefix(path, p)
		if path != name {
			break
		}
	}
	var cur any = d.payload
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok || m == nil {
			return nil, false, nil
		}
		if cur, ok = m[k]; !ok {
			return nil, false, nil
		}
	}
	switch x := cur.(type) {
	case []any:
		return cur, true, x
	case map[string]any:
		return cur, true, nil
	}
	return cur, true, []any{cur}
}

func refCondition(c map[string]any, d refDoc, cs bool) bool {
	name := c["field"].(string)
	op, _ := c["operator"].(string)
	if op == "" {
		op = "eq"
	}
	if a, ok := operatorAliases[op]; ok {
		op = a
	}
	value := c["value"]
	v, present, elems := refValue(name, d)
	isNull := !present || v == nil
	timeField := name == "created_at" || name == "updated_at"
	norm := func(x any) any { // a compared value: time strings as micros
		if s, ok := x.(string); ok && timeField {
			tm, _ := time.Parse(time.RFC3339Nano, s)
			return micros(tm)
		}
		return x
	}
	someElem := func(pred func(e any) bool) bool {
		for _, e := range elems {
			if pred(e) {
				return true
			}
		}
		return false
	}
	equal := func(e, x any) bool {
		x = norm(x)
		switch xv := x.(type) {
		case string:
			es, ok := e.(string)
			if !ok {
				return false
			}
			if cs {
				return es == xv
			}
			return fold(es) == fold(xv)
		case bool:
			eb, ok := e.(bool)
			return ok && eb == xv
		}
		ef, eok := refNumber(e)
		xf, xok := refNumber(x)
		return eok && xok && ef == xf
	}
	switch op {
	case "eq", "ne":
		var r bool
		if value == nil {
			r = isNull
		} else {
			r = someElem(func(e any) bool { return equal(e, value) })
		}
		return r == (op == "eq")
	case "in", "nin":
		r := false
		for _, x := range value.([]any) {
			if x == nil {
				r = r || isNull
			} else {
				r = r || someElem(func(e any) bool { return equal(e, x) })
			}
		}
		return r == (op == "in")
	case "gt", "lt", "gte", "lte":
		x := norm(value)
		return someElem(func(e any) bool {
			var c int
			if xs, ok := x.(string); ok {
				es, ok := e.(string)
				if !ok {
					return false
				}
				c = strings.Compare(es, xs)
			} else {
				ef, eok := refNumber(e)
				xf, _ := refNumber(x)
				if !eok {
					return false
				}
				c = map[bool]int{true: -1, false: 0}[ef < xf] + map[bool]int{true: 1, false: 0}[ef > xf]
			}
			switch op {
			case "gt":
				return c > 0
			case "lt":
				return c < 0
			case "gte":
				return c >= 0
			}
			return c <= 0
		})
	case "contains", "starts_with", "ends_with", "regex", "text":
		s := value.(string)
		return someElem(func(e any) bool {
			es, ok := e.(string)
			if !ok {
				return false
			}
			if op == "text" {
				return textMatch(es, s, cs)
			}
			if op == "regex" {
				p := s
				if !cs {
					p = "(?i)" + s
				}
				return regexp.MustCompile(p).MatchString(es)
			}
			if !cs {
				es, s = fold(es), fold(s)
			}
			switch op {
			case "contains":
				return strings.Contains(es, s)
			case "starts_with":
				return strings.HasPrefix(es, s)
			}
			return strings.HasSuffix(es, s)
		})
	case "exists":
		want, ok := value.(bool)
		if !ok {
			want = true
		}
		return present == want
	case "is_null":
		want, ok := value.(bool)
		if !ok {
			want = true
		}
		return isNull == want
	}
	panic(fmt.Sprintf("reference: operator %q", op))
}

func refNumber(x any) (float64, bool) {
	switch v := x.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case int64:
		return float64(v), true
	}
	return 0, false
}
