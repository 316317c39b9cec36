// SumByLabel and LabelDistances: the row-wise, memory-bound kernels.

package cpu

import (
	"context"

	"github.com/clusterd/clusterd/kernels"
)

// sumChunk is the smallest row chunk of SumByLabel.
const sumChunk = 16384

// SumByLabel implements kernels.Backend. The rows are cut into fixed chunks
// of at least sumChunk rows, each streamed in order by one task into its own
// float64 partial sums (the first chunk's straight into sums); the partials
// are then added to sums in chunk order. The chunking depends only on n and
// k, so the additions are in the same order whatever the core count. The
// number of chunks is capped at n/(16k). The chunks are summed in waves of
// one per core, each wave's partials added to sums before the next starts:
// the partials take a core's k×d float64 each instead of one per chunk
// (61 MB for 1,000,000 × 128 rows with k = 1,000, which a service run
// faulted in afresh at every call: 0.39 s of CPU clearing them in a W4
// execution), and the additions keep their order.
func (b *Backend) SumByLabel(ctx context.Context, x kernels.Dataset, labels []int32, k int, sums []float64, counts []int64) error {
	ds := b.own(x)
	if err := kernels.CheckSumByLabel(ds.n, ds.d, labels, k, sums, counts); err != nil {
		return err
	}
	clear(counts)
	for _, l := range labels {
		if l >= 0 {
			counts[l]++
		}
	}
	n, d, kd := ds.n, ds.d, k*ds.d
	parts := max(1, min(blocks(n, sumChunk), n/(16*k)))
	per := blocks(n, parts)
	wave := min(parts, max(1, b.threads))
	partial := make([]float64, wave*kd)
	for c0 := 0; c0 < parts; c0 += wave {
		c1 := min(parts, c0+wave)
		err := parallelFor(ctx, b.threads, c1-c0, func(i int) {
			c := c0 + i
			dst := partial[i*kd : (i+1)*kd]
			if c == 0 {
				dst = sums
			}
			clear(dst)
			lo, hi := c*per, min(n, (c+1)*per)
			b.simd.addRows(dst, ds.x[lo*d:hi*d], labels[lo:hi], d, 0, k)
		})
		if err != nil {
			return err
		}
		first := 0 // the wave's first partial to add (chunk 0 is in sums)
		if c0 == 0 {
			first = 1
		}
		if c1-c0 == first {
			continue
		}
		err = parallelFor(ctx, b.threads, blocks(kd, normBlock), func(t int) {
			for e := t * normBlock; e < min(kd, (t+1)*normBlock); e++ {
				sum := sums[e]
				for i := first; i < c1-c0; i++ {
					sum += partial[i*kd+e]
				}
				sums[e] = sum
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// LabelDistances implements kernels.Backend with exact differences summed
// in float64 (vectorised on the SIMD paths), row blocks in parallel.
func (b *Backend) LabelDistances(ctx context.Context, x kernels.Dataset, c []float32, k int, labels []int32, out []float32) error {
	ds := b.own(x)
	if err := kernels.CheckLabelDistances(ds.n, ds.d, c, k, labels, out); err != nil {
		return err
	}
	d := ds.d
	return parallelFor(ctx, b.threads, blocks(ds.n, normBlock), func(t int) {
		for i := t * normBlock; i < min(ds.n, (t+1)*normBlock); i++ {
			if l := labels[i]; l >= 0 {
				out[i] = float32(b.simd.exactSqDist(ds.row(i), c[int(l)*d:(int(l)+1)*d]))
			} else {
				out[i] = -1
			}
		}
	})
}
