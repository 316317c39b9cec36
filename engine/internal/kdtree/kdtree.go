// Package kdtree is a k-d tree over float64 points built exactly as
// scikit-learn's KDTree (sklearn.neighbors, Euclidean metric) builds it:
// the same number of nodes, the same split dimensions and medians, the same
// bounding boxes and radii, and the same order of points within the leaves.
//
// The engine's density algorithms need that equality, not just any k-d tree:
// the reference HDBSCAN (hdbscan 0.8.33) builds its minimum spanning tree
// with an approximate dual-tree Borůvka whose result depends on the tree's
// exact layout, and reproducing its labels means walking the same tree in
// the same order.
//
// Distances here are computed in float64 as Σ_t (a_t − b_t)², summed in
// feature order, which is what scikit-learn's Euclidean rdist computes, so
// results agree bit for bit.
package kdtree

import (
	"fmt"
	"math"
)

// Node is one node of the tree. Node i's children are 2i+1 and 2i+2; its
// points are Idx[Start:End].
type Node struct {
	Start, End int32
	Leaf       bool
	// Radius is half the diagonal of the node's bounding box.
	Radius float64
}

// Tree is a built k-d tree. All fields are read-only after Build.
type Tree struct {
	N, D int
	// X is the data, N×D row-major, in the caller's order.
	X []float64
	// Idx lists the point indices in tree order (scikit-learn's idx_array).
	Idx []int32
	// Sorted is X permuted into tree order: row p is X's row Idx[p]. Leaf
	// scans read it contiguously.
	Sorted []float64
	Nodes  []Node
	// Lo and Hi are the nodes' bounding boxes, len(Nodes)×D each.
	Lo, Hi []float64
}

// DefaultLeafSize is scikit-learn's default leaf_size.
const DefaultLeafSize = 40

// Build builds the tree over x (n×d, row-major, n ≥ 1, d ≥ 1) with the given
// leaf size (≥ 1); x is kept by reference and must not change while the tree
// is in use. The node count is 2^L − 1 with L = ⌊log₂ max(1, (n−1)/leafSize)⌋ + 1,
// so leaves hold between leafSize and 2·leafSize points when n allows.
func Build(x []float64, n, d, leafSize int) (*Tree, error) {
	if n < 1 || d < 1 || len(x) != n*d {
		return nil, fmt.Errorf("kdtree: data has %d values for %d×%d", len(x), n, d)
	}
	if leafSize < 1 {
		return nil, fmt.Errorf("kdtree: leaf size %d, need ≥ 1", leafSize)
	}
	levels := int(math.Log2(math.Max(1, float64(n-1)/float64(leafSize)))) + 1
	nodes := 1<<levels - 1
	t := &Tree{N: n, D: d, X: x, Idx: make([]int32, n), Nodes: make([]Node, nodes),
		Lo: make([]float64, nodes*d), Hi: make([]float64, nodes*d)}
	for i := range t.Idx {
		t.Idx[i] = int32(i)
	}
	t.build(0, 0, n)
	t.Sorted = make([]float64, n*d)
	for p, i := range t.Idx {
		copy(t.Sorted[p*d:(p+1)*d], x[int(i)*d:(int(i)+1)*d])
	}
	return t, nil
}

// build is scikit-learn's _recursive_build: bound the node, then, unless it
// is at the last level, split its points at the median of the dimension of
// largest spread.
func (t *Tree) build(node, start, end int) {
	t.initNode(node, start, end)
	if 2*node+1 >= len(t.Nodes) || end-start < 2 {
		t.Nodes[node].Leaf = true
		return
	}
	idx := t.Idx[start:end]
	dim := t.splitDim(idx)
	d, x := t.D, t.X
	nthElement(idx, len(idx)/2, func(a, b int32) bool {
		va, vb := x[int(a)*d+dim], x[int(b)*d+dim]
		if va == vb {
			return a < b
		}
		return va < vb
	})
	mid := start + len(idx)/2
	t.build(2*node+1, start, mid)
	t.build(2*node+2, mid, end)
}

