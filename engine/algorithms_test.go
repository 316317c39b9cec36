package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/engine/internal/reftest"
	"github.com/clusterd/clusterd/internal/ari"
)

func runOn(t *testing.T, in engine.Input, alg, params string, p engine.Pipeline) *engine.Result {
	t.Helper()
	res, err := engine.Fit(context.Background(), in, engine.Spec{Algorithm: alg, Params: []byte(params), Pipeline: p},
		engine.Options{Backend: backend()})
	if err != nil {
		t.Fatalf("%s %s: %v", alg, params, err)
	}
	return res
}

func matrix(t *testing.T, path string) engine.Input {
	x, n, d := reftest.Matrix(t, filepath.FromSlash(path))
	return engine.Input{X: x, N: n, D: d}
}

// TestSpectralAgainstScikitLearn: spectral clustering's labels against
// scikit-learn 1.2.1's (engine/testdata/make_algos_reference.py), for the
// rbf, nearest_neighbors and precomputed_nearest_neighbors affinities and
// the kmeans, discretize and cluster_qr assignments: an adjusted Rand
// index of at least 0.99 on separated blobs and 0.95 on overlapping blobs
// and digits.
func TestSpectralAgainstScikitLearn(t *testing.T) {
	raw, err := os.ReadFile("spectral/testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Name   string          `json:"name"`
			Data   string          `json:"data"`
			Params json.RawMessage `json:"params"`
			MinARI float64         `json:"min_ari"`
		}
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) != 27 {
		t.Fatalf("%d cases", len(ref.Cases))
	}
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			in := matrix(t, "spectral/testdata/"+c.Data+".npy.gz")
			res := runOn(t, in, engine.Spectral, string(c.Params), engine.Pipeline{})
			want := reftest.Int32s(t, filepath.Join("spectral", "testdata", c.Name+".labels.npy.gz"))
			if a := ari.Index(res.Labels, want); a < c.MinARI {
				t.Errorf("adjusted Rand index %.4f, want ≥ %.2f", a, c.MinARI)
			}
		})
	}
}

// TestMixtureSeededAgainstScikitLearn: with seeded initialisations (every
// init_params, full and diag covariances), the median final lower bound
// over random_state 1–7 is within 0.5% of scikit-learn's median.
func TestMixtureSeededAgainstScikitLearn(t *testing.T) {
	raw, err := os.ReadFile("gmm/testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Name   string         `json:"name"`
			Data   string         `json:"data"`
			Params map[string]any `json:"params"`
			Seeds  []int          `json:"seeds"`
			Median float64        `json:"median"`
		}
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range ref.Cases {
		if c.Seeds == nil {
			continue
		}
		checked++
		t.Run(c.Name, func(t *testing.T) {
			in := matrix(t, "gmm/testdata/"+c.Data+".npy.gz")
			var lbs []float64
			for _, s := range c.Seeds {
				p := map[string]any{"random_state": s}
				for k, v := range c.Params {
					p[k] = v
				}
				b, _ := json.Marshal(p)
				res := runOn(t, in, engine.GaussianMixture, string(b), engine.Pipeline{})
				lbs = append(lbs, *res.Stats.LowerBound)
			}
			sort.Float64s(lbs)
			med := lbs[len(lbs)/2]
			if math.Abs(med-c.Median) > 0.005*math.Abs(c.Median) {
				t.Errorf("median lower bound %.5f, scikit-learn's %.5f", med, c.Median)
			}
		})
	}
	if checked != 16 {
		t.Errorf("%d seeded cases, want 16", checked)
	}
}

// TestMixtureRandomStartsAreScikitLearns: init_params "random" draws the
// initial responsibilities from numpy's RandomState(random_state) as
// scikit-learn does, over n_init 3 initialisations too, so the fit is
// scikit-learn's: the same lower bound (1e-9 relative) after the same
// number of iterations, for every covariance type.
func TestMixtureRandomStartsAreScikitLearns(t *testing.T) {
	raw, err := os.ReadFile("gmm/testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Name       string          `json:"name"`
			Data       string          `json:"data"`
			Params     json.RawMessage `json:"params"`
			LowerBound float64         `json:"exact_lower_bound"`
			NIter      int             `json:"n_iter"`
		}
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range ref.Cases {
		if c.LowerBound == 0 {
			continue
		}
		checked++
		in := matrix(t, "gmm/testdata/"+c.Data+".npy.gz")
		res := runOn(t, in, engine.GaussianMixture, string(c.Params), engine.Pipeline{})
		if lb := *res.Stats.LowerBound; math.Abs(lb-c.LowerBound) > 1e-9*math.Abs(c.LowerBound) || res.Stats.Iterations != c.NIter {
			t.Errorf("%s: lower bound %v after %d iterations, scikit-learn's %v after %d", c.Name, lb, res.Stats.Iterations, c.LowerBound, c.NIter)
		}
	}
	if checked != 4 {
		t.Errorf("%d exact cases, want 4", checked)
	}
}

