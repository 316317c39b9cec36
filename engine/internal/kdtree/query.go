package kdtree

import (
	"context"

	"github.com/clusterd/clusterd/internal/parallel"
)

// neighbour is a candidate of a k-nearest-neighbour search.
type neighbour struct {
	d2 float64
	i  int32
}

func (a neighbour) less(b neighbour) bool { return a.d2 < b.d2 || (a.d2 == b.d2 && a.i < b.i) }

// knnHeap keeps the k smallest neighbours seen as a max-heap.
type knnHeap []neighbour

func (h knnHeap) siftDown(i int) {
	for {
		l, big := 2*i+1, i
		if l < len(h) && h[big].less(h[l]) {
			big = l
		}
		if r := l + 1; r < len(h) && h[big].less(h[r]) {
			big = r
		}
		if big == i {
			return
		}
		h[i], h[big] = h[big], h[i]
		i = big
	}
}

func (h *knnHeap) offer(c neighbour, k int) {
	if len(*h) < k {
		*h = append(*h, c)
		for i := len(*h) - 1; i > 0; {
			p := (i - 1) / 2
			if !(*h)[p].less((*h)[i]) {
				break
			}
			(*h)[p], (*h)[i] = (*h)[i], (*h)[p]
			i = p
		}
		return
	}
	if c.less((*h)[0]) {
		(*h)[0] = c
		h.siftDown(0)
	}
}

// KNN finds every point's k nearest points (itself included), exactly: row
// i of idx and dist2 (n×k each) lists them by ascending (squared distance,
// index). 1 ≤ k ≤ n. It uses up to workers goroutines (0: GOMAXPROCS) and
// returns ctx.Err() if ctx is cancelled.
func (t *Tree) KNN(ctx context.Context, k, workers int, idx []int32, dist2 []float64) error {
	const chunk = 256
	return parallel.Chunks(ctx, workers, t.N, chunk, func(lo, hi int) {
		h := make(knnHeap, 0, k)
		for p := lo; p < hi; p++ {
			pt := t.Sorted[p*t.D : (p+1)*t.D]
			h = h[:0]
			t.knnVisit(0, t.pointSqDist(0, pt), pt, k, &h)
			i := int(t.Idx[p])
			for q := len(h) - 1; q >= 0; q-- {
				idx[i*k+q], dist2[i*k+q] = h[0].i, h[0].d2
				h[0] = h[len(h)-1]
				h = h[:len(h)-1]
				h.siftDown(0)
			}
		}
	})
}

func (t *Tree) knnVisit(node int, dmin float64, pt []float64, k int, h *knnHeap) {
	if len(*h) == k && dmin > (*h)[0].d2 {
		return
	}
	nd := t.Nodes[node]
	if nd.Leaf {
		d, p, end := t.D, int(nd.Start), int(nd.End)
		row := func(p int) []float64 { return t.Sorted[p*d : (p+1)*d] }
		for ; p+4 <= end; p += 4 {
			s0, s1, s2, s3 := SqDist4(pt, row(p), row(p+1), row(p+2), row(p+3))
			h.offer(neighbour{s0, t.Idx[p]}, k)
			h.offer(neighbour{s1, t.Idx[p+1]}, k)
			h.offer(neighbour{s2, t.Idx[p+2]}, k)
			h.offer(neighbour{s3, t.Idx[p+3]}, k)
		}
		for ; p < end; p++ {
			h.offer(neighbour{SqDist(pt, row(p)), t.Idx[p]}, k)
		}
		return
	}
	l, r := 2*node+1, 2*node+2
	dl, dr := t.pointSqDist(l, pt), t.pointSqDist(r, pt)
	if dr < dl {
		l, r, dl, dr = r, l, dr, dl
	}
	t.knnVisit(l, dl, pt, k, h)
	t.knnVisit(r, dr, pt, k, h)
}

// AppendRadius appends to dst the indices of the points within squared
// distance r2 of pt (SqDist ≤ r2), in tree order, and returns it.
func (t *Tree) AppendRadius(dst []int32, pt []float64, r2 float64) []int32 {
	return t.radiusVisit(0, dst, pt, r2)
}

func (t *Tree) radiusVisit(node int, dst []int32, pt []float64, r2 float64) []int32 {
	near, far := t.pointBoxSqDist(node, pt)
	nd := t.Nodes[node]
	switch {
	case near > r2:
		return dst
	case far <= r2:
		// Every point's SqDist is at most far: each of its terms is at most
		// the box's, and rounding preserves the order.
		return append(dst, t.Idx[nd.Start:nd.End]...)
	case !nd.Leaf:
		dst = t.radiusVisit(2*node+1, dst, pt, r2)
		return t.radiusVisit(2*node+2, dst, pt, r2)
	}
	d, p, end := t.D, int(nd.Start), int(nd.End)
	row := func(p int) []float64 { return t.Sorted[p*d : (p+1)*d] }
	for ; p+4 <= end; p += 4 {
		s0, s1, s2, s3 := SqDist4(pt, row(p), row(p+1), row(p+2), row(p+3))
		for q, s := range [4]float64{s0, s1, s2, s3} {
			if s <= r2 {
				dst = append(dst, t.Idx[p+q])
			}
		}
	}
	for ; p < end; p++ {
		if SqDist(pt, row(p)) <= r2 {
			dst = append(dst, t.Idx[p])
		}
	}
	return dst
}
