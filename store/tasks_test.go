package store

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// taskRuns makes one run in each state in ns: completed, failed, processing,
// canceled and pending (in that order of creation), and one run in another
// namespace; it returns the task ids by state.
func taskRuns(t *testing.T, s *Store) (string, map[string]string) {
	t.Helper()
	ctx := context.Background()
	ns, _ := setupCollection(t, s)
	s.CreateCluster(ctx, Cluster{ID: "clust_a", NamespaceID: ns.ID, Config: json.RawMessage(`{}`)})
	s.CreateCluster(ctx, Cluster{ID: "clust_other", NamespaceID: "ns_other", Config: json.RawMessage(`{}`)})
	initial := func(runID, taskID string, at time.Time) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }
	ids := map[string]string{}
	var runs []Run
	for range 5 {
		r, _, err := s.Enqueue(ctx, NewRun{NamespaceID: ns.ID, ClusterID: "clust_a", Initial: initial})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	if _, _, err := s.Enqueue(ctx, NewRun{NamespaceID: "ns_other", ClusterID: "clust_other", Initial: initial}); err != nil {
		t.Fatal(err)
	}
	claim := func() *Job {
		j, err := s.Claim(ctx, "w", time.Hour)
		if err != nil || j == nil {
			t.Fatalf("claim: %v %v", j, err)
		}
		if err := s.StartRun(ctx, j, "w", json.RawMessage(`{}`)); err != nil {
			t.Fatal(err)
		}
		return j
	}
	if err := s.FinishRun(ctx, claim(), "w", Outcome{Status: StatusCompleted, Result: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, claim(), "w", Outcome{Status: StatusFailed, Result: json.RawMessage(`{}`), ErrorMessage: "boom: the disk is on fire", FailureKind: "internal"}); err != nil {
		t.Fatal(err)
	}
	claim()
	if _, err := s.CancelRun(ctx, ns.ID, "clust_a", runs[3].RunID, func(r Run) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }); err != nil {
		t.Fatal(err)
	}
	for i, state := range []string{"COMPLETED", "FAILED", "PROCESSING", "CANCELED", "PENDING"} {
		ids[state] = runs[i].TaskID
	}
	return ns.ID, ids
}

