package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// createTrigger creates a trigger on a live server and returns its id and
// creation time.
func (s *server) createTrigger(body map[string]any) (string, time.Time) {
	s.t.Helper()
	raw, _ := json.Marshal(body)
	code, out := s.do("POST", "/v1/clusters/triggers", "application/json", raw)
	if code != 201 {
		s.t.Fatalf("create trigger: %d %s", code, out)
	}
	var tr struct {
		TriggerID string    `json:"trigger_id"`
		CreatedAt time.Time `json:"created_at"`
	}
	json.Unmarshal(out, &tr)
	return tr.TriggerID, tr.CreatedAt
}

type firing struct {
	JobID       string     `json:"job_id"`
	RunID       *string    `json:"run_id"`
	Status      string     `json:"status"`
	ScheduledAt *time.Time `json:"scheduled_at"`
	Slots       *int       `json:"slots"`
	CatchUp     bool       `json:"catch_up"`
	Detail      string     `json:"detail"`
}

// history returns a trigger's firings, oldest first.
func (s *server) history(id string) []firing {
	s.t.Helper()
	var h struct {
		Executions []firing `json:"executions"`
		Total      int      `json:"total"`
	}
	s.json("POST", "/v1/clusters/triggers/"+id+"/history", map[string]any{"limit": 1000}, &h)
	if h.Total != len(h.Executions) {
		s.t.Fatalf("history of %d firings has %d items", h.Total, len(h.Executions))
	}
	for i, j := 0, len(h.Executions)-1; i < j; i, j = i+1, j-1 {
		h.Executions[i], h.Executions[j] = h.Executions[j], h.Executions[i]
	}
	return h.Executions
}

// TestTriggerFiresLive: an interval trigger fires on a running server, in
// real time, and its run completes through the queue.
func TestTriggerFiresLive(t *testing.T) {
	s := newServer(t)
	s.start()
	defer s.stop()
	cluster := s.load("docs", 500, `{"n_clusters":3}`)
	id, _ := s.createTrigger(map[string]any{"trigger_type": "interval", "cluster_id": cluster,
		"schedule_config": map[string]any{"interval_seconds": 1, "start_immediately": true}})
	deadline := time.Now().Add(60 * time.Second)
	for {
		h := s.history(id)
		if len(h) > 0 && h[0].Status == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no completed firing in 60 s: %+v\n%s", h, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, metrics := s.do("GET", "/metrics", "", nil)
	if !strings.Contains(string(metrics), `clusterd_trigger_fires_total{trigger_type="interval"}`) ||
		strings.Contains(string(metrics), `clusterd_trigger_fires_total{trigger_type="interval"} 0`) {
		t.Errorf("/metrics does not count the firing")
	}
}

// TestTriggerKillExactlyOnce kills the service (SIGKILL) at several
// moments while a 1-second interval trigger fires, keeps it down across
// slot boundaries, and restarts it. Afterwards every slot from the
// trigger's creation on is covered by exactly one firing (the slots missed
// while down by one catch-up firing each time), and the cluster has
// exactly one run per firing that started one.
func TestTriggerKillExactlyOnce(t *testing.T) {
	s := newServer(t)
	s.start()
	defer s.stop()
	cluster := s.load("docs", 300, `{"n_clusters":3}`)
	id, created := s.createTrigger(map[string]any{"trigger_type": "interval", "cluster_id": cluster,
		"schedule_config": map[string]any{"interval_seconds": 1, "start_immediately": true}})
	for i := range 4 {
		time.Sleep(time.Duration(1300+370*i) * time.Millisecond) // kills land at different points of a slot
		s.kill(syscall.SIGKILL)
		time.Sleep(2500 * time.Millisecond) // at least two slots pass while down
		s.start()
	}
	time.Sleep(1500 * time.Millisecond)
	s.json("POST", "/v1/clusters/triggers/"+id+"/pause", nil, nil)
	var runs []string
	deadline := time.Now().Add(90 * time.Second)
	for {
		var page struct {
			Results []struct {
				RunID  string `json:"run_id"`
				Status string `json:"status"`
			} `json:"results"`
		}
		s.json("POST", "/v1/clusters/"+cluster+"/executions/list?limit=1000", map[string]any{}, &page)
		runs = runs[:0]
		busy := false
		for _, r := range page.Results {
			runs = append(runs, r.RunID)
			busy = busy || r.Status == "pending" || r.Status == "processing"
		}
		if !busy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs still going after 90 s:\n%s", s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	h := s.history(id)
	next := created
	started := map[string]bool{}
	catchUps := 0
	for i, f := range h {
		if f.ScheduledAt == nil || f.Slots == nil || !f.ScheduledAt.Equal(next) {
			t.Fatalf("firing %d covers from %v; the first slot not yet covered is %v (a slot fired twice or was lost)\n%s", i, f.ScheduledAt, next, historyText(h))
		}
		next = next.Add(time.Duration(*f.Slots) * time.Second)
		if f.CatchUp && *f.Slots >= 2 {
			catchUps++
		}
		if f.RunID != nil {
			if started[*f.RunID] {
				t.Fatalf("run %s recorded by two firings", *f.RunID)
			}
			started[*f.RunID] = true
		}
	}
	if catchUps < 4 {
		t.Errorf("%d catch-up firings of several slots after 4 outages of 2.5 s\n%s", catchUps, historyText(h))
	}
	if len(runs) != len(started) {
		t.Fatalf("%d runs, %d firings started one\n%s", len(runs), len(started), historyText(h))
	}
	for _, r := range runs {
		if !started[r] {
			t.Errorf("run %s belongs to no firing", r)
		}
	}
}

func historyText(h []firing) string {
	var b strings.Builder
	for _, f := range h {
		slots := 0
		if f.Slots != nil {
			slots = *f.Slots
		}
		fmt.Fprintf(&b, "%v ×%d %s catch-up=%v %s\n", f.ScheduledAt, slots, f.Status, f.CatchUp, f.Detail)
	}
	return b.String()
}
