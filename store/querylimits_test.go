package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/schema"
)

// nested wraps leaf in levels logical operators (the root is one), cycling
// through ops: nested(3, []string{"NOT"}, x) is {"NOT":[{"NOT":[x]}]} with
// x inside the third.
func nested(levels int, ops []string, leaf string) string {
	var b strings.Builder
	for i := 0; i < levels-1; i++ {
		fmt.Fprintf(&b, `{%q:[`, ops[i%len(ops)])
	}
	fmt.Fprintf(&b, `{%q:[%s]}`, ops[(levels-1)%len(ops)], leaf)
	b.WriteString(strings.Repeat("]}", levels-1))
	return b.String()
}

// orOf is {"OR":[item(0), item(1), …]}.
func orOf(n int, item func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = item(i)
	}
	return `{"OR":[` + strings.Join(parts, ",") + `]}`
}

func inList(from, n int) string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprint(from + i)
	}
	return "[" + strings.Join(vals, ",") + "]"
}

// check runs CheckFilters on a tree given as JSON.
func check(t *testing.T, kind FilterKind, filters string) schema.Problems {
	t.Helper()
	v, err := schema.Parse([]byte(filters))
	if err != nil {
		t.Fatalf("bad test JSON: %v", err)
	}
	return CheckFilters(kind, v.(map[string]any), schema.Path{"body", "filters"})
}

// TestFilterLimits: the largest trees the limits allow run on SQLite (the
// heaviest SQL: conditions on payload keys, at the deepest level), and
// trees past them, which SQLite refused with an error (a 500 or a failed
// run before), are one problem each at the place the limit is passed.
func TestFilterLimits(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		fx := newFilterFixture(t, db)
		perCond := MaxFilterValues / (MaxFilterItems - MaxFilterDepth + 1) // values of each condition
		allowed := map[string]string{
			// 30 nested operators and an OR at level 32 count 31 items.
			"deepest and widest": nested(MaxFilterDepth-1, []string{"NOT", "AND", "OR"},
				orOf(MaxFilterItems-(MaxFilterDepth-1), func(i int) string {
					return cond(fmt.Sprintf("k%d", i%7), []string{"in", "nin"}[i%2], inList(i*perCond, perCond))
				})),
			"flat OR of every item": orOf(MaxFilterItems, func(i int) string { return cond("document_id", "eq", fmt.Sprintf(`"%d"`, i)) }),
			"flat AND of shorthands": func() string {
				parts := make([]string, MaxFilterItems)
				for i := range parts {
					parts[i] = fmt.Sprintf(`"k%d":%d`, i, i)
				}
				return "{" + strings.Join(parts, ",") + "}"
			}(),
			"every value in one list": cond("tags", "in", inList(0, MaxFilterValues)),
			"deepest NOT of text ops": nested(MaxFilterDepth-1, []string{"NOT"}, orOf(8, func(i int) string {
				return cond("text", []string{"contains", "starts_with", "ends_with", "regex", "text", "eq", "ne", "gt"}[i], `"quick"`)
			})),
		}
		for name, filters := range allowed {
			if ps := check(t, DocumentFilters, filters); len(ps) > 0 {
				t.Fatalf("%s: refused: %v", name, ps[0])
			}
			if _, err := fx.list(DocumentFilters, filters, &Sort{Field: "n", Direction: "desc"}); err != nil {
				t.Errorf("%s: SQLite refused a tree within the limits: %v", name, err)
			}
		}

		deepNOT := nested(600, []string{"NOT"}, `{"n":1}`)
		deepAND := nested(3000, []string{"AND"}, `{"n":1}`)
		notPath, andPath := "body.filters", "body.filters"
		for i := 1; i < MaxFilterDepth+1; i++ {
			notPath += ".NOT.0"
			andPath += ".AND.0"
		}
		for _, tc := range []struct {
			name, filters, loc, msg string
		}{
			{"NOT 600 deep", deepNOT, notPath, "nest at most 32 levels"},
			{"AND 3,000 deep", deepAND, andPath, "nest at most 32 levels"},
			{"in with 40,000 values", cond("n", "in", inList(0, 40000)), "body.filters.value", "at most 10000 values"},
			{"OR of 40,000 conditions", orOf(40000, func(i int) string { return cond("n", "eq", fmt.Sprint(i)) }), "body.filters.OR.1000", "at most 1000 conditions"},
			{"values over several lists", orOf(3, func(i int) string { return cond("n", "in", inList(0, 4000)) }), "body.filters.OR.2.value", "at most 10000 values"},
			{"NUL in a payload path", cond("payload.a\u0000b", "eq", "1"), "body.filters.field", "control character U+0000"},
			{"DEL in a bare path", cond("a\u007fb", "eq", "1"), "body.filters.field", "control character U+007F"},
			{"long regex", cond("text", "regex", `"`+strings.Repeat("a", MaxRegexLength+1)+`"`), "body.filters.value", "at most 1000 bytes"},
			{"long field", cond(strings.Repeat("a", MaxFieldLength+1), "eq", "1"), "body.filters.field", "at most 1024 characters"},
		} {
			ps := check(t, DocumentFilters, tc.filters)
			if len(ps) != 1 || ps[0].Loc.String() != tc.loc || !strings.Contains(ps[0].Msg, tc.msg) {
				got := fmt.Sprint(ps)
				if len(got) > 300 {
					got = got[:300] + "…"
				}
				t.Errorf("%s: got %s, want one problem at %s saying %q", tc.name, got, tc.loc, tc.msg)
			}
			if _, err := fx.list(DocumentFilters, tc.filters, nil); err == nil {
				t.Errorf("%s: the list ran", tc.name)
			} else if _, ok := err.(*QueryError); !ok {
				t.Errorf("%s: the list failed with %v, not a QueryError (a 422)", tc.name, err)
			}
		}
	})
}

