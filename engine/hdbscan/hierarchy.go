package hdbscan

import "math"

// This file turns a minimum spanning tree of the mutual-reachability graph
// into flat labels the way the reference implementation (hdbscan 0.8.33,
// _hdbscan_linkage.label and _hdbscan_tree.condense_tree, compute_stability,
// get_clusters, do_labelling) does, with the same tie-breaking and the same
// floating-point operations in the same order, so labels agree exactly.

// edge is a spanning-tree edge: points a and b at mutual-reachability
// distance w.
type edge struct {
	a, b int32
	w    float64
}

// merge is one row of a single-linkage tree in SciPy's format: clusters
// left and right (ids < n are points, id n+i is the cluster made by row i)
// merge at distance dist into a cluster of size points.
type merge struct {
	left, right int32
	dist        float64
	size        int32
}

// singleLinkage sorts the edges by weight with numpy's argsort and merges
// along them, numbering clusters in merge order.
func singleLinkage(edges []edge, n int) []merge {
	w := make([]float64, len(edges))
	for i, e := range edges {
		w[i] = e.w
	}
	order := argsortQuick(w)
	parent := make([]int32, 2*n-1)
	size := make([]int32, 2*n-1)
	for i := range parent {
		parent[i] = int32(i)
		size[i] = 1
	}
	find := func(x int32) int32 {
		r := x
		for parent[r] != r {
			r = parent[r]
		}
		for parent[x] != r {
			parent[x], x = r, parent[x]
		}
		return r
	}
	out := make([]merge, len(edges))
	for i, o := range order {
		e := edges[o]
		a, b := find(e.a), find(e.b)
		next := int32(n + i)
		out[i] = merge{a, b, e.w, size[a] + size[b]}
		parent[a], parent[b] = next, next
		size[next] = size[a] + size[b]
	}
	return out
}

// condensedRow is one row of the condensed tree: child (a point if < n,
// else a cluster) leaves cluster parent at lambda = 1/distance; size is the
// child's number of points.
type condensedRow struct {
	parent, child int32
	lambda        float64
	size          int32
}

// condense prunes the single-linkage tree h (n−1 rows) to clusters of at
// least minSize points: walking it breadth first from the root, a split into
// two big parts makes two new clusters, and a part too small to be a
// cluster falls out of its parent point by point. Clusters are numbered
// from n (the root) in the order the walk meets them.
func condense(h []merge, n, minSize int) []condensedRow {
	root := int32(2*n - 2)
	count := func(id int32) int {
		if int(id) < n {
			return 1
		}
		return int(h[int(id)-n].size)
	}
	relabel := make([]int32, root+1)
	relabel[root] = int32(n)
	next := int32(n + 1)
	ignore := make([]bool, root+1)
	order := bfs(h, n, root, nil)
	var sub []int32
	out := make([]condensedRow, 0, 2*n)
	fallOut := func(parent, id int32, lambda float64) {
		sub = bfs(h, n, id, sub[:0])
		for _, s := range sub {
			if int(s) < n {
				out = append(out, condensedRow{parent, s, lambda, 1})
			}
			ignore[s] = true
		}
	}
	for _, node := range order {
		if ignore[node] || int(node) < n {
			continue
		}
		m := h[int(node)-n]
		lambda := math.Inf(1)
		if m.dist > 0 {
			lambda = 1 / m.dist
		}
		lc, rc := count(m.left), count(m.right)
		switch {
		case lc >= minSize && rc >= minSize:
			relabel[m.left] = next
			out = append(out, condensedRow{relabel[node], next, lambda, int32(lc)})
			relabel[m.right] = next + 1
			out = append(out, condensedRow{relabel[node], next + 1, lambda, int32(rc)})
			next += 2
		case lc < minSize && rc < minSize:
			fallOut(relabel[node], m.left, lambda)
			fallOut(relabel[node], m.right, lambda)
		case lc < minSize:
			relabel[m.right] = relabel[node]
			fallOut(relabel[node], m.left, lambda)
		default:
			relabel[m.left] = relabel[node]
			fallOut(relabel[node], m.right, lambda)
		}
	}
	return out
}

