package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestOneProcessPerDirectory(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		dir := t.TempDir()
		s, err := db.Open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		s1, err := db.Open(t, dir)
		switch {
		case db.d == dialectSQLite && !errors.Is(err, ErrLocked):
			t.Fatalf("second Open: %v", err)
		case db.d == dialectPostgres && err != nil:
			// Processes sharing a PostgreSQL database may share the
			// directory (see shared.go).
			t.Fatalf("second Open on PostgreSQL: %v", err)
		case s1 != nil:
			s1.Close()
		}
		s.Close()
		s2, err := db.Open(t, dir)
		if err != nil {
			t.Fatalf("Open after Close: %v", err)
		}
		s2.Close()
	})
}

func setupCollection(t testing.TB, s *Store) (Namespace, Collection) {
	t.Helper()
	ctx := context.Background()
	ns, err := s.ResolveNamespace(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateCollection(ctx, ns.ID, "c", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return ns, c
}

func docs(n, d int, offset float32) []DocumentInput {
	out := make([]DocumentInput, n)
	for i := range out {
		v := make([]float32, d)
		for t := range v {
			v[t] = float32(i*d+t) + offset
		}
		out[i] = DocumentInput{ID: "d" + string(rune('a'+i)), Features: map[string][]float32{"e": v}, Payload: json.RawMessage(`{"i":1}`)}
	}
	return out
}

// TestUpsertIsAllOrNothing: a batch with one bad document writes nothing,
// neither rows nor vector bytes, and later batches are unaffected.
func TestUpsertIsAllOrNothing(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		_, c := setupCollection(t, s)
		if _, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: docs(3, 4, 0)}); err != nil {
			t.Fatal(err)
		}
		before := db.segmentBytes(t, s, c.ID, "e")
		bad := docs(3, 4, 100)
		bad[2].Features["e"] = []float32{1, 2} // wrong dimension
		_, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: bad})
		var de *DocumentError
		if !errors.As(err, &de) || de.Index != 2 {
			t.Fatalf("bad batch: %v", err)
		}
		if after := db.segmentBytes(t, s, c.ID, "e"); after != before || before != 3*4*4 {
			t.Fatalf("segment grew from %d to %d bytes on a failed upsert", before, after)
		}
		f, _ := s.ResolveFeature(ctx, c.ID, "e")
		v, err := s.LoadVectors(ctx, c.ID, f, nil)
		if err != nil || v.N != 3 || v.X[0] != 0 || v.X[11] != 11 {
			t.Fatalf("vectors after the failed batch: %d rows %v %v", v.N, v.X, err)
		}
	})
}

// TestUpsertCounts: an upsert reports as inserted the documents whose id
// the collection did not have, and as updated every other document it
// wrote (an id sent twice in one upsert is inserted once, then updated),
// in one transaction and staged (more than stageDocuments), and the
// collection ends up with one document per distinct id.
func TestUpsertCounts(t *testing.T) {
	ids := func(prefix string, lo, hi int) []string {
		var out []string
		for i := lo; i < hi; i++ {
			out = append(out, fmt.Sprintf("%s%d", prefix, i))
		}
		return out
	}
	big := 2*stageDocuments + 7
	for _, c := range []struct {
		name    string
		upserts [][]string
		want    []UpsertStats // per upsert
		total   int           // documents at the end
	}{
		{"new, then some again with new ones", [][]string{ids("a", 0, 3), append(ids("a", 1, 3), "b")},
			[]UpsertStats{{3, 0}, {1, 2}}, 4},
		{"an id twice in one upsert", [][]string{{"a", "b", "a"}}, []UpsertStats{{2, 1}}, 2},
		{"staged, half of it existing", [][]string{ids("a", 0, big/2), ids("a", 0, big)},
			[]UpsertStats{{big / 2, 0}, {big - big/2, big / 2}}, big},
		{"staged, an id in two batches", [][]string{append(ids("a", 0, big), "a3")},
			[]UpsertStats{{big, 1}}, big},
		{"staged over a staged import, all of it again", [][]string{ids("a", 0, big), ids("a", 0, big)},
			[]UpsertStats{{big, 0}, {0, big}}, big},
	} {
		t.Run(c.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *testDB) {
				s := db.open(t)
				ctx := context.Background()
				_, col := setupCollection(t, s)
				for i, list := range c.upserts {
					in := make([]DocumentInput, len(list))
					for j, id := range list {
						in[j] = DocumentInput{ID: id, Features: map[string][]float32{"e": {float32(j), 1}}}
					}
					got, err := s.Upsert(ctx, col.ID, &SliceSource{Docs: in})
					if err != nil {
						t.Fatal(err)
					}
					if got != c.want[i] {
						t.Errorf("upsert %d: %+v, want %+v", i, got, c.want[i])
					}
				}
				page, err := s.ListDocuments(ctx, col.ID, Query{Limit: 1, IncludeTotal: true})
				if err != nil {
					t.Fatal(err)
				}
				if page.Total != c.total {
					t.Errorf("%d documents, want %d", page.Total, c.total)
				}
			})
		})
	}
}