// TestMixtureResult: centroids are the component means, members the points
// whose most probable component it is, and every point carries that
// probability; with sample_size, the others are predicted by the mixture.
func TestMixtureResult(t *testing.T) {
	in := matrix(t, "gmm/testdata/blobs.npy.gz")
	res := runOn(t, in, engine.GaussianMixture, `{"n_components":4,"covariance_type":"diag"}`, engine.Pipeline{})
	if res.NumClusters != 4 || len(res.Probabilities) != in.N || res.Stats.LowerBound == nil || !*res.Stats.Converged {
		t.Fatalf("%d clusters, %d probabilities, stats %+v", res.NumClusters, len(res.Probabilities), res.Stats)
	}
	for i, p := range res.Probabilities {
		if !(p > 0.25 && p <= 1) {
			t.Fatalf("point %d: probability %v", i, p)
		}
	}
	sampled := runOn(t, in, engine.GaussianMixture, `{"n_components":4,"covariance_type":"diag"}`, engine.Pipeline{SampleSize: 200})
	if sampled.Stats.FitSampleSize != 200 || len(sampled.Probabilities) != in.N {
		t.Fatalf("fit sample %d, %d probabilities", sampled.Stats.FitSampleSize, len(sampled.Probabilities))
	}
	if a := ari.Index(res.Labels, sampled.Labels); a < 0.95 {
		t.Errorf("sampled fit: adjusted Rand index %.3f against the full fit", a)
	}
}

// TestPipelinesOfTheNewAlgorithms: each algorithm runs with sample_size
// (the others assigned as it predicts) and hierarchically.
func TestPipelinesOfTheNewAlgorithms(t *testing.T) {
	in := matrix(t, "meanshift/testdata/blobs6d.npy.gz")
	// The sample's clustering agrees with the full one to minARI: mean shift
	// with cluster_all false leaves different orphans when its centres come
	// from half the points.
	for _, c := range []struct {
		alg, params string
		minARI      float64
	}{
		{engine.GaussianMixture, `{"n_components":4}`, 0.8},
		{engine.Spectral, `{"n_clusters":4,"affinity":"nearest_neighbors"}`, 0.8},
		{engine.Spectral, `{"n_clusters":4,"gamma":0.05,"assign_labels":"cluster_qr"}`, 0.8},
		{engine.MeanShift, `{}`, 0.8},
		{engine.MeanShift, `{"bandwidth":2.5,"cluster_all":false}`, 0.6},
		{engine.OPTICS, `{"min_samples":10}`, 0.8},
		{engine.OPTICS, `{"metric":"cosine","cluster_method":"dbscan","eps":0.05}`, 0.8},
	} {
		t.Run(c.alg+c.params, func(t *testing.T) {
			full := runOn(t, in, c.alg, c.params, engine.Pipeline{})
			if full.NumClusters < 2 {
				t.Fatalf("%d clusters", full.NumClusters)
			}
			sampled := runOn(t, in, c.alg, c.params, engine.Pipeline{SampleSize: 300})
			if a := ari.Index(full.Labels, sampled.Labels); a < c.minARI {
				t.Errorf("sample of 300: adjusted Rand index %.3f against the full fit", a)
			}
			h := runOn(t, in, c.alg, c.params, engine.Pipeline{Hierarchical: true, MaxHierarchyDepth: 2})
			if len(h.Leaf) != in.N || !slices.Equal(h.Labels, full.Labels) {
				t.Errorf("hierarchical: %d leaves; top level equal to the flat run: %v", len(h.Leaf), slices.Equal(h.Labels, full.Labels))
			}
		})
	}
}

// TestZeroVectorsUnderCosine: every algorithm with a cosine metric treats
// an all-zero vector as scikit-learn's cosine_distances does (similarity 0,
// distance 1 to every point) and reports how many there were. The
// references are scikit-learn's DBSCAN and OPTICS with metric cosine and,
// since AgglomerativeClustering itself refuses zero vectors (SciPy's NaN),
// its clustering of scikit-learn's precomputed cosine distances.
func TestZeroVectorsUnderCosine(t *testing.T) {
	in := matrix(t, "testdata/zerocos.npy.gz")
	var meta struct {
		ZeroVectors int `json:"zero_vectors"`
	}
	raw, err := os.ReadFile("testdata/zerocos.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &meta); err != nil || meta.ZeroVectors < 5 {
		t.Fatalf("%v, %d zero vectors", err, meta.ZeroVectors)
	}
	for _, c := range []struct{ alg, params, ref string }{
		{engine.DBSCAN, `{"eps":0.02,"min_samples":4,"metric":"cosine"}`, "dbscan"},
		{engine.OPTICS, `{"metric":"cosine","min_samples":5}`, "optics"},
		{engine.Agglomerative, `{"n_clusters":4,"metric":"cosine","linkage":"average"}`, "agglomerative_average"},
		{engine.Agglomerative, `{"n_clusters":4,"metric":"cosine","linkage":"complete"}`, "agglomerative_complete"},
		{engine.Agglomerative, `{"n_clusters":4,"metric":"cosine","linkage":"single"}`, "agglomerative_single"},
	} {
		t.Run(c.ref, func(t *testing.T) {
			res := runOn(t, in, c.alg, c.params, engine.Pipeline{})
			want := reftest.Int32s(t, "testdata/zerocos."+c.ref+".npy.gz")
			if a := ari.Index(res.Labels, want); a < 0.999 {
				t.Errorf("adjusted Rand index %.4f against scikit-learn", a)
			}
			if res.Stats.ZeroVectors != meta.ZeroVectors {
				t.Errorf("stats.zero_vectors %d, want %d", res.Stats.ZeroVectors, meta.ZeroVectors)
			}
		})
	}
}

