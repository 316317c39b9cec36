// Package dense holds what the engine's exact algorithms share when they
// work on dense float32 data through a kernels.Backend: float64 distances
// computed the way the reference implementations compute them, the margin
// within which a backend's float32 distances are not trusted, and Prim's
// minimum spanning tree over the complete graph.
//
// The backends compute squared distances in float32 in the GEMM form,
// accurate to about 1e-5 of the norms; scikit-learn, SciPy and hdbscan
// compute float64 distances from differences. The algorithms here use the
// backend's values to rule out most candidates and recompute the few that
// could change a decision in float64, so every decision is the reference's.
package dense

// ScreenTol is the relative error, on ‖x‖² + ‖y‖², beyond which a backend's
// float32 squared distance is trusted to lie on the right side of a
// threshold; the kernels contract promises 1e-5, this leaves a margin.
const ScreenTol = 4e-5

// SqDist is ‖a − b‖² of two float32 rows summed in float64 in feature order,
// which is how scikit-learn, SciPy and hdbscan compute it after converting
// the data to float64: results agree bit for bit.
func SqDist(a, b []float32) float64 {
	b = b[:len(a)]
	var s float64
	for t, v := range a {
		e := float64(v) - float64(b[t])
		s += float64(e * e) // the conversion forbids fusing into an FMA
	}
	return s
}

// Dot is a · b summed in float64 in feature order.
func Dot(a, b []float32) float64 {
	b = b[:len(a)]
	var s float64
	for t, v := range a {
		s += float64(float64(v) * float64(b[t]))
	}
	return s
}

// SqDist4 returns SqDist(a, b0), …, SqDist(a, b3), bit for bit. The four
// sums are independent chains, which a CPU overlaps; one sum alone waits on
// each addition's latency.
func SqDist4(a, b0, b1, b2, b3 []float32) (s0, s1, s2, s3 float64) {
	b0, b1, b2, b3 = b0[:len(a)], b1[:len(a)], b2[:len(a)], b3[:len(a)]
	for t, v := range a {
		w := float64(v)
		e0, e1, e2, e3 := w-float64(b0[t]), w-float64(b1[t]), w-float64(b2[t]), w-float64(b3[t])
		s0 += float64(e0 * e0)
		s1 += float64(e1 * e1)
		s2 += float64(e2 * e2)
		s3 += float64(e3 * e3)
	}
	return
}

// Dot4 returns Dot(a, b0), …, Dot(a, b3), bit for bit, as SqDist4 does.
func Dot4(a, b0, b1, b2, b3 []float32) (s0, s1, s2, s3 float64) {
	b0, b1, b2, b3 = b0[:len(a)], b1[:len(a)], b2[:len(a)], b3[:len(a)]
	for t, v := range a {
		w := float64(v)
		s0 += float64(w * float64(b0[t]))
		s1 += float64(w * float64(b1[t]))
		s2 += float64(w * float64(b2[t]))
		s3 += float64(w * float64(b3[t]))
	}
	return
}

// RowNorms returns ‖x_i‖² (float64) of the n rows of x (n×d).
func RowNorms(x []float32, n, d int) []float64 {
	out := make([]float64, n)
	for i := range out {
		row := x[i*d : (i+1)*d]
		out[i] = Dot(row, row)
	}
	return out
}
