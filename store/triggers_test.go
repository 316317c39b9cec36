package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

func newTrigger(ns, clusterID, id, typ, status string, created time.Time) Trigger {
	return Trigger{ID: id, NamespaceID: ns, ClusterID: clusterID, Type: typ, Schedule: json.RawMessage(`{}`), Status: status,
		CreatedAt: created, UpdatedAt: created, AnchorAt: created}
}

func TestTriggersStore(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, col := setupCollection(t, s)
		cfg := json.RawMessage(fmt.Sprintf(`{"collection_ids":[%q]}`, col.ID))
		a, err := s.CreateCluster(ctx, Cluster{ID: "clust_a", NamespaceID: ns.ID, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		// A trigger of a cluster that does not exist is refused.
		if _, err := s.CreateTrigger(ctx, newTrigger(ns.ID, "clust_nope", "trg_x", "cron", "active", t0), nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("trigger of a missing cluster: %v", err)
		}
		for i, spec := range []struct{ id, typ, status string }{{"trg_1", "cron", "active"}, {"trg_2", "interval", "paused"}, {"trg_3", "event", "active"}} {
			tr := newTrigger(ns.ID, a.ID, spec.id, spec.typ, spec.status, t0.Add(time.Duration(i)*time.Hour))
			if spec.typ == "event" {
				tr.EventType, tr.EventCollectionID, tr.EventThreshold = "documents_added", col.ID, 5
			}
			if _, err := s.CreateTrigger(ctx, tr, nil); err != nil {
				t.Fatal(err)
			}
		}
		// The trigger with its own cluster: both stored, or neither.
		own := Cluster{ID: "clust_own", NamespaceID: ns.ID, Config: cfg}
		tr, err := s.CreateTrigger(ctx, newTrigger(ns.ID, "", "trg_4", "interval", "active", t0.Add(3*time.Hour)), &own)
		if err != nil || tr.ClusterID != "clust_own" || !tr.OwnsCluster {
			t.Fatalf("own cluster: %+v %v", tr, err)
		}
		dup := Cluster{ID: "clust_own2", NamespaceID: ns.ID, Name: "taken", Config: cfg}
		if _, err := s.CreateCluster(ctx, Cluster{ID: "clust_named", NamespaceID: ns.ID, Name: "taken", Config: cfg}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateTrigger(ctx, newTrigger(ns.ID, "", "trg_5", "interval", "active", t0), &dup); !errors.Is(err, ErrConflict) {
			t.Fatalf("own cluster with a taken name: %v", err)
		}
		if _, err := s.GetCluster(ctx, ns.ID, "clust_own2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a failed trigger left its cluster behind: %v", err)
		}

		for _, tc := range []struct {
			f    TriggerFilter
			want string
		}{
			{TriggerFilter{Limit: 10, Desc: true}, "trg_4 trg_3 trg_2 trg_1"},
			{TriggerFilter{Limit: 10}, "trg_1 trg_2 trg_3 trg_4"},
			{TriggerFilter{Limit: 2, Offset: 1, Desc: true}, "trg_3 trg_2"},
			{TriggerFilter{Limit: 10, Status: "active"}, "trg_1 trg_3 trg_4"},
			{TriggerFilter{Limit: 10, Type: "interval"}, "trg_2 trg_4"},
			{TriggerFilter{Limit: 10, ClusterID: "clust_own"}, "trg_4"},
			{TriggerFilter{Limit: 10, SortBy: "trigger_type"}, "trg_1 trg_3 trg_2 trg_4"},
		} {
			list, total, err := s.ListTriggers(ctx, ns.ID, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for i, tr := range list {
				if i > 0 {
					got += " "
				}
				got += tr.ID
			}
			if got != tc.want {
				t.Errorf("%+v: %s (total %d), want %s", tc.f, got, total, tc.want)
			}
		}

		// Document writes move the event counter with the upsert's commit.
		if _, err := s.Upsert(ctx, col.ID, &SliceSource{Docs: docs(7, 2, 0)}); err != nil {
			t.Fatal(err)
		}
		if tr, _ := s.GetTrigger(ctx, ns.ID, "trg_3"); tr.EventCounter != 7 {
			t.Errorf("event counter %d after 7 new documents", tr.EventCounter)
		}

		// Deleting a trigger keeps the cluster made for it; deleting a cluster
		// deletes its triggers and their history.
		if err := s.DeleteTrigger(ctx, ns.ID, "trg_4"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetCluster(ctx, ns.ID, "clust_own"); err != nil {
			t.Errorf("the trigger's cluster went with it: %v", err)
		}
		if err := s.DeleteTrigger(ctx, ns.ID, "trg_4"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		next := t0.Add(time.Hour)
		res, err := s.FireTrigger(ctx, FireRequest{TriggerID: "trg_1", Version: 1, Now: t0, Next: &next, Slot: Slot{Detail: "x"},
			Initial: func(runID, _, clusterID string, at time.Time) (json.RawMessage, error) {
				return json.RawMessage(`{}`), nil
			}})
		if err != nil || res.Run == nil {
			t.Fatalf("fire: %+v %v", res, err)
		}
		if items, _, err := s.TriggerHistory(ctx, ns.ID, "trg_1", "", 10, 0); err != nil || len(items) != 1 || items[0].Status != "pending" {
			t.Fatalf("history %+v %v", items, err)
		}
		if err := s.DeleteCluster(ctx, ns.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"trg_1", "trg_2", "trg_3"} {
			if _, err := s.GetTrigger(ctx, ns.ID, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s survived its cluster: %v", id, err)
			}
		}
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM trigger_history`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d history rows left (%v)", n, err)
		}
	})
}
