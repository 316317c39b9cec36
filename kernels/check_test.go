package kernels

import (
	"errors"
	"slices"
	"testing"
)

func TestGroupByLabel(t *testing.T) {
	labels := []int32{2, -1, 0, 2, 2, 0, -5, 3}
	order, start := GroupByLabel(labels, 5)
	if want := []int32{2, 5, 0, 3, 4, 7}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if want := []int32{0, 2, 2, 5, 6, 6}; !slices.Equal(start, want) {
		t.Errorf("start %v, want %v", start, want)
	}
}

// TestChecks runs each method's check on good arguments (nil) and on one
// bad argument of each kind (ErrShape), for a 10×3 dataset.
func TestChecks(t *testing.T) {
	const n, d = 10, 3
	c := make([]float32, 2*d)
	labels := []int32{0, 1, -1, 0, 1, 0, 0, 1, 1, -1}
	bad := []int32{0, 1, 2, 0, 1, 0, 0, 1, 1, -1} // label 2 with k = 2
	cases := []struct {
		name string
		err  error
		ok   bool
	}{
		{"assign", CheckAssign(n, d, c, 2, make([]int32, n), make([]float32, n)), true},
		{"assign k0", CheckAssign(n, d, nil, 0, make([]int32, n), make([]float32, n)), false},
		{"assign short centroids", CheckAssign(n, d, c[:5], 2, make([]int32, n), make([]float32, n)), false},
		{"assign short dist2", CheckAssign(n, d, c, 2, make([]int32, n), make([]float32, n-1)), false},
		{"subset", CheckAssignSubset(n, d, []int32{9, 0}, c, 2, make([]int32, 2), make([]float32, 2), make([]float32, 2)), true},
		{"subset row out of range", CheckAssignSubset(n, d, []int32{10}, c, 2, make([]int32, 1), make([]float32, 1), make([]float32, 1)), false},
		{"subset short second2", CheckAssignSubset(n, d, []int32{1, 2}, c, 2, make([]int32, 2), make([]float32, 2), make([]float32, 1)), false},
		{"distances", CheckDistances(n, d, c, 2, make([]float32, 2*n)), true},
		{"distances short", CheckDistances(n, d, c, 2, make([]float32, 2*n-1)), false},
		{"label distances", CheckLabelDistances(n, d, c, 2, labels, make([]float32, n)), true},
		{"label distances label ≥ k", CheckLabelDistances(n, d, c, 2, bad, make([]float32, n)), false},
		{"sums", CheckSumByLabel(n, d, labels, 2, make([]float64, 2*d), make([]int64, 2)), true},
		{"sums label ≥ k", CheckSumByLabel(n, d, bad, 2, make([]float64, 2*d), make([]int64, 2)), false},
		{"sums short", CheckSumByLabel(n, d, labels, 2, make([]float64, 2*d-1), make([]int64, 2)), false},
		{"knn", CheckKNN(n, 10, make([]int32, n*10), make([]float32, n*10)), true},
		{"knn k > n", CheckKNN(n, 11, make([]int32, n*11), make([]float32, n*11)), false},
		{"cds", CheckClusterDistanceSums(n, labels, 2, make([]float64, 2*n)), true},
		{"cds label ≥ k", CheckClusterDistanceSums(n, bad, 2, make([]float64, 2*n)), false},
		{"cds short labels", CheckClusterDistanceSums(n, labels[:9], 2, make([]float64, 2*n)), false},
	}
	for _, c := range cases {
		if c.ok && c.err != nil {
			t.Errorf("%s: %v", c.name, c.err)
		}
		if !c.ok && !errors.Is(c.err, ErrShape) {
			t.Errorf("%s: %v, want ErrShape", c.name, c.err)
		}
	}
}
