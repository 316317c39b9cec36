package cpu

import (
	"context"
	"fmt"

	"github.com/clusterd/clusterd/kernels"
)

// SumByLabel implements kernels.Backend as a segmented reduction: rows are
// bucketed by label with a counting sort, then each cluster's rows are summed
// in ascending row order by one goroutine. No atomics, no per-worker partial
// sums, and the order of additions never depends on the core count.
func (b *Backend) SumByLabel(ctx context.Context, x kernels.Dataset, labels []int32, k int, sums []float64, counts []int64) error {
	ds := b.own(x)
	if k < 1 {
		return fmt.Errorf("%w: k = %d, need k ≥ 1", kernels.ErrShape, k)
	}
	if err := checkOut(ds.n, len(labels)); err != nil {
		return err
	}
	if err := kernels.CheckLen("sums", len(sums), k*ds.d); err != nil {
		return err
	}
	if err := kernels.CheckLen("counts", len(counts), k); err != nil {
		return err
	}
	order, start, err := bucketByLabel(labels, k)
	if err != nil {
		return err
	}
	d := ds.d
	return parallelFor(ctx, b.workers, k, func(l int) {
		s := sums[l*d : (l+1)*d]
		clear(s)
		members := order[start[l]:start[l+1]]
		counts[l] = int64(len(members))
		for _, i := range members {
			for t, v := range ds.row(int(i)) {
				s[t] += float64(v)
			}
		}
	})
}

// bucketByLabel returns the row indices grouped by label (ascending within a
// label) and the start offset of each label's group; start has length k+1.
// Negative labels are left out.
func bucketByLabel(labels []int32, k int) (order []int32, start []int, err error) {
	start = make([]int, k+1)
	for i, l := range labels {
		if int(l) >= k {
			return nil, nil, fmt.Errorf("%w: labels[%d] = %d, need < k = %d", kernels.ErrShape, i, l, k)
		}
		if l >= 0 {
			start[l+1]++
		}
	}
	for l := 0; l < k; l++ {
		start[l+1] += start[l]
	}
	order = make([]int32, start[k])
	next := append([]int(nil), start[:k]...)
	for i, l := range labels {
		if l >= 0 {
			order[next[l]] = int32(i)
			next[l]++
		}
	}
	return order, start, nil
}

// LabelDistances implements kernels.Backend with exact differences.
func (b *Backend) LabelDistances(ctx context.Context, x kernels.Dataset, c []float32, k int, labels []int32, out []float32) error {
	ds := b.own(x)
	if err := checkCentroids(ds, c, k); err != nil {
		return err
	}
	if err := checkOut(ds.n, len(labels), len(out)); err != nil {
		return err
	}
	for i, l := range labels {
		if int(l) >= k {
			return fmt.Errorf("%w: labels[%d] = %d, need < k = %d", kernels.ErrShape, i, l, k)
		}
	}
	d := ds.d
	return parallelFor(ctx, b.workers, blocks(ds.n, normBlock), func(t int) {
		for i := t * normBlock; i < min(ds.n, (t+1)*normBlock); i++ {
			if l := labels[i]; l >= 0 {
				out[i] = float32(exactSqDist(ds.row(i), c[int(l)*d:(int(l)+1)*d]))
			} else {
				out[i] = -1
			}
		}
	})
}
