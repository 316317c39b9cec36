package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// enqueueN queues n runs of one cluster and returns their run ids.
func enqueueN(t *testing.T, s *Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	ns, _ := setupCollection(t, s)
	if _, err := s.CreateCluster(ctx, Cluster{ID: "clust_q", NamespaceID: ns.ID, Config: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := 0; i < n; i++ {
		r, _, err := s.Enqueue(ctx, NewRun{NamespaceID: ns.ID, ClusterID: "clust_q",
			Initial: func(string, string, time.Time) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.RunID)
	}
	return out
}

// TestClaimersNeverShareAJob: claimers racing for 60 jobs (four
// goroutines; with PostgreSQL on two stores of one database, as two
// processes) get every job exactly once.
func TestClaimersNeverShareAJob(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		dir := t.TempDir()
		s, err := db.Open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores := []*Store{s, s}
		if db.d == dialectPostgres {
			s2, err := db.Open(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			stores[1] = s2
		}
		runs := enqueueN(t, s, 60)
		var mu sync.Mutex
		got := map[string][]string{}
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, owner := stores[w%2], fmt.Sprintf("w%d", w)
				for {
					j, err := st.Claim(context.Background(), owner, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if j == nil {
						return
					}
					mu.Lock()
					got[j.RunID] = append(got[j.RunID], owner)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for _, r := range runs {
			if len(got[r]) != 1 {
				t.Errorf("run %s claimed by %v", r, got[r])
			}
		}
		if len(got) != len(runs) {
			t.Errorf("%d runs claimed, %d queued", len(got), len(runs))
		}
	})
}

// TestFencing: once a lease lapsed and the job was claimed again (by
// another owner, another store, or the same owner name), every write
// under the old claim fails with ErrLeaseLost and changes nothing; the new
// claim's writes go through.
func TestFencing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		dir := t.TempDir()
		s, err := db.Open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		other := s // the taking-over "process"
		if db.d == dialectPostgres {
			if other, err = db.Open(t, dir); err != nil {
				t.Fatal(err)
			}
			defer other.Close()
		}
		run := enqueueN(t, s, 1)[0]
		for _, tc := range []struct{ name, newOwner string }{{"another owner", "b"}, {"the same owner name", "a"}} {
			old, err := s.Claim(ctx, "a", time.Millisecond)
			if err != nil || old == nil {
				t.Fatalf("%s: claim: %+v %v", tc.name, old, err)
			}
			if err := s.StartRun(ctx, old, "a", json.RawMessage(`{"by":"old"}`)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond) // the old lease lapses
			cur, err := other.Claim(ctx, tc.newOwner, time.Hour)
			if err != nil || cur == nil || cur.ID != old.ID || cur.Token == old.Token {
				t.Fatalf("%s: takeover: %+v (old %+v) %v", tc.name, cur, old, err)
			}
			if err := other.StartRun(ctx, cur, tc.newOwner, json.RawMessage(`{"by":"new"}`)); err != nil {
				t.Fatal(err)
			}
			writes := map[string]error{
				"StartRun":    s.StartRun(ctx, old, "a", json.RawMessage(`{"by":"old"}`)),
				"SetProgress": s.SetProgress(ctx, old, "a", 0.5, json.RawMessage(`{"by":"old"}`)),
				"FinishRun":   s.FinishRun(ctx, old, "a", Outcome{Status: StatusCompleted, Result: json.RawMessage(`{"by":"old"}`)}),
				"Requeue":     s.Requeue(ctx, old, "a", json.RawMessage(`{"by":"old"}`)),
			}
			_, writes["Heartbeat"] = s.Heartbeat(ctx, old, "a", time.Hour)
			r0, _ := s.RunByID(ctx, run)
			_, writes["WriteClusterOutput"] = s.WriteClusterOutput(ctx, OutputWrite{NamespaceID: r0.NamespaceID, ClusterID: "clust_q", Name: "out",
				Documents: []DocumentInput{{ID: "x", Features: map[string][]float32{"e": {1, 2}}, Payload: json.RawMessage(`{}`)}}, Job: old, Owner: "a"})
			for name, err := range writes {
				if !errors.Is(err, ErrLeaseLost) {
					t.Errorf("%s: the old claim's %s: %v, want ErrLeaseLost", tc.name, name, err)
				}
			}
			r, _ := other.RunByID(ctx, run)
			if string(r.Result) != `{"by":"new"}` || r.Status != StatusProcessing {
				t.Errorf("%s: after the old claim's writes: %s %s", tc.name, r.Status, r.Result)
			}
			if err := other.SetProgress(ctx, cur, tc.newOwner, 0.5, json.RawMessage(`{"by":"new","p":0.5}`)); err != nil {
				t.Errorf("%s: the new claim's progress: %v", tc.name, err)
			}
			// Back to the queue for the next case.
			if err := other.Requeue(ctx, cur, tc.newOwner, json.RawMessage(`{}`)); err != nil {
				t.Fatal(err)
			}
		}
		j, _ := s.Claim(ctx, "c", time.Hour)
		if err := s.FinishRun(ctx, j, "c", Outcome{Status: StatusCompleted, Result: json.RawMessage(`{"by":"c"}`)}); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.RunByID(ctx, run); r.Status != StatusCompleted || string(r.Result) != `{"by":"c"}` {
			t.Errorf("final run: %s %s", r.Status, r.Result)
		}
	})
}
