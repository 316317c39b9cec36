package cpu

import (
	"context"
	"fmt"

	"github.com/clusterd/clusterd/kernels"
)

// tieTol is the relative gap, against ‖x‖² + ‖c‖², under which the best and
// second-best centroids found in the GEMM form are re-checked with exact
// float64 differences: rounding in ‖x‖² − 2x·c + ‖c‖² is far below it, so a
// larger gap cannot be an ordering error.
const tieTol = 1e-5

func checkCentroids(ds *dataset, c []float32, k int) error {
	if k < 1 {
		return fmt.Errorf("%w: k = %d, need k ≥ 1", kernels.ErrShape, k)
	}
	return kernels.CheckLen("centroids", len(c), k*ds.d)
}

// centroidNorms returns ‖c_j‖² for the k rows of c.
func centroidNorms(c []float32, k, d int) []float32 {
	cn := make([]float32, k)
	for j := range cn {
		cn[j] = float32(sqNorm(c[j*d : (j+1)*d]))
	}
	return cn
}

// nearest holds the running best and second-best centroid of one row.
type nearest struct {
	best           int32
	bestD, secondD float32
}

// scanBlock finds, for the nr rows of xb (contiguous, with norms xn), the
// nearest and second-nearest of the k centroids c, tile by tile, then
// settles near ties exactly. out has length ≥ nr.
func scanBlock(xb []float32, xn []float32, nr int, c, cn []float32, k, d int, tb *tileBuf, out []nearest) {
	for r := 0; r < nr; r++ {
		out[r] = nearest{best: 0, bestD: inf32, secondD: inf32}
	}
	for j0 := 0; j0 < k; j0 += colTile {
		nc := min(colTile, k-j0)
		dotTile(xb, nr, c[j0*d:(j0+nc)*d], nc, d, tb.prod)
		for r := 0; r < nr; r++ {
			xr, p, o := xn[r], tb.prod[r*nc:(r+1)*nc], &out[r]
			for jj, g := range p {
				e := xr + cn[j0+jj] - 2*g
				if e < o.bestD {
					o.secondD, o.bestD, o.best = o.bestD, e, int32(j0+jj)
				} else if e < o.secondD {
					o.secondD = e
				}
			}
		}
	}
	for r := 0; r < nr; r++ {
		o := &out[r]
		if o.secondD-o.bestD <= tieTol*(xn[r]+cn[o.best]) {
			*o = exactNearest(xb[r*d:(r+1)*d], c, k, d)
		}
		o.bestD = max(o.bestD, 0)
		o.secondD = max(o.secondD, 0)
	}
}

// exactNearest is the reference loop in float64, ties to the lower index.
func exactNearest(x, c []float32, k, d int) nearest {
	o := nearest{bestD: inf32, secondD: inf32}
	best, second := float64(inf32), float64(inf32)
	for j := 0; j < k; j++ {
		e := exactSqDist(x, c[j*d:(j+1)*d])
		if e < best {
			second, best, o.best = best, e, int32(j)
		} else if e < second {
			second = e
		}
	}
	o.bestD, o.secondD = float32(best), float32(second)
	return o
}

// Assign implements kernels.Backend.
func (b *Backend) Assign(ctx context.Context, x kernels.Dataset, c []float32, k int, labels []int32, dist2 []float32) error {
	ds := b.own(x)
	if err := checkCentroids(ds, c, k); err != nil {
		return err
	}
	if err := checkOut(ds.n, len(labels), len(dist2)); err != nil {
		return err
	}
	cn := centroidNorms(c, k, ds.d)
	return parallelFor(ctx, b.workers, blocks(ds.n, rowTile), func(t int) {
		lo, hi := t*rowTile, min(ds.n, (t+1)*rowTile)
		tb := getTile(ds.d)
		defer putTile(tb)
		var near [rowTile]nearest
		scanBlock(ds.x[lo*ds.d:hi*ds.d], ds.norms[lo:hi], hi-lo, c, cn, k, ds.d, tb, near[:])
		for r := lo; r < hi; r++ {
			labels[r], dist2[r] = near[r-lo].best, near[r-lo].bestD
		}
	})
}

// AssignSubset implements kernels.SubsetAssigner: the listed rows are
// gathered into a contiguous tile and scanned like Assign does.
func (b *Backend) AssignSubset(ctx context.Context, x kernels.Dataset, rows []int32, c []float32, k int, labels []int32, dist2, second2 []float32) error {
	ds := b.own(x)
	if err := checkCentroids(ds, c, k); err != nil {
		return err
	}
	if err := checkOut(len(rows), len(labels), len(dist2), len(second2)); err != nil {
		return err
	}
	for _, r := range rows {
		if r < 0 || int(r) >= ds.n {
			return fmt.Errorf("%w: row %d out of [0,%d)", kernels.ErrShape, r, ds.n)
		}
	}
	cn := centroidNorms(c, k, ds.d)
	d := ds.d
	return parallelFor(ctx, b.workers, blocks(len(rows), rowTile), func(t int) {
		lo, hi := t*rowTile, min(len(rows), (t+1)*rowTile)
		tb := getTile(d)
		defer putTile(tb)
		var xn [rowTile]float32
		for p := lo; p < hi; p++ {
			copy(tb.rows[(p-lo)*d:(p-lo+1)*d], ds.row(int(rows[p])))
			xn[p-lo] = ds.norms[rows[p]]
		}
		var near [rowTile]nearest
		scanBlock(tb.rows[:(hi-lo)*d], xn[:hi-lo], hi-lo, c, cn, k, d, tb, near[:])
		for p := lo; p < hi; p++ {
			o := near[p-lo]
			labels[p], dist2[p], second2[p] = o.best, o.bestD, o.secondD
			if k == 1 {
				second2[p] = inf32
			}
		}
	})
}

// Distances implements kernels.Backend.
func (b *Backend) Distances(ctx context.Context, x kernels.Dataset, y []float32, m int, out []float32) error {
	ds := b.own(x)
	if err := checkCentroids(ds, y, m); err != nil {
		return err
	}
	if err := kernels.CheckLen("out", len(out), ds.n*m); err != nil {
		return err
	}
	yn := centroidNorms(y, m, ds.d)
	d := ds.d
	return parallelFor(ctx, b.workers, blocks(ds.n, rowTile), func(t int) {
		lo, hi := t*rowTile, min(ds.n, (t+1)*rowTile)
		tb := getTile(d)
		defer putTile(tb)
		for j0 := 0; j0 < m; j0 += colTile {
			nc := min(colTile, m-j0)
			dotTile(ds.x[lo*d:hi*d], hi-lo, y[j0*d:(j0+nc)*d], nc, d, tb.prod)
			for r := lo; r < hi; r++ {
				p := tb.prod[(r-lo)*nc : (r-lo+1)*nc]
				o := out[r*m+j0 : r*m+j0+nc]
				for jj, g := range p {
					o[jj] = max(0, ds.norms[r]+yn[j0+jj]-2*g)
				}
			}
		}
	})
}

// checkOut verifies that every output length equals n.
func checkOut(n int, lens ...int) error {
	for i, l := range lens {
		if l != n {
			return fmt.Errorf("%w: output %d has length %d, want %d", kernels.ErrShape, i, l, n)
		}
	}
	return nil
}
