package store

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// filterFixture is a store holding a few rows of every list, written
// straight into the tables so that each field has the values the filter
// tests need (mixed case, non-ASCII, lists, nulls, absent keys).
type filterFixture struct {
	s   *Store
	ns  string
	col string // the collection holding the documents
}

func at2026(s string) int64 {
	t, err := time.Parse(time.RFC3339, "2026-"+s)
	if err != nil {
		panic(err)
	}
	return micros(t)
}

// fixtureDocs are the documents' payloads by id (nil: no payload).
var fixtureDocs = []struct {
	id      string
	payload string
}{
	{"d1", `{"category":"Café","n":5,"tags":["Red","blue"],"flag":true,"text":"The quick brown fox","nested":{"k":"V"},"we\"ird[$]\\":"q","it's":"yes"}`},
	{"d2", `{"category":"CAFÉ","n":7.5,"tags":["green"],"flag":false,"text":"Lazy dogs sleep","nested":{"k":"w"}}`},
	{"d3", `{"category":"straße","n":"5","tags":[],"text":"quick-witted FOX","nul":null}`},
	{"d4", `{"text":"50%_off a\\b now"}`},
	{"d5", ""},
	{"d6", `{"category":"STRASSE","n":-2,"tags":["red",1,true,null,{"x":1}],"nested":{"k":["V","x"]}}`},
}

func newFilterFixture(tb testing.TB, db *testDB) *filterFixture {
	tb.Helper()
	s, err := db.Open(tb, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	ctx := context.Background()
	ns, err := s.ResolveNamespace(ctx, "", true)
	if err != nil {
		tb.Fatal(err)
	}
	fx := &filterFixture{s: s, ns: ns.ID, col: "col_a"}
	exec := func(q string, args ...any) {
		tb.Helper()
		if _, err := s.w.Exec(q, args...); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO collections (id, namespace_id, name, description, metadata, created_at, updated_at) VALUES
		('col_a', ?, 'Alpha', 'first', '{"owner":"Zoë"}', ?, ?), ('col_b', ?, 'beta', NULL, NULL, ?, ?)`,
		ns.ID, at2026("01-01T00:00:00Z"), at2026("01-01T00:00:00Z"), ns.ID, at2026("02-01T00:00:00Z"), at2026("02-01T00:00:00Z"))
	for i, d := range fixtureDocs {
		var payload any
		if d.payload != "" {
			payload = d.payload
		}
		ts := at2026("01-0" + string(rune('1'+i)) + "T00:00:00Z")
		exec(`INSERT INTO documents (collection_id, document_id, seq, payload, created_at, updated_at) VALUES ('col_a', ?, ?, ?, ?, ?)`, d.id, i, payload, ts, ts)
	}
	exec(`INSERT INTO clusters (id, namespace_id, name, description, config, metadata, created_at, updated_at) VALUES
		('clu_1', ?, 'Topics', 'Product reviews', '{"collection_ids":["col_a","col_b"],"cluster_type":"vector","vector_config":{"clustering_method":"kmeans"}}', '{"team":"ML","tags":["a","B"],"n":3}', ?, ?),
		('clu_2', ?, NULL, NULL, '{"collection_ids":["col_b"],"cluster_type":"attribute","attribute_config":{"attributes":["x"]}}', NULL, ?, ?),
		('clu_3', ?, 'Ünïcode Topics', NULL, '{"collection_ids":[],"cluster_type":"vector","vector_config":{"clustering_method":"hdbscan"}}', '{"team":"ml"}', ?, ?)`,
		ns.ID, at2026("01-01T00:00:00Z"), at2026("01-05T00:00:00Z"),
		ns.ID, at2026("02-01T00:00:00Z"), at2026("02-01T00:00:00Z"),
		ns.ID, at2026("03-01T00:00:00Z"), at2026("03-02T00:00:00Z"))
	for _, r := range []struct {
		id, cluster, status    string
		created, started, done string
		k, n                   int
		errMsg                 any
		result                 string
	}{
		{"r1", "clu_1", "completed", "01-01T00:00:00Z", "01-01T00:00:10Z", "01-01T00:01:00Z", 3, 100, nil,
			`{"metrics":{"silhouette_score":0.8,"davies_bouldin_index":0.5,"calinski_harabasz_score":120.5},"algorithm":"kmeans","backend":"cpu"}`},
		{"r2", "clu_1", "failed", "02-01T00:00:00Z", "", "02-01T00:01:00Z", 0, 0, "canceled", `{"metrics":null,"algorithm":"hdbscan","backend":"gpu:0"}`},
		{"r3", "clu_1", "pending", "03-01T00:00:00Z", "", "", 0, 0, nil, `{}`},
		{"r4", "clu_1", "failed", "04-01T00:00:00Z", "04-01T00:00:05Z", "04-01T00:00:06Z", 0, 0, "Too few documents: Ünïcode",
			`{"metrics":{"silhouette_score":-0.1},"algorithm":"kmeans","backend":"cpu"}`},
		{"r5", "clu_1", "processing", "05-01T00:00:00Z", "05-01T00:00:30Z", "", 0, 0, nil, `{"algorithm":"kmeans"}`},
		{"r6", "clu_3", "completed", "04-15T00:00:00Z", "04-15T00:00:01Z", "04-15T00:00:02Z", 2, 10, nil, `{"algorithm":"hdbscan","backend":"cpu"}`},
	} {
		opt := func(s string) any {
			if s == "" {
				return nil
			}
			return at2026(s)
		}
		exec(`INSERT INTO runs (run_id, task_id, cluster_id, namespace_id, status, created_at, started_at, completed_at, num_clusters, num_points, error_message, result)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.id, "task_"+r.id, r.cluster, ns.ID, r.status, at2026(r.created), opt(r.started), opt(r.done), r.k, r.n, r.errMsg, r.result)
	}
	return fx
}

