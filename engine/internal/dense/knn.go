package dense

import (
	"context"
	"math"
	"slices"

	"github.com/clusterd/clusterd/internal/parallel"
	"github.com/clusterd/clusterd/kernels"
)

// ExactKNN finds every row's k nearest rows of x (uploaded as ds), itself
// included, by exact float64 Euclidean distance with ties to the lower
// index, as scikit-learn's neighbour searches break them: the backend's
// k-nearest search proposes k+extra candidates, they are measured in
// float64, and a row whose candidates cannot be shown to hold its true
// neighbours (the farthest candidate could be within the backend's
// tolerance of the k-th) is measured against every row. idx and dist
// (not squared) are n×k, sorted by (distance, index).
func ExactKNN(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32, k, extra int) ([]int32, []float64, error) {
	n, d := ds.Rows(), ds.Dim()
	kk := min(n, k+extra)
	cand := make([]int32, n*kk)
	approx := make([]float32, n*kk)
	if err := be.KNN(ctx, ds, kk, cand, approx); err != nil {
		return nil, nil, err
	}
	norms := RowNorms(x, n, d)
	idx := make([]int32, n*k)
	dist := make([]float64, n*k)
	type nb struct {
		d2 float64
		j  int32
	}
	less := func(a, b nb) int {
		switch {
		case a.d2 < b.d2:
			return -1
		case a.d2 > b.d2:
			return 1
		}
		return int(a.j) - int(b.j)
	}
	err := parallel.Chunks(ctx, 0, n, 256, func(lo, hi int) {
		buf := make([]nb, 0, kk)
		var all []nb
		for i := lo; i < hi; i++ {
			xi := x[i*d : (i+1)*d]
			buf = buf[:0]
			for _, j := range cand[i*kk : (i+1)*kk] {
				buf = append(buf, nb{SqDist(xi, x[int(j)*d:(int(j)+1)*d]), j})
			}
			slices.SortFunc(buf, less)
			res := buf
			last := cand[i*kk+kk-1]
			floor := float64(approx[i*kk+kk-1]) - ScreenTol*(norms[i]+norms[last])
			if kk < n && floor <= buf[k-1].d2 {
				all = all[:0]
				for j := 0; j < n; j++ {
					all = append(all, nb{SqDist(xi, x[j*d:(j+1)*d]), int32(j)})
				}
				slices.SortFunc(all, less)
				res = all
			}
			for q := 0; q < k; q++ {
				idx[i*k+q], dist[i*k+q] = res[q].j, math.Sqrt(res[q].d2)
			}
		}
	})
	return idx, dist, err
}
