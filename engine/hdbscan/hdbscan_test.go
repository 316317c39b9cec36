package hdbscan

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
)

// refParams reads a reference case's parameters (testdata/NAME.json).
func refParams(t *testing.T, name string) Params {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Params struct {
			MinClusterSize int     `json:"min_cluster_size"`
			MinSamples     int     `json:"min_samples"`
			Epsilon        float64 `json:"cluster_selection_epsilon"`
			Method         string  `json:"cluster_selection_method"`
		} `json:"params"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	p := DefaultParams()
	p.MinClusterSize, p.MinSamples, p.ClusterSelectionEpsilon = f.Params.MinClusterSize, f.Params.MinSamples, f.Params.Epsilon
	if f.Params.Method != "" {
		p.Method = f.Params.Method
	}
	return p
}

func fit(t testing.TB, x []float32, n, d int, p Params) *Result {
	t.Helper()
	be := cpu.New(cpu.Options{})
	ds, err := be.Upload(x, n, d)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	res, err := Fit(context.Background(), be, ds, x, p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestMatchesReference runs the reference cases of hdbscan 0.8.33 (copied
// into testdata by make_reference.py; see testdata/REFERENCE.md) and
// requires the reference's labels exactly: the same noise points and the
// same cluster numbers. The continuous cases go through the k-d tree
// Borůvka, the digits cases (64 dimensions, integer pixels, many equal
// distances) through Prim.
func TestMatchesReference(t *testing.T) {
	for _, c := range []struct{ name, data, tree string }{
		{"blobs2d", "blobs2d", "boruvka_kdtree"},
		{"blobs8d_eps", "blobs8d_eps", "boruvka_kdtree"},
		{"moons", "moons", "boruvka_kdtree"},
		{"digits_eom", "digits", "prims"},
		{"digits_leaf", "digits", "prims"},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, n, d := reftest.Matrix(t, filepath.Join("testdata", c.data+".npy.gz"))
			want := reftest.Int32s(t, filepath.Join("testdata", c.name+".labels.npy.gz"))
			res := fit(t, x, n, d, refParams(t, c.name))
			noiseDiff := 0
			for i := range want {
				if (want[i] < 0) != (res.Labels[i] < 0) {
					noiseDiff++
				}
			}
			a := ari.Index(res.Labels, want)
			t.Logf("%s: %d clusters, %d noise, ARI %.6f, noise disagreements %d", res.SpanningTree, res.NumClusters, res.NoisePoints, a, noiseDiff)
			if res.SpanningTree != c.tree {
				t.Errorf("spanning tree %s, want %s", res.SpanningTree, c.tree)
			}
			if !slices.Equal(res.Labels, want) {
				t.Errorf("labels differ from the reference (ARI %.6f, %d noise disagreements)", a, noiseDiff)
			}
		})
	}
}

// TestExactKNNMatchesTree checks the backend neighbour search, refined to
// float64, against the exact k-d tree search, on continuous data and on the
// digits (integer pixels: many equal distances, so rows must fall back to
// the full scan).
func TestExactKNNMatchesTree(t *testing.T) {
	for _, c := range []struct {
		data string
		k    int
	}{{"blobs8d_eps", 11}, {"digits", 21}} {
		x, n, d := reftest.Matrix(t, filepath.Join("testdata", c.data+".npy.gz"))
		be := cpu.New(cpu.Options{})
		ds, err := be.Upload(x, n, d)
		if err != nil {
			t.Fatal(err)
		}
		idx, d2, err := exactKNN(context.Background(), be, ds, x, c.k)
		ds.Close()
		if err != nil {
			t.Fatal(err)
		}
		tr, err := kdtree.Build(reftest.Float64s(x), n, d, kdtree.DefaultLeafSize)
		if err != nil {
			t.Fatal(err)
		}
		wantIdx, wantD2 := make([]int32, n*c.k), make([]float64, n*c.k)
		if err := tr.KNN(context.Background(), c.k, 0, wantIdx, wantD2); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(idx, wantIdx) || !slices.Equal(d2, wantD2) {
			t.Errorf("%s: backend k-NN differs from the tree's", c.data)
		}
	}
}

// TestArgsortMatchesNumpy checks the sort emulation against numpy's
// np.argsort on arrays full of ties (testdata/argsort.npy.gz).
func TestArgsortMatchesNumpy(t *testing.T) {
	v := reftest.Int32s(t, filepath.Join("testdata", "argsort.npy.gz"))
	cases := 0
	for len(v) > 0 {
		n := int(v[0])
		w := make([]float64, n)
		for i, x := range v[1 : 1+n] {
			w[i] = float64(x)
		}
		want := v[1+n : 1+2*n]
		if got := argsortQuick(w); !slices.Equal(got, want) {
			t.Fatalf("case %d (n=%d): argsort differs from numpy's", cases, n)
		}
		v = v[1+2*n:]
		cases++
	}
	if cases < 20 {
		t.Fatalf("only %d argsort cases", cases)
	}
}

func TestPySetOrder(t *testing.T) {
	// Orders printed by CPython 3.11: list(set(keys)).
	for _, c := range []struct{ keys, want []int }{
		{[]int{5, 3, 9}, []int{9, 3, 5}},
		{[]int{1650, 1651, 1652, 1659, 1660}, []int{1650, 1651, 1652, 1659, 1660}},
		{[]int{1797, 1805, 1813, 1801, 1830, 1799}, []int{1797, 1830, 1799, 1801, 1805, 1813}},
		// 30 keys: the table grows twice.
		{seq(1797, 37, 30), []int{1797, 2056, 2315, 2574, 2833, 1945, 2204, 2463, 2722, 1834, 2093, 2352, 2611, 2870, 1982,
			2241, 2500, 2759, 1871, 2130, 2389, 2648, 2019, 2278, 2537, 2796, 1908, 2167, 2426, 2685}},
	} {
		if got := pySetOrder(c.keys); !slices.Equal(got, c.want) {
			t.Errorf("pySetOrder(%v) = %v, want %v", c.keys, got, c.want)
		}
	}
}

func seq(start, step, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = start + i*step
	}
	return out
}

// TestSelectionOptions checks allow_single_cluster and max_cluster_size on
// the blobs2d reference data: its three clusters hold 215, 202 and 200
// points, and two of them merge before the root.
func TestSelectionOptions(t *testing.T) {
	x, n, d := reftest.Matrix(t, filepath.Join("testdata", "blobs2d.npy.gz"))
	sizes := func(res *Result) []int {
		s := make([]int, res.NumClusters)
		for _, l := range res.Labels {
			if l >= 0 {
				s[l]++
			}
		}
		return s
	}
	p := refParams(t, "blobs2d")
	p.MaxClusterSize = 150
	for i, s := range sizes(fit(t, x, n, d, p)) {
		if s > 150 {
			t.Errorf("max_cluster_size 150: cluster %d has %d points", i, s)
		}
	}
	// With a minimum size above any split, only the root can be a cluster.
	p = refParams(t, "blobs2d")
	p.MinClusterSize = 300
	if res := fit(t, x, n, d, p); res.NumClusters != 0 || res.NoisePoints != n {
		t.Errorf("min_cluster_size 300: %d clusters, %d noise; want all noise", res.NumClusters, res.NoisePoints)
	}
	p.AllowSingleCluster = true
	if res := fit(t, x, n, d, p); res.NumClusters != 1 || res.NoisePoints == n {
		t.Errorf("allow_single_cluster: %d clusters, %d noise; want one cluster", res.NumClusters, res.NoisePoints)
	}
}

func TestValidate(t *testing.T) {
	for _, p := range []Params{
		{MinClusterSize: 1, Method: ExcessOfMass, Alpha: 1},
		{MinClusterSize: 5, MinSamples: -1, Method: ExcessOfMass, Alpha: 1},
		{MinClusterSize: 5, ClusterSelectionEpsilon: -1, Method: ExcessOfMass, Alpha: 1},
		{MinClusterSize: 5, MaxClusterSize: -1, Method: ExcessOfMass, Alpha: 1},
		{MinClusterSize: 5, Method: "top", Alpha: 1},
		{MinClusterSize: 5, Method: Leaf, Alpha: 0},
	} {
		if err := p.Validate(); !errors.Is(err, ErrParams) {
			t.Errorf("%+v: error %v, want ErrParams", p, err)
		}
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
}
