package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestLoadVectorsInRanges: a feature of more than parallelLoadRows rows is
// read in row ranges on several connections; the result is every visible
// vector once, in row order (an updated document's new row last), with the
// right values, with and without a filter. Runs of rows of 4 KiB and more
// are read from local files in pieces (parallelReadBytes).
func TestLoadVectorsInRanges(t *testing.T) {
	defer func(old int) { parallelReadBytes = old }(parallelReadBytes)
	parallelReadBytes = 4 << 10
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		_, col := setupCollection(t, s)
		n := parallelLoadRows + 20_001
		docs := make([]DocumentInput, n)
		for i := range docs {
			docs[i] = DocumentInput{ID: fmt.Sprintf("d%06d", i), Features: map[string][]float32{"e": {float32(i), 1}},
				Payload: []byte(fmt.Sprintf(`{"odd":%v}`, i%2 == 1))}
		}
		if _, err := s.Upsert(ctx, col.ID, &SliceSource{Docs: docs}); err != nil {
			t.Fatal(err)
		}
		// Two documents get new vectors: their rows move to the end.
		moved := []int{3, n / 2}
		var upd []DocumentInput
		for _, i := range moved {
			upd = append(upd, DocumentInput{ID: fmt.Sprintf("d%06d", i), Features: map[string][]float32{"e": {float32(-i), 2}}})
		}
		if _, err := s.Upsert(ctx, col.ID, &SliceSource{Docs: upd}); err != nil {
			t.Fatal(err)
		}
		f, err := s.ResolveFeature(ctx, col.ID, "e")
		if err != nil {
			t.Fatal(err)
		}
		for _, filter := range []string{"", `{"AND":[{"field":"odd","operator":"eq","value":true}]}`} {
			var want []int
			for i := 0; i < n; i++ {
				if !slices.Contains(moved, i) && (filter == "" || i%2 == 1) {
					want = append(want, i)
				}
			}
			for _, i := range moved {
				if filter == "" || i%2 == 1 {
					want = append(want, -i)
				}
			}
			var raw []byte
			if filter != "" {
				raw = []byte(filter)
			}
			v, err := s.LoadVectors(ctx, col.ID, f, raw)
			if err != nil {
				t.Fatalf("filter %q: %v", filter, err)
			}
			if v.N != len(want) || len(v.IDs) != len(want) {
				t.Fatalf("filter %q: %d rows (%d ids), want %d", filter, v.N, len(v.IDs), len(want))
			}
			for p, i := range want {
				id, second := fmt.Sprintf("d%06d", max(i, -i)), float32(1)
				if i < 0 {
					second = 2
				}
				if v.IDs[p] != id || v.X[2*p] != float32(i) || v.X[2*p+1] != second {
					t.Fatalf("filter %q: row %d is %s %v, want %s [%v %v]", filter, p, v.IDs[p], v.X[2*p:2*p+2], id, float32(i), second)
				}
			}
		}
	})
}
