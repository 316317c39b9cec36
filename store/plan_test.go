package store

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestQueryPlans: SQLite's planner, given plannerStats, looks a document's
// vectors up by the primary key, reads a feature's rows in order from the
// covering index (an inline feature's from documents_seq, and a
// document's inline vector by the documents' key), finds the documents with a payload in their partial
// index, and finds an aborted import's rows and the vector replacements to
// drop or fold by index. Without the statistics the first read every
// vector of the collection for each document listed (two minutes to list
// 10,000 documents of 20,000).
func TestQueryPlans(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		name, query, want string
		args              []any
	}{
		{"a listed document's features", listedFeaturesPlanSQL,
			"SEARCH main.vectors USING PRIMARY KEY (collection_id=? AND document_id=?)", []any{"c"}},
		{"a listed document's inline feature", listedFeaturesPlanSQL,
			"SEARCH main.features USING INDEX sqlite_autoindex_features_1 (collection_id=?)", []any{"c"}},
		{"a feature's rows in a range (LoadVectors)", `SELECT v.document_id, v.row FROM main.vectors v
			WHERE v.collection_id = ? AND v.feature = ? AND v.gen NOT IN (SELECT gen FROM imports) AND v.row >= ? AND v.row < ? ORDER BY v.row`,
			"USING COVERING INDEX vectors_row_cover (collection_id=? AND feature=? AND row>? AND row<?)", []any{"c", "f", 0, 10}},
		{"an inline feature's rows in a range of seq (LoadVectors)", `SELECT v.document_id, ` + inlineRowSQL("v") + ` FROM main.documents v
			WHERE v.collection_id = ? AND v.gen NOT IN (SELECT gen FROM imports) AND ` + inlineRowSQL("v") + ` IS NOT NULL AND v.seq >= ? AND v.seq < ? ORDER BY v.seq`,
			"SEARCH v USING INDEX documents_seq (collection_id=? AND seq>? AND seq<?)", []any{"c", 0, 10}},
		{"a document's inline vector (GetDocument)", `SELECT f.name, d.row FROM features f JOIN documents d ON d.collection_id = f.collection_id
			WHERE f.inline = 1 AND d.collection_id = ? AND d.document_id = ? AND d.row IS NOT NULL`,
			"SEARCH main.documents USING INDEX sqlite_autoindex_documents_1 (collection_id=? AND document_id=?)", []any{"c", "a"}},
		{"a collection's vectors of a feature, counted", `SELECT ` + vectorCountSQL + ` FROM features f WHERE f.collection_id = ?`,
			"SEARCH main.vectors USING COVERING INDEX vectors_row_cover (collection_id=? AND feature=?)", []any{"c"}},
		{"a collection's vectors of an inline feature, counted", `SELECT ` + vectorCountSQL + ` FROM features f WHERE f.collection_id = ?`,
			"SEARCH main.documents USING INDEX documents_seq (collection_id=?)", []any{"c"}},
		{"the documents an upsert's flush inserted (on the writer, where documents is the table)", strings.Replace(countInsertedSQL, "FROM documents", "FROM main.documents", 1),
			"SEARCH main.documents USING COVERING INDEX documents_seq (collection_id=? AND seq>? AND seq<?)", []any{"c", 1, 2}},
		{"the documents with a payload (PayloadTexts)", payloadTextsSQL("payload", ""),
			"SEARCH main.documents USING INDEX documents_payload (collection_id=?)", []any{"c"}},
		// abortImport, without an index by generation.
		{"the documents an import inserted", strings.Replace(strings.Replace(importedDocumentsSQL, "FROM documents", "FROM main.documents", 1), "LIMIT", "LIMIT 10", 1),
			"SEARCH main.documents USING INDEX documents_seq (collection_id=? AND seq>?)", []any{"c", 1, 2}},
		{"the documents an import touched", strings.Replace(strings.Replace(touchedDocumentsSQL, "FROM documents", "FROM main.documents", 1), "LIMIT", "LIMIT 10", 1),
			"SEARCH main.documents USING INDEX documents_next (next_gen=?)", []any{2, "c"}},
		{"the vectors of a batch of those documents", `DELETE FROM main.vectors WHERE collection_id = ? AND document_id IN (?, ?)`,
			"SEARCH main.vectors USING PRIMARY KEY (collection_id=? AND document_id=?)", []any{"c", "a", "b"}},
		{"the vector replacements an import staged", onTables(dropVectorReplacementsSQL),
			"SEARCH main.vectors USING COVERING INDEX vectors_next (next_gen=?)", []any{2}},
		{"the vector replacements an import staged, by key", onTables(dropVectorReplacementsSQL),
			"SEARCH main.vectors USING PRIMARY KEY (collection_id=? AND document_id=?)", []any{2}},
		{"the oldest generation with a document replacement", oldestFoldableSQL("documents", false),
			"SEARCH main.documents USING COVERING INDEX documents_next (next_gen>?)", nil},
		{"the oldest generation with a vector replacement", oldestFoldableSQL("vectors", false),
			"SEARCH main.vectors USING COVERING INDEX vectors_next (next_gen>?)", nil},
		{"the oldest generation with a document replacement in a collection", oldestFoldableSQL("documents", true),
			"SEARCH main.documents USING INDEX documents_next (next_gen>?)", []any{"c"}},
		{"the oldest generation with a vector replacement in a collection", oldestFoldableSQL("vectors", true),
			"SEARCH main.vectors USING COVERING INDEX vectors_next (next_gen>?)", []any{"c"}},
		{"a generation's document replacements", onTables(foldSQL("documents", false)),
			"SEARCH main.documents USING INDEX documents_next (next_gen=?)", []any{2, 2}},
		{"a generation's document replacements, by key", onTables(foldSQL("documents", false)),
			"SEARCH main.documents USING INDEX sqlite_autoindex_documents_1 (collection_id=? AND document_id=?)", []any{2, 2}},
		{"a generation's vector replacements", onTables(foldSQL("vectors", false)),
			"SEARCH main.vectors USING COVERING INDEX vectors_next (next_gen=?)", []any{2, 2}},
		{"a generation's vector replacements, by key", onTables(foldSQL("vectors", false)),
			"SEARCH main.vectors USING PRIMARY KEY (collection_id=? AND document_id=?", []any{2, 2}},
		{"a generation's document replacements in a collection", onTables(foldSQL("documents", true)),
			"SEARCH main.documents USING INDEX documents_next (next_gen=?)", []any{2, 2, "c"}},
		{"a generation's vector replacements in a collection", onTables(foldSQL("vectors", true)),
			"SEARCH main.vectors USING COVERING INDEX vectors_next (next_gen=?)", []any{2, 2, "c"}},
	} {
		rows, err := s.r.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+c.query, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "\n"); !strings.Contains(p, c.want) {
			t.Errorf("%s: plan\n%s\nlacks %q", c.name, p, c.want)
		}
	}
}

