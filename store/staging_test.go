package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gatedSource yields n documents of dimension d (ids "g0", "g1", …, each
// with payload {"v": version, "t": "v<version>"}); after gateAt of them it
// waits for gate to be closed, and it fails with failErr at failAt (when
// set).
type gatedSource struct {
	n, d, i   int
	version   int
	gateAt    int
	gate      chan struct{}
	reached   chan struct{}
	failAt    int
	failErr   error
	newFeat   string // a feature only this source has, on every document
	idsOffset int
}

func (g *gatedSource) Next() (DocumentInput, error) {
	if g.i == g.gateAt && g.gate != nil {
		close(g.reached)
		<-g.gate
	}
	if g.failErr != nil && g.i == g.failAt {
		return DocumentInput{}, g.failErr
	}
	if g.i == g.n {
		return DocumentInput{}, io.EOF
	}
	v := make([]float32, g.d)
	for t := range v {
		v[t] = float32(g.version*1000 + g.i)
	}
	// "e" is the collection's inline feature (the first by name), "x" has
	// rows of its own in vectors: each import exercises both.
	doc := DocumentInput{ID: fmt.Sprintf("g%d", g.i+g.idsOffset), Features: map[string][]float32{"e": v, "x": v[:2]},
		Payload: json.RawMessage(fmt.Sprintf(`{"v":%d,"t":"v%d"}`, g.version, g.version))}
	if g.newFeat != "" {
		doc.Features[g.newFeat] = []float32{1, 2}
	}
	g.i++
	return doc, nil
}

// visible is what readers see of the collection.
type visible struct {
	count    int64
	features map[string]int64
	payload  string // of document g1
	vector   float32
	loaded   int
	text     string // of document g1 at payload path "t" (PayloadTexts)
	texts    int    // documents with a text there
}

func look(t *testing.T, s *Store, ns, col string) visible {
	t.Helper()
	ctx := context.Background()
	c, err := s.GetCollection(ctx, ns, col)
	if err != nil {
		t.Fatal(err)
	}
	v := visible{count: c.DocumentCount, features: map[string]int64{}}
	for _, f := range c.Features {
		v.features[f.Name] = f.Count
	}
	// FindCollection: the same collection and features, nothing counted.
	fc, err := s.FindCollection(ctx, ns, col)
	if err != nil {
		t.Fatal(err)
	}
	if fc.ID != c.ID || fc.Name != c.Name || fc.DocumentCount != 0 || len(fc.Features) != len(c.Features) {
		t.Fatalf("FindCollection: %+v, GetCollection: %+v", fc, c)
	}
	for i, f := range fc.Features {
		if f.Name != c.Features[i].Name || f.Dim != c.Features[i].Dim || f.Count != 0 {
			t.Fatalf("FindCollection's feature %+v, GetCollection's %+v", f, c.Features[i])
		}
	}
	if d, err := s.GetDocument(ctx, col, "g1"); err == nil {
		v.payload, v.vector = string(d.Payload), d.Features["e"][0]
	} else if !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if f, err := s.ResolveFeature(ctx, col, "e"); err == nil {
		vs, err := s.LoadVectors(ctx, col, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		v.loaded = vs.N
	}
	texts, err := s.PayloadTexts(ctx, col, []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	v.text, v.texts = texts["g1"], len(texts)
	return v
}

// TestStagedImportIsAllOrNothing: an upsert of many batches, held midway,
// shows readers nothing of itself (new documents, replaced payloads and
// vectors, a new feature) while other writes go through, and all of
// itself once it returns. On the old code the concurrent write waited for
// the whole import.
func TestStagedImportIsAllOrNothing(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, c := setupCollection(t, s)
		n := 5000 // several batches
		if _, err := s.Upsert(ctx, c.ID, &gatedSource{n: n, d: 4, version: 1}); err != nil {
			t.Fatal(err)
		}
		before := look(t, s, ns.ID, c.ID)
		if before.count != int64(n) || before.payload != `{"v":1,"t":"v1"}` || before.vector != 1001 || before.loaded != n || before.text != "v1" || before.texts != n {
			t.Fatalf("after the first import: %+v", before)
		}
		// The second import updates every document and adds as many again.
		src := &gatedSource{n: 2 * n, d: 4, version: 2, gateAt: 6000, gate: make(chan struct{}), reached: make(chan struct{}), newFeat: "extra"}
		done := make(chan error, 1)
		go func() { _, err := s.Upsert(ctx, c.ID, src); done <- err }()
		<-src.reached
		if got := look(t, s, ns.ID, c.ID); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Fatalf("readers see a staged import:\nbefore %+v\nduring %+v", before, got)
		}
		created := make(chan error, 1)
		go func() { _, err := s.CreateCollection(ctx, ns.ID, "other", "", nil); created <- err }()
		select {
		case err := <-created:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a collection create waited for the import")
		}
		close(src.gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		after := look(t, s, ns.ID, c.ID)
		if after.count != int64(2*n) || after.payload != `{"v":2,"t":"v2"}` || after.vector != 2001 || after.loaded != 2*n || after.features["extra"] != int64(2*n) || after.text != "v2" || after.texts != 2*n {
			t.Fatalf("after the second import: %+v", after)
		}
		s.fold.wg.Wait() // the fold runs after the import answers (foldLater)
		if next := unfolded(t, s); next != 0 {
			t.Errorf("%d replacements left unfolded", next)
		}
	})
}

// holdFolds waits for s's background fold, if one runs, and makes every
// later one wait until s closes, so that it never runs.
func holdFolds(s *Store) {
	s.fold.wg.Wait()
	s.foldHook = func(ctx context.Context) { <-ctx.Done() }
}

// unfolded counts the document and vector rows with a replacement.
func unfolded(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(`SELECT (SELECT COUNT(*) FROM main.documents WHERE next_gen IS NOT NULL) + (SELECT COUNT(*) FROM main.vectors WHERE next_gen IS NOT NULL)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFoldAfterTheAnswer: a staged import that replaces documents answers
// before its replacements are folded into their rows, and readers see
// them all the same; a store closed before the fold ran leaves it to the
// next Open, which folds them with nothing readers see changed; an upsert
// into the same collection that comes while a fold is pending folds
// first, so the pending replacements are kept under its own, and one into
// another collection leaves them alone.
func TestFoldAfterTheAnswer(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s, restart := db.restartable(t)
		ctx := context.Background()
		ns, c := setupCollection(t, s)
		n := 2*stageDocuments + 3 // staged
		if _, err := s.Upsert(ctx, c.ID, &gatedSource{n: n, d: 4, version: 1}); err != nil {
			t.Fatal(err)
		}
		holdFolds(s)
		if _, err := s.Upsert(ctx, c.ID, &gatedSource{n: n, d: 4, version: 2}); err != nil {
			t.Fatal(err)
		}
		if k := unfolded(t, s); k != 2*n {
			t.Fatalf("%d rows with a replacement after the second import answered, want %d (its documents and vectors)", k, 2*n)
		}
		v2 := look(t, s, ns.ID, c.ID)
		if v2.count != int64(n) || v2.payload != `{"v":2,"t":"v2"}` || v2.vector != 2001 || v2.loaded != n || v2.text != "v2" {
			t.Fatalf("readers before the fold: %+v", v2)
		}
		s = restart()
		if k := unfolded(t, s); k != 0 {
			t.Fatalf("%d replacements left unfolded after Open", k)
		}
		if got := look(t, s, ns.ID, c.ID); fmt.Sprint(got) != fmt.Sprint(v2) {
			t.Fatalf("the fold changed what readers see:\nbefore %+v\nafter  %+v", v2, got)
		}
		// A fold pending (held) when the next import comes, and that
		// import fails after staging replacements of the same documents:
		// it folded first, so the pending replacements are kept.
		holdFolds(s)
		if _, err := s.Upsert(ctx, c.ID, &gatedSource{n: n, d: 4, version: 3}); err != nil {
			t.Fatal(err)
		}
		// Another collection's write does not fold them (nor wait for it).
		other, err := s.CreateCollection(ctx, ns.ID, "other", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Upsert(ctx, other.ID, &SliceSource{Docs: docs(3, 4, 0)}); err != nil {
			t.Fatal(err)
		}
		if k := unfolded(t, s); k != 2*n {
			t.Fatalf("%d rows with a replacement after another collection's write, want %d", k, 2*n)
		}
		boom := errors.New("boom")
		if _, err := s.Upsert(ctx, c.ID, &gatedSource{n: n, d: 4, version: 4, failAt: n - 1, failErr: boom}); !errors.Is(err, boom) {
			t.Fatalf("error %v", err)
		}
		got := look(t, s, ns.ID, c.ID)
		if got.count != int64(n) || got.payload != `{"v":3,"t":"v3"}` || got.vector != 3001 || got.loaded != n || got.text != "v3" {
			t.Fatalf("after an import that failed with a fold pending: %+v", got)
		}
	})
}

// TestFailedStagedImportLeavesNothing: an import that fails after several
// batches removes its rows, replacements, new feature and segment bytes.
func TestFailedStagedImportLeavesNothing(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, c := setupCollection(t, s)
		n := 2*stageDocuments + 3
		if _, err := s.Upsert(ctx, c.ID, &gatedSource{n: n, d: 4, version: 1}); err != nil {
			t.Fatal(err)
		}
		before := look(t, s, ns.ID, c.ID)
		st0 := db.segmentBytes(t, s, c.ID, "e")
		boom := errors.New("boom")
		_, err := s.Upsert(ctx, c.ID, &gatedSource{n: 3 * n, d: 4, version: 2, failAt: 2*n + 1, failErr: boom, newFeat: "extra"})
		if !errors.Is(err, boom) {
			t.Fatalf("error %v", err)
		}
		if got := look(t, s, ns.ID, c.ID); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Fatalf("a failed import changed what readers see:\nbefore %+v\nafter  %+v", before, got)
		}
		if st1 := db.segmentBytes(t, s, c.ID, "e"); st1 != st0 || st0 != int64(n*4*4) {
			t.Errorf("segment %d bytes after a failed import, %d before", st1, st0)
		}
		if extra := db.segmentBytes(t, s, c.ID, "extra"); extra != 0 {
			t.Errorf("the failed import's new feature left %d bytes", extra)
		}
		for _, q := range []string{`SELECT COUNT(*) FROM main.documents WHERE gen != 0 AND gen NOT IN (SELECT MIN(gen) FROM main.documents WHERE gen != 0)`,
			`SELECT COUNT(*) FROM main.documents WHERE next_gen IS NOT NULL`, `SELECT COUNT(*) FROM main.vectors WHERE next_gen IS NOT NULL`,
			`SELECT COUNT(*) FROM main.features WHERE name = 'extra'`, `SELECT COUNT(*) FROM imports`,
			`SELECT COUNT(*) FROM main.documents`, `SELECT COUNT(*) FROM main.vectors`} {
			var k int
			s.r.QueryRow(q).Scan(&k)
			if want := 0; strings.HasSuffix(q, "main.documents") || strings.HasSuffix(q, "main.vectors") { // one vector ("e") per document
				if k != n {
					t.Errorf("%s: %d, want %d", q, k, n)
				}
			} else if k != want {
				t.Errorf("%s: %d, want %d", q, k, want)
			}
		}
	})
}

// TestOpenRemovesAKilledImport: what an import left when its process died
// (its imports row, staged rows and replacements, segment bytes past the
// committed rows, a spooled upload) is gone after the next Open, and the
// collection reads as before.
func TestOpenRemovesAKilledImport(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		dir := t.TempDir()
		s, err := db.Open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ns, c := setupCollection(t, s)
		n := stageDocuments + 1
		const d = 256 // four batches of vectors fill the segment's write buffer
		if _, err := s.Upsert(ctx, c.ID, &gatedSource{n: n, d: d, version: 1}); err != nil {
			t.Fatal(err)
		}
		before := look(t, s, ns.ID, c.ID)
		st0 := db.segmentBytes(t, s, c.ID, "e")
		// The process "dies" with an import held after four batches: the store
		// is closed under it, so nothing of its cleanup can run.
		src := &gatedSource{n: 4 * n, d: d, version: 2, gateAt: 4*stageDocuments + 1, gate: make(chan struct{}), reached: make(chan struct{}), newFeat: "extra"}
		done := make(chan error, 1)
		go func() { _, err := s.Upsert(ctx, c.ID, src); done <- err }()
		<-src.reached
		os.WriteFile(filepath.Join(s.TempDir(), "import-123"), []byte("spooled"), 0o644)
		s.Close()
		if db.bucket == nil {
			if st1 := db.segmentBytes(t, s, c.ID, "e"); st1 <= st0 {
				t.Fatalf("the held import wrote no vectors (%d bytes)", st1)
			}
		} else {
			// With a bucket the import's rows are in a temporary file until
			// its end; a chunk stored but never committed is what a kill
			// between the upload and the commit leaves.
			orphan := collectionPrefix(c.ID) + strings.TrimSuffix(featureFile("e"), ".f32") + "/" + fmt.Sprintf("%016d-killed.f32", n)
			if err := db.bucket.Put(ctx, orphan, bytes.NewReader(make([]byte, 4*d)), 4*d); err != nil {
				t.Fatal(err)
			}
			grace := segmentSweepGrace
			segmentSweepGrace = 0
			defer func() { segmentSweepGrace = grace }()
		}

		s2, err := db.Open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if got := look(t, s2, ns.ID, c.ID); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Fatalf("after the restart:\nbefore %+v\nafter  %+v", before, got)
		}
		if st2 := db.segmentBytes(t, s2, c.ID, "e"); st2 != st0 {
			t.Errorf("segment %d bytes after the restart, %d before the killed import", st2, st0)
		}
		file, live, err := s2.SegmentUsage(ctx)
		if err != nil || file != live || live != int64(n*(d+2)*4) { // "e" and "x"
			t.Errorf("segment usage %d file, %d live, %v; want %d", file, live, err, n*(d+2)*4)
		}
		if entries, _ := os.ReadDir(s2.TempDir()); len(entries) != 0 {
			t.Errorf("tmp/ after the restart: %v", entries)
		}
		var k int
		s2.r.QueryRow(`SELECT (SELECT COUNT(*) FROM imports) + (SELECT COUNT(*) FROM main.documents WHERE gen != (SELECT MIN(gen) FROM main.documents))
		+ (SELECT COUNT(*) FROM main.features WHERE name = 'extra') + (SELECT COUNT(*) FROM main.documents WHERE next_gen IS NOT NULL)`).Scan(&k)
		if k != 0 {
			t.Errorf("%d staged rows survived the restart", k)
		}
		if s2.r.QueryRow(`SELECT COUNT(*) FROM main.vectors`).Scan(&k); k != n {
			t.Errorf("%d vectors rows after the restart, want %d (one per document)", k, n)
		}
		close(src.gate)
		<-done
	})
}

// TestStagedBatchesAdapt: a staged import's batches double from
// stageDocuments to stageMaxDocuments while no other write waits for the
// writer, and are stageDocuments again after a batch during which one
// waited, one batch later (the batch being read was sized before).
func TestStagedBatchesAdapt(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, c := setupCollection(t, s)
		var sizes []int
		created := make(chan error, 1)
		s.stagedBatchHook = func(docs int) {
			sizes = append(sizes, docs)
			if len(sizes) != 5 {
				return
			}
			// A collection create waits for the writer this batch holds.
			waits := s.w.Stats().WaitCount
			go func() { _, err := s.CreateCollection(ctx, ns.ID, "competing", "", nil); created <- err }()
			for s.w.Stats().WaitCount == waits {
				time.Sleep(time.Millisecond)
			}
		}
		const n = 20000
		st, err := s.Upsert(ctx, c.ID, &gatedSource{n: n, d: 4, version: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-created; err != nil {
			t.Fatal(err)
		}
		want := []int{stageDocuments, stageDocuments, 2 * stageDocuments, 4 * stageDocuments, 8 * stageDocuments, stageMaxDocuments, stageDocuments}
		total := 0
		for i, got := range sizes {
			total += got
			if i < len(want) && got != want[i] || got > stageMaxDocuments {
				t.Errorf("batch sizes %v, want %v first, none over %d", sizes, want, stageMaxDocuments)
				break
			}
		}
		if len(sizes) <= len(want) || total != n || st.Inserted != n {
			t.Errorf("batch sizes %v (%d documents), %d inserted; want more than %d batches, %d documents", sizes, total, st.Inserted, len(want), n)
		}
		if got := look(t, s, ns.ID, c.ID); got.count != n {
			t.Errorf("readers see %d documents, want %d", got.count, n)
		}
	})
}

// holdWriter takes the writer connection until the returned func is called.
func holdWriter(t *testing.T, s *Store) func() {
	t.Helper()
	c, err := s.w.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return func() { c.Close() }
}

// TestWritesWaitBoundedly: a write that cannot get the writer within the
// store's wait fails with context.DeadlineExceeded instead of queueing.
func TestWritesWaitBoundedly(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ns, _ := setupCollection(t, s)
		s.writeWait = 50 * time.Millisecond
		release := holdWriter(t, s)
		_, err := s.CreateCollection(context.Background(), ns.ID, "late", "", nil)
		release()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("write while the writer is held: %v", err)
		}
		if _, err := s.CreateCollection(context.Background(), ns.ID, "late", "", nil); err != nil {
			t.Fatalf("write after: %v", err)
		}
	})
}

// TestLeaseSurvivesASlowWriter: while the writer is held past the lease,
// the worker's heartbeat still renews the lease (in memory), and another
// worker cannot take the job although lease_until has passed in the
// database; once heartbeats stop, the job is taken. The store's clock is
// the test's.
func TestLeaseSurvivesASlowWriter(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, _ := setupCollection(t, s)
		s.CreateCluster(ctx, Cluster{ID: "clust_a", NamespaceID: ns.ID, Config: json.RawMessage(`{}`)})
		initial := func(runID, taskID string, at time.Time) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }
		if _, _, err := s.Enqueue(ctx, NewRun{NamespaceID: ns.ID, ClusterID: "clust_a", Initial: initial}); err != nil {
			t.Fatal(err)
		}
		clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		s.now = func() time.Time { return clock }
		const lease = 100 * time.Millisecond
		j, err := s.Claim(ctx, "a", lease)
		if err != nil || j == nil {
			t.Fatal(j, err)
		}
		s.writeWait = 20 * time.Millisecond
		release := holdWriter(t, s)
		clock = clock.Add(60 * time.Millisecond)
		if _, err := s.Heartbeat(ctx, j, "a", lease); err != nil {
			t.Fatalf("heartbeat with the writer busy: %v", err)
		}
		clock = clock.Add(60 * time.Millisecond) // past the lease the database holds
		release()
		var until int64
		s.r.QueryRow(`SELECT lease_until FROM jobs WHERE id = ?`, j.ID).Scan(&until)
		if !fromMicros(until).Before(clock) {
			t.Fatal("the heartbeat reached the database: the test did not hold the writer")
		}
		if j2, err := s.Claim(ctx, "b", time.Minute); err != nil || j2 != nil {
			t.Fatalf("another worker took a job whose worker kept heartbeating: %+v %v", j2, err)
		}
		if _, err := s.Heartbeat(ctx, j, "a", lease); err != nil {
			t.Fatalf("heartbeat once the writer is free: %v", err)
		}
		clock = clock.Add(3 * lease) // the worker stops heartbeating
		if j2, err := s.Claim(ctx, "b", time.Minute); err != nil || j2 == nil || j2.ID != j.ID {
			t.Fatalf("claim after the lease lapsed: %+v %v", j2, err)
		}
		if _, err := s.Heartbeat(ctx, j, "a", lease); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("old owner's heartbeat: %v", err)
		}
	})
}

// TestDeleteDuringImport: deleting a collection while a staged import
// writes to it answers at once; the import then fails, and neither its
// rows nor the collection's segment files are left.
func TestDeleteDuringImport(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, c := setupCollection(t, s)
		src := &gatedSource{n: 10 * stageDocuments, d: 4, version: 1, gateAt: 2*stageDocuments + 1, gate: make(chan struct{}), reached: make(chan struct{})}
		done := make(chan error, 1)
		go func() { _, err := s.Upsert(ctx, c.ID, src); done <- err }()
		<-src.reached
		deleted := make(chan error, 1)
		go func() { deleted <- s.DeleteCollection(ctx, ns.ID, c.ID) }()
		select {
		case err := <-deleted:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the delete waited for the import")
		}
		close(src.gate)
		if err := <-done; !errors.Is(err, ErrNotFound) {
			t.Fatalf("import into a deleted collection: %v", err)
		}
		var k int
		s.r.QueryRow(`SELECT (SELECT COUNT(*) FROM main.documents) + (SELECT COUNT(*) FROM main.vectors) + (SELECT COUNT(*) FROM main.features) + (SELECT COUNT(*) FROM imports)`).Scan(&k)
		if k != 0 {
			t.Errorf("%d rows left", k)
		}
		if names := db.segmentNames(t, s, c.ID); names != nil {
			t.Errorf("segments after the delete: %v", names)
		}
	})
}

// TestUnfoldedReplacementIsKept: a committed replacement whose fold did not
// happen (the process died first) is what readers see, and the next upsert
// and payload patch build on it rather than on the row it replaced.
func TestUnfoldedReplacementIsKept(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, c := setupCollection(t, s)
		if _, err := s.Upsert(ctx, c.ID, &gatedSource{n: 3, d: 4, version: 1}); err != nil {
			t.Fatal(err)
		}
		// Generation 999 is not pending: a committed, unfolded replacement.
		if _, err := s.exec(ctx, `UPDATE documents SET next_gen = 999, next_payload = '{"v":9}', next_updated_at = updated_at WHERE document_id = 'g1'`); err != nil {
			t.Fatal(err)
		}
		if got := look(t, s, ns.ID, c.ID); got.payload != `{"v":9}` || got.text != "" || got.texts != 2 {
			t.Fatalf("readers see %+v, want the replacement (no text)", got)
		}
		// A vector-only upsert keeps the visible payload.
		if _, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: []DocumentInput{{ID: "g1", Features: map[string][]float32{"e": {7, 7, 7, 7}}}}}); err != nil {
			t.Fatal(err)
		}
		if got := look(t, s, ns.ID, c.ID); got.payload != `{"v":9}` || got.vector != 7 {
			t.Fatalf("after an upsert: %+v", got)
		}
		if _, err := s.exec(ctx, `UPDATE documents SET next_gen = 998, next_payload = '{"v":8}', next_updated_at = updated_at WHERE document_id = 'g1'`); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.PatchPayloads(ctx, c.ID, []PayloadPatch{{DocumentID: "g1", Patch: json.RawMessage(`{"p":1}`)}}); err != nil {
			t.Fatal(err)
		}
		if got := look(t, s, ns.ID, c.ID); got.payload != `{"v":8,"p":1}` {
			t.Fatalf("after a patch: %q", got.payload)
		}
	})
}

// TestRemovedImportWritesNothingMore: an import removed while it runs (as
// Open removes the import of a process it believes dead, or a cleanup
// racing a batch already on its way) writes no batch and commits nothing
// after the removal: the import fails, and readers see the collection as
// before it. Without the removal's mark, the batches after the removal
// landed with no imports row to hide them: visible, half an import.
func TestRemovedImportWritesNothingMore(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s, err := db.Open(t, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		ns, c := setupCollection(t, s)
		n := stageDocuments + 1
		if _, err := s.Upsert(ctx, c.ID, &gatedSource{n: n, d: 4, version: 1}); err != nil {
			t.Fatal(err)
		}
		before := look(t, s, ns.ID, c.ID)
		// Held after two batches (the second may still be on its way).
		src := &gatedSource{n: 4 * n, d: 4, version: 2, gateAt: 2*stageDocuments + 1, gate: make(chan struct{}), reached: make(chan struct{})}
		done := make(chan error, 1)
		go func() { _, err := s.Upsert(ctx, c.ID, src); done <- err }()
		<-src.reached
		var gen int64
		if err := s.r.QueryRow(`SELECT gen FROM imports WHERE collection_id = ?`, c.ID).Scan(&gen); err != nil {
			t.Fatal(err)
		}
		if err := s.abortImport(ctx, gen, c.ID); err != nil {
			t.Fatal(err)
		}
		close(src.gate)
		if err := <-done; !errors.Is(err, errImportRemoved) {
			t.Fatalf("the removed import ended with %v, want %v", err, errImportRemoved)
		}
		if got := look(t, s, ns.ID, c.ID); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Fatalf("after the removed import:\nbefore %+v\nafter  %+v", before, got)
		}
		var k int
		s.r.QueryRow(`SELECT (SELECT COUNT(*) FROM imports) + (SELECT COUNT(*) FROM main.documents WHERE gen = ?) + (SELECT COUNT(*) FROM main.vectors WHERE gen = ?)`, gen, gen).Scan(&k)
		if k != 0 {
			t.Errorf("%d rows of the removed import are left", k)
		}
	})
}

// TestOutputWriteFoldsFirst: a cluster's output collection that an import
// replaced documents of, its fold still pending, is written over with the
// run's documents as they are given: the write folds the collection first
// (else the pending replacements would hide its payloads, then overwrite
// them when folded).
func TestOutputWriteFoldsFirst(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s, restart := db.restartable(t)
		ctx := context.Background()
		ns, _ := setupCollection(t, s)
		if _, err := s.CreateCluster(ctx, Cluster{ID: "clust_f", NamespaceID: ns.ID, Name: "f", Config: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
		n := 2*stageDocuments + 3
		write := func(label string) Collection {
			docs := make([]DocumentInput, n)
			for i := range docs {
				docs[i] = DocumentInput{ID: fmt.Sprintf("g%d", i), Features: map[string][]float32{"emb": {float32(i), 1}},
					Payload: json.RawMessage(`{"label":"` + label + `"}`)}
			}
			out, err := s.WriteClusterOutput(ctx, OutputWrite{NamespaceID: ns.ID, ClusterID: "clust_f", Name: "f_clusters", Documents: docs})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		out := write("first")
		holdFolds(s)
		if _, err := s.Upsert(ctx, out.ID, &gatedSource{n: n, d: 4, version: 2}); err != nil {
			t.Fatal(err)
		}
		if k := unfolded(t, s); k != n { // the documents (the vectors are of a new feature)
			t.Fatalf("%d rows with a replacement, want %d", k, n)
		}
		write("second")
		check := func(when string) {
			d, err := s.GetDocument(ctx, out.ID, "g1")
			if err != nil || string(d.Payload) != `{"label":"second"}` || d.Features["emb"][0] != 1 {
				t.Fatalf("%s: %s %v %v", when, d.Payload, d.Features, err)
			}
		}
		check("after the output write")
		s = restart()
		check("after Open")
	})
}

// TestConcurrentFoldsOnPostgreSQL: two processes (stores on one database)
// folding the same committed replacements at once both succeed, and every
// row ends folded as readers saw it: a row the other fold changed while
// this one waited for its lock is left alone (on the old code the second
// update wrote the emptied next_* columns into the row: a NOT NULL
// violation).
func TestConcurrentFoldsOnPostgreSQL(t *testing.T) {
	db := &testDB{d: dialectPostgres}
	dir := t.TempDir() // shared, as processes on one database share it (or a bucket)
	var a, b *Store
	for _, s := range []**Store{&a, &b} {
		var err error
		if *s, err = db.Open(t, dir); err != nil {
			t.Fatal(err)
		}
		defer (*s).Close()
	}
	ctx := context.Background()
	ns, c := setupCollection(t, a)
	const n = 12000
	if _, err := a.Upsert(ctx, c.ID, &gatedSource{n: n, d: 4, version: 1}); err != nil {
		t.Fatal(err)
	}
	holdFolds(a)
	if _, err := a.Upsert(ctx, c.ID, &gatedSource{n: n, d: 4, version: 2}); err != nil {
		t.Fatal(err)
	}
	before := look(t, a, ns.ID, c.ID)
	if k := unfolded(t, a); k != 2*n {
		t.Fatalf("%d rows with a replacement, want %d", k, 2*n)
	}
	errs := make(chan error, 2)
	for _, s := range []*Store{a, b} {
		go func() { errs <- s.foldCommitted(ctx, c.ID) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a fold beside another: %v", err)
		}
	}
	if k := unfolded(t, a); k != 0 {
		t.Fatalf("%d replacements left unfolded", k)
	}
	if got := look(t, b, ns.ID, c.ID); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("the folds changed what readers see:\nbefore %+v\nafter  %+v", before, got)
	}
}
