package runner

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/internal/syncbuf"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/telemetry"
)

// gated runs on the CPU once gate is closed, after announcing each call on
// entered; it returns early with ctx's error when the run is interrupted.
type gated struct {
	cpu     dispatch.Executor
	entered chan struct{}
	gate    chan struct{}
	calls   atomic.Int32
}

func (g *gated) Name() string { return "cpu" }

func (g *gated) Fit(ctx context.Context, in engine.Input, spec engine.Spec, p func(engine.Progress)) (*engine.Result, error) {
	g.calls.Add(1)
	g.entered <- struct{}{}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.cpu.Fit(ctx, in, spec, p)
}

type gatedBackends struct {
	g   *gated
	cpu dispatch.Executor
}

func (b gatedBackends) Choose(string) (dispatch.Executor, *dispatch.Unavailable, error) {
	return b.g, nil, nil
}
func (b gatedBackends) CPU() dispatch.Executor { return b.cpu }

type fixture struct {
	st            *store.Store
	dir           string
	ns, clusterID string
	g             *gated
	r             *Runner
	log           *syncbuf.Buffer // the runner's log, read by the test while workers write it
}

// newFixture stores 300 two-dimensional documents in three groups and a
// k-means cluster over them, and makes (not starts) a runner on them whose
// executor waits for f.g.gate.
func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.OpenWith(store.Options{Dir: dir, MapBytes: 1}) // runs map their vectors
	if err != nil {
		t.Fatal(err)
	}
	ns, err := st.ResolveNamespace(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	col, err := st.CreateCollection(ctx, ns.ID, "points", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	docs := make([]store.DocumentInput, 300)
	for i := range docs {
		docs[i] = store.DocumentInput{ID: fmt.Sprintf("d%d", i),
			Features: map[string][]float32{"emb": {float32(i%3*10) + rng.Float32(), rng.Float32()}}}
	}
	if _, err := st.Upsert(ctx, col.ID, &store.SliceSource{Docs: docs}); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`{"collection_ids":[%q],"vector_config":{"clustering_method":"kmeans","algorithm_params":{"n_clusters":3}}}`, col.ID)
	cl, err := st.CreateCluster(ctx, store.Cluster{ID: "clust_t", NamespaceID: ns.ID, Config: json.RawMessage(conf)})
	if err != nil {
		t.Fatal(err)
	}
	bm, err := dispatch.New(dispatch.Options{Mode: dispatch.ModeCPU})
	if err != nil {
		t.Fatal(err)
	}
	g := &gated{cpu: bm.CPU(), entered: make(chan struct{}, 8), gate: make(chan struct{})}
	log := &syncbuf.Buffer{}
	cfg.Store, cfg.Backends, cfg.Metrics = st, gatedBackends{g, bm.CPU()}, telemetry.New(prometheus.NewRegistry())
	cfg.Logger = slog.New(slog.NewTextHandler(log, nil))
	cfg.Poll = 20 * time.Millisecond
	r := New(cfg)
	t.Cleanup(func() {
		r.Stop(context.Background())
		st.Close()
	})
	return &fixture{st: st, dir: dir, ns: ns.ID, clusterID: cl.ID, g: g, r: r, log: log}
}

func (f *fixture) enqueue(t *testing.T) store.Run {
	t.Helper()
	run, _, err := f.st.Enqueue(context.Background(), store.NewRun{NamespaceID: f.ns, ClusterID: f.clusterID,
		Initial: func(runID, taskID string, at time.Time) (json.RawMessage, error) {
			return json.Marshal(map[string]any{"run_id": runID, "cluster_id": f.clusterID, "status": "pending"})
		}})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// entered waits for the next executor call.
func (f *fixture) entered(t *testing.T) {
	t.Helper()
	select {
	case <-f.g.entered:
	case <-time.After(10 * time.Second):
		t.Fatalf("the executor was not called; log:\n%s", f.log)
	}
}

// waitFor polls cond for up to 10 s.
func (f *fixture) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s did not happen; log:\n%s", what, f.log)
}

