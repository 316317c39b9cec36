// Package optics is OPTICS clustering (Ankerst, Breunig, Kriegel and
// Sander, 1999) as scikit-learn 1.2.1's OPTICS computes it: the same
// ordering, core distances, reachability distances and predecessors, and
// the same labels from either extraction (xi or dbscan).
//
// The core distance of a point is the distance to its min_samples-th
// nearest point (itself first), infinite beyond max_eps. Points are taken
// in order of smallest reachability (lowest index on ties, infinity
// included); a core point lowers the reachability of the unprocessed
// points within max_eps of it to max(its core distance, their distance),
// both rounded to 15 decimals as scikit-learn rounds them. Xi extraction
// follows scikit-learn's steep-area walk, its predecessor correction
// included.
//
// Distances are exact float64 values (Euclidean, or cosine 1 − x̂·ŷ clipped
// to [0, 2] where a zero vector is at distance 1 from every point, itself
// included, as scikit-learn's cosine_distances makes it). The backend's
// float32 distances (Backend.KNN for the core distances, Backend.Distances
// or kernels.SubsetAssigner in the main loop) rule out the points that
// cannot change; only the others are measured in float64, so the GPU
// serves the costly part while every decision is the exact one.
package optics

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/clusterd/clusterd/engine/internal/dense"
	"github.com/clusterd/clusterd/kernels"
)

// Metrics.
const (
	Euclidean = "euclidean"
	Cosine    = "cosine"
)

// Extraction methods.
const (
	Xi     = "xi"
	DBSCAN = "dbscan"
)

// Params are scikit-learn's OPTICS parameters of the same names.
type Params struct {
	MinSamples int     // ≥ 2, ≤ n
	MaxEps     float64 // > 0; +Inf: no limit (default)
	Metric     string  // Euclidean (default) or Cosine
	Method     string  // Xi (default) or DBSCAN
	// Eps is the dbscan extraction's radius; 0 means MaxEps.
	Eps                   float64
	Xi                    float64 // in [0, 1], default 0.05
	PredecessorCorrection bool
	// MinClusterSize is the xi extraction's smallest cluster: a whole
	// number ≥ 2, a fraction of n in (0, 1], or 0 for MinSamples.
	MinClusterSize float64
}

// DefaultParams returns scikit-learn's defaults.
func DefaultParams() Params {
	return Params{MinSamples: 5, MaxEps: math.Inf(1), Metric: Euclidean, Method: Xi, Xi: 0.05, PredecessorCorrection: true}
}

// ErrParams is wrapped by errors for invalid Params.
var ErrParams = errors.New("optics: invalid parameters")

// Result is the cluster ordering and its clustering.
type Result struct {
	Labels      []int32
	NumClusters int
	// Ordering lists the points in processing order.
	Ordering []int32
	// Reachability, CoreDistances and Predecessor are per point (+Inf:
	// undefined; predecessor −1: none).
	Reachability, CoreDistances []float64
	Predecessor                 []int32
	// Clusters are the xi clusters as [start, end] positions in Ordering,
	// scikit-learn's cluster_hierarchy_ (nil for dbscan extraction).
	Clusters [][2]int
}

// Fit runs OPTICS on x, the n×d data uploaded as ds.
func Fit(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32, p Params) (*Result, error) {
	n, d := ds.Rows(), ds.Dim()
	if err := kernels.CheckLen("x", len(x), n*d); err != nil {
		return nil, err
	}
	switch {
	case p.MinSamples < 2 || p.MinSamples > n:
		return nil, fmt.Errorf("%w: min_samples %d, need 2 ≤ min_samples ≤ %d (the points)", ErrParams, p.MinSamples, n)
	case !(p.MaxEps > 0):
		return nil, fmt.Errorf("%w: max_eps %g", ErrParams, p.MaxEps)
	case p.Metric != Euclidean && p.Metric != Cosine:
		return nil, fmt.Errorf("%w: metric %q", ErrParams, p.Metric)
	case p.Method != Xi && p.Method != DBSCAN:
		return nil, fmt.Errorf("%w: cluster_method %q", ErrParams, p.Method)
	case p.Xi < 0 || p.Xi > 1:
		return nil, fmt.Errorf("%w: xi %g", ErrParams, p.Xi)
	case p.MinClusterSize > float64(n):
		return nil, fmt.Errorf("%w: min_cluster_size %g is more than the %d points", ErrParams, p.MinClusterSize, n)
	}
	eps := p.Eps
	if eps == 0 {
		eps = p.MaxEps
	}
	if p.Method == DBSCAN && eps > p.MaxEps {
		return nil, fmt.Errorf("%w: eps %g above max_eps %g", ErrParams, eps, p.MaxEps)
	}
	g, err := newGraph(be, ds, x, p)
	if err != nil {
		return nil, err
	}
	defer g.close()
	if err := g.coreDistances(ctx); err != nil {
		return nil, err
	}
	if err := g.order(ctx); err != nil {
		return nil, err
	}
	res := &Result{Ordering: g.ordering, Reachability: g.reach, CoreDistances: g.core, Predecessor: g.pred}
	if p.Method == DBSCAN {
		res.Labels = ExtractDBSCAN(g.reach, g.core, g.ordering, eps)
	} else {
		mcs := p.MinClusterSize
		if mcs == 0 {
			mcs = float64(p.MinSamples)
		}
		size := int(mcs)
		if mcs <= 1 {
			size = max(2, int(mcs*float64(n)))
		}
		res.Labels, res.Clusters = ExtractXi(g.reach, g.pred, g.ordering, p.MinSamples, size, p.Xi, p.PredecessorCorrection)
	}
	for _, l := range res.Labels {
		res.NumClusters = max(res.NumClusters, int(l)+1)
	}
	return res, nil
}

