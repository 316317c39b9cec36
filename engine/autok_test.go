package engine_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/internal/ari"
)

// TestAutoK: on 8 separated blobs, n_clusters "auto" over 2..12 picks 8 by
// silhouette, reports the whole curve, and finds the ground truth.
func TestAutoK(t *testing.T) {
	in, _ := load(t, "blobs")
	truth := labels(t, "blobs", "truth")
	res, err := engine.Fit(context.Background(), in, engine.Spec{Algorithm: engine.KMeans, Params: []byte(`{"n_clusters":"auto","k_min":2,"k_max":12,"n_init":3}`)}, engine.Options{Backend: backend()})
	if err != nil {
		t.Fatal(err)
	}
	sel := res.Stats.KSelection
	if sel == nil || sel.Chosen != 8 || len(sel.K) != 11 || len(sel.Silhouette) != 11 || res.NumClusters != 8 {
		t.Fatalf("selection %+v, %d clusters", sel, res.NumClusters)
	}
	for i, s := range sel.Silhouette {
		if sel.K[i] != 8 && s >= sel.Silhouette[6] {
			t.Errorf("k=%d silhouette %.4f ≥ k=8's %.4f", sel.K[i], s, sel.Silhouette[6])
		}
	}
	if a := ari.Index(res.Labels, truth); a != 1 {
		t.Errorf("ARI %v", a)
	}
	if res.Stats.Parameters["n_clusters"] != "auto" {
		t.Errorf("parameters %v", res.Stats.Parameters)
	}
	for _, bad := range []string{`{"n_clusters":"auto","k_min":5,"k_max":3}`, `{"n_clusters":4,"k_max":9}`, `{"n_clusters":"many"}`, `{"n_clusters":"auto","k_min":1}`} {
		if _, err := engine.ParseParams(engine.KMeans, json.RawMessage(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestDensitySampling: DBSCAN and HDBSCAN fitted on a sample label the other
// points by the nearest clustered sample point within reach; far outliers
// stay noise, and the blobs' structure is kept.
func TestDensitySampling(t *testing.T) {
	in, _ := load(t, "blobs")
	truth := labels(t, "blobs", "truth")
	r := rand.New(rand.NewPCG(1, 2))
	x := append([]float32(nil), in.X...)
	const outliers = 20
	for i := 0; i < outliers; i++ {
		for t := 0; t < in.D; t++ {
			x = append(x, float32(200+r.Float64()*50))
		}
		truth = append(truth, -1)
	}
	data := engine.Input{X: x, N: in.N + outliers, D: in.D}
	for _, c := range []struct {
		alg, params string
		minARI      float64 // HDBSCAN leaves some blob edges as noise, on all points too
	}{
		{engine.DBSCAN, `{"eps":7,"min_samples":5}`, 0.97}, // a sparser sample has fewer core points: some blob edges become noise
		{engine.HDBSCAN, `{"min_cluster_size":15}`, 0.9},
	} {
		res, err := engine.Fit(context.Background(), data, engine.Spec{Algorithm: c.alg, Params: []byte(c.params), Pipeline: engine.Pipeline{SampleSize: 800}},
			engine.Options{Backend: backend()})
		if err != nil {
			t.Fatalf("%s: %v", c.alg, err)
		}
		for i := in.N; i < data.N; i++ {
			if res.Labels[i] != -1 {
				t.Fatalf("%s: outlier %d got label %d", c.alg, i, res.Labels[i])
			}
		}
		if a := ari.Index(res.Labels[:in.N], truth[:in.N]); a < c.minARI || res.NumClusters != 8 {
			t.Errorf("%s: %d clusters, ARI %.4f on the blobs", c.alg, res.NumClusters, a)
		}
		if res.Stats.FitSampleSize != 800 {
			t.Errorf("%s: fit sample %d", c.alg, res.Stats.FitSampleSize)
		}
	}
}
