// KNN: GEMM-form screening with exact re-measurement into per-row heaps.

package cpu

import (
	"context"
	"math/bits"

	"github.com/clusterd/clusterd/kernels"
)

// KNN implements kernels.Backend. Candidates are screened in the GEMM form;
// a candidate that may enter a row's top k has its distance recomputed
// exactly in float64 before it is kept, so the reported distances are exact
// (to float32 rounding) and ties are broken by index as the contract says.
// The screen lets through every candidate whose GEMM distance is within
// tieTol·(‖x_i‖² + ‖x_j‖²) of the row's current k-th exact distance, which
// the true top k always are; so the result is the exact top k whatever the
// screen's blocking, and the same on every core count.
func (b *Backend) KNN(ctx context.Context, x kernels.Dataset, k int, idx []int32, dist2 []float32) error {
	ds := b.own(x)
	if err := kernels.CheckKNN(ds.n, k, idx, dist2); err != nil {
		return err
	}
	if s := b.simd; s != nil {
		return s.knn(ctx, b.threads, ds, k, idx, dist2)
	}
	var s *simd
	n, d := ds.n, ds.d
	return parallelFor(ctx, b.threads, blocks(n, rowTile), func(t int) {
		lo, hi := t*rowTile, min(n, (t+1)*rowTile)
		tb := getTile(d)
		defer putTile(tb)
		heaps := newHeaps(hi-lo, k)
		xb := ds.x[lo*d : hi*d]
		for j0 := 0; j0 < n; j0 += colTile {
			nc := min(colTile, n-j0)
			dotTile(xb, hi-lo, ds.x[j0*d:(j0+nc)*d], nc, d, tb.prod, nc)
			for r := lo; r < hi; r++ {
				h, xr, xi := &heaps[r-lo], ds.norms[r], ds.row(r)
				for jj, g := range tb.prod[(r-lo)*nc : (r-lo+1)*nc] {
					j := j0 + jj
					if h.full() {
						approx := xr + ds.norms[j] - 2*g
						if approx > h.worst().dist+tieTol*(xr+ds.norms[j]) {
							continue
						}
					}
					h.offer(neighbour{float32(s.exactSqDist(xi, ds.row(j))), int32(j)})
				}
			}
		}
		for r := lo; r < hi; r++ {
			heaps[r-lo].drainSorted(idx[r*k:(r+1)*k], dist2[r*k:(r+1)*k])
		}
	})
}

