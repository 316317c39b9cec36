package hdbscan

import "math/bits"

// argsortQuick returns the permutation that sorts w ascending, computed
// exactly as numpy's np.argsort(w) with its default kind ("quicksort",
// numpy's introsort: median-of-three quicksort over index ranges longer than
// 16, insertion sort below, heapsort past 2·⌊log₂ n⌋ levels). It is not a
// stable sort, and the reference HDBSCAN orders equal-weight spanning-tree
// edges with it, which decides how ties merge in the single-linkage tree;
// reproducing the permutation reproduces the reference's labels on data
// with many equal distances.
func argsortQuick(w []float64) []int32 {
	const small = 15 // numpy's SMALL_QUICKSORT
	n := len(w)
	a := make([]int32, n)
	for i := range a {
		a[i] = int32(i)
	}
	if n < 2 {
		return a
	}
	type span struct{ lo, hi, depth int }
	var stack []span
	pl, pr := 0, n-1
	depth := 2 * (bits.Len(uint(n)) - 1)
	for {
		if depth < 0 {
			heapsortIdx(w, a[pl:pr+1])
		} else {
			for pr-pl > small {
				pm := pl + (pr-pl)>>1
				if w[a[pm]] < w[a[pl]] {
					a[pm], a[pl] = a[pl], a[pm]
				}
				if w[a[pr]] < w[a[pm]] {
					a[pr], a[pm] = a[pm], a[pr]
				}
				if w[a[pm]] < w[a[pl]] {
					a[pm], a[pl] = a[pl], a[pm]
				}
				vp := w[a[pm]]
				pi, pj := pl, pr-1
				a[pm], a[pj] = a[pj], a[pm]
				for {
					for pi++; w[a[pi]] < vp; pi++ {
					}
					for pj--; vp < w[a[pj]]; pj-- {
					}
					if pi >= pj {
						break
					}
					a[pi], a[pj] = a[pj], a[pi]
				}
				a[pi], a[pr-1] = a[pr-1], a[pi]
				depth--
				// Push the larger part and keep sorting the smaller one.
				if pi-pl < pr-pi {
					stack = append(stack, span{pi + 1, pr, depth})
					pr = pi - 1
				} else {
					stack = append(stack, span{pl, pi - 1, depth})
					pl = pi + 1
				}
			}
			for i := pl + 1; i <= pr; i++ {
				vi := a[i]
				vp := w[vi]
				j := i
				for j > pl && vp < w[a[j-1]] {
					a[j] = a[j-1]
					j--
				}
				a[j] = vi
			}
		}
		if len(stack) == 0 {
			return a
		}
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		pl, pr, depth = top.lo, top.hi, top.depth
	}
}

// heapsortIdx sorts the indices a by w[a[i]] as numpy's aheapsort does.
func heapsortIdx(w []float64, a []int32) {
	n := len(a)
	// numpy indexes the heap from 1.
	at := func(i int) *int32 { return &a[i-1] }
	sift := func(i, n int, tmp int32) {
		j := i << 1
		for j <= n {
			if j < n && w[*at(j)] < w[*at(j + 1)] {
				j++
			}
			if !(w[tmp] < w[*at(j)]) {
				break
			}
			*at(i) = *at(j)
			i = j
			j += j
		}
		*at(i) = tmp
	}
	for l := n >> 1; l > 0; l-- {
		sift(l, n, *at(l))
	}
	for ; n > 1; n-- {
		tmp := *at(n)
		*at(n) = *at(1)
		sift(1, n-1, tmp)
	}
}
