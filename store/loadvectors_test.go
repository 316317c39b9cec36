package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
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
		n := int(parallelLoadRows) + 20_001
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

// TestLoadVectorsOneState: the parts of a load read one state of the
// database, the first part's, even when a write commits while the others
// start. Here a document's vector is replaced at that moment: its row
// moves past the last row the first part saw, so parts that read the new
// state would return it neither at its old row nor at its new one.
func TestLoadVectorsOneState(t *testing.T) {
	defer func(old int64) { parallelLoadRows = old }(parallelLoadRows)
	parallelLoadRows = 100
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(maxLoadParts))
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		_, col := setupCollection(t, s)
		const n = 400
		docs := make([]DocumentInput, n)
		for i := range docs {
			docs[i] = DocumentInput{ID: fmt.Sprintf("d%03d", i), Features: map[string][]float32{"e": {float32(i), 1}}}
		}
		if _, err := s.Upsert(ctx, col.ID, &SliceSource{Docs: docs}); err != nil {
			t.Fatal(err)
		}
		f, err := s.ResolveFeature(ctx, col.ID, "e")
		if err != nil {
			t.Fatal(err)
		}
		const moved = 350
		replaced := false
		afterFirstSnapshot = func() {
			replaced = true
			if _, err := s.Upsert(ctx, col.ID, &SliceSource{Docs: []DocumentInput{{ID: fmt.Sprintf("d%03d", moved), Features: map[string][]float32{"e": {-moved, 2}}}}}); err != nil {
				t.Error(err)
			}
		}
		v, err := s.LoadVectors(ctx, col.ID, f, nil)
		afterFirstSnapshot = nil
		if err != nil {
			t.Fatal(err)
		}
		if !replaced {
			t.Fatal("the load did not read in parts")
		}
		check := func(step string, want func(p int) (string, [2]float32)) {
			t.Helper()
			if v.N != n || len(v.IDs) != n {
				t.Fatalf("%s: %d rows (%d ids), want %d", step, v.N, len(v.IDs), n)
			}
			for p := range n {
				id, x := want(p)
				if v.IDs[p] != id || v.X[2*p] != x[0] || v.X[2*p+1] != x[1] {
					t.Fatalf("%s: row %d is %s %v, want %s %v", step, p, v.IDs[p], v.X[2*p:2*p+2], id, x)
				}
			}
		}
		check("load started before the replacement", func(p int) (string, [2]float32) {
			return fmt.Sprintf("d%03d", p), [2]float32{float32(p), 1}
		})
		if v, err = s.LoadVectors(ctx, col.ID, f, nil); err != nil {
			t.Fatal(err)
		}
		check("load after it", func(p int) (string, [2]float32) {
			switch {
			case p == n-1:
				return fmt.Sprintf("d%03d", moved), [2]float32{-moved, 2}
			case p >= moved:
				p++
			}
			return fmt.Sprintf("d%03d", p), [2]float32{float32(p), 1}
		})
	})
}

// TestMapVectors: MapVectors returns what LoadVectors does. It maps a
// local segment's rows when they are one run (a fresh import; every
// document updated), and reads them when they are not (an updated
// document's row moved to the end, a filter) or live in a bucket. A write
// to mapped rows changes neither the file nor another load, and Close may
// be called twice.
func TestMapVectors(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		s.mapBytes = 1
		ctx := context.Background()
		_, col := setupCollection(t, s)
		const n = 300
		docs := make([]DocumentInput, n)
		for i := range docs {
			docs[i] = DocumentInput{ID: fmt.Sprintf("d%03d", i), Features: map[string][]float32{"e": {float32(i), 0.5, -float32(i)}},
				Payload: []byte(fmt.Sprintf(`{"odd":%v}`, i%2 == 1))}
		}
		if _, err := s.Upsert(ctx, col.ID, &SliceSource{Docs: docs}); err != nil {
			t.Fatal(err)
		}
		f, err := s.ResolveFeature(ctx, col.ID, "e")
		if err != nil {
			t.Fatal(err)
		}
		check := func(step, filter string, wantMapped bool) {
			t.Helper()
			var raw []byte
			if filter != "" {
				raw = []byte(filter)
			}
			want, err := s.LoadVectors(ctx, col.ID, f, raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.MapVectors(ctx, col.ID, f, raw)
			if err != nil {
				t.Fatal(err)
			}
			if mapped := got.release != nil; mapped != (wantMapped && !db.s3) {
				t.Errorf("%s: mapped %v, want %v", step, mapped, wantMapped && !db.s3)
			}
			if got.N != want.N || got.D != want.D || !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.X, want.X) {
				t.Fatalf("%s: MapVectors %d×%d %v…, LoadVectors %d×%d %v…", step, got.N, got.D, got.X[:min(6, len(got.X))], want.N, want.D, want.X[:min(6, len(want.X))])
			}
			if got.N > 0 {
				got.X[0] = 1e9 // a private copy of the page
				again, err := s.LoadVectors(ctx, col.ID, f, raw)
				if err != nil {
					t.Fatal(err)
				}
				if again.X[0] != want.X[0] {
					t.Errorf("%s: a write to mapped rows reached the file: %v, was %v", step, again.X[0], want.X[0])
				}
			}
			if err := errors.Join(got.Close(), got.Close(), want.Close()); err != nil {
				t.Errorf("%s: Close: %v", step, err)
			}
		}
		check("fresh import", "", true)
		check("filtered", `{"AND":[{"field":"odd","operator":"eq","value":true}]}`, false)
		// d150 gets a new vector: its row moves to the end.
		if _, err := s.Upsert(ctx, col.ID, &SliceSource{Docs: []DocumentInput{{ID: "d150", Features: map[string][]float32{"e": {-1, -1, -1}}}}}); err != nil {
			t.Fatal(err)
		}
		check("after an update", "", false)
		// Every document gets a new vector: rows 301–600, one run again,
		// from an offset that is not a page's.
		for i := range docs {
			docs[i].Features["e"][1] = 2
		}
		if _, err := s.Upsert(ctx, col.ID, &SliceSource{Docs: docs}); err != nil {
			t.Fatal(err)
		}
		check("after updating every document", "", true)
	})
}

// TestAppendLoaded: the ids and rows of a chunk, as the database hands
// them over, split into one id and one row each, or fail when they do
// not split into n of each (an id holding the separator, a row missing
// or not a number) rather than pair ids with the wrong rows.
func TestAppendLoaded(t *testing.T) {
	for _, c := range []struct {
		name       string
		n          int
		ids, rows  string
		wantIDs    []string
		wantRows   []int64
		wantErrors bool
	}{
		{"none", 0, "", "", nil, nil, false},
		{"one", 1, "a", "7", []string{"a"}, []int64{7}, false},
		{"three", 3, "a\x1fb c\x1fd", "0,1,5", []string{"a", "b c", "d"}, []int64{0, 1, 5}, false},
		{"an id holding the separator", 2, "a\x1fb\x1fc", "0,1", nil, nil, true},
		{"a row missing", 2, "a\x1fb", "0", nil, nil, true},
		{"a row not a number", 2, "a\x1fb", "0,x", nil, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ids, rows, err := appendLoaded([]string{"before"}, []int64{-1}, c.n, c.ids, c.rows)
			if c.wantErrors {
				if err == nil {
					t.Fatalf("no error: %q %v", ids, rows)
				}
				return
			}
			if err != nil || !slices.Equal(ids, append([]string{"before"}, c.wantIDs...)) || !slices.Equal(rows, append([]int64{-1}, c.wantRows...)) {
				t.Fatalf("%q %v %v", ids, rows, err)
			}
		})
	}
}
