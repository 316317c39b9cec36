// Drivers of the SIMD paths for Assign, AssignSubset and Distances: task
// blocking, lane-panel packing and candidate tables.

package cpu

import (
	"context"
	"sync"
	"unsafe"
)

// Blocking of the SIMD drivers. A task packs taskRows rows (a few lane
// panels, which stay in L2) and runs them against the candidates
// candBudget bytes at a time, so that a block of candidates read from
// memory is reused by every panel of the task before the next block is
// read. Neither constant changes any arithmetic: a lane's result depends
// only on its row and the candidates, visited in increasing order.
const (
	taskRows   = 128
	candBudget = 384 << 10
)

// panelsPerTask is the number of lane panels of a task.
func (s *simd) panelsPerTask() int { return taskRows / s.lanes }

// candChunk is how many candidate panels of d features fit candBudget.
func (s *simd) candChunk(d int) int { return max(1, candBudget/(s.cands*d*4)) }

// candTable returns the row pointers and norms of the m rows of y (m×d),
// padded to whole candidate panels with pointers to zero and norm pad.
func (s *simd) candTable(y []float32, m, d int, norm []float32, pad float32, zero []float32) ([]*float32, []float32) {
	n := blocks(m, s.cands) * s.cands
	ptrs, cn := make([]*float32, n), make([]float32, n)
	for j := range ptrs {
		if j < m {
			ptrs[j], cn[j] = &y[j*d], norm[j]
		} else {
			ptrs[j], cn[j] = &zero[0], pad
		}
	}
	return ptrs, cn
}

// panelScratch is the per-task working memory of the SIMD drivers, pooled
// because tasks are short.
type panelScratch struct {
	xt    []float32 // packed lane panels, lanes·d each
	xn    []float32 // their lane norms
	rows  []int32   // their rows
	st    []panelState
	buf   []float32 // kernel output: distances, square roots, thresholds
	masks []uint32
	ptrs  [maxLanes]*float32
	// args is here because a kernel called through a func value would move a
	// local panelArgs to the heap on every call.
	args panelArgs
	// Silhouette tiles: candidate table, row sums, gathered rows (generic).
	cands    []*float32
	cn       []float32
	sum      []float64
	gathered []float32
}

var panelPool = sync.Pool{New: func() any { return new(panelScratch) }}

// getScratch returns a scratch from the pool; its slices keep their old
// capacity and contents.
func getScratch() *panelScratch { return panelPool.Get().(*panelScratch) }

// putScratch returns sc to the pool, dropping its references to datasets.
func putScratch(sc *panelScratch) {
	clear(sc.ptrs[:])
	clear(sc.cands)
	sc.args = panelArgs{}
	panelPool.Put(sc)
}

// grow returns s resized to n, reallocated when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// packTask packs the dataset rows at positions [lo, hi) of rows (rows lo..hi−1
// when rows is nil) into whole lane panels of sc.xt, with their norms in
// sc.xn (zero for the missing lanes of the last panel) and their indices in
// sc.rows. It returns the number of panels.
func (s *simd) packTask(sc *panelScratch, ds *dataset, rows []int32, lo, hi int, zero []float32) int {
	L, d := s.lanes, ds.d
	nq := blocks(hi-lo, L)
	sc.rows = grow(sc.rows, hi-lo)
	for p := lo; p < hi; p++ {
		if rows != nil {
			sc.rows[p-lo] = rows[p]
		} else {
			sc.rows[p-lo] = int32(p)
		}
	}
	sc.xt = grow(sc.xt, nq*L*d)
	sc.xn = grow(sc.xn, nq*L)
	for q := 0; q < nq; q++ {
		qr := sc.rows[q*L : min(hi-lo, (q+1)*L)]
		s.packRows(sc.xt[q*L*d:(q+1)*L*d], ds.x, d, qr, sc.ptrs[:], zero)
		xn := sc.xn[q*L : (q+1)*L]
		for r := range xn {
			xn[r] = 0
			if r < len(qr) {
				xn[r] = ds.norms[qr[r]]
			}
		}
	}
	return nq
}

