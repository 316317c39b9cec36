package triggers

import (
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/clusterd/clusterd/artifacts"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
)

var completed = outcome{status: store.StatusCompleted}

func failed(msg string) outcome { return outcome{status: store.StatusFailed, err: msg} }

// run advances the clock in steps up to d later, ticking and finishing
// runs (as o says) after every step.
func (e *env) run(d, step time.Duration, o outcome) {
	e.t.Helper()
	for end := e.clock.Now().Add(d); e.clock.Now().Before(end); {
		e.clock.Add(step)
		e.tick()
		e.finish(o)
	}
	e.tick() // settles the last run
}

func TestIntervalOverDays(t *testing.T) {
	for _, immediately := range []bool{false, true} {
		e := newEnv(t, 5)
		cl := e.cluster(e.collection("c", 10), "")
		tr := e.trigger(cl, model.TriggerInterval, map[string]any{"interval_seconds": 6 * 3600, "start_immediately": immediately})
		first := epoch.Add(6 * time.Hour)
		if immediately {
			first = epoch
			if got := *tr.NextScheduledAt; !got.Equal(epoch) {
				t.Fatalf("start_immediately: next %v", got)
			}
			e.tick()
			e.finish(completed)
		}
		e.run(72*time.Hour, 10*time.Minute, completed)
		h := e.history(tr.ID)
		want := 12
		if immediately {
			want = 13
		}
		if len(h) != want {
			t.Fatalf("start_immediately=%v: %d firings in 3 days, want %d", immediately, len(h), want)
		}
		for i, item := range h {
			slot := first.Add(time.Duration(i) * 6 * time.Hour)
			if !item.ScheduledAt.Equal(slot) || *item.Slots != 1 || item.CatchUp || item.Status != store.StatusCompleted ||
				*item.NumClusters != 2 || *item.NumDocuments != 10 || *item.ExecutionTimeMS != 12 || item.RunID == nil || item.JobID == "" {
				t.Fatalf("firing %d: %+v (slot %v)", i, item, slot)
			}
			// The firing comes at the first tick at or after its slot.
			if d := item.TriggeredAt.Sub(slot); d < 0 || d >= 10*time.Minute {
				t.Errorf("firing %d at %v for slot %v", i, item.TriggeredAt, slot)
			}
		}
		got := e.get(tr.ID)
		if got.ExecutionCount != want || *got.LastExecutionStatus != store.StatusCompleted || got.ConsecutiveFailures != 0 ||
			!got.NextScheduledAt.Equal(epoch.Add(78*time.Hour)) || *got.LastExecutionJobID != h[len(h)-1].JobID {
			t.Errorf("trigger after 3 days: %+v", got)
		}
		if n := e.runsOf(cl); n != want {
			t.Errorf("%d runs, want %d", n, want)
		}
		if v := testutil.ToFloat64(e.metrics.Fires.WithLabelValues("interval")); v != float64(want) {
			t.Errorf("fires metric %v", v)
		}
	}
}

