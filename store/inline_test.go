package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestInlineFeature: a collection's first feature (of a first document
// with several, the first by name) is inline: its documents hold its rows
// and vectors has none of them; a feature added later has rows in vectors.
// An upsert that leaves a document's inline vector out keeps it, in one
// transaction and staged, and every read (GetDocument, ListDocuments,
// LoadVectors, FeatureVectors, the counts) sees the vectors of both kinds.
func TestInlineFeature(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, c := setupCollection(t, s)
		upsert := func(docs ...DocumentInput) {
			t.Helper()
			if _, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: docs}); err != nil {
				t.Fatal(err)
			}
		}
		vec := func(x ...float32) []float32 { return x }
		upsert(DocumentInput{ID: "d0", Features: map[string][]float32{"b": vec(0, 1), "a": vec(0, 0, 1)}},
			DocumentInput{ID: "d1", Features: map[string][]float32{"b": vec(1, 1), "a": vec(1, 0, 1)}})
		upsert(DocumentInput{ID: "d2", Features: map[string][]float32{"c": vec(5)}})
		count := func(q string) int {
			t.Helper()
			var n int
			if err := s.r.QueryRowContext(ctx, q, c.ID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for q, want := range map[string]int{
			`SELECT COUNT(*) FROM main.features WHERE collection_id = ? AND inline = 1 AND name = 'a'`: 1,
			`SELECT COUNT(*) FROM main.features WHERE collection_id = ? AND inline = 1`:                1,
			`SELECT COUNT(*) FROM main.vectors WHERE collection_id = ? AND feature = 'a'`:              0,
			`SELECT COUNT(*) FROM main.vectors WHERE collection_id = ?`:                                3, // b twice, c
			`SELECT COUNT(*) FROM main.documents WHERE collection_id = ? AND row IS NOT NULL`:          2,
			`SELECT COUNT(*) FROM main.documents WHERE collection_id = ? AND row IS NULL`:              1, // d2
			`SELECT COUNT(*) FROM main.documents WHERE collection_id = ? AND next_row IS NOT NULL`:     0,
		} {
			if got := count(q); got != want {
				t.Errorf("%s: %d, want %d", q, got, want)
			}
		}

		// Left out, in one transaction and staged: d0 and the staged
		// documents keep their "a".
		upsert(DocumentInput{ID: "d0", Features: map[string][]float32{"b": vec(9, 9)}})
		n := 2*stageDocuments + 3
		var first, second []DocumentInput
		for i := range n {
			id := fmt.Sprintf("s%d", i)
			first = append(first, DocumentInput{ID: id, Features: map[string][]float32{"a": vec(float32(i), 1, 0)}})
			second = append(second, DocumentInput{ID: id, Features: map[string][]float32{"c": vec(float32(i))}})
		}
		upsert(first...)
		upsert(second...)
		want := map[string][]float32{"d0": vec(0, 0, 1), "d1": vec(1, 0, 1)}
		for i := range n {
			want[fmt.Sprintf("s%d", i)] = vec(float32(i), 1, 0)
		}
		d0, err := s.GetDocument(ctx, c.ID, "d0")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(d0.Features) != fmt.Sprint(map[string][]float32{"a": vec(0, 0, 1), "b": vec(9, 9)}) || fmt.Sprint(d0.Names) != "[a b]" {
			t.Errorf("d0: %v %v", d0.Features, d0.Names)
		}
		s7, err := s.GetDocument(ctx, c.ID, "s7")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(s7.Features) != fmt.Sprint(map[string][]float32{"a": vec(7, 1, 0), "c": vec(7)}) {
			t.Errorf("s7: %v", s7.Features)
		}
		page, err := s.ListDocuments(ctx, c.ID, Query{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range page.Results {
			slices.Sort(d.Names)
			names = append(names, fmt.Sprint(d.ID, d.Names))
		}
		if fmt.Sprint(names) != "[d0[a b] d1[a b] d2[c]]" {
			t.Errorf("listed: %v", names)
		}
		f, err := s.ResolveFeature(ctx, c.ID, "a")
		if err != nil {
			t.Fatal(err)
		}
		vs, err := s.LoadVectors(ctx, c.ID, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]float32{}
		for i, id := range vs.IDs {
			got[id] = vs.X[i*vs.D : (i+1)*vs.D]
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("LoadVectors(a): %d vectors, want %d", len(got), len(want))
		}
		picked, err := s.FeatureVectors(ctx, c.ID, f, []string{"d1", "d2", "s3"})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(picked) != fmt.Sprint(map[string][]float32{"d1": vec(1, 0, 1), "s3": vec(3, 1, 0)}) {
			t.Errorf("FeatureVectors(a): %v", picked)
		}
		col, err := s.GetCollection(ctx, ns.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int64{}
		for _, f := range col.Features {
			counts[f.Name] = f.Count
		}
		if fmt.Sprint(counts) != fmt.Sprint(map[string]int64{"a": int64(n + 2), "b": 2, "c": int64(n + 1)}) {
			t.Errorf("feature counts %v", counts)
		}
	})
}

// TestInlineRun: the JSON statement takes a flush's inline rows only when
// none has one or all are consecutive; anything else goes to VALUES lists.
func TestInlineRun(t *testing.T) {
	for _, c := range []struct {
		rows  []int64
		first any
		ok    bool
	}{
		{[]int64{-1}, nil, true},
		{[]int64{-1, -1, -1}, nil, true},
		{[]int64{7}, int64(7), true},
		{[]int64{7, 8, 9}, int64(7), true},
		{[]int64{7, 9}, nil, false},
		{[]int64{8, 7}, nil, false},
		{[]int64{-1, 0}, nil, false}, // -1 + 1 is 0: consecutive numbers, not rows
		{[]int64{3, -1}, nil, false},
	} {
		if first, ok := inlineRun(c.rows); first != c.first || ok != c.ok {
			t.Errorf("inlineRun(%v) = %v, %v; want %v, %v", c.rows, first, ok, c.first, c.ok)
		}
	}
}
