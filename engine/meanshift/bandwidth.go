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
	// Each block of queries is uploaded as a dataset and measured against
	// every point, so that a query's n distances are one contiguous row.
	m := max(1, min(256, (1<<22)/n))
	dist := make([]float32, m*n)
	kth := make([]float64, n)
	workers := runtime.GOMAXPROCS(0)
	for lo := 0; lo < n; lo += m {
		hi := min(n, lo+m)
		mm := hi - lo
		q, err := be.Upload(x[lo*d:hi*d], mm, d)
		if err != nil {
			return 0, err
		}
		err = be.Distances(ctx, q, x, n, dist[:mm*n])
		q.Close()
		if err != nil {
			return 0, err
		}
		err = parallel(ctx, mm, workers, func(a, b int) {
			scratch := make([]float32, n)
			for r := a; r < b; r++ {
				kth[lo+r] = exactKth(x, d, lo+r, dist[r*n:(r+1)*n], norms, maxNorm, k, scratch)
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
// row from it to every point.
func exactKth(x []float32, d, i int, row []float32, norms []float64, maxNorm float64, k int, scratch []float32) float64 {
	n := len(row)
	approx := float64(kthSmallest(row, k-1, scratch))
	// The exact k-th value lies within tmax of approx (an order statistic
	// moves no more than its worst input), so a point certainly nearer or
	// farther than it is decided by its own tolerance.
	tmax := dense.ScreenTol * (norms[i] + maxNorm)
	lowCut, highCut := approx-tmax, approx+tmax
	below := 0
	var band []float64
	xi := x[i*d : (i+1)*d]
	for j := 0; j < n; j++ {
		v := float64(row[j])
		tol := dense.ScreenTol * (norms[i] + norms[j])
		switch {
		case v+tol < lowCut:
			below++
		case v-tol > highCut:
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

// kthSmallest returns the r-th smallest (0-based) of v without reordering
// it: a regular sample of v brackets the rank, one pass counts the values
// below the bracket and collects those inside it into scratch, and only
// those are selected from (the whole of v when the bracket misses).
func kthSmallest(v []float32, r int, scratch []float32) float32 {
	n := len(v)
	const samples = 512
	if n <= 4*samples {
		return nth(append(scratch[:0], v...), r)
	}
	step := n / samples
	sample := make([]float32, 0, samples+1)
	for i := 0; i < n; i += step {
		sample = append(sample, v[i])
	}
	slices.Sort(sample)
	at := r * len(sample) / n
	lo, hi := sample[max(0, at-24)], sample[min(len(sample)-1, at+24)]
	below := 0
	in := scratch[:0]
	for _, e := range v {
		if e < lo {
			below++
		} else if e <= hi {
			in = append(in, e)
		}
	}
	if r >= below && r < below+len(in) {
		return nth(in, r-below)
	}
	return nth(append(scratch[:0], v...), r)
}

// nth returns the r-th smallest (0-based) of v, reordering v.
func nth[T float32 | float64](v []T, r int) T {
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
