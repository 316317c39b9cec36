package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/internal/ari"
	"github.com/clusterd/clusterd/internal/npy"
	"github.com/clusterd/clusterd/schema"
)

func runPipeline(t *testing.T, in engine.Input, params string, p engine.Pipeline) *engine.Result {
	t.Helper()
	res, err := engine.Fit(context.Background(), in, engine.Spec{Algorithm: engine.KMeans, Params: []byte(params), Pipeline: p}, engine.Options{Backend: backend()})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func steps(s ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(s))
	for i, v := range s {
		out[i] = json.RawMessage(v)
	}
	return out
}

// TestPCAMatchesScikitLearn: the pca step's output equals scikit-learn's
// PCA(n_components=5).fit_transform on digits, per component up to sign,
// within 1e-3 of the component's scale.
func TestPCAMatchesScikitLearn(t *testing.T) {
	in, _ := load(t, "digits")
	want, n, k, err := npy.ReadMatrixFile("testdata/digits.pca5.npy")
	if err != nil {
		t.Fatal(err)
	}
	res := runPipeline(t, in, `{"n_clusters":10,"n_init":1}`, engine.Pipeline{Preprocessing: steps(`{"method":"pca","n_components":5}`)})
	got := res.Vectors
	if got.N != n || got.D != k {
		t.Fatalf("pca output %d×%d, want %d×%d", got.N, got.D, n, k)
	}
	for c := 0; c < k; c++ {
		var scale, dot float64
		for i := 0; i < n; i++ {
			scale = math.Max(scale, math.Abs(float64(want[i*k+c])))
			dot += float64(want[i*k+c]) * float64(got.X[i*k+c])
		}
		sign := 1.0
		if dot < 0 {
			sign = -1
		}
		for i := 0; i < n; i++ {
			if e := math.Abs(sign*float64(got.X[i*k+c]) - float64(want[i*k+c])); e > 1e-3*scale {
				t.Fatalf("component %d row %d: %v, scikit-learn %v", c, i, sign*float64(got.X[i*k+c]), want[i*k+c])
			}
		}
	}
}

func TestNormalizeAndWhitening(t *testing.T) {
	in, _ := load(t, "blobs_overlap")
	res := runPipeline(t, in, `{"n_clusters":12,"n_init":1}`, engine.Pipeline{Preprocessing: steps(`{"method":"normalize"}`)})
	for i := 0; i < res.Vectors.N; i++ {
		var s float64
		for _, v := range res.Vectors.X[i*res.Vectors.D : (i+1)*res.Vectors.D] {
			s += float64(v) * float64(v)
		}
		if math.Abs(s-1) > 1e-5 {
			t.Fatalf("row %d has squared norm %v after normalize", i, s)
		}
	}
	// ZCA with a tiny shrinkage: the whitened data's covariance is close to I.
	res = runPipeline(t, in, `{"n_clusters":12,"n_init":1}`, engine.Pipeline{Preprocessing: steps(`{"method":"whitening","shrinkage":1e-6}`)})
	v := res.Vectors
	mean := make([]float64, v.D)
	for i := 0; i < v.N; i++ {
		for t := 0; t < v.D; t++ {
			mean[t] += float64(v.X[i*v.D+t]) / float64(v.N)
		}
	}
	for a := 0; a < v.D; a++ {
		for b := 0; b < v.D; b++ {
			var c float64
			for i := 0; i < v.N; i++ {
				c += (float64(v.X[i*v.D+a]) - mean[a]) * (float64(v.X[i*v.D+b]) - mean[b])
			}
			c /= float64(v.N - 1)
			want := 0.0
			if a == b {
				want = 1
			}
			if math.Abs(c-want) > 1e-3 {
				t.Fatalf("whitened covariance[%d,%d] = %v, want %v", a, b, c, want)
			}
		}
	}
	// The input itself is never modified.
	orig, _ := load(t, "blobs_overlap")
	if !slices.Equal(in.X, orig.X) {
		t.Fatal("preprocessing modified the input")
	}
}

// TestSampleSize: fitted on 400 points, every other point is assigned to the
// nearest centre; on separated blobs that is still the ground truth.
func TestSampleSize(t *testing.T) {
	in, _ := load(t, "blobs")
	truth := labels(t, "blobs", "truth")
	res := runPipeline(t, in, `{"n_clusters":8,"n_init":3}`, engine.Pipeline{SampleSize: 400})
	if a := ari.Index(res.Labels, truth); a != 1 {
		t.Errorf("ARI %v with sample_size 400", a)
	}
	if res.Stats.FitSampleSize != 400 || len(res.Labels) != in.N {
		t.Errorf("fit_sample_size %d, %d labels", res.Stats.FitSampleSize, len(res.Labels))
	}
}

