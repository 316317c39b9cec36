package meanshift

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"

	"github.com/clusterd/clusterd/engine/internal/dense"
	"github.com/clusterd/clusterd/kernels"
)

// EstimateBandwidth is scikit-learn's estimate_bandwidth(x, quantile) on
// every point: the mean over the points of the distance to their
// k-th nearest point, itself counted first, with k = max(1, ⌊n·quantile⌋).
//
// The backend's squared distances (blocks of Backend.Distances) rank each
// point's neighbours; the ones within its tolerance of the k-th are
// measured in float64 and decide, so the result is the exact one.
func EstimateBandwidth(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32, quantile float64) (float64, error) {
	n, d := ds.Rows(), ds.Dim()
	if !(quantile > 0 && quantile <= 1) {
		return 0, fmt.Errorf("%w: quantile %g, need (0, 1]", ErrParams, quantile)
	}
	k := max(1, int(float64(n)*quantile))
	norms := dense.RowNorms(x, n, d)
	maxNorm := slices.Max(norms)
	m := max(1, min(256, (1<<22)/n)) // queries per block: an n×m tile near 16 MiB
	dist := make([]float32, n*m)
	kth := make([]float64, n)
	workers := runtime.GOMAXPROCS(0)
	for lo := 0; lo < n; lo += m {
		hi := min(n, lo+m)
		mm := hi - lo
		if err := be.Distances(ctx, ds, x[lo*d:hi*d], mm, dist[:n*mm]); err != nil {
			return 0, err
		}
		err := parallel(ctx, mm, workers, func(a, b int) {
			col, scratch := make([]float64, n), make([]float64, n)
			for q := a; q < b; q++ {
				i := lo + q
				for j := 0; j < n; j++ {
					col[j] = float64(dist[j*mm+q])
				}
				kth[i] = exactKth(x, d, i, col, norms, maxNorm, k, scratch)
			}
		})
		if err != nil {
			return 0, err
		}
	}
	var sum float64
	for _, v := range kth {
		sum += v
	}
	return sum / float64(n), nil
}

// exactKth returns the exact distance from point i to its k-th nearest
// point (1-based, itself included), given the backend's squared distances
// col to every point (col is overwritten).
func exactKth(x []float32, d, i int, col []float64, norms []float64, maxNorm float64, k int, scratch []float64) float64 {
	n := len(col)
	// The k-th smallest approximate value.
	tmp := append(scratch[:0], col...)
	approx := nth(tmp, k-1)
	// Points certainly nearer or farther than the k-th, and the band between.
	// The exact k-th value lies within tmax of approx (an order statistic
	// moves no more than its worst input), so a point certainly nearer or
	// farther than it is decided by its own tolerance.
	tmax := dense.ScreenTol * (norms[i] + maxNorm)
	below := 0
	var band []float64
	xi := x[i*d : (i+1)*d]
	for j := 0; j < n; j++ {
		tol := dense.ScreenTol * (norms[i] + norms[j])
		switch v := col[j]; {
		case v+tol < approx-tmax:
			below++
		case v-tol > approx+tmax:
		default:
			band = append(band, dense.SqDist(xi, x[j*d:(j+1)*d]))
		}
	}
	r := k - 1 - below
	if r < 0 || r >= len(band) { // cannot happen within the backend's tolerance
		r = min(max(r, 0), len(band)-1)
	}
	return math.Sqrt(nth(band, r))
}

// nth returns the r-th smallest (0-based) of v, reordering v.
func nth(v []float64, r int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		p := v[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case r <= j:
			hi = j
		case r >= i:
			lo = i
		default:
			return v[r]
		}
	}
	return v[r]
}
