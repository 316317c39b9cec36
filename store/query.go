package store

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/clusterd/clusterd/schema"
)

// Query is a list request: filters, sort, free-text search and paging, as
// the API's POST …/list endpoints take them.
type Query struct {
	// Filters is Mixpeek's LogicalOperator ({"AND":[…],"OR":[…],"NOT":[…],
	// "case_sensitive":…} with shorthand {"field": value} keys), a bare
	// FilterCondition {field,operator,value}, or the form the executions
	// list documents, {"operator":"AND","conditions":[…]}. See whereClause.
	Filters json.RawMessage
	Sort    *Sort
	Search  string
	Limit   int // 1..1000
	Offset  int // 0..10000
	// IncludeTotal asks for the total number of matches.
	IncludeTotal bool
}

// Sort orders a list by one field.
type Sort struct {
	Field     string `json:"field"`
	Direction string `json:"direction"` // "asc" or "desc"
}

// QueryError is a problem with a list request, located by Path (the JSON
// path inside the request body, e.g. ["filters","AND",0,"field"]); Type is
// pydantic's error type ("value_error" when empty).
type QueryError struct {
	Path []any
	Msg  string
	Type string
}

func (e *QueryError) Error() string { return fmt.Sprintf("%v: %s", e.Path, e.Msg) }

// The limits of one filter tree. SQLite refuses an expression more than
// 1,000 nodes deep and more than 32,766 bound values: a chain of 1,000 ORs
// or 500 nested NOTs fails there, and of the SQL this compiler writes it
// refused 413 nested NOTs, 742 mixed and 1,238 nested ANDs. The compiler
// joins lists as balanced trees (log2 deep), and binds one value per value
// compared, so a tree within these limits stays far from both;
// TestFilterLimits runs the largest ones and TestFilterLimitMargin checks
// the margin.
const (
	// MaxFilterDepth is how deeply logical operators nest; the root
	// operator is level 1.
	MaxFilterDepth = 32
	// MaxFilterItems bounds the conditions, shorthand conditions and nested
	// operators of one tree, all levels together.
	MaxFilterItems = 1000
	// MaxFilterValues bounds the values compared against in one tree: one
	// per condition, every item of an in or nin list.
	MaxFilterValues = 10000
	// MaxFieldLength bounds a field name (as the contract's models do).
	MaxFieldLength = 1024
	// MaxRegexLength bounds a regex pattern, in bytes.
	MaxRegexLength = 1000
)

// filterLimits are the limits a compiler enforces (the constants above;
// tests lift them to measure SQLite's own).
type filterLimits struct{ depth, items, values int }

var defaultLimits = filterLimits{MaxFilterDepth, MaxFilterItems, MaxFilterValues}

// fieldKind is the type of a field's values, which decides the operators
// and values it takes.
type fieldKind uint8

const (
	textField   fieldKind = iota + 1 // a string (or null)
	numberField                      // a number (or null)
	timeField                        // integer microseconds, shown and compared as RFC 3339 times
	jsonField                        // any JSON value inside a JSON column (payload, metadata)
)

// field is one field a list filters and sorts on.
type field struct {
	kind fieldKind
	expr string // SQL of its value
	// jsonField: the JSON column and the SQL literal of the path in it.
	col, path string
	// pgPath is the path as PostgreSQL's text[] (ARRAY['a', 'b']).
	pgPath string
}

func column(kind fieldKind, expr string) field { return field{kind: kind, expr: expr} }

