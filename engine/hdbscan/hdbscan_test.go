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
	"github.com/clusterd/clusterd/engine/internal/reftest"
	"github.com/clusterd/clusterd/internal/ari"
	"github.com/clusterd/clusterd/kernels"
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
// from ../shared/reference/hdbscan by testdata/make_reference.py) and
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
	} {
		if got := pySetOrder(c.keys); !slices.Equal(got, c.want) {
			t.Errorf("pySetOrder(%v) = %v, want %v", c.keys, got, c.want)
		}
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

var _ kernels.Backend = (*cpu.Backend)(nil)
