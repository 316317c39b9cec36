package dbscan

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/engine/internal/kdtree"
	"github.com/clusterd/clusterd/engine/internal/reftest"
	"github.com/clusterd/clusterd/internal/ari"
	"github.com/clusterd/clusterd/kernels"
)

type refCase struct {
	Eps        float64 `json:"eps"`
	MinSamples int     `json:"min_samples"`
	Metric     string  `json:"metric"`
	Clusters   int     `json:"clusters"`
	Noise      int     `json:"noise"`
	Core       int     `json:"core"`
}

func cases(t *testing.T) map[string]refCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs map[string]refCase
	if err := json.Unmarshal(raw, &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

func upload(t testing.TB, x []float32, n, d int) (kernels.Backend, kernels.Dataset) {
	t.Helper()
	be := cpu.New(cpu.Options{})
	ds, err := be.Upload(x, n, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return be, ds
}

// TestMatchesScikitLearn compares labels with scikit-learn 1.2.1's on the
// cases of testdata/make_reference.py: low-dimensional blobs and moons (k-d
// tree), integer points with duplicates and equal distances, 20- and
// 64-dimensional data (backend distances) and the cosine metric with zero
// vectors. Labels must be identical, numbering included, which also covers
// border points that touch two clusters.
func TestMatchesScikitLearn(t *testing.T) {
	for name, c := range cases(t) {
		t.Run(name, func(t *testing.T) {
			x, n, d := reftest.Matrix(t, filepath.Join("testdata", name+".npy.gz"))
			want := reftest.Int32s(t, filepath.Join("testdata", name+".labels.npy.gz"))
			be, ds := upload(t, x, n, d)
			res, err := Fit(context.Background(), be, ds, x, Params{Eps: c.Eps, MinSamples: c.MinSamples, Metric: c.Metric})
			if err != nil {
				t.Fatal(err)
			}
			noiseDiff := 0
			for i := range want {
				if (want[i] < 0) != (res.Labels[i] < 0) {
					noiseDiff++
				}
			}
			t.Logf("%d clusters, %d core, %d noise; ARI %.6f, noise disagreements %d", res.NumClusters, res.CorePoints, res.NoisePoints, ari.Index(res.Labels, want), noiseDiff)
			if !slices.Equal(res.Labels, want) {
				t.Errorf("labels differ from scikit-learn's")
			}
			if res.NumClusters != c.Clusters || res.NoisePoints != c.Noise || res.CorePoints != c.Core {
				t.Errorf("%d clusters, %d noise, %d core; scikit-learn %d, %d, %d", res.NumClusters, res.NoisePoints, res.CorePoints, c.Clusters, c.Noise, c.Core)
			}
		})
	}
}

// TestBackendNeighbourhoodsMatchTree checks the backend path against the
// exact k-d tree on low-dimensional data with many equal distances, and on
// a radius that some distances equal exactly.
func TestBackendNeighbourhoodsMatchTree(t *testing.T) {
	for _, c := range []struct {
		name string
		eps  float64
	}{{"grid3d_ties", 1.5}, {"grid3d_ties", 2}, {"blobs2d", 0.37}} {
		x, n, d := reftest.Matrix(t, filepath.Join("testdata", c.name+".npy.gz"))
		be, ds := upload(t, x, n, d)
		tr, err := kdtree.Build(reftest.Float64s(x), n, d, 40)
		if err != nil {
			t.Fatal(err)
		}
		bn, err := newBackendNeighbourhoods(be, ds, x, Params{Eps: c.eps, MinSamples: 1, Metric: Euclidean})
		if err != nil {
			t.Fatal(err)
		}
		got := make([][]int32, n)
		if err := bn.each(context.Background(), nil, func(i int, js []int32) { got[i] = append(got[i], js...) }); err != nil {
			t.Fatal(err)
		}
		tn := &treeNeighbourhoods{t: tr, r2: c.eps * c.eps}
		want := make([][]int32, n)
		if err := tn.each(context.Background(), nil, func(i int, js []int32) { want[i] = append(want[i], js...) }); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			slices.Sort(got[i])
			slices.Sort(want[i])
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("%s eps=%g point %d: backend %v, tree %v", c.name, c.eps, i, got[i], want[i])
			}
		}
	}
}

func TestAllNoise(t *testing.T) {
	x := []float32{0, 0, 10, 10, 20, 20}
	be, ds := upload(t, x, 3, 2)
	res, err := Fit(context.Background(), be, ds, x, DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if res.NumClusters != 0 || res.NoisePoints != 3 || !slices.Equal(res.Labels, []int32{-1, -1, -1}) {
		t.Fatalf("%+v", res)
	}
}

func TestCanceled(t *testing.T) {
	x, n, d := reftest.Matrix(t, filepath.Join("testdata", "blobs20d.npy.gz"))
	be, ds := upload(t, x, n, d)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fit(ctx, be, ds, x, Params{Eps: 10, MinSamples: 10, Metric: Euclidean}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestValidate(t *testing.T) {
	for _, p := range []Params{
		{Eps: 0, MinSamples: 5, Metric: Euclidean},
		{Eps: -1, MinSamples: 5, Metric: Euclidean},
		{Eps: 0.5, MinSamples: 0, Metric: Euclidean},
		{Eps: 0.5, MinSamples: 5, Metric: "manhattan"},
	} {
		if err := p.Validate(); !errors.Is(err, ErrParams) {
			t.Errorf("%+v: error %v, want ErrParams", p, err)
		}
	}
}