// bfs appends to dst the ids of the subtree of h rooted at id in breadth-
// first order, left child first.
func bfs(h []merge, n int, id int32, dst []int32) []int32 {
	start := len(dst)
	dst = append(dst, id)
	for i := start; i < len(dst); i++ {
		if v := int(dst[i]); v >= n {
			dst = append(dst, h[v-n].left, h[v-n].right)
		}
	}
	return dst
}

// clusterTree is the condensed tree's clusters: ids n … n+len(parent)−1.
type clusterTree struct {
	n        int
	rows     []condensedRow
	parent   []int32   // parent[c−n]; the root's is −1
	birth    []float64 // birth[c−n]: lambda at which c appeared; the root's is 0
	size     []int     // size[c−n]: points in c when it appeared
	children [][]int32 // cluster children of each cluster, in row order
	pointRow []int32   // pointRow[i]: the row in which point i falls out
}

func newClusterTree(rows []condensedRow, n int) *clusterTree {
	maxID := int32(n)
	for _, r := range rows {
		maxID = max(maxID, r.parent)
	}
	k := int(maxID) - n + 1
	t := &clusterTree{n: n, rows: rows, parent: make([]int32, k), birth: make([]float64, k),
		size: make([]int, k), children: make([][]int32, k), pointRow: make([]int32, n)}
	t.parent[0] = -1
	for i, r := range rows {
		if int(r.child) < n {
			t.pointRow[r.child] = int32(i)
			continue
		}
		c := int(r.child) - n
		t.parent[c], t.birth[c], t.size[c] = r.parent, r.lambda, int(r.size)
		t.children[int(r.parent)-n] = append(t.children[int(r.parent)-n], r.child)
	}
	return t
}

// stability is Σ over each cluster's rows of (lambda − birth)·size,
// accumulated in row order as the reference does.
func (t *clusterTree) stability() []float64 {
	s := make([]float64, len(t.parent))
	for _, r := range t.rows {
		p := int(r.parent) - t.n
		s[p] += (r.lambda - t.birth[p]) * float64(r.size)
	}
	return s
}

// descendants appends the clusters below c (c excluded) to dst.
func (t *clusterTree) descendants(c int32, dst []int32) []int32 {
	start := len(dst)
	dst = append(dst, t.children[int(c)-t.n]...)
	for i := start; i < len(dst); i++ {
		dst = append(dst, t.children[int(dst[i])-t.n]...)
	}
	return dst
}

// selection holds the cluster-selection parameters.
type selection struct {
	leaf        bool
	allowSingle bool
	epsilon     float64
	maxSize     int // 0: unlimited
}

// selectClusters returns which clusters are selected (indexed by id − n).
func (t *clusterTree) selectClusters(sel selection) []bool {
	k := len(t.parent)
	root := int32(t.n)
	lowest := 1 // the root is a candidate only with allow_single_cluster
	if sel.allowSingle {
		lowest = 0
	}
	chosen := make([]bool, k)
	for c := lowest; c < k; c++ {
		chosen[c] = true
	}
	hasTree := len(t.children[0]) > 0
	if !sel.leaf {
		maxSize := sel.maxSize
		if maxSize <= 0 {
			maxSize = t.n + 1
		}
		size := t.size
		if sel.allowSingle {
			size = append([]int(nil), t.size...)
			size[0] = 0
			for _, ch := range t.children[0] {
				size[0] += t.size[int(ch)-t.n]
			}
		}
		stab := t.stability()
		var sub []int32
		for c := k - 1; c >= lowest; c-- {
			var sum float64
			for _, ch := range t.children[c] {
				sum += stab[int(ch)-t.n]
			}
			// The reference keeps this sum in a C float.
			s32 := float64(float32(sum))
			if s32 > stab[c] || size[c] > maxSize {
				chosen[c] = false
				stab[c] = s32
				continue
			}
			sub = t.descendants(int32(c+t.n), sub[:0])
			for _, d := range sub {
				chosen[int(d)-t.n] = false
			}
		}
		if sel.epsilon == 0 || !hasTree {
			return chosen
		}
		var eom []int
		for c := k - 1; c >= lowest; c-- {
			if chosen[c] {
				eom = append(eom, c+t.n)
			}
		}
		if len(eom) == 1 && eom[0] == int(root) {
			return chosen // only allow_single_cluster makes the root a candidate
		}
		return t.keepOnly(t.epsilonSearch(pySetOrder(eom), sel))
	}
	var leaves []int
	if hasTree {
		leaves = t.leaves(root, nil)
	}
	if sel.epsilon != 0 {
		return t.keepOnly(t.epsilonSearch(pySetOrder(leaves), sel))
	}
	return t.keepOnly(leaves)
}

