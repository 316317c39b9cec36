// Package dbscan is DBSCAN clustering (Ester, Kriegel, Sander and Xu, 1996)
// with scikit-learn 1.2.1's parameters, defaults and labels.
//
// A point is a core point when at least min_samples points (itself
// included) lie within eps of it. Core points within eps of each other are
// in the same cluster; a non-core point within eps of a core point is a
// border point of that point's cluster; every other point is noise (−1).
// scikit-learn numbers clusters in the order of their lowest-indexed core
// point and, because it expands one cluster completely before the next, a
// border point near several clusters goes to the lowest-numbered one. Both
// follow from its expansion order alone, whatever order the neighbours come
// in, and are reproduced here, so labels equal scikit-learn's.
//
// Neighbourhoods come from a k-d tree in low dimensions (Euclidean,
// d ≤ TreeDimLimit; scikit-learn uses one up to 15) and otherwise from blocks
// of Backend.Distances, rechecked in float64 near the eps boundary. The
// neighbour lists are kept between the pass that counts them and the pass
// that joins clusters up to MaxStoredNeighbours entries; beyond that memory
// stays O(n·min_samples) and the second pass recomputes the distances.
package dbscan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"

	"github.com/clusterd/clusterd/engine/internal/dense"
	"github.com/clusterd/clusterd/engine/internal/kdtree"
	"github.com/clusterd/clusterd/internal/parallel"
	"github.com/clusterd/clusterd/kernels"
)

// Metrics.
const (
	Euclidean = "euclidean"
	// Cosine is 1 − x·y/(‖x‖‖y‖); a zero vector is at distance 1 from every
	// point, itself included, as in scikit-learn.
	Cosine = "cosine"
)

// MaxStoredNeighbours bounds the neighbour lists kept between the two
// passes (4 bytes each, 512 MiB); past it the second pass recomputes them.
const MaxStoredNeighbours = 1 << 27

// TreeDimLimit is the largest dimension whose Euclidean neighbourhoods come
// from a k-d tree. Measured on 2 cores with the CPU backend: at 16
// dimensions the tree is about 10× faster than brute force, at 32 still
// 1.3× (100,000 and 30,000 Gaussian blobs).
const TreeDimLimit = 32

// Params are scikit-learn's DBSCAN parameters of the same names.
type Params struct {
	Eps        float64 // eps, > 0, default 0.5: the neighbourhood radius
	MinSamples int     // min_samples, ≥ 1, default 5, the point itself included
	Metric     string  // metric, Euclidean (default) or Cosine
}

// DefaultParams returns scikit-learn's defaults.
func DefaultParams() Params { return Params{Eps: 0.5, MinSamples: 5, Metric: Euclidean} }

// ErrParams is wrapped by the errors Fit returns for invalid Params.
var ErrParams = errors.New("dbscan: invalid parameters")

// Validate reports the first invalid parameter.
func (p Params) Validate() error {
	switch {
	case !(p.Eps > 0) || math.IsInf(p.Eps, 0):
		return fmt.Errorf("%w: eps %g, need a finite value > 0", ErrParams, p.Eps)
	case p.MinSamples < 1:
		return fmt.Errorf("%w: min_samples %d, need ≥ 1", ErrParams, p.MinSamples)
	case p.Metric != Euclidean && p.Metric != Cosine:
		return fmt.Errorf("%w: metric %q, need %q or %q", ErrParams, p.Metric, Euclidean, Cosine)
	}
	return nil
}

// Result is a clustering.
type Result struct {
	// Labels has one entry per point: a cluster number in [0, NumClusters)
	// or −1 for noise, numbered as scikit-learn numbers them.
	Labels      []int32
	NumClusters int
	CorePoints  int
	NoisePoints int
	// Core says which points are core points.
	Core []bool
}

// Fit clusters x, the n×d row-major data uploaded to be as ds.
func Fit(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32, p Params) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	n, d := ds.Rows(), ds.Dim()
	if err := kernels.CheckLen("x", len(x), n*d); err != nil {
		return nil, err
	}
	var nb neighbourhoods
	if p.Metric == Euclidean && d <= TreeDimLimit {
		x64 := make([]float64, len(x))
		for i, v := range x {
			x64[i] = float64(v)
		}
		t, err := kdtree.Build(x64, n, d, kdtree.DefaultLeafSize)
		if err != nil {
			return nil, err
		}
		nb = &treeNeighbourhoods{t: t, r2: p.Eps * p.Eps}
	} else {
		bn, err := newBackendNeighbourhoods(be, ds, x, p)
		if err != nil {
			return nil, err
		}
		defer bn.close()
		nb = bn
	}
	counts, lists, err := countNeighbours(ctx, nb, n)
	if err != nil {
		return nil, err
	}
	core := make([]bool, n)
	for i, c := range counts {
		core[i] = int(c) >= p.MinSamples
	}
	c, err := join(ctx, nb, lists, core)
	if err != nil {
		return nil, err
	}
	return c.label(core), nil
}

