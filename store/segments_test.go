package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/blob"
	"github.com/clusterd/clusterd/blob/blobtest"
)

// vec is the 4-wide vector [v, v+1, v+2, v+3].
func vec(v float32) []float32 { return []float32{v, v + 1, v + 2, v + 3} }

func doc(id string, v float32) DocumentInput {
	return DocumentInput{ID: id, Features: map[string][]float32{"e": vec(v)}}
}

// TestChunksOnABucket: with a bucket every upsert stores one chunk per
// feature holding its rows, named by its first row; row numbers run on
// across chunks, a replaced vector is read from its new chunk, reads that
// span chunks come back in row order, nothing is written to the data
// directory, and SegmentUsage counts the chunks' rows.
func TestChunksOnABucket(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		if !db.s3 {
			t.Skip("chunks are a bucket's layout")
		}
		s := db.open(t)
		ctx := context.Background()
		_, c := setupCollection(t, s)
		for _, batch := range [][]DocumentInput{
			{doc("a", 0), doc("b", 10), doc("c", 20)}, // rows 0–2
			{doc("x", 30), doc("y", 40)},              // rows 3–4
			{doc("b", 50)},                            // row 5 replaces b's row 1
		} {
			if _, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: batch}); err != nil {
				t.Fatal(err)
			}
		}
		names := db.segmentNames(t, s, c.ID)
		dir := strings.TrimSuffix(featureFile("e"), ".f32") + "/"
		var firsts []string
		for _, n := range names {
			if !strings.HasPrefix(n, dir) || !strings.HasSuffix(n, ".f32") {
				t.Fatalf("chunk %q is not under %s", n, dir)
			}
			firsts = append(firsts, strings.SplitN(strings.TrimPrefix(n, dir), "-", 2)[0])
		}
		slices.Sort(firsts)
		if want := []string{fmt.Sprintf("%016d", 0), fmt.Sprintf("%016d", 3), fmt.Sprintf("%016d", 5)}; !slices.Equal(firsts, want) {
			t.Fatalf("chunks' first rows %v, want %v (%v)", firsts, want, names)
		}
		f, err := s.ResolveFeature(ctx, c.ID, "e")
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.LoadVectors(ctx, c.ID, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs := []string{"a", "c", "x", "y", "b"} // row order: 0, 2, 3, 4, 5
		var wantX []float32
		for _, base := range []float32{0, 20, 30, 40, 50} {
			wantX = append(wantX, vec(base)...)
		}
		if !slices.Equal(v.IDs, wantIDs) || !slices.Equal(v.X, wantX) {
			t.Fatalf("LoadVectors: %v %v, want %v %v", v.IDs, v.X, wantIDs, wantX)
		}
		d, err := s.GetDocument(ctx, c.ID, "b")
		if err != nil || !slices.Equal(d.Features["e"], vec(50)) {
			t.Fatalf("GetDocument: %v %v", d.Features, err)
		}
		fv, err := s.FeatureVectors(ctx, c.ID, f, []string{"x", "b", "none"})
		if err != nil || len(fv) != 2 || !slices.Equal(fv["x"], vec(30)) || !slices.Equal(fv["b"], vec(50)) {
			t.Fatalf("FeatureVectors: %v %v", fv, err)
		}
		file, live, err := s.SegmentUsage(ctx)
		if err != nil || file != 6*16 || live != 5*16 {
			t.Fatalf("SegmentUsage: %d file, %d live, %v; want 96, 80", file, live, err)
		}
	})
}

// TestChunkSweep: Open deletes a chunk no segments row lists only once it
// is older than segmentSweepGrace (it may be an upsert's of another process
// that has not committed yet), and never a listed one.
func TestChunkSweep(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		if !db.s3 {
			t.Skip("chunks are a bucket's layout")
		}
		dir := t.TempDir()
		s, err := db.Open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		_, c := setupCollection(t, s)
		if _, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: []DocumentInput{doc("a", 0), doc("b", 10)}}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		orphan := collectionPrefix(c.ID) + strings.TrimSuffix(featureFile("e"), ".f32") + "/" + fmt.Sprintf("%016d-orphan.f32", 2)
		if err := db.bucket.Put(ctx, orphan, bytes.NewReader(make([]byte, 16)), 16); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			grace bool
			kept  int
		}{{true, 2}, {false, 1}} {
			grace := segmentSweepGrace
			if !tc.grace {
				segmentSweepGrace = 0
			}
			s, err := db.Open(t, dir)
			segmentSweepGrace = grace
			if err != nil {
				t.Fatal(err)
			}
			if names := db.segmentNames(t, s, c.ID); len(names) != tc.kept {
				t.Errorf("grace %v: chunks %v, want %d", tc.grace, names, tc.kept)
			}
			f, _ := s.ResolveFeature(ctx, c.ID, "e")
			if v, err := s.LoadVectors(ctx, c.ID, f, nil); err != nil || v.N != 2 || !slices.Equal(v.X, append(vec(0), vec(10)...)) {
				t.Errorf("grace %v: vectors %v %v", tc.grace, v.X, err)
			}
			s.Close()
		}
	})
}