// TestFilterLimitMargin measures where SQLite itself refuses the SQL the
// compiler writes, with the compiler's limits lifted, and checks the
// limits leave a wide margin below it.
func TestFilterLimitMargin(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		if db.d == dialectPostgres {
			t.Skip("measures SQLite's own limits on expressions, which the filter limits are set by")
		}
		fx := newFilterFixture(t, db)
		lifted := filterLimits{depth: 1 << 20, items: 1 << 20, values: 1 << 20}
		runs := func(filters string) bool {
			node, err := schema.Parse([]byte(filters))
			if err != nil {
				t.Fatal(err)
			}
			c := &compiler{fields: documentFields, limits: lifted}
			where := c.compile(node)
			if len(c.problems) > 0 {
				t.Fatal(c.problems)
			}
			var n int
			return fx.s.r.QueryRow(`SELECT COUNT(*) FROM documents d WHERE `+where, c.args...).Scan(&n) == nil
		}
		// SQLite 3.54 refused these shapes from 413 (NOT), 1,238 (AND) and 742
		// (NOT/AND/OR) levels when measured with a bisection; four times the
		// limit must run.
		for _, tc := range []struct {
			name string
			tree func(int) string
		}{
			{"NOT", func(d int) string { return nested(d, []string{"NOT"}, cond("tags", "in", `["a","b"]`)) }},
			{"AND", func(d int) string { return nested(d, []string{"AND"}, cond("tags", "in", `["a","b"]`)) }},
			{"NOT/AND/OR", func(d int) string { return nested(d, []string{"NOT", "AND", "OR"}, cond("text", "contains", `"x"`)) }},
		} {
			if !runs(tc.tree(4 * MaxFilterDepth)) {
				t.Errorf("%s: SQLite refuses %d levels, too close to the limit of %d", tc.name, 4*MaxFilterDepth, MaxFilterDepth)
			}
		}
		if runs(nested(600, []string{"NOT"}, `{"n":1}`)) {
			t.Errorf("SQLite took 600 nested NOTs; the depth limit's reason changed")
		}
		// Items: a flat OR is a balanced tree, so SQLite takes more than the
		// limit (a chain of 1,000 would not run). SQLite prepares a long OR in
		// superlinear time (1,000 conditions on payload keys take 60 ms, 5,000
		// take 380 ms, 20,000 take 25 s): that, not depth, is what the item
		// limit bounds.
		if !runs(orOf(2*MaxFilterItems, func(i int) string { return cond("document_id", "eq", fmt.Sprintf(`"%d"`, i)) })) {
			t.Errorf("SQLite refuses a flat OR of %d items", 2*MaxFilterItems)
		}
		// Values: every value is one bound parameter; SQLite takes 32,766.
		strs := make([]string, 3*MaxFilterValues)
		for i := range strs {
			strs[i] = fmt.Sprintf(`"%d"`, i)
		}
		if !runs(cond("document_id", "in", "["+strings.Join(strs, ",")+"]")) {
			t.Errorf("SQLite refuses %d values", 3*MaxFilterValues)
		}
		raw, _ := json.Marshal(map[string]any{"field": "document_id", "operator": "in", "value": make([]string, 32767)})
		if runs(string(raw)) {
			t.Errorf("SQLite took 32,767 bound values; the limit's reason changed")
		}
	})
}
