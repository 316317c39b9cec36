package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/engine/internal/reftest"
	"github.com/clusterd/clusterd/schema"
)

// TestDensityAndAgglomerativeThroughRun runs one reference case of each of
// hdbscan, dbscan and agglomerative through engine.Fit (their packages test
// the rest) and checks the labels and the result's bookkeeping.
func TestDensityAndAgglomerativeThroughRun(t *testing.T) {
	for _, c := range []struct {
		alg, data, labels, params string
		clusters, noise           int
	}{
		{engine.HDBSCAN, "hdbscan/testdata/blobs2d.npy.gz", "hdbscan/testdata/blobs2d.labels.npy.gz", `{"min_cluster_size":10}`, 3, 43},
		{engine.DBSCAN, "dbscan/testdata/blobs2d.npy.gz", "dbscan/testdata/blobs2d.labels.npy.gz", `{"eps":0.37,"min_samples":12}`, 6, 592},
		{engine.Agglomerative, "agglomerative/testdata/blobs2d.npy.gz", "agglomerative/testdata/blobs2d_ward_threshold.labels.npy.gz", `{"distance_threshold":6.0}`, 26, 0},
	} {
		t.Run(c.alg, func(t *testing.T) {
			x, n, d := reftest.Matrix(t, filepath.FromSlash(c.data))
			want := reftest.Int32s(t, filepath.FromSlash(c.labels))
			res, err := engine.Fit(context.Background(), engine.Input{X: x, N: n, D: d},
				engine.Spec{Algorithm: c.alg, Params: []byte(c.params)}, engine.Options{Backend: backend()})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Labels, want) {
				t.Error("labels differ from the reference")
			}
			if res.NumClusters != c.clusters || res.Stats.NoisePoints != c.noise || len(res.Clusters) != c.clusters || res.Metrics == nil {
				t.Errorf("%d clusters (%d described), %d noise, metrics %v; want %d clusters, %d noise",
					res.NumClusters, len(res.Clusters), res.Stats.NoisePoints, res.Metrics, c.clusters, c.noise)
			}
			members := 0
			for _, cl := range res.Clusters {
				members += cl.Members
			}
			if members+res.Stats.NoisePoints != n {
				t.Errorf("%d members + %d noise ≠ %d points", members, res.Stats.NoisePoints, n)
			}
		})
	}
}

// TestAllNoise: a run where every point is noise is a valid result with no
// clusters and no metrics.
func TestAllNoise(t *testing.T) {
	in, _ := load(t, "blobs")
	for _, c := range []struct{ alg, params string }{
		{engine.DBSCAN, `{"eps":0.001}`},
		{engine.HDBSCAN, `{"min_cluster_size":5000}`},
	} {
		res, err := engine.Fit(context.Background(), in, engine.Spec{Algorithm: c.alg, Params: []byte(c.params)}, engine.Options{Backend: backend()})
		if err != nil {
			t.Fatalf("%s: %v", c.alg, err)
		}
		if res.NumClusters != 0 || res.Metrics != nil || len(res.Clusters) != 0 || res.Stats.NoisePoints != in.N {
			t.Errorf("%s: %d clusters, metrics %v, %d noise of %d", c.alg, res.NumClusters, res.Metrics, res.Stats.NoisePoints, in.N)
		}
		for _, l := range res.Labels {
			if l != -1 {
				t.Fatalf("%s: label %d, want all −1", c.alg, l)
			}
		}
	}
}

