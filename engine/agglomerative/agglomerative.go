// Package agglomerative is hierarchical agglomerative clustering with
// scikit-learn 1.2.1's AgglomerativeClustering parameters and labels (no
// connectivity constraint): ward, complete, average or single linkage,
// Euclidean or cosine distances, cut at n_clusters or at a
// distance_threshold.
//
// It reproduces the code scikit-learn runs, step for step: SciPy's pdist
// and nearest-neighbour-chain linkage (ward, complete, average), SciPy's
// minimum-spanning-tree single linkage on cosine distances, scikit-learn's
// own Prim for Euclidean single linkage, the stable sort of the merges and
// scikit-learn's tree cut, whose heap order numbers the clusters. Distances
// are float64 and computed as SciPy does, so the merge order and the labels
// (numbering included) are scikit-learn's, ties and duplicates included.
//
// Memory: all linkages but Euclidean single keep the condensed distance
// matrix, n(n−1)/2 float64 values, and are limited to MaxPoints points.
// Euclidean single linkage needs O(n) memory and goes through the backend.
package agglomerative

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/clusterd/clusterd/engine/internal/dense"
	"github.com/clusterd/clusterd/kernels"
)

// Linkages.
const (
	Ward     = "ward"
	Complete = "complete"
	Average  = "average"
	Single   = "single"
)

// Metrics.
const (
	Euclidean = "euclidean"
	// Cosine is SciPy's 1 − x·y/(‖x‖‖y‖), with a zero vector at distance 1
	// from every point (scikit-learn's cosine_distances; SciPy gives NaN).
	Cosine = "cosine"
)

// MaxPoints bounds n for the linkages that keep the condensed distance
// matrix: 20,000 points need 1.5 GiB for it.
const MaxPoints = 20000

// Params are scikit-learn's parameters of the same names. Exactly one of
// NClusters and DistanceThreshold is set.
type Params struct {
	// NClusters (n_clusters, ≥ 1) is the number of clusters to cut the
	// tree into; 0 when DistanceThreshold is used.
	NClusters int
	// DistanceThreshold (distance_threshold, ≥ 0), when not nil, cuts the
	// tree above every merge at a distance ≥ it.
	DistanceThreshold *float64
	Linkage           string // linkage: Ward (default), Complete, Average or Single
	Metric            string // metric: Euclidean (default), or Cosine except with Ward
}

// DefaultParams returns scikit-learn's defaults (n_clusters 2, ward).
func DefaultParams() Params { return Params{NClusters: 2, Linkage: Ward, Metric: Euclidean} }

var (
	// ErrParams is wrapped by the errors returned for invalid Params.
	ErrParams = errors.New("agglomerative: invalid parameters")
	// ErrTooLarge is wrapped when the data has more than MaxPoints points
	// and the linkage needs the distance matrix.
	ErrTooLarge = errors.New("agglomerative: too many points")
)

// Validate reports the first invalid parameter.
func (p Params) Validate() error {
	switch {
	case p.NClusters > 0 && p.DistanceThreshold != nil:
		return fmt.Errorf("%w: n_clusters and distance_threshold are both set; set exactly one", ErrParams)
	case p.NClusters <= 0 && p.DistanceThreshold == nil:
		return fmt.Errorf("%w: neither n_clusters (≥ 1) nor distance_threshold is set; set exactly one", ErrParams)
	case p.DistanceThreshold != nil && (!(*p.DistanceThreshold >= 0) || math.IsInf(*p.DistanceThreshold, 0)):
		return fmt.Errorf("%w: distance_threshold %g, need a finite value ≥ 0", ErrParams, *p.DistanceThreshold)
	case p.Linkage != Ward && p.Linkage != Complete && p.Linkage != Average && p.Linkage != Single:
		return fmt.Errorf("%w: linkage %q, need %q, %q, %q or %q", ErrParams, p.Linkage, Ward, Complete, Average, Single)
	case p.Metric != Euclidean && p.Metric != Cosine:
		return fmt.Errorf("%w: metric %q, need %q or %q", ErrParams, p.Metric, Euclidean, Cosine)
	case p.Linkage == Ward && p.Metric != Euclidean:
		return fmt.Errorf("%w: ward linkage needs the euclidean metric, got %q", ErrParams, p.Metric)
	}
	return nil
}

// NeedsMatrix reports whether the linkage keeps the condensed distance
// matrix (and so is limited to MaxPoints points).
func (p Params) NeedsMatrix() bool { return !(p.Linkage == Single && p.Metric == Euclidean) }

// Result is a clustering.
type Result struct {
	// Labels has one cluster number in [0, NumClusters) per point,
	// numbered as scikit-learn numbers them.
	Labels      []int32
	NumClusters int
	// Merges is the tree: row i merges clusters Merges[i].Left and
	// .Right (ids < n are points, n+j is the cluster of row j) at Dist.
	Merges []Merge
}