func jsonAt(col string, segs []string) field {
	var b strings.Builder
	b.WriteString("'$")
	for _, s := range segs {
		// A quoted JSON-path label holds the key as a JSON string body, so
		// quotes, backslashes, dots, brackets and $ in a key are escaped by
		// JSON's rules (the SQLite that modernc.org/sqlite embeds reads
		// them); the only character the SQL literal then needs escaped is
		// the single quote.
		q, _ := json.Marshal(s)
		b.WriteByte('.')
		b.WriteString(strings.ReplaceAll(string(q), "'", "''"))
	}
	b.WriteByte('\'')
	path := b.String()
	quoted := make([]string, len(segs))
	for i, s := range segs {
		quoted[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	pgPath := "ARRAY[" + strings.Join(quoted, ", ") + "]::text[]"
	return field{kind: jsonField, col: col, path: path, pgPath: pgPath, expr: "json_extract(" + col + ", " + path + ")"}
}

// fieldMap is what one kind of list filters and sorts on: named fields,
// prefixes that address keys inside a JSON column ("metadata." + key path),
// and, for documents, bare names that are payload keys.
type fieldMap struct {
	fixed    map[string]field
	prefixes []jsonPrefix
	bare     string // the JSON column unknown names are key paths in; "" refuses them
	bareDoc  string // how the message listing fields describes bare names
}

// jsonPrefix maps "prefix.a.b" to the path $.a.b in col.
type jsonPrefix struct{ prefix, col string }

// resolve finds a field by its API name. Dots separate the keys of a path
// inside a JSON column; a key may hold any character but a control
// character.
func (m fieldMap) resolve(name, verb string) (field, string) {
	if utf8.RuneCountInString(name) > MaxFieldLength {
		return field{}, fmt.Sprintf("field names are at most %d characters", MaxFieldLength)
	}
	if f, ok := m.fixed[name]; ok {
		return f, ""
	}
	for _, p := range m.prefixes {
		if rest, ok := strings.CutPrefix(name, p.prefix); ok {
			return keyField(p.col, name, rest)
		}
		if name == strings.TrimSuffix(p.prefix, ".") {
			return field{}, fmt.Sprintf("name a field inside %s: %sNAME", name, p.prefix)
		}
	}
	if m.bare != "" {
		return keyField(m.bare, name, name)
	}
	return field{}, fmt.Sprintf("unknown field %s; %s fields: %s", quoteName(name), verb, m.names())
}

// keyField is the field at a dotted key path inside a JSON column.
func keyField(col, name, path string) (field, string) {
	if !utf8.ValidString(path) {
		return field{}, "field names must be valid UTF-8"
	}
	segs := strings.Split(path, ".")
	for _, s := range segs {
		if s == "" {
			return field{}, fmt.Sprintf("field %s has an empty key: dots separate the keys of a path", quoteName(name))
		}
		for _, r := range s {
			if unicode.IsControl(r) {
				return field{}, fmt.Sprintf("field %s contains the control character U+%04X; field names may not", quoteName(name), r)
			}
		}
	}
	return jsonAt(col, segs), ""
}

// quoteName quotes a field name for a message, shortened when long.
func quoteName(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return strconv.Quote(s)
}

// names lists the fields for messages.
func (m fieldMap) names() string {
	out := make([]string, 0, len(m.fixed)+len(m.prefixes)+1)
	for k := range m.fixed {
		out = append(out, k)
	}
	sort.Strings(out)
	for _, p := range m.prefixes {
		out = append(out, p.prefix+"NAME")
	}
	if m.bareDoc != "" {
		out = append(out, m.bareDoc)
	}
	return strings.Join(out, ", ")
}

// operatorNames lists the operators for messages.
const operatorNames = "'eq', 'ne', 'gt', 'lt', 'gte', 'lte', 'in', 'nin', 'contains', 'starts_with', 'ends_with', 'regex', 'exists', 'is_null' or 'text'"

// knownOperators are Mixpeek's FilterOperator values.
var knownOperators = map[string]bool{"eq": true, "ne": true, "gt": true, "lt": true, "gte": true, "lte": true, "in": true, "nin": true,
	"contains": true, "starts_with": true, "ends_with": true, "regex": true, "exists": true, "is_null": true, "text": true}

// operatorAliases are the symbols the executions list's description uses
// in its {"operator": "AND", "conditions": […]} examples.
var operatorAliases = map[string]string{"==": "eq", "!=": "ne", ">": "gt", "<": "lt", ">=": "gte", "<=": "lte"}

var sqlComparisons = map[string]string{"gt": ">", "lt": "<", "gte": ">=", "lte": "<="}

// problem is one problem of a filter tree, at a path relative to its root.
type problem struct {
	path []any
	msg  string
	typ  string
}

// compiler turns a parsed filter tree into SQL with placeholders (values
// are never interpolated) and collects every problem on the way.
type compiler struct {
	pg        bool // PostgreSQL's dialect (see some and typed)
	fields    fieldMap
	limits    filterLimits
	args      []any
	problems  []problem
	truncated bool // more than schema.MaxProblems problems
	items     int
	values    int
}

// at returns path + elems in a new slice (paths are shared by siblings).
func at(path []any, elems ...any) []any {
	out := make([]any, 0, len(path)+len(elems))
	return append(append(out, path...), elems...)
}

func (c *compiler) fail(path []any, typ, msg string) {
	if len(c.problems) >= schema.MaxProblems {
		c.truncated = true
		return
	}
	c.problems = append(c.problems, problem{path: path, msg: msg, typ: typ})
}

func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

// stopped reports that the rest of a tree need not be looked at: the
// answer already holds schema.MaxProblems problems, or the tree is past
// MaxFilterItems (so a huge tree costs no more than a refused one).
func (c *compiler) stopped() bool { return c.truncated || c.items > c.limits.items }

// countItem counts one condition or nested operator.
func (c *compiler) countItem(path []any) {
	c.items++
	if c.items == c.limits.items+1 {
		c.fail(path, "value_error", fmt.Sprintf("a filter has at most %d conditions and nested operators in all; this one is past the limit", c.limits.items))
	}
}

// countValues counts n values compared against.
func (c *compiler) countValues(path []any, n int) {
	before := c.values
	c.values += n
	if before <= c.limits.values && c.values > c.limits.values {
		c.fail(path, "value_error", fmt.Sprintf("a filter compares against at most %d values in all (every item of an in or nin list counts); this one is past the limit", c.limits.values))
	}
}

// compile compiles a filter tree (a value as schema.Parse returns it).
// A null or empty tree is "TRUE".
func (c *compiler) compile(node any) string {
	obj, ok := node.(map[string]any)
	if node == nil || (ok && len(obj) == 0) {
		return "TRUE"
	}
	if !ok {
		c.fail(nil, "model_type", "Input should be a valid dictionary or instance of LogicalOperator")
		return "FALSE"
	}
	if _, isCond := obj["field"]; isCond {
		// The root is a LogicalOperator by the contract, so a condition
		// there may carry its case_sensitive (completing a request with
		// defaults adds it).
		cs := c.caseSensitive(obj, nil, false)
		rest := make(map[string]any, len(obj))
		for k, v := range obj {
			if k != "case_sensitive" {
				rest[k] = v
			}
		}
		return c.condition(rest, nil, cs)
	}
	return c.operator(obj, nil, false, 1)
}

// caseSensitive reads an operator's case_sensitive: true makes string
// comparisons in the operator and everything nested in it case-sensitive;
// false, null or absent keep the enclosing operator's setting (false at the
// root). So true is never undone further in: Mixpeek's generated clients
// send every field with its default, false, on every nested operator, and
// completing a request or a stored cluster definition with defaults does
// the same, which must not switch off a case_sensitive the client set above.
func (c *compiler) caseSensitive(obj map[string]any, path []any, cs bool) bool {
	v, ok := obj["case_sensitive"]
	if !ok {
		return cs
	}
	switch x := v.(type) {
	case bool:
		return cs || x
	case nil:
	default:
		c.fail(at(path, "case_sensitive"), "bool_type", "Input should be a valid boolean")
	}
	return cs
}

// operator compiles a LogicalOperator: its AND, OR and NOT lists and its
// shorthand conditions, all of which must hold. cs is the enclosing
// operator's case sensitivity (see caseSensitive).
func (c *compiler) operator(obj map[string]any, path []any, cs bool, depth int) string {
	if depth > c.limits.depth {
		c.fail(path, "value_error", fmt.Sprintf("logical operators nest at most %d levels deep", c.limits.depth))
		return "FALSE"
	}
	cs = c.caseSensitive(obj, path, cs)
	if list, ok := obj["conditions"].([]any); ok {
		if op, ok := obj["operator"].(string); ok {
			return c.legacy(obj, op, list, path, cs, depth)
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		v := obj[k]
		switch k {
		case "case_sensitive":
		case "AND", "OR", "NOT":
			if v == nil {
				continue
			}
			list, ok := v.([]any)
			if !ok {
				c.fail(at(path, k), "list_type", "Input should be a valid list")
				continue
			}
			if e := c.combine(k, list, at(path, k), cs, depth); e != "" {
				parts = append(parts, e)
			}
		default: // the shorthand {"field": value}
			if c.stopped() {
				continue
			}
			kpath := at(path, k)
			c.countItem(kpath)
			hint := ""
			if u := strings.ToUpper(k); u == "AND" || u == "OR" || u == "NOT" {
				hint = " (logical operators are upper case: " + u + ")"
			}
			parts = append(parts, c.comparison(k, "eq", v, true, kpath, kpath, kpath, cs, hint))
		}
	}
	return joinBalanced(parts, "AND", "TRUE")
}

// legacy compiles {"operator": "AND"|"OR"|"NOT", "conditions": […]}, the
// form ListClusterExecutionsRequest's description shows.
func (c *compiler) legacy(obj map[string]any, op string, list []any, path []any, cs bool, depth int) string {
	for k := range obj {
		if k != "operator" && k != "conditions" && k != "case_sensitive" {
			c.fail(at(path, k), "extra_forbidden", `Extra inputs are not permitted beside "operator" and "conditions"`)
		}
	}
	u := strings.ToUpper(op)
	if u != "AND" && u != "OR" && u != "NOT" {
		c.fail(at(path, "operator"), "literal_error", "Input should be 'AND', 'OR' or 'NOT'")
		u = "AND"
	}
	if e := c.combine(u, list, at(path, "conditions"), cs, depth); e != "" {
		return e
	}
	return "TRUE"
}

// combine compiles the items of an AND, OR or NOT list. An empty list
// constrains nothing ("").
func (c *compiler) combine(op string, list []any, path []any, cs bool, depth int) string {
	sub := make([]string, 0, len(list))
	for i, item := range list {
		if c.stopped() {
			break
		}
		ipath := at(path, i)
		obj, ok := item.(map[string]any)
		if !ok {
			c.fail(ipath, "model_type", "Input should be a valid dictionary or instance of LogicalOperator or FilterCondition")
			continue
		}
		c.countItem(ipath)
		if _, isCond := obj["field"]; isCond {
			sub = append(sub, c.condition(obj, ipath, cs))
		} else {
			sub = append(sub, c.operator(obj, ipath, cs, depth+1))
		}
	}
	if len(sub) == 0 {
		return ""
	}
	switch op {
	case "AND":
		return joinBalanced(sub, "AND", "TRUE")
	case "OR":
		return joinBalanced(sub, "OR", "FALSE")
	}
	// NOT: no item may hold. A condition on a null field can be NULL in
	// SQL, and NOT NULL would drop the row; "not canceled" must keep runs
	// whose error_message is null, so an unknown counts as false here.
	for i, e := range sub {
		sub[i] = "COALESCE(" + e + ", FALSE)"
	}
	return "NOT " + joinBalanced(sub, "OR", "FALSE")
}

// joinBalanced joins SQL boolean expressions with op as a balanced tree of
// parenthesised pairs: SQLite nests a chain a OR b OR c … one level per
// item and refuses 1,000 levels, while a balanced tree of n items is
// log2(n) deep. empty is the value of no items.
func joinBalanced(parts []string, op, empty string) string {
	switch len(parts) {
	case 0:
		return empty
	case 1:
		return "(" + parts[0] + ")"
	}
	var b strings.Builder
	var rec func(p []string)
	rec = func(p []string) {
		if len(p) == 1 {
			b.WriteString("(" + p[0] + ")")
			return
		}
		m := len(p) / 2
		b.WriteByte('(')
		rec(p[:m])
		b.WriteString(" " + op + " ")
		rec(p[m:])
		b.WriteByte(')')
	}
	rec(parts)
	return b.String()
}

// condition compiles a FilterCondition {field, operator, value}.
func (c *compiler) condition(obj map[string]any, path []any, cs bool) string {
	for k := range obj {
		if k != "field" && k != "operator" && k != "value" {
			c.fail(at(path, k), "extra_forbidden", "Extra inputs are not permitted")
		}
	}
	op := "eq"
	opPath := at(path, "operator")
	if o, present := obj["operator"]; present {
		s, ok := o.(string)
		if !ok {
			c.fail(opPath, "enum", "Input should be "+operatorNames)
			return "FALSE"
		}
		op = s
		if alias, ok := operatorAliases[s]; ok {
			op = alias
		}
	}
	value, present := obj["value"]
	name, ok := obj["field"].(string)
	if !ok {
		c.fail(at(path, "field"), "string_type", "Input should be a valid string")
		return "FALSE"
	}
	return c.comparison(name, op, value, present, at(path, "field"), opPath, at(path, "value"), cs, "")
}

// val is a value compared against: a string, a number (int64 or float64,
// microseconds for a time field) or a boolean.
type val struct {
	kind byte // 's', 'n', 'b'
	s    string
	n    any
	b    bool
}

// sql is the value bound for v (booleans are compared by JSON type).
func (v val) sql() any {
	if v.kind == 's' {
		return v.s
	}
	return v.n
}

// comparison compiles one condition on the field called name; problems
// are located at fieldPath, opPath and valuePath. hint is added to an
// unknown field's message.
func (c *compiler) comparison(name, op string, value any, present bool, fieldPath, opPath, valuePath []any, cs bool, hint string) string {
	f, msg := c.fields.resolve(name, "filterable")
	known := msg == ""
	if !known {
		c.fail(fieldPath, "value_error", msg+hint)
		if hint != "" { // a misspelt operator: its value is no condition's
			return "FALSE"
		}
		f = field{kind: jsonField} // check the value as for any field
	}
	needValue := op != "exists" && op != "is_null"
	if !present && needValue {
		c.fail(valuePath, "missing", "Field required")
	}
	if !knownOperators[op] {
		c.fail(opPath, "enum", "Input should be "+operatorNames)
		return "FALSE"
	}
	if !present && needValue {
		return "FALSE"
	}
	if obj, ok := value.(map[string]any); ok && isDynamic(obj) {
		c.fail(valuePath, "value_error", dynamicRefused)
		return "FALSE"
	}
	textOnly := func() bool {
		if f.kind == textField || f.kind == jsonField {
			return true
		}
		what := "a number"
		if f.kind == timeField {
			what = "a time; use gt, lt, gte or lte"
		}
		c.fail(opPath, "value_error", fmt.Sprintf("%s applies to text, and %s is %s", op, name, what))
		return false
	}
	var e string
	switch op {
	case "eq", "ne":
		if value == nil {
			if op == "eq" {
				e = c.isNull(f, true)
			} else {
				e = c.isNull(f, false)
			}
			break
		}
		v, ok := c.value(f, value, valuePath, op)
		if !ok {
			return "FALSE"
		}
		c.countValues(valuePath, 1)
		if !known {
			return "FALSE"
		}
		if op == "eq" {
			e = c.some(f, func(x, t string) string { return c.equals(x, t, []val{v}, cs) })
		} else {
			e = c.none(f, func(x, t string) string { return c.equals(x, t, []val{v}, cs) })
		}
	case "in", "nin":
		list, ok := value.([]any)
		if !ok {
			c.fail(valuePath, "list_type", "Input should be a valid list for "+op)
			return "FALSE"
		}
		c.countValues(valuePath, len(list))
		vals := make([]val, 0, len(list))
		withNull, bad := false, false
		for i, item := range list {
			if item == nil {
				withNull = true
				continue
			}
			v, ok := c.value(f, item, at(valuePath, i), op)
			bad = bad || !ok
			vals = append(vals, v)
		}
		if bad || !known {
			return "FALSE"
		}
		var parts []string
		if len(vals) > 0 {
			parts = append(parts, c.some(f, func(x, t string) string { return c.equals(x, t, vals, cs) }))
		}
		if withNull {
			parts = append(parts, c.isNull(f, true))
		}
		e = joinBalanced(parts, "OR", "FALSE")
		if op == "nin" {
			e = "NOT COALESCE(" + e + ", FALSE)"
		}
	case "gt", "lt", "gte", "lte":
		if value == nil {
			c.fail(valuePath, "value_error", op+" needs a value to compare with, not null")
			return "FALSE"
		}
		if _, isBool := value.(bool); isBool {
			c.fail(valuePath, "value_error", op+" compares numbers, strings or times, not booleans")
			return "FALSE"
		}
		v, ok := c.value(f, value, valuePath, op)
		if !ok {
			return "FALSE"
		}
		c.countValues(valuePath, 1)
		if !known {
			return "FALSE"
		}
		e = c.some(f, func(x, t string) string {
			return guard(t, v.kind) + c.typed(x, t, v.kind) + " " + sqlComparisons[op] + " " + c.arg(v.sql())
		})
	case "contains", "starts_with", "ends_with", "regex", "text":
		if !textOnly() {
			return "FALSE"
		}
		s, ok := value.(string)
		if !ok {
			c.fail(valuePath, "string_type", "Input should be a valid string for "+op)
			return "FALSE"
		}
		c.countValues(valuePath, 1)
		pred, ok := c.textPredicate(op, s, cs, valuePath)
		if !ok || !known {
			return "FALSE"
		}
		e = c.some(f, func(x, t string) string { return guard(t, 's') + pred(c.typed(x, t, 's')) })
	case "exists", "is_null":
		want, ok := value.(bool)
		if value == nil {
			want, ok = true, true
		}
		if !ok {
			c.fail(valuePath, "bool_type", "Input should be a valid boolean for "+op)
			return "FALSE"
		}
		if !known {
			return "FALSE"
		}
		if op == "exists" {
			e = c.exists(f, want)
		} else {
			e = c.isNull(f, want)
		}
	}
	if !known {
		return "FALSE"
	}
	return e
}

// dynamicRefused is the problem of a DynamicValue.
const dynamicRefused = `dynamic values ({"type": "dynamic", "field": …}) are resolved from a retriever's runtime query; lists and cluster filters have none, so give the value itself`

// isDynamic reports whether a value object is Mixpeek's DynamicValue
// ({"type": "dynamic", "field": …}; type defaults to dynamic).
func isDynamic(obj map[string]any) bool {
	if t, ok := obj["type"]; ok {
		return t == "dynamic"
	}
	_, ok := obj["field"]
	return ok
}

// value checks a value against the field's kind.
func (c *compiler) value(f field, v any, path []any, op string) (val, bool) {
	if obj, ok := v.(map[string]any); ok && isDynamic(obj) {
		c.fail(path, "value_error", dynamicRefused)
		return val{}, false
	}
	switch f.kind {
	case timeField:
		s, ok := v.(string)
		if !ok {
			c.fail(path, "datetime_type", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
			return val{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			c.fail(path, "datetime_parsing", fmt.Sprintf("%s is not an RFC 3339 time such as 2026-01-02T15:04:05Z", quoteName(s)))
			return val{}, false
		}
		return val{kind: 'n', n: micros(t)}, true
	case numberField:
		n, ok := v.(json.Number)
		if !ok {
			c.fail(path, "float_type", "Input should be a valid number")
			return val{}, false
		}
		return c.number(n, path)
	case textField:
		s, ok := v.(string)
		if !ok {
			c.fail(path, "string_type", "Input should be a valid string")
			return val{}, false
		}
		return val{kind: 's', s: s}, true
	}
	switch x := v.(type) {
	case string:
		return val{kind: 's', s: x}, true
	case bool:
		return val{kind: 'b', b: x}, true
	case json.Number:
		return c.number(x, path)
	}
	msg := "must be a string, number, boolean or null"
	if _, isList := v.([]any); isList && (op == "eq" || op == "ne") {
		msg += "; use in or nin to compare with a list"
	}
	c.fail(path, "value_error", msg)
	return val{}, false
}

func (c *compiler) number(n json.Number, path []any) (val, bool) {
	if i, err := n.Int64(); err == nil {
		return val{kind: 'n', n: i}, true
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		c.fail(path, "finite_number", "Input should be a finite number")
		return val{}, false
	}
	return val{kind: 'n', n: f}, true
}

// guard is the type test a JSON element must pass before a comparison
// with a value of kind k: strings compare with strings, numbers with
// numbers, as in MongoDB. Columns (t == "") need none.
func guard(t string, k byte) string {
	if t == "" {
		return ""
	}
	if k == 's' {
		return t + " = 'text' AND "
	}
	return t + " IN ('integer', 'real') AND "
}

// equals is the SQL of "x equals one of vals"; t is x's JSON type (""
// for a column). Strings compare case-folded unless cs.
func (c *compiler) equals(x, t string, vals []val, cs bool) string {
	var strs, nums []any
	var bools []string
	for _, v := range vals {
		switch v.kind {
		case 's':
			if !cs {
				v.s = fold(v.s)
			}
			strs = append(strs, v.s)
		case 'n':
			nums = append(nums, v.n)
		case 'b':
			bools = append(bools, map[bool]string{true: "'true'", false: "'false'"}[v.b])
		}
	}
	// Placeholders are numbered in the order they appear, so each value is
	// bound as its placeholder is written.
	in := func(target string, vs []any) string {
		ph := make([]string, len(vs))
		for i, v := range vs {
			ph[i] = c.arg(v)
		}
		if len(ph) == 1 {
			return target + " = " + ph[0]
		}
		return target + " IN (" + strings.Join(ph, ", ") + ")"
	}
	var parts []string
	if len(strs) > 0 {
		target := c.typed(x, t, 's')
		if !cs {
			target = "clusterd_fold(" + target + ")"
		}
		parts = append(parts, guard(t, 's')+in(target, strs))
	}
	if len(nums) > 0 {
		parts = append(parts, guard(t, 'n')+in(c.typed(x, t, 'n'), nums))
	}
	if len(bools) > 0 && t != "" {
		parts = append(parts, t+" IN ("+strings.Join(bools, ", ")+")")
	}
	return joinBalanced(parts, "OR", "FALSE")
}

// textPredicate checks the value of a text operator and returns its SQL
// over a string x.
func (c *compiler) textPredicate(op, s string, cs bool, path []any) (func(x string) string, bool) {
	target := func(x string) string {
		if cs {
			return x
		}
		return "clusterd_fold(" + x + ")"
	}
	if !cs {
		s = fold(s)
	}
	switch op {
	case "contains", "starts_with", "ends_with":
		if s == "" {
			return func(string) string { return "TRUE" }, true
		}
		switch op {
		case "contains":
			return func(x string) string { return "instr(" + target(x) + ", " + c.arg(s) + ") > 0" }, true
		case "starts_with":
			return func(x string) string { return "instr(" + target(x) + ", " + c.arg(s) + ") = 1" }, true
		}
		if c.pg {
			n := utf8.RuneCountInString(s) // right counts characters
			return func(x string) string {
				return "right(" + target(x) + ", " + strconv.Itoa(n) + ") = " + c.arg(s)
			}, true
		}
		// SQLite's substr of a text stops at its first U+0000; of a blob
		// it counts bytes, and UTF-8 text ends with s exactly when its
		// bytes end with s's.
		return func(x string) string {
			return "substr(CAST(" + target(x) + " AS BLOB), -" + strconv.Itoa(len(s)) + ") = CAST(" + c.arg(s) + " AS BLOB)"
		}, true
	case "regex":
		if len(s) > MaxRegexLength {
			c.fail(path, "string_too_long", fmt.Sprintf("regex patterns are at most %d bytes", MaxRegexLength))
			return nil, false
		}
		p := s
		if !cs {
			p = "(?i)" + s
		}
		if _, err := regexp.Compile(p); err != nil {
			c.fail(path, "value_error", "not a valid regular expression (RE2 syntax): "+strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			return nil, false
		}
		return func(x string) string { return "clusterd_regexp(" + c.arg(p) + ", " + x + ")" }, true
	}
	// text
	if len(textWords(s)) == 0 {
		c.fail(path, "value_error", "text needs at least one word (letters or digits)")
		return nil, false
	}
	return func(x string) string {
		return "clusterd_text(" + x + ", " + c.arg(s) + ", " + strconv.Itoa(int(boolInt(cs))) + ")"
	}, true
}

// some is "pred holds for the field": for a column, pred of its value; for
// a JSON field, pred of some element when it holds a list, else of the
// value itself (as MongoDB and Qdrant match lists). pred gets the SQL of
// the value and of its JSON type ("" for a column).
func (c *compiler) some(f field, pred func(x, t string) string) string {
	if f.kind != jsonField {
		return pred(f.expr, "")
	}
	// json_each of a scalar yields it once (key NULL), of a list its
	// elements (integer keys), of an object its members (text keys, left
	// out: an object equals nothing). On PostgreSQL, pgElements yields the
	// same, typed: j.s for strings, j.n for numbers.
	if c.pg {
		return "EXISTS (SELECT 1 FROM " + pgElements(f) + " WHERE (" + pred("j", "j.type") + "))"
	}
	return "EXISTS (SELECT 1 FROM json_each(" + f.col + ", " + f.path + ") AS j WHERE typeof(j.key) != 'text' AND (" + pred("j.value", "j.type") + "))"
}

// pgElements is the FROM clause of a JSON field's elements on PostgreSQL:
// rows j(type, s, n), one per element of a list, one for a scalar, none
// for an object or an absent field; type is clusterd_jtype's, s the text
// of a string, n the value of a number. Each subquery is fenced with
// OFFSET 0, which PostgreSQL does not pull up: the field's jsonb v is
// computed once per document (pulled up, the document was parsed once
// per use of v), and clusterd_jsonb gets a plain column, so it is
// inlined (PostgreSQL does not inline a function whose argument holds a
// subplan, as the reader view's payload does, when the function uses it
// twice). See docs/PERFORMANCE.md, "Payload filters on PostgreSQL".
func pgElements(f field) string {
	return "(SELECT clusterd_jsonb(jd.doc) #> " + f.pgPath + " AS v FROM " + pgDocument(f) + " OFFSET 0) AS j0," +
		" LATERAL (SELECT clusterd_jtype(x.e) AS type," +
		" CASE WHEN jsonb_typeof(x.e) = 'string' THEN x.e #>> '{}' END AS s," +
		" CASE WHEN jsonb_typeof(x.e) = 'number' THEN (x.e #>> '{}')::double precision END AS n" +
		" FROM (SELECT jsonb_array_elements(j0.v) WHERE jsonb_typeof(j0.v) = 'array'" +
		" UNION ALL SELECT j0.v WHERE jsonb_typeof(j0.v) NOT IN ('array', 'object')) AS x(e)) AS j"
}

// pgDocument is the FROM item jd(doc) of f's JSON document on
// PostgreSQL, fenced (see pgElements) so that clusterd_jsonb(jd.doc) is
// inlined. A read of the value must stay within the subquery over it: as
// a scalar subquery inside an inlined function that uses its argument
// twice (clusterd_jtype), it was run twice a document (a list with
// "exists" 0.84 → 2.38 s).
func pgDocument(f field) string {
	return "(SELECT " + f.col + " AS doc OFFSET 0) AS jd"
}

// typed is x as a value of kind k ('s' or 'n') after guard(t, k) let it
// through: on SQLite x itself; on PostgreSQL, where a JSON element is a
// row of pgElements, its column of that type.
func (c *compiler) typed(x, t string, k byte) string {
	if !c.pg || t == "" {
		return x
	}
	if k == 's' {
		return x + ".s"
	}
	return x + ".n"
}

// jsonType is the SQL of the JSON type of f's value (NULL when absent).
func (c *compiler) jsonType(f field) string {
	if c.pg { // fenced as in pgElements, so that clusterd_jsonb is inlined
		return "(SELECT clusterd_jtype(clusterd_jsonb(jd.doc) #> " + f.pgPath + ") FROM " + pgDocument(f) + ")"
	}
	return "json_type(" + f.col + ", " + f.path + ")"
}

// none is "pred holds for no value of the field" (ne): true for a null or
// absent field.
func (c *compiler) none(f field, pred func(x, t string) string) string {
	return "NOT COALESCE(" + c.some(f, pred) + ", FALSE)"
}

// isNull is "the field is null (or absent)" when want, else its negation.
func (c *compiler) isNull(f field, want bool) string {
	if f.kind == jsonField {
		if want {
			return "COALESCE(" + c.jsonType(f) + ", 'null') = 'null'"
		}
		return "COALESCE(" + c.jsonType(f) + ", 'null') != 'null'"
	}
	if want {
		return f.expr + " IS NULL"
	}
	return f.expr + " IS NOT NULL"
}

// exists is "the field is present" when want: for a JSON field, the key
// is there (even with null); for a column, it has a value.
func (c *compiler) exists(f field, want bool) string {
	if f.kind == jsonField {
		if want {
			return c.jsonType(f) + " IS NOT NULL"
		}
		return c.jsonType(f) + " IS NULL"
	}
	return c.isNull(f, !want)
}

// whereClause compiles a filter tree (see Query.Filters) into an SQL
// boolean expression with placeholders and their values, or "TRUE" when
// there is none. A tree with problems is a *QueryError, the first of them.
func whereClause(raw json.RawMessage, fields fieldMap, d dialect) (string, []any, error) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return "TRUE", nil, nil
	}
	node, err := schema.Parse([]byte(t))
	if err != nil {
		return "", nil, &QueryError{Path: []any{"filters"}, Msg: "must be a JSON object", Type: "json_invalid"}
	}
	c := &compiler{pg: d == dialectPostgres, fields: fields, limits: defaultLimits}
	expr := c.compile(node)
	if len(c.problems) > 0 {
		p := c.problems[0]
		return "", nil, &QueryError{Path: at([]any{"filters"}, p.path...), Msg: p.msg, Type: p.typ}
	}
	return expr, c.args, nil
}

// orderBy compiles a sort (or the default) into an ORDER BY clause; tie is
// a unique column appended so pages are stable. Values sort as SQLite
// orders them: nulls first, then numbers, then strings (binary, so case
// counts), then lists and objects as their JSON text.
//
// On PostgreSQL (d) the same order is spelled out: nulls first when
// ascending (PostgreSQL puts them last), and a JSON field sorts by its
// type's rank (null, numbers, strings, then the rest), its number, then
// its string in binary order.
func orderBy(s *Sort, fields fieldMap, def Sort, tie string, d dialect) (string, error) {
	if s == nil || s.Field == "" {
		s = &def
	}
	f, msg := fields.resolve(s.Field, "sortable")
	if msg != "" {
		return "", &QueryError{Path: []any{"sort", "field"}, Msg: msg}
	}
	dir := strings.ToLower(s.Direction)
	switch dir {
	case "", "asc":
		dir = "ASC"
	case "desc":
		dir = "DESC"
	default:
		return "", &QueryError{Path: []any{"sort", "direction"}, Msg: fmt.Sprintf("Input should be 'asc' or 'desc', not %s", quoteName(s.Direction)), Type: "enum"}
	}
	if d == dialectPostgres {
		nulls := " NULLS FIRST"
		if dir == "DESC" {
			nulls = " NULLS LAST"
		}
		if f.kind == jsonField {
			v := "(clusterd_jsonb(" + f.col + ") #> " + f.pgPath + ")"
			rank := "CASE WHEN jsonb_typeof(" + v + ") IS NULL OR jsonb_typeof(" + v + ") = 'null' THEN 0 WHEN jsonb_typeof(" + v + ") = 'number' THEN 1 WHEN jsonb_typeof(" + v + ") = 'string' THEN 2 ELSE 3 END"
			num := "CASE WHEN jsonb_typeof(" + v + ") = 'number' THEN (" + v + " #>> '{}')::double precision END"
			str := "(CASE WHEN jsonb_typeof(" + v + ") <> 'number' THEN " + v + " #>> '{}' END) COLLATE \"C\""
			return fmt.Sprintf("ORDER BY %s %s, %s %s%s, %s %s%s, %s %s", rank, dir, num, dir, nulls, str, dir, nulls, tie, dir), nil
		}
		expr := f.expr
		if f.kind == textField {
			expr = "(" + expr + ") COLLATE \"C\""
		}
		return fmt.Sprintf("ORDER BY %s %s%s, %s %s", expr, dir, nulls, tie, dir), nil
	}
	return fmt.Sprintf("ORDER BY %s %s, %s %s", f.expr, dir, tie, dir), nil
}

// maxSearchTerms bounds the words of a search.
const maxSearchTerms = 64

// searchClause matches every word of search (split at white space) in any
// of cols, as a case-folded substring; cols are text.
func searchClause(search string, cols []string) (string, []any) {
	terms := strings.Fields(search)
	if len(terms) == 0 || len(cols) == 0 {
		return "TRUE", nil
	}
	if len(terms) > maxSearchTerms { // the rest are still matched, as one
		terms = append(terms[:maxSearchTerms-1], strings.Join(terms[maxSearchTerms-1:], " "))
	}
	var args []any
	ands := make([]string, len(terms))
	for i, term := range terms {
		ors := make([]string, len(cols))
		for j, col := range cols {
			ors[j] = fmt.Sprintf("instr(clusterd_fold(COALESCE(%s, '')), ?) > 0", col)
			args = append(args, fold(term))
		}
		ands[i] = joinBalanced(ors, "OR", "FALSE")
	}
	return joinBalanced(ands, "AND", "TRUE"), args
}

// Page is one page of a list.
type Page[T any] struct {
	Results []T
	Total   int // -1 when not computed
}

// ValidateDocumentFilters checks a filter tree over document fields
// (document_id, created_at, updated_at, payload keys) without running it.
func ValidateDocumentFilters(raw json.RawMessage) error {
	_, _, err := whereClause(raw, documentFields, dialectSQLite)
	return err
}

// FilterKind is what one list filters and sorts: its fields. Within the
// store, whereClause(q.Filters, kind.fields) and orderBy(q.Sort,
// kind.fields, default, tie) compile a Query for it.
type FilterKind struct {
	Name   string
	fields fieldMap
}

// The lists' filter kinds. Each names its fields in docs/API.md and in its
// unknown-field messages.
var (
	// DocumentFilters: a collection's documents (table documents AS d),
	// also a cluster's filters.
	DocumentFilters = FilterKind{"documents", documentFields}
	// CollectionFilters: a namespace's collections (table collections).
	CollectionFilters = FilterKind{"collections", collectionFields}
	// ClusterFilters: a namespace's clusters (table clusters, unaliased).
	ClusterFilters = FilterKind{"clusters", clusterFields}
	// RunFilters: a cluster's executions (table runs, unaliased).
	RunFilters = FilterKind{"executions", runFields}
	// TaskFilters: tasks, one per run (table runs, unaliased, without
	// joins). status is the run's TaskStatusEnum value as the task shows
	// it: PENDING, PROCESSING, COMPLETED, FAILED, or CANCELED for a run
	// that failed with error_message "canceled" (other enum values match
	// nothing); task_type is always engine_cluster_build; updated_at is
	// completed_at, else started_at, else created_at.
	TaskFilters = FilterKind{"tasks", taskFields}
)

// CheckFilters compiles a parsed filter tree (as schema.Parse returns it)
// of a kind without running it and returns every problem, located under
// at: unknown fields, operators that do not apply to a field, values of the
// wrong type, invalid regular expressions, dynamic values and the limits
// (MaxFilterDepth, MaxFilterItems, MaxFilterValues). A tree it accepts
// compiles to SQL that SQLite runs.
func CheckFilters(kind FilterKind, filters map[string]any, at schema.Path) schema.Problems {
	c := &compiler{fields: kind.fields, limits: defaultLimits}
	c.compile(filters)
	out := make(schema.Problems, 0, len(c.problems))
	for _, p := range c.problems {
		typ := p.typ
		if typ == "" {
			typ = "value_error"
		}
		out = append(out, schema.Problem{Loc: at.With(p.path...), Msg: p.msg, Type: typ})
	}
	if c.truncated {
		out = append(out, schema.Problem{Loc: at, Type: "too_many_errors",
			Msg: fmt.Sprintf("more than %d problems; the first %d are listed", schema.MaxProblems, schema.MaxProblems)})
	}
	return out
}

// CheckSort checks a sort of a kind and returns its problems located under
// at.
func CheckSort(kind FilterKind, s *Sort, at schema.Path) schema.Problems {
	if _, err := orderBy(s, kind.fields, Sort{Field: s.Field}, "rowid", dialectSQLite); err != nil {
		if qe, ok := err.(*QueryError); ok {
			typ := qe.Type
			if typ == "" {
				typ = "value_error"
			}
			return schema.Problems{{Loc: at.With(qe.Path[1:]...), Msg: qe.Msg, Type: typ}}
		}
	}
	return nil
}
