package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/schema"
)

// cond writes a FilterCondition; value is JSON.
func cond(field, op, value string) string {
	f, _ := json.Marshal(field)
	return fmt.Sprintf(`{"field":%s,"operator":%q,"value":%s}`, f, op, value)
}

// sensitive wraps conditions in an AND with case_sensitive true.
func sensitive(items ...string) string {
	return `{"case_sensitive":true,"AND":[` + strings.Join(items, ",") + `]}`
}

var allDocs = []string{"d1", "d2", "d3", "d4", "d5", "d6"}

// TestFilterSemantics runs filters through the real lists of a store and
// checks which rows match, as a client reading docs/API.md expects: every
// operator, with case_sensitive false (the default) and true, on every kind
// of field (text and number columns, times, JSON scalars, JSON lists,
// nested keys, list fields of clusters, computed fields of tasks).
func TestFilterSemantics(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		fx := newFilterFixture(t, db)
		D, C, CL, R, T := DocumentFilters, CollectionFilters, ClusterFilters, RunFilters, TaskFilters
		for _, tc := range []struct {
			kind    FilterKind
			name    string
			filters string
			want    []string
		}{
			// eq: strings fold (Unicode, full folding) unless case_sensitive.
			{D, "eq folds", `{"category":"café"}`, []string{"d1", "d2"}},
			{D, "eq case sensitive", sensitive(cond("category", "eq", `"Café"`)), []string{"d1"}},
			{D, "eq full folding ß=ss", cond("category", "eq", `"strasse"`), []string{"d3", "d6"}},
			{D, "eq ß case sensitive", sensitive(cond("category", "eq", `"straße"`)), []string{"d3"}},
			{D, "eq list element", cond("tags", "eq", `"RED"`), []string{"d1", "d6"}},
			{D, "eq list element case sensitive", sensitive(cond("tags", "eq", `"red"`)), []string{"d6"}},
			{D, "eq number", `{"n":5}`, []string{"d1"}},
			{D, "eq fraction", cond("payload.n", "eq", "7.5"), []string{"d2"}},
			{D, "eq number in a list", `{"tags":1}`, []string{"d6"}},
			{D, "eq true is not 1", `{"flag":1}`, nil},
			{D, "eq true", `{"flag":true}`, []string{"d1"}},
			{D, "eq false", `{"flag":false}`, []string{"d2"}},
			{D, "eq true in a list", cond("tags", "eq", "true"), []string{"d6"}},
			{D, "eq null: absent or null", cond("text", "eq", "null"), []string{"d5", "d6"}},
			{D, "eq null on a null key", `{"nul":null}`, allDocs},
			{D, "eq text column folds", cond("document_id", "eq", `"D1"`), []string{"d1"}},
			{D, "eq text column case sensitive", sensitive(cond("document_id", "eq", `"D1"`)), nil},
			{D, "eq time", cond("created_at", "eq", `"2026-01-02T01:00:00+01:00"`), []string{"d2"}},
			{D, "eq nested key", cond("nested.k", "eq", `"v"`), []string{"d1", "d6"}},
			{D, "eq nested case sensitive", sensitive(cond("payload.nested.k", "eq", `"v"`)), nil},
			{D, "metadata. is the payload", cond("metadata.category", "eq", `"CAFÉ"`), []string{"d1", "d2"}},
			{D, "payload. prefix", `{"payload.category":"café"}`, []string{"d1", "d2"}},
			{D, "key with quotes, brackets, $ and a backslash", cond(`payload.we"ird[$]\`, "eq", `"Q"`), []string{"d1"}},
			{D, "key with a single quote", cond("it's", "eq", `"YES"`), []string{"d1"}},
			{D, "an object equals nothing", cond("nested", "eq", `"V"`), nil},
			// ne keeps rows where the field is null or absent.
			{D, "ne", cond("category", "ne", `"café"`), []string{"d3", "d4", "d5", "d6"}},
			{D, "ne case sensitive", sensitive(cond("category", "ne", `"Café"`)), []string{"d2", "d3", "d4", "d5", "d6"}},
			{D, "ne list: no element equal", cond("tags", "ne", `"red"`), []string{"d2", "d3", "d4", "d5"}},
			{D, "ne number", cond("n", "ne", "5"), []string{"d2", "d3", "d4", "d5", "d6"}},
			{D, "ne null", cond("text", "ne", "null"), []string{"d1", "d2", "d3", "d4"}},
			{D, "ne time", cond("updated_at", "ne", `"2026-01-01T00:00:00Z"`), []string{"d2", "d3", "d4", "d5", "d6"}},
			// in / nin
			{D, "in folds", cond("category", "in", `["CAFÉ","strasse"]`), []string{"d1", "d2", "d3", "d6"}},
			{D, "in case sensitive", sensitive(cond("category", "in", `["CAFÉ","straße"]`)), []string{"d2", "d3"}},
			{D, "in list field, mixed types", cond("tags", "in", `["GREEN",1]`), []string{"d2", "d6"}},
			{D, "in with null", cond("text", "in", `[null,"lazy dogs sleep"]`), []string{"d2", "d5", "d6"}},
			{D, "in number and string", cond("n", "in", `[5,"5"]`), []string{"d1", "d3"}},
			{D, "in text column", cond("document_id", "in", `["d1","D2"]`), []string{"d1", "d2"}},
			{D, "in text column case sensitive", sensitive(cond("document_id", "in", `["d1","D2"]`)), []string{"d1"}},
			{D, "in times", cond("created_at", "in", `["2026-01-01T00:00:00Z","2026-01-03T00:00:00Z"]`), []string{"d1", "d3"}},
			{D, "in empty", cond("category", "in", `[]`), nil},
			{D, "nin", cond("category", "nin", `["café"]`), []string{"d3", "d4", "d5", "d6"}},
			{D, "nin case sensitive", sensitive(cond("category", "nin", `["café","CAFÉ"]`)), []string{"d1", "d3", "d4", "d5", "d6"}},
			{D, "nin list", cond("tags", "nin", `["red","green"]`), []string{"d3", "d4", "d5"}},
			{D, "nin null", cond("text", "nin", `[null]`), []string{"d1", "d2", "d3", "d4"}},
			{D, "nin empty", cond("category", "nin", `[]`), allDocs},
			// gt lt gte lte: numbers with numbers, strings with strings (binary).
			{D, "gt number", cond("n", "gt", "5"), []string{"d2"}},
			{D, "gte number", cond("n", "gte", "5"), []string{"d1", "d2"}},
			{D, "lt number", cond("n", "lt", "0"), []string{"d6"}},
			{D, "lte number", cond("n", "lte", "5"), []string{"d1", "d6"}},
			{D, "gt string is binary", cond("category", "gt", `"a"`), []string{"d3"}},
			{D, "gt string in a list", cond("tags", "gt", `"q"`), []string{"d6"}},
			{D, "gt number against strings", cond("category", "gt", "1"), nil},
			{D, "gte time", cond("created_at", "gte", `"2026-01-03T00:00:00Z"`), []string{"d3", "d4", "d5", "d6"}},
			{D, "lt text column", cond("document_id", "lt", `"d3"`), []string{"d1", "d2"}},
			// contains starts_with ends_with: strings only; % _ \ are plain.
			{D, "contains folds", cond("text", "contains", `"QUICK"`), []string{"d1", "d3"}},
			{D, "contains case sensitive", sensitive(cond("text", "contains", `"QUICK"`)), nil},
			{D, "contains case sensitive match", sensitive(cond("text", "contains", `"quick"`)), []string{"d1", "d3"}},
			{D, "contains non-ASCII folds", cond("category", "contains", `"fé"`), []string{"d1", "d2"}},
			{D, "contains non-ASCII case sensitive", sensitive(cond("category", "contains", `"fé"`)), []string{"d1"}},
			{D, "contains full folding", cond("category", "contains", `"ss"`), []string{"d3", "d6"}},
			{D, "contains SS case sensitive", sensitive(cond("category", "contains", `"SS"`)), []string{"d6"}},
			{D, "contains list element", cond("tags", "contains", `"E"`), []string{"d1", "d2", "d6"}},
			{D, "contains on a number is no match", cond("n", "contains", `"5"`), []string{"d3"}},
			{D, "contains LIKE wildcards are plain", cond("text", "contains", `"%_"`), []string{"d4"}},
			{D, "contains a backslash", cond("text", "contains", `"\\"`), []string{"d4"}},
			{D, "contains empty: any string", cond("category", "contains", `""`), []string{"d1", "d2", "d3", "d6"}},
			{D, "contains text column", cond("document_id", "contains", `"D"`), allDocs},
			{D, "starts_with folds", cond("text", "starts_with", `"the"`), []string{"d1"}},
			{D, "starts_with case sensitive", sensitive(cond("text", "starts_with", `"the"`)), nil},
			{D, "starts_with full folding", cond("category", "starts_with", `"STR"`), []string{"d3", "d6"}},
			{D, "starts_with case sensitive STR", sensitive(cond("category", "starts_with", `"STR"`)), []string{"d6"}},
			{D, "starts_with list element", cond("tags", "starts_with", `"b"`), []string{"d1"}},
			{D, "ends_with folds", cond("text", "ends_with", `"FOX"`), []string{"d1", "d3"}},
			{D, "ends_with case sensitive", sensitive(cond("text", "ends_with", `"FOX"`)), []string{"d3"}},
			{D, "ends_with non-ASCII", cond("category", "ends_with", `"É"`), []string{"d1", "d2"}},
			{D, "ends_with non-ASCII case sensitive", sensitive(cond("category", "ends_with", `"É"`)), []string{"d2"}},
			{D, "ends_with full folding", cond("category", "ends_with", `"SSE"`), []string{"d3", "d6"}},
			{D, "ends_with longer than the value", cond("document_id", "ends_with", `"xd1"`), nil},
			// regex: RE2, unanchored, (?i) unless case_sensitive.
			{D, "regex folds", cond("text", "regex", `"^the\\s"`), []string{"d1"}},
			{D, "regex case sensitive", sensitive(cond("text", "regex", `"^the\\s"`)), nil},
			{D, "regex non-ASCII", cond("category", "regex", `"caf."`), []string{"d1", "d2"}},
			{D, "regex non-ASCII case sensitive", sensitive(cond("category", "regex", `"Caf."`)), []string{"d1"}},
			{D, "regex list element", cond("tags", "regex", `"^r"`), []string{"d1", "d6"}},
			{D, "regex list element case sensitive", sensitive(cond("tags", "regex", `"^r"`)), []string{"d6"}},
			{D, "regex strings only", cond("n", "regex", `"5"`), []string{"d3"}},
			{D, "regex text column", cond("document_id", "regex", `"^d[12]$"`), []string{"d1", "d2"}},
			// text: every word of the value is a word of the field.
			{D, "text words in any order", cond("text", "text", `"fox quick"`), []string{"d1", "d3"}},
			{D, "text case sensitive", sensitive(cond("text", "text", `"fox quick"`)), []string{"d1"}},
			{D, "text is not a prefix match", cond("text", "text", `"qui"`), nil},
			{D, "text splits at punctuation", cond("text", "text", `"witted"`), []string{"d3"}},
			{D, "text non-ASCII", cond("category", "text", `"CAFÉ"`), []string{"d1", "d2"}},
			{D, "text list element", cond("tags", "text", `"RED"`), []string{"d1", "d6"}},
			// exists: the key is there (even null); is_null: null or absent.
			{D, "exists a null key", cond("nul", "exists", "true"), []string{"d3"}},
			{D, "exists false", cond("nul", "exists", "false"), []string{"d1", "d2", "d4", "d5", "d6"}},
			{D, "exists with a null value means true", cond("text", "exists", "null"), []string{"d1", "d2", "d3", "d4"}},
			{D, "exists column", cond("document_id", "exists", "false"), nil},
			{D, "is_null", cond("nul", "is_null", "true"), allDocs},
			{D, "is_null false", cond("text", "is_null", "false"), []string{"d1", "d2", "d3", "d4"}},
			{D, "is_null column", cond("created_at", "is_null", "true"), nil},
			// logical operators and case_sensitive inheritance
			{D, "AND", `{"AND":[{"category":"café"},` + cond("n", "gt", "6") + `]}`, []string{"d2"}},
			{D, "OR", `{"OR":[{"category":"straße"},` + cond("n", "gt", "6") + `]}`, []string{"d2", "d3", "d6"}},
			{D, "NOT keeps nulls", `{"NOT":[{"category":"café"}]}`, []string{"d3", "d4", "d5", "d6"}},
			{D, "NOT of several", `{"NOT":[` + cond("tags", "eq", `"red"`) + `,` + cond("text", "contains", `"fox"`) + `]}`, []string{"d2", "d4", "d5"}},
			{D, "AND, OR and shorthand together", `{"OR":[{"n":5},{"n":-2}],"AND":[{"flag":true}],"category":"CAFÉ"}`, []string{"d1"}},
			{D, "nested inherits true", `{"case_sensitive":true,"AND":[{"OR":[` + cond("category", "eq", `"café"`) + `]}]}`, nil},
			{D, "null inherits true", `{"case_sensitive":true,"AND":[{"case_sensitive":null,"OR":[{"category":"Café"}]}]}`, []string{"d1"}},
			{D, "nested false keeps true", `{"case_sensitive":true,"AND":[{"case_sensitive":false,"OR":[{"category":"café"}]}]}`, nil},
			{D, "nested true", `{"case_sensitive":false,"AND":[{"case_sensitive":true,"OR":[{"category":"Café"}]}],"OR":[{"category":"CAFÉ"},{"category":"café"}]}`, []string{"d1"}},
			{D, "root condition with case_sensitive", `{"field":"category","operator":"eq","value":"Café","case_sensitive":true}`, []string{"d1"}},
			{D, "shorthand follows its operator", `{"case_sensitive":true,"category":"café"}`, nil},
			{D, "empty lists constrain nothing", `{"AND":[],"OR":null,"NOT":[]}`, allDocs},
			{D, "empty filter", `{}`, allDocs},
			{D, "root condition", cond("n", "eq", "-2"), []string{"d6"}},
			{D, "documented conditions form", `{"operator":"OR","conditions":[{"field":"n","operator":">","value":7},{"field":"category","operator":"==","value":"straße"}]}`, []string{"d2", "d3", "d6"}},
			{D, "conditions form, case sensitive", `{"operator":"and","case_sensitive":true,"conditions":[{"field":"category","operator":"!=","value":"Café"},{"field":"n","operator":"<=","value":7.5}]}`, []string{"d2", "d6"}},

			// Executions.
			{R, "status folds", `{"status":"COMPLETED"}`, []string{"r1"}},
			{R, "status case sensitive", sensitive(`{"status":"COMPLETED"}`), nil},
			{R, "silhouette gt", cond("metrics.silhouette_score", "gt", "0.5"), []string{"r1"}},
			{R, "silhouette lt", cond("metrics.silhouette_score", "lt", "0"), []string{"r4"}},
			{R, "silhouette exists", cond("metrics.silhouette_score", "exists", "true"), []string{"r1", "r4"}},
			{R, "silhouette is_null", cond("metrics.silhouette_score", "is_null", "true"), []string{"r2", "r3", "r5"}},
			{R, "davies_bouldin lte", cond("metrics.davies_bouldin_index", "lte", "0.5"), []string{"r1"}},
			{R, "calinski_harabasz gte", cond("metrics.calinski_harabasz_score", "gte", "100"), []string{"r1"}},
			{R, "algorithm folds", cond("algorithm", "eq", `"KMEANS"`), []string{"r1", "r4", "r5"}},
			{R, "backend starts_with", cond("backend", "starts_with", `"GPU"`), []string{"r2"}},
			{R, "error_message contains non-ASCII", cond("error_message", "contains", `"ünï"`), []string{"r4"}},
			{R, "error_message contains case sensitive", sensitive(cond("error_message", "contains", `"ünï"`)), nil},
			{R, "error_message ne keeps nulls", cond("error_message", "ne", `"canceled"`), []string{"r1", "r3", "r4", "r5"}},
			{R, "error_message text", cond("error_message", "text", `"documents TOO"`), []string{"r4"}},
			{R, "error_message regex", cond("error_message", "regex", `"^too"`), []string{"r4"}},
			{R, "num_clusters gte", cond("num_clusters", "gte", "3"), []string{"r1"}},
			{R, "num_points in", cond("num_points", "in", "[100, 5]"), []string{"r1"}},
			{R, "completed_at before", cond("completed_at", "lt", `"2026-12-31T00:00:00Z"`), []string{"r1", "r2", "r4"}},
			{R, "run_id in folds", cond("run_id", "in", `["R1","r2"]`), []string{"r1", "r2"}},
			{R, "task_id", cond("task_id", "eq", `"task_r3"`), []string{"r3"}},
			{R, "NOT canceled", `{"NOT":[{"error_message":"canceled"}]}`, []string{"r1", "r3", "r4", "r5"}},
			{R, "documented example", `{"operator":"AND","conditions":[{"field":"metrics.silhouette_score","operator":">","value":0.7}]}`, []string{"r1"}},

			// Clusters.
			{CL, "cluster_name folds", cond("cluster_name", "eq", `"topics"`), []string{"clu_1"}},
			{CL, "cluster_name is the id when unnamed", cond("cluster_name", "eq", `"clu_2"`), []string{"clu_2"}},
			{CL, "metadata folds", `{"metadata.team":"ml"}`, []string{"clu_1", "clu_3"}},
			{CL, "metadata case sensitive", sensitive(`{"metadata.team":"ML"}`), []string{"clu_1"}},
			{CL, "metadata list element", cond("metadata.tags", "eq", `"b"`), []string{"clu_1"}},
			{CL, "metadata number", cond("metadata.n", "gte", "3"), []string{"clu_1"}},
			{CL, "collection_ids element", cond("collection_ids", "eq", `"col_b"`), []string{"clu_1", "clu_2"}},
			{CL, "collection_ids in", cond("collection_ids", "in", `["COL_A"]`), []string{"clu_1"}},
			{CL, "collection_ids ne", cond("collection_ids", "ne", `"col_b"`), []string{"clu_3"}},
			{CL, "algorithm attribute_based", cond("algorithm", "eq", `"attribute_based"`), []string{"clu_2"}},
			{CL, "clustering_method", cond("clustering_method", "eq", `"kmeans"`), []string{"clu_1"}},
			{CL, "cluster_type", `{"cluster_type":"attribute"}`, []string{"clu_2"}},
			{CL, "status of the latest run", `{"status":"processing"}`, []string{"clu_1"}},
			{CL, "status PENDING when never run", `{"status":"PENDING"}`, []string{"clu_2"}},
			{CL, "status COMPLETED", `{"status":"COMPLETED"}`, []string{"clu_3"}},
			{CL, "description contains", cond("description", "contains", `"REVIEW"`), []string{"clu_1"}},
			{CL, "description is_null", cond("description", "is_null", "true"), []string{"clu_2", "clu_3"}},
			{CL, "cluster_name text", cond("cluster_name", "text", `"topics"`), []string{"clu_1", "clu_3"}},
			{CL, "cluster_name starts_with non-ASCII", cond("cluster_name", "starts_with", `"ÜNÏ"`), []string{"clu_3"}},
			{CL, "updated_at", cond("updated_at", "gt", `"2026-01-02T00:00:00Z"`), []string{"clu_1", "clu_2", "clu_3"}},

			// Collections.
			{C, "collection_name folds", cond("collection_name", "eq", `"ALPHA"`), []string{"col_a"}},
			{C, "metadata non-ASCII folds", `{"metadata.owner":"ZOË"}`, []string{"col_a"}},
			{C, "document_count", cond("document_count", "gt", "0"), []string{"col_a"}},
			{C, "description is_null", cond("description", "is_null", "true"), []string{"col_b"}},

			// Tasks (every run of the namespace).
			{T, "CANCELED", `{"status":"CANCELED"}`, []string{"r2"}},
			{T, "FAILED is not canceled", `{"status":"FAILED"}`, []string{"r4"}},
			{T, "status folds", `{"status":"pending"}`, []string{"r3"}},
			{T, "status in", cond("status", "in", `["PROCESSING","COMPLETED"]`), []string{"r1", "r5", "r6"}},
			{T, "other enum values match nothing", `{"status":"IN_PROGRESS"}`, nil},
			{T, "task_type", `{"task_type":"engine_cluster_build"}`, []string{"r1", "r2", "r3", "r4", "r5", "r6"}},
			{T, "updated_at is the latest change", cond("updated_at", "gte", `"2026-04-01T00:00:06Z"`), []string{"r4", "r5", "r6"}},
			{T, "updated_at of a pending task is its creation", cond("updated_at", "eq", `"2026-03-01T00:00:00Z"`), []string{"r3"}},
			{T, "cluster_id", `{"cluster_id":"clu_3"}`, []string{"r6"}},
			{T, "additional_data.cluster_id", `{"additional_data.cluster_id":"CLU_3"}`, []string{"r6"}},
			{T, "task_id", `{"task_id":"task_r4"}`, []string{"r4"}},
		} {
			t.Run(tc.kind.Name+"/"+tc.name, func(t *testing.T) {
				var raw any
				if err := json.Unmarshal([]byte(tc.filters), &raw); err != nil {
					t.Fatalf("bad test JSON %s: %v", tc.filters, err)
				}
				v, _ := schema.Parse([]byte(tc.filters))
				if ps := CheckFilters(tc.kind, v.(map[string]any), schema.Path{"filters"}); len(ps) > 0 {
					t.Fatalf("%s: CheckFilters: %v", tc.filters, ps)
				}
				got, err := fx.list(tc.kind, tc.filters, nil)
				if err != nil {
					t.Fatalf("%s: %v", tc.filters, err)
				}
				if !slices.Equal(sorted(got), sorted(tc.want)) {
					where, args, _ := whereClause(json.RawMessage(tc.filters), tc.kind.fields, db.d)
					t.Errorf("%s:\n got %v\nwant %v\nSQL %s %v", tc.filters, sorted(got), tc.want, where, args)
				}
			})
		}
	})
}

// TestSort: every kind sorts on the fields its responses carry, in both
// directions, nulls first ascending, ties broken by insertion order.
func TestSort(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		fx := newFilterFixture(t, db)
		for _, tc := range []struct {
			kind  FilterKind
			sort  Sort
			want  []string
			where string
		}{
			{RunFilters, Sort{"metrics.silhouette_score", "desc"}, []string{"r1", "r4", "r5", "r3", "r2"}, ""},
			{RunFilters, Sort{"metrics.silhouette_score", "asc"}, []string{"r2", "r3", "r5", "r4", "r1"}, ""},
			{RunFilters, Sort{"status", "asc"}, []string{"r1", "r2", "r4", "r3", "r5"}, ""},
			{RunFilters, Sort{"completed_at", "desc"}, []string{"r4", "r2", "r1", "r5", "r3"}, ""},
			{RunFilters, Sort{"num_clusters", "desc"}, []string{"r1", "r5", "r4", "r3", "r2"}, ""},
			{RunFilters, Sort{"algorithm", "asc"}, []string{"r3", "r2", "r1", "r4", "r5"}, ""},
			{RunFilters, Sort{"metrics.calinski_harabasz_score", "desc"}, []string{"r1", "r5", "r4", "r3", "r2"}, ""},
			{ClusterFilters, Sort{"cluster_name", "asc"}, []string{"clu_1", "clu_2", "clu_3"}, ""},
			{ClusterFilters, Sort{"metadata.n", "desc"}, []string{"clu_1", "clu_3", "clu_2"}, ""},
			{ClusterFilters, Sort{"updated_at", "desc"}, []string{"clu_3", "clu_2", "clu_1"}, ""},
			{ClusterFilters, Sort{"cluster_id", "desc"}, []string{"clu_3", "clu_2", "clu_1"}, ""},
			{ClusterFilters, Sort{"created_at", "asc"}, []string{"clu_1", "clu_2", "clu_3"}, ""},
			{DocumentFilters, Sort{"n", "asc"}, []string{"d4", "d5", "d6", "d1", "d2", "d3"}, ""},
			{DocumentFilters, Sort{"payload.category", "desc"}, []string{"d3", "d6", "d1", "d2", "d5", "d4"}, ""},
			{DocumentFilters, Sort{"document_id", "desc"}, []string{"d6", "d5", "d4", "d3", "d2", "d1"}, ""},
			{DocumentFilters, Sort{"updated_at", "desc"}, []string{"d6", "d5", "d4", "d3", "d2", "d1"}, ""},
			{CollectionFilters, Sort{"collection_name", "asc"}, []string{"col_a", "col_b"}, ""},
			{CollectionFilters, Sort{"metadata.owner", "asc"}, []string{"col_b", "col_a"}, ""},
			{TaskFilters, Sort{"status", "asc"}, []string{"r2", "r1", "r6", "r4", "r3", "r5"}, ""},
			{TaskFilters, Sort{"updated_at", "desc"}, []string{"r5", "r6", "r4", "r3", "r2", "r1"}, ""},
		} {
			t.Run(tc.kind.Name+"/"+tc.sort.Field+"/"+tc.sort.Direction, func(t *testing.T) {
				if ps := CheckSort(tc.kind, &tc.sort, schema.Path{"sort"}); len(ps) > 0 {
					t.Fatal(ps)
				}
				got, err := fx.list(tc.kind, tc.where, &tc.sort)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
	})
}

// TestFilterProblems: CheckFilters reports every problem of a tree, each
// at its exact place under the given path, with a pydantic-like type.
func TestFilterProblems(t *testing.T) {
	type want struct {
		loc string
		typ string
		msg string // a part of the message
	}
	for _, tc := range []struct {
		kind    FilterKind
		filters string
		want    []want
	}{
		{RunFilters, `{"AND":[{"field":"colour","operator":"eq","value":1},{"field":"status","operator":"like","value":"x"},{"OR":[{"field":"created_at","operator":"gt","value":"yesterday"},{"field":"num_clusters","operator":"contains","value":"3"}]}],"NOT":[{"field":"run_id","operator":"in","value":"r1"}],"stauts":"completed"}`,
			[]want{
				{"body.filters.AND.0.field", "value_error", `unknown field "colour"; filterable fields: algorithm, backend,`},
				{"body.filters.AND.1.operator", "enum", "Input should be 'eq'"},
				{"body.filters.AND.2.OR.0.value", "datetime_parsing", "RFC 3339"},
				{"body.filters.AND.2.OR.1.operator", "value_error", "contains applies to text, and num_clusters is a number"},
				{"body.filters.NOT.0.value", "list_type", "valid list"},
				{"body.filters.stauts", "value_error", `unknown field "stauts"`},
			}},
		{DocumentFilters, `{"AND":[{"field":"payload.a\u0000b","operator":"eq","value":1},{"field":"payload.","value":1},{"field":"a..b","value":1},{"field":"payload","value":1}]}`,
			[]want{
				{"body.filters.AND.0.field", "value_error", "control character U+0000"},
				{"body.filters.AND.1.field", "value_error", "empty key"},
				{"body.filters.AND.2.field", "value_error", "empty key"},
				{"body.filters.AND.3.field", "value_error", "name a field inside payload"},
			}},
		{DocumentFilters, `{"AND":[{"field":"a","operator":"eq","value":{"type":"dynamic","field":"inputs.x"}},{"b":{"field":"inputs.y"}},{"field":"c","operator":"in","value":[1,{"type":"dynamic","field":"q"}]}]}`,
			[]want{
				{"body.filters.AND.0.value", "value_error", "dynamic values"},
				{"body.filters.AND.1.b", "value_error", "dynamic values"},
				{"body.filters.AND.2.value.1", "value_error", "dynamic values"},
			}},
		{DocumentFilters, `{"AND":[{"field":"a","operator":"regex","value":"(unclosed"},{"field":"a","operator":"text","value":"--"},{"field":"a","operator":"gt","value":true},{"field":"a","operator":"gt","value":null},{"field":"a","operator":"eq","value":[1]},{"field":"a","operator":"exists","value":"yes"},{"field":"a","operator":"eq","value":1e999},{"field":"a"},{"field":"a","value":1,"extra":2},{"field":3,"value":1},{"field":"a","operator":3,"value":1},{"field":"a","operator":"like"}]}`,
			[]want{
				{"body.filters.AND.0.value", "value_error", "not a valid regular expression"},
				{"body.filters.AND.1.value", "value_error", "at least one word"},
				{"body.filters.AND.2.value", "value_error", "not booleans"},
				{"body.filters.AND.3.value", "value_error", "not null"},
				{"body.filters.AND.4.value", "value_error", "use in or nin"},
				{"body.filters.AND.5.value", "bool_type", "boolean"},
				{"body.filters.AND.6.value", "finite_number", "finite"},
				{"body.filters.AND.7.value", "missing", "Field required"},
				{"body.filters.AND.8.extra", "extra_forbidden", "Extra inputs"},
				{"body.filters.AND.9.field", "string_type", "valid string"},
				{"body.filters.AND.10.operator", "enum", "Input should be"},
				{"body.filters.AND.11.operator", "enum", "Input should be"},
				{"body.filters.AND.11.value", "missing", "Field required"},
			}},
		{ClusterFilters, `{"team":"ml","and":[{"cluster_name":"x"}],"case_sensitive":"yes","AND":{"x":1},"OR":[1]}`,
			[]want{
				{"body.filters.AND", "list_type", "valid list"},
				{"body.filters.OR.0", "model_type", "dictionary"},
				{"body.filters.and", "value_error", "logical operators are upper case: AND"},
				{"body.filters.case_sensitive", "bool_type", "boolean"},
				{"body.filters.team", "value_error", "metadata.NAME"},
			}},
		{RunFilters, `{"operator":"XOR","conditions":[{"field":"status","operator":"~","value":"x"}],"other":1}`,
			[]want{
				{"body.filters.conditions.0.operator", "enum", "Input should be"},
				{"body.filters.operator", "literal_error", "'AND', 'OR' or 'NOT'"},
				{"body.filters.other", "extra_forbidden", "Extra inputs"},
			}},
		{DocumentFilters, `{"field":"created_at","operator":"in","value":["2026-01-01T00:00:00Z","2026-13-01T00:00:00Z",5]}`,
			[]want{
				{"body.filters.value.1", "datetime_parsing", "RFC 3339"},
				{"body.filters.value.2", "datetime_type", "RFC 3339"},
			}},
	} {
		v, err := schema.Parse([]byte(tc.filters))
		if err != nil {
			t.Fatalf("bad test JSON %s: %v", tc.filters, err)
		}
		ps := CheckFilters(tc.kind, v.(map[string]any), schema.Path{"body", "filters"})
		got := make([]want, len(ps))
		for i, p := range ps {
			got[i] = want{p.Loc.String(), p.Type, p.Msg}
		}
		slices.SortFunc(got, func(a, b want) int { return compareLocs(a.loc, b.loc) })
		if len(got) != len(tc.want) {
			t.Errorf("%s:\n got %d problems %v\nwant %d %v", tc.filters, len(got), got, len(tc.want), tc.want)
			continue
		}
		for i, w := range tc.want {
			if got[i].loc != w.loc || got[i].typ != w.typ || !strings.Contains(got[i].msg, w.msg) {
				t.Errorf("%s: problem %d:\n got %+v\nwant %+v", tc.filters, i, got[i], w)
			}
		}
		// whereClause refuses the same tree (its first problem).
		var qe *QueryError
		if _, _, err := whereClause(json.RawMessage(tc.filters), tc.kind.fields, dialectSQLite); !errors.As(err, &qe) {
			t.Errorf("%s: whereClause accepted what CheckFilters refused (%v)", tc.filters, err)
		}
	}
}

// TestSortProblems: an unknown or malformed sort field is a problem at
// sort.field listing the sortable fields.
func TestSortProblems(t *testing.T) {
	for _, tc := range []struct {
		kind FilterKind
		sort Sort
		loc  string
		msg  string
	}{
		{ClusterFilters, Sort{"colour", "asc"}, "body.sort.field", "sortable fields: algorithm,"},
		{RunFilters, Sort{"metrics.nope", "asc"}, "body.sort.field", "metrics.silhouette_score"},
		{DocumentFilters, Sort{"payload.a\u0001", "asc"}, "body.sort.field", "control character U+0001"},
		{DocumentFilters, Sort{"n", "up"}, "body.sort.direction", "'asc' or 'desc'"},
	} {
		ps := CheckSort(tc.kind, &tc.sort, schema.Path{"body", "sort"})
		if len(ps) != 1 || ps[0].Loc.String() != tc.loc || !strings.Contains(ps[0].Msg, tc.msg) {
			t.Errorf("%+v: got %v, want one problem at %s saying %q", tc.sort, ps, tc.loc, tc.msg)
		}
	}
}

// compareLocs orders dotted locations element by element, numbers by value.
func compareLocs(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, errX := strconv.Atoi(as[i])
		y, errY := strconv.Atoi(bs[i])
		if errX == nil && errY == nil {
			if x != y {
				return x - y
			}
			continue
		}
		if c := strings.Compare(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return len(as) - len(bs)
}

// TestLoadVectorsFilters: a cluster's filters select the vectors a run
// loads, with the lists' semantics (bare payload keys, case folding, list
// elements).
func TestLoadVectorsFilters(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		_, c := setupCollection(t, s)
		in := docs(4, 2, 0)
		for i, p := range []string{`{"tag":"Ä"}`, `{"tag":["x","ä"]}`, `{"tag":"b"}`, `{}`} {
			in[i].Payload = json.RawMessage(p)
		}
		if _, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: in}); err != nil {
			t.Fatal(err)
		}
		f, err := s.ResolveFeature(ctx, c.ID, "e")
		if err != nil {
			t.Fatal(err)
		}
		for filters, want := range map[string][]string{
			`{"tag":"ä"}`: {"da", "db"},
			`{"NOT":[{"field":"payload.tag","operator":"in","value":["Ä"]}]}`: {"dc", "dd"},
			`{"case_sensitive":true,"tag":"ä"}`:                               {"db"},
		} {
			v, err := s.LoadVectors(ctx, c.ID, f, json.RawMessage(filters))
			if err != nil {
				t.Fatalf("%s: %v", filters, err)
			}
			if !slices.Equal(v.IDs, want) {
				t.Errorf("%s: loaded %v, want %v", filters, v.IDs, want)
			}
			for i, id := range v.IDs { // each row is its document's vector
				j := int(id[1] - 'a')
				if v.X[i*2] != in[j].Features["e"][0] {
					t.Errorf("%s: row %d is not %s's vector", filters, i, id)
				}
			}
		}
	})
}