// TestHierarchy checks the naming, parents, levels, the depth limit and that
// every point's deepest cluster lies inside its top-level cluster.
func TestHierarchy(t *testing.T) {
	in, _ := load(t, "digits")
	res := runPipeline(t, in, `{"n_clusters":4,"n_init":1}`, engine.Pipeline{Hierarchical: true, MaxHierarchyDepth: 3})
	all := res.AllClusters()
	byID := map[string]engine.Cluster{}
	for _, c := range all {
		byID[c.ID] = c
	}
	if len(res.SubClusters) == 0 {
		t.Fatal("no sub-clusters")
	}
	maxLevel := 0
	for _, c := range res.SubClusters {
		p, ok := byID[c.Parent]
		if !ok || c.Level != p.Level+1 || !strings.HasPrefix(c.ID, c.Parent+"_sub_") {
			t.Fatalf("%s: parent %q level %d", c.ID, c.Parent, c.Level)
		}
		maxLevel = max(maxLevel, c.Level)
	}
	if maxLevel != 2 {
		t.Errorf("deepest level %d, want 2 (max_hierarchy_depth 3)", maxLevel)
	}
	for i, l := range res.Labels {
		leaf := all[res.Leaf[i]]
		if !strings.HasPrefix(leaf.ID, all[l].ID) {
			t.Fatalf("point %d: leaf %s outside its cluster %s", i, leaf.ID, all[l].ID)
		}
	}
	// Children partition their parent (k-means leaves no noise).
	sum := map[string]int{}
	for _, c := range res.SubClusters {
		sum[c.Parent] += c.Members
	}
	for parent, n := range sum {
		if n != byID[parent].Members {
			t.Errorf("children of %s have %d members, parent %d", parent, n, byID[parent].Members)
		}
	}
}

func TestEffectiveCentroids(t *testing.T) {
	in, _ := load(t, "blobs")
	med := runPipeline(t, in, `{"n_clusters":8}`, engine.Pipeline{EffectiveFeatureMethod: "median"})
	d := in.D
	for j, c := range med.Clusters {
		var vals []float64
		for i, l := range med.Labels {
			if int(l) == j {
				vals = append(vals, float64(in.X[i*d]))
			}
		}
		sort.Float64s(vals)
		m := len(vals)
		want := vals[m/2]
		if m%2 == 0 {
			want = (vals[m/2-1] + vals[m/2]) / 2
		}
		if math.Abs(float64(c.Centroid[0])-want) > 1e-5 {
			t.Fatalf("cluster %d: median feature 0 = %v, want %v", j, c.Centroid[0], want)
		}
	}
	mo := runPipeline(t, in, `{"n_clusters":8}`, engine.Pipeline{EffectiveFeatureMethod: "medoid"})
	for j, c := range mo.Clusters {
		best, bestSum := -1, math.Inf(1)
		for i, l := range mo.Labels {
			if int(l) != j {
				continue
			}
			var s float64
			for i2, l2 := range mo.Labels {
				if l2 == l {
					var e float64
					for t := 0; t < d; t++ {
						x := float64(in.X[i*d+t]) - float64(in.X[i2*d+t])
						e += x * x
					}
					s += math.Sqrt(e)
				}
			}
			if s < bestSum {
				best, bestSum = i, s
			}
		}
		if !slices.Equal(c.Centroid, in.X[best*d:(best+1)*d]) {
			t.Fatalf("cluster %d: medoid is not member %d, the brute-force medoid", j, best)
		}
	}
}

func TestPipelineErrors(t *testing.T) {
	in, _ := load(t, "blobs")
	cases := []struct {
		name string
		p    engine.Pipeline
		msg  string
	}{
		{"components", engine.Pipeline{Preprocessing: steps(`{"method":"pca","n_components":17}`)}, "n_components = 17 is more than the 16 dimensions"},
		{"method", engine.Pipeline{Preprocessing: steps(`{"method":"umap"}`)}, `preprocessing_steps.0.method: Input should be 'normalize', 'pca' or 'whitening'`},
		{"missing", engine.Pipeline{Preprocessing: steps(`{"method":"pca"}`)}, "preprocessing_steps.0.n_components: Field required"},
		{"field", engine.Pipeline{Preprocessing: steps(`{"method":"normalize","norm":"l1"}`)}, "preprocessing_steps.0.norm: Extra inputs are not permitted"},
		{"shrinkage", engine.Pipeline{Preprocessing: steps(`{"method":"whitening","shrinkage":2}`)}, "preprocessing_steps.0.shrinkage: Input should be less than or equal to 1"},
		{"effective", engine.Pipeline{EffectiveFeatureMethod: "mode"}, "effective_feature_method: Input should be 'mean', 'median' or 'medoid'"},
	}
	for _, c := range cases {
		_, err := engine.Fit(context.Background(), in, engine.Spec{Algorithm: engine.KMeans, Pipeline: c.p}, engine.Options{Backend: backend()})
		var pe *engine.PipelineError
		var ps schema.Problems
		if !(errors.As(err, &pe) || errors.As(err, &ps)) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want a pipeline problem containing %q", c.name, err, c.msg)
		}
	}
	// A sample larger than the data fits on every point.
	res, err := engine.Fit(context.Background(), in, engine.Spec{Algorithm: engine.KMeans, Params: []byte(`{"n_clusters":3,"n_init":1}`),
		Pipeline: engine.Pipeline{SampleSize: in.N + 1}}, engine.Options{Backend: backend()})
	if err != nil || res.Stats.FitSampleSize != 0 || len(res.Labels) != in.N {
		t.Errorf("sample_size above n: %v", err)
	}
}