// TestNewAlgorithmsRefuseWhatTheDataCannotHonour: parameters the data
// cannot honour name themselves (a 422 in the API, exit 2 in the CLI).
func TestNewAlgorithmsRefuseWhatTheDataCannotHonour(t *testing.T) {
	in := matrix(t, "meanshift/testdata/blobs2d.npy.gz")
	for _, c := range []struct{ alg, params, param string }{
		{engine.GaussianMixture, `{"n_components":501}`, "n_components"},
		{engine.GaussianMixture, `{"n_components":2,"means_init":[[0,0,0],[1,1,1]]}`, "means_init"},
		{engine.GaussianMixture, `{"n_components":3,"reg_covar":0,"init_params":"random_from_data","random_state":1}`, "reg_covar"},
		{engine.Spectral, `{"n_clusters":600}`, "n_clusters"},
		{engine.Spectral, `{"affinity":"nearest_neighbors","n_neighbors":900}`, "n_neighbors"},
		{engine.MeanShift, `{"seeds":[[1,2,3]]}`, "seeds"},
		{engine.MeanShift, `{"bandwidth":0.01,"seeds":[[500,500]]}`, "bandwidth"},
		{engine.OPTICS, `{"min_samples":501}`, "min_samples"},
	} {
		_, err := engine.Fit(context.Background(), in, engine.Spec{Algorithm: c.alg, Params: []byte(c.params)}, engine.Options{Backend: backend()})
		var pe *engine.ParamError
		if !errors.As(err, &pe) || pe.Param != c.param {
			t.Errorf("%s %s: error %v, want a ParamError naming %s", c.alg, c.params, err, c.param)
		}
	}
	// The dense rbf affinity is refused above its limit, before any work,
	// and CheckData finds it from the shape alone.
	big := engine.Input{X: make([]float32, 20000*2), N: 20000, D: 2}
	for i := range big.X {
		big.X[i] = float32(i % 97)
	}
	_, err := engine.Fit(context.Background(), big, engine.Spec{Algorithm: engine.Spectral, Params: []byte(`{}`)}, engine.Options{Backend: backend()})
	var pe *engine.ParamError
	if !errors.As(err, &pe) || pe.Param != "affinity" {
		t.Fatalf("error %v, want a ParamError naming affinity", err)
	}
	if err := engine.CheckData(engine.Spec{Algorithm: engine.Spectral, Params: []byte(`{}`)}, 20000, 2); !errors.As(err, &pe) || pe.Param != "affinity" {
		t.Errorf("CheckData: %v", err)
	}
	if err := engine.CheckData(engine.Spec{Algorithm: engine.Spectral, Params: []byte(`{}`), Pipeline: engine.Pipeline{SampleSize: 5000}}, 20000, 2); err != nil {
		t.Errorf("CheckData with a sample of 5,000: %v", err)
	}
}

// TestSpectralNearestNeighborsAtScale: the nearest-neighbours affinity with
// the sparse eigensolver clusters 100,000 points (the dense affinity would
// take 75 GiB).
func TestSpectralNearestNeighborsAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 points")
	}
	const n, d, k = 100000, 16, 8
	x, truth := reftest.BlobsWithLabels(n, d, k, 3)
	res := runOn(t, engine.Input{X: x, N: n, D: d}, engine.Spectral, `{"n_clusters":8,"affinity":"nearest_neighbors","n_init":1}`, engine.Pipeline{})
	if res.NumClusters != k || res.Stats.Converged == nil || !*res.Stats.Converged {
		t.Fatalf("%d clusters, converged %v", res.NumClusters, res.Stats.Converged)
	}
	if a := ari.Index(res.Labels, truth); a < 0.99 {
		t.Errorf("adjusted Rand index %.4f against the generating blobs", a)
	}
}
