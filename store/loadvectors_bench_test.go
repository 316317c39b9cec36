package store

import (
	"context"
	"testing"
)

// BenchmarkLoadVectors maps the vectors of a collection of 1,000,000
// documents with one 128-dimension vector each (ids "row_N", as W4's
// import makes them) and reads their ids, as a run's load phase does:
// the ids cost a row of SQLite each. Reports µs a document.
//
//	go test ./store -run '^$' -bench LoadVectors -benchtime 5x
func BenchmarkLoadVectors(b *testing.B) {
	const n, d = 1_000_000, 128
	for _, db := range []*testDB{{d: dialectSQLite}, {d: dialectPostgres}} {
		b.Run(db.d.String(), func(b *testing.B) {
			ctx := context.Background()
			s, err := db.Open(b, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			_, col := setupCollection(b, s)
			if _, err := s.Upsert(ctx, col.ID, &vectorSource{n: n, d: d, prefix: "row_"}); err != nil {
				b.Fatal(err)
			}
			f, err := s.ResolveFeature(ctx, col.ID, "embedding")
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				vs, err := s.MapVectors(ctx, col.ID, f, nil)
				if err != nil {
					b.Fatal(err)
				}
				if vs.N != n || vs.IDs[n-1] != "row_999999" {
					b.Fatalf("%d vectors, the last %q", vs.N, vs.IDs[vs.N-1])
				}
				vs.Close()
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/n*1e6, "µs/doc")
		})
	}
}