// onTables is a batched statement as the writer runs it, for a reader
// connection (where vectors and documents are views): on the tables, with
// a batch size.
func onTables(q string) string {
	for _, table := range []string{"vectors", "documents"} {
		q = strings.ReplaceAll(q, "UPDATE "+table, "UPDATE main."+table)
		q = strings.ReplaceAll(q, "FROM "+table, "FROM main."+table)
	}
	return strings.Replace(q, "LIMIT", "LIMIT 10", 1)
}

// listedFeaturesPlanSQL is ListDocuments' statement as far as its
// features go: those in vectors and the inline one.
const listedFeaturesPlanSQL = `SELECT d.document_id,
	(SELECT group_concat(feature, char(10)) FROM (SELECT v.feature FROM vectors v WHERE v.collection_id = d.collection_id AND v.document_id = d.document_id
		UNION ALL SELECT f.name FROM features f WHERE f.collection_id = d.collection_id AND f.inline = 1 AND d.row IS NOT NULL) AS names)
	FROM documents d WHERE d.collection_id = ? ORDER BY d.seq LIMIT 10 OFFSET 10`

// TestPGFilterPlans: on PostgreSQL a payload filter reads each document's
// JSON without an SQL function call per document: clusterd_jsonb is
// inlined (it shows in the plan as its body, not by name) and a field's
// elements are no function scan (see pgElements; BenchmarkListFiltered
// lists 300,000 documents in 1.4–1.5 s this way, 6.3–6.5 s before).
func TestPGFilterPlans(t *testing.T) {
	fx := newFilterFixture(t, &testDB{d: dialectPostgres})
	for _, filters := range []string{
		cond("n", "gt", "5"),
		cond("category", "eq", `"café"`),
		cond("tags", "in", `["red", 1]`),
		cond("text", "text", `"quick fox"`),
		cond("nested.k", "exists", "true"),
		cond("category", "nin", `["x"]`),
	} {
		where, args, err := whereClause(json.RawMessage(filters), documentFields, dialectPostgres)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := fx.s.r.Query(`EXPLAIN (VERBOSE) SELECT COUNT(*) FROM documents d WHERE d.collection_id = ? AND (`+where+`)`, append([]any{fx.col}, args...)...)
		if err != nil {
			t.Fatalf("%s: %v", filters, err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		rows.Close()
		if p := plan.String(); strings.Contains(p, "clusterd_jsonb(") || strings.Contains(p, "Function Scan") {
			t.Errorf("%s: a function is called per document:\n%s", filters, p)
		}
	}
}