func TestCronAcrossDaylightSaving(t *testing.T) {
	for _, tc := range []struct {
		name, expr string
		from       time.Time
		days       int
		want       []string // slots in UTC
	}{
		{"spring forward: the skipped 02:30 fires at 03:00 EDT", "30 2 * * *", time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC), 5,
			[]string{"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z", "2026-03-11T06:30:00Z"}},
		{"fall back: the repeated 01:30 fires once", "30 1 * * *", time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC), 3,
			[]string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 5)
			e.clock.Set(tc.from)
			cl := e.cluster(e.collection("c", 10), "")
			tr := e.trigger(cl, model.TriggerCron, map[string]any{"cron_expression": tc.expr, "timezone": "America/New_York"})
			e.run(time.Duration(tc.days)*24*time.Hour, 5*time.Minute, completed)
			var got []string
			for _, h := range e.history(tr.ID) {
				got = append(got, h.ScheduledAt.UTC().Format(time.RFC3339))
				if h.CatchUp || *h.Slots != 1 {
					t.Errorf("firing %+v", h)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("slots\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestCatchUpCoalesces: slots missed while no scheduler ran start one run,
// whose history item says how many slots it covers; a single slot fired
// late is a catch-up of one.
func TestCatchUpCoalesces(t *testing.T) {
	e := newEnv(t, 5)
	cl := e.cluster(e.collection("c", 10), "")
	tr := e.trigger(cl, model.TriggerInterval, map[string]any{"interval_seconds": 3600})
	e.clock.Set(epoch.Add(time.Hour))
	e.tick()
	e.finish(completed)
	e.clock.Set(epoch.Add(6*time.Hour + 30*time.Minute)) // down from 1 h to 6½ h: slots 2 h … 6 h missed
	e.tick()
	e.finish(completed)
	e.clock.Set(epoch.Add(7*time.Hour + 30*time.Second)) // on time, within the grace
	e.tick()
	e.finish(completed)
	e.clock.Set(epoch.Add(8*time.Hour + 2*time.Minute)) // one slot, 2 minutes late
	e.tick()
	e.finish(completed)
	h := e.history(tr.ID)
	type want struct {
		slot    time.Duration
		slots   int
		catchUp bool
		detail  string
	}
	wants := []want{
		{time.Hour, 1, false, "scheduled slot 2026-01-05T01:00:00Z"},
		{2 * time.Hour, 5, true, "catch-up: one run for 5 slot(s) from 2026-01-05T02:00:00Z to 2026-01-05T06:00:00Z"},
		{7 * time.Hour, 1, false, "scheduled slot"},
		{8 * time.Hour, 1, true, "catch-up: one run for 1 slot(s)"},
	}
	if len(h) != len(wants) {
		t.Fatalf("%d firings: %+v", len(h), h)
	}
	for i, w := range wants {
		if !h[i].ScheduledAt.Equal(epoch.Add(w.slot)) || *h[i].Slots != w.slots || h[i].CatchUp != w.catchUp || !strings.HasPrefix(h[i].Detail, w.detail) {
			t.Errorf("firing %d: slot %v slots %d catch-up %v %q; want %+v", i, h[i].ScheduledAt, *h[i].Slots, h[i].CatchUp, h[i].Detail, w)
		}
	}
	if n := e.runsOf(cl); n != 4 {
		t.Errorf("%d runs for 4 firings", n)
	}
	if got := e.get(tr.ID); !got.NextScheduledAt.Equal(epoch.Add(9 * time.Hour)) {
		t.Errorf("next %v", got.NextScheduledAt)
	}
}

// TestSlotsFireOnceAcrossSchedulers: two schedulers share a store (as
// several processes will share a database) and tick at the same moments;
// every slot of every trigger is covered by exactly one firing, and every
// firing that started a run started exactly one.
func TestSlotsFireOnceAcrossSchedulers(t *testing.T) {
	e := newEnv(t, 5)
	const n = 4
	var trs []store.Trigger
	var clusters []string
	col := e.collection("c", 10)
	for range n {
		cl := e.cluster(col, "")
		clusters = append(clusters, cl)
		trs = append(trs, e.trigger(cl, model.TriggerInterval, map[string]any{"interval_seconds": 60, "start_immediately": true}))
	}
	a, b := e.sched, e.scheduler(5)
	for range 80 {
		var wg sync.WaitGroup
		for _, s := range []*Scheduler{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Tick(e.ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		e.finish(completed)
		e.clock.Add(37 * time.Second)
	}
	end := e.clock.Now().Add(-37 * time.Second) // the last tick's time
	total := 0
	for i, tr := range trs {
		h := e.history(tr.ID)
		next := epoch
		started := 0
		for _, item := range h {
			if !item.ScheduledAt.Equal(next) {
				t.Fatalf("trigger %d: firing for slot %v, expected the slot %v (a slot fired twice or was lost)", i, item.ScheduledAt, next)
			}
			next = next.Add(time.Duration(*item.Slots) * time.Minute)
			if item.RunID != nil {
				started++
			}
		}
		if !next.After(end) || next.Sub(end) > time.Minute {
			t.Errorf("trigger %d: slots covered up to %v, the clock is at %v", i, next, end)
		}
		if got := e.runsOf(clusters[i]); got != started {
			t.Errorf("trigger %d: %d runs, %d firings started one", i, got, started)
		}
		total += started
	}
	if v := testutil.ToFloat64(e.metrics.Fires.WithLabelValues("interval")); int(v) != total {
		t.Errorf("fires metric %v, %d runs", v, total)
	}
}

// TestStaleFiringIsAbandoned: a firing computed from a trigger as read
// before it fired, or before a pause, claims nothing.
func TestStaleFiringIsAbandoned(t *testing.T) {
	e := newEnv(t, 5)
	cl := e.cluster(e.collection("c", 10), "")
	tr := e.trigger(cl, model.TriggerInterval, map[string]any{"interval_seconds": 60})
	e.clock.Add(time.Minute)
	now := e.clock.Now()
	next := now.Add(time.Minute)
	req := store.FireRequest{TriggerID: tr.ID, Version: tr.Version, Now: now, Next: &next, SkipNext: &next, Initial: initialResult,
		Slot: store.Slot{ScheduledAt: tr.NextScheduledAt, Slots: 1}}
	first, err := e.st.FireTrigger(e.ctx, req)
	if err != nil || !first.Claimed || first.Run == nil {
		t.Fatalf("first firing: %+v %v", first, err)
	}
	again, err := e.st.FireTrigger(e.ctx, req)
	if err != nil || again.Claimed || again.Run != nil {
		t.Fatalf("the same firing again: %+v %v", again, err)
	}
	// Read, then paused by someone else, then fired from the old read.
	e.finish(completed)
	cur := e.get(tr.ID)
	if _, err := e.st.UpdateTrigger(e.ctx, e.ns, tr.ID, func(t *store.Trigger) error { t.Status, t.NextScheduledAt = model.TriggerPaused, nil; return nil }); err != nil {
		t.Fatal(err)
	}
	req.Version = cur.Version
	if res, err := e.st.FireTrigger(e.ctx, req); err != nil || res.Claimed {
		t.Fatalf("firing a paused trigger from a stale read: %+v %v", res, err)
	}
	if n := e.runsOf(cl); n != 1 {
		t.Errorf("%d runs", n)
	}
}

// TestSkipWhileClusterBusy: a trigger never starts a second run of a
// cluster; the skipped firing is in the history with the run it waited for.
func TestSkipWhileClusterBusy(t *testing.T) {
	e := newEnv(t, 5)
	cl := e.cluster(e.collection("c", 10), "")
	tr := e.trigger(cl, model.TriggerInterval, map[string]any{"interval_seconds": 3600})
	e.clock.Add(time.Hour)
	e.tick() // fires; the run stays pending
	e.clock.Add(time.Hour)
	e.tick() // skipped
	e.finish(completed)
	manual, _, err := e.st.Enqueue(e.ctx, store.NewRun{NamespaceID: e.ns, ClusterID: cl, Initial: func(runID, taskID string, at time.Time) (json.RawMessage, error) {
		return initialResult(runID, taskID, cl, at)
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	e.tick() // skipped for the manual execute
	e.finish(completed)
	e.clock.Add(time.Hour)
	e.tick() // fires
	h := e.history(tr.ID)
	statuses := []string{}
	for _, item := range h {
		statuses = append(statuses, item.Status)
	}
	if strings.Join(statuses, ",") != "completed,skipped,skipped,pending" {
		t.Fatalf("statuses %v", statuses)
	}
	if h[1].JobID != h[0].JobID || h[1].RunID != nil || !strings.Contains(*h[1].Error, "skipped: run "+*h[0].RunID) || !strings.Contains(*h[1].Error, "pending") {
		t.Errorf("skip while the trigger's own run waits: %+v", h[1])
	}
	if h[2].JobID != manual.TaskID || !strings.Contains(*h[2].Error, manual.RunID) {
		t.Errorf("skip while an executed run waits: %+v", h[2])
	}
	if n := e.runsOf(cl); n != 3 {
		t.Errorf("%d runs: the trigger's 2 and the manual one", n)
	}
	if s, f := testutil.ToFloat64(e.metrics.Skips.WithLabelValues("interval")), testutil.ToFloat64(e.metrics.Fires.WithLabelValues("interval")); s != 2 || f != 2 {
		t.Errorf("skips %v fires %v", s, f)
	}
	if got := e.get(tr.ID); got.ExecutionCount != 2 {
		t.Errorf("execution_count %d counts skips", got.ExecutionCount)
	}
}

// TestConsecutiveFailuresPause: MaxFailures failed runs in a row pause the
// trigger with the reason; a completed run resets the count, a cancel does
// not count.
func TestConsecutiveFailuresPause(t *testing.T) {
	e := newEnv(t, 3)
	cl := e.cluster(e.collection("c", 10), "")
	tr := e.trigger(cl, model.TriggerInterval, map[string]any{"interval_seconds": 3600})
	for i, o := range []outcome{failed("boom 1"), failed("boom 2"), completed, failed("boom 3"), {status: store.StatusFailed, err: store.CanceledMessage}, failed("boom 4"), failed("boom 5")} {
		e.clock.Add(time.Hour)
		e.tick()
		if got := e.get(tr.ID); got.Status != model.TriggerActive {
			t.Fatalf("paused too early, before firing %d: %+v", i, got)
		}
		e.finish(o)
	}
	e.clock.Add(time.Hour)
	e.tick() // settles the third failure in a row: paused, nothing fired
	got := e.get(tr.ID)
	if got.Status != model.TriggerPaused || got.NextScheduledAt != nil || got.ConsecutiveFailures != 3 ||
		!strings.Contains(got.PausedReason, "paused after 3 consecutive failed runs") || !strings.Contains(got.PausedReason, "boom 5") ||
		*got.LastExecutionError != "boom 5" || *got.LastExecutionStatus != store.StatusFailed {
		t.Fatalf("after 3 failures in a row: %+v", got)
	}
	e.clock.Add(10 * time.Hour)
	e.tick()
	if n := e.runsOf(cl); n != 7 {
		t.Errorf("%d runs; a paused trigger fired", n)
	}
	if f, p := testutil.ToFloat64(e.metrics.Failures.WithLabelValues("interval")), testutil.ToFloat64(e.metrics.Pauses.WithLabelValues("interval")); f != 5 || p != 1 {
		t.Errorf("failures %v pauses %v", f, p)
	}
	h := e.history(tr.ID)
	if h[0].Status != store.StatusFailed || *h[0].Error != "boom 1" || h[0].NumClusters != nil || h[2].Status != store.StatusCompleted {
		t.Errorf("history: %+v %+v", h[0], h[2])
	}
}

// TestEventTrigger: the counter moves with every committed document write
// (documents_added: new ids only; documents_written: updates too), firing
// resets it, and the cooldown holds the next firing back.
func TestEventTrigger(t *testing.T) {
	e := newEnv(t, 5)
	col := e.collection("c", 10) // a0 … a9
	added := e.trigger(e.cluster(col, ""), model.TriggerEvent, map[string]any{"event_threshold": 10, "cooldown_seconds": 300, "collection_id": col})
	written := e.trigger(e.cluster(col, ""), model.TriggerEvent, map[string]any{"event_type": "documents_written", "event_threshold": 10, "collection_id": col})
	counters := func() (int64, int64) { return e.get(added.ID).EventCounter, e.get(written.ID).EventCounter }

	e.upsert(col, "n", 4, []float32{1, 0}) // 4 new
	if a, w := counters(); a != 4 || w != 4 {
		t.Fatalf("counters %d %d after 4 new documents", a, w)
	}
	e.tick()
	e.upsert(col, "a", 6, []float32{1, 0}) // 6 updated
	if _, err := e.st.Upsert(e.ctx, col, &store.SliceSource{Docs: []store.DocumentInput{{ID: "bad", Features: map[string][]float32{"emb": {1, 2, 3}}}}}); err == nil {
		t.Fatal("a 3-d vector in a 2-d feature was accepted")
	}
	if a, w := counters(); a != 4 || w != 10 {
		t.Fatalf("counters %d %d after 6 updates and a failed upsert", a, w)
	}
	e.tick()
	if a, w := counters(); a != 4 || w != 0 {
		t.Fatalf("counters %d %d: documents_written should have fired", a, w)
	}
	e.finish(completed)
	e.upsert(col, "m", 6, []float32{1, 0}) // 6 new: 10 added
	e.tick()
	got := e.get(added.ID)
	if got.EventCounter != 0 || got.ExecutionCount != 1 || !got.LastCooldownAt.Equal(e.clock.Now()) || !got.NextScheduledAt.Equal(e.clock.Now().Add(300*time.Second)) {
		t.Fatalf("after firing: %+v", got)
	}
	e.finish(completed)
	e.upsert(col, "p", 12, []float32{1, 0})
	e.clock.Add(299 * time.Second)
	e.tick()
	if got := e.get(added.ID); got.ExecutionCount != 1 || got.EventCounter != 12 {
		t.Fatalf("fired within the cooldown: %+v", got)
	}
	e.clock.Add(time.Second)
	e.tick()
	h := e.history(added.ID)
	if len(h) != 2 || h[1].Detail != "12 documents added to "+col+" since the last firing (threshold 10)" || h[1].ScheduledAt != nil || h[1].Slots != nil {
		t.Fatalf("history %+v", h)
	}
	if v := testutil.ToFloat64(e.metrics.Fires.WithLabelValues("event")); v != 4 { // documents_written fired at 10 and again at 6 + 12
		t.Errorf("event fires %v", v)
	}
}

// TestEventSkipRetry: an event trigger whose cluster is busy records one
// skip and looks again after BusyRetry, keeping its counter.
func TestEventSkipRetry(t *testing.T) {
	e := newEnv(t, 5)
	col := e.collection("c", 10)
	cl := e.cluster(col, "")
	tr := e.trigger(cl, model.TriggerEvent, map[string]any{"event_threshold": 1, "collection_id": col})
	e.upsert(col, "n", 1, []float32{1, 0})
	e.tick() // fires, run pending
	e.upsert(col, "m", 1, []float32{1, 0})
	e.tick() // skipped
	e.clock.Add(30 * time.Second)
	e.tick() // not again before BusyRetry (1 min)
	if h := e.history(tr.ID); len(h) != 2 || h[1].Status != model.HistorySkipped {
		t.Fatalf("history %+v", h)
	}
	e.finish(completed)
	e.clock.Add(30 * time.Second)
	e.tick()
	if h := e.history(tr.ID); len(h) != 3 || h[2].RunID == nil || e.get(tr.ID).EventCounter != 0 {
		t.Fatalf("after the retry: %+v", h)
	}
}

func TestQualityCondition(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		metric    string
		value     *float64
		threshold float64
		met       bool
	}{
		{model.MetricSilhouette, f(0.3), 0.5, true},
		{model.MetricSilhouette, f(0.7), 0.5, false},
		{model.MetricSilhouette, nil, 0.5, true},
		{model.MetricDaviesBouldin, f(1.2), 1.0, true},
		{model.MetricDaviesBouldin, f(0.8), 1.0, false},
		{model.MetricCalinskiHarabasz, f(50), 100, true},
		{model.MetricCalinskiHarabasz, f(500), 100, false},
	} {
		res := model.ExecutionResult{Metrics: &model.ExecutionMetrics{}}
		switch tc.metric {
		case model.MetricSilhouette:
			res.Metrics.SilhouetteScore = tc.value
		case model.MetricDaviesBouldin:
			res.Metrics.DaviesBouldinIndex = tc.value
		case model.MetricCalinskiHarabasz:
			res.Metrics.CalinskiHarabaszScore = tc.value
		}
		ev, err := quality(&store.Run{RunID: "run_x", Result: mustJSON(res)}, ScheduleConfig{Metric: tc.metric, Threshold: tc.threshold}, 3)
		if err != nil || ev.met != tc.met || (tc.value != nil && *ev.value != *tc.value) {
			t.Errorf("%s %v vs %v: met %v %v", tc.metric, tc.value, tc.threshold, ev.met, err)
		}
	}
}

// TestQualityTrigger: a quality condition fires when the last completed
// run is worse than the threshold and documents were written since it
// started; a cluster that never completed a run fires once it has documents.
func TestQualityTrigger(t *testing.T) {
	e := newEnv(t, 5)
	col := e.collection("c", 10)
	cl := e.cluster(col, "")
	tr := e.trigger(cl, model.TriggerConditional, map[string]any{"condition_type": "quality", "threshold": 0.5, "check_interval_seconds": 600})
	if got := e.get(tr.ID); !got.NextScheduledAt.Equal(epoch.Add(10*time.Minute)) || got.LastCheckedAt != nil {
		t.Fatalf("armed: %+v", got)
	}
	low, high := 0.3, 0.7
	step := func() store.Trigger { e.clock.Add(10 * time.Minute); e.tick(); return e.get(tr.ID) }
	if got := step(); got.ExecutionCount != 1 {
		t.Fatalf("no completed run yet: %+v", got)
	}
	e.finish(outcome{status: store.StatusCompleted, metric: &low})
	if got := step(); got.ExecutionCount != 1 || got.LastConditionValue != nil || !got.LastCheckedAt.Equal(e.clock.Now()) ||
		!got.NextScheduledAt.Equal(e.clock.Now().Add(10*time.Minute)) {
		t.Fatalf("nothing written since the run: %+v", got)
	}
	e.upsert(col, "n", 3, []float32{1, 0})
	if got := step(); got.ExecutionCount != 2 || *got.LastConditionValue != low {
		t.Fatalf("silhouette 0.3 < 0.5 with new documents: %+v", got)
	}
	e.finish(outcome{status: store.StatusCompleted, metric: &high})
	e.upsert(col, "m", 3, []float32{1, 0})
	if got := step(); got.ExecutionCount != 2 || *got.LastConditionValue != high {
		t.Fatalf("silhouette 0.7: %+v", got)
	}
	h := e.history(tr.ID)
	if len(h) != 2 || !strings.HasPrefix(h[0].Detail, "the cluster has no completed run yet and its collections hold 10 documents") ||
		!strings.HasPrefix(h[1].Detail, "silhouette_score of run ") || !strings.Contains(h[1].Detail, "0.3 < threshold 0.5; 3 documents written") {
		t.Errorf("history %+v", h)
	}
}

// TestDriftTrigger: drift is the mean cosine distance of the documents
// written since the last completed run started to its nearest centroid.
func TestDriftTrigger(t *testing.T) {
	e := newEnv(t, 5)
	col := e.collection("c", 10)
	cl := e.cluster(col, "")
	centroids := func(runs []string, vecs ...[]float32) {
		for _, r := range runs {
			var cs []artifacts.Centroid
			for _, v := range vecs {
				cs = append(cs, artifacts.Centroid{ClusterID: "cl", Keywords: []string{}, CentroidVector: v})
			}
			run, err := e.st.RunByID(e.ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if err := artifacts.Local(e.st.Dir()).Write(e.ctx, run.ArtifactsKey(), cs, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, err := e.st.Enqueue(e.ctx, store.NewRun{NamespaceID: e.ns, ClusterID: cl, Initial: func(runID, taskID string, at time.Time) (json.RawMessage, error) {
		return initialResult(runID, taskID, cl, at)
	}}); err != nil {
		t.Fatal(err)
	}
	centroids(e.finish(completed), []float32{1, 0}, []float32{0, 1})
	tr := e.trigger(cl, model.TriggerConditional, map[string]any{"condition_type": "drift", "threshold": 0.25, "check_interval_seconds": 600})
	step := func() store.Trigger { e.clock.Add(10 * time.Minute); e.tick(); return e.get(tr.ID) }
	if got := step(); got.ExecutionCount != 0 || got.LastConditionValue != nil || got.LastConditionError != nil {
		t.Fatalf("nothing new: %+v", got)
	}
	e.upsert(col, "d", 4, []float32{2, 2}) // 45° from both centroids
	got := step()
	want := 1 - 1/math.Sqrt2
	if got.ExecutionCount != 1 || math.Abs(*got.LastConditionValue-want) > 1e-6 {
		t.Fatalf("documents at 45°: %+v (want drift %v)", got, want)
	}
	centroids(e.finish(completed), []float32{1, 0}, []float32{1, 1})
	e.upsert(col, "s", 4, []float32{1, 0.1}) // 5.7° from a centroid
	got = step()
	want = 1 - 1/math.Sqrt(1.01)
	if got.ExecutionCount != 1 || math.Abs(*got.LastConditionValue-want) > 1e-6 {
		t.Fatalf("documents near a centroid: %+v (want drift %v)", got, want)
	}
	if h := e.history(tr.ID); len(h) != 1 || !strings.HasPrefix(h[0].Detail, "cosine_drift of 4 documents written since run ") {
		t.Errorf("history %+v", h)
	}

	// Centroids in another space (pca): the check reports why it cannot be made.
	pca := e.cluster(col, `,"preprocessing_steps":[{"method":"pca","n_components":1}]`)
	if _, _, err := e.st.Enqueue(e.ctx, store.NewRun{NamespaceID: e.ns, ClusterID: pca, Initial: func(runID, taskID string, at time.Time) (json.RawMessage, error) {
		return initialResult(runID, taskID, pca, at)
	}}); err != nil {
		t.Fatal(err)
	}
	centroids(e.finish(completed), []float32{1})
	tp := e.trigger(pca, model.TriggerConditional, map[string]any{"condition_type": "drift", "threshold": 0.25, "check_interval_seconds": 600})
	e.upsert(col, "q", 1, []float32{0, 1})
	step()
	if got := e.get(tp.ID); got.ExecutionCount != 0 || got.LastConditionError == nil || !strings.Contains(*got.LastConditionError, "dimension 1 and the documents 2") {
		t.Errorf("pca cluster: %+v", got)
	}
}

func TestCosineDrift(t *testing.T) {
	cents := [][]float32{{1, 0, 0}, {0, 1, 0}}
	for _, tc := range []struct {
		x    []float32 // rows of 3
		want float64
	}{
		{[]float32{3, 0, 0}, 0},                         // on a centroid's axis, any length
		{[]float32{0, 0, 5}, 1},                         // orthogonal to both
		{[]float32{-1, 0, 0}, 1},                        // opposite one, orthogonal to the other
		{[]float32{-1, -1, 0}, 1 + 1/math.Sqrt2},        // 1 − cos 135° to both
		{[]float32{0, 0, 0}, 1},                         // a zero vector
		{[]float32{1, 0, 0, 0, 0, 0}, 0.5},              // mean of 0 and 1
		{[]float32{1, 1, 0, 0, 1, 1}, 1 - 1/math.Sqrt2}, // 45° from the nearest, both rows
	} {
		if got := CosineDrift(tc.x, len(tc.x)/3, 3, cents); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%v: %v, want %v", tc.x, got, tc.want)
		}
	}
}
