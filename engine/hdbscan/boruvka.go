package hdbscan

import (
	"context"
	"math"

	"github.com/clusterd/clusterd/engine/internal/kdtree"
)

// boruvka is the reference implementation's dual-tree Borůvka over a k-d
// tree (hdbscan 0.8.33, KDTreeBoruvkaAlgorithm with its default
// approx_min_span_tree=True), reproduced operation for operation: the same
// tree (kdtree builds scikit-learn's), the same traversal order, the same
// pruning bounds, the same union-find. It is what the reference runs on data
// of at most 60 dimensions. Its result is not always a minimum spanning
// tree: bounds are reset between rounds only when a round joins nothing, so
// a stale bound can prune a component's lightest edge and a heavier one is
// taken. Those heavier edges change the labels (the reference's blobs2d case
// differs from the exact tree's labels in 20 points), hence the emulation.
//
// All distances are squared (scikit-learn's "rdist") until edges are
// emitted.
type boruvka struct {
	t        *kdtree.Tree
	scale    float64   // 1/alpha²: squared distances are divided by alpha²
	core     []float64 // squared core distance by tree position
	comp     []int32   // component (union-find root, a point id) by tree position
	nodeComp []int32   // the component all of a node's points are in, or −(node+1)
	bounds   []float64 // per node: only edges shorter than this can still help
	radius2  []float64 // per node: squared radius, as the reference adds it

	// Per component (indexed by its root's point id): the best edge found.
	candPoint, candNeighbour []int32
	candDist                 []float64

	parent     []int32 // union-find over point ids
	rank       []uint8
	isRoot     []bool
	components []int32 // the union-find roots, ascending
	edges      []edge
}

// boruvkaMST returns the reference's spanning tree edges, in the order it
// adds them, with mutual-reachability weights (not squared). knn and knnD2
// are the points' k = minSamples+1 nearest neighbours (row i: point i's,
// itself included, by ascending distance) and their squared distances.
func boruvkaMST(ctx context.Context, t *kdtree.Tree, knn []int32, knnD2 []float64, k int, alpha float64) ([]edge, error) {
	n := t.N
	b := &boruvka{t: t, scale: 1 / (alpha * alpha),
		core: make([]float64, n), comp: make([]int32, n), nodeComp: make([]int32, len(t.Nodes)),
		bounds: make([]float64, len(t.Nodes)), radius2: make([]float64, len(t.Nodes)),
		candPoint: make([]int32, n), candNeighbour: make([]int32, n), candDist: make([]float64, n),
		parent: make([]int32, n), rank: make([]uint8, n), isRoot: make([]bool, n),
		components: make([]int32, n), edges: make([]edge, 0, n-1)}
	// The reference takes core distances from its k-NN query as distances
	// and squares them again, which can move them by an ulp; do the same.
	core := make([]float64, n)
	for i := range core {
		c := math.Sqrt(knnD2[i*k+k-1])
		core[i] = c * c
	}
	for p, i := range t.Idx {
		b.core[p] = core[i]
		b.comp[p] = i
	}
	for i := range b.parent {
		b.parent[i] = int32(i)
		b.isRoot[i] = true
		b.components[i] = int32(i)
		b.candPoint[i], b.candNeighbour[i], b.candDist[i] = -1, -1, math.MaxFloat64
	}
	for node, nd := range t.Nodes {
		b.nodeComp[node] = -int32(node + 1)
		b.radius2[node] = nd.Radius * nd.Radius
	}
	// First round from the neighbour lists: a neighbour whose core distance
	// is not larger gives the point its lightest possible edge.
	for i := 0; i < n; i++ {
		for j, m := range knn[i*k : (i+1)*k] {
			if int(m) == i || core[m] > core[i] {
				continue
			}
			// With alpha ≠ 1 the scaled distance may exceed the core
			// distance; then the edge is not the lightest possible.
			if alpha != 1 && knnD2[i*k+j]*b.scale > core[i] {
				continue
			}
			b.candPoint[i], b.candNeighbour[i], b.candDist[i] = int32(i), m, core[i]
			break
		}
	}
	b.update()
	for i := range b.bounds {
		b.bounds[i] = math.MaxFloat64
	}
	for len(b.components) > 1 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b.traverse(0, 0, t.NodeSqDist(0, 0)*b.scale)
		b.update()
	}
	return b.edges, nil
}

// find returns x's union-find root, halving the path as it goes.
func (b *boruvka) find(x int32) int32 {
	p := b.parent[x]
	for p != x {
		g := b.parent[p]
		b.parent[x] = g
		x, p = p, g
	}
	return x
}

