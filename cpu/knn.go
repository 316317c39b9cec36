package cpu

import (
	"context"
	"fmt"

	"github.com/clusterd/clusterd/kernels"
)

// KNN implements kernels.Backend. Candidates are screened in the GEMM form
// over tiles of other rows; a candidate that may enter a row's top k has its
// distance recomputed exactly in float64 before it is kept, so the reported
// distances are exact (to float32 rounding) and ties are broken by index as
// the contract says.
func (b *Backend) KNN(ctx context.Context, x kernels.Dataset, k int, idx []int32, dist2 []float32) error {
	ds := b.own(x)
	if k < 1 || k > ds.n {
		return fmt.Errorf("%w: k = %d, need 1 ≤ k ≤ n = %d", kernels.ErrShape, k, ds.n)
	}
	if err := kernels.CheckLen("idx", len(idx), ds.n*k); err != nil {
		return err
	}
	if err := kernels.CheckLen("dist2", len(dist2), ds.n*k); err != nil {
		return err
	}
	n, d := ds.n, ds.d
	return parallelFor(ctx, b.workers, blocks(n, rowTile), func(t int) {
		lo, hi := t*rowTile, min(n, (t+1)*rowTile)
		tb := getTile(d)
		defer putTile(tb)
		heaps := make([]topK, hi-lo)
		for r := range heaps {
			heaps[r] = topK{k: k, items: make([]neighbour, 0, k)}
		}
		xb := ds.x[lo*d : hi*d]
		for j0 := 0; j0 < n; j0 += colTile {
			nc := min(colTile, n-j0)
			dotTile(xb, hi-lo, ds.x[j0*d:(j0+nc)*d], nc, d, tb.prod)
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
					h.offer(neighbour{float32(exactSqDist(xi, ds.row(j))), int32(j)})
				}
			}
		}
		for r := lo; r < hi; r++ {
			heaps[r-lo].drainSorted(idx[r*k:(r+1)*k], dist2[r*k:(r+1)*k])
		}
	})
}

type neighbour struct {
	dist float32
	idx  int32
}

func (a neighbour) less(b neighbour) bool {
	return a.dist < b.dist || (a.dist == b.dist && a.idx < b.idx)
}

// topK keeps the k smallest neighbours seen, as a max-heap on (dist, idx).
type topK struct {
	k     int
	items []neighbour
}

func (h *topK) full() bool       { return len(h.items) == h.k }
func (h *topK) worst() neighbour { return h.items[0] }
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
