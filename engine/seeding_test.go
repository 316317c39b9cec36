package engine_test

import (
	"context"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/engine/kmeans"
)

// TestCoresetSeedingMatchesScikitLearn: on 40,000 points (more than the
// automatic coreset of 4,096), k-means seeds from a coreset; over seeds
// 1–7 its median objective after 20 iterations must be within 1% of
// scikit-learn's (greedy k-means++ on every point), and init_size ≥ n must
// seed on every point as before.
func TestCoresetSeedingMatchesScikitLearn(t *testing.T) {
	in, ref := load(t, "large_overlap")
	run := func(seed int64, extra map[string]any) *engine.Result {
		p := map[string]any{"n_clusters": ref.KMeans.NClusters, "n_init": 1, "max_iter": ref.KMeans.MaxIter, "tol": 0, "random_state": seed}
		for k, v := range extra {
			p[k] = v
		}
		params, _ := json.Marshal(p)
		res, err := engine.Fit(context.Background(), in, engine.Spec{Algorithm: engine.KMeans, Params: params}, engine.Options{Backend: backend()})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var got []float64
	for seed := int64(1); seed <= int64(len(ref.KMeans.Objectives)); seed++ {
		res := run(seed, nil)
		if res.Stats.Seeding != engine.SeedingCoreset || res.Stats.InitSampleSize != 4096 || res.Stats.SeedingIterations < 1 {
			t.Fatalf("seed %d: seeding %q from %d points, %d iterations; want a coreset of 4096, refined", seed,
				res.Stats.Seeding, res.Stats.InitSampleSize, res.Stats.SeedingIterations)
		}
		got = append(got, *res.Stats.Inertia)
	}
	sort.Float64s(got)
	med := got[len(got)/2]
	t.Logf("median objective %.6g, scikit-learn %.6g (ratio %.4f); ours %v", med, ref.KMeans.Median, med/ref.KMeans.Median, got)
	if med > 1.01*ref.KMeans.Median {
		t.Errorf("median objective %.6g is more than 1%% above scikit-learn's %.6g", med, ref.KMeans.Median)
	}
	exact := run(1, map[string]any{"init_size": in.N})
	if exact.Stats.Seeding != engine.SeedingGreedy || exact.Stats.InitSampleSize != in.N || exact.Stats.SeedingIterations != 0 {
		t.Errorf("init_size = n: seeding %q from %d points, want greedy k-means++ on all %d", exact.Stats.Seeding, exact.Stats.InitSampleSize, in.N)
	}
	small := run(1, map[string]any{"init_size": 5000})
	if small.Stats.Seeding != engine.SeedingCoreset || small.Stats.InitSampleSize != 5000 {
		t.Errorf("init_size 5000: seeding %q from %d points", small.Stats.Seeding, small.Stats.InitSampleSize)
	}
}

// TestBoundedEqualsPlainManyClusters: with k = 200 centres on overlapping
// blobs (the bounds update leaves the largest moves out and checks the
// rows against them), bounded iterations give plain Lloyd's labels, objective
// and iterations, while measuring fewer rows.
func TestBoundedEqualsPlainManyClusters(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, d, k = 30000, 12, 200
	centres := make([]float64, k*d)
	for i := range centres {
		centres[i] = r.NormFloat64() * 2
	}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := r.IntN(k)
		for t := 0; t < d; t++ {
			x[i*d+t] = float32(centres[c*d+t] + r.NormFloat64())
		}
	}
	in := engine.Input{X: x, N: n, D: d}
	before := maps.Clone(kmeans.ExcludedCounts())
	for _, init := range []string{"k-means++", "random"} {
		spec := engine.Spec{Algorithm: engine.KMeans, Params: []byte(`{"n_clusters":200,"n_init":1,"max_iter":40,"tol":0,"init":"` + init + `"}`)}
		bounded, err := engine.Fit(context.Background(), in, spec, engine.Options{Backend: backend()})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := engine.Fit(context.Background(), in, spec, engine.Options{Backend: plainOnly{backend()}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(bounded.Labels, plain.Labels) || relErr(*bounded.Stats.Inertia, *plain.Stats.Inertia) > 1e-9 || bounded.Stats.Iterations != plain.Stats.Iterations {
			t.Errorf("%s: bounded and plain iterations differ (inertia %.9g vs %.9g, %d vs %d iterations)", init,
				*bounded.Stats.Inertia, *plain.Stats.Inertia, bounded.Stats.Iterations, plain.Stats.Iterations)
		}
		if full := bounded.Stats.Iterations * n; bounded.Stats.RowsMeasured >= full/2 {
			t.Errorf("%s: bounded iterations measured %d rows of %d", init, bounded.Stats.RowsMeasured, full)
		}
		t.Logf("%s: %d iterations, bounded measured %.1f%% of the rows", init, bounded.Stats.Iterations, 100*float64(bounded.Stats.RowsMeasured)/float64(bounded.Stats.Iterations*n))
	}
	excluded := 0
	for e, c := range kmeans.ExcludedCounts() {
		if e > 0 {
			excluded += c - before[e]
		}
	}
	t.Logf("bounds updates by number of excluded centres: %v", kmeans.ExcludedCounts())
	if excluded == 0 {
		t.Error("no bounds update left a centre out: the check against excluded centres was not exercised")
	}
}

// TestPhaseSeconds: every run reports every phase; k-means' seeding and
// iterations are measured, and the engine's phases add up to at most the
// run's duration.
func TestPhaseSeconds(t *testing.T) {
	in, _ := load(t, "blobs")
	for _, alg := range []string{engine.KMeans, engine.MiniBatchKMeans, engine.DBSCAN} {
		res, err := engine.Fit(context.Background(), in, engine.Spec{Algorithm: alg}, engine.Options{Backend: backend()})
		if err != nil {
			t.Fatal(err)
		}
		p := res.Stats.PhaseSeconds
		if p.Iterations <= 0 || p.Metrics <= 0 || p.Total() > res.Stats.DurationSeconds {
			t.Errorf("%s: phases %v, duration %.4fs", alg, p, res.Stats.DurationSeconds)
		}
		if (alg != engine.DBSCAN) != (p.Seeding > 0) {
			t.Errorf("%s: seeding %.4fs", alg, p.Seeding)
		}
		raw, _ := json.Marshal(res.Stats)
		var back struct {
			Phases map[string]float64 `json:"phase_seconds"`
		}
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"load", "preprocessing", "seeding", "iterations", "metrics", "projection", "labels", "artifacts", "outputs"} {
			if _, ok := back.Phases[name]; !ok {
				t.Errorf("%s: stats.phase_seconds has no %q: %s", alg, name, raw)
			}
		}
	}
}