// initNode records the node's range, bounding box and radius.
func (t *Tree) initNode(node, start, end int) {
	d := t.D
	lo, hi := t.Lo[node*d:(node+1)*d], t.Hi[node*d:(node+1)*d]
	for j := range lo {
		lo[j], hi[j] = math.Inf(1), math.Inf(-1)
	}
	for _, i := range t.Idx[start:end] {
		row := t.X[int(i)*d : (int(i)+1)*d]
		for j, v := range row {
			lo[j] = math.Min(lo[j], v)
			hi[j] = math.Max(hi[j], v)
		}
	}
	var rad float64
	for j := range lo {
		h := 0.5 * math.Abs(hi[j]-lo[j])
		rad += h * h
	}
	t.Nodes[node] = Node{Start: int32(start), End: int32(end), Radius: math.Sqrt(rad)}
}

// splitDim returns the first dimension of largest spread among the points.
func (t *Tree) splitDim(idx []int32) int {
	d := t.D
	best, bestSpread := 0, 0.0
	for j := 0; j < d; j++ {
		mx := t.X[int(idx[0])*d+j]
		mn := mx
		for _, i := range idx[1:] {
			v := t.X[int(i)*d+j]
			mx = math.Max(mx, v)
			mn = math.Min(mn, v)
		}
		if s := mx - mn; s > bestSpread {
			best, bestSpread = j, s
		}
	}
	return best
}

// SqDist is ‖a − b‖² summed in float64 in feature order. b must be at least
// as long as a.
func SqDist(a, b []float64) float64 {
	b = b[:len(a)]
	var s float64
	for t, v := range a {
		e := v - b[t]
		s += float64(e * e) // the conversion forbids fusing into an FMA
	}
	return s
}

// SqDist4 returns SqDist(a, b0), …, SqDist(a, b3), bit for bit. The four
// sums are independent chains, which a CPU overlaps; one sum alone waits on
// each addition's latency.
func SqDist4(a, b0, b1, b2, b3 []float64) (s0, s1, s2, s3 float64) {
	b0, b1, b2, b3 = b0[:len(a)], b1[:len(a)], b2[:len(a)], b3[:len(a)]
	for t, v := range a {
		e0, e1, e2, e3 := v-b0[t], v-b1[t], v-b2[t], v-b3[t]
		s0 += float64(e0 * e0)
		s1 += float64(e1 * e1)
		s2 += float64(e2 * e2)
		s3 += float64(e3 * e3)
	}
	return
}

// NodeSqDist is the smallest squared distance between the bounding boxes of
// nodes a and b, computed as scikit-learn's dual-tree min_rdist_dual is.
func (t *Tree) NodeSqDist(a, b int) float64 {
	d := t.D
	loA, hiA := t.Lo[a*d:(a+1)*d], t.Hi[a*d:(a+1)*d]
	loB, hiB := t.Lo[b*d:(b+1)*d], t.Hi[b*d:(b+1)*d]
	var s float64
	for j := range loA {
		d1 := loA[j] - hiB[j]
		d2 := loB[j] - hiA[j]
		e := 0.5 * ((d1 + math.Abs(d1)) + (d2 + math.Abs(d2)))
		s += float64(e * e)
	}
	return s
}

// pointBoxSqDist returns the smallest and the largest squared distance from
// pt to node's box.
func (t *Tree) pointBoxSqDist(node int, pt []float64) (near, far float64) {
	d := t.D
	lo, hi := t.Lo[node*d:(node+1)*d], t.Hi[node*d:(node+1)*d]
	for j, v := range pt {
		a, b := math.Abs(v-lo[j]), math.Abs(hi[j]-v)
		far += float64(max(a, b) * max(a, b))
		switch {
		case v < lo[j]:
			near += float64(a * a)
		case v > hi[j]:
			near += float64(b * b)
		}
	}
	return near, far
}

// pointSqDist is the smallest squared distance from pt to node's box.
func (t *Tree) pointSqDist(node int, pt []float64) float64 {
	d := t.D
	lo, hi := t.Lo[node*d:(node+1)*d], t.Hi[node*d:(node+1)*d]
	var s float64
	for j, v := range pt {
		switch {
		case v < lo[j]:
			e := lo[j] - v
			s += float64(e * e)
		case v > hi[j]:
			e := v - hi[j]
			s += float64(e * e)
		}
	}
	return s
}
