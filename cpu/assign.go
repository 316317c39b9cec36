// Assign, AssignSubset and Distances, with their generic (gonum) path.

package cpu

import (
	"context"

	"github.com/clusterd/clusterd/kernels"
)

// tieTol is the relative gap, against ‖x‖² + ‖c‖², under which the best and
// second-best centroids found in the GEMM form are re-checked with exact
// float64 differences: rounding in ‖x‖² − 2x·c + ‖c‖² is far below it, so a
// larger gap cannot be an ordering error.
const tieTol = 1e-5

// centroidNorms returns ‖c_j‖² for the k rows of c.
func centroidNorms(c []float32, k, d int) []float32 {
	cn := make([]float32, k)
	for j := range cn {
		cn[j] = float32(sqNorm(c[j*d : (j+1)*d]))
	}
	return cn
}

// nearest holds the best and second-best centroid of one row.
type nearest struct {
	best           int32
	bestD, secondD float32
}

// tied reports whether o, for a row of norm xn, needs the exact re-check:
// when the two best distances are within tieTol·(‖x‖² + ‖c_best‖²), the
// GEMM form cannot order them, so the float64 reference loop decides.
func (o nearest) tied(xn float32, cn []float32) bool {
	return o.secondD-o.bestD <= tieTol*(xn+cn[o.best])
}

// settle returns o for the row x (norm xn) with near ties re-checked
// exactly and negative rounding clamped.
func (s *simd) settle(o nearest, x []float32, xn float32, c, cn []float32, k, d int) nearest {
	if o.tied(xn, cn) {
		o = s.exactNearest(x, c, k, d)
	}
	o.bestD = max(o.bestD, 0)
	o.secondD = max(o.secondD, 0)
	return o
}

// exactNearest is the reference loop in float64, ties to the lower index.
func (s *simd) exactNearest(x, c []float32, k, d int) nearest {
	o := nearest{bestD: inf32, secondD: inf32}
	best, second := float64(inf32), float64(inf32)
	for j := 0; j < k; j++ {
		e := s.exactSqDist(x, c[j*d:(j+1)*d])
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
	if err := kernels.CheckAssign(ds.n, ds.d, c, k, labels, dist2); err != nil {
		return err
	}
	return b.nearestRows(ctx, ds, nil, c, k, labels, dist2, nil)
}

// AssignSubset implements kernels.SubsetAssigner: the listed rows are
// scanned like Assign scans all of them.
func (b *Backend) AssignSubset(ctx context.Context, x kernels.Dataset, rows []int32, c []float32, k int, labels []int32, dist2, second2 []float32) error {
	ds := b.own(x)
	if err := kernels.CheckAssignSubset(ds.n, ds.d, rows, c, k, labels, dist2, second2); err != nil {
		return err
	}
	return b.nearestRows(ctx, ds, rows, c, k, labels, dist2, second2)
}

// nearestRows finds the nearest and second-nearest of the k centroids c for
// the rows listed in rows (all rows when nil) and writes, at each row's
// position p in the list, labels[p], dist2[p] and, when second2 is not nil,
// second2[p] (+Inf for k = 1).
func (b *Backend) nearestRows(ctx context.Context, ds *dataset, rows []int32, c []float32, k int, labels []int32, dist2, second2 []float32) error {
	n, d := ds.n, ds.d
	if rows != nil {
		n = len(rows)
	}
	cn := centroidNorms(c, k, d)
	if s := b.simd; s != nil {
		return s.nearestRows(ctx, b.threads, ds, rows, n, c, cn, k, labels, dist2, second2)
	}
	emit := func(p int, o nearest) {
		labels[p], dist2[p] = o.best, o.bestD
		if second2 != nil {
			second2[p] = o.secondD
			if k == 1 {
				second2[p] = inf32
			}
		}
	}
	return parallelFor(ctx, b.threads, blocks(n, rowTile), func(t int) {
		lo, hi := t*rowTile, min(n, (t+1)*rowTile)
		tb := getTile(d)
		defer putTile(tb)
		var xn [rowTile]float32
		xb := ds.x[lo*d : hi*d]
		if rows != nil {
			for p := lo; p < hi; p++ {
				copy(tb.rows[(p-lo)*d:(p-lo+1)*d], ds.row(int(rows[p])))
				xn[p-lo] = ds.norms[rows[p]]
			}
			xb = tb.rows[:(hi-lo)*d]
		} else {
			copy(xn[:], ds.norms[lo:hi])
		}
		var near [rowTile]nearest
		scanBlock(xb, xn[:hi-lo], hi-lo, c, cn, k, d, tb, near[:])
		for p := lo; p < hi; p++ {
			emit(p, near[p-lo])
		}
	})
}

// scanBlock is the generic path of nearestRows: for the nr rows of xb
// (contiguous, with norms xn) it finds the nearest and second-nearest of the
// k centroids c, tile by tile through gonum, then settles near ties. out has
// length ≥ nr.
func scanBlock(xb []float32, xn []float32, nr int, c, cn []float32, k, d int, tb *tileBuf, out []nearest) {
	for r := 0; r < nr; r++ {
		out[r] = nearest{best: 0, bestD: inf32, secondD: inf32}
	}
	for j0 := 0; j0 < k; j0 += colTile {
		nc := min(colTile, k-j0)
		dotTile(xb, nr, c[j0*d:(j0+nc)*d], nc, d, tb.prod, nc)
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
	var s *simd
	for r := 0; r < nr; r++ {
		out[r] = s.settle(out[r], xb[r*d:(r+1)*d], xn[r], c, cn, k, d)
	}
}

// Distances implements kernels.Backend.
func (b *Backend) Distances(ctx context.Context, x kernels.Dataset, y []float32, m int, out []float32) error {
	ds := b.own(x)
	if err := kernels.CheckDistances(ds.n, ds.d, y, m, out); err != nil {
		return err
	}
	yn := centroidNorms(y, m, ds.d)
	if s := b.simd; s != nil {
		if m <= skinnyMax {
			return s.skinnyDistances(ctx, b.threads, ds, y, yn, m, out)
		}
		return s.distances(ctx, b.threads, ds, y, yn, m, out)
	}
	d := ds.d
	return parallelFor(ctx, b.threads, blocks(ds.n, rowTile), func(t int) {
		lo, hi := t*rowTile, min(ds.n, (t+1)*rowTile)
		tb := getTile(d)
		defer putTile(tb)
		for j0 := 0; j0 < m; j0 += colTile {
			nc := min(colTile, m-j0)
			dotTile(ds.x[lo*d:hi*d], hi-lo, y[j0*d:(j0+nc)*d], nc, d, tb.prod, nc)
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
