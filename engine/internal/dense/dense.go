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

// RowNorms returns ‖x_i‖² (float64) of the n rows of x (n×d).
func RowNorms(x []float32, n, d int) []float64 {
	out := make([]float64, n)
	for i := range out {
		row := x[i*d : (i+1)*d]
		out[i] = Dot(row, row)
	}
	return out
}