// countNeighbours returns the size of every neighbourhood and, while they
// fit in MaxStoredNeighbours entries, the neighbour lists themselves (else
// nil), which spare the second pass the distances.
func countNeighbours(ctx context.Context, nb neighbourhoods, n int) ([]int32, [][]int32, error) {
	counts := make([]int32, n)
	lists := make([][]int32, n)
	stored := 0
	err := nb.each(ctx, nil, func(i int, js []int32) {
		counts[i] += int32(len(js))
		if lists == nil {
			return
		}
		if stored += len(js); stored > MaxStoredNeighbours {
			lists = nil
			return
		}
		lists[i] = append(lists[i], js...)
	})
	return counts, lists, err
}

// components are the clusters being built: a union-find over the core
// points whose roots are their components' lowest index, and the core
// neighbours of the other points (fewer than min_samples each).
type components struct {
	parent []int32
	border map[int32][]int32
}

func (c *components) find(x int32) int32 {
	for c.parent[x] != x {
		c.parent[x] = c.parent[c.parent[x]]
		x = c.parent[x]
	}
	return x
}

// join unites core points within eps of each other and records the core
// neighbours of the others, from lists when not nil, else recomputed.
func join(ctx context.Context, nb neighbourhoods, lists [][]int32, core []bool) (*components, error) {
	c := &components{parent: make([]int32, len(core)), border: map[int32][]int32{}}
	for i := range c.parent {
		c.parent[i] = int32(i)
	}
	visit := func(i int, js []int32) {
		for _, j := range js {
			switch {
			case !core[j]:
			case !core[i]:
				c.border[int32(i)] = append(c.border[int32(i)], j)
			default:
				if a, b := c.find(int32(i)), c.find(j); a != b {
					c.parent[max(a, b)] = min(a, b)
				}
			}
		}
	}
	if lists == nil {
		return c, nb.each(ctx, core, visit)
	}
	for i, js := range lists {
		visit(i, js)
	}
	return c, nil
}

// label numbers the components by their lowest core point, as
// scikit-learn's expansion order does, and gives a border point the
// lowest-numbered component among its core neighbours' (the one
// scikit-learn's expansion reaches it from first).
func (c *components) label(core []bool) *Result {
	res := &Result{Labels: make([]int32, len(core)), Core: core}
	number := make([]int32, len(core)) // by component root
	for i, isCore := range core {
		if !isCore {
			continue
		}
		res.CorePoints++
		if c.find(int32(i)) == int32(i) { // a root is its component's lowest index
			number[i] = int32(res.NumClusters)
			res.NumClusters++
		}
	}
	for i := range res.Labels {
		l := int32(-1)
		if core[i] {
			l = number[c.find(int32(i))]
		} else {
			for _, j := range c.border[int32(i)] {
				if m := number[c.find(j)]; l < 0 || m < l {
					l = m
				}
			}
		}
		res.Labels[i] = l
		if l < 0 {
			res.NoisePoints++
		}
	}
	return res
}

// neighbourhoods enumerates, for every point i, the points j within eps of
// it, only those with keep[j] when keep is not nil. fn is called for every
// point with neighbours, in batches that together list each once, never
// concurrently.
type neighbourhoods interface {
	each(ctx context.Context, keep []bool, fn func(i int, js []int32)) error
}

// treeNeighbourhoods answers with k-d tree radius queries: exact, since the
// tree compares the same float64 squared distances with eps².
type treeNeighbourhoods struct {
	t  *kdtree.Tree
	r2 float64
}

func (tn *treeNeighbourhoods) each(ctx context.Context, keep []bool, fn func(i int, js []int32)) error {
	const chunk = 512
	n, d := tn.t.N, tn.t.D
	type batch struct {
		lo    int
		start []int // start[i−lo] of point i's neighbours in flat
		flat  []int32
	}
	return pipeline(ctx, (n+chunk-1)/chunk, func(c int) batch {
		b := batch{lo: c * chunk}
		for i := b.lo; i < min(n, b.lo+chunk); i++ {
			b.start = append(b.start, len(b.flat))
			from := len(b.flat)
			b.flat = tn.t.AppendRadius(b.flat, tn.t.X[i*d:(i+1)*d], tn.r2)
			if keep != nil {
				kept := b.flat[:from]
				for _, j := range b.flat[from:] {
					if keep[j] {
						kept = append(kept, j)
					}
				}
				b.flat = kept
			}
		}
		b.start = append(b.start, len(b.flat))
		return b
	}, func(b batch) {
		for k := 0; k+1 < len(b.start); k++ {
			if b.start[k] < b.start[k+1] {
				fn(b.lo+k, b.flat[b.start[k]:b.start[k+1]])
			}
		}
	})
}

