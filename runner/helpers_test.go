package runner

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clusterd/clusterd/artifacts"
	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/telemetry"
)

// world is a store with a (not started) runner on the CPU; runs are
// executed synchronously by runOnce.
type world struct {
	t   *testing.T
	dir string
	st  *store.Store
	ns  string
	r   *Runner
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	// Every run maps its stored vectors (store.MapVectors), however few:
	// a use of them after the run released them faults.
	st, err := store.OpenWith(store.Options{Dir: dir, MapBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := st.ResolveNamespace(context.Background(), "", true)
	if err != nil {
		t.Fatal(err)
	}
	bm, err := dispatch.New(dispatch.Options{Mode: dispatch.ModeCPU})
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{Store: st, Backends: bm, Metrics: telemetry.New(prometheus.NewRegistry()),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() { st.Close() })
	return &world{t: t, dir: dir, st: st, ns: ns.ID, r: r}
}

// collection creates a collection holding docs.
func (w *world) collection(name string, docs []store.DocumentInput) store.Collection {
	w.t.Helper()
	ctx := context.Background()
	c, err := w.st.CreateCollection(ctx, w.ns, name, "", nil)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.st.Upsert(ctx, c.ID, &store.SliceSource{Docs: docs}); err != nil {
		w.t.Fatal(err)
	}
	c, _ = w.st.GetCollection(ctx, w.ns, c.ID)
	return c
}

// cluster stores a cluster definition, validated and completed with the
// contract's defaults as the API stores it.
func (w *world) cluster(id, name, body string) store.Cluster {
	w.t.Helper()
	v, ps := model.CreateClusterRequestModel.Decode([]byte(body), nil)
	if len(ps) > 0 {
		w.t.Fatalf("cluster definition: %v", ps)
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.t.Fatal(err)
	}
	cl, err := w.st.CreateCluster(context.Background(), store.Cluster{ID: id, NamespaceID: w.ns, Name: name, Config: b})
	if err != nil {
		w.t.Fatal(err)
	}
	return cl
}

// execute runs the cluster once, synchronously, and returns the finished
// run and its result.
func (w *world) execute(clusterID string) (store.Run, model.ExecutionResult) {
	w.t.Helper()
	ctx := context.Background()
	run, _, err := w.st.Enqueue(ctx, store.NewRun{NamespaceID: w.ns, ClusterID: clusterID,
		Initial: func(runID, taskID string, at time.Time) (json.RawMessage, error) {
			return json.Marshal(model.ExecutionResult{RunID: runID, ClusterID: clusterID, Status: model.StatusPending, CreatedAt: model.Time{Time: at}})
		}})
	if err != nil {
		w.t.Fatal(err)
	}
	job, err := w.st.Claim(ctx, "test", time.Minute)
	if err != nil || job == nil || job.RunID != run.RunID {
		w.t.Fatalf("claim: %+v %v", job, err)
	}
	w.r.process(ctx, job, "test")
	run, err = w.st.RunByID(ctx, run.RunID)
	if err != nil {
		w.t.Fatal(err)
	}
	var res model.ExecutionResult
	if err := json.Unmarshal(run.Result, &res); err != nil {
		w.t.Fatal(err)
	}
	return run, res
}

// completed is execute that requires the run to complete.
func (w *world) completed(clusterID string) (store.Run, model.ExecutionResult) {
	w.t.Helper()
	run, res := w.execute(clusterID)
	if run.Status != store.StatusCompleted {
		w.t.Fatalf("run %s: %s", run.Status, run.ErrorMessage)
	}
	return run, res
}

func (w *world) members(run store.Run) []artifacts.Member {
	w.t.Helper()
	m, _, err := artifacts.Local(w.st.Dir()).ReadMembers(context.Background(), run.ArtifactsKey(), 0, -1)
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *world) centroids(run store.Run) []artifacts.Centroid {
	w.t.Helper()
	c, err := artifacts.Local(w.st.Dir()).ReadCentroids(context.Background(), run.ArtifactsKey())
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// documents lists a collection's documents with their vectors, by id.
func (w *world) documents(collection string) map[string]store.Document {
	w.t.Helper()
	ctx := context.Background()
	col, err := w.st.GetCollection(ctx, w.ns, collection)
	if err != nil {
		w.t.Fatal(err)
	}
	page, err := w.st.ListDocuments(ctx, col.ID, store.Query{Limit: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]store.Document{}
	for _, d := range page.Results {
		full, err := w.st.GetDocument(ctx, col.ID, d.ID)
		if err != nil {
			w.t.Fatal(err)
		}
		out[d.ID] = full
	}
	return out
}

func payloadOf(t *testing.T, d store.Document) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(d.Payload, &m); err != nil {
		t.Fatalf("payload of %s: %v", d.ID, err)
	}
	return m
}

// blobs returns n points of dimension d around k centres (spread 10,
// noise sd), labelled i%k.
func blobs(rng *rand.Rand, n, d, k int, sd float64) ([][]float32, []int) {
	centres := make([][]float64, k)
	for j := range centres {
		centres[j] = make([]float64, d)
		for t := range centres[j] {
			centres[j][t] = rng.NormFloat64() * 10
		}
	}
	x := make([][]float32, n)
	truth := make([]int, n)
	for i := range x {
		truth[i] = i % k
		x[i] = make([]float32, d)
		for t := range x[i] {
			x[i][t] = float32(centres[truth[i]][t] + rng.NormFloat64()*sd)
		}
	}
	return x, truth
}

// bruteMetrics computes scikit-learn's silhouette_score,
// davies_bouldin_score and calinski_harabasz_score by their definitions,
// in float64, over the rows with a label ≥ 0 (any values; all pairs: no
// sampling).
func bruteMetrics(x [][]float64, sparse []int) (sil, db, ch float64) {
	var rows []int
	dense := map[int]int{}
	labels := make([]int, len(sparse))
	for i, l := range sparse {
		labels[i] = -1
		if l >= 0 {
			if _, ok := dense[l]; !ok {
				dense[l] = len(dense)
			}
			labels[i] = dense[l]
			rows = append(rows, i)
		}
	}
	k := len(dense)
	dist := func(a, b []float64) float64 {
		var s float64
		for t := range a {
			s += (a[t] - b[t]) * (a[t] - b[t])
		}
		return math.Sqrt(s)
	}
	size := make([]float64, k)
	for _, i := range rows {
		size[labels[i]]++
	}
	for _, i := range rows {
		sums := make([]float64, k)
		for _, j := range rows {
			if i != j {
				sums[labels[j]] += dist(x[i], x[j])
			}
		}
		l := labels[i]
		if size[l] <= 1 {
			continue
		}
		a := sums[l] / (size[l] - 1)
		b := math.Inf(1)
		for c := 0; c < k; c++ {
			if c != l && size[c] > 0 {
				b = math.Min(b, sums[c]/size[c])
			}
		}
		sil += (b - a) / math.Max(a, b)
	}
	sil /= float64(len(rows))
	d := len(x[0])
	cent := make([][]float64, k)
	mean := make([]float64, d)
	for c := range cent {
		cent[c] = make([]float64, d)
	}
	for _, i := range rows {
		for t, v := range x[i] {
			cent[labels[i]][t] += v / size[labels[i]]
			mean[t] += v / float64(len(rows))
		}
	}
	intra := make([]float64, k)
	var w, b float64
	for _, i := range rows {
		e := dist(x[i], cent[labels[i]])
		intra[labels[i]] += e / size[labels[i]]
		w += e * e
	}
	for c := 0; c < k; c++ {
		e := dist(cent[c], mean)
		b += size[c] * e * e
	}
	ch = b * float64(len(rows)-k) / (w * float64(k-1))
	for c := 0; c < k; c++ {
		worst := 0.0
		for o := 0; o < k; o++ {
			if o != c {
				worst = math.Max(worst, (intra[c]+intra[o])/dist(cent[c], cent[o]))
			}
		}
		db += worst / float64(k)
	}
	return sil, db, ch
}

// sklearnPython is a python3 that imports sklearn, or "" (the checks that
// need it are skipped).
func sklearnPython() string {
	findPython.Do(func() {
		for _, p := range []string{"python3", "/usr/bin/python3"} {
			if exec.Command(p, "-c", "import sklearn").Run() == nil {
				python = p
				return
			}
		}
	})
	return python
}

var (
	findPython sync.Once
	python     string
)

// sklearnMetrics scores labels on x with scikit-learn (rows labelled −1
// left out).
func sklearnMetrics(t *testing.T, python string, x [][]float64, labels []int) (sil, db, ch float64) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.json")
	b, _ := json.Marshal(map[string]any{"x": x, "labels": labels})
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
import json, sys
import numpy as np
from sklearn.metrics import silhouette_score, davies_bouldin_score, calinski_harabasz_score
d = json.load(open(sys.argv[1]))
x, l = np.array(d["x"], dtype=np.float64), np.array(d["labels"])
keep = l >= 0
x, l = x[keep], l[keep]
print(json.dumps([silhouette_score(x, l), davies_bouldin_score(x, l), calinski_harabasz_score(x, l)]))
`
	out, err := exec.Command(python, "-c", script, in).CombinedOutput()
	if err != nil {
		t.Fatalf("scikit-learn: %v\n%s", err, out)
	}
	var v []float64
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &v); err != nil || len(v) != 3 {
		t.Fatalf("scikit-learn output %q: %v", out, err)
	}
	return v[0], v[1], v[2]
}

func wide(x []float32, d int) [][]float64 {
	out := make([][]float64, len(x)/d)
	for i := range out {
		out[i] = make([]float64, d)
		for t := range out[i] {
			out[i][t] = float64(x[i*d+t])
		}
	}
	return out
}

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
