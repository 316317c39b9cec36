package store

import (
	"fmt"
	"testing"
)

// BenchmarkListFiltered lists a collection of 300,000 documents with
// payloads {"category": "c<i>", "n": i, "text": …} through a payload
// filter, with its total and a page of 1,000, as GET …/documents/list
// with a filter does: a number comparison that half the documents pass,
// a case-folded equality that one passes, and a test of presence that all
// pass. Reports seconds a list.
//
//	go test ./store -run '^$' -bench ListFiltered -benchtime 3x
func BenchmarkListFiltered(b *testing.B) {
	const n = 300_000
	for _, db := range []*testDB{{d: dialectSQLite}, {d: dialectPostgres}} {
		b.Run(db.d.String(), func(b *testing.B) {
			fx := newFilterFixture(b, db)
			// A recursive count, which both databases run; the rows go in
			// one statement.
			if _, err := fx.s.w.Exec(`INSERT INTO documents (collection_id, document_id, seq, payload, created_at, updated_at)
				SELECT ?, 'x' || g, 100 + g, '{"category":"c' || g || '","n":' || g || ',"text":"some words here to make it longer"}', 0, 0
				FROM (WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < ?) SELECT g FROM c) AS gs`, fx.col, n); err != nil {
				b.Fatal(err)
			}
			for _, c := range []struct {
				name, filters string
				want          int
			}{
				{"n_gt", cond("n", "gt", fmt.Sprint(n/2)), 1000},
				{"category_eq", cond("category", "eq", `"C77"`), 1},
				{"text_exists", cond("text", "exists", "true"), 1000},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						ids, err := fx.list(DocumentFilters, c.filters, nil)
						if err != nil {
							b.Fatal(err)
						}
						if len(ids) != c.want {
							b.Fatalf("%d documents listed, want %d", len(ids), c.want)
						}
					}
					b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/list")
				})
			}
		})
	}
}