// list runs a list of a kind with filters (JSON) and sort and returns the
// ids in the list's order; executions are clu_1's.
func (fx *filterFixture) list(kind FilterKind, filters string, sort *Sort) ([]string, error) {
	ctx := context.Background()
	q := Query{Filters: json.RawMessage(filters), Sort: sort, Limit: 1000, IncludeTotal: true}
	var ids []string
	switch kind.Name {
	case "documents":
		p, err := fx.s.ListDocuments(ctx, fx.col, q)
		if err != nil {
			return nil, err
		}
		for _, d := range p.Results {
			ids = append(ids, d.ID)
		}
	case "collections":
		p, err := fx.s.ListCollections(ctx, fx.ns, q)
		if err != nil {
			return nil, err
		}
		for _, c := range p.Results {
			ids = append(ids, c.ID)
		}
	case "clusters":
		p, err := fx.s.ListClusters(ctx, fx.ns, q)
		if err != nil {
			return nil, err
		}
		for _, c := range p.Results {
			ids = append(ids, c.ID)
		}
	case "executions":
		p, _, err := fx.s.ListRuns(ctx, fx.ns, "clu_1", q)
		if err != nil {
			return nil, err
		}
		for _, r := range p.Results {
			ids = append(ids, r.RunID)
		}
	case "tasks":
		// A task list as the tasks endpoint would query it.
		where, args, err := whereClause(q.Filters, TaskFilters.fields, fx.s.d)
		if err != nil {
			return nil, err
		}
		order, err := orderBy(q.Sort, TaskFilters.fields, Sort{Field: "created_at", Direction: "desc"}, "runs.rowid", fx.s.d)
		if err != nil {
			return nil, err
		}
		rows, err := fx.s.r.QueryContext(ctx, `SELECT run_id FROM runs WHERE namespace_id = ? AND (`+where+`) `+order+` LIMIT 1000`, append([]any{fx.ns}, args...)...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	default:
		panic(kind.Name)
	}
	return ids, nil
}

// sorted returns ids sorted (for set comparisons).
func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