// TestBucketStoreNeedsItsBucket: a store whose vectors are on a bucket does
// not open without it; a store that had local segment files and then a
// bucket keeps reading the old rows from the files, and new rows follow
// them on the bucket.
func TestBucketStoreNeedsItsBucket(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		dir := t.TempDir()
		s, err := db.Open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		_, c := setupCollection(t, s)
		if _, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: []DocumentInput{doc("a", 0), doc("b", 10)}}); err != nil {
			t.Fatal(err)
		}
		s.Close()

		db.s3 = true
		s, err = db.Open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: []DocumentInput{doc("c", 20), doc("a", 30)}}); err != nil {
			t.Fatal(err)
		}
		f, _ := s.ResolveFeature(ctx, c.ID, "e")
		v, err := s.LoadVectors(ctx, c.ID, f, nil)
		if err != nil || !slices.Equal(v.IDs, []string{"b", "c", "a"}) || !slices.Equal(v.X, slices.Concat(vec(10), vec(20), vec(30))) {
			t.Fatalf("vectors across the local file and the bucket: %v %v %v", v.IDs, v.X, err)
		}
		if d, err := s.GetDocument(ctx, c.ID, "b"); err != nil || !slices.Equal(d.Features["e"], vec(10)) {
			t.Fatalf("a row of the local file: %v %v", d.Features, err)
		}
		s.Close()

		db.s3 = false
		saved := db.bucket
		db.bucket = nil
		if s, err := db.Open(t, dir); !errors.Is(err, ErrWrongPlace) {
			if err == nil {
				s.Close()
			}
			t.Fatalf("opened without its bucket: %v", err)
		}
		db.s3, db.bucket = true, saved
	})
}

// hookBucket calls afterPut after each successful Put.
type hookBucket struct {
	blob.Bucket
	afterPut func()
}

func (h *hookBucket) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	err := h.Bucket.Put(ctx, key, r, size)
	if err == nil && h.afterPut != nil {
		h.afterPut()
	}
	return err
}

// TestFailedUpsertDeletesItsChunk: an upsert that fails after storing its
// chunk (here: its context is canceled right after the upload, so the
// transaction that would list the chunk does not commit) deletes the
// chunk, in one transaction and staged; the next upsert stores its rows
// from the same row on.
func TestFailedUpsertDeletesItsChunk(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		srv := blobtest.Start(t, "segments")
		b, err := blob.Open(srv.URL("data"), blob.Options{})
		if err != nil {
			t.Fatal(err)
		}
		hook := &hookBucket{Bucket: b}
		db.s3, db.bucket = true, hook
		s := db.open(t)
		_, c := setupCollection(t, s)
		for _, n := range []int{3, 2*stageDocuments + 3} {
			ctx, cancel := context.WithCancel(context.Background())
			puts := 0
			hook.afterPut = func() { puts++; cancel() }
			batch := docs(n, 4, 0)
			for i := range batch {
				batch[i].ID = fmt.Sprint("doc", i)
			}
			_, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: batch})
			cancel()
			hook.afterPut = nil
			if !errors.Is(err, context.Canceled) || puts != 1 {
				t.Fatalf("%d documents: %v after %d puts, want context.Canceled after 1", n, err, puts)
			}
			if names := db.segmentNames(t, s, c.ID); names != nil {
				t.Fatalf("%d documents: chunks left by the failed upsert: %v", n, names)
			}
		}
		ctx := context.Background()
		if _, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: docs(3, 4, 0)}); err != nil {
			t.Fatal(err)
		}
		names := db.segmentNames(t, s, c.ID)
		if len(names) != 1 || !strings.Contains(names[0], fmt.Sprintf("/%016d-", 0)) {
			t.Fatalf("chunks %v, want one from row 0", names)
		}
		f, _ := s.ResolveFeature(ctx, c.ID, "e")
		if v, err := s.LoadVectors(ctx, c.ID, f, nil); err != nil || v.N != 3 || v.X[11] != 11 {
			t.Fatalf("vectors: %v %v", v.X, err)
		}
	})
}
