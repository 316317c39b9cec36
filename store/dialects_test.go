package store

import (
	"os"
	"testing"

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
	return OpenWith(o)
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
