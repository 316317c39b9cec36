package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/clusterd/clusterd/schema"
)

// Query is a list request: filters, sort, free-text search and paging, as
// the API's POST …/list endpoints take them.
type Query struct {
	Filters json.RawMessage // {"AND":[…],"OR":[…],"NOT":[…]}, {field,operator,value} or {"field": value}
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
// path inside the request body, e.g. ["filters","AND",0,"field"]).
type QueryError struct {
	Path []any
	Msg  string
}

func (e *QueryError) Error() string { return fmt.Sprintf("%v: %s", e.Path, e.Msg) }

// fieldMap maps the API's field names to SQL expressions. A name ending in
// ".*" maps a prefix: "payload.*" → "payload" makes "payload.a.b" the JSON
// path $.a.b inside the payload column.
type fieldMap map[string]string

func (m fieldMap) column(field string) (string, bool) {
	if expr, ok := m[field]; ok && !strings.HasSuffix(field, ".*") {
		return expr, true
	}
	for k, col := range m {
		prefix, ok := strings.CutSuffix(k, "*")
		if !ok || !strings.HasPrefix(field, prefix) || len(field) == len(prefix) {
			continue
		}
		path := field[len(prefix):]
		for _, part := range strings.Split(path, ".") {
			if part == "" || strings.ContainsAny(part, `"'[]$\`) {
				return "", false
			}
		}
		return fmt.Sprintf("json_extract(%s, '$.%s')", col, path), true
	}
	return "", false
}

func (m fieldMap) names() string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

var operators = map[string]string{"eq": "=", "ne": "!=", "gt": ">", "lt": "<", "gte": ">=", "lte": "<="}

// timeFields are the filterable fields stored as integer microseconds
// (micros) that the API shows, and clients compare, as RFC 3339 times.
var timeFields = map[string]bool{"created_at": true, "updated_at": true, "completed_at": true}

// whereClause compiles q.Filters into an SQL boolean expression with
// placeholders (never interpolated values), or "1" when there are none.
func whereClause(raw json.RawMessage, fields fieldMap) (string, []any, error) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" || t == "{}" {
		return "1", nil, nil
	}
	var node any
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	if err := dec.Decode(&node); err != nil {
		return "", nil, &QueryError{Path: []any{"filters"}, Msg: "must be a JSON object"}
	}
	var args []any
	expr, err := compileNode(node, []any{"filters"}, fields, &args)
	return expr, args, err
}

func compileNode(node any, path []any, fields fieldMap, args *[]any) (string, error) {
	obj, ok := node.(map[string]any)
	if !ok {
		return "", &QueryError{Path: path, Msg: "must be an object"}
	}
	if _, isCond := obj["field"]; isCond {
		return compileCondition(obj, path, fields, args)
	}
	var parts []string
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := obj[k]
		if k == "case_sensitive" {
			continue
		}
		switch strings.ToUpper(k) {
		case "AND", "OR", "NOT":
			list, ok := v.([]any)
			if !ok {
				return "", &QueryError{Path: append(path, k), Msg: "must be a list of filters"}
			}
			var sub []string
			for i, item := range list {
				e, err := compileNode(item, append(append([]any{}, path...), k, i), fields, args)
				if err != nil {
					return "", err
				}
				sub = append(sub, "("+e+")")
			}
			if len(sub) == 0 {
				continue
			}
			switch strings.ToUpper(k) {
			case "AND":
				parts = append(parts, strings.Join(sub, " AND "))
			case "OR":
				parts = append(parts, "("+strings.Join(sub, " OR ")+")")
			case "NOT":
				// A condition on a null field is NULL in SQL, and NOT NULL
				// drops the row; "not canceled" must keep runs whose
				// error_message is null, so an unknown counts as false.
				for i, e := range sub {
					sub[i] = "COALESCE(" + e + ", 0)"
				}
				parts = append(parts, "NOT ("+strings.Join(sub, " OR ")+")")
			}
		default: // shorthand {"status": "completed"}
			e, err := compileCondition(map[string]any{"field": k, "operator": "eq", "value": v}, append(path, k), fields, args)
			if err != nil {
				return "", err
			}
			parts = append(parts, e)
		}
	}
	if len(parts) == 0 {
		return "1", nil
	}
	return strings.Join(parts, " AND "), nil
}

func compileCondition(obj map[string]any, path []any, fields fieldMap, args *[]any) (string, error) {
	field, ok := obj["field"].(string)
	if !ok {
		return "", &QueryError{Path: append(path, "field"), Msg: "must be a string"}
	}
	col, ok := fields.column(field)
	if !ok {
		return "", &QueryError{Path: append(path, "field"), Msg: fmt.Sprintf("unknown field %q (filterable: %s)", field, fields.names())}
	}
	op := "eq"
	if o, present := obj["operator"]; present {
		if op, ok = o.(string); !ok {
			return "", &QueryError{Path: append(path, "operator"), Msg: "must be a string"}
		}
	}
	for k := range obj {
		if k != "field" && k != "operator" && k != "value" {
			return "", &QueryError{Path: append(path, k), Msg: "unknown key in a filter condition"}
		}
	}
	value := obj["value"]
	vpath := append(path, "value")
	arg := scalar
	if timeFields[field] {
		arg = timeArg
	}
	switch op {
	case "eq", "ne", "gt", "lt", "gte", "lte":
		if value == nil {
			if op == "eq" {
				return col + " IS NULL", nil
			}
			if op == "ne" {
				return col + " IS NOT NULL", nil
			}
			return "", &QueryError{Path: vpath, Msg: "must not be null for " + op}
		}
		v, err := arg(value, vpath)
		if err != nil {
			return "", err
		}
		*args = append(*args, v)
		if op == "ne" { // a null field is not equal to a value either
			return fmt.Sprintf("(%s IS NULL OR %s != ?)", col, col), nil
		}
		return fmt.Sprintf("%s %s ?", col, operators[op]), nil
	case "in", "nin":
		list, ok := value.([]any)
		if !ok {
			return "", &QueryError{Path: vpath, Msg: "must be a list for " + op}
		}
		if len(list) == 0 {
			if op == "in" {
				return "0", nil
			}
			return "1", nil
		}
		ph := make([]string, len(list))
		for i, item := range list {
			v, err := arg(item, append(vpath, i))
			if err != nil {
				return "", err
			}
			*args = append(*args, v)
			ph[i] = "?"
		}
		if op == "nin" {
			return fmt.Sprintf("(%s IS NULL OR %s NOT IN (%s))", col, col, strings.Join(ph, ", ")), nil
		}
		return fmt.Sprintf("%s IN (%s)", col, strings.Join(ph, ", ")), nil
	case "contains", "starts_with", "ends_with":
		if timeFields[field] {
			return "", &QueryError{Path: append(path, "operator"), Msg: op + " does not apply to a time; use gt, lt, gte or lte"}
		}
		s, ok := value.(string)
		if !ok {
			return "", &QueryError{Path: vpath, Msg: "must be a string for " + op}
		}
		pat := escapeLike(s)
		switch op {
		case "contains":
			pat = "%" + pat + "%"
		case "starts_with":
			pat += "%"
		case "ends_with":
			pat = "%" + pat
		}
		*args = append(*args, pat)
		return col + ` LIKE ? ESCAPE '\'`, nil
	case "exists":
		want, ok := value.(bool)
		if value == nil {
			want, ok = true, true
		}
		if !ok {
			return "", &QueryError{Path: vpath, Msg: "must be true or false for exists"}
		}
		if want {
			return col + " IS NOT NULL", nil
		}
		return col + " IS NULL", nil
	case "is_null":
		want, ok := value.(bool)
		if value == nil {
			want, ok = true, true
		}
		if !ok {
			return "", &QueryError{Path: vpath, Msg: "must be true or false for is_null"}
		}
		if want {
			return col + " IS NULL", nil
		}
		return col + " IS NOT NULL", nil
	}
	return "", &QueryError{Path: append(path, "operator"), Msg: fmt.Sprintf("unknown operator %q (eq ne gt lt gte lte in nin contains starts_with ends_with exists is_null)", op)}
}

// scalar converts a JSON value to an SQL argument.
func scalar(v any, path []any) (any, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, &QueryError{Path: path, Msg: "not a number"}
		}
		return f, nil
	}
	return nil, &QueryError{Path: path, Msg: "must be a string, number or boolean"}
}

// timeArg converts an RFC 3339 time to the stored microseconds.
func timeArg(v any, path []any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, &QueryError{Path: path, Msg: "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, &QueryError{Path: path, Msg: fmt.Sprintf("%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", s)}
	}
	return micros(t), nil
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// orderBy compiles a sort (or the default) into an ORDER BY clause; tie is
// a unique column appended so pages are stable.
func orderBy(s *Sort, fields fieldMap, def Sort, tie string) (string, error) {
	if s == nil || s.Field == "" {
		s = &def
	}
	col, ok := fields.column(s.Field)
	if !ok {
		return "", &QueryError{Path: []any{"sort", "field"}, Msg: fmt.Sprintf("unknown field %q (sortable: %s)", s.Field, fields.names())}
	}
	dir := strings.ToLower(s.Direction)
	switch dir {
	case "", "asc":
		dir = "ASC"
	case "desc":
		dir = "DESC"
	default:
		return "", &QueryError{Path: []any{"sort", "direction"}, Msg: fmt.Sprintf("must be asc or desc, got %q", s.Direction)}
	}
	return fmt.Sprintf("ORDER BY %s %s, %s %s", col, dir, tie, dir), nil
}

// searchClause matches q.Search case-insensitively in any of cols.
func searchClause(search string, cols []string) (string, []any) {
	if strings.TrimSpace(search) == "" || len(cols) == 0 {
		return "1", nil
	}
	pat := "%" + escapeLike(strings.ToLower(strings.TrimSpace(search))) + "%"
	parts := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf(`LOWER(COALESCE(%s, '')) LIKE ? ESCAPE '\'`, c)
		args[i] = pat
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// Page is one page of a list.
type Page[T any] struct {
	Results []T
	Total   int // -1 when not computed
}

// ValidateDocumentFilters checks a filter tree over document fields
// (document_id, created_at, updated_at, payload.*) without running it.
func ValidateDocumentFilters(raw json.RawMessage) error {
	_, _, err := whereClause(raw, documentFields)
	return err
}

// FilterKind is what one list filters: the fields its filters and sort
// may name.
type FilterKind struct {
	Name   string
	fields fieldMap
}

// The lists' filter kinds.
var (
	DocumentFilters   = FilterKind{"documents", documentFields}
	CollectionFilters = FilterKind{"collections", collectionFields}
	ClusterFilters    = FilterKind{"clusters", clusterFields}
	RunFilters        = FilterKind{"executions", runFields}
)

// CheckFilters compiles a parsed filter tree of a kind without running it
// and returns its problems located under at.
func CheckFilters(kind FilterKind, filters map[string]any, at schema.Path) schema.Problems {
	raw, err := json.Marshal(filters)
	if err != nil {
		return schema.Problems{{Loc: at, Msg: err.Error(), Type: "value_error"}}
	}
	if _, _, err := whereClause(raw, kind.fields); err != nil {
		var qe *QueryError
		if errors.As(err, &qe) {
			return schema.Problems{{Loc: at.With(qe.Path[1:]...), Msg: qe.Msg, Type: "value_error"}}
		}
		return schema.Problems{{Loc: at, Msg: err.Error(), Type: "value_error"}}
	}
	return nil
}

// CheckSort checks a sort field of a kind and returns its problem located
// under at.
func CheckSort(kind FilterKind, s *Sort, at schema.Path) schema.Problems {
	if _, err := orderBy(s, kind.fields, Sort{Field: s.Field}, "rowid"); err != nil {
		var qe *QueryError
		if errors.As(err, &qe) {
			return schema.Problems{{Loc: at.With(qe.Path[1:]...), Msg: qe.Msg, Type: "value_error"}}
		}
	}
	return nil
}
