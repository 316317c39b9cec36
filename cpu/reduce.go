// Float64 reductions with SIMD and scalar Go versions.

package cpu

import "unsafe"

// Float64 reductions shared by the kernels, each with an assembly version on
// the SIMD paths and a scalar Go version on the generic path (s == nil).
// Every one adds its terms in a fixed order that depends only on its
// arguments.

// addRows adds every row i of x (n×d, n = len(labels)) whose label is in
// [lo, hi), in increasing i, to row labels[i] of sums (k×d).
func (s *simd) addRows(sums []float64, x []float32, labels []int32, d, lo, hi int) {
	n := len(labels)
	if n == 0 {
		return
	}
	_ = x[n*d-1]
	_ = sums[hi*d-1]
	if s != nil {
		s.addRowsVec(unsafe.SliceData(sums), unsafe.SliceData(x), unsafe.SliceData(labels), n, d, lo, hi)
		return
	}
	for i, l := range labels {
		if int(l) < lo || int(l) >= hi {
			continue
		}
		dst := sums[int(l)*d : int(l+1)*d]
		for t, v := range x[i*d : (i+1)*d] {
			dst[t] += float64(v)
		}
	}
}

// sumRows sets dst[u] = Σ_{r<rows} src[r*ld+u] for u < len(dst), adding
// the rows in increasing r.
func (s *simd) sumRows(dst []float64, src []float32, rows, ld int) {
	w := len(dst)
	if rows <= 0 {
		clear(dst)
		return
	}
	_ = src[(rows-1)*ld+w-1]
	head := 0
	if s != nil {
		head = w - w%s.sumBlock
		if head > 0 {
			s.sumRowsVec(unsafe.SliceData(dst), unsafe.SliceData(src), rows, ld, head)
		}
	}
	for u := head; u < w; u++ {
		var sum float64
		for r := 0; r < rows; r++ {
			sum += float64(src[r*ld+u])
		}
		dst[u] = sum
	}
}

// segSum sets dst[r] = Σ_{a≤u<b} src[r*ld+u] for r < len(dst).
func (s *simd) segSum(dst []float64, src []float32, ld, a, b int) {
	rows := len(dst)
	if rows == 0 {
		return
	}
	_ = src[(rows-1)*ld+b-1]
	if s != nil {
		s.segSumVec(unsafe.SliceData(dst), unsafe.SliceData(src), rows, ld, a, b)
		return
	}
	for r := range dst {
		var sum float64
		for _, v := range src[r*ld+a : r*ld+b] {
			sum += float64(v)
		}
		dst[r] = sum
	}
}