// TestPartialRowIsCutOff: bytes a crash left at the end of a segment (a
// partial row) are never read and are cut off by the next upsert.
func TestPartialRowIsCutOff(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		_, c := setupCollection(t, s)
		s.Upsert(ctx, c.ID, &SliceSource{Docs: docs(2, 4, 0)})
		seg := filepath.Join(s.collectionDir(c.ID), featureFile("e"))
		f, _ := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
		f.Write([]byte{1, 2, 3, 4, 5, 6}) // an interrupted append
		f.Close()
		more := docs(1, 4, 50)
		more[0].ID = "z"
		if _, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: more}); err != nil {
			t.Fatal(err)
		}
		d, err := s.GetDocument(ctx, c.ID, "z")
		if err != nil || d.Features["e"][0] != 50 {
			t.Fatalf("document after the partial row: %+v %v", d, err)
		}
	})
}

// TestQueue covers the job lifecycle: claim, heartbeat, finish; a lapsed
// lease is claimed again by another owner and the first owner's writes are
// refused; orphans are recovered at once; requeue does not count an attempt.
func TestQueue(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, _ := setupCollection(t, s)
		s.CreateCluster(ctx, Cluster{ID: "clust_a", NamespaceID: ns.ID, Config: json.RawMessage(`{}`)})
		initial := func(runID, taskID string, at time.Time) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }
		r1, created, err := s.Enqueue(ctx, NewRun{NamespaceID: ns.ID, ClusterID: "clust_a", IdempotencyKey: "k", Initial: initial})
		if err != nil || !created {
			t.Fatal(err)
		}
		if again, created, _ := s.Enqueue(ctx, NewRun{NamespaceID: ns.ID, ClusterID: "clust_a", IdempotencyKey: "k", Initial: initial}); created || again.RunID != r1.RunID {
			t.Fatal("idempotency key made a second run")
		}
		if q, _, _ := s.QueueDepth(ctx); q != 1 {
			t.Fatalf("queue depth %d", q)
		}
		j, err := s.Claim(ctx, "a", time.Millisecond)
		if err != nil || j == nil || j.RunID != r1.RunID || j.Attempts != 1 {
			t.Fatalf("claim: %+v %v", j, err)
		}
		time.Sleep(5 * time.Millisecond) // a's lease lapses
		j2, err := s.Claim(ctx, "b", time.Minute)
		if err != nil || j2 == nil || j2.ID != j.ID || j2.Attempts != 2 {
			t.Fatalf("reclaim: %+v %v", j2, err)
		}
		if _, err := s.Heartbeat(ctx, j, "a", time.Minute); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("old owner's heartbeat: %v", err)
		}
		if err := s.FinishRun(ctx, j, "a", Outcome{Status: StatusCompleted, Result: json.RawMessage(`{}`)}); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("old owner's finish: %v", err)
		}
		if err := s.Requeue(ctx, j2, "b", json.RawMessage(`{}`)); err != nil {
			t.Fatal(err)
		}
		j3, _ := s.Claim(ctx, "c", time.Hour)
		if j3 == nil || j3.Attempts != 2 {
			t.Fatalf("after requeue: %+v", j3)
		}
		// The process dies: at the next start the job is claimable at once.
		if n, err := s.RecoverOrphans(ctx); err != nil || n != 1 {
			t.Fatalf("recover: %d %v", n, err)
		}
		j4, _ := s.Claim(ctx, "d", time.Hour)
		if j4 == nil || j4.ID != j.ID {
			t.Fatalf("claim after recovery: %+v", j4)
		}
		if err := s.FinishRun(ctx, j4, "d", Outcome{Status: StatusCompleted, Result: json.RawMessage(`{"status":"completed"}`), NumPoints: 7}); err != nil {
			t.Fatal(err)
		}
		if j5, _ := s.Claim(ctx, "e", time.Hour); j5 != nil {
			t.Fatalf("a finished job was claimed: %+v", j5)
		}
		r, _ := s.RunByID(ctx, r1.RunID)
		if r.Status != StatusCompleted || r.CompletedAt == nil {
			t.Fatalf("run %+v", r)
		}
	})
}

