package algo

// This file holds what the bounded assignments (k-means' Hamerly
// assigner, mini-batch k-means' visit bounds) share: the tolerance their
// bounds are widened by, outward rounding to float32, and an exact
// squared distance.

import "math"

// BoundTol is the relative error, against ‖x‖² + ‖c‖², allowed for a
// squared distance from the backend (its contract's tolerance); bounds are
// widened by it so that rounding can never let a bound skip a row whose
// centre changed.
const BoundTol = 1e-5

// Up32 is the smallest float32 ≥ v; Down32 the largest float32 ≤ v.
func Up32(v float64) float32 {
	f := float32(v)
	if float64(f) < v {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}

func Down32(v float64) float32 {
	f := float32(v)
	if float64(f) > v {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

// SqDist64 is ‖x − c‖² accumulated in float64.
func SqDist64(x, c []float32) float64 {
	var s0, s1, s2, s3 float64
	t := 0
	for ; t+4 <= len(x); t += 4 {
		e0 := float64(x[t]) - float64(c[t])
		e1 := float64(x[t+1]) - float64(c[t+1])
		e2 := float64(x[t+2]) - float64(c[t+2])
		e3 := float64(x[t+3]) - float64(c[t+3])
		s0 += e0 * e0
		s1 += e1 * e1
		s2 += e2 * e2
		s3 += e3 * e3
	}
	for ; t < len(x); t++ {
		e := float64(x[t]) - float64(c[t])
		s0 += e * e
	}
	return (s0 + s1) + (s2 + s3)
}