// nearestRows is the SIMD path of Backend.nearestRows: the n rows at the
// positions of rows (all rows when nil) against the k centroids c (norms
// cn), with the running best kept by the modeAssign epilogue.
func (s *simd) nearestRows(ctx context.Context, workers int, ds *dataset, rows []int32, n int, c, cn []float32, k int, labels []int32, dist2, second2 []float32) error {
	d, L, C := ds.d, s.lanes, s.cands
	zero := make([]float32, d)
	// Padding candidates sit at +Inf, so they never become best or second.
	cands, cnp := s.candTable(c, k, d, cn, inf32, zero)
	np, chunk, per := len(cands)/C, s.candChunk(d), s.panelsPerTask()*L
	// A few rows (mini-batch k-means' rows that fail their bounds) are
	// split into smaller tasks, so that every thread gets some.
	if g := max(workers, 1); n < 2*g*per {
		per = max(L, blocks(blocks(n, 2*g), L)*L)
	}
	return parallelFor(ctx, workers, blocks(n, per), func(t int) {
		lo, hi := t*per, min(n, (t+1)*per)
		sc := getScratch()
		defer putScratch(sc)
		nq := s.packTask(sc, ds, rows, lo, hi, zero)
		sc.st = grow(sc.st, nq)
		for q := range sc.st {
			sc.st[q].reset()
		}
		for p0 := 0; p0 < np; p0 += chunk {
			for q := 0; q < nq; q++ {
				a := &sc.args
				*a = panelArgs{
					xt: &sc.xt[q*L*d], cands: &cands[p0*C], cn: &cnp[p0*C], xn: &sc.xn[q*L],
					out: unsafe.Pointer(&sc.st[q]), d: d, np: min(chunk, np-p0), j0: p0 * C, mode: modeAssign,
				}
				s.panel(a)
			}
		}
		for q := range sc.st {
			st := &sc.st[q]
			for r := range min(L, hi-lo-q*L) {
				p := lo + q*L + r
				o := nearest{best: st.idx[r], bestD: st.best[r], secondD: st.second[r]}
				if o.tied(sc.xn[q*L+r], cn) {
					o = s.exactNearest(ds.row(int(sc.rows[p-lo])), c, k, d)
				}
				labels[p], dist2[p] = o.best, max(o.bestD, 0)
				if second2 != nil {
					second2[p] = max(o.secondD, 0)
					if k == 1 {
						second2[p] = inf32
					}
				}
			}
		}
	})
}

// skinnyMax is the most points the skinny distance kernel takes.
const skinnyMax = 8

// skinnyAux holds the constants of the skinny kernels: the AVX-512 and AVX2
// permutations that put the folded dot products in point order, then eight
// all-ones and eight zero lanes from which the AVX2 kernel takes its masks.
var skinnyAux = [40]int32{
	0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 4, 1, 5, 2, 6, 3, 7,
	-1, -1, -1, -1, -1, -1, -1, -1,
	0, 0, 0, 0, 0, 0, 0, 0,
}

// skinnyDistances is the SIMD path of Backend.Distances for m ≤ skinnyMax
// (k-means++ candidates): the rows stream through the skinny kernel in
// place, so x is read once at memory speed. The points are packed as
// [feature chunk][skinnyMax points][rowWidth features], zero padded.
func (s *simd) skinnyDistances(ctx context.Context, workers int, ds *dataset, y, yn []float32, m int, out []float32) error {
	const rowsPerTask = 1024
	d, w := ds.d, s.rowWidth
	yp := make([]float32, blocks(d, w)*skinnyMax*w)
	for j := 0; j < m; j++ {
		for t, v := range y[j*d : (j+1)*d] {
			yp[(t/w*skinnyMax+j)*w+t%w] = v
		}
	}
	ynp := make([]float32, 16)
	copy(ynp, yn)
	return parallelFor(ctx, workers, blocks(ds.n, rowsPerTask), func(t int) {
		lo, hi := t*rowsPerTask, min(ds.n, (t+1)*rowsPerTask)
		s.distRows(&ds.x[lo*d], hi-lo, d, &yp[0], &ds.norms[lo], &ynp[0], &out[lo*m], m, &skinnyAux[0])
	})
}

// distances is the SIMD path of Backend.Distances for m > skinnyMax: out[i*m+j] =
// max(0, e(x_i, y_j)) from the modeStore epilogue, at most storeChunk
// candidate panels per kernel call.
func (s *simd) distances(ctx context.Context, workers int, ds *dataset, y, yn []float32, m int, out []float32) error {
	const storeChunk = 16
	d, L, C := ds.d, s.lanes, s.cands
	zero := make([]float32, d)
	cands, cnp := s.candTable(y, m, d, yn, 0, zero)
	np, per := len(cands)/C, s.panelsPerTask()*L
	return parallelFor(ctx, workers, blocks(ds.n, per), func(t int) {
		lo, hi := t*per, min(ds.n, (t+1)*per)
		sc := getScratch()
		defer putScratch(sc)
		nq := s.packTask(sc, ds, nil, lo, hi, zero)
		chunk := min(np, storeChunk)
		sc.buf = grow(sc.buf, chunk*C*L)
		for q := 0; q < nq; q++ {
			for p0 := 0; p0 < np; p0 += chunk {
				a := &sc.args
				*a = panelArgs{
					xt: &sc.xt[q*L*d], cands: &cands[p0*C], cn: &cnp[p0*C], xn: &sc.xn[q*L],
					out: unsafe.Pointer(&sc.buf[0]), d: d, np: min(chunk, np-p0), ldo: 4 * L, mode: modeStore,
				}
				s.panel(a)
				// Row by row, so that the stores run along out's rows (the
				// kernel's output is by candidate, L rows each, and small).
				j0, j1 := p0*C, min(m, (p0+chunk)*C)
				for i := lo + q*L; i < min(hi, lo+(q+1)*L); i++ {
					o, e := out[i*m+j0:i*m+j1], sc.buf[i-lo-q*L:]
					for j := range o {
						o[j] = max(0, e[j*L])
					}
				}
			}
		}
	})
}
