package algo

// This file holds what the bounded assignments (k-means' Hamerly
// assigner, mini-batch k-means' visit bounds) share: the tolerance their
// bounds are widened by and outward rounding to float32. Their exact
// distances are package sqdist's.

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
