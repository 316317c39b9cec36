package store

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// twoProcesses opens two stores on db's PostgreSQL database, standing for
// two processes, and waits until a's listener is live (before that a
// caches nothing and hears of no write); both close when the test ends.
func twoProcesses(t *testing.T, db *testDB) (a, b *Store) {
	t.Helper()
	dir := t.TempDir()
	for _, s := range []**Store{&a, &b} {
		var err error
		if *s, err = db.Open(t, dir); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { (*s).Close() })
	}
	for deadline := time.Now().Add(5 * time.Second); !a.notify.live.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a's listener is not live after 5 s")
		}
	}
	return a, b
}

// TestLatestResultAcrossStores: with PostgreSQL, two stores on one
// database stand for two processes. Store a caches the latest execution
// once its listener is live; a run that b enqueues is a write a hears of
// (its write counter moves without a write of its own), and a's answer
// becomes b's run within a second.
func TestLatestResultAcrossStores(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		if db.d != dialectPostgres {
			t.Skip("one process per SQLite database")
		}
		ctx := context.Background()
		a, b := twoProcesses(t, db)
		ns, _ := setupCollection(t, a)
		if _, err := a.CreateCluster(ctx, Cluster{ID: "clust_l", NamespaceID: ns.ID, Config: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
		enqueue := func(s *Store) string {
			r, _, err := s.Enqueue(ctx, NewRun{NamespaceID: ns.ID, ClusterID: "clust_l",
				Initial: func(runID, _ string, _ time.Time) (json.RawMessage, error) {
					return json.RawMessage(fmt.Sprintf(`{"run_id":%q}`, runID)), nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			return r.RunID
		}
		latest := func() string {
			res, err := a.LatestResult(ctx, ns.ID, "clust_l")
			if err != nil {
				t.Fatal(err)
			}
			var v struct {
				RunID string `json:"run_id"`
			}
			if err := json.Unmarshal(res, &v); err != nil {
				t.Fatalf("%s: %v", res, err)
			}
			return v.RunID
		}
		first := enqueue(a)
		if got := latest(); got != first {
			t.Fatalf("latest %s, want %s", got, first)
		}
		gen := a.gen.Load()
		second := enqueue(b)
		start := time.Now()
		for latest() != second {
			if time.Since(start) > time.Second {
				t.Fatalf("a still answers %s a second after b enqueued %s", latest(), second)
			}
			time.Sleep(time.Millisecond)
		}
		if a.gen.Load() == gen {
			t.Error("a answered b's run without hearing of b's write: its cache was not in use")
		}
		t.Logf("a answered b's run %v after b's commit", time.Since(start))
	})
}

// TestOwnWritesCountedOnce: with PostgreSQL a store counts its own commit
// when it makes it and skips that write's notification when its listener
// receives it (the payload is the store's token), while every write of
// another store is counted once, when heard of. a writes once and b twice:
// a's counter moves by exactly three, and stays there.
func TestOwnWritesCountedOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		if db.d != dialectPostgres {
			t.Skip("no notifications with SQLite")
		}
		ctx := context.Background()
		a, b := twoProcesses(t, db)
		ns, _ := setupCollection(t, a)
		time.Sleep(200 * time.Millisecond) // the setup's notifications arrive
		start := a.gen.Load()
		for _, c := range []struct {
			s  *Store
			id string
		}{{a, "clust_a"}, {b, "clust_b1"}, {b, "clust_b2"}} {
			if _, err := c.s.CreateCluster(ctx, Cluster{ID: c.id, NamespaceID: ns.ID, Config: json.RawMessage(`{}`)}); err != nil {
				t.Fatal(err)
			}
		}
		for deadline := time.Now().Add(5 * time.Second); a.gen.Load() < start+3; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("a counted %d writes in 5 s, want 3", a.gen.Load()-start)
			}
		}
		// Notifications come in commit order, so a's own came before b's
		// two; a moment more lets a late one show.
		time.Sleep(200 * time.Millisecond)
		if got := a.gen.Load() - start; got != 3 {
			t.Errorf("a counted %d writes, want 3 (its own once, b's two once each)", got)
		}
	})
}
