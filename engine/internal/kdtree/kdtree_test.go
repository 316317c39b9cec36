package kdtree

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/clusterd/clusterd/engine/internal/reftest"
)

// TestBuildMatchesScikitLearn compares the tree layout (point order and
// node ranges) with scikit-learn 1.2.1's KDTree on the same data, written by
// testdata/make_reference.py.
func TestBuildMatchesScikitLearn(t *testing.T) {
	for _, c := range []struct {
		name string
		leaf int
	}{{"gauss6_leaf40", 40}, {"grid3_leaf10", 10}, {"line1_leaf5", 5}} {
		t.Run(c.name, func(t *testing.T) {
			x, n, d := reftest.Matrix(t, filepath.Join("testdata", c.name+".npy.gz"))
			want := reftest.Int32s(t, filepath.Join("testdata", c.name+".tree.npy.gz"))
			tr, err := Build(reftest.Float64s(x), n, d, c.leaf)
			if err != nil {
				t.Fatal(err)
			}
			if got := n + 3*len(tr.Nodes); got != len(want) {
				t.Fatalf("%d nodes, scikit-learn has %d", len(tr.Nodes), (len(want)-n)/3)
			}
			if !slices.Equal(tr.Idx, want[:n]) {
				t.Fatal("point order differs from scikit-learn's idx_array")
			}
			for i, nd := range tr.Nodes {
				w := want[n+3*i : n+3*i+3]
				if nd.Start != w[0] || nd.End != w[1] || nd.Leaf != (w[2] != 0) {
					t.Fatalf("node %d: %+v, scikit-learn %v", i, nd, w)
				}
			}
		})
	}
}

func randomData(n, d int, seed uint64, ties bool) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float64, n*d)
	for i := range x {
		if ties {
			x[i] = float64(rng.IntN(4))
		} else {
			x[i] = rng.NormFloat64()
		}
	}
	return x
}

// TestKNNExact compares the tree's k nearest neighbours with a brute-force
// sort by (squared distance, index), on continuous data and on data full of
// duplicate points and equal distances.
func TestKNNExact(t *testing.T) {
	for _, ties := range []bool{false, true} {
		n, d, k := 700, 3, 9
		x := randomData(n, d, 5, ties)
		tr, err := Build(x, n, d, 7)
		if err != nil {
			t.Fatal(err)
		}
		idx, dist := make([]int32, n*k), make([]float64, n*k)
		if err := tr.KNN(context.Background(), k, 2, idx, dist); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			all := make([]neighbour, n)
			for j := range all {
				all[j] = neighbour{SqDist(x[i*d:(i+1)*d], x[j*d:(j+1)*d]), int32(j)}
			}
			sort.Slice(all, func(a, b int) bool { return all[a].less(all[b]) })
			for q := 0; q < k; q++ {
				if idx[i*k+q] != all[q].i || dist[i*k+q] != all[q].d2 {
					t.Fatalf("ties=%v row %d neighbour %d: (%d, %g), want (%d, %g)", ties, i, q, idx[i*k+q], dist[i*k+q], all[q].i, all[q].d2)
				}
			}
		}
	}
}

// TestRadius compares radius queries with a brute-force scan, boundary
// included (distances equal to the radius count).
func TestRadius(t *testing.T) {
	n, d := 500, 2
	x := randomData(n, d, 9, true)
	tr, err := Build(x, n, d, 6)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		got := tr.AppendRadius(nil, x[i*d:(i+1)*d], 1)
		var want []int32
		for j := 0; j < n; j++ {
			if SqDist(x[i*d:(i+1)*d], x[j*d:(j+1)*d]) <= 1 {
				want = append(want, int32(j))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("row %d: %v, want %v", i, got, want)
		}
	}
}

func TestNthElementMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.IntN(200)
		vals := make([]int, n)
		for i := range vals {
			vals[i] = rng.IntN(10)
		}
		less := func(a, b int32) bool {
			if vals[a] == vals[b] {
				return a < b
			}
			return vals[a] < vals[b]
		}
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(i)
		}
		sorted := slices.Clone(v)
		slices.SortFunc(sorted, func(a, b int32) int {
			if less(a, b) {
				return -1
			}
			return 1
		})
		nth := rng.IntN(n)
		nthElement(v, nth, less)
		if v[nth] != sorted[nth] {
			t.Fatalf("n=%d nth=%d: %d, want %d", n, nth, v[nth], sorted[nth])
		}
		for i := range v {
			if (i < nth && less(v[nth], v[i])) || (i > nth && less(v[i], v[nth])) {
				t.Fatalf("n=%d nth=%d: not partitioned at %d", n, nth, i)
			}
		}
	}
}

func TestBuildRejectsBadShape(t *testing.T) {
	if _, err := Build(make([]float64, 5), 2, 3, 40); err == nil {
		t.Fatal("no error for 5 values as 2×3")
	}
	if _, err := Build(make([]float64, 6), 2, 3, 0); err == nil {
		t.Fatal("no error for leaf size 0")
	}
	tr, err := Build([]float64{1, 2}, 1, 2, 40)
	if err != nil || len(tr.Nodes) != 1 || !tr.Nodes[0].Leaf || math.IsInf(tr.Nodes[0].Radius, 0) {
		t.Fatalf("single point: %+v %v", tr, err)
	}
}
