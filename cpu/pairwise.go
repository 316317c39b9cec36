package cpu

import (
	"context"
	"fmt"
	"math"

	"github.com/clusterd/clusterd/kernels"
)

// nearZero is the fraction of ‖x_i‖² + ‖x_j‖² under which a pairwise squared
// distance from the GEMM form is recomputed exactly: below it cancellation
// makes the GEMM value too coarse for its square root.
const nearZero = 0.02

// ClusterDistanceSums implements kernels.Backend. Each task owns a tile of
// rows and walks every other row tile by tile, so each output row is
// accumulated by one goroutine in ascending column order.
func (b *Backend) ClusterDistanceSums(ctx context.Context, x kernels.Dataset, labels []int32, k int, out []float64) error {
	ds := b.own(x)
	if k < 1 {
		return fmt.Errorf("%w: k = %d, need k ≥ 1", kernels.ErrShape, k)
	}
	if err := checkOut(ds.n, len(labels)); err != nil {
		return err
	}
	if err := kernels.CheckLen("out", len(out), ds.n*k); err != nil {
		return err
	}
	for i, l := range labels {
		if int(l) >= k {
			return fmt.Errorf("%w: labels[%d] = %d, need < k = %d", kernels.ErrShape, i, l, k)
		}
	}
	n, d := ds.n, ds.d
	return parallelFor(ctx, b.workers, blocks(n, rowTile), func(t int) {
		lo, hi := t*rowTile, min(n, (t+1)*rowTile)
		tb := getTile(d)
		defer putTile(tb)
		clear(out[lo*k : hi*k])
		xb := ds.x[lo*d : hi*d]
		for j0 := 0; j0 < n; j0 += colTile {
			nc := min(colTile, n-j0)
			dotTile(xb, hi-lo, ds.x[j0*d:(j0+nc)*d], nc, d, tb.prod)
			for r := lo; r < hi; r++ {
				xr, o := ds.norms[r], out[r*k:(r+1)*k]
				for jj, g := range tb.prod[(r-lo)*nc : (r-lo+1)*nc] {
					j := j0 + jj
					l := labels[j]
					if l < 0 || j == r {
						continue
					}
					s := xr + ds.norms[j]
					e := float64(s - 2*g)
					if e < nearZero*float64(s) {
						e = exactSqDist(ds.row(r), ds.row(j))
					}
					o[l] += math.Sqrt(e)
				}
			}
		}
	})
}