// TestLatestResultCache: the cached latest execution follows every write.
func TestLatestResultCache(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, _ := setupCollection(t, s)
		s.CreateCluster(ctx, Cluster{ID: "clust_a", Name: "a", NamespaceID: ns.ID, Config: json.RawMessage(`{}`)})
		if res, err := s.LatestResult(ctx, ns.ID, "a"); err != nil || res != nil {
			t.Fatalf("before any run: %s %v", res, err)
		}
		n := 0
		initial := func(runID, taskID string, at time.Time) (json.RawMessage, error) {
			n++
			return json.RawMessage(`{"n":` + string(rune('0'+n)) + `}`), nil
		}
		for want := 1; want <= 3; want++ {
			s.Enqueue(ctx, NewRun{NamespaceID: ns.ID, ClusterID: "clust_a", Initial: initial})
			for _, ref := range []string{"a", "clust_a"} {
				res, err := s.LatestResult(ctx, ns.ID, ref)
				if err != nil || string(res) != `{"n":`+string(rune('0'+want))+`}` {
					t.Fatalf("after run %d by %s: %s %v", want, ref, res, err)
				}
			}
		}
		// Progress of the oldest run is a write too; the latest is still run 3.
		j, _ := s.Claim(ctx, "w", time.Hour)
		s.StartRun(ctx, j, "w", json.RawMessage(`{"n":1}`))
		s.SetProgress(ctx, j, "w", 0.5, json.RawMessage(`{"p":0.5}`))
		if res, _ := s.LatestResult(ctx, ns.ID, "a"); string(res) != `{"n":3}` {
			t.Fatalf("after progress on another run: %s", res)
		}
		if _, err := s.LatestResult(ctx, "other", "a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other namespace: %v", err)
		}
	})
}

