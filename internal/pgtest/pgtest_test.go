package pgtest

import (
	"database/sql"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestServer starts the server, creates two databases and checks that each
// answers and that they are separate.
func TestServer(t *testing.T) {
	a, b := URL(t), URL(t)
	if a == b {
		t.Fatalf("two databases share the URL %s", a)
	}
	for _, u := range []string{a, b} {
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`CREATE TABLE x (v INT)`); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
	t.Log(Describe())
}
