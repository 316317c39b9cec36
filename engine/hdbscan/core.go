package hdbscan

import (
	"context"
	"math"
	"slices"

	"github.com/clusterd/clusterd/engine/internal/dense"
	"github.com/clusterd/clusterd/kernels"
)

// knnSlack is how many neighbours beyond k are fetched from the backend, so
// that the k-th exact distance can be certified despite float32 rounding.
const knnSlack = 8

// coreDistances returns every point's distance to its k-th nearest point
// (itself included), exactly: the backend's k-NN search proposes k+slack
// candidates in float32, their float64 distances are recomputed, and the
// k-th smallest is certified when every point left out is provably farther
// (the contract bounds the backend's error). A row that cannot be certified
// (many near-equal distances) is recomputed against all points.
func coreDistances(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32, k int) ([]float64, error) {
	n, d := ds.Rows(), ds.Dim()
	kk := min(n, k+knnSlack)
	idx := make([]int32, n*kk)
	approx := make([]float32, n*kk)
	if err := be.KNN(ctx, ds, kk, idx, approx); err != nil {
		return nil, err
	}
	norms := dense.RowNorms(x, n, d)
	maxNorm := slices.Max(norms)
	core := make([]float64, n)
	exact := make([]float64, kk)
	var all []float64
	for i := 0; i < n; i++ {
		xi := x[i*d : (i+1)*d]
		for q, j := range idx[i*kk : (i+1)*kk] {
			exact[q] = dense.SqDist(xi, x[int(j)*d:(int(j)+1)*d])
		}
		slices.Sort(exact)
		if kk == n || exact[k-1] < exact[kk-1]-2*dense.ScreenTol*(norms[i]+maxNorm) {
			core[i] = math.Sqrt(exact[k-1])
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		all = all[:0]
		for j := 0; j < n; j++ {
			all = append(all, dense.SqDist(xi, x[j*d:(j+1)*d]))
		}
		slices.Sort(all)
		core[i] = math.Sqrt(all[k-1])
	}
	return core, nil
}