// TestCollectionIDsSortByCreation: the ids of collections, created by a
// user or as a cluster's output, sort in the order the store's clock made
// them (ids.NewAt), on both dialects: a new collection's documents then
// append to the shared tables' keys rather than land among another
// collection's.
func TestCollectionIDsSortByCreation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		clock := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
		s.now = func() time.Time { return clock }
		ns, err := s.ResolveNamespace(ctx, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCluster(ctx, Cluster{ID: "clust_a", NamespaceID: ns.ID, Name: "topics", Config: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
		var made []string
		for i := range 6 {
			clock = clock.Add(time.Millisecond)
			var c Collection
			if i%3 == 2 {
				c, err = s.WriteClusterOutput(ctx, OutputWrite{NamespaceID: ns.ID, ClusterID: "clust_a", Key: strconv.Itoa(i), Name: "topics_clusters"})
			} else {
				c, err = s.CreateCollection(ctx, ns.ID, "c"+strconv.Itoa(i), "", nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			made = append(made, c.ID)
		}
		if !slices.IsSorted(made) {
			t.Fatalf("collection ids in the order they were made: %v; want them sorted", made)
		}
	})
}

// TestUpsertWritesEachRowItsOwn: the rows of every document and vector
// land as sent, whichever statement writes them (ids as a JSON array, or
// VALUES lists when a document carries a payload): ids with the bytes
// JSON escapes and with multi-byte characters, two features where only
// some documents have the second (so each feature's rows interleave with
// the other's), in one transaction and staged, then again with new vectors
// (and payloads) for every document. Each document must read back its own
// vectors and payload, and the feature's loaded rows their own ids.
func TestUpsertWritesEachRowItsOwn(t *testing.T) {
	specials := []string{`quote"d`, `back\slash`, `\"both\\`, "ünïcödé", "emoji 😀", "[not, json]", "'single'", "tab-free spaces "}
	for _, c := range []struct {
		name     string
		n        int
		payloads bool
	}{
		{"one transaction, no payloads", 50, false},
		{"one transaction, payloads", 50, true},
		{"staged, no payloads", 3*stageDocuments + 11, false},
		{"staged, payloads", 3*stageDocuments + 11, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *testDB) {
				s := db.open(t)
				ctx := context.Background()
				_, col := setupCollection(t, s)
				documents := func(version float32) []DocumentInput {
					in := make([]DocumentInput, c.n)
					for i := range in {
						id := fmt.Sprintf("d%d", i)
						if i < len(specials) {
							id = specials[i]
						}
						in[i] = DocumentInput{ID: id, Features: map[string][]float32{"a": {float32(i), version}}}
						if i%3 == 1 {
							in[i].Features["b"] = []float32{version, float32(i), -1}
						}
						if c.payloads && i%2 == 0 {
							in[i].Payload = json.RawMessage(fmt.Sprintf(`{"i":%d,"v":%g}`, i, version))
						}
					}
					return in
				}
				for _, version := range []float32{1, 2} {
					in := documents(version)
					st, err := s.Upsert(ctx, col.ID, &SliceSource{Docs: in})
					if err != nil {
						t.Fatal(err)
					}
					if version == 1 && st != (UpsertStats{Inserted: c.n}) || version == 2 && st != (UpsertStats{Updated: c.n}) {
						t.Fatalf("version %g: %+v", version, st)
					}
					for _, want := range in {
						got, err := s.GetDocument(ctx, col.ID, want.ID)
						if err != nil {
							t.Fatalf("version %g, %q: %v", version, want.ID, err)
						}
						if len(got.Features) != len(want.Features) {
							t.Fatalf("version %g, %q: features %v, want %v", version, want.ID, got.Features, want.Features)
						}
						for name, v := range want.Features {
							if !slices.Equal(got.Features[name], v) {
								t.Fatalf("version %g, %q, feature %s: %v, want %v", version, want.ID, name, got.Features[name], v)
							}
						}
						if string(got.Payload) != string(want.Payload) && !(want.Payload == nil && string(got.Payload) == "null") {
							t.Fatalf("version %g, %q: payload %s, want %s", version, want.ID, got.Payload, want.Payload)
						}
					}
					f, err := s.ResolveFeature(ctx, col.ID, "b")
					if err != nil {
						t.Fatal(err)
					}
					vs, err := s.LoadVectors(ctx, col.ID, f, nil)
					if err != nil {
						t.Fatal(err)
					}
					if vs.N != (c.n+1)/3 {
						t.Fatalf("version %g: %d vectors of b, want %d", version, vs.N, (c.n+1)/3)
					}
					for r, id := range vs.IDs {
						i := slices.IndexFunc(in, func(d DocumentInput) bool { return d.ID == id })
						if i < 0 || !slices.Equal(vs.X[r*vs.D:(r+1)*vs.D], in[i].Features["b"]) {
							t.Fatalf("version %g: row %d of b is %q with %v", version, r, id, vs.X[r*vs.D:(r+1)*vs.D])
						}
					}
				}
			})
		})
	}
}

// TestCheckpointerCopiesCommits (SQLite): the pages of a commit reach the
// database file soon after it, on the checkpointer's connection, long
// before the log holds the checkpointPages at which the writer would copy
// them itself. (With SQLite's default of 1,000 pages, the writer's, a
// write of a few hundred pages stays in the log.)
func TestCheckpointerCopiesCommits(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	_, col := setupCollection(t, s)
	db := filepath.Join(dir, "clusterd.db")
	size := func(name string) int64 {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	deadline := time.Now().Add(10 * time.Second)
	for size(db+"-wal") > 0 && size(db) == 0 { // the migrations, copied
		if time.Now().After(deadline) {
			t.Fatal("the migrations' pages never reached the database file")
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := size(db)
	in := make([]DocumentInput, 3000)
	for i := range in {
		in[i] = DocumentInput{ID: "c" + strconv.Itoa(i), Features: map[string][]float32{"e": {float32(i), 1, 2, 3}}}
	}
	if _, err := s.Upsert(ctx, col.ID, &SliceSource{Docs: in}); err != nil {
		t.Fatal(err)
	}
	wal := size(db + "-wal")
	if pages := wal / 4096; pages < 100 || pages >= checkpointPages {
		t.Fatalf("the upsert left %d pages in the log: want a few hundred", pages)
	}
	for size(db) == before {
		if time.Now().After(deadline) {
			t.Fatalf("the database file stayed at %d bytes with %d bytes in the log", before, wal)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
