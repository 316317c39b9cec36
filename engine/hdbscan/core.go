package hdbscan

import (
	"cmp"
	"context"
	"slices"

	"github.com/clusterd/clusterd/engine/internal/dense"
	"github.com/clusterd/clusterd/kernels"
)

// knnSlack is how many neighbours beyond k are fetched from the backend, so
// that the k nearest can be certified despite float32 rounding.
const knnSlack = 8

// exactKNN returns every point's k nearest points (itself included) and
// their squared distances, sorted by (float64 squared distance, index),
// exactly: row i of idx and d2 (n×k each) is what sorting all points by
// their exact distance to point i gives. The backend's k-NN search proposes
// k+slack candidates in float32; their float64 distances are recomputed,
// and the k nearest of them are certified when every point left out is
// provably farther (the kernels contract bounds the backend's error). A row
// that cannot be certified (many near-equal distances) is recomputed
// against all points.
func exactKNN(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32, k int) (idx []int32, d2 []float64, err error) {
	n, d := ds.Rows(), ds.Dim()
	kk := min(n, k+knnSlack)
	cand := make([]int32, n*kk)
	approx := make([]float32, n*kk)
	if err := be.KNN(ctx, ds, kk, cand, approx); err != nil {
		return nil, nil, err
	}
	norms := dense.RowNorms(x, n, d)
	maxNorm := slices.Max(norms)
	type nb struct {
		d2 float64
		j  int32
	}
	order := func(a, b nb) int {
		if c := cmp.Compare(a.d2, b.d2); c != 0 {
			return c
		}
		return cmp.Compare(a.j, b.j)
	}
	idx, d2 = make([]int32, n*k), make([]float64, n*k)
	row := make([]nb, kk)
	var all []nb
	for i := 0; i < n; i++ {
		xi := x[i*d : (i+1)*d]
		for q, j := range cand[i*kk : (i+1)*kk] {
			row[q] = nb{dense.SqDist(xi, x[int(j)*d:(int(j)+1)*d]), j}
		}
		slices.SortFunc(row, order)
		best := row
		if kk < n && row[k-1].d2 >= row[kk-1].d2-2*dense.ScreenTol*(norms[i]+maxNorm) {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			all = all[:0]
			for j := 0; j < n; j++ {
				all = append(all, nb{dense.SqDist(xi, x[j*d:(j+1)*d]), int32(j)})
			}
			slices.SortFunc(all, order)
			best = all
		}
		for q := 0; q < k; q++ {
			idx[i*k+q], d2[i*k+q] = best[q].j, best[q].d2
		}
	}
	return idx, d2, nil
}