// keepOnly returns a selection of exactly the listed clusters.
func (t *clusterTree) keepOnly(ids []int) []bool {
	chosen := make([]bool, len(t.parent))
	for _, id := range ids {
		chosen[id-t.n] = true
	}
	return chosen
}

// leaves appends the clusters without cluster children below c, depth first.
func (t *clusterTree) leaves(c int32, dst []int) []int {
	ch := t.children[int(c)-t.n]
	if len(ch) == 0 {
		return append(dst, int(c))
	}
	for _, x := range ch {
		dst = t.leaves(x, dst)
	}
	return dst
}

// epsilonSearch replaces each cluster born below cluster_selection_epsilon
// (in distance) by its nearest ancestor born above it, visiting the clusters
// in the given order as the reference does.
func (t *clusterTree) epsilonSearch(order []int, sel selection) []int {
	var chosen []int
	processed := map[int]bool{}
	var sub []int32
	for _, c := range order {
		if 1/t.birth[c-t.n] >= sel.epsilon {
			chosen = append(chosen, c)
			continue
		}
		if processed[c] {
			continue
		}
		up := t.upwards(c, sel)
		chosen = append(chosen, up)
		sub = t.descendants(int32(up), sub[:0])
		for _, d := range sub {
			processed[int(d)] = true
		}
	}
	return chosen
}

// upwards climbs from c to the first ancestor born above epsilon; a child of
// the root stops there (or gives the root with allow_single_cluster).
func (t *clusterTree) upwards(c int, sel selection) int {
	for {
		p := int(t.parent[c-t.n])
		if p == t.n {
			if sel.allowSingle {
				return p
			}
			return c
		}
		if 1/t.birth[p-t.n] > sel.epsilon {
			return p
		}
		c = p
	}
}

// label gives every point the number of its nearest selected ancestor
// (clusters numbered in id order) or −1. A point whose only selected
// ancestor is the root (allow_single_cluster) is labelled only if it stays
// until the root's last split, or beyond 1/epsilon when epsilon is set.
func (t *clusterTree) label(chosen []bool, epsilon float64) (labels []int32, clusters int) {
	k := len(t.parent)
	number := make([]int32, k)
	for c := range number {
		number[c] = -1
		if chosen[c] {
			number[c] = int32(clusters)
			clusters++
		}
	}
	top := make([]int32, k) // nearest selected ancestor-or-self, else the root
	for c := 0; c < k; c++ {
		switch {
		case c == 0 || chosen[c]:
			top[c] = int32(c)
		default:
			top[c] = top[int(t.parent[c])-t.n]
		}
	}
	rootCut := math.Inf(1)
	if clusters == 1 && chosen[0] {
		if epsilon != 0 {
			rootCut = 1 / epsilon
		} else {
			rootCut = math.Inf(-1)
			for _, r := range t.rows {
				if int(r.parent) == t.n {
					rootCut = math.Max(rootCut, r.lambda)
				}
			}
		}
	}
	labels = make([]int32, t.n)
	for i := range labels {
		r := t.rows[t.pointRow[i]]
		c := top[int(r.parent)-t.n]
		switch {
		case c != 0:
			labels[i] = number[c]
		case r.lambda >= rootCut:
			labels[i] = number[0]
		default:
			labels[i] = -1
		}
	}
	return labels, clusters
}