// knn is the SIMD path of KNN. The modeMask epilogue screens a block of
// candidates against per-lane thresholds: with norms scaled by (1−tieTol),
// e' = (1−tieTol)(‖x_i‖² + ‖x_j‖²) − 2x_i·x_j ≤ worst_i is the generic
// path's test approx ≤ worst_i + tieTol·(‖x_i‖² + ‖x_j‖²). Thresholds are
// refreshed between blocks, which start at one candidate panel (while the
// heaps fill, everything passes) and double up to the cache budget.
func (s *simd) knn(ctx context.Context, workers int, ds *dataset, k int, idx []int32, dist2 []float32) error {
	n, d, L, C := ds.n, ds.d, s.lanes, s.cands
	zero := make([]float32, d)
	scaled := make([]float32, n)
	for j, v := range ds.norms {
		scaled[j] = (1 - tieTol) * v
	}
	cands, cnp := s.candTable(ds.x, n, d, scaled, 0, zero)
	np, maxBlock, per := len(cands)/C, s.candChunk(d), s.panelsPerTask()*L
	return parallelFor(ctx, workers, blocks(n, per), func(t int) {
		lo, hi := t*per, min(n, (t+1)*per)
		sc := getScratch()
		defer putScratch(sc)
		nq := s.packTask(sc, ds, nil, lo, hi, zero)
		for i := range sc.xn {
			sc.xn[i] *= 1 - tieTol
		}
		thr := grow(sc.buf, nq*L)
		for i := range thr {
			thr[i] = inf32
		}
		sc.masks = grow(sc.masks, maxBlock*C)
		heaps := newHeaps(hi-lo, k)
		for p0, nb := 0, 1; p0 < np; p0, nb = p0+nb, min(2*nb, maxBlock, np-p0-nb) {
			for q := 0; q < nq; q++ {
				a := &sc.args
				*a = panelArgs{
					xt: &sc.xt[q*L*d], cands: &cands[p0*C], cn: &cnp[p0*C], xn: &sc.xn[q*L],
					thr: &thr[q*L], mask: &sc.masks[0], d: d, np: nb, mode: modeMask,
				}
				s.panel(a)
				r0, nr := lo+q*L, min(L, hi-lo-q*L)
				valid := uint32(1)<<nr - 1
				for c, m := range sc.masks[:min(nb*C, n-p0*C)] {
					j := p0*C + c
					for m &= valid; m != 0; m &= m - 1 {
						i := r0 + bits.TrailingZeros32(m)
						heaps[i-lo].offer(neighbour{float32(s.exactSqDist(ds.row(i), ds.row(j))), int32(j)})
					}
				}
				for r := 0; r < nr; r++ {
					if h := &heaps[r0-lo+r]; h.full() {
						thr[q*L+r] = h.worst().dist
					}
				}
			}
		}
		for i := lo; i < hi; i++ {
			heaps[i-lo].drainSorted(idx[i*k:(i+1)*k], dist2[i*k:(i+1)*k])
		}
	})
}

// newHeaps returns n empty top-k heaps.
func newHeaps(n, k int) []topK {
	heaps := make([]topK, n)
	items := make([]neighbour, n*k)
	for r := range heaps {
		heaps[r] = topK{k: k, items: items[r*k : r*k : (r+1)*k]}
	}
	return heaps
}

// neighbour is a candidate of a KNN heap: its exact distance and row.
type neighbour struct {
	dist float32
	idx  int32
}

// less orders neighbours by distance, then by row.
func (a neighbour) less(b neighbour) bool {
	return a.dist < b.dist || (a.dist == b.dist && a.idx < b.idx)
}

// topK keeps the k smallest neighbours seen, as a max-heap on (dist, idx).
type topK struct {
	k     int
	items []neighbour
}

// full reports whether the heap holds k neighbours.
func (h *topK) full() bool { return len(h.items) == h.k }

// worst is the largest neighbour kept (the heap must not be empty).
func (h *topK) worst() neighbour { return h.items[0] }

// offer keeps c if it is among the k smallest seen so far.
func (h *topK) offer(c neighbour) {
	if !h.full() {
		h.items = append(h.items, c)
		h.up(len(h.items) - 1)
		return
	}
	if c.less(h.items[0]) {
		h.items[0] = c
		h.down(0)
	}
}

// up restores the heap order above item i.
func (h *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.items[p].less(h.items[i]) {
			return
		}
		h.items[p], h.items[i] = h.items[i], h.items[p]
		i = p
	}
}

// down restores the heap order below item i.
func (h *topK) down(i int) {
	n := len(h.items)
	for {
		l, big := 2*i+1, i
		if l < n && h.items[big].less(h.items[l]) {
			big = l
		}
		if r := l + 1; r < n && h.items[big].less(h.items[r]) {
			big = r
		}
		if big == i {
			return
		}
		h.items[i], h.items[big] = h.items[big], h.items[i]
		i = big
	}
}

// drainSorted writes the heap's items in ascending order and empties it.
func (h *topK) drainSorted(idx []int32, dist []float32) {
	for p := len(h.items) - 1; p >= 0; p-- {
		top := h.items[0]
		idx[p], dist[p] = top.idx, top.dist
		last := len(h.items) - 1
		h.items[0] = h.items[last]
		h.items = h.items[:last]
		if last > 0 {
			h.down(0)
		}
	}
}