// Round15 is numpy's around(v, 15): rint(v·10¹⁵)/10¹⁵.
func Round15(v float64) float64 {
	if math.IsInf(v, 0) {
		return v
	}
	return math.RoundToEven(v*1e15) / 1e15
}

// graph holds the state of the ordering.
type graph struct {
	be       kernels.Backend
	ds       kernels.Dataset // searched rows: x, or its normalised copy (cosine)
	owned    bool
	x        []float32 // the caller's rows
	unit     []float64 // cosine: the rows normalised in float64 (zero rows stay zero)
	zero     []bool    // cosine: zero rows
	screen   []float32 // the rows of ds
	norms    []float64 // ‖row‖² of ds's rows
	n, d     int
	p        Params
	core     []float64
	reach    []float64
	pred     []int32
	ordering []int32
}

func newGraph(be kernels.Backend, ds kernels.Dataset, x []float32, p Params) (*graph, error) {
	n, d := ds.Rows(), ds.Dim()
	g := &graph{be: be, ds: ds, x: x, screen: x, n: n, d: d, p: p}
	if p.Metric == Cosine {
		g.unit = make([]float64, n*d)
		g.zero = make([]bool, n)
		g.screen = make([]float32, n*d)
		for i := 0; i < n; i++ {
			row := x[i*d : (i+1)*d]
			l := math.Sqrt(dense.Dot(row, row))
			if l == 0 {
				g.zero[i] = true
				continue
			}
			for t, v := range row {
				u := float64(v) / l
				g.unit[i*d+t] = u
				g.screen[i*d+t] = float32(u)
			}
		}
		u, err := be.Upload(g.screen, n, d)
		if err != nil {
			return nil, fmt.Errorf("upload normalised data to %s: %w", be.Name(), err)
		}
		g.ds, g.owned = u, true
	}
	g.norms = dense.RowNorms(g.screen, n, d)
	return g, nil
}

func (g *graph) close() {
	if g.owned {
		g.ds.Close()
	}
}

// dist is the exact distance between rows i and j.
func (g *graph) dist(i, j int) float64 {
	d := g.d
	if g.p.Metric == Euclidean {
		return math.Sqrt(dense.SqDist(g.x[i*d:(i+1)*d], g.x[j*d:(j+1)*d]))
	}
	if g.zero[i] || g.zero[j] {
		return 1
	}
	a, b := g.unit[i*d:(i+1)*d], g.unit[j*d:(j+1)*d]
	var s float64
	for t, v := range a {
		s += v * b[t]
	}
	return min(2, max(0, 1-s))
}

// lower is a lower bound of the exact distance between rows i and j given
// the backend's squared distance a between their searched rows.
func (g *graph) lower(i, j int, a float32) float64 {
	s := float64(a) - dense.ScreenTol*(g.norms[i]+g.norms[j])
	if g.p.Metric == Cosine {
		if g.zero[i] || g.zero[j] {
			return 1
		}
		return max(0, s/2) // ‖x̂ − ŷ‖² = 2(1 − cos)
	}
	return math.Sqrt(max(0, s))
}

// extraNeighbours is how many more neighbours than min_samples the
// backend's k-nearest search returns, so that the exact k-th is among them.
const extraNeighbours = 8