// backendNeighbourhoods screens blocks of Backend.Distances and decides
// pairs near the boundary with float64 distances. For the cosine metric it
// works on a normalised copy of the data.
type backendNeighbourhoods struct {
	be     kernels.Backend
	ds     kernels.Dataset // the data searched: x, or its normalised copy
	owned  bool            // ds was uploaded here and must be closed
	x      []float32       // rows of ds
	raw    []float32       // the caller's data, for exact distances
	norms  []float64       // ‖x_i‖² of the searched rows
	rawLen []float64       // ‖raw_i‖ (cosine only)
	n, d   int
	eps    float64
	cosine bool
}

func newBackendNeighbourhoods(be kernels.Backend, ds kernels.Dataset, x []float32, p Params) (*backendNeighbourhoods, error) {
	n, d := ds.Rows(), ds.Dim()
	bn := &backendNeighbourhoods{be: be, ds: ds, x: x, raw: x, n: n, d: d, eps: p.Eps, cosine: p.Metric == Cosine}
	if bn.cosine {
		bn.rawLen = make([]float64, n)
		bn.x = make([]float32, len(x))
		for i := 0; i < n; i++ {
			row := x[i*d : (i+1)*d]
			l := math.Sqrt(dense.Dot(row, row))
			bn.rawLen[i] = l
			if l == 0 {
				continue // stays zero: within gives it distance 1 to everything
			}
			for t, v := range row {
				bn.x[i*d+t] = float32(float64(v) / l)
			}
		}
		u, err := be.Upload(bn.x, n, d)
		if err != nil {
			return nil, fmt.Errorf("upload normalised data to %s: %w", be.Name(), err)
		}
		bn.ds, bn.owned = u, true
	}
	bn.norms = dense.RowNorms(bn.x, n, d)
	return bn, nil
}

func (bn *backendNeighbourhoods) close() {
	if bn.owned {
		bn.ds.Close()
	}
}

// within decides exactly whether points i and j are within eps.
func (bn *backendNeighbourhoods) within(i, j int) bool {
	d := bn.d
	a, b := bn.raw[i*d:(i+1)*d], bn.raw[j*d:(j+1)*d]
	if !bn.cosine {
		return dense.SqDist(a, b) <= bn.eps*bn.eps
	}
	sim := 0.0
	if li, lj := bn.rawLen[i], bn.rawLen[j]; li > 0 && lj > 0 {
		sim = dense.Dot(a, b) / (li * lj)
	}
	return min(2, max(0, 1-sim)) <= bn.eps
}

// limit2 is the screening threshold on the squared distance of the
// searched rows.
func (bn *backendNeighbourhoods) limit2() float64 {
	if bn.cosine {
		return 2 * bn.eps // ‖x̂ − ŷ‖² = 2(1 − cos)
	}
	return bn.eps * bn.eps
}

func (bn *backendNeighbourhoods) each(ctx context.Context, keep []bool, fn func(i int, js []int32)) error {
	n, d := bn.n, bn.d
	var cols []int32
	for j := 0; j < n; j++ {
		if keep == nil || keep[j] {
			cols = append(cols, int32(j))
		}
	}
	// Blocks of m columns keep the n×m distance tile near 16 MiB.
	m := max(1, min(256, (1<<22)/n))
	y := make([]float32, m*d)
	out := make([]float32, n*m)
	colThr := make([]float64, m)
	lim := bn.limit2()
	workers := runtime.GOMAXPROCS(0)
	perWorker := make([][][]int32, workers) // [worker][row offset] neighbours
	for lo := 0; lo < len(cols); lo += m {
		if err := ctx.Err(); err != nil {
			return err
		}
		blk := cols[lo:min(len(cols), lo+m)]
		for k, c := range blk {
			copy(y[k*d:(k+1)*d], bn.x[int(c)*d:(int(c)+1)*d])
		}
		mm := len(blk)
		if err := bn.be.Distances(ctx, bn.ds, y[:mm*d], mm, out[:n*mm]); err != nil {
			return err
		}
		for k, c := range blk {
			colThr[k] = lim + dense.ScreenTol*bn.norms[c]
		}
		rows := (n + workers - 1) / workers
		parallel.For(ctx, workers, workers, func(w int) {
			r0, r1 := w*rows, min(n, (w+1)*rows)
			lists := perWorker[w][:0]
			for i := r0; i < r1; i++ {
				var js []int32
				ti := dense.ScreenTol * bn.norms[i]
				for k, v := range out[i*mm : (i+1)*mm] {
					if float64(v)-ti <= colThr[k] && bn.within(i, int(blk[k])) {
						js = append(js, blk[k])
					}
				}
				lists = append(lists, js)
			}
			perWorker[w] = lists
		})
		for w := 0; w < workers; w++ {
			for k, js := range perWorker[w] {
				if len(js) > 0 {
					fn(w*rows+k, js)
				}
			}
		}
	}
	return nil
}

// pipeline computes produce(0), …, produce(tasks−1) on all cores and hands
// the results to consume in task order, from the calling goroutine. At most
// a few results per core wait to be consumed, which bounds memory.
func pipeline[T any](ctx context.Context, tasks int, produce func(int) T, consume func(T)) error {
	return parallel.Ordered(ctx, 0, tasks, produce, consume)
}
