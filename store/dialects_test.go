package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/blob"
	"github.com/clusterd/clusterd/blob/blobtest"
	"github.com/clusterd/clusterd/internal/pgtest"
)

// The store's tests are one suite run on each dialect (gonum style): a
// test that opens a store runs its body through forEachDialect, once on
// SQLite and once on PostgreSQL. PostgreSQL runs on a throwaway server
// the suite starts (internal/pgtest: Debian's postgresql package, a
// temporary data directory, a free port); without PostgreSQL installed
// the PostgreSQL subtests skip and say why.

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testDB opens stores of one dialect for one test; every store a test
// opens through the same testDB shares one database (so a test can close
// a store and open it again).
type testDB struct {
	d   dialect
	url string // PostgreSQL's database, made on first use
	// s3 keeps vector segments on a bucket of a gofakes3 server (started
	// on first use, with a read cache), which every store of the testDB
	// shares; else they are local files.
	s3     bool
	bucket blob.Bucket
}

// sqliteDB is for tests that run on SQLite only (fuzzing, benchmarks).
var sqliteDB = &testDB{d: dialectSQLite}

// forEachDialect runs body as a subtest per dialect.
func forEachDialect(t *testing.T, body func(t *testing.T, db *testDB)) {
	t.Helper()
	for _, d := range []dialect{dialectSQLite, dialectPostgres} {
		t.Run(d.String(), func(t *testing.T) {
			body(t, &testDB{d: d})
		})
	}
}

// forEachPlace runs body as a subtest per dialect and place of the vector
// segments: local files, and chunks on an S3 bucket (gofakes3). For the
// tests of what segments hold (upserts, imports, reads, outputs, recovery).
func forEachPlace(t *testing.T, body func(t *testing.T, db *testDB)) {
	t.Helper()
	for _, d := range []dialect{dialectSQLite, dialectPostgres} {
		for _, s3 := range []bool{false, true} {
			name := d.String()
			if s3 {
				name += "+s3"
			}
			t.Run(name, func(t *testing.T) {
				body(t, &testDB{d: d, s3: s3})
			})
		}
	}
}

// Open opens the store in dir on db's database.
func (db *testDB) Open(tb testing.TB, dir string) (*Store, error) {
	tb.Helper()
	o := Options{Dir: dir}
	if db.d == dialectPostgres {
		if db.url == "" {
			db.url = pgtest.URL(tb)
		}
		o.DatabaseURL = db.url
	}
	if db.s3 {
		if db.bucket == nil {
			srv := blobtest.Start(tb, "segments")
			b, err := blob.Open(srv.URL("data"), blob.Options{CacheDir: tb.TempDir(), CacheBytes: 64 << 20})
			if err != nil {
				tb.Fatal(err)
			}
			db.bucket = b
		}
		o.Blob = db.bucket
	}
	return OpenWith(o)
}

// segmentBytes is the bytes of a collection's feature in its segment:
// the local file's size, or the sum of its chunks' sizes on the bucket.
func (db *testDB) segmentBytes(tb testing.TB, s *Store, colID, feature string) int64 {
	tb.Helper()
	if db.bucket == nil {
		st, err := os.Stat(filepath.Join(s.collectionDir(colID), featureFile(feature)))
		if errors.Is(err, os.ErrNotExist) {
			return 0
		}
		if err != nil {
			tb.Fatal(err)
		}
		return st.Size()
	}
	objs, err := db.bucket.List(context.Background(), collectionPrefix(colID)+strings.TrimSuffix(featureFile(feature), ".f32")+"/")
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, o := range objs {
		n += o.Size
	}
	return n
}

// segmentNames lists a collection's segment files, or with a bucket its
// chunks' keys under the collection's prefix; nil when there are none.
func (db *testDB) segmentNames(tb testing.TB, s *Store, colID string) []string {
	tb.Helper()
	var out []string
	if db.bucket == nil {
		entries, err := os.ReadDir(s.collectionDir(colID))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	objs, err := db.bucket.List(context.Background(), collectionPrefix(colID))
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range objs {
		out = append(out, strings.TrimPrefix(o.Key, collectionPrefix(colID)))
	}
	if db.bucket != nil {
		// Nothing of a bucket store is on local disk.
		if _, err := os.Stat(s.collectionDir(colID)); !errors.Is(err, os.ErrNotExist) {
			tb.Errorf("a bucket store has local segments for %s: %v", colID, err)
		}
	}
	return out
}

// restartable opens a store in a new directory and returns it with
// restart, which closes the store and opens the directory again, as a
// process restarting would; the store open when the test ends is closed.
func (db *testDB) restartable(tb testing.TB) (*Store, func() *Store) {
	tb.Helper()
	dir := tb.TempDir()
	cur, err := db.Open(tb, dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cur.Close() })
	return cur, func() *Store {
		tb.Helper()
		if err := cur.Close(); err != nil {
			tb.Fatal(err)
		}
		if cur, err = db.Open(tb, dir); err != nil {
			tb.Fatal(err)
		}
		return cur
	}
}

// open opens a store in a new directory, closed when the test ends.
func (db *testDB) open(tb testing.TB) *Store {
	tb.Helper()
	s, err := db.Open(tb, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// TestSnapshotSeesOneState: the reads of one snapshot (a list page and its
// total) see the database as it was at the first of them, though a write
// commits between them; a new snapshot sees the write. On PostgreSQL's
// default isolation the second count would see it (a total that disagreed
// with its page failed TestTriggerFiresLive once).
func TestSnapshotSeesOneState(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, _ := setupCollection(t, s)
		count := func(q querier) int {
			t.Helper()
			var n int
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM collections WHERE namespace_id = ?`, ns.ID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		snap, err := s.snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Rollback()
		before := count(snap)
		if _, err := s.CreateCollection(ctx, ns.ID, "later", "", nil); err != nil {
			t.Fatal(err)
		}
		if got := count(snap); got != before {
			t.Fatalf("the snapshot counted %d collections, then %d after another write committed", before, got)
		}
		if got := count(s.r); got != before+1 {
			t.Fatalf("outside the snapshot: %d collections, want %d", got, before+1)
		}
	})
}
