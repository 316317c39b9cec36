package triggers

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clusterd/clusterd/internal/ids"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/telemetry"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a store with a namespace, a scheduler on a fake clock, and no
// runner: the test plays the runner (finish) so runs end as it says.
type env struct {
	t       *testing.T
	ctx     context.Context
	st      *store.Store
	clock   *fakeClock
	sched   *Scheduler
	metrics *telemetry.TriggerMetrics
	ns      string
}

var epoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, maxFailures int) *env {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	ns, err := st.ResolveNamespace(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, st: st, clock: &fakeClock{t: epoch}, ns: ns.ID}
	e.metrics = telemetry.NewTriggerMetrics(prometheus.NewRegistry())
	e.sched = e.scheduler(maxFailures)
	return e
}

// scheduler makes a scheduler on the env's store and clock.
func (e *env) scheduler(maxFailures int) *Scheduler {
	return New(Config{Store: e.st, Clock: e.clock, MaxFailures: maxFailures, Metrics: e.metrics})
}

// collection creates a collection with n 2-d documents at angle 0 (x axis)
// and returns its id.
func (e *env) collection(name string, n int) string {
	e.t.Helper()
	col, err := e.st.CreateCollection(e.ctx, e.ns, name, "", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.upsert(col.ID, "a", n, []float32{1, 0})
	return col.ID
}

// upsert writes n documents prefix0…prefixN-1 with vector v.
func (e *env) upsert(collectionID, prefix string, n int, v []float32) store.UpsertStats {
	e.t.Helper()
	docs := make([]store.DocumentInput, n)
	for i := range docs {
		docs[i] = store.DocumentInput{ID: fmt.Sprintf("%s%d", prefix, i), Features: map[string][]float32{"emb": v}}
	}
	st, err := e.st.Upsert(e.ctx, collectionID, &store.SliceSource{Docs: docs})
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// cluster creates a k-means cluster over the collection.
func (e *env) cluster(collectionID string, extra string) string {
	e.t.Helper()
	cfg := fmt.Sprintf(`{"collection_ids":[%q],"vector_config":{"clustering_method":"kmeans","algorithm_params":{"n_clusters":2}%s}}`, collectionID, extra)
	cl, err := e.st.CreateCluster(e.ctx, store.Cluster{ID: ids.New("clust_"), NamespaceID: e.ns, Config: json.RawMessage(cfg)})
	if err != nil {
		e.t.Fatal(err)
	}
	return cl.ID
}

// trigger creates an active trigger of the cluster, armed at the clock's now.
func (e *env) trigger(clusterID, typ string, sched map[string]any) store.Trigger {
	e.t.Helper()
	if ps := model.ScheduleModel(typ).Validate(schemaValue(sched), nil); len(ps) > 0 {
		e.t.Fatalf("invalid schedule: %v", ps)
	}
	raw, _ := json.Marshal(model.CompleteSchedule(typ, schemaValue(sched)))
	now := e.clock.Now()
	tr := store.Trigger{ID: ids.New("trg_"), NamespaceID: e.ns, ClusterID: clusterID, Type: typ, Schedule: raw,
		Status: model.TriggerActive, CreatedAt: now, UpdatedAt: now}
	if err := Arm(&tr, now, true); err != nil {
		e.t.Fatal(err)
	}
	tr, err := e.st.CreateTrigger(e.ctx, tr, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return tr
}

// schemaValue turns a Go map into the JSON value Parse would give.
func schemaValue(v any) any {
	raw, _ := json.Marshal(v)
	out, _ := schema.Parse(raw)
	return out
}

func (e *env) tick() {
	e.t.Helper()
	if err := e.sched.Tick(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) get(id string) store.Trigger {
	e.t.Helper()
	tr, err := e.st.GetTrigger(e.ctx, e.ns, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return tr
}

// history returns a trigger's history, oldest first.
func (e *env) history(id string) []store.HistoryItem {
	e.t.Helper()
	items, total, err := e.st.TriggerHistory(e.ctx, e.ns, id, "", 1000, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	if total != len(items) {
		e.t.Fatalf("history total %d, %d items", total, len(items))
	}
	for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
		items[i], items[j] = items[j], items[i]
	}
	return items
}

// outcome is how the test's "runner" ends runs.
type outcome struct {
	status string
	err    string
	metric *float64 // silhouette
}

// finish plays the runner: every queued run starts and ends as o says.
// It returns the run ids.
func (e *env) finish(o outcome) []string {
	e.t.Helper()
	var runs []string
	for {
		j, err := e.st.Claim(e.ctx, "test", time.Hour)
		if err != nil {
			e.t.Fatal(err)
		}
		if j == nil {
			return runs
		}
		run, err := e.st.RunByID(e.ctx, j.RunID)
		if err != nil {
			e.t.Fatal(err)
		}
		res := model.ExecutionResult{RunID: run.RunID, ClusterID: run.ClusterID, Status: model.StatusProcessing, CreatedAt: model.Time{Time: run.CreatedAt}}
		if err := e.st.StartRun(e.ctx, j, "test", mustJSON(res)); err != nil {
			e.t.Fatal(err)
		}
		res.Status = o.status
		out := store.Outcome{Status: o.status, ErrorMessage: o.err, DurationMS: 12.4}
		if o.status == store.StatusCompleted {
			res.NumClusters, res.NumPoints = 2, 10
			res.Metrics = &model.ExecutionMetrics{SilhouetteScore: o.metric}
			out.NumClusters, out.NumPoints = 2, 10
		}
		out.Result = mustJSON(res)
		if err := e.st.FinishRun(e.ctx, j, "test", out); err != nil {
			e.t.Fatal(err)
		}
		runs = append(runs, run.RunID)
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// runsOf counts a cluster's runs.
func (e *env) runsOf(clusterID string) int {
	e.t.Helper()
	page, _, err := e.st.ListRuns(e.ctx, e.ns, clusterID, store.Query{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Total
}
