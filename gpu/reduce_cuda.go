//go:build cuda || cudaemu

package gpu

import (
	"context"

	"github.com/clusterd/clusterd/kernels"
)

// SumByLabel implements kernels.Backend as a segmented reduction: the host
// groups the rows by label and cuts the groups into pieces (planSums, which
// also gives the exact counts), sum_partial adds up every piece in float64
// and sum_combine every cluster's pieces, in a fixed order.
func (b *Backend) SumByLabel(ctx context.Context, x kernels.Dataset, labels []int32, k int, sums []float64, counts []int64) error {
	return b.do(ctx, func() error {
		ds, err := b.own(x)
		if err != nil {
			return err
		}
		if err := kernels.CheckSumByLabel(ds.n, ds.d, labels, k, sums, counts); err != nil {
			return err
		}
		plan := planSums(labels, k)
		copy(counts, plan.counts)
		pieces := plan.numPieces()
		porder, err := upload(ds, "sum order", plan.order)
		if err != nil {
			return err
		}
		ppieces, err := upload(ds, "sum pieces", plan.pieces)
		if err != nil {
			return err
		}
		pfirst, err := upload(ds, "sum first pieces", plan.first)
		if err != nil {
			return err
		}
		ppartial, err := ds.buf("partial sums", 8*int64(max(pieces, 1))*int64(ds.d))
		if err != nil {
			return err
		}
		psums, err := ds.buf("sums", 8*int64(k)*int64(ds.d))
		if err != nil {
			return err
		}
		if pieces > 0 {
			args := sumPartialArgs(ds.x.ptr, ds.d, porder, ppieces, ppartial)
			if err := b.launch(kSumPartial, sumPartialLaunch(pieces, ds.d), args); err != nil {
				return err
			}
		}
		if err := b.launch(kSumCombine, sumCombineLaunch(k, ds.d), sumCombineArgs(ppartial, pfirst, k, ds.d, psums)); err != nil {
			return err
		}
		if err := b.sync(kSumCombine); err != nil {
			return err
		}
		return dtoh(sums, psums, "sums")
	})
}

// ClusterDistanceSums implements kernels.Backend with cluster_dist_sums:
// the labelled rows grouped by label on the host, then, chunk by chunk of
// rows (sized from free memory and bounded in work so that cancellation is
// honoured between launches), every row's distance sums to every cluster.
func (b *Backend) ClusterDistanceSums(ctx context.Context, x kernels.Dataset, labels []int32, k int, out []float64) error {
	return b.do(ctx, func() error {
		ds, err := b.own(x)
		if err != nil {
			return err
		}
		if err := kernels.CheckClusterDistanceSums(ds.n, labels, k, out); err != nil {
			return err
		}
		order, start := kernels.GroupByLabel(labels, k)
		porder, err := upload(ds, "cluster order", order)
		if err != nil {
			return err
		}
		pstart, err := upload(ds, "cluster starts", start)
		if err != nil {
			return err
		}
		free, err := freeMemory()
		if err != nil {
			return err
		}
		rows, err := cdsChunkRows(ds.n, len(order), k, ds.d, free)
		if err != nil {
			return err
		}
		pout, err := ds.buf("cluster distance sums", 8*int64(rows)*int64(k))
		if err != nil {
			return err
		}
		for r0 := 0; r0 < ds.n; r0 += rows {
			rn := min(rows, ds.n-r0)
			for l0 := 0; l0 < k; l0 += maxGridYZ {
				if err := ctx.Err(); err != nil {
					return err
				}
				args := clusterDistsArgs(ds.x.ptr, ds.d, r0+rn, r0, porder, pstart, k, l0, pout)
				if err := b.launch(kClusterDists, cdsLaunch(rn, min(maxGridYZ, k-l0)), args); err != nil {
					return err
				}
			}
			if err := b.sync(kClusterDists); err != nil {
				return err
			}
			if err := dtoh(out[r0*k:(r0+rn)*k], pout, "cluster distance sums"); err != nil {
				return err
			}
		}
		return ds.release("cluster distance sums")
	})
}
