//go:build cuda || cudaemu

package gpu

import (
	"context"

	"github.com/clusterd/clusterd/kernels"
)

// KNN implements kernels.Backend. Chunk by chunk of rows (sized from free
// memory): dist_fp32 writes the chunk's distances to all n rows,
// knn_select picks each row's k smallest (ties at the k-th to the lower
// indices), knn_measure recomputes them exactly from differences and
// knn_sort orders them by (distance, index); for k > KNNSortMax the host
// sorts instead. The selection uses the GEMM-form distances, so a
// neighbour may differ from the exact top k only where distances tie within
// the Assign tolerance, as the contract allows; the reported distances are
// exact to float32 rounding.
func (b *Backend) KNN(ctx context.Context, x kernels.Dataset, k int, idx []int32, dist2 []float32) error {
	return b.do(ctx, func() error {
		ds, err := b.own(x)
		if err != nil {
			return err
		}
		n := ds.n
		if err := kernels.CheckKNN(n, k, idx, dist2); err != nil {
			return err
		}
		free, err := freeMemory()
		if err != nil {
			return err
		}
		rows, err := knnChunkRows(n, k, ds.d, free)
		if err != nil {
			return err
		}
		pd, err := ds.buf("knn distances", 4*int64(rows)*int64(n))
		if err != nil {
			return err
		}
		pi, err := ds.buf("knn indices", 4*int64(rows)*int64(k))
		if err != nil {
			return err
		}
		pe, err := ds.buf("knn exact distances", 4*int64(rows)*int64(k))
		if err != nil {
			return err
		}
		x, xn := ds.x.ptr, ds.xn.ptr
		err = b.distanceChunks(ctx, ds, rows, x, xn, n, pd, func(r0, rn int) error {
			if err := b.launch(kKNNSelect, knnSelectLaunch(rn), knnSelectArgs(pd, n, n, k, pi)); err != nil {
				return err
			}
			if err := b.launch(kKNNMeasure, warpPerRowLaunch(rn*k), knnMeasureArgs(x, ds.d, r0, rn, k, pi, pe)); err != nil {
				return err
			}
			if k <= KNNSortMax {
				if err := b.launch(kKNNSort, knnSortLaunch(rn), knnSortArgs(k, pi, pe)); err != nil {
					return err
				}
			}
			if err := b.sync("knn selection"); err != nil {
				return err
			}
			if err := dtoh(idx[r0*k:(r0+rn)*k], pi, "knn indices"); err != nil {
				return err
			}
			return dtoh(dist2[r0*k:(r0+rn)*k], pe, "knn distances")
		})
		if err != nil {
			return err
		}
		if k > KNNSortMax {
			sortNeighbours(idx, dist2, n, k)
		}
		return ds.release("knn distances", "knn indices", "knn exact distances")
	})
}