// TestTakenOverLeaseStopsTheFirstWorker: when a worker's lease expires (a
// long pause) and another worker of the same process claims the job, the
// first one's heartbeat sees the lease lost and stops its execution, so the
// run is not executed twice at once. (With one lease name per process the
// first worker's heartbeats kept succeeding.)
func TestTakenOverLeaseStopsTheFirstWorker(t *testing.T) {
	f := newFixture(t, Config{ConcurrentRuns: 2, Lease: 600 * time.Millisecond})
	run := f.enqueue(t)
	if err := f.r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.entered(t)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.dir, "clusterd.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE jobs SET lease_until = 0 WHERE run_id = ?`, run.RunID); err != nil {
		t.Fatal(err)
	}
	f.entered(t) // the other worker's claim
	f.waitFor(t, "the first worker giving the run up", func() bool { return strings.Contains(f.log.String(), "lost the job's lease") })
	close(f.g.gate)
	f.waitFor(t, "the run completing", func() bool {
		r, err := f.st.RunByID(context.Background(), run.RunID)
		return err == nil && r.Status == store.StatusCompleted
	})
	if n := f.g.calls.Load(); n != 2 {
		t.Errorf("%d executions, want 2 (the first interrupted)", n)
	}
}

// TestCancelAcceptedWhileNoProcessRanIt: a run canceled while its process
// was dead (cancel_requested set, nobody to stop) ends canceled when the
// next process claims it, without executing.
func TestCancelAcceptedWhileNoProcessRanIt(t *testing.T) {
	f := newFixture(t, Config{ConcurrentRuns: 1})
	ctx := context.Background()
	run := f.enqueue(t)
	job, err := f.st.Claim(ctx, "a-process-that-died", time.Minute)
	if err != nil || job == nil {
		t.Fatalf("claim: %v %v", job, err)
	}
	if err := f.st.StartRun(ctx, job, "a-process-that-died", json.RawMessage(`{"status":"processing"}`)); err != nil {
		t.Fatal(err)
	}
	r, err := f.st.CancelRun(ctx, f.ns, f.clusterID, run.RunID, func(store.Run) (json.RawMessage, error) { return json.RawMessage(`{}`), nil })
	if err != nil || !r.CancelRequested {
		t.Fatalf("cancel: %+v %v", r, err)
	}
	if err := f.r.Start(ctx); err != nil { // the next process: orphans requeued
		t.Fatal(err)
	}
	f.waitFor(t, "the run ending", func() bool {
		r, err := f.st.RunByID(ctx, run.RunID)
		return err == nil && r.Status != store.StatusProcessing
	})
	got, _ := f.st.RunByID(ctx, run.RunID)
	if got.Status != store.StatusFailed || got.ErrorMessage != store.CanceledMessage || f.g.calls.Load() != 0 {
		t.Errorf("status %s, error %q, %d executions; want failed, %q, 0", got.Status, got.ErrorMessage, f.g.calls.Load(), store.CanceledMessage)
	}
}

// TestRunOfDeletedClusterLeavesNoFiles: a cluster deleted while its run
// executes (the delete removes the run's directory first) leaves no
// artifacts and no output collection behind once the run finishes.
func TestRunOfDeletedClusterLeavesNoFiles(t *testing.T) {
	f := newFixture(t, Config{ConcurrentRuns: 1})
	run := f.enqueue(t)
	if err := f.r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.entered(t)
	if err := f.st.DeleteCluster(context.Background(), f.ns, f.clusterID); err != nil {
		t.Fatal(err)
	}
	close(f.g.gate)
	f.waitFor(t, "the deleted run's files being removed", func() bool { return strings.Contains(f.log.String(), "its files are removed") })
	if _, err := os.Stat(f.st.RunDir(run.RunID)); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(f.st.RunDir(run.RunID))
		t.Errorf("run directory still there (%v): %v", err, entries)
	}
	// Nor an output collection: the run cannot create one for a cluster
	// that no longer exists.
	page, err := f.st.ListCollections(context.Background(), f.ns, store.Query{Limit: 10})
	if err != nil || len(page.Results) != 1 || page.Results[0].Name != "points" {
		t.Errorf("collections after the deleted cluster's run: %+v %v", page.Results, err)
	}
}