// Merge is one row of the tree in SciPy's linkage format.
type Merge struct {
	Left, Right int32
	Dist        float64
	Size        int32
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
	if p.NClusters > n {
		return nil, fmt.Errorf("%w: n_clusters %d is more than the %d points", ErrParams, p.NClusters, n)
	}
	if n < 2 {
		return &Result{Labels: make([]int32, n), NumClusters: n}, nil
	}
	var merges []Merge
	if !p.NeedsMatrix() {
		steps, err := dense.Prim(ctx, be, ds, x, nil, 1)
		if err != nil {
			return nil, err
		}
		merges = sklearnSingle(steps, n)
	} else {
		if n > MaxPoints {
			return nil, fmt.Errorf("%w: %d points; %s linkage keeps all n(n−1)/2 distances (%.1f GiB here) and is limited to %d points (%.1f GiB)",
				ErrTooLarge, n, p.Linkage, MatrixGiB(n), MaxPoints, MatrixGiB(MaxPoints))
		}
		dist, err := pdist(ctx, x, n, d, p.Metric)
		if err != nil {
			return nil, err
		}
		if p.Linkage == Single {
			merges = scipySingle(dist, n)
		} else if merges, err = nnChain(ctx, dist, n, p.Linkage); err != nil {
			return nil, err
		}
	}
	k := p.NClusters
	if p.DistanceThreshold != nil {
		k = 1
		for _, m := range merges {
			if m.Dist >= *p.DistanceThreshold {
				k++
			}
		}
	}
	return &Result{Labels: cut(merges, n, k), NumClusters: k, Merges: merges}, nil
}

// MatrixGiB is the size of the condensed distance matrix of n points, GiB.
func MatrixGiB(n int) float64 { return float64(n) * float64(n-1) / 2 * 8 / (1 << 30) }

// sortMerges orders rows by distance, stably (NumPy's mergesort).
func sortMerges(m []Merge) {
	sort.SliceStable(m, func(a, b int) bool { return m[a].Dist < m[b].Dist })
}

// sklearnSingle turns Prim's steps into scikit-learn's single-linkage tree:
// each step is recorded as (the previously added point, the new point,
// distance), the rows are sorted stably by distance, and each merges the
// clusters of its two points, in that order.
func sklearnSingle(steps []dense.PrimStep, n int) []Merge {
	rows := make([]Merge, len(steps))
	prev := int32(0)
	for i, s := range steps {
		rows[i] = Merge{Left: prev, Right: s.Node, Dist: s.Dist}
		prev = s.Node
	}
	sortMerges(rows)
	uf := newUnionFind(n)
	for i := range rows {
		a, b := uf.find(rows[i].Left), uf.find(rows[i].Right)
		rows[i].Left, rows[i].Right = a, b
		rows[i].Size = uf.merge(a, b)
	}
	return rows
}

// relabel is SciPy's label(): after sorting, rows name points; it renames
// them to the current clusters, smaller id first, and sets the sizes.
func relabel(rows []Merge, n int) {
	uf := newUnionFind(n)
	for i := range rows {
		a, b := uf.find(rows[i].Left), uf.find(rows[i].Right)
		rows[i].Left, rows[i].Right = min(a, b), max(a, b)
		rows[i].Size = uf.merge(a, b)
	}
}

// unionFind numbers merged clusters n, n+1, … as SciPy and scikit-learn do.
type unionFind struct {
	parent, size []int32
	next         int32
}

func newUnionFind(n int) *unionFind {
	u := &unionFind{parent: make([]int32, 2*n-1), size: make([]int32, 2*n-1), next: int32(n)}
	for i := range u.parent {
		u.parent[i] = int32(i)
		u.size[i] = 1
	}
	return u
}

func (u *unionFind) find(x int32) int32 {
	r := x
	for u.parent[r] != r {
		r = u.parent[r]
	}
	for u.parent[x] != r {
		u.parent[x], x = r, u.parent[x]
	}
	return r
}

func (u *unionFind) merge(a, b int32) int32 {
	u.parent[a], u.parent[b] = u.next, u.next
	s := u.size[a] + u.size[b]
	u.size[u.next] = s
	u.next++
	return s
}

// cut is scikit-learn's _hc_cut: starting from the root it splits the
// highest-numbered cluster k−1 times, keeping the clusters in a heap of
// negated ids; clusters are numbered by their position in the heap's array.
func cut(rows []Merge, n, k int) []int32 {
	h := []int{-(2*n - 2)}
	for range k - 1 {
		r := rows[-h[0]-n]
		h = heapPush(h, -int(r.Left))
		h = heapPushPop(h, -int(r.Right))
	}
	labels := make([]int32, n)
	var stack []int
	for i, node := range h {
		stack = append(stack[:0], -node)
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if v < n {
				labels[v] = int32(i)
				continue
			}
			stack = append(stack, int(rows[v-n].Left), int(rows[v-n].Right))
		}
	}
	return labels
}

// heapPush and heapPushPop are Python's heapq functions on a min-heap.
func heapPush(h []int, v int) []int {
	h = append(h, v)
	siftDown(h, 0, len(h)-1)
	return h
}

func heapPushPop(h []int, v int) []int {
	if len(h) > 0 && h[0] < v {
		h[0] = v
		siftUp(h, 0)
	}
	return h
}

// siftDown moves h[pos] towards the root (heapq._siftdown).
func siftDown(h []int, start, pos int) {
	v := h[pos]
	for pos > start {
		parent := (pos - 1) >> 1
		if v < h[parent] {
			h[pos] = h[parent]
			pos = parent
			continue
		}
		break
	}
	h[pos] = v
}

// siftUp moves h[pos] to a leaf along the smaller children, then back up
// (heapq._siftup).
func siftUp(h []int, pos int) {
	end, start, v := len(h), pos, h[pos]
	child := 2*pos + 1
	for child < end {
		if right := child + 1; right < end && !(h[child] < h[right]) {
			child = right
		}
		h[pos] = h[child]
		pos = child
		child = 2*pos + 1
	}
	h[pos] = v
	siftDown(h, start, pos)
}