// TestDensityAndAgglomerativeBadParams: every invalid parameter is one
// problem located at the parameter, with pydantic's error type.
func TestDensityAndAgglomerativeBadParams(t *testing.T) {
	for _, c := range []struct {
		alg, params, param, typ, msg string
	}{
		{engine.HDBSCAN, `{"min_cluster_size":1}`, "min_cluster_size", "greater_than_equal", "greater than or equal to 2"},
		{engine.HDBSCAN, `{"min_samples":0}`, "min_samples", "greater_than_equal", "greater than or equal to 1"},
		{engine.HDBSCAN, `{"cluster_selection_method":"top"}`, "cluster_selection_method", "enum", `Input should be 'eom' or 'leaf'`},
		{engine.HDBSCAN, `{"alpha":0}`, "alpha", "greater_than", "greater than 0"},
		{engine.HDBSCAN, `{"cluster_selection_epsilon":-0.5}`, "cluster_selection_epsilon", "greater_than_equal", "greater than or equal to 0"},
		{engine.HDBSCAN, `{"metric":"cosine"}`, "metric", "enum", `'euclidean' or 'l2'`},
		{engine.HDBSCAN, `{"min_cluster_sise":5}`, "min_cluster_sise", "extra_forbidden", "Extra inputs are not permitted"},
		{engine.DBSCAN, `{"eps":0}`, "eps", "greater_than", "greater than 0"},
		{engine.DBSCAN, `{"eps":-1}`, "eps", "greater_than", "greater than 0"},
		{engine.DBSCAN, `{"metric":"manhattan"}`, "metric", "enum", `'euclidean', 'l2', 'cosine' or 'minkowski'`},
		{engine.DBSCAN, `{"metric":"minkowski","p":1}`, "p", "value_error", "p = 2"},
		{engine.DBSCAN, `{"min_samples":"five"}`, "min_samples", "int_type", "valid integer"},
		{engine.Agglomerative, `{"linkage":"median"}`, "linkage", "enum", `'ward', 'complete', 'average' or 'single'`},
		{engine.Agglomerative, `{"metric":"cosine"}`, "metric", "value_error", `"cosine" cannot be used with linkage "ward"`},
		{engine.Agglomerative, `{"linkage":"ward","affinity":"cosine"}`, "affinity", "value_error", `which needs "euclidean"`},
		{engine.Agglomerative, `{"n_clusters":3,"distance_threshold":2.5}`, "distance_threshold", "value_error", "cannot be set together with n_clusters"},
		{engine.Agglomerative, `{"n_clusters":null}`, "n_clusters", "value_error", "is null and distance_threshold is not set"},
		{engine.Agglomerative, `{"n_clusters":null,"distance_threshold":null}`, "n_clusters", "value_error", "set exactly one of them"},
		{engine.Agglomerative, `{"n_clusters":0}`, "n_clusters", "greater_than_equal", "greater than or equal to 1"},
		{engine.Agglomerative, `{"distance_threshold":-1}`, "distance_threshold", "greater_than_equal", "greater than or equal to 0"},
		{engine.Agglomerative, `{"connectivity":[[0,1],[1,0]]}`, "connectivity", "value_error", "not supported"},
	} {
		_, err := engine.ParseParams(c.alg, []byte(c.params))
		var ps schema.Problems
		if !errors.As(err, &ps) || len(ps) != 1 {
			t.Errorf("%s %s: error %v, want one problem", c.alg, c.params, err)
			continue
		}
		if p := ps[0]; len(p.Loc) != 1 || p.Loc[0] != c.param || p.Type != c.typ || !strings.Contains(p.Msg, c.msg) {
			t.Errorf("%s %s: %+v, want loc [%s] type %q message containing %q", c.alg, c.params, p, c.param, c.typ, c.msg)
		}
	}
	// Every problem of one set of parameters is reported at once.
	_, err := engine.ParseParams(engine.HDBSCAN, []byte(`{"min_cluster_size":1,"alpha":0,"metric":"l1","bogus":true}`))
	var ps schema.Problems
	if !errors.As(err, &ps) || len(ps) != 4 {
		t.Errorf("four problems: got %v", err)
	}
}

// TestDensityAndAgglomerativeDefaults checks the effective parameters.
func TestDensityAndAgglomerativeDefaults(t *testing.T) {
	for _, c := range []struct {
		alg, params string
		want        map[string]any
	}{
		{engine.HDBSCAN, `{}`, map[string]any{"min_cluster_size": 5, "min_samples": 5, "cluster_selection_epsilon": 0.0,
			"max_cluster_size": 0, "cluster_selection_method": "eom", "allow_single_cluster": false, "alpha": 1.0, "metric": "euclidean"}},
		{engine.HDBSCAN, `{"min_cluster_size":15,"min_samples":null}`, map[string]any{"min_cluster_size": 15, "min_samples": 15}},
		{engine.DBSCAN, `{}`, map[string]any{"eps": 0.5, "min_samples": 5, "metric": "euclidean"}},
		{engine.Agglomerative, `{}`, map[string]any{"n_clusters": 2, "distance_threshold": nil, "linkage": "ward", "metric": "euclidean"}},
		{engine.Agglomerative, `{"distance_threshold":3,"linkage":"average","metric":"cosine"}`,
			map[string]any{"n_clusters": nil, "distance_threshold": 3.0, "linkage": "average", "metric": "cosine"}},
	} {
		got, err := engine.ParseParams(c.alg, []byte(c.params))
		if err != nil {
			t.Fatalf("%s %s: %v", c.alg, c.params, err)
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s %s: %s = %v (%T), want %v (%T)", c.alg, c.params, k, got[k], got[k], v, v)
			}
		}
	}
}

// TestAgglomerativeDataErrors: more clusters than points, too many points
// for the distance matrix are rejected before any work, with precise
// errors (zero vectors under the cosine metric are accepted: see
// TestZeroVectorsUnderCosine).
func TestAgglomerativeDataErrors(t *testing.T) {
	small := engine.Input{X: []float32{0, 0, 1, 1, 0, 0, 5, 5}, N: 4, D: 2}
	big := engine.Input{X: make([]float32, 20001), N: 20001, D: 1}
	for i := range big.X {
		big.X[i] = float32(i)
	}
	for _, c := range []struct {
		in     engine.Input
		params string
		data   bool
		msg    string
	}{
		{small, `{"n_clusters":5}`, false, "n_clusters = 5 is more than the 4 points"},
		{big, `{"n_clusters":2}`, true, "is limited to 20000 points"},
	} {
		_, err := engine.Fit(context.Background(), c.in, engine.Spec{Algorithm: engine.Agglomerative, Params: []byte(c.params)}, engine.Options{Backend: backend()})
		var de *engine.DataError
		var pe *engine.ParamError
		if err == nil || errors.As(err, &de) != c.data || (!c.data && !errors.As(err, &pe)) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v (%T), want a %s error containing %q", c.params, err, err, map[bool]string{true: "data", false: "parameter"}[c.data], c.msg)
		}
	}
}