func (b *boruvka) union(x, y int32) {
	x, y = b.find(x), b.find(y)
	if x == y {
		return
	}
	switch {
	case b.rank[x] < b.rank[y]:
		b.parent[x] = y
		b.isRoot[x] = false
	case b.rank[x] > b.rank[y]:
		b.parent[y] = x
		b.isRoot[y] = false
	default:
		b.rank[x]++
		b.parent[y] = x
		b.isRoot[y] = false
	}
}

// update adds every component's candidate edge that still joins two
// components, then recomputes the components of points and nodes. Bounds
// are reset only when no component was joined (the approximation).
func (b *boruvka) update() {
	n := b.t.N
	for _, c := range b.components {
		src, dst := b.candPoint[c], b.candNeighbour[c]
		if src == -1 || dst == -1 {
			continue
		}
		if b.find(src) == b.find(dst) {
			b.candPoint[c], b.candNeighbour[c], b.candDist[c] = -1, -1, math.MaxFloat64
			continue
		}
		b.edges = append(b.edges, edge{src, dst, math.Sqrt(b.candDist[c])})
		b.union(src, dst)
		b.candDist[c] = math.MaxFloat64
		if len(b.edges) == n-1 {
			b.components = b.components[:1] // one component: the loop ends
			return
		}
	}
	for p, i := range b.t.Idx {
		b.comp[p] = b.find(i)
	}
	for node := len(b.t.Nodes) - 1; node >= 0; node-- {
		nd := b.t.Nodes[node]
		if !nd.Leaf {
			if l, r := b.nodeComp[2*node+1], b.nodeComp[2*node+2]; l == r {
				b.nodeComp[node] = l
			}
			continue
		}
		c, same := b.comp[nd.Start], true
		for p := nd.Start + 1; p < nd.End; p++ {
			if b.comp[p] != c {
				same = false
				break
			}
		}
		if same {
			b.nodeComp[node] = c
		}
	}
	before := len(b.components)
	b.components = b.components[:0]
	for i, root := range b.isRoot {
		if root {
			b.components = append(b.components, int32(i))
		}
	}
	if len(b.components) == before {
		for i := range b.bounds {
			b.bounds[i] = math.MaxFloat64
		}
	}
}

// traverse is the reference's dual_tree_traversal from query node q to
// reference node r, whose boxes are dist2 apart (scaled by 1/alpha²).
func (b *boruvka) traverse(q, r int, dist2 float64) {
	if dist2 >= b.bounds[q] {
		return
	}
	if b.nodeComp[q] == b.nodeComp[r] && b.nodeComp[q] >= 0 {
		return
	}
	t := b.t
	nq, nr := t.Nodes[q], t.Nodes[r]
	switch {
	case nq.Leaf && nr.Leaf:
		b.leafPair(q, nq, nr)
	case nq.Leaf || (!nr.Leaf && nr.Radius > nq.Radius):
		b.visitPair(q, 2*r+1, q, 2*r+2)
	default:
		b.visitPair(2*q+1, r, 2*q+2, r)
	}
}

// visitPair traverses (q1, r1) and (q2, r2), the closer pair first.
func (b *boruvka) visitPair(q1, r1, q2, r2 int) {
	d1 := b.t.NodeSqDist(q1, r1) * b.scale
	d2 := b.t.NodeSqDist(q2, r2) * b.scale
	if d1 < d2 {
		b.traverse(q1, r1, d1)
		b.traverse(q2, r2, d2)
	} else {
		b.traverse(q2, r2, d2)
		b.traverse(q1, r1, d1)
	}
}

// leafPair offers every cross-component pair of the two leaves as a
// candidate edge of the query point's component, then tightens the query
// leaf's bound and propagates it up.
func (b *boruvka) leafPair(q int, nq, nr kdtree.Node) {
	t := b.t
	d := t.D
	upper, lower := 0.0, math.MaxFloat64
	for p := nq.Start; p < nq.End; p++ {
		c := b.comp[p]
		best := b.candDist[c]
		if b.core[p] > best {
			continue
		}
		xp := t.Sorted[int(p)*d : int(p+1)*d]
		for o := nr.Start; o < nr.End; o++ {
			if b.core[o] > best || b.comp[o] == c {
				continue
			}
			dd := kdtree.SqDist(xp, t.Sorted[int(o)*d:int(o+1)*d]) * b.scale
			if mr := max(dd, b.core[p], b.core[o]); mr < best {
				best = mr
				b.candDist[c], b.candNeighbour[c], b.candPoint[c] = mr, t.Idx[o], t.Idx[p]
			}
		}
		upper = max(upper, best)
		lower = min(lower, best)
	}
	bound := min(upper, lower+2*b.radius2[q])
	if bound >= b.bounds[q] {
		return
	}
	b.bounds[q] = bound
	for q > 0 {
		parent := (q - 1) / 2
		nb := max(b.bounds[2*parent+1], b.bounds[2*parent+2])
		if nb >= b.bounds[parent] {
			return
		}
		b.bounds[parent] = nb
		q = parent
	}
}