// coreDistances computes every point's exact distance to its
// min_samples-th nearest point: the backend's KNN proposes candidates, they
// are measured in float64, and a point whose candidates cannot be shown to
// contain its true neighbours is measured against every point.
func (g *graph) coreDistances(ctx context.Context) error {
	n, k := g.n, g.p.MinSamples
	kk := min(n, k+extraNeighbours)
	idx := make([]int32, n*kk)
	dist2 := make([]float32, n*kk)
	if err := g.be.KNN(ctx, g.ds, kk, idx, dist2); err != nil {
		return err
	}
	g.core = make([]float64, n)
	err := parallel(ctx, n, func(lo, hi int) {
		buf := make([]float64, 0, kk)
		var all []float64
		for i := lo; i < hi; i++ {
			buf = buf[:0]
			for q := 0; q < kk; q++ {
				buf = append(buf, g.dist(i, int(idx[i*kk+q])))
			}
			slices.Sort(buf)
			c := buf[k-1]
			// A point outside the candidates is at least lower(kk-th) away.
			if kk < n && g.lower(i, int(idx[i*kk+kk-1]), dist2[i*kk+kk-1]) <= c {
				all = all[:0]
				for j := 0; j < n; j++ {
					all = append(all, g.dist(i, j))
				}
				slices.Sort(all)
				c = all[k-1]
			}
			if c > g.p.MaxEps {
				c = math.Inf(1)
			}
			g.core[i] = Round15(c)
		}
	})
	return err
}

// order runs the main loop of compute_optics_graph.
func (g *graph) order(ctx context.Context) error {
	n, d := g.n, g.d
	g.reach = make([]float64, n)
	g.pred = make([]int32, n)
	for i := range g.reach {
		g.reach[i], g.pred[i] = math.Inf(1), -1
	}
	g.ordering = make([]int32, 0, n)
	processed := make([]bool, n)
	outside := make([]int32, n)
	pos := make([]int32, n) // position of each point in outside
	for i := range outside {
		outside[i], pos[i] = int32(i), int32(i)
	}
	subset, _ := g.be.(kernels.SubsetAssigner)
	var (
		h       reachHeap
		low     int // every point below low is processed
		rows    []int32
		approx  = make([]float32, n)
		lab     []int32
		second  []float32
		all     []float32 // every row's distance, without SubsetAssigner
		maxEps  = g.p.MaxEps
		limited = !math.IsInf(maxEps, 1)
	)
	for step := 0; step < n; step++ {
		if step%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		// The unprocessed point of least reachability, lowest index first.
		point := -1
		for h.Len() > 0 {
			e := heap.Pop(&h).(entry)
			if !processed[e.i] && e.r == g.reach[e.i] {
				point = int(e.i)
				break
			}
		}
		if point < 0 {
			for processed[low] {
				low++
			}
			point = low
		}
		processed[point] = true
		g.ordering = append(g.ordering, int32(point))
		last := outside[len(outside)-1]
		outside[pos[point]], pos[last] = last, pos[point]
		outside = outside[:len(outside)-1]
		cp := g.core[point]
		if math.IsInf(cp, 1) || len(outside) == 0 {
			continue
		}
		// Candidates: unprocessed points whose reachability this core
		// distance could still lower.
		rows = rows[:0]
		for _, j := range outside {
			if cp < g.reach[j] {
				rows = append(rows, j)
			}
		}
		if len(rows) == 0 {
			continue
		}
		xc := g.screen[point*d : (point+1)*d]
		if subset != nil {
			if cap(lab) < len(rows) {
				lab, second = make([]int32, len(rows)), make([]float32, len(rows))
			}
			if err := subset.AssignSubset(ctx, g.ds, rows, xc, 1, lab[:len(rows)], approx[:len(rows)], second[:len(rows)]); err != nil {
				return err
			}
		} else {
			if all == nil {
				all = make([]float32, n)
			}
			if err := g.be.Distances(ctx, g.ds, xc, 1, all); err != nil {
				return err
			}
			for q, j := range rows {
				approx[q] = all[j]
			}
		}
		for q, j := range rows {
			lim := g.reach[j]
			if limited {
				lim = min(lim, maxEps)
			}
			if !math.IsInf(lim, 1) && g.lower(point, int(j), approx[q]) > lim*(1+1e-12) {
				continue
			}
			e := g.dist(point, int(j))
			if e > maxEps {
				continue
			}
			if r := Round15(max(e, cp)); r < g.reach[j] {
				g.reach[j], g.pred[j] = r, int32(point)
				heap.Push(&h, entry{r: r, i: j})
			}
		}
	}
	return nil
}

// entry is a point with the reachability it had when pushed.
type entry struct {
	r float64
	i int32
}

type reachHeap []entry

func (h reachHeap) Len() int { return len(h) }
func (h reachHeap) Less(a, b int) bool {
	return h[a].r < h[b].r || (h[a].r == h[b].r && h[a].i < h[b].i)
}
func (h reachHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *reachHeap) Push(v any)   { *h = append(*h, v.(entry)) }
func (h *reachHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}
