package kdtree

import "math/bits"

// nthElement partially sorts v so that v[nth] holds the element a full sort
// by less would put there, every element before it is not greater and every
// element after it is not less. It reproduces libstdc++'s std::nth_element
// (introselect: median-of-three pivots, Hoare partitions, a heap select after
// 2·⌊log₂ n⌋ rounds, insertion sort below four elements) step for step, so
// the order it leaves on both sides is the one scikit-learn's KDTree, which
// calls std::nth_element, leaves. That order decides the order of points in
// the tree's leaves. less must be a strict total order.
func nthElement(v []int32, nth int, less func(a, b int32) bool) {
	first, last := 0, len(v)
	if first == last || nth == last {
		return
	}
	depth := 2 * (bits.Len(uint(last-first)) - 1)
	for last-first > 3 {
		if depth == 0 {
			heapSelect(v, first, nth+1, last, less)
			v[first], v[nth] = v[nth], v[first]
			return
		}
		depth--
		cut := partitionPivot(v, first, last, less)
		if cut <= nth {
			first = cut
		} else {
			last = cut
		}
	}
	insertionSort(v, first, last, less)
}

// partitionPivot moves the median of v[first+1], v[mid], v[last-1] to
// v[first] and partitions v[first+1:last] around it (libstdc++'s
// __unguarded_partition_pivot); it returns the start of the upper part.
func partitionPivot(v []int32, first, last int, less func(a, b int32) bool) int {
	mid := first + (last-first)/2
	a, b, c := first+1, mid, last-1
	switch {
	case less(v[a], v[b]):
		switch {
		case less(v[b], v[c]):
			v[first], v[b] = v[b], v[first]
		case less(v[a], v[c]):
			v[first], v[c] = v[c], v[first]
		default:
			v[first], v[a] = v[a], v[first]
		}
	case less(v[a], v[c]):
		v[first], v[a] = v[a], v[first]
	case less(v[b], v[c]):
		v[first], v[c] = v[c], v[first]
	default:
		v[first], v[b] = v[b], v[first]
	}
	lo, hi, pivot := first+1, last, v[first]
	for {
		for less(v[lo], pivot) {
			lo++
		}
		hi--
		for less(pivot, v[hi]) {
			hi--
		}
		if lo >= hi {
			return lo
		}
		v[lo], v[hi] = v[hi], v[lo]
		lo++
	}
}

// insertionSort sorts v[first:last] as libstdc++'s __insertion_sort does.
func insertionSort(v []int32, first, last int, less func(a, b int32) bool) {
	if first == last {
		return
	}
	for i := first + 1; i < last; i++ {
		val := v[i]
		if less(val, v[first]) {
			copy(v[first+1:i+1], v[first:i])
			v[first] = val
			continue
		}
		j := i
		for less(val, v[j-1]) {
			v[j] = v[j-1]
			j--
		}
		v[j] = val
	}
}

// heapSelect keeps the middle−first smallest elements of v[first:last] in a
// max-heap at v[first:middle] (libstdc++'s __heap_select).
func heapSelect(v []int32, first, middle, last int, less func(a, b int32) bool) {
	h := v[first:middle]
	n := len(h)
	if n >= 2 {
		for parent := (n - 2) / 2; ; parent-- {
			adjustHeap(h, parent, n, h[parent], less)
			if parent == 0 {
				break
			}
		}
	}
	for i := middle; i < last; i++ {
		if less(v[i], h[0]) {
			val := v[i]
			v[i] = h[0]
			adjustHeap(h, 0, n, val, less)
		}
	}
}

// adjustHeap is libstdc++'s __adjust_heap: it moves the hole at hole down to
// a leaf along the larger children, then pushes val up from there.
func adjustHeap(h []int32, hole, n int, val int32, less func(a, b int32) bool) {
	top, child := hole, hole
	for child < (n-1)/2 {
		child = 2 * (child + 1)
		if less(h[child], h[child-1]) {
			child--
		}
		h[hole] = h[child]
		hole = child
	}
	if n&1 == 0 && child == (n-2)/2 {
		child = 2 * (child + 1)
		h[hole] = h[child-1]
		hole = child - 1
	}
	for parent := (hole - 1) / 2; hole > top && less(h[parent], val); parent = (hole - 1) / 2 {
		h[hole] = h[parent]
		hole = parent
	}
	h[hole] = val
}