// TestListTasks: the status mapping (request field and filters), task
// types, search, sort and namespace scoping.
func TestListTasks(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, ids := taskRuns(t, s)
		byID := map[string]string{}
		for state, id := range ids {
			byID[id] = state
		}
		list := func(q Query, status, taskType *string) []string {
			t.Helper()
			q.Limit, q.IncludeTotal = 100, true
			page, err := s.ListTasks(ctx, ns, q, status, taskType)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, r := range page.Results {
				out = append(out, byID[r.TaskID])
			}
			if page.Total != len(out) {
				t.Fatalf("total %d for %d results", page.Total, len(out))
			}
			return out
		}
		f := func(s string) Query { return Query{Filters: json.RawMessage(s)} }
		cases := []struct {
			name     string
			q        Query
			status   string
			taskType string
			want     []string
		}{
			{"newest first", Query{}, "", "", []string{"PENDING", "CANCELED", "PROCESSING", "FAILED", "COMPLETED"}},
			{"PENDING", Query{}, "PENDING", "", []string{"PENDING"}},
			{"PROCESSING", Query{}, "PROCESSING", "", []string{"PROCESSING"}},
			{"IN_PROGRESS", Query{}, "IN_PROGRESS", "", []string{"PROCESSING"}},
			{"COMPLETED", Query{}, "COMPLETED", "", []string{"COMPLETED"}},
			{"FAILED is not canceled", Query{}, "FAILED", "", []string{"FAILED"}},
			{"CANCELED", Query{}, "CANCELED", "", []string{"CANCELED"}},
			{"SKIPPED", Query{}, "SKIPPED", "", []string{}},
			{"COMPLETED_WITH_ERRORS", Query{}, "COMPLETED_WITH_ERRORS", "", []string{}},
			{"cluster build", Query{}, "", "engine_cluster_build", []string{"PENDING", "CANCELED", "PROCESSING", "FAILED", "COMPLETED"}},
			{"other type", Query{}, "", "thumbnail", []string{}},
			{"filter status", f(`{"AND":[{"field":"status","operator":"in","value":["CANCELED","COMPLETED"]}]}`), "", "", []string{"CANCELED", "COMPLETED"}},
			{"filter status ne", f(`{"AND":[{"field":"status","operator":"ne","value":"FAILED"}]}`), "", "", []string{"PENDING", "CANCELED", "PROCESSING", "COMPLETED"}},
			{"filter task_id", f(`{"task_id":"` + ids["FAILED"] + `"}`), "", "", []string{"FAILED"}},
			{"filter task_type", f(`{"AND":[{"field":"task_type","value":"engine_cluster_build"}]}`), "", "", []string{"PENDING", "CANCELED", "PROCESSING", "FAILED", "COMPLETED"}},
			{"filter updated_at", f(`{"AND":[{"field":"updated_at","operator":"is_null","value":true}]}`), "", "", []string{}},
			{"filter cluster", f(`{"cluster_id":"clust_other"}`), "", "", []string{}},
			{"filter created_at", f(`{"AND":[{"field":"created_at","operator":"gt","value":"2000-01-01T00:00:00Z"}]}`), "", "",
				[]string{"PENDING", "CANCELED", "PROCESSING", "FAILED", "COMPLETED"}},
			// A space: random ids never match it.
			{"search error", Query{Search: "IS ON FIRE"}, "", "", []string{"FAILED"}},
			{"sort asc", Query{Sort: &Sort{Field: "created_at", Direction: "asc"}}, "", "", []string{"COMPLETED", "FAILED", "PROCESSING", "CANCELED", "PENDING"}},
			{"sort status", Query{Sort: &Sort{Field: "status", Direction: "asc"}}, "", "", []string{"CANCELED", "COMPLETED", "FAILED", "PENDING", "PROCESSING"}},
			{"status and filter", f(`{"AND":[{"field":"status","value":"FAILED"}]}`), "CANCELED", "", []string{}},
		}
		for _, c := range cases {
			var status, typ *string
			if c.status != "" {
				status = &c.status
			}
			if c.taskType != "" {
				typ = &c.taskType
			}
			if got := list(c.q, status, typ); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		// The other namespace sees only its own task.
		page, err := s.ListTasks(ctx, "ns_other", Query{Limit: 10, IncludeTotal: true}, nil, nil)
		if err != nil || page.Total != 1 || page.Results[0].ClusterID != "clust_other" {
			t.Fatalf("other namespace: %+v %v", page, err)
		}
	})
}

// TestRunMetrics: the analytics read the failure kind the runner and a
// cancel store, and the window bounds the runs.
func TestRunMetrics(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, _ := taskRuns(t, s)
		all, err := s.RunMetrics(ctx, ns, "clust_a", time.Now().Add(-time.Hour))
		if err != nil || len(all) != 5 {
			t.Fatalf("%d runs, %v", len(all), err)
		}
		if none, _ := s.RunMetrics(ctx, ns, "clust_a", time.Now().Add(time.Hour)); len(none) != 0 {
			t.Fatalf("window in the future: %d runs", len(none))
		}
		failed, err := s.FailedRunMetrics(ctx, ns, "clust_a", time.Now().Add(-time.Hour))
		if err != nil || len(failed) != 2 {
			t.Fatalf("%d failed runs, %v", len(failed), err)
		}
		kinds := map[string]bool{}
		for _, m := range failed {
			kinds[m.FailureKind] = m.Canceled()
		}
		if len(kinds) != 2 || kinds["internal"] || !kinds[CanceledMessage] {
			t.Fatalf("failure kinds %v", kinds)
		}
	})
}
